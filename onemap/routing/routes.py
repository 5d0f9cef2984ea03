"""``best_route``: the shortest filing-eligible route and the shortest route overall (DESIGN §3).

Both ends join the corridor graph through :meth:`CorridorGraph.locate` (nearest suitable edge,
split virtually at the projected point, plus the access run), so nothing is rebuilt per query.
Each search is one bounded ``scipy.sparse.csgraph.dijkstra`` from the two end nodes of the
origin's edge on the cached CSR matrix:

* the filing route searches only filing-eligible edges and stops at the length limit of the
  rule table (a longer route could not be filed anyway);
* the shortest route stops at ``route_search_factor`` × the straight-line distance (at least
  the limit) — a search never spreads over the whole city.

Each route carries the verdict computed from its graph edges; :func:`check_route` on its
geometry gives the same verdict (tested).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from onemap.geo.crs import metric_to_lonlat
from onemap.routing.build import corridor_graph
from onemap.routing.bulk import NO_PATH
from onemap.routing.filing import FilingVerdict, evaluate, parse_date, piece_reasons
from onemap.routing.graph import CorridorGraph, Located
from onemap.routing.overlay import CORRIDORS, Pieces
from onemap.rules import Rules


@dataclass
class Route:
    """One route: length, geometry (metric and lon/lat), graph nodes and its verdict."""

    length_m: float
    geometry_metric: shapely.LineString
    geometry: shapely.LineString  # lon/lat, for output
    nodes: list[int]
    pieces: Pieces
    filing: FilingVerdict

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "length_m": round(self.length_m, 3),
            "geometry": shapely.geometry.mapping(self.geometry),
            "filing": self.filing.to_dict(lang),
        }


@dataclass
class RouteResult:
    """``filing_route`` (None when no filing-eligible route exists) and ``shortest_route``."""

    filing_route: Route | None
    shortest_route: Route | None
    voltage_kv: float
    straight_m: float

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "voltage_kv": self.voltage_kv,
            "straight_m": round(self.straight_m, 3),
            "filing_route": self.filing_route.to_dict(lang) if self.filing_route else None,
            "shortest_route": self.shortest_route.to_dict(lang) if self.shortest_route else None,
        }


def _access_ok(g: CorridorGraph, loc: Located, voltage_kv: float) -> bool:
    a = loc.access
    if not len(a):
        return True
    return bool(
        (
            piece_reasons(a.corridor, a.sidewalk_m, a.bike_m, a.motor_m, voltage_kv, g.rules).reason
            < 0
        ).all()
    )


def _partial(g: CorridorGraph, edge: int, a: np.ndarray, b: np.ndarray) -> Pieces:
    """A piece of edge ``edge`` from a to b (same classification as the edge)."""
    if np.hypot(*(b - a)) <= 1e-9:
        return g._edge_pieces(np.empty(0, int), np.empty((0, 2)), np.empty((0, 2)))
    return g._edge_pieces(np.array([edge]), a[None, :], b[None, :])


def search(
    g: CorridorGraph,
    origin: Located,
    destination: Located,
    voltage_kv: float,
    *,
    filing_only: bool,
    cutoff: float,
) -> tuple[list[int], Pieces] | None:
    """Shortest path between two located points within ``cutoff`` metres (None if none).

    Returns the graph nodes passed and the classified pieces from origin to destination.
    """
    if filing_only:
        ok = g.eligible(voltage_kv)
        if not (ok[origin.edge] and ok[destination.edge]):
            return None
        if not (_access_ok(g, origin, voltage_kv) and _access_ok(g, destination, voltage_kv)):
            return None
    if filing_only:
        csr, _ = g.csr(voltage_kv, True)
        scale = 1.0
    else:
        # the cheapest sensible route: carriageway and crossings cost more (rule table); the
        # cut-off stays a length (checked on the pieces below), so the cost budget is scaled
        csr = g.csr_cost(voltage_kv)
        scale = max([1.0, *g.rules.filing.route_cost.values()])
    src = np.array([origin.u, origin.v])
    dst = np.array([destination.u, destination.v])
    src_off = np.array([origin.du, origin.dv]) * _edge_cost(g, origin.edge, filing_only)
    dst_off = np.array([destination.du, destination.dv]) * _edge_cost(
        g, destination.edge, filing_only
    )
    budget = max(cutoff - origin.access_m - destination.access_m, 0.0) * scale
    # Every point x of a route no longer than `cutoff` has |x-o| + |x-d| <= cutoff, hence lies
    # within cutoff/2 of the midpoint: search only the nodes of that disc (exact, and the work
    # no longer grows with the size of the city).
    local = _with_nodes(g.nodes_within((origin.q + destination.q) / 2.0, cutoff / 2.0), src, dst)
    sub = submatrix(csr, local)
    pos = np.searchsorted(local, np.r_[src, dst])
    dist, pred = dijkstra(sub, indices=pos[:2], limit=budget, return_predecessors=True)
    pred = np.where(pred >= 0, local[np.maximum(pred, 0)], NO_PATH)
    total = src_off[:, None] + dist[:, pos[2:]] + dst_off[None, :]
    i, j = np.unravel_index(int(np.argmin(total)), total.shape)
    best = float(total[i, j])
    same_edge = origin.edge == destination.edge
    direct = float(np.hypot(*(destination.p - origin.p))) if same_edge else np.inf
    if not np.isfinite(best) and not np.isfinite(direct):
        return None
    if direct <= best:
        nodes: list[int] = []
        middle = [_partial(g, origin.edge, origin.p, destination.p)]
    else:
        nodes = [int(dst[j])]
        step = pred[i, pos[2 + j]]
        while step != NO_PATH:
            nodes.append(int(step))
            step = pred[i, np.searchsorted(local, step)]
        nodes.reverse()
        middle = [
            _partial(g, origin.edge, origin.p, g.xy[nodes[0]]),
            g.segments(nodes),
            _partial(g, destination.edge, g.xy[nodes[-1]], destination.p),
        ]
    pieces = Pieces.concat([origin.access, *middle, destination.access.reversed()])
    if pieces.length.sum() > cutoff + 1e-9:
        return None
    return nodes, pieces


def _with_nodes(local: np.ndarray, *extra: np.ndarray) -> np.ndarray:
    """Sorted distinct ``local`` with the ``extra`` node ids added (``np.union1d``, without
    hashing the tens of thousands of nodes of a search disc again for four ends)."""
    add = np.unique(np.concatenate(extra))
    if not len(local):
        return add
    pos = np.searchsorted(local, add)
    have = (pos < len(local)) & (local[np.minimum(pos, len(local) - 1)] == add)
    return np.insert(local, pos[~have], add[~have]) if (~have).any() else local


def submatrix(csr: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """``csr[rows][:, rows]`` for sorted distinct ``rows``, in time of the entries of those
    rows: scipy's column selection allocates and fills arrays of the whole matrix's width (a
    city's 1.4M nodes) on every call, a third of a route search (issue 18). Here each thread
    keeps one position table of that width, sets the rows' positions and clears them again.

    >>> m = sp.csr_matrix(np.arange(16.0).reshape(4, 4))
    >>> submatrix(m, np.array([1, 3])).toarray().tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    part = csr[rows]
    table = getattr(_POSITIONS, "table", None)
    if table is None or len(table) < csr.shape[1]:
        table = _POSITIONS.table = np.full(csr.shape[1], -1, dtype=np.int32)
    table[rows] = np.arange(len(rows), dtype=np.int32)
    col = table[part.indices]
    table[rows] = -1  # clean for the next search on this thread
    keep = col >= 0
    owner = np.repeat(np.arange(len(rows)), np.diff(part.indptr))
    counts = np.bincount(owner[keep], minlength=len(rows))
    indptr = np.r_[0, np.cumsum(counts)]
    return sp.csr_matrix((part.data[keep], col[keep], indptr), shape=(len(rows), len(rows)))


_POSITIONS = threading.local()  # per thread: a graph node's position in the current search


def _edge_cost(g: CorridorGraph, edge: int, filing_only: bool) -> float:
    """Cost factor of one edge's corridor in the search (1 on the filing graph)."""
    if filing_only:
        return 1.0
    name = CORRIDORS[int(g.corridor[edge])]
    return float(g.rules.filing.route_cost.get(name, 1.0))


def _route(g: CorridorGraph, nodes, pieces: Pieces, voltage_kv, date) -> Route:
    coords = np.vstack([pieces.a[:1], pieces.b]) if len(pieces) else np.empty((0, 2))
    line = shapely.LineString(coords)
    lon, lat = metric_to_lonlat(coords[:, 0], coords[:, 1], g.crs)
    return Route(
        length_m=float(pieces.length.sum()),
        geometry_metric=line,
        geometry=shapely.LineString(np.column_stack([lon, lat])),
        nodes=nodes,
        pieces=pieces,
        filing=evaluate(pieces, voltage_kv, g.rules, date),
    )


def best_route(
    onemap,
    origin: tuple[float, float],
    destination: tuple[float, float],
    voltage_kv: float = 0.4,
    *,
    date: dt.date | str | None = None,
    rules: Rules | str | None = None,
) -> RouteResult:
    """Shortest filing-eligible route (or None) and shortest route between two lon/lat points.

    Raises OnemapInputError for an unknown voltage or a point farther than
    ``filing.attach_max_m`` from every corridor.
    """
    g = corridor_graph(onemap, rules)
    g.rules.filing.trench_width(voltage_kv)  # unknown voltage: clear error first
    date = parse_date(date)
    o = g.locate(*origin)
    d = g.locate(*destination)
    return best_route_located(g, o, d, voltage_kv, date=date)


def best_route_located(
    g: CorridorGraph,
    o: Located,
    d: Located,
    voltage_kv: float,
    *,
    date: dt.date | None = None,
) -> RouteResult:
    """:func:`best_route` for points already located on the graph."""
    f = g.rules.filing
    limit = f.limit_m(voltage_kv)
    straight = float(np.hypot(*(d.q - o.q)))
    filing = search(g, o, d, voltage_kv, filing_only=True, cutoff=limit)
    filing_route = None
    if filing is not None:
        route = _route(g, *filing, voltage_kv, date)
        filing_route = route if route.filing.eligible else None
    shortest = search(
        g,
        o,
        d,
        voltage_kv,
        filing_only=False,
        cutoff=max(limit, f.route_search_factor * straight),
    )
    shortest_route = _route(g, *shortest, voltage_kv, date) if shortest is not None else None
    return RouteResult(filing_route, shortest_route, voltage_kv, straight)
