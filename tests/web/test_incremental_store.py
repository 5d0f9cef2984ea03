"""Pushes merge into a served map incrementally (issue 15, speed): after N pushes the headroom,
connection points, readiness, capacity layer and previews a worker serves are exactly those of a
fresh load of the same map and store — and they were not rebuilt (the same objects as before)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from geopandas.testing import assert_geodataframe_equal
from web_fixtures import TOKEN

from onemap.connection.points import connection_points
from onemap.geo.crs import metric_to_lonlat
from onemap.grid.headroom import headroom
from onemap.store import open_store
from web import services
from web.app import create_app
from web.settings import WebSettings
from web.state import AppState

AUTH = {"Authorization": f"Bearer {TOKEN}"}
PUSHED = [  # (category, kW): every connection group of the demo district
    ("lv_residential", 8.0),
    ("lv_small_micro", 60.0),
    ("lv_non_residential", 120.0),
    ("hv_single", 800.0),
    ("hv_dual", 1500.0),
    ("lv_residential", 11.0),
    ("hv_single", 400.0),
    ("lv_small_micro", 35.0),
]
CATEGORIES = sorted({c for c, _ in PUSHED})


@pytest.fixture()
def demo_copy(demo_map_path, tmp_path, monkeypatch):
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    return shutil.copy(demo_map_path, tmp_path / "demo.gpkg")


def _settings() -> WebSettings:
    return WebSettings(api_token=TOKEN, max_upload_bytes=200_000)


def _sites(state: AppState, n: int) -> list[tuple[float, float]]:
    """Lon/lat of points on ``n`` parcels spread over the map."""
    parcels = state.onemap.metric("landuse")
    pick = np.linspace(0, len(parcels) - 1, n).round().astype(int)
    pts = parcels.geometry.iloc[pick].representative_point()
    lon, lat = metric_to_lonlat(pts.x.to_numpy(), pts.y.to_numpy(), state.onemap.crs_metric)
    return [(round(float(x), 7), round(float(y), 7)) for x, y in zip(lon, lat, strict=True)]


def _push(client: TestClient, i: int, category: str, kw: float, site, polygon: bool = False):
    lon, lat = site
    body = {"project_id": f"INC-{i}", "requested_kw": kw, "category": category}
    if polygon:
        d = 0.0002
        ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
        body["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    else:
        body["location"] = {"lon": lon, "lat": lat}
    r = client.post("/api/v1/projects", json=body, headers={**AUTH, "Idempotency-Key": f"k{i}"})
    assert r.status_code == 201, r.text
    return r.json()


def _previews(state: AppState, sites) -> list[dict]:
    out = []
    for (lon, lat), (category, kw) in zip(sites, PUSHED, strict=False):
        p = services.preview_dict(state.onemap, lon, lat, kw, category, None, "en")
        p.pop("seconds", None)
        out.append(p)
    return out


def _readiness_layer(state: AppState) -> pd.DataFrame:
    return state.readiness().result.layer


def test_pushes_keep_the_derived_tables_and_equal_a_fresh_load(demo_copy):
    settings = _settings()
    with (
        TestClient(create_app(demo_copy, settings)) as a,
        TestClient(create_app(demo_copy, settings)) as b,  # the second worker
    ):
        sa: AppState = a.app.state.onemap
        sb: AppState = b.app.state.onemap
        sites = _sites(sa, len(PUSHED) + 2)
        # What the workers have derived before the pushes.
        before_readiness = sa.readiness()
        before_capacity = sa.capacity_index()
        before_points = {c: connection_points(sa.onemap, c) for c in CATEGORIES}
        before_previews = _previews(sa, sites)
        before_b = sb.readiness()
        file_projects = len(sa.onemap["projects"])

        for i, (category, kw) in enumerate(PUSHED):
            _push(a if i % 2 else b, i, category, kw, sites[i], polygon=i == 3)
        # Each worker sees every push on its next request.
        for client in (a, b):
            ids = {
                f["id"] for f in client.get("/api/v1/layers/projects?limit=1000").json()["features"]
            }
            assert {f"INC-{i}" for i in range(len(PUSHED))} <= ids

        # Incremental: the pushed projects load no element, so nothing was rebuilt.
        assert len(sa.onemap["projects"]) == file_projects + len(PUSHED)
        assert sa.readiness() is before_readiness and sb.readiness() is before_b
        assert sa.capacity_index() is before_capacity
        for c in CATEGORIES:
            assert connection_points(sa.onemap, c) is before_points[c]
        assert _previews(sa, sites) == before_previews

        # Exact: a fresh load of the same map and store answers the same.
        with TestClient(create_app(demo_copy, settings)) as fresh_client:
            fresh: AppState = fresh_client.app.state.onemap
            for state in (sa, sb):
                assert_geodataframe_equal(state.onemap["projects"], fresh.onemap["projects"])
                assert_geodataframe_equal(
                    state.onemap.metric("projects"), fresh.onemap.metric("projects")
                )
                got, want = state.indexes["projects"], fresh.indexes["projects"]
                np.testing.assert_array_equal(got.bounds, want.bounds)
                np.testing.assert_array_equal(got.priority, want.priority)
                box = tuple(state.onemap.bounds)
                np.testing.assert_array_equal(got.select(box), want.select(box))
                assert state.onemap.bounds == fresh.onemap.bounds
            assert_geodataframe_equal(headroom(sa.onemap), headroom(fresh.onemap))
            for c in CATEGORIES:
                pd.testing.assert_frame_equal(
                    connection_points(sa.onemap, c), connection_points(fresh.onemap, c)
                )
            assert_geodataframe_equal(_readiness_layer(sa), _readiness_layer(fresh))
            assert_geodataframe_equal(_readiness_layer(sb), _readiness_layer(fresh))
            pd.testing.assert_frame_equal(sa.readiness().districts, fresh.readiness().districts)
            assert_geodataframe_equal(sa.capacity_index().gdf, fresh.capacity_index().gdf)
            assert _previews(sa, sites) == _previews(fresh, sites)


def test_a_project_beyond_the_extent_rebuilds_and_still_equals_a_fresh_load(demo_copy):
    """A row the map's extent does not cover (stored by another program) may change what is
    derived from the whole map: the worker then rebuilds instead of carrying its tables over."""
    settings = _settings()
    with TestClient(create_app(demo_copy, settings)) as a:
        sa: AppState = a.app.state.onemap
        before = sa.readiness()
        west, south, east, north = sa.onemap.bounds
        with open_store(demo_copy) as store:
            store.push_project(
                {
                    "project_id": "FAR-1",
                    "requested_kw": 50.0,
                    "category": "lv_small_micro",
                    "location": {"lon": east + 0.01, "lat": north + 0.01},
                }
            )
        assert a.get("/api/v1/health").status_code == 200  # the next request merges it
        assert "FAR-1" in set(sa.onemap["projects"]["project_id"])
        assert sa.onemap.bounds != (west, south, east, north)
        after = sa.readiness()
        assert after is not before  # rebuilt for the new map
        with TestClient(create_app(demo_copy, settings)) as f:
            fresh: AppState = f.app.state.onemap
            assert sa.onemap.bounds == fresh.onemap.bounds
            assert_geodataframe_equal(after.result.layer, fresh.readiness().result.layer)
            assert_geodataframe_equal(sa.onemap["projects"], fresh.onemap["projects"])


def test_writes_do_not_merge_and_the_next_read_merges_them_all(demo_copy):
    """A burst of pushes costs one merge at the next read (not one per push): the writes read
    the map without the waiting rows, which change nothing a write reads."""
    with TestClient(create_app(demo_copy, _settings())) as a:
        sa: AppState = a.app.state.onemap
        sites = _sites(sa, 4)
        base = sa.base_map
        before_previews = _previews(sa, sites)
        for i, (category, kw) in enumerate(PUSHED[:4]):
            _push(a, i, category, kw, sites[i])
        assert sa.pending and sa.base_map is base  # read from the store, not merged yet
        for (lon, lat), (category, kw), want in zip(sites, PUSHED, before_previews, strict=False):
            got = services.preview_dict(base, lon, lat, kw, category, None, "en")
            got.pop("seconds", None)
            assert got == want  # what a write reads is unchanged
        assert sa.pending
        assert a.get("/api/v1/health").status_code == 200  # a read merges them, all at once
        assert not sa.pending and sa.base_map is not base
        assert {f"INC-{i}" for i in range(4)} <= set(sa.onemap["projects"]["project_id"])
        assert sa.onemap.tokens() == base.tokens()  # the derived tables carried over
