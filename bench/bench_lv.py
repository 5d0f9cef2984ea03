"""LV networks (issue 17): lv_schutterwald imported whole, readiness of its 1506 houses before
(transformers only) and after (tee joints on the LV mains), and previews verified by load flow.

The streets are drawn along the LV mains (the NAYY 4x150 SE cables; each a 10 m street with
2 m sidewalks), the houses are the load buses as parcels (``onemap import-pandapower``).
Printed: import time, bulk readiness time and class shares before/after, and the preview time
(median of N houses) with its power flow.

    .venv/bin/python bench/bench_lv.py [--previews 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `onemap` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd

from bench._harness import Row, emit
from onemap.connection.bulk import readiness
from onemap.connection.site_preview import preview
from onemap.geo.importers.pandapower import pandapower_layers
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap

CRS = "EPSG:32632"
STREET = {
    "sidewalk_left_m": 2.0,
    "sidewalk_right_m": 2.0,
    "bike_left_m": 0.0,
    "bike_right_m": 0.0,
    "motor_width_m": 6.0,
    "green_left_m": 0.0,
    "green_right_m": 0.0,
}


def schutterwald(layers: dict, with_lines: bool) -> OneMap:
    layers = dict(layers)
    lines = layers["lines"]
    mains = lines[lines["type"] == "NAYY 4x150 SE"]
    layers["roads"] = gpd.GeoDataFrame(
        {"road_id": [f"street-{i}" for i in range(len(mains))], "road_class": "residential"}
        | STREET,
        geometry=mains.geometry.to_numpy(),
        crs=lines.crs,
    )
    if not with_lines:
        layers.pop("lines")
    clean = {n: validate_layer(n, g)[0] for n, g in layers.items()}
    return OneMap(layers=clean, crs_metric=CRS, meta={"synthetic": False})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previews", type=int, default=20)
    args = parser.parse_args()
    t0 = time.perf_counter()
    layers, _ = pandapower_layers("lv_schutterwald")
    emit(Row("import lv_schutterwald", time.perf_counter() - t0, "s", note="3000 lines"))
    results = {}
    for with_lines in (False, True):
        m = schutterwald(layers, with_lines)
        t0 = time.perf_counter()
        res = readiness(m)
        dt = time.perf_counter() - t0
        results[with_lines] = (m, res)
        n = len(res.layer)
        shares = {c: round(100 * k / n, 1) for c, k in res.counts.items()}
        emit(
            Row(
                f"readiness {'with lv_main' if with_lines else 'transformers only'}",
                dt,
                "s",
                note=f"{n} houses, classes % {shares}",
            )
        )
    m, res = results[True]
    houses = m["landuse"].iloc[:: max(1, len(m["landuse"]) // args.previews)][: args.previews]
    times, basis = [], {}
    for geom, kw in zip(houses.geometry, houses["planned_load_kw"], strict=True):
        c = geom.representative_point()
        t0 = time.perf_counter()
        p = preview(m, c.x, c.y, max(float(kw), 1.0), "lv_residential")
        times.append(time.perf_counter() - t0)
        basis[p.headroom_basis] = basis.get(p.headroom_basis, 0) + 1
    emit(
        Row(
            "preview with power flow (median)",
            statistics.median(times),
            "s",
            note=f"{len(times)} houses, basis {basis}, max {max(times):.3f} s",
        )
    )


if __name__ == "__main__":
    main()
