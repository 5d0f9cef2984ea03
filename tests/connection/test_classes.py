"""Readiness classes A–D on hand-made maps where class, connection point and distance are known.

Layout (metres; one 28 m road R1 with 4 m sidewalks along y = 0, sidewalk centre line y = ±12;
a motor-only road R2 along x = 3000): parcels sit north of the roads with their door given.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from connection.maps import (
    MOTOR_ONLY_ROAD,
    at,
    feeder,
    make_map,
    parcel,
    rmu,
    road,
    substation,
    transformer,
)
from onemap.connection.bulk import readiness
from onemap.connection.site_preview import preview
from onemap.rules import load_rules

RULES = load_rules()
P = 100.0
CAT = "lv_non_residential"


def _door(x, y):
    from connection.maps import CRS, X0, Y0
    from onemap.geo.crs import metric_to_lonlat

    lon, lat = metric_to_lonlat(X0 + x, Y0 + y, CRS)
    return {"door_lon": float(lon), "door_lat": float(lat)}


def _lonlat(x, y):
    from connection.maps import CRS, X0, Y0
    from onemap.geo.crs import metric_to_lonlat

    lon, lat = metric_to_lonlat(X0 + x, Y0 + y, CRS)
    return float(lon), float(lat)


def class_map(tb_peak=300.0, with_promise=True):
    """PA → A at TA (TP nearer but promised away); PB → B at TB (headroom exactly 100);
    PC → C at TC along the motor-only road; PD → D (TD too small, TU unknown)."""
    parcels = [
        parcel("PA", 0, 20, 100, 120, planned_load_kw=100.0, district="d", **_door(50, 20)),
        parcel("PB", 450, 20, 550, 120, planned_load_kw=100.0, district="d", **_door(500, 20)),
        parcel("PC", 3010, 400, 3110, 500, planned_load_kw=100.0, district="d", **_door(3010, 450)),
        parcel(
            "PD", 3010, 1500, 3110, 1600, planned_load_kw=100.0, district="d", **_door(3010, 1550)
        ),
    ]
    projects = []
    if with_promise:
        projects.append(
            {
                "project_id": "J1",
                "requested_kw": 100.0,
                "category": CAT,
                "status": "accepted",
                "asset_id": "TP",
                "geometry": at(30, 30),
            }
        )
    return make_map(
        roads=[
            road("R1", (-100, 0), (1200, 0)),
            road("R2", (3000, 0), (3000, 2000), section=MOTOR_ONLY_ROAD),
        ],
        landuse=parcels,
        substations=[substation("S1", 50.0, 10.0)],
        feeders=[feeder("F1", "S1", 8.0, 2.0)],
        assets=[
            transformer("TA", 60, 12, 400.0, 200.0),
            transformer("TP", 45, 12, 400.0, 250.0),  # 150 kVA left, 100 promised → 50
            transformer("TB", 700, 12, 400.0, tb_peak),
            transformer("TC", 3002, 650, 400.0, 100.0),
            transformer("TD", 3002, 1560, 400.0, 350.0),
            transformer("TU", 3002, 1540, 400.0, float("nan")),
        ],
        projects=projects,
    )


@pytest.fixture(scope="module")
def cmap():
    return class_map()


def _graph_distance(m, pid, aid):
    from onemap.routing.build import corridor_graph

    cg = corridor_graph(m)
    return nx.shortest_path_length(
        cg.graph, cg.parcel_node[pid], cg.asset_node[aid], weight="length_m"
    )


EXPECT = {  # parcel: (class, asset, approximate corridor distance in metres)
    "PA": ("A", "TA", 8 + 10),
    "PB": ("B", "TB", 8 + 200),
    "PC": ("C", "TC", 10 + 200),
    "PD": ("D", None, None),
}


def test_supply_class_gives_the_lv_radius(cmap):
    r = readiness(cmap, P, CAT)
    sc = set(r.layer["supply_class"])
    assert sc == {"B"}  # 400 kW on 4 ha: σ = 10 MW/km²
    assert RULES.supply_radius(0.4, "B") == 250.0


@pytest.mark.parametrize("pid", list(EXPECT))
def test_bulk_class_point_and_distance(cmap, pid):
    r = readiness(cmap, P, CAT).layer.set_index("parcel_id")
    cls, aid, approx = EXPECT[pid]
    row = r.loc[pid]
    assert row["readiness"] == cls
    if aid is None:
        assert row["asset_id"] is None and np.isnan(row["distance_m"])
        return
    assert row["asset_id"] == aid
    assert row["distance_m"] == pytest.approx(approx, abs=12)
    assert row["distance_m"] == pytest.approx(_graph_distance(cmap, pid, aid), abs=1e-6)
    assert bool(row["filing_eligible"]) == (cls in ("A", "B"))


def test_counts_and_json(cmap):
    r = readiness(cmap, P, CAT)
    assert r.counts == {"A": 1, "B": 1, "C": 1, "D": 1}
    d = r.to_dict()
    assert d["parcels"] == 4 and d["counts"] == r.counts


def test_headroom_exactly_p_is_feasible_and_just_below_is_not(cmap):
    assert readiness(cmap, P, CAT).layer.set_index("parcel_id").loc["PB", "readiness"] == "B"
    tight = class_map(tb_peak=300.01)
    assert readiness(tight, P, CAT).layer.set_index("parcel_id").loc["PB", "readiness"] == "D"


def test_promised_load_moves_the_connection_point():
    free = class_map(with_promise=False)
    row = readiness(free, P, CAT).layer.set_index("parcel_id").loc["PA"]
    assert row["asset_id"] == "TP"  # nearer, and free without the accepted project
    small = readiness(class_map(), 40.0, CAT).layer.set_index("parcel_id").loc["PA"]
    assert small["asset_id"] == "TP"  # 50 kW left is enough for 40 kW


@pytest.mark.parametrize("pid", list(EXPECT))
def test_preview_on_a_parcel_equals_the_bulk_pass(cmap, pid):
    from onemap.geo.crs import metric_to_lonlat

    geom = cmap.metric("landuse").set_index("parcel_id").geometry[pid]
    c = geom.representative_point()
    lon, lat = metric_to_lonlat(c.x, c.y, cmap.crs_metric)
    p = preview(cmap, float(lon), float(lat), P, CAT)
    bulk = readiness(cmap, P, CAT).layer.set_index("parcel_id").loc[pid]
    assert p.parcel_id == pid
    assert p.readiness == bulk["readiness"]
    if bulk["readiness"] == "D":
        assert p.connection_point is None and p.route is None
        assert p.timeline.earliest_date is None
        return
    assert p.connection_point.asset_id == bulk["asset_id"]
    assert p.connection_point.distance_m == pytest.approx(bulk["distance_m"], abs=0.01)
    assert p.route.length_m == pytest.approx(bulk["distance_m"], abs=0.5)
    assert p.route.filing.eligible == (bulk["readiness"] in ("A", "B"))
    d = p.to_dict()
    for key in (
        "readiness",
        "category",
        "voltage_kv",
        "requested_kw",
        "connection_point",
        "route",
        "timeline",
        "documents",
        "payer",
        "tariff_hint",
    ):
        assert key in d
    assert set(d["timeline"]) >= {"steps", "process_workdays", "works_workdays", "earliest_date"}
    assert d["route"]["geometry"]["type"] == "LineString"


def test_preview_at_a_point_outside_any_parcel(cmap):
    lon, lat = _lonlat(690, 30)  # north of the road, no parcel: nearest feasible is TB
    p = preview(cmap, lon, lat, P, CAT)
    assert p.parcel_id is None
    assert p.connection_point.asset_id == "TB"
    assert p.readiness in ("A", "B")


def test_lv_at_the_limit_connects(cmap):
    p = preview(cmap, *_lonlat(50, 70), RULES.connection.lv_max_kw, CAT)
    assert p.connection_point.asset_id == "TA"  # 200 kVA left ≥ 160


# ---- 10 kV dual supply ---------------------------------------------------------------------


def dual_map(third=False, sections=False):
    feeders = [
        feeder("F1", "S1", 8.0, 2.0, bus_section="I" if sections else ""),
        feeder("F2", "S1", 8.0, 2.0, x=50, bus_section="II" if sections else ""),
        feeder("F3", "S2", 8.0, 2.0, x=100),
    ]
    assets = [rmu("X1", 520, 12, "F1"), rmu("X2", 560, 12, "F2")]
    if third:
        assets.append(rmu("X3", 600, 12, "F3"))
    return make_map(
        roads=[road("R1", (-100, 0), (1200, 0))],
        landuse=[parcel("PX", 450, 20, 550, 120, planned_load_kw=2000.0, **_door(500, 20))],
        substations=[substation("S1", 50.0, 10.0), substation("S2", 50.0, 10.0, x=100)],
        feeders=feeders,
        assets=assets,
    )


def test_dual_supply_from_one_substation_is_not_feasible():
    row = readiness(dual_map(), 2000.0, "hv_dual").layer.iloc[0]
    assert row["readiness"] == "D"


def test_dual_supply_from_two_substations_is_feasible():
    m = dual_map(third=True)
    row = readiness(m, 2000.0, "hv_dual").layer.iloc[0]
    assert row["readiness"] == "B"
    assert row["asset_id"] == "X1" and row["second_asset_id"] == "X3"
    assert row["distance_m"] == pytest.approx(_graph_distance(m, "PX", "X1"), abs=1e-6)
    assert row["second_distance_m"] == pytest.approx(_graph_distance(m, "PX", "X3"), abs=1e-6)
    assert row["route_length_m"] == pytest.approx(row["second_distance_m"])  # the longer leg
    p = preview(m, *_lonlat(500, 70), 2000.0, "hv_dual")
    assert p.readiness == "B"
    assert p.second_connection_point.asset_id == "X3"


def test_dual_supply_from_two_known_bus_sections_is_feasible():
    row = readiness(dual_map(sections=True), 2000.0, "hv_dual").layer.iloc[0]
    assert row["readiness"] == "B" and row["second_asset_id"] == "X2"


def test_hv_single_connects_at_the_nearest_ring_main_unit():
    row = readiness(dual_map(), 2000.0, "hv_single").layer.iloc[0]
    assert row["readiness"] == "A" and row["asset_id"] == "X1"  # 28 m from the door
