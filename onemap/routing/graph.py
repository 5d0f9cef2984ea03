"""The corridor graph: one edge chain per corridor strip, joined at junctions (DESIGN §2).

Built once per map (and rule table) and cached. Construction, all vectorised:

1. the graph lines of :mod:`onemap.routing.corridors` (strip centre lines, corner arcs, crossings
   of the carriageway, ducts and their connectors) are noded together, so lines that cross share
   a node — at an inner corner the sidewalk of one road meets the sidewalk of the other;
2. every straight segment is cut at corridor-polygon boundaries and each piece is classified by
   :class:`~onemap.routing.overlay.Overlay` (the same classifier :func:`check_route` uses), so an
   edge has one ``corridor`` (sidewalk, bike_lane, motor_lane, green_belt, duct, crossing,
   access, off_corridor), one ``road_id`` and the widths the filing rule needs;
3. every parcel door and asset joins by splitting its nearest suitable edge (sidewalk, bike lane
   or duct; any edge if none is near) at the projected point, plus an ``access`` edge from the
   point, within ``filing.attach_max_m``.

Storage is a set of numpy arrays (nodes ``xy``; edges ``u``, ``v``, ``corridor``, ``poly``). The
networkx view (:attr:`CorridorGraph.graph`) and the CSR matrices (:meth:`CorridorGraph.csr`) are
made from them on demand and cached. Node ids are CSR rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from onemap.errors import OnemapInputError
from onemap.geo.crs import lonlat_to_metric
from onemap.messages import msg
from onemap.routing.contract import Contraction, contract, symmetric_csr
from onemap.routing.corridors import EPS, CorridorModel
from onemap.routing.filing import eligible_mask
from onemap.routing.nearest import EdgeIndex
from onemap.routing.overlay import (
    CODE,
    CORRIDORS,
    SIDES,
    Overlay,
    Pieces,
    access_prefix,
)
from onemap.rules import Rules

if TYPE_CHECKING:  # networkx is imported by the one view that needs it (startup time)
    import networkx as nx

_LOCKS_GUARD = threading.Lock()  # guards the creation of a graph's per-key build locks
MERGE_M = 1e-3  # points closer than this are one node (numerical, not a rule number)
SUITABLE = (CODE["sidewalk"], CODE["bike_lane"], CODE["duct"])
COST_KEY = ("cost", 0.0)  # cache key of the route-cost matrix (the same at every voltage)


# The layers the corridor graph is built from; nothing else invalidates it.
# ---------------------------------------------------------------------------------------------
# The graph


@dataclass
class Located:
    """A query point joined to the graph without changing it.

    The point ``q`` reaches ``p`` on edge ``edge`` (nodes ``u``→``v``) through ``access``
    pieces; from ``p`` it is ``du`` metres to ``u`` and ``dv`` to ``v`` along the edge.
    """

    q: np.ndarray
    p: np.ndarray
    edge: int
    t: float
    u: int
    v: int
    du: float
    dv: float
    access: Pieces
    # The point's nearest corridor is a fragment that reaches no asset (a subway stair, an
    # unconnected path): the point was joined to the nearest corridor that does instead.
    isolated_nearest: bool = False

    @property
    def access_m(self) -> float:
        return float(self.access.length.sum())


@dataclass
class CorridorGraph:
    """Corridor graph of one map. Node ids are CSR rows; see the module docstring."""

    xy: np.ndarray  # (n, 2) metric coordinates
    u: np.ndarray
    v: np.ndarray
    corridor: np.ndarray  # int8 codes into CORRIDORS
    poly: np.ndarray  # overlay polygon of each edge, -1 off corridor
    overlay: Overlay
    model: CorridorModel
    rules: Rules
    crs: str
    parcel_node: pd.Series  # parcel_id -> node (the door)
    asset_node: pd.Series  # asset_id -> node
    unattached: dict[str, list[str]] = field(default_factory=dict)
    _csr: dict[tuple, tuple[sp.csr_matrix, np.ndarray]] = field(default_factory=dict, repr=False)
    _contracted: dict[tuple, Contraction] = field(default_factory=dict, repr=False)
    _masks: dict[float, np.ndarray] = field(default_factory=dict, repr=False)
    _nx: nx.Graph | None = field(default=None, repr=False)
    _trees: dict[str, Any] = field(default_factory=dict, repr=False)  # look-up indexes
    _pair_index: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _length: np.ndarray | None = field(default=None, repr=False)
    _locks: dict[tuple, threading.Lock] = field(default_factory=dict, repr=False)

    def _once(self, cache: dict, key: Any, build: Callable[[], Any]) -> Any:
        """``cache[key]``, built by ``build()`` on first use — once, whichever thread asks
        first: the cache writer prepares the matrices behind the first answers (see
        :func:`onemap.routing.store.load_or_build`), and a route or bulk pass that needs one
        of them meanwhile waits for it instead of building it a second time. One lock a key,
        taken in the order contracted → matrix → pair index, so two threads never wait on
        each other in a cycle."""
        if key in cache:
            return cache[key]
        with _LOCKS_GUARD:
            lock = self._locks.setdefault((id(cache), key), threading.Lock())
        with lock:
            if key not in cache:
                cache[key] = build()
        return cache[key]

    # -- edge attributes --------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    @property
    def n_edges(self) -> int:
        return len(self.u)

    @property
    def length(self) -> np.ndarray:
        """Metres of every edge (computed once: every CSR look-up reads it)."""
        if self._length is None or len(self._length) != len(self.u):
            d = self.xy[self.v] - self.xy[self.u]
            self._length = np.hypot(d[:, 0], d[:, 1])
        return self._length

    def _attr(self, values: np.ndarray, fill, poly: np.ndarray | None = None) -> np.ndarray:
        poly = self.poly if poly is None else poly
        on = poly >= 0
        out = np.full(len(poly), fill, dtype=values.dtype if values.dtype != object else object)
        out[on] = values[poly[on]]
        return out

    def edge_table(self) -> pd.DataFrame:
        """All edges: u, v, length_m, corridor, road_id, side, sidewalk_m, bike_m, motor_m."""
        ov = self.overlay
        return pd.DataFrame(
            {
                "u": self.u,
                "v": self.v,
                "length_m": self.length,
                "corridor": np.asarray(CORRIDORS, dtype=object)[self.corridor],
                "road_id": self._attr(ov.road_id, None),
                "side": np.asarray(SIDES, dtype=object)[self._attr(ov.side, SIDES.index(""))],
                "sidewalk_m": self._attr(ov.sidewalk_m, 0.0),
                "bike_m": self._attr(ov.bike_m, 0.0),
                "motor_m": self._attr(ov.motor_m, 0.0),
            }
        )

    def edges_frame(self) -> gpd.GeoDataFrame:
        """Edges as a GeoDataFrame in the metric CRS (for maps and debugging)."""
        lines = shapely.linestrings(np.stack([self.xy[self.u], self.xy[self.v]], axis=1))
        return gpd.GeoDataFrame(self.edge_table(), geometry=lines, crs=self.crs)

    def eligible(self, voltage_kv: float) -> np.ndarray:
        """Mask of edges a filing-eligible route may use at this voltage (cached)."""
        key = float(voltage_kv)
        return self._once(self._masks, key, lambda: self._eligible(key))

    def _eligible(self, voltage_kv: float) -> np.ndarray:
        ov = self.overlay
        return eligible_mask(
            self.corridor,
            self._attr(ov.sidewalk_m, 0.0),
            self._attr(ov.bike_m, 0.0),
            self._attr(ov.motor_m, 0.0),
            voltage_kv,
            self.rules,
        )

    # -- views ------------------------------------------------------------------------------

    @property
    def graph(self) -> nx.Graph:
        """networkx view: nodes with ``x``, ``y``; edges with ``length_m``, ``corridor``,
        ``road_id``, ``side``, ``sidewalk_m``, ``bike_m``, ``motor_m`` and ``edge`` (array
        index). Parallel edges keep the shortest. Built on first use, then cached."""
        if self._nx is None:
            table = self.edge_table()
            table["edge"] = np.arange(self.n_edges)
            table = table.sort_values("length_m", ascending=False, kind="stable")
            import networkx as nx

            g = nx.Graph(crs=self.crs)
            g.add_nodes_from(
                (i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(self.xy)
            )
            attrs = table.drop(columns=["u", "v"]).to_dict("records")
            g.add_edges_from(zip(table["u"], table["v"], attrs, strict=True))
            self._nx = g
        return self._nx

    def csr(self, voltage_kv: float, filing_only: bool) -> tuple[sp.csr_matrix, np.ndarray]:
        """Symmetric CSR matrix of edge lengths and the node id of every row (cached).

        ``filing_only`` keeps only the edges a filing-eligible route may use at ``voltage_kv``.
        Parallel edges are collapsed to their minimum length before the matrix is built (a CSR
        made from COO would add them up). Use with ``scipy.sparse.csgraph`` (directed=True).
        """
        key = _key(voltage_kv, filing_only)
        if key in self._csr:  # a cached start: the lengths need not be read from the file
            return self._csr[key]
        return self._matrix(key, self.length)

    def csr_cost(self, voltage_kv: float) -> sp.csr_matrix:
        """:meth:`csr` of the whole graph with edge *costs*: length × the rule table's weight
        of the edge's corridor (``filing.route_cost``: carriageway and crossings cost more
        than walkways), so the cheapest route is the sensible one; lengths stay as they are."""
        if COST_KEY in self._csr:
            return self._csr[COST_KEY][0]
        weight = np.ones(len(CORRIDORS))
        for name, w in self.rules.filing.route_cost.items():
            if name in CODE:
                weight[CODE[name]] = float(w)
        cost = self.length * weight[self.corridor.astype(np.int64)]
        # The costs do not depend on the voltage: one matrix for all (prepared and cached).
        return self._matrix(COST_KEY, cost)[0]

    def _matrix(self, key: tuple, weights: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        return self._once(self._csr, key, lambda: self._build_matrix(key, weights))

    def _build_matrix(self, key: tuple, weights: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        filing_only = key[0] != "cost" and key[1]
        voltage_kv = key[0] if key[0] != "cost" else key[1]
        mask = self.eligible(voltage_kv) if filing_only else np.ones(self.n_edges, bool)
        if filing_only:
            # voltages of one trench width share their edges: one matrix for all of them
            # (Xinwu's 10 and 20 kV matrices were two copies of 15 MiB)
            for other, built in list(self._csr.items()):
                filing = other[0] != "cost" and other[1] and other != key
                if filing and np.array_equal(self._masks.get(other[0]), mask):
                    return built
        n = self.n_nodes
        # The edges sorted by node pair (then length), once for every matrix (the pair
        # index); a mask keeps that order. Of parallel edges the least weight counts: the
        # first one for lengths, the least of the group for costs (no sort of its own).
        pairs, order = self._pairs()
        keep = mask[order]
        pair, w = pairs[keep], weights[order[keep]]
        first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else pair[:0]
        pair, w = pair[first], np.minimum.reduceat(w, first) if len(first) else w
        lo, hi = pair // n, pair % n
        matrix = symmetric_csr(lo, hi, w.astype(float, copy=False), n)
        # every matrix's rows are the node ids: one array for all of them
        rows = next((r for _, r in list(self._csr.values()) if len(r) == n), None)
        return matrix, np.arange(n) if rows is None else rows

    def contracted(self, voltage_kv: float, filing_only: bool) -> Contraction:
        """:meth:`csr` with dead ends trimmed and degree-2 chains contracted (cached; see
        :mod:`onemap.routing.contract`). Every asset node is kept as a row and every parcel
        door attached, so bulk passes from assets to doors read exact distances from about a
        quarter of the rows."""
        key = _key(voltage_kv, filing_only)
        return self._once(self._contracted, key, lambda: self._contract(key))

    def _contract(self, key: tuple) -> Contraction:
        matrix = self.csr(*key)[0]
        for other, done in list(self._contracted.items()):
            if self.csr(*other)[0] is matrix:  # voltages sharing one matrix share its contraction
                return done
        return contract(matrix, keep=self.asset_node.to_numpy(), attach=self.parcel_node.to_numpy())

    def nodes_within(self, centre: np.ndarray, radius: float) -> np.ndarray:
        """Sorted ids of the nodes within ``radius`` metres of ``centre`` (KD-tree, cached)."""
        if "nodes" not in self._trees:
            # midpoint splits: half the build time of median splits, the same answers
            self._trees["nodes"] = (cKDTree(self.xy, balanced_tree=False), np.arange(self.n_nodes))
        tree = self._trees["nodes"][0]
        return np.sort(np.asarray(tree.query_ball_point(centre, radius), dtype=np.int64))

    def index_of(self, nodes: Sequence[int] | np.ndarray) -> np.ndarray:
        """CSR rows of node ids (identical numbers; validated)."""
        idx = np.asarray(nodes, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_nodes):
            raise OnemapInputError(msg("routing.node_outside_graph"), field="node")
        return idx

    # -- paths ------------------------------------------------------------------------------

    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every edge's node-pair key (lo·n + hi), sorted by key then length, and the edge
        order that sorts them (built once; the CSR matrices and edge look-ups share it)."""
        if self._pair_index is None:
            with _LOCKS_GUARD:
                lock = self._locks.setdefault(("pairs",), threading.Lock())
            with lock:
                if self._pair_index is None:
                    n = self.n_nodes
                    lo = np.minimum(self.u, self.v).astype(np.int64)
                    key = lo * n + np.maximum(self.u, self.v)
                    order = np.lexsort((self.length, key))
                    self._pair_index = (key[order], order)
        return self._pair_index

    def _edge_lookup(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Shortest edge between each node pair (a[i], b[i]); -1 where there is none."""
        keys, order = self._pairs()
        n = self.n_nodes
        want = np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)
        pos = np.searchsorted(keys, want)
        found = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == want)
        return np.where(found, order[np.minimum(pos, len(keys) - 1)], -1)

    def path_geometry(self, node_list: Sequence[int]) -> shapely.LineString:
        """The path through ``node_list`` as a LineString in the metric CRS."""
        return shapely.LineString(self.xy[self.index_of(node_list)])

    def segments(self, node_list: Sequence[int]) -> Pieces:
        """Classified pieces (edges) of the path through ``node_list``, in order."""
        nodes = self.index_of(node_list)
        if len(nodes) < 2:
            return self._edge_pieces(np.empty(0, int), np.empty((0, 2)), np.empty((0, 2)))
        edge = self._edge_lookup(nodes[:-1], nodes[1:])
        if (edge < 0).any():
            raise OnemapInputError(msg("routing.nodes_not_joined"), field="node")
        return self._edge_pieces(edge, self.xy[nodes[:-1]], self.xy[nodes[1:]])

    def _edge_pieces(self, edge: np.ndarray, a: np.ndarray, b: np.ndarray) -> Pieces:
        pieces = Pieces.from_polys(self.overlay, a, b, edge, self.poly[edge])
        pieces.corridor = self.corridor[edge].astype(np.int8)
        return pieces

    # -- queries ----------------------------------------------------------------------------

    def _index(self, kind: str, edges: Callable[[], np.ndarray]) -> EdgeIndex:
        """The nearest-edge index of the edges ``edges()`` (built once, cached as ``kind``)."""
        if kind not in self._trees:
            self._trees[kind] = EdgeIndex(self.xy, self.u, self.v, edges())
        return self._trees[kind]

    def nearest_edges(self, points: np.ndarray, max_distance: float) -> np.ndarray:
        """Nearest suitable edge (else any edge) within ``max_distance`` of each point; -1 none."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        out = np.full(len(pts), -1, dtype=np.int64)
        for k, kind in enumerate(("suitable", "other")):
            todo = np.flatnonzero(out < 0)
            if not len(todo):
                break
            out[todo] = self._index(kind, lambda k=k: attach_passes(self.corridor)[k]).nearest(
                pts[todo], max_distance
            )
        return out

    def reaching(self) -> np.ndarray:
        """Per node: whether its connected component holds an asset (all True on a map
        without assets). Built once; a query point joins this part of the network."""
        if "reach" not in self._trees:
            n = self.n_nodes
            adj = sp.coo_matrix((np.ones(len(self.u)), (self.u, self.v)), shape=(n, n))
            _, label = connected_components(adj, directed=False)
            assets = self.asset_node.dropna().to_numpy(dtype=np.int64)
            reach = np.isin(label, label[assets]) if len(assets) else np.ones(n, bool)
            self._trees["reach"] = (None, reach)
        return self._trees["reach"][1]

    def _nearest_reaching(self, q: np.ndarray, limit: float) -> tuple[int, bool]:
        """The nearest edge to ``q`` on the part of the network that reaches an asset (suitable
        edges first), and whether the nearest edge overall lies on an isolated fragment."""
        nearest = int(self.nearest_edges(q[None, :], limit)[0])
        reach = self.reaching()
        if nearest < 0 or reach[self.u[nearest]]:
            return nearest, False
        for kind, keep in (
            ("reach_suitable", lambda: np.isin(self.corridor, SUITABLE)),
            ("reach_all", lambda: self.corridor != CODE["access"]),
        ):
            index = self._index(kind, lambda keep=keep: np.flatnonzero(keep() & reach[self.u]))
            found = int(index.nearest(q[None, :], limit)[0])
            if found >= 0:
                return found, True
        return nearest, True

    def locate_xy(self, x: float, y: float) -> Located:
        """Join a metric point to the graph (no rebuild): the nearest suitable edge of the part
        of the network that reaches an asset (see :meth:`reaching`), and the access to it."""
        q = np.array([float(x), float(y)])
        limit = self.rules.filing.attach_max_m
        edge, isolated = self._nearest_reaching(q, limit)
        if edge < 0:
            raise OnemapInputError(
                msg("routing.no_corridor_near", limit=limit),
                field="location",
            )
        a, b = self.xy[self.u[edge]], self.xy[self.v[edge]]
        t = _project(q[None, :], a[None, :], b[None, :])[0]
        p = a + t * (b - a)
        length = float(np.hypot(*(b - a)))
        access = self.overlay.pieces(q[None, :], p[None, :]) if _dist(q, p) > MERGE_M else None
        if access is None:
            access = self._edge_pieces(np.empty(0, int), np.empty((0, 2)), np.empty((0, 2)))
        else:
            access.corridor[access_prefix(access.corridor, access.parent)] = CODE["access"]
        return Located(
            q=q,
            p=p,
            edge=edge,
            t=float(t),
            u=int(self.u[edge]),
            v=int(self.v[edge]),
            du=float(t * length),
            dv=float((1 - t) * length),
            access=access,
            isolated_nearest=isolated,
        )

    def locate_many(self, xy: np.ndarray) -> tuple[np.ndarray, list[Located | None]]:
        """:meth:`locate_xy` of many metric points at once (tee-joint samples along mains):
        the nearest-edge search, projection and access overlay run vectorised; a point with no
        corridor within reach gives None. Returns (found mask, located points)."""
        q = np.asarray(xy, dtype=float).reshape(-1, 2)
        limit = self.rules.filing.attach_max_m
        edge = self.nearest_edges(q, limit)
        reach = self.reaching()
        isolated = np.zeros(len(q), bool)
        for k in np.flatnonzero((edge >= 0) & ~reach[self.u[np.maximum(edge, 0)]]):
            edge[k], isolated[k] = self._nearest_reaching(q[k], limit)  # rare: fragments
        found = edge >= 0
        out: list[Located | None] = [None] * len(q)
        idx = np.flatnonzero(found)
        if not len(idx):
            return found, out
        a, b = self.xy[self.u[edge[idx]]], self.xy[self.v[edge[idx]]]
        t = _project(q[idx], a, b)
        p = a + t[:, None] * (b - a)
        length = np.hypot(*(b - a).T)
        far = np.hypot(*(q[idx] - p).T) > MERGE_M
        if self.overlay.levelled:
            # a drawn line takes the level of the pieces around it: one access line at a time
            return found, [self.locate_xy(*q[k]) if found[k] else None for k in range(len(q))]
        empty = self._edge_pieces(np.empty(0, int), np.empty((0, 2)), np.empty((0, 2)))
        pieces = self.overlay.pieces(q[idx][far], p[far]) if far.any() else empty
        pieces.corridor[access_prefix(pieces.corridor, pieces.parent)] = CODE["access"]
        which = np.full(len(idx), -1)
        which[np.flatnonzero(far)] = np.arange(int(far.sum()))
        starts = np.searchsorted(pieces.parent, np.arange(int(far.sum()) + 1))
        for n, k in enumerate(idx.tolist()):
            w = which[n]
            access = empty if w < 0 else pieces.select(slice(starts[w], starts[w + 1]))
            out[k] = Located(
                q=q[k],
                p=p[n],
                edge=int(edge[k]),
                t=float(t[n]),
                u=int(self.u[edge[k]]),
                v=int(self.v[edge[k]]),
                du=float(t[n] * length[n]),
                dv=float((1 - t[n]) * length[n]),
                access=access,
                isolated_nearest=bool(isolated[k]),
            )
        return found, out

    def locate(self, lon: float, lat: float) -> Located:
        """Join a lon/lat point to the graph without rebuilding anything (see locate_xy)."""
        x, y = lonlat_to_metric(lon, lat, self.crs)
        return self.locate_xy(float(x), float(y))


def attach_passes(corridor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges a point joins, in the two passes doors, assets and query points take: the
    suitable ones (sidewalk, bike lane, duct), then — for a point with none within reach —
    every other edge but access lines (a suitable edge would have been found first).

    >>> attach_passes(np.array([CODE["sidewalk"], CODE["motor_lane"], CODE["access"]]))
    (array([0]), array([1]))
    """
    suitable = np.isin(corridor, SUITABLE)
    return np.flatnonzero(suitable), np.flatnonzero(~suitable & (corridor != CODE["access"]))


def _key(voltage_kv: float, filing_only: bool) -> tuple[float, bool]:
    """Cache key of a CSR or its contraction: the whole graph is the same at every voltage,
    so only a filing-only matrix is keyed by its voltage (one whole-graph copy, not one per
    voltage)."""
    return (float(voltage_kv) if filing_only else 0.0, bool(filing_only))


def _dist(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.hypot(*(p - q)))


def _project(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    length2 = np.einsum("ij,ij->i", d, d)
    t = np.einsum("ij,ij->i", q - a, d) / np.maximum(length2, EPS * EPS)
    return np.clip(t, 0.0, 1.0)
