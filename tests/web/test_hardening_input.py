"""Issue 12, items 4 and 11 over HTTP and the CLI: malformed GeoJSON structure and bad project
ids answer 422 / exit 2 naming the field, never a 500, and nothing is stored."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import TOKEN

from onemap.errors import OnemapInputError
from onemap.geo.mapfile import read_map
from onemap.routing.routefile import as_metric_line
from web.app import create_app
from web.settings import WebSettings

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo.gpkg"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
R = {"type": "LineString", "coordinates": [[119.1952, 34.5999], [119.1975, 34.5999]]}

MALFORMED = {
    "features_int": {"type": "FeatureCollection", "features": [1]},
    "features_str": {"type": "FeatureCollection", "features": "abc"},
    "features_dict": {"type": "FeatureCollection", "features": {"a": 1}},
    "feature_no_type": {"type": "FeatureCollection", "features": [{"geometry": R}]},
    "feature_geom_str": {"type": "Feature", "geometry": "abc"},
    "feature_geom_list": {"type": "Feature", "geometry": [1, 2]},
    "crs_props_str": {**R, "crs": {"properties": "EPSG:4549"}},
    "crs_name_int": {**R, "crs": {"properties": {"name": 4549}}},
    "crs_str": {**R, "crs": "EPSG:4549"},
    "type_int": {"type": 5, "coordinates": R["coordinates"]},
    "type_list": {"type": ["LineString"], "coordinates": R["coordinates"]},
    "coords_str": {"type": "LineString", "coordinates": "abc"},
    "coords_nested_str": {"type": "LineString", "coordinates": [["a", "b"], [1, 2]]},
    "coords_null": {"type": "LineString", "coordinates": None},
    "geometries_str": {"type": "GeometryCollection", "geometries": "abc"},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = Path(shutil.copy(DEMO, tmp_path_factory.mktemp("demo") / "demo.gpkg"))
    with TestClient(
        create_app(path, WebSettings(api_token=TOKEN)), raise_server_exceptions=False
    ) as c:
        c.map_path = path
        yield c


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_as_metric_line_refuses_malformed_structure(name):
    with pytest.raises(OnemapInputError):
        as_metric_line(MALFORMED[name], "EPSG:4549", source="route")


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_check_route_malformed_geojson_is_422(demo, name):
    r = demo.post("/api/v1/check-route", json={"route": MALFORMED[name], "voltage_kv": 10})
    assert r.status_code == 422, r.text
    assert "route" in r.text


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_check_route_file_malformed_geojson_is_422(demo, name):
    data = json.dumps(MALFORMED[name]).encode()
    r = demo.post(
        "/api/v1/check-route/file", files={"file": ("r.geojson", data)}, data={"voltage_kv": "10"}
    )
    assert r.status_code == 422, r.text
    assert "r.geojson" in r.text


PROJECT_GEOMS = {
    **MALFORMED,
    "point_fc_int": {"type": "FeatureCollection", "features": [1]},
    "point_crs": {"type": "Point", "coordinates": [119.195, 34.6], "crs": {"properties": "x"}},
}


@pytest.mark.parametrize("name", sorted(PROJECT_GEOMS))
def test_project_malformed_geometry_is_422_and_nothing_stored(demo, name):
    before = read_map(demo.map_path)["projects"]["project_id"].tolist()
    body = {
        "project_id": f"XM-BAD-{name}",
        "requested_kw": 100,
        "category": "lv_non_residential",
        "geometry": PROJECT_GEOMS[name],
    }
    r = demo.post("/api/v1/projects", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert "geometry" in r.text
    assert read_map(demo.map_path)["projects"]["project_id"].tolist() == before


@pytest.mark.parametrize("pid", ["ZZ\u0000A", " ", "   ", "\t\n", "\u3000", "\u0000"])
def test_project_id_with_nul_or_blank_is_422_and_nothing_stored(demo, pid):
    before = read_map(demo.map_path)["projects"]["project_id"].tolist()
    body = {
        "project_id": pid,
        "requested_kw": 100,
        "category": "lv_non_residential",
        "location": {"lon": 119.195, "lat": 34.6},
    }
    r = demo.post("/api/v1/projects", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert "project_id" in r.text
    assert read_map(demo.map_path)["projects"]["project_id"].tolist() == before


@pytest.mark.parametrize("name", ["features_int", "feature_no_type", "crs_props_str"])
def test_cli_check_route_malformed_file_exits_2(tmp_path, name):
    f = tmp_path / "bad.geojson"
    f.write_text(json.dumps(MALFORMED[name]))
    p = subprocess.run(
        [sys.executable, "-m", "onemap", "check-route", str(DEMO), str(f)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2, p.stdout + p.stderr
    assert "bad.geojson" in p.stdout + p.stderr


# --- 15. the vertex bound and the linear segment geometry ----------------------------------------


def _zigzag(n: int, amp: float = 0.0001) -> dict:
    import numpy as np

    x = np.linspace(119.1952, 119.1975, n)
    y = 34.5999 + np.where(np.arange(n) % 2, amp, -amp)
    return {"type": "LineString", "coordinates": np.column_stack([x, y]).tolist()}


def test_route_over_vertex_limit_is_422_naming_route(tmp_path):
    path = Path(shutil.copy(DEMO, tmp_path / "demo.gpkg"))
    app = create_app(path, WebSettings(api_token=TOKEN, max_route_vertices=50))
    with TestClient(app) as c:
        r = c.post("/api/v1/check-route", json={"route": _zigzag(51), "voltage_kv": 10})
        assert r.status_code == 422, r.text
        assert "51 个顶点" in r.text and "50" in r.text and r.json()["field"] == "route"
        body = {"route": _zigzag(51), "voltage_kv": 10}
        r = c.post("/api/v1/check-route", params={"lang": "en"}, json=body)
        assert r.status_code == 422, r.text
        assert "51 vertices" in r.text and "50" in r.text and r.json()["field"] == "route"
        ok = c.post("/api/v1/check-route", json={"route": _zigzag(50), "voltage_kv": 10})
        assert ok.status_code == 200, ok.text
        data = json.dumps(_zigzag(51)).encode()
        f = c.post(
            "/api/v1/check-route/file",
            files={"file": ("big.geojson", data)},
            data={"voltage_kv": "10"},
        )
        assert f.status_code == 422 and "big.geojson" in f.text, f.text


def test_cli_route_over_default_vertex_limit_exits_2(tmp_path):
    from onemap.routing.routefile import MAX_ROUTE_VERTICES

    f = tmp_path / "big.geojson"
    f.write_text(json.dumps(_zigzag(MAX_ROUTE_VERTICES + 1)))
    p = subprocess.run(
        [sys.executable, "-m", "onemap", "check-route", str(DEMO), str(f), "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2, p.stdout + p.stderr
    assert "vertices" in p.stdout + p.stderr and "big.geojson" in p.stdout + p.stderr


def test_segment_geometry_equals_substring_and_is_linear():
    import time

    import numpy as np
    import shapely
    from shapely.ops import substring

    from web.verdicts import substrings

    rng = np.random.default_rng(7)
    for _ in range(200):
        c = np.round(rng.normal(size=(int(rng.integers(2, 20)), 2)) * 100, 1)
        line = shapely.LineString(c)
        cuts = np.sort(np.r_[0.0, rng.uniform(0, line.length, 4), line.length])
        spans = list(itertools.pairwise(cuts))
        for (s, e), got in zip(spans, substrings(line, spans), strict=True):
            assert np.array_equal(got, shapely.get_coordinates(substring(line, s, e)))
    # 50 000 spans on a 50 000-vertex line: one pass (the per-span substring took minutes)
    n = 50_000
    line = shapely.LineString(np.column_stack([np.arange(n, dtype=float), np.zeros(n)]))
    spans = [(float(k), float(k) + 0.5) for k in range(n - 1)]
    t = time.perf_counter()
    out = substrings(line, spans)
    assert time.perf_counter() - t < 5.0
    assert len(out) == n - 1 and out[-1].tolist() == [[n - 2.0, 0.0], [n - 1.5, 0.0]]
