"""``why`` on every preview (issue 16 item 1): which point and why, or the binding constraint
of a grid gap and what would change it — on hand maps where the answer is known, and on the
demo map for every class."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connection.maps import feeder, make_map, parcel, road, substation, transformer
from connection.test_classes import CAT, P, _lonlat, class_map
from onemap.connection.site_preview import preview
from onemap.connection.why import Candidate, decisive, why_gap


def _codes(d):
    return [w["code"] for w in d["why"]]


@pytest.fixture(scope="module")
def cmap():
    return class_map()


def test_class_a_names_the_point_and_the_door(cmap):
    d = preview(cmap, *_lonlat(50, 70), P, CAT).to_dict()
    assert d["readiness"] == "A"
    assert _codes(d)[:2] == ["POINT_CHOSEN", "AT_DOOR"]
    assert "TA" in d["why"][0]["message"] and "250" in d["why"][0]["message"]
    assert d["why"][-1]["code"] in ("ROUTE_FILING", "ROUTE_PERMITS")


def test_class_c_says_why_the_route_needs_permits(cmap):
    d = preview(cmap, *_lonlat(3060, 450), P, CAT, lang="en").to_dict()
    assert d["readiness"] == "C"
    assert _codes(d) == ["POINT_CHOSEN", "ROUTE_PERMITS", "NO_FILING_ROUTE"]
    permits = d["why"][1]["message"]
    assert permits.startswith("the route needs permits: ")
    reason = d["route"]["filing"]["reasons"][0]["message"]
    assert reason in permits  # the verdict's own reason, on the card


def test_class_d_names_the_binding_point_and_the_fixes(cmap):
    p = preview(cmap, *_lonlat(3060, 1550), P, CAT)
    d = p.to_dict("zh")
    assert d["readiness"] == "D"
    codes = _codes(d)
    assert codes[0] == "NO_HEADROOM_IN_RADIUS"
    msg = d["why"][0]["message"]
    # TD (400 kVA, 350 peak → 50 kW) 8 m from the parcel, radius 250 m in supply class B
    assert "TD" in msg and "250" in msg and "B" in msg and "50 kW" in msg
    assert (
        "FIX_REINFORCE" in codes
        and "至少 50 kW" in d["why"][codes.index("FIX_REINFORCE")]["message"]
    )
    assert "FIX_SMALLER_REQUEST" in codes
    assert all(w["kind"] in ("cause", "fix") for w in d["why"])
    en = p.to_dict("en")
    assert en["why"][0]["message"].startswith("no point with 100 kW headroom")


def test_class_d_no_grid_in_radius_names_the_nearest_and_a_planned_asset():
    m = make_map(
        roads=[road("R1", (-100, 0), (2000, 0))],
        landuse=[parcel("PF", 1500, 20, 1600, 120, planned_load_kw=100.0, district="d")],
        substations=[substation("S1", 50.0, 10.0)],
        feeders=[feeder("F1", "S1", 8.0, 2.0)],
        assets=[
            transformer("T0", 0, 12, 400.0, 100.0),
            transformer("TN", 1550, 12, 630.0, 0.0, status="planned"),
        ],
    )
    d = preview(m, *_lonlat(1550, 70), P, CAT).to_dict()
    assert d["readiness"] == "D"
    codes = _codes(d)
    assert codes[:2] == ["NO_GRID_IN_RADIUS", "NEAREST_OUTSIDE_RADIUS"]
    assert "T0" in d["why"][1]["message"]
    assert "FIX_PLANNED_ASSET" in codes
    assert "TN" in d["why"][codes.index("FIX_PLANNED_ASSET")]["message"]
    assert d["cost_estimate"] is None  # no works to price for a grid gap


def test_pure_gap_category_not_served():
    ws = why_gap(
        kw=500,
        category="hv_35kv_plus",
        voltage_kv=35,
        radius_m=20000,
        supply_class="C",
        near=[],
        has_points=False,
        point_kinds=["substation"],
    )
    assert ws[0].code == "CATEGORY_NOT_SERVED"
    assert ws[-1].kind == "fix"


def test_pure_gap_unknown_headroom_asks_for_survey():
    ws = why_gap(
        kw=50,
        category=CAT,
        voltage_kv=0.4,
        radius_m=250,
        supply_class="B",
        near=[Candidate("TU", "transformer", math.nan, 8.0)],
    )
    assert [w.code for w in ws][:2] == ["NO_HEADROOM_IN_RADIUS", "FIX_SURVEY"]
    assert "?" in ws[0].en


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_demo_preview_says_why(demo_map, lang):
    lu = demo_map["landuse"]
    seen = set()
    for i in range(0, len(lu), 7):
        site = lu.geometry.iloc[i].representative_point()
        for cat, kw in (("lv_non_residential", 80.0), ("hv_single", 3000.0)):
            d = preview(demo_map, site.x, site.y, kw, cat, lang=lang).to_dict()
            seen.add(d["readiness"])
            assert d["why"], d
            assert all(w["code"] and w["message"] for w in d["why"])
            if d["readiness"] == "D":
                assert any(w["kind"] == "fix" for w in d["why"])
                assert d["why"][0]["kind"] == "cause"
            else:
                assert d["why"][0]["code"] == "POINT_CHOSEN"
                assert d["connection_point"]["asset_id"] in d["why"][0]["message"]
                filing = d["route"]["filing"]["eligible"]
                assert ("ROUTE_FILING" if filing else "ROUTE_PERMITS") in _codes(d)
            if lang == "en":
                assert not any(
                    "\u4e00" <= ch <= "\u9fff"
                    for w in d["why"][:1]
                    for ch in w["message"].split(":")[0]
                )
    assert {"A", "D"} <= seen


# --- decisive: the candidates a class-D reason can name ---------------------------------------

_room = st.one_of(
    st.floats(min_value=-50, max_value=500, allow_nan=False),
    st.just(float("nan")),
    st.just(float("inf")),
    st.sampled_from([0.0, 40.0, 80.0]),  # ties
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 900, allow_nan=False), _room), max_size=30), st.floats(1, 400)
)
def test_why_gap_of_the_decisive_candidates_is_why_gap_of_all(rows, kw):
    rows = sorted(rows, key=lambda r: r[0])  # within() hands them over in distance order
    full = [Candidate(f"T{i}", "transformer", h, d) for i, (d, h) in enumerate(rows)]
    picked = [full[i] for i in decisive([c.headroom_kw for c in full], kw)]
    assert len(picked) <= 5
    common = dict(kw=kw, category="lv_non_residential", voltage_kv=0.4, radius_m=150.0)
    common.update(supply_class="B")
    want = why_gap(near=full, planned=full, **common)
    got = why_gap(near=picked, planned=picked, **common)
    assert [(w.code, w.zh, w.en) for w in got] == [(w.code, w.zh, w.en) for w in want]
