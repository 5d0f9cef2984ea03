"""Headroom per element: promised load, unknown data, inheritance, the capacity-map colours."""

from __future__ import annotations

import json

import numpy as np
import pytest
from connection.maps import feeder, make_map, rmu, substation, transformer

from onemap.grid.capacity import capacity_csv, capacity_layer
from onemap.grid.headroom import headroom
from onemap.rules import load_rules

RULES = load_rules()


def _grid(**extra):
    return make_map(
        substations=[substation("S1", 50.0, 20.0)],
        feeders=[feeder("F1", "S1", 8.0, 5.0), feeder("F2", "S1", float("nan"), 1.0, x=50)],
        assets=extra.pop(
            "assets",
            [
                transformer("T1", 0, 10, 400.0, 300.0, promised_kva=20.0),
                transformer("T2", 50, 10, 630.0, float("nan")),
                transformer("T3", 100, 10, 800.0, 100.0, feeder="F2"),
                {**rmu("B1", 5, 10, "F1", kind="branch_box"), "transformer_id": "T1"},
                rmu("B2", 60, 10, "F1", kind="branch_box"),
                rmu("R1", 20, 10, "F1"),
                rmu("R2", 120, 10, "F2", kind="switching_station"),
            ],
        ),
        **extra,
    )


def _row(table, aid):
    return table.set_index("asset_id").loc[aid]


def test_transformer_headroom_subtracts_peak_and_promised_load():
    accepted = {
        "project_id": "P1",
        "requested_kw": 30.0,
        "category": "lv_non_residential",
        "status": "accepted",
        "asset_id": "T1",
        "geometry": None,
    }
    pushed = {**accepted, "project_id": "P2", "status": "pushed"}
    from connection.maps import at

    accepted["geometry"] = pushed["geometry"] = at(0, 20)
    m = _grid(projects=[accepted, pushed])
    t = headroom(m, RULES)
    t1 = _row(t, "T1")
    # 400 − 300 − 20 (promised_kva) − 30 (accepted project); the pushed one is not promised yet
    assert t1["headroom_kva"] == pytest.approx(50.0)
    assert t1["lv_headroom_kw"] == pytest.approx(50.0)
    # the promised 50 kVA also loads feeder F1 (8 MVA − 5 MVA − 0.05 MVA) and substation S1
    assert _row(t, "F1")["headroom_kva"] == pytest.approx(8000 - 5000 - 50)
    assert _row(t, "S1")["headroom_kva"] == pytest.approx(50000 - 20000 - 50)


def test_missing_data_is_unknown_never_spare():
    t = headroom(_grid(), RULES)
    t2 = _row(t, "T2")  # peak load missing
    assert np.isnan(t2["headroom_kva"]) and t2["status"] == "unknown"
    assert np.isnan(t2["lv_headroom_kw"])
    f2 = _row(t, "F2")  # feeder capacity missing
    assert f2["status"] == "unknown"
    # T3 has room itself but sits on F2 whose capacity is unknown: unknown for a connection
    t3 = _row(t, "T3")
    assert t3["headroom_kva"] == pytest.approx(700.0)
    assert np.isnan(t3["lv_headroom_kw"]) and np.isnan(t3["hv_headroom_kw"])
    # a switching station on F2 inherits the unknown
    assert np.isnan(_row(t, "R2")["hv_headroom_kw"]) and _row(t, "R2")["status"] == "unknown"


def test_branch_box_and_ring_main_unit_inherit_where_topology_tells():
    t = headroom(_grid(), RULES)
    b1 = _row(t, "B1")
    assert b1["inherits_from"] == "T1"
    assert b1["lv_headroom_kw"] == pytest.approx(_row(t, "T1")["lv_headroom_kw"])
    b2 = _row(t, "B2")  # no transformer named: its LV headroom is unknown
    assert np.isnan(b2["lv_headroom_kw"])
    assert b2["status"] == "unknown"  # no transformer known: not shown as spare
    r1 = _row(t, "R1")
    assert r1["inherits_from"] == "F1"
    assert r1["hv_headroom_kw"] == pytest.approx(_row(t, "F1")["hv_headroom_kw"])
    assert r1["hv_headroom_kw"] == pytest.approx(3000 - 20)


def test_chain_takes_the_smallest_headroom_upstream():
    m = make_map(
        substations=[substation("S1", 10.0, 9.9)],  # 100 kVA left at the substation
        feeders=[feeder("F1", "S1", 8.0, 1.0)],
        assets=[transformer("T1", 0, 10, 800.0, 100.0), rmu("R1", 10, 10, "F1")],
    )
    t = headroom(m, RULES)
    assert _row(t, "T1")["headroom_kva"] == pytest.approx(700.0)
    assert _row(t, "T1")["lv_headroom_kw"] == pytest.approx(100.0)
    assert _row(t, "R1")["hv_headroom_kw"] == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("peak", "status"),
    [
        (0.0, "green"),
        (280.0, "green"),
        (281.0, "amber"),
        (360.0, "amber"),
        (361.0, "red"),
        (450.0, "red"),
        (float("nan"), "unknown"),
    ],
)
def test_capacity_map_colours_by_share_left(peak, status):
    cm = RULES.capacity_map
    m = make_map(assets=[transformer("T1", 0, 10, 400.0, peak)])
    row = _row(headroom(m, RULES), "T1")
    assert row["status"] == status
    assert row["color"] == cm.colors[status]
    if status != "unknown":
        assert row["share_left"] == pytest.approx((400.0 - peak) / 400.0)


def test_capacity_layer_exports_geojson_and_csv():
    layer = capacity_layer(_grid(), RULES)
    assert layer.crs.to_string() == "EPSG:4326"
    fc = json.loads(layer.to_json())
    assert len(fc["features"]) == 1 + 2 + 7
    csv = capacity_csv(layer)
    header = csv.splitlines()[0].split(",")
    assert {"asset_id", "status", "headroom_kva", "lon", "lat"} <= set(header)
    assert len(csv.strip().splitlines()) == 11
