"""Grid diagnostics on hand-made maps where each finding is known by construction."""

from __future__ import annotations

import pytest
from connection.maps import feeder, make_map, parcel, rmu, road, substation, transformer

from onemap.planning.diagnostics import diagnose
from onemap.rules import load_rules

RULES = load_rules()
SHARE = RULES.diagnostics.heavy_loading_share
TARGET = {k: v for k, v in RULES.outage_target_hours.items() if k != "policy_item"}


def diag_map(**over):
    # 100 kW on 1 ha = 10 MW/km²: supply class B, 0.4 kV radius from the rule table.
    lv = {"planned_load_kw": 100.0, "district": "d"}
    hv = {"planned_load_kw": 300.0, "district": "h"}  # 30 MW/km²: A+, hv_single
    parcels = [
        parcel(
            "NEAR", 0, 20, 100, 120, **lv, outage_hours=TARGET["urban"] + 1.0, area_type="urban"
        ),
        parcel(
            "FAR", 600, 20, 700, 120, **lv, outage_hours=TARGET["urban"] + 0.5, area_type="urban"
        ),
        parcel(
            "TOWN", 1200, 20, 1300, 120, **lv, outage_hours=TARGET["town"] - 1.0, area_type="town"
        ),
        parcel("HVFAR", 5000, 20, 5100, 120, **hv),
    ]
    return make_map(
        roads=[road("R1", (-100, 0), (5200, 0))],
        landuse=parcels,
        substations=[substation("S1", 50.0, 10.0)],
        feeders=[
            feeder("F1", "S1", 10.0, 10.0 * SHARE + over.get("f1_extra", 0.5)),
            feeder("F2", "S1", 10.0, 10.0 * SHARE),  # exactly at the threshold: not heavy
        ],
        assets=[
            transformer("T1", 50, 12, 400.0, 400.0 * SHARE + 20.0, feeder="F1"),
            transformer("T2", 1250, 12, 400.0, 100.0, feeder="F2"),
            transformer("TU", 1260, 12, 400.0, float("nan"), feeder="F2"),
            rmu("R1", 60, 12, "F2"),
        ],
    )


@pytest.fixture(scope="module")
def diag():
    return diagnose(diag_map())


def findings(d, kind):
    t = d.table
    return t[t["kind"] == kind].set_index("subject_id")


def test_heavy_loading_above_the_threshold_only(diag):
    heavy = findings(diag, "heavy_loading")
    assert set(heavy.index) == {"F1", "T1"}  # F2 sits at the threshold, TU is unknown
    assert heavy.loc["T1", "value"] == pytest.approx((400.0 * SHARE + 20.0) / 400.0, rel=1e-3)
    assert heavy.loc["F1", "limit"] == SHARE
    assert heavy.loc["F1", "policy_item"] == "12"


def test_lv_parcels_beyond_the_supply_radius(diag):
    radius = RULES.supply_radius(0.4, "B")
    sr = findings(diag, "supply_radius")
    # FAR's door is ~600 m from T1 and ~550 m from T2: beyond the class-B radius of T1's side
    lv = sr[sr["layer"] == "assets"]
    assert "T1" in lv.index
    assert lv.loc["T1", "limit"] == radius
    assert lv.loc["T1", "value"] > radius
    assert lv.loc["T1", "parcels"] == 1
    # NEAR (door ~50 m from T1) and TOWN (at T2) are within radius: T2 not flagged
    assert "T2" not in lv.index


def test_hv_parcel_beyond_the_feeder_radius(diag):
    sr = findings(diag, "supply_radius")
    hv = sr[sr["layer"] == "feeders"]
    assert "F2" in hv.index  # HVFAR is ~4.9 km from R1 on F2; class A+ radius 3 km
    assert hv.loc["F2", "limit"] == RULES.supply_radius(10.0, "A+")
    assert hv.loc["F2", "value"] > hv.loc["F2", "limit"]


def test_outage_over_target_by_district_and_area_type(diag):
    out = findings(diag, "outage_over_target")
    assert list(out.index) == ["d/urban"]  # mean urban = target + 0.75 h; the town is below
    row = out.iloc[0]
    assert row["value"] == pytest.approx(TARGET["urban"] + 0.75)
    assert row["limit"] == TARGET["urban"] and row["parcels"] == 2
    assert row["policy_item"] == "13"


def test_layer_is_lonlat_with_geometry(diag):
    assert diag.layer.crs.to_epsg() == 4326
    assert diag.layer.geometry.notna().all()
    d = diag.to_dict()
    assert d["counts"]["heavy_loading"] == 2 and d["checked"]["feeders"] == 2


def test_no_findings_on_a_healthy_map():
    m = diag_map(f1_extra=-1.0)
    heavy = findings(diagnose(m), "heavy_loading")
    assert "F1" not in heavy.index


def test_demo_map_diagnostics(demo_map):
    d = diagnose(demo_map)
    # every heavy finding really is above the threshold of the rule table
    heavy = findings(d, "heavy_loading")
    assert (heavy["value"] > SHARE).all()
    sr = findings(d, "supply_radius")
    assert (sr["value"] > sr["limit"]).all()
