"""Corridor model, corridor graph, routes, the filing rule and bulk distances (DESIGN §2, §3).

Public entry points (all lengths in the map's metric CRS)::

    from onemap.routing import check_route, best_route, corridor_graph

    verdict = check_route(m, line, voltage_kv=0.4, date="2026-09-30")   # FilingVerdict
    verdict.to_dict(lang="en")          # JSON shape of DESIGN §8 (Chinese by default)
    result = best_route(m, (lon, lat), (lon, lat), voltage_kv=0.4)       # RouteResult
    result.filing_route, result.shortest_route                            # Route | None

Interface for bulk work (readiness, planning):

* ``corridor_graph(onemap, rules=None) -> CorridorGraph`` — built once per map and rule table
  and cached (keyed on the map object and the identity of its roads/ducts/landuse/assets
  layers). Every parcel door and every asset is attached at build time:
  ``g.parcel_node`` (pd.Series parcel_id → node) and ``g.asset_node`` (asset_id → node);
  ``g.unattached`` lists ids farther than ``filing.attach_max_m`` from any corridor.
* ``g.graph`` — networkx.Graph (node attrs ``x``, ``y``; edge attrs ``length_m``,
  ``corridor``, ``road_id``, ``side``, ``sidewalk_m``, ``bike_m``, ``motor_m``, ``edge``).
* ``g.csr(voltage_kv, filing_only) -> (csr_matrix, nodes)`` — symmetric, parallel edges
  collapsed to the minimum length, cached; ``filing_only`` keeps the edges a filing-eligible
  route may use at that voltage (``g.eligible(voltage_kv)`` is the edge mask).
* ``g.index_of(nodes) -> np.ndarray`` node ids → CSR rows (node ids *are* rows),
  ``g.path_geometry(node_list) -> LineString`` (metric), ``g.segments(node_list) -> Pieces``
  (classified pieces; ``filing.evaluate(pieces, voltage_kv, rules)`` gives their verdict).
* ``g.locate(lon, lat)`` / ``g.locate_xy(x, y) -> Located`` — joins a query point without
  touching the graph or its CSR: nearest suitable edge ``edge`` = ``u``→``v``, the projected
  point ``p``, ``du``/``dv`` metres from ``p`` to ``u``/``v`` and the ``access`` pieces
  (``access_m``). Distance to a row r = min(du + D[u, r], dv + D[v, r]) + access_m.
* ``onemap.routing.bulk.nearest_sources(csr, source_rows, limit=None) -> (dist, source_row,
  pred)`` — one ``dijkstra(min_only=True)`` pass; ``path_from_predecessors(pred, target_row,
  source=None) -> list[row]``.
* ``onemap.routing.routes.best_route_located(g, origin, destination, voltage_kv)`` — the route
  search for already located points.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "check_route": "onemap.routing.check:check_route",
    "RouteGapError": "onemap.routing.check:RouteGapError",
    "best_route": "onemap.routing.routes:best_route",
    "RouteResult": "onemap.routing.routes:RouteResult",
    "Route": "onemap.routing.routes:Route",
    "corridor_graph": "onemap.routing.build:corridor_graph",
    "corridor_model": "onemap.routing.build:corridor_model",
    "CorridorGraph": "onemap.routing.graph:CorridorGraph",
    "Located": "onemap.routing.graph:Located",
    "FilingVerdict": "onemap.routing.filing:FilingVerdict",
    "read_route": "onemap.routing.routefile:read_route",
    "nearest_sources": "onemap.routing.bulk:nearest_sources",
    "path_from_predecessors": "onemap.routing.bulk:path_from_predecessors",
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name].split(":")
    except KeyError:
        raise AttributeError(f"module 'onemap.routing' has no attribute '{name}'") from None
    return getattr(importlib.import_module(module), attr)


__all__ = sorted(_EXPORTS)
