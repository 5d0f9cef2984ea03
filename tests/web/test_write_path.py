"""What the write path (POST /projects, POST /filings) does per request, and what it leaves to
start-up (issue 15, speed): the map is hashed once while a worker warms up, not by its first
filing; no store query runs on the event loop (the write reads new rows in its worker thread,
merging only a row that changes the map); the extent check of those rows agrees with shapely."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from web_fixtures import LAT0, LON0

from onemap.geo.mapfile import OneMap, read_map
from onemap.store import open_store
from web.app import create_app, warm
from web.projects import _Extent
from web.state import get_write_state

SIDEWALK = {
    "type": "LineString",
    "coordinates": [[LON0 + 0.0005, LAT0 + 0.0001], [LON0 + 0.0025, LAT0 + 0.0001]],
}


def test_warm_hashes_the_map_so_no_filing_does(tiny_map_path, settings, monkeypatch):
    expected = read_map(tiny_map_path).content_hash()
    app = create_app(tiny_map_path, settings)
    _, token = app.state.onemap.store.add_user("ann", "applicant")
    warm(app)

    def hashing(self, *args, **kwargs):  # a filing after warm-up must not hash the map
        raise AssertionError("the map was hashed on the write path")

    monkeypatch.setattr(OneMap, "content_hash", hashing)
    body = {"route": SIDEWALK, "voltage_kv": 10, "applicant": {"name": "王工"}}
    with TestClient(app) as client:
        r = client.post("/api/v1/filings", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    assert r.json()["map"]["hash"] == expected


@pytest.mark.parametrize(
    "geoms",
    [
        [shapely.Point(119.2, 34.6)],
        [
            shapely.Point(119.2, 34.6),
            shapely.Point(119.1, 34.7),
            shapely.box(119.0, 34.5, 119.3, 34.55),
        ],
        [shapely.Point(), shapely.Point(119.2, 34.6), shapely.Polygon()],
        [shapely.Point()],
    ],
    ids=["one", "mixed", "with-empty", "only-empty"],
)
def test_extent_of_store_rows_is_shapelys(geoms):
    got = _Extent(np.asarray(geoms, dtype=object))
    assert len(got) == len(geoms)
    np.testing.assert_array_equal(got.total_bounds, shapely.total_bounds(np.asarray(geoms)))


def test_the_write_dependency_reads_no_store_on_the_event_loop(tiny_map_path, settings):
    app = create_app(tiny_map_path, settings)
    state = app.state.onemap

    used: list[str] = []

    class Watched:  # the store, noting every use (a failed query would be logged, not raised)
        def __getattr__(self, name):
            used.append(name)
            return getattr(store, name)

    state.store, store = Watched(), state.store
    request = SimpleNamespace(app=app)
    assert asyncio.run(get_write_state(request)) is state
    assert used == []
    state.store = store


def test_write_map_reads_new_rows_and_merges_only_what_changes_the_map(tiny_map_path, settings):
    app = create_app(tiny_map_path, settings)
    state = app.state.onemap
    base = state.base_map
    west, south, east, north = base.bounds
    row = {"requested_kw": 20.0, "category": "lv_small_micro"}
    with open_store(tiny_map_path) as other:  # another worker's pushes
        other.push_project({**row, "project_id": "IN-1", "location": {"lon": LON0, "lat": LAT0}})
        assert state.write_map() is base and state.pending  # read, not merged
        far = {"lon": east + 0.01, "lat": north + 0.01}  # beyond the extent: changes the map
        other.push_project({**row, "project_id": "FAR-1", "location": far})
        merged = state.write_map()
    assert merged is not base and not state.pending
    assert {"IN-1", "FAR-1"} <= set(merged["projects"]["project_id"])
    assert merged.bounds != (west, south, east, north)
