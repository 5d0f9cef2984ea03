"""GET /api/v1/capacity with line segments (issue 17 item 4) and the ``voltage_kv`` filter.

The map: the hand LV main of tests/grid/lvmaps.py (six 100 m sections at 0.4 kV, type
unknown: the screen; L6's far end takes 89.74 kVA) under the 10 kV transformer T1.
"""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from grid.lvmaps import lv_map

from onemap.geo.mapfile import write_map
from web.app import create_app
from web.settings import WebSettings

LINE_PROPS = {
    "layer",
    "asset_id",
    "kind",
    "voltage_kv",
    "capacity_kva",
    "hosting_kva",
    "headroom_kva",
    "share_left",
    "status",
    "color",
}


@pytest.fixture(scope="module")
def lines_client(tmp_path_factory):
    path = write_map(lv_map(kind="custom"), tmp_path_factory.mktemp("lines") / "lines.gpkg")
    with TestClient(create_app(path, WebSettings(api_token="t"))) as c:
        yield c


def _features(body: dict) -> dict[str, dict]:
    return {f["properties"]["asset_id"]: f for f in body["features"]}


def test_geojson_has_linestring_features_with_hosting(lines_client):
    r = lines_client.get("/api/v1/capacity")
    assert r.status_code == 200
    feats = _features(r.json())
    assert set(feats) == {"T1", *(f"L{k}" for k in range(1, 7))}
    l6 = feats["L6"]
    assert l6["geometry"]["type"] == "LineString"
    assert set(l6["properties"]) >= LINE_PROPS
    p = l6["properties"]
    assert p["layer"] == "lines" and p["kind"] == "lv_line" and p["voltage_kv"] == 0.4
    assert p["hosting_kva"] == pytest.approx(89.74, abs=0.01)
    assert p["status"] == "green"
    assert feats["T1"]["properties"]["hosting_kva"] is None  # NaN: not a line


@pytest.mark.parametrize(
    ("kv", "ids"),
    [
        ("0.4", {f"L{k}" for k in range(1, 7)}),
        ("10", {"T1"}),
        ("35", set()),
    ],
)
def test_voltage_filter_geojson(lines_client, kv, ids):
    r = lines_client.get(f"/api/v1/capacity?voltage_kv={kv}")
    assert r.status_code == 200
    body = r.json()
    assert set(_features(body)) == ids
    assert body["numberMatched"] == len(ids)
    assert "thresholds" in body  # the legend's members stay


def test_voltage_filter_csv_machine_and_people(lines_client):
    r = lines_client.get("/api/v1/capacity?format=csv&voltage_kv=0.4")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["asset_id"] for row in rows} == {f"L{k}" for k in range(1, 7)}
    assert all(row["hosting_kva"] for row in rows)
    r = lines_client.get("/api/v1/capacity?format=csv&lang=zh&voltage_kv=10")
    text = r.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["编号"] for row in rows] == ["T1"]
    assert "线路末端可接入容量（kVA）" in rows[0]


def test_voltage_filter_with_bbox_and_head(lines_client):
    full = lines_client.get("/api/v1/capacity?voltage_kv=0.4").json()
    coords = [c for f in full["features"] for c in f["geometry"]["coordinates"]]
    w, s = min(c[0] for c in coords), min(c[1] for c in coords)
    # a box around the first 100 m of the main only
    bbox = f"{w - 1e-5},{s - 1e-4},{w + 0.0005},{s + 1e-4}"
    part = lines_client.get(f"/api/v1/capacity?voltage_kv=0.4&bbox={bbox}").json()
    assert 0 < part["numberMatched"] < 6
    head = lines_client.head("/api/v1/capacity?voltage_kv=0.4")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "5000"])
def test_bad_voltage_is_422(lines_client, bad):
    assert lines_client.get(f"/api/v1/capacity?voltage_kv={bad}").status_code == 422


def test_map_without_lines_answers_as_before(client):
    """The tiny web map has no lines: no hosting columns; the filter still works."""
    body = client.get("/api/v1/capacity").json()
    assert body["features"]
    assert all("hosting_kva" not in f["properties"] for f in body["features"])
    kvs = {f["properties"]["voltage_kv"] for f in body["features"]}
    for kv in kvs:
        got = client.get(f"/api/v1/capacity?voltage_kv={kv:g}").json()["features"]
        assert got and all(f["properties"]["voltage_kv"] == kv for f in got)
