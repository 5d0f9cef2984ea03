"""LV networks (issue 17): lv_schutterwald imported whole, readiness of its 1506 houses before
(transformers only) and after (tee joints on the LV mains), and previews verified by load flow.

The streets are drawn along the LV mains (the NAYY 4x150 SE cables; each a 10 m street with
2 m sidewalks), the houses are the load buses as parcels (``onemap import-pandapower``).
Printed: import time, bulk readiness time and class shares before/after, and the preview time
(median of N houses) with its power flow; the hosting capacity of all 3000 segments (one load
flow per LV network) against one load flow per segment.

City rows (issue 17 "Done when": bulk readiness of the city benchmark within 1.5× of today's
time), same run, same graph: the ``bench.citygen`` city as the city benchmark reads it (no
lines) on the current code against the same with ``[lv_main]`` switched off (today's path);
and a map with synthetic LV mains — two NAYY 4x150 SE mains of up to ``--main-m`` metres along
the nearest road from every transformer, tee joints sampled on them — against it without.

    .venv/bin/python bench/bench_lv.py [--previews 20] [--city city|none]
        [--mains-size town|city|none] [--main-m 150]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `onemap` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd
import shapely
from shapely.ops import substring

from bench._harness import Row, emit, timed
from onemap.connection.bulk import readiness
from onemap.connection.site_preview import preview
from onemap.geo.importers.pandapower import pandapower_layers
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.grid.hosting import hosting
from onemap.grid.powerflow import base_net

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


def bench_hosting(m: OneMap) -> None:
    """Hosting capacity of every segment (one load flow per network) against one load flow
    per segment (the hosting load added at its far end), sampled and extrapolated."""
    import pandapower as pp

    t_host, h = timed(lambda: hosting(m))
    flowed = h[h["hosting_basis"] == "power_flow"]
    sample = flowed.iloc[:: max(1, len(flowed) // 20)]
    t0 = time.perf_counter()
    for _, row in sample.iterrows():
        base = base_net(m, row["transformer_id"])
        net = copy.deepcopy(base.net)
        pp.create_load(net, base.bus_of[row["far_id"]], p_mw=row["hosting_kva"] / 1000)
        pp.runpp(net, numba=False)
    per = (time.perf_counter() - t0) / len(sample)
    limits = h["hosting_limit"].value_counts().to_dict()
    emit(
        Row(
            "hosting capacity lv_schutterwald",
            t_host,
            "s",
            baseline=per * len(flowed),
            baseline_name=f"one load flow per segment x{len(flowed)} (sampled {len(sample)})",
            note=f"{len(h)} segments, binding limits {limits}",
        )
    )


def city_mains(m: OneMap, main_m: float) -> gpd.GeoDataFrame:
    """Synthetic LV mains of a city map: from every transformer two NAYY 4x150 SE mains of up
    to ``main_m`` metres along its nearest road (one each way), validated as a lines layer."""
    assets = m.metric("assets")
    tx = assets[assets["kind"] == "transformer"]
    roads = m.metric("roads")
    if "strip_kind" in roads:  # roads with a cross-section, not footways of their own
        roads = roads[roads["strip_kind"].fillna("") == ""]
    geoms = roads.geometry.to_numpy()
    near = shapely.STRtree(geoms).nearest(tx.geometry.to_numpy())
    road = geoms[near]
    at = shapely.line_locate_point(road, tx.geometry.to_numpy())
    length = shapely.length(road)
    rows, shapes = [], []
    for tid, g, s, n in zip(tx["asset_id"], road, at, length, strict=True):
        for k, end in enumerate((max(s - main_m, 0.0), min(s + main_m, n))):
            if abs(end - s) < 5.0:
                continue
            piece = substring(g, s, end)
            rows.append(
                {
                    "line_id": f"{tid}-main{k}",
                    "voltage_kv": 0.4,
                    "from_id": tid,
                    "to_id": f"{tid}-end{k}",
                    "transformer_id": tid,
                    "type": "NAYY 4x150 SE",
                    "rated_a": 270.0,
                    "length_m": float(piece.length),
                }
            )
            shapes.append(piece)
    lines = gpd.GeoDataFrame(rows, geometry=shapes, crs=m.crs_metric)
    return validate_layer("lines", lines, source="synthetic LV mains")[0]


def _median(call, repeats: int) -> tuple[float, object]:
    runs = [timed(call) for _ in range(repeats)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def bench_city(size: str, repeats: int = 2) -> None:
    """Bulk readiness of the city benchmark's map (no lines) on the current code, with the
    tee-joint path on (the rule table's default) against it switched off, same run."""
    from bench.citygen import load_city
    from onemap.routing.build import corridor_graph
    from onemap.rules import Rules, resolve_rules

    m = load_city(size)
    rules = resolve_rules(m)
    off = Rules.model_validate(
        {**rules.model_dump(), "lv_main": {**rules.lv_main.model_dump(), "enabled": False}}
    )
    t_graph, _ = timed(lambda: corridor_graph(m))
    t_warm, _ = timed(lambda: (readiness(m), readiness(m, rules=off)))
    print(f"city {size}: {m.counts()}; graph {t_graph:.1f} s, warm-up {t_warm:.1f} s (not timed)")
    t_on, res = _median(lambda: readiness(m), repeats)
    t_off, _ = _median(lambda: readiness(m, rules=off), repeats)
    emit(
        Row(
            f"bulk_readiness_{size}_issue17",
            t_on,
            "s",
            baseline=t_off,
            baseline_name=f"same map, [lv_main] switched off (today's path), median of {repeats}",
            target="<= 1.5x baseline",
            met=t_on <= 1.5 * t_off,
            note=f"{len(res.layer)} parcels, counts {res.counts}; factor {t_on / t_off:.2f}x",
        )
    )


def bench_mains(size: str, main_m: float, repeats: int = 2) -> None:
    """Bulk readiness of a city map without and with synthetic LV mains (same run, same graph):
    what tee joints cost at city scale."""
    from bench.citygen import load_city
    from onemap.routing.build import corridor_graph

    m = load_city(size)
    t_graph, _ = timed(lambda: corridor_graph(m))
    t_warm, _ = timed(lambda: readiness(m))
    print(f"{size}: graph {t_graph:.1f} s, warm-up {t_warm:.1f} s (not timed)")
    base, today = _median(lambda: readiness(m), repeats)
    t_lines, lines = timed(lambda: city_mains(m, main_m))
    print(f"without lines {base:.2f} s (median of {repeats}); {len(lines)} mains", flush=True)
    m.replace_layer("lines", lines)
    t_first, res = timed(lambda: readiness(m))  # builds the LV networks and tee joints once
    # a second pass only where it is cheap (the tee joints are located again on every pass)
    t_again = timed(lambda: readiness(m))[0] if t_first < 60 else float("nan")
    kinds = res.layer["kind"].value_counts().to_dict()
    emit(
        Row(
            f"bulk_readiness_{size}_lv_mains",
            t_first,
            "s",
            baseline=base,
            baseline_name=f"same {size} map without lines (transformers and branch boxes), "
            f"median of {repeats}",
            target="<= 1.5x baseline",
            met=t_first <= 1.5 * base,
            note=(
                f"factor {t_first / base:.1f}x; {len(res.layer)} parcels, {len(lines)} synthetic "
                f"mains of <= {main_m:g} m ({t_lines:.1f} s to draw, not timed); classes "
                f"without lines {today.counts}, with {res.counts}; points used {kinds}; warm "
                f"pass with mains {t_again:.2f} s"
            ),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previews", type=int, default=20)
    parser.add_argument("--city", default="city", help="bench.citygen size, or none")
    # the city with mains takes ~50 min (measured): town by default, --mains-size city on purpose
    parser.add_argument("--mains-size", default="town", help="bench.citygen size, or none")
    parser.add_argument("--main-m", type=float, default=150.0, help="length of each city main")
    args, _ = parser.parse_known_args()  # python -m bench passes every benchmark the same args
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
    bench_hosting(m)
    if args.city != "none":
        bench_city(args.city)
    if args.mains_size != "none":
        bench_mains(args.mains_size, args.main_m)


if __name__ == "__main__":
    main()
