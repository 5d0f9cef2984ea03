"""Issue 16 over HTTP on the demo map: ``why`` and ``cost_estimate`` on the preview, the parcel
and rule table, ``/api/v1/search``, ``/api/v1/corridors``, the capacity downloads (BOM,
rounding, language, data date, thresholds) and HEAD on them."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from web.app import create_app

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"
SITE_C = (119.1974986134797, 34.60327962321602)
SITE_D = (119.20249169495594, 34.60372317442865)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = Path(shutil.copy(DEMO, tmp_path_factory.mktemp("people_api") / "demo.gpkg"))
    return TestClient(create_app(path))


def _preview(c, site, lang="zh", kw=50, category="lv_non_residential"):
    q = {"lon": site[0], "lat": site[1], "kw": kw, "category": category, "lang": lang}
    r = c.get("/api/v1/preview", params=q)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_preview_says_why_costs_and_names_parcel_and_rules(demo, lang):
    p = _preview(demo, SITE_C, lang)
    assert p["readiness"] == "C"
    assert [w["code"] for w in p["why"]] == ["POINT_CHOSEN", "ROUTE_PERMITS", "NO_FILING_ROUTE"]
    est = p["cost_estimate"]
    assert est["total_yuan"] == sum(i["yuan"] for i in est["items"]) > 0
    assert set(est["by_payer"]) >= {"government", "grid_company", "customer"}
    assert {i["code"] for i in est["items"]} >= {"cable_0.4kv", "crossing", "facility_lv"}
    assert p["parcel"]["parcel_id"] == p["parcel_id"] == "P0001"
    assert p["parcel"]["landuse_code"] == "0701" and p["parcel"]["name"]
    assert p["rules"].startswith("lianyungang-2021@")


def test_grid_gap_names_constraint_and_fix(demo):
    p = _preview(demo, SITE_D, "en")
    assert p["readiness"] == "D" and p["cost_estimate"] is None
    kinds = [w["kind"] for w in p["why"]]
    assert kinds[0] == "cause" and "fix" in kinds
    assert "150 m" in p["why"][0]["message"]  # the LV radius of supply class A+


def test_search_finds_ids_names_roads_and_coordinates(demo):
    def first(q):
        r = demo.get("/api/v1/search", params={"q": q})
        assert r.status_code == 200
        return r.json()["results"]

    assert first("P0001")[0]["kind"] == "parcel"
    assert first("TX-015")[0]["id"] == "TX-015"
    road = first("通灌路")
    assert any(r["kind"] == "road" and r["name"] == "通灌路" for r in road)
    sub = first("SUB01")[0]
    assert sub["kind"] == "substation" and len(sub["bbox"]) == 4
    a = first("119.1975,34.6033")[0]
    b = first("34.6033, 119.1975")[0]
    assert a["kind"] == b["kind"] == "point" and (a["lon"], a["lat"]) == (b["lon"], b["lat"])
    assert a["lon"] == pytest.approx(119.1975) and a["inside"] is True
    assert first("no-such-thing") == []
    assert demo.get("/api/v1/search", params={"q": ""}).status_code == 422
    assert demo.get("/api/v1/search").status_code == 422


def test_corridors_in_a_bbox(demo):
    r = demo.get("/api/v1/corridors", params={"bbox": "119.195,34.600,119.200,34.605"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["features"]
    props = fc["features"][0]["properties"]
    assert set(props) == {"kind", "road_id", "road_name", "side", "width_m", "provenance"}
    kinds = {f["properties"]["kind"] for f in fc["features"]}
    assert {"sidewalk", "bike_lane", "motor_lane"} <= kinds
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0][0]
    assert 119 < lon < 120 and 34 < lat < 35  # EPSG:4326
    assert demo.get("/api/v1/corridors").status_code == 422  # bbox required
    big = demo.get("/api/v1/corridors", params={"bbox": "119,34,120,35"})
    assert big.status_code == 422 and "太大" in big.json()["message"]  # Chinese by default
    big = demo.get("/api/v1/corridors", params={"bbox": "119,34,120,35", "lang": "en"})
    assert big.status_code == 422 and "too large" in big.json()["message"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_capacity_csv_for_people(demo, lang):
    r = demo.get("/api/v1/capacity", params={"format": "csv", "lang": lang})
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    assert "2021-11-29" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    head = rows[0]
    kva = "可开放容量（kVA）" if lang == "zh" else "headroom (kVA)"
    share = "剩余容量占比" if lang == "zh" else "share of nameplate left"
    assert kva in head and share in head
    i, j = head.index(kva), head.index(share)
    for row in rows[1:]:
        if row[i]:
            assert len(row[i].split(".")[-1]) <= 1  # kVA to 1 decimal
        if row[j]:
            assert len(row[j].split(".")[-1]) <= 3  # shares to 3
    date = head.index("数据日期" if lang == "zh" else "data date")
    assert {row[date] for row in rows[1:]} == {"2021-11-29"}
    thr = head.index("颜色阈值" if lang == "zh" else "colour thresholds")
    assert "30%" in rows[1][thr] and "10" in rows[1][thr]
    assert "share_left" not in head and "color" not in head


def test_capacity_geojson_carries_date_and_thresholds_and_head_answers(demo):
    fc = demo.get("/api/v1/capacity").json()
    assert fc["data_date"] == "2021-11-29"
    assert fc["thresholds"]["green_min_share"] == 0.3 and fc["features"]
    for params in ({"format": "csv"}, {"format": "csv", "lang": "zh"}, {"format": "geojson"}):
        h = demo.head("/api/v1/capacity", params=params)
        assert h.status_code == 200 and h.content == b""
    machine = demo.get("/api/v1/capacity", params={"format": "csv"})
    assert machine.text.startswith("asset_id,")  # the machine CSV keeps its columns


def test_capacity_page_legend_shows_thresholds_and_date(demo):
    html = demo.get("/capacity").text
    assert "2021-11-29" in html and "30%" in html
    assert 'href="/api/v1/capacity?format=csv&amp;lang=zh"' in html
    en = demo.get("/capacity?lang=en").text
    assert "Data date" in en and "nameplate left" in en


def test_pages_allow_pinch_zoom_and_carry_the_search_box(demo):
    for path in ("/", "/readiness", "/preview", "/check", "/capacity", "/planning"):
        html = demo.get(path).text
        assert "user-scalable=no" not in html and "maximum-scale=1" not in html
        assert 'id="om-search"' in html
