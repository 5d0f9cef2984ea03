"""Tee joints on LV mains (connection point kind ``lv_main``) on hand maps (tests/grid/lvmaps)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grid.lvmaps import lv_map
from onemap.connection.bulk import readiness
from onemap.connection.points import connection_points
from onemap.connection.site_preview import preview
from onemap.geo.crs import metric_to_lonlat
from onemap.rules import load_rules

RULES = load_rules()


def test_without_lines_the_far_transformer_is_a_gap_with_lines_the_main_is_at_the_door():
    before = readiness(lv_map(with_lines=False), 50.0, "lv_residential")
    assert before.layer["readiness"].tolist() == ["D"]
    after = readiness(lv_map(), 50.0, "lv_residential")
    row = after.layer.iloc[0]
    assert row["readiness"] == "A" and row["kind"] == "lv_main"
    assert row["asset_id"].startswith("L6@")  # the main section in front of the parcel
    assert row["distance_m"] < RULES.connection.door_m


def test_headroom_is_the_smallest_of_transformer_rating_and_voltage_drop():
    pts = connection_points(lv_map(), "lv_residential")
    mains = pts[pts["kind"] == "lv_main"].set_index("asset_id")
    lm = RULES.lv_main
    # at 530 m along NAYY 4x150 SE (0.208 Ω/km): P = ε U² / R
    r = 0.208 * 0.530
    assert mains.loc["L6@30", "headroom_kw"] == pytest.approx(lm.voltage_deviation * 0.16 / r * 1e3)
    # near the transformer its headroom (400 − 100 kVA) binds, not the cable (√3·0.4·270 A)
    assert mains.loc["L1@10", "headroom_kw"] == pytest.approx(
        min(300.0, math.sqrt(3) * 0.4 * 270.0)
    )
    assert (mains["headroom_kw"].diff().dropna() <= 1e-9).all()  # falls along the main


def test_voltage_drop_screen_refuses_a_large_load_at_the_far_end():
    small = readiness(lv_map(), 50.0, "lv_non_residential").layer.iloc[0]
    large = readiness(lv_map(), 150.0, "lv_non_residential").layer.iloc[0]
    # 150 kW keeps the drop within 7 % only up to ε U² / (P r) = 359 m along the main: the
    # tee joint moves back towards the transformer, out of reach of the door
    assert small["readiness"] == "A" and small["asset_id"].startswith("L6@")
    assert large["headroom_kw"] >= 150.0
    reach_m = RULES.lv_main.voltage_deviation * 0.16 / (0.150 * 0.208) * 1e3
    assert int(large["asset_id"][1]) <= math.ceil(reach_m / 100)
    assert large["distance_m"] > 150.0 and large["readiness"] != "A"


def test_a_main_without_topology_has_unknown_headroom():
    pts = connection_points(lv_map(from_id=""), "lv_residential")
    mains = pts[pts["kind"] == "lv_main"]
    assert len(mains) and np.isnan(mains["headroom_kw"]).all()


def test_preview_connects_at_the_main():
    from connection.maps import CRS, X0, Y0

    lon, lat = metric_to_lonlat(X0 + 530, Y0 + 50, CRS)
    p = preview(lv_map(tx_peak=10.0), float(lon), float(lat), 30.0, "lv_residential", rules=RULES)
    assert p.readiness == "A"
    assert p.connection_point.kind == "lv_main"
