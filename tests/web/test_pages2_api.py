"""Issue 16's remaining points over HTTP on the demo map: the per-parcel ``why`` of the bulk
readiness (the preview's codes for every parcel), ``?year=`` on the readiness endpoints, the
plan's layers for k = 1…5, the planning page's errors in the page language, the capacity
page's voltage choices, the LV/MV lines on the one map and labelled popup fields."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from onemap.planning.plan import candidate_sites
from web.app import create_app
from web.i18n import Translator
from web.pages.popups import LAYER_FIELDS, popup_options

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = Path(shutil.copy(DEMO, tmp_path_factory.mktemp("pages2_api") / "demo.gpkg"))
    return TestClient(create_app(path))


def test_parcel_why_has_the_previews_codes_for_every_parcel(demo):
    """The popup's why (from the bulk row) says what the preview of that parcel says."""
    parcels = demo.get("/api/v1/readiness/zones", params={"kind": "parcels"}).json()["features"]
    assert len(parcels) == 210
    for f in parcels:
        p = f["properties"]
        why = demo.get(f"/api/v1/readiness/parcels/{f['id']}", params={"lang": "en"}).json()
        assert why["readiness"] == p["readiness"]
        site = shapely.geometry.shape(f["geometry"]).representative_point()
        q = {"lon": site.x, "lat": site.y, "kw": p["requested_kw"], "category": p["category"]}
        pv = demo.get("/api/v1/preview", params={**q, "lang": "en"}).json()
        assert pv["readiness"] == p["readiness"], f["id"]
        assert [w["code"] for w in why["why"]] == [w["code"] for w in pv["why"]], f["id"]
        # the same headroom, distance and radius (equally near points may tie differently)
        point = re.compile(r"connection point \S+ \([^)]*\)")
        assert point.sub("", why["why"][0]["message"]) == point.sub("", pv["why"][0]["message"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_parcel_why_in_the_page_language(demo, lang):
    d = demo.get("/api/v1/readiness/zones", params={"kind": "parcels"}).json()["features"]
    gap = next(f for f in d if f["properties"]["readiness"] == "D")
    r = demo.get(f"/api/v1/readiness/parcels/{gap['id']}", params={"lang": lang})
    assert r.status_code == 200
    body = r.json()
    assert body["parcel"]["parcel_id"] == gap["id"] and body["parcel"]["name"]
    kinds = [w["kind"] for w in body["why"]]
    assert kinds[0] == "cause" and "fix" in kinds
    text = " ".join(w["message"] for w in body["why"])
    chinese = any("\u4e00" <= c <= "\u9fff" for c in text.replace(body["parcel"]["name"], ""))
    assert chinese == (lang == "zh")
    assert "hv_single" not in text and "lv_non_residential" not in text  # categories named
    assert demo.get("/api/v1/readiness/parcels/NOPE").status_code == 404


def test_readiness_answers_for_a_year(demo):
    now = demo.get("/api/v1/readiness/summary").json()["counts"]
    by_year = {
        y: demo.get("/api/v1/readiness/summary", params={"year": y}).json()["counts"]
        for y in (2022, 2023, 2024, 2030)
    }
    assert by_year[2022] == now  # the 2022 projects load nothing the parcels need
    assert by_year[2023] != now  # the 2.4 MW project takes its feeder's headroom
    assert by_year[2030] == by_year[2024]  # nothing changes after the last year
    zones = demo.get("/api/v1/readiness/zones", params={"kind": "parcels", "year": 2024}).json()
    classes = [f["properties"]["readiness"] for f in zones["features"]]
    assert {c: classes.count(c) for c in "ABCD"} == by_year[2024]
    why = demo.get("/api/v1/readiness/parcels/P0001", params={"year": 2024}).json()
    assert why["year"] == 2024
    assert demo.get("/api/v1/readiness/summary", params={"year": 1800}).status_code == 422


def test_demo_offers_five_candidate_sites(demo_map):
    assert len(candidate_sites(demo_map)) == 5


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_plan_layers_for_k(demo, k):
    sites = demo.get("/api/v1/plan/layers/sites", params={"k": k}).json()
    assert sites["numberMatched"] == k
    feeders = demo.get("/api/v1/plan/layers/feeders", params={"k": k}).json()
    assert {f["properties"]["substation_id"] for f in feeders["features"]} <= {
        f["properties"]["substation_id"] for f in sites["features"]
    }
    parcels = demo.get("/api/v1/plan/layers/parcels", params={"k": k}).json()["features"]
    assert len(parcels) == 210
    before = [p["properties"]["before"] for p in parcels]
    assert before.count("D") == demo.get("/api/v1/readiness/summary").json()["counts"]["D"]
    assert all(
        p["properties"]["changed"] == (p["properties"]["before"] != p["properties"]["after"])
        for p in parcels
    )


def test_plan_layer_errors(demo):
    r = demo.get("/api/v1/plan/layers/sites", params={"k": 6})
    assert r.status_code == 422 and r.json()["field"] == "new_substations"
    assert demo.get("/api/v1/plan/layers/sites", params={"k": 0}).status_code == 422
    assert demo.get("/api/v1/plan/layers/nope", params={"k": 1}).status_code == 422


@pytest.mark.parametrize(
    ("k", "zh", "en"),
    [
        ("99", "只有 5 个候选站址", "only 5 candidate sites"),
        ("0", "至少为 1", "at least 1"),
        ("-3", "至少为 1", "at least 1"),
        ("abc", "正整数", "whole number"),
    ],
)
def test_planning_page_explains_bad_k_in_the_page_language(demo, k, zh, en):
    page_zh = demo.get("/planning", params={"k": k})
    page_en = demo.get("/planning", params={"k": k, "lang": "en"})
    assert page_zh.status_code == page_en.status_code == 200
    err_zh = page_zh.text.split('data-testid="planning-error"', 1)[1].split("</p>", 1)[0]
    err_en = page_en.text.split('data-testid="planning-error"', 1)[1].split("</p>", 1)[0]
    assert zh in err_zh and "asked for" not in err_zh
    assert en in err_en


def test_planning_page_years_and_legend(demo):
    html = demo.get("/planning", params={"k": 2}).text
    table = html.split('data-testid="planning-years"', 1)[1].split("</table>", 1)[0]
    for year in ("现状", "2022", "2023", "2024"):
        assert f'data-year="{year}"' in table
    assert 'data-kind="sites"' in table
    assert 'data-testid="legend-new-feeders"' in html and "stroke-dasharray" in html


def test_capacity_page_offers_the_voltages(demo):
    html = demo.get("/capacity").text
    select = html.split('data-testid="voltage-filter"', 1)[1].split("</select>", 1)[0]
    for v in ("110", "10", "0.4"):
        assert f'value="{v}"' in select


def test_one_map_draws_lines_where_the_map_has_them():
    from grid.lvmaps import lv_map

    c = TestClient(create_app(lv_map()))
    html = c.get("/").text
    assert "低压线路（≤1 千伏）" in html and "/api/v1/layers/lines" in html
    lines = c.get("/api/v1/layers/lines").json()
    assert lines["numberMatched"] == 6
    plain = TestClient(create_app(DEMO)).get("/").text
    assert "/api/v1/layers/lines" not in plain and "低压线路" not in plain  # none in the demo


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("layer", list(LAYER_FIELDS))
def test_every_popup_field_has_a_label_and_named_values(layer, lang):
    t = Translator(lang)
    opts = popup_options(t, layer)
    for column, label in opts["fields"]:
        assert label and label != f"field.{column}" and label != column, (column, label)
    for column, names in opts["values"].items():
        assert names, column
    assert opts["title"] != f"popup.title.{layer}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_readiness_page_for_a_year(demo, lang):
    now = demo.get("/readiness", params={"lang": lang}).text
    later = demo.get("/readiness", params={"lang": lang, "year": 2024}).text
    select = now.split('data-testid="year-select"', 1)[1].split("</select>", 1)[0]
    assert all(f'value="{y}"' in select for y in (2022, 2023, 2024))
    assert 'value="2024" selected' in later
    assert "&amp;year=2024" in later or "year=2024" in later  # the layers ask for that year
    total = later.split('data-testid="district-table"', 1)[1].split("</table>", 1)[0]
    counts = demo.get("/api/v1/readiness/summary", params={"year": 2024}).json()["counts"]
    assert f"<th>{counts['C']}</th>" in total
    assert demo.get("/readiness", params={"year": 1700}).status_code == 422
