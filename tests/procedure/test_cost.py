"""The cost estimate (items 7, 9): expected yuan are literals worked by hand from the unit
costs of this test's own small rule table (``RATES``)."""

from __future__ import annotations

import pytest

from onemap.connection.site_preview import preview
from onemap.procedure.cost import RouteWorks, cost_estimate
from onemap.rules import load_rules
from onemap.rules.model import Cost


def _rate(yuan, unit="m"):
    return {"yuan": yuan, "unit": unit, "assumed": True, "source": "test table"}


RATES = Cost.model_validate(
    {
        "default_works": "road_excavation",
        "corridor_works": {
            "sidewalk": "sidewalk_trench",
            "access": "sidewalk_trench",
            "green_belt": "green_trench",
            "bike_lane": "road_excavation",
            "motor_lane": "road_excavation",
            "crossing": "crossing",
            "duct": "duct_pull",
        },
        "cable": {"0.4": _rate(200.0), "10": _rate(500.0)},
        "works": {
            "sidewalk_trench": _rate(400.0),
            "green_trench": _rate(300.0),
            "road_excavation": _rate(1000.0),
            "crossing": _rate(2500.0),
            "duct_pull": _rate(50.0),
        },
        "facilities": {"lv": _rate(20000.0, "台"), "hv": _rate(150000.0, "台")},
    }
)
RULES = load_rules().model_copy(update={"cost": RATES})
OTHER = {"payer": "grid_company", "electrical_works": "grid_company", "corridors": "government"}
RESIDENTIAL = {"payer": "government", "electrical_works": "government", "corridors": "government"}


def test_lv_route_by_corridor_with_a_new_branch_box():
    # 120 m: sidewalk 80, crossing 15, bike lane 10, duct 10; 5 m without a segment → road.
    route = RouteWorks(
        120.0, (("sidewalk", 80.0), ("crossing", 15.0), ("bike_lane", 10.0), ("duct", 10.0))
    )
    est = cost_estimate(
        RULES, voltage_kv=0.4, group="lv", routes=[route], new_facilities=True, payer_detail=OTHER
    )
    d = est.to_dict("zh")
    got = {i["code"]: (i["quantity"], i["unit_yuan"], i["yuan"], i["payer"]) for i in d["items"]}
    assert got == {
        "cable_0.4kv": (120.0, 200.0, 24000.0, "grid_company"),  # 120 × 200
        "sidewalk_trench": (80.0, 400.0, 32000.0, "government"),  # 80 × 400
        "road_excavation": (15.0, 1000.0, 15000.0, "government"),  # (10 + 5) × 1000
        "crossing": (15.0, 2500.0, 37500.0, "government"),  # 15 × 2500
        "duct_pull": (10.0, 50.0, 500.0, "government"),  # 10 × 50
        "facility_lv": (1.0, 20000.0, 20000.0, "grid_company"),
    }
    assert d["total_yuan"] == 129000.0
    assert d["by_payer"] == {"government": 85000.0, "grid_company": 44000.0, "customer": 0.0}
    assert all(i["assumed"] and i["source"] == "test table" for i in d["items"])
    assert "假定" in d["basis"] and "assumed" in est.to_dict("en")["basis"]


def test_dual_residential_two_routes_all_government():
    routes = [
        RouteWorks(50.44, (("sidewalk", 50.44),)),
        RouteWorks(30.06, (("duct", 30.06),)),
    ]
    est = cost_estimate(
        RULES,
        voltage_kv=10.0,
        group="dual",
        routes=routes,
        new_facilities=True,
        payer_detail=RESIDENTIAL,
    )
    d = est.to_dict("en")
    got = {i["code"]: (i["quantity"], i["yuan"]) for i in d["items"]}
    assert got == {
        "cable_10kv": (80.5, 40250.0),  # 80.5 × 500
        "sidewalk_trench": (50.4, 20160.0),  # 50.4 × 400
        "duct_pull": (30.1, 1505.0),  # 30.1 × 50
        "facility_hv": (2.0, 300000.0),  # one ring main unit per source
    }
    assert d["total_yuan"] == 361915.0
    assert d["by_payer"] == {"government": 361915.0, "grid_company": 0.0, "customer": 0.0}


def test_class_a_needs_no_new_facility_and_no_table_no_estimate():
    route = RouteWorks(20.0, (("sidewalk", 20.0),))
    est = cost_estimate(
        RULES,
        voltage_kv=0.4,
        group="lv",
        routes=[route],
        new_facilities=False,
        payer_detail=OTHER,
    )
    assert est.total_yuan == 12000.0  # 20 × 200 + 20 × 400
    bare = load_rules().model_copy(update={"cost": None})
    assert (
        cost_estimate(
            bare,
            voltage_kv=0.4,
            group="lv",
            routes=[route],
            new_facilities=False,
            payer_detail=OTHER,
        )
        is None
    )


def test_shipped_table_marks_every_rate_assumed_with_a_source():
    cost = load_rules().cost
    rates = [*cost.cable.values(), *cost.works.values(), *cost.facilities.values()]
    assert rates and all(r.assumed and r.source and r.yuan > 0 for r in rates)
    assert set(cost.corridor_works.values()) <= set(cost.works)


@pytest.mark.parametrize("cat,kw", [("lv_non_residential", 80.0), ("hv_single", 3000.0)])
def test_demo_previews_carry_a_consistent_estimate(demo_map, cat, kw):
    lu = demo_map["landuse"]
    for i in range(0, len(lu), 15):
        site = lu.geometry.iloc[i].representative_point()
        d = preview(demo_map, site.x, site.y, kw, cat).to_dict()
        est = d["cost_estimate"]
        if d["readiness"] == "D":
            assert est is None
            continue
        assert set(est) >= {"total_yuan", "items", "by_payer", "basis"}
        assert est["total_yuan"] == sum(i["yuan"] for i in est["items"])
        assert sum(est["by_payer"].values()) == est["total_yuan"]
        cable = est["items"][0]
        assert cable["code"].startswith("cable_") and cable["quantity"] == round(
            d["route"]["length_m"], 1
        )
        has_box = any(i["code"].startswith("facility_") for i in est["items"])
        assert has_box == d["timeline"]["new_facilities"]
