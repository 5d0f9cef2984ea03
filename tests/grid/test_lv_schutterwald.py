"""Readiness of lv_schutterwald's 1506 houses, before and after tee joints on its LV mains.

The net is imported whole (:func:`pandapower_layers`); its cables run under the streets, so the
streets are drawn along the LV mains (each main line a 10 m road: 2 m sidewalks, 6 m
carriageway) and its load buses are the house parcels. Before: transformers are the only LV
connection points; after: the mains too (kind ``lv_main``). The class shares are printed
(``pytest -s``) and published in the closing note of issue 17.
"""

from __future__ import annotations

import time

import geopandas as gpd
import pandas as pd
import pytest

from onemap.connection.bulk import readiness
from onemap.geo.importers.pandapower import pandapower_layers
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.grid.lines import lv_networks

CRS = "EPSG:32632"  # UTM 32N: Schutterwald, Baden
STREET = {
    "sidewalk_left_m": 2.0,
    "sidewalk_right_m": 2.0,
    "bike_left_m": 0.0,
    "bike_right_m": 0.0,
    "motor_width_m": 6.0,
    "green_left_m": 0.0,
    "green_right_m": 0.0,
}


def schutterwald_map(with_lines: bool) -> OneMap:
    layers, _ = pandapower_layers("lv_schutterwald")
    lines = layers["lines"]
    mains = lines[lines["type"] == "NAYY 4x150 SE"]  # the mains; 4x50 are house services
    roads = gpd.GeoDataFrame(
        {"road_id": [f"street-{i}" for i in range(len(mains))], "road_class": "residential"}
        | {k: v for k, v in STREET.items()},
        geometry=mains.geometry.to_numpy(),
        crs=lines.crs,
    )
    layers["roads"] = roads
    if not with_lines:
        layers.pop("lines")
    clean = {name: validate_layer(name, gdf)[0] for name, gdf in layers.items()}
    return OneMap(layers=clean, crs_metric=CRS, meta={"synthetic": False})


def shares(result) -> dict[str, float]:
    counts = result.counts
    n = sum(counts.values())
    return {c: round(100 * k / n, 1) for c, k in counts.items()}


@pytest.fixture(scope="module")
def before_after():
    out = {}
    for with_lines in (False, True):
        onemap = schutterwald_map(with_lines)
        t0 = time.perf_counter()
        res = readiness(onemap)
        out[with_lines] = (onemap, res, time.perf_counter() - t0)
    return out


def test_class_shares_before_and_after_tee_joints(before_after):
    (_, before, t_before), (m_after, after, t_after) = before_after[False], before_after[True]
    print(f"\nlv_schutterwald houses: {len(before.layer)}")
    print(f"before (transformers only): {before.counts} {shares(before)} % in {t_before:.1f} s")
    print(f"after (with lv_main):       {after.counts} {shares(after)} % in {t_after:.1f} s")
    kinds = after.layer["kind"].value_counts(dropna=False).to_dict()
    print(f"connection point kinds after: {kinds}")
    assert len(after.layer) == 1506
    ab_before = before.counts["A"] + before.counts["B"]
    ab_after = after.counts["A"] + after.counts["B"]
    assert ab_after > ab_before
    assert ab_after / 1506 > 0.5  # the houses mostly A/B
    assert (after.layer["kind"] == "lv_main").sum() > 0
    nets = lv_networks(m_after)
    assert len(nets) == 14
    complete = sum(n.complete for n in nets.values())
    print(f"LV networks complete (load-flowable): {complete} of {len(nets)}")
    assert pd.Series(after.layer["readiness"]).isin(list("ABCD")).all()
