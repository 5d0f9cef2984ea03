"""Bulk readiness and the investor preview against networkx baselines measured in the same run.

Figures (each printed with its baseline and ratio):

* bulk readiness of every parcel — (a) with each parcel's own forecast load and category, and
  (b) for one fixed request (``--kw``/``--category``) — with the corridor graph and its CSR
  already built (as in a server), against:

  - networkx ``multi_source_dijkstra`` passes over exactly the same source sets (full graph
    and filing subgraph view) with the same cut-offs, and
  - one networkx single-source search per parcel on the full graph and one on the filing
    subgraph (modelled as the same cost), sampled and extrapolated to all parcels;

* the same bulk pass on the plain (uncontracted) CSR, to show what the degree-2 chain
  contraction of :mod:`onemap.routing.contract` buys;
* preview latency p50/p95 at random parcels of the map (target ≤ 100 ms p95).

    .venv/bin/python -m bench.bench_readiness [--map data/demo.gpkg | --city SIZE] [--sample N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import networkx as nx
import numpy as np

from bench._harness import Row, emit, percentiles, timed
from onemap.connection.bulk import readiness
from onemap.connection.points import connection_points
from onemap.connection.results import ReadinessResult
from onemap.connection.site_preview import preview
from onemap.geo.crs import metric_to_lonlat
from onemap.geo.mapfile import OneMap, read_map

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo.gpkg"


def _load(args) -> OneMap:
    if args.city:
        from bench.citygen import load_city

        return load_city(args.city)
    return read_map(args.map)


class _Baselines:
    """networkx timings per connection group of a readiness result (same sources, same cut-off)."""

    def __init__(self, onemap: OneMap, cg, rules) -> None:
        self.onemap, self.cg, self.rules = onemap, cg, rules

    def _group(self, result: ReadinessResult, group: str):
        layer = result.layer[result.layer["group"] == group]
        category = str(layer["category"].iloc[0])
        volt = self.rules.category(category).voltage_kv
        radius_v = max(
            (float(k) for k in self.rules.supply_radius_m if k != "source" and float(k) <= volt),
            default=volt,
        )
        cutoff = max(self.rules.supply_radius(radius_v, c) for c in set(layer["supply_class"]))
        pts = connection_points(self.onemap, category, self.rules)
        known = pts["headroom_kw"].to_numpy() > 0
        sources = [self.cg.asset_node[a] for a in pts["asset_id"][known] if a in self.cg.asset_node]
        return layer, sources, cutoff

    def multi_source(self, result: ReadinessResult, most: int = 16) -> tuple[float, int]:
        """Seconds of networkx multi-source passes over exactly the source sets ``result``
        passed (full graph and filing subgraph, same cut-offs), and how many passes. At most
        ``most`` passes are timed (spread over the list); the rest are extrapolated."""
        jobs = []
        g = self.cg.graph
        for group, run in result._runs.items():
            _, _, cutoff = self._group(result, group)
            volt = run.net.voltage_kv
            views = [(run.full, g, cutoff)]
            if run.filing is not None:
                ok = self.cg.eligible(volt)
                sub = nx.subgraph_view(g, filter_edge=lambda u, v, ok=ok: ok[g[u][v]["edge"]])
                views.append((run.filing, sub, min(cutoff, self.rules.filing.limit_m(volt))))
            for nearest, graph, cut in views:
                jobs += [(graph, rows, cut) for rows in nearest.pass_rows.values() if len(rows)]
        if not jobs:
            return 0.0, 0
        pick = np.unique(np.linspace(0, len(jobs) - 1, min(most, len(jobs))).round().astype(int))
        total = 0.0
        for k in pick:
            graph, rows, cut = jobs[k]
            t0 = time.perf_counter()
            nx.multi_source_dijkstra_path_length(
                graph, set(rows.tolist()), cutoff=cut, weight="length_m"
            )
            total += time.perf_counter() - t0
        return total / len(pick) * len(jobs), len(jobs)

    def per_parcel(self, result: ReadinessResult, sample: int, rng) -> tuple[float, int]:
        """Seconds of one networkx search per parcel (×2: full and filing graph), extrapolated
        from a sample drawn in proportion to the groups."""
        total, drawn = 0.0, 0
        n = len(result.layer)
        for group in result.passes_by_group:
            layer, sources, cutoff = self._group(result, group)
            feasible = set(sources)
            doors = [self.cg.parcel_node[p] for p in layer["parcel_id"] if p in self.cg.parcel_node]
            k = max(1, round(sample * len(layer) / n))
            pick = rng.choice(len(doors), size=min(k, len(doors)), replace=False)
            t0 = time.perf_counter()
            for i in pick:
                dist = nx.single_source_dijkstra_path_length(
                    self.cg.graph, doors[i], cutoff=cutoff, weight="length_m"
                )
                min((d for node, d in dist.items() if node in feasible), default=np.inf)
            per = (time.perf_counter() - t0) / len(pick)
            total += per * 2 * len(layer)
            drawn += len(pick)
        return total, drawn


def _plain_csr(call):
    """Run ``call`` with the bulk passes on the plain CSR (chain contraction switched off)."""
    import onemap.connection.bulk as module

    saved = module._contraction
    module._contraction = lambda *args: None
    try:
        return call()
    finally:
        module._contraction = saved


def _contraction_note(cg, result: ReadinessResult) -> str:
    parts = []
    for group, run in result._runs.items():
        if run.con_full is not None:
            full = cg.csr(run.net.voltage_kv, False)[0]
            parts.append(
                f"{group}: {full.shape[0]} -> {run.con_full.n_rows} rows, "
                f"{full.nnz // 2} -> {run.con_full.csr.nnz // 2} edges"
            )
    return "chain contraction " + "; ".join(parts) if parts else "no contraction"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", default=str(DEMO))
    ap.add_argument("--city", default=None, help="a bench.citygen size instead of --map")
    ap.add_argument("--sample", type=int, default=200, help="parcels for the per-parcel baseline")
    ap.add_argument("--kw", type=float, default=100.0)
    ap.add_argument("--category", default="lv_non_residential")
    ap.add_argument("--previews", type=int, default=200)
    ap.add_argument("--hv-kw", type=float, default=2000.0, help="kW of the hv_single previews")
    args = ap.parse_args()
    from onemap.routing.build import corridor_graph
    from onemap.rules import resolve_rules

    onemap = _load(args)
    rules = resolve_rules(onemap)
    n_parcels = len(onemap["landuse"])
    t_graph, cg = timed(lambda: corridor_graph(onemap))
    print(
        f"map: {n_parcels} parcels, {cg.n_nodes} nodes, {cg.n_edges} edges; "
        f"graph build {t_graph:.2f} s (not timed below)"
    )
    t_warm, _ = timed(lambda: (readiness(onemap), readiness(onemap, args.kw, args.category)))
    print(f"warm-up (forecast, headroom, CSR per voltage): {t_warm:.2f} s (not timed below)")
    t_nx, _ = timed(lambda: cg.graph)
    print(f"networkx view of the graph: {t_nx:.2f} s (not timed below)")
    base = _Baselines(onemap, cg, rules)
    rng = np.random.default_rng(0)

    for name, call in (
        ("own loads", lambda: readiness(onemap)),
        (f"{args.kw:g} kW {args.category}", lambda: readiness(onemap, args.kw, args.category)),
    ):
        t, res = timed(call)
        nx_s, nx_passes = base.multi_source(res)
        emit(
            Row(
                f"readiness bulk ({name})",
                t,
                "s",
                baseline=nx_s,
                baseline_name=f"networkx multi_source_dijkstra, same {nx_passes} source sets "
                "(timed <= 16, extrapolated)",
                note=f"{res.passes} passes {res.passes_by_group}, counts {res.counts}",
            )
        )
        if name == "own loads":
            t_plain, _ = timed(lambda call=call: _plain_csr(call))
            emit(
                Row(
                    "readiness bulk (own loads) vs plain CSR",
                    t,
                    "s",
                    baseline=t_plain,
                    baseline_name="the same passes on the uncontracted CSR",
                    note=_contraction_note(cg, res),
                )
            )
        per, drawn = base.per_parcel(res, args.sample, rng)
        emit(
            Row(
                f"readiness bulk ({name}) vs per parcel",
                t,
                "s",
                baseline=per,
                baseline_name=f"networkx per parcel x2 (sampled {drawn}, extrapolated)",
            )
        )

    geoms = onemap.metric("landuse").geometry
    picks = rng.choice(len(geoms), size=min(args.previews, len(geoms)), replace=True)
    centres = geoms.iloc[picks].representative_point()
    lon, lat = metric_to_lonlat(centres.x.to_numpy(), centres.y.to_numpy(), onemap.crs_metric)
    for kw, category in ((args.kw, args.category), (args.hv_kw, "hv_single")):
        preview(onemap, float(lon[0]), float(lat[0]), kw, category)  # warm (CSR of the voltage)
        samples = []
        for x, y in zip(lon, lat, strict=True):
            t0 = time.perf_counter()
            preview(onemap, float(x), float(y), kw, category)
            samples.append(time.perf_counter() - t0)
        pc = percentiles(samples)
        emit(Row(f"preview p50 ({category})", pc[50], "ms"))
        emit(Row(f"preview p95 ({category})", pc[95], "ms", target="<= 100 ms", met=pc[95] <= 100))


if __name__ == "__main__":
    main()
