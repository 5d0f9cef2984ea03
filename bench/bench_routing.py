"""check_route and best_route latency against baselines measured in the same run.

Figures (median and p95 over random cases, each printed with its baseline and ratio):

* corridor model + graph build time (cold, once per map);
* ``check_route`` on random 1 km routes (random walks along the corridor graph) — baseline: the
  same overlay done without the spatial index (every route intersected with every corridor
  polygon), which is what a plain GeoPandas overlay does; target ≤ 30 ms p95;
* ``best_route`` between a random parcel door and a random asset within 800 m (locate both ends,
  filing search, shortest search, both verdicts) — baseline: networkx ``shortest_path`` between
  the same graph nodes on the same graph, once on the full graph and once on the filing
  subgraph (the two searches best_route does); target ≤ 100 ms p95;
* ``CorridorGraph.locate`` (join a clicked point to the graph without rebuilding anything).

    .venv/bin/python bench/bench_routing.py [--map data/demo.gpkg | --city SIZE] [--cases 200]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `onemap` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import networkx as nx
import numpy as np
import shapely
from shapely.ops import substring

from bench._harness import Row, emit, percentiles, timed
from onemap.errors import OnemapInputError
from onemap.geo.crs import metric_to_lonlat
from onemap.geo.mapfile import read_map
from onemap.routing import best_route, check_route
from onemap.routing.build import corridor_graph, corridor_model

ROUTE_M = 1000.0
PAIR_MAX_M = 800.0


def random_walks(g, n: int, rng: np.random.Generator) -> list[shapely.LineString]:
    """n routes of exactly ROUTE_M metres following corridor-graph edges (no access edges)."""
    G = g.graph
    walk_edges = [(a, b) for a, b, c in G.edges(data="corridor") if c != "access"]
    H = G.edge_subgraph(walk_edges)
    nodes = np.fromiter(H.nodes, dtype=int)
    out = []
    while len(out) < n:
        node = int(rng.choice(nodes))
        path, length, prev = [node], 0.0, None
        while length < ROUTE_M:
            nbrs = [m for m in H.neighbors(node) if m != prev]
            if not nbrs:
                break
            prev, node = node, int(nbrs[rng.integers(len(nbrs))])
            length += H.edges[prev, node]["length_m"]
            path.append(node)
        if length >= ROUTE_M:
            out.append(substring(g.path_geometry(path), 0.0, ROUTE_M))
    return out


def naive_overlay(polys: np.ndarray, route) -> float:
    """Baseline: intersect the route with every polygon (no index) and sum the lengths."""
    return float(shapely.length(shapely.intersection(route, polys)).sum())


def time_check_route(m, routes, name: str, note: str = "", target_ms: float = 30.0) -> None:
    """Time ``check_route`` against the unindexed overlay on the same routes; emit p50/p95.

    ``name`` is a format string with ``{q}`` for the percentile (rows differ between benchmarks);
    ``target_ms`` is the p95 target.
    """
    model, _ = corridor_model(m)
    polys = np.asarray(model.polygons.geometry.values, dtype=object)
    check_route(m, routes[0], 0.4)  # warm imports and caches
    ours, base = [], []
    for r in routes:
        t, _ = timed(lambda r=r: check_route(m, r, 0.4))
        ours.append(t)
        t, _ = timed(lambda r=r: naive_overlay(polys, r))
        base.append(t)
    p, b = percentiles(ours), percentiles(base)
    for q in (50, 95):
        emit(
            Row(
                name.format(q=q),
                p[q],
                "ms",
                baseline=b[q],
                baseline_name="unindexed overlay",
                target=f"<= {target_ms:g} ms" if q == 95 else None,
                met=p[q] <= target_ms if q == 95 else None,
                note=note if q == 50 else "",
            )
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", default="data/demo.gpkg")
    ap.add_argument("--city", default=None, help="bench.citygen size instead of --map")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    if args.city:
        from bench.citygen import load_city

        m, label = load_city(args.city), f"city:{args.city}"
    else:
        m, label = read_map(args.map), args.map
    print(f"map {label}: {m.counts()}", flush=True)

    t_model, _ = timed(lambda: corridor_model(m))
    t_graph, g = timed(lambda: corridor_graph(m))
    g.csr(0.4, True), g.csr(0.4, False)
    emit(Row("corridor model build", t_model, "s", note=label))
    emit(Row("corridor graph build", t_graph, "s", note=f"{g.n_nodes} nodes, {g.n_edges} edges"))

    # -- check_route on 1 km routes ------------------------------------------------------
    routes = random_walks(g, args.cases, rng)
    time_check_route(m, routes, "check_route 1 km p{q}")

    # -- best_route parcel -> asset --------------------------------------------------------
    # origins: parcel doors (where an investor's site meets the road network)
    pxy = g.xy[g.parcel_node.to_numpy()]
    axy = shapely.get_coordinates(m.metric("assets").geometry.values)
    G = g.graph
    ok = g.eligible(0.4)
    F = G.edge_subgraph([(int(a), int(b)) for a, b in zip(g.u[ok], g.v[ok], strict=True)])
    pairs = []
    while len(pairs) < args.cases:
        i = int(rng.integers(len(pxy)))
        near = np.flatnonzero(np.hypot(*(axy - pxy[i]).T) <= PAIR_MAX_M)
        if len(near):
            pairs.append((pxy[i], axy[int(rng.choice(near))]))
    ours, base, lat, found, skipped = [], [], [], 0, 0
    for a, bxy in pairs:
        lon_a, lat_a = metric_to_lonlat(a[0], a[1], m.crs_metric)
        lon_b, lat_b = metric_to_lonlat(bxy[0], bxy[1], m.crs_metric)
        t0 = time.perf_counter()
        try:
            res = best_route(m, (float(lon_a), float(lat_a)), (float(lon_b), float(lat_b)), 0.4)
        except OnemapInputError:  # a point too far from every road: counted, skipped
            skipped += 1
            continue
        ours.append(time.perf_counter() - t0)
        found += res.filing_route is not None
        t0 = time.perf_counter()
        lo, ld = g.locate_xy(*a), g.locate_xy(*bxy)
        lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for graph in (G, F):
            with contextlib.suppress(nx.NetworkXNoPath, nx.NodeNotFound):
                nx.shortest_path(graph, lo.u, ld.u, weight="length_m")
        base.append(time.perf_counter() - t0)
    p, b, loc = percentiles(ours), percentiles(base), percentiles(lat)
    for q in (50, 95):
        emit(
            Row(
                f"best_route p{q}",
                p[q],
                "ms",
                baseline=b[q],
                baseline_name="networkx shortest_path x2",
                target="<= 100 ms" if q == 95 else None,
                met=p[q] <= 100.0 if q == 95 else None,
                note=f"{len(ours)} cases ({skipped} skipped), {found} with a filing route"
                if q == 50
                else "",
            )
        )
    emit(Row("locate (two points) p95", loc[95], "ms", note="no CSR rebuild"))


if __name__ == "__main__":
    main()
