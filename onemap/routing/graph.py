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
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely import STRtree

from onemap.errors import OnemapInputError
from onemap.geo.crs import lonlat_to_metric
from onemap.routing.contract import Contraction, contract
from onemap.routing.corridors import EPS, CorridorModel, build_corridors
from onemap.routing.filing import eligible_mask
from onemap.routing.overlay import (
    CODE,
    CORRIDORS,
    SIDES,
    Overlay,
    Pieces,
    access_prefix,
    cut_segments,
)
from onemap.rules import DEFAULT_RULES, Rules, load_rules

MERGE_M = 1e-3  # points closer than this are one node (numerical, not a rule number)
SUITABLE = (CODE["sidewalk"], CODE["bike_lane"], CODE["duct"])


def rules_for(onemap, rules: Rules | str | None = None) -> Rules:
    """The rule table to apply: ``rules`` if given, else the map's own, else the default."""
    if isinstance(rules, Rules):
        return rules
    if rules is None:
        rules = (getattr(onemap, "meta", {}) or {}).get("rules") or DEFAULT_RULES
    return load_rules(rules)


# ---------------------------------------------------------------------------------------------
# Per-map cache


_CACHE: dict[tuple, tuple[weakref.ref, Any]] = {}
_LOCK = threading.Lock()
# The layers the corridor graph is built from; nothing else invalidates it.
GRAPH_LAYERS = ("roads", "ducts", "landuse", "assets")


def _cached(onemap, rules: Rules, kind: str, build: Callable[[], Any]) -> Any:
    # Keyed on the map object and the tokens of the layers it is built from: replace_layer()
    # gives a layer a new token, so an edited map gets a new graph; a second map never shares one.
    sig = (
        kind,
        id(onemap),
        id(rules),
        onemap.tokens(GRAPH_LAYERS),
    )
    with _LOCK:
        hit = _CACHE.get(sig)
        if hit is not None and hit[0]() is onemap:
            return hit[1]
    value = build()
    with _LOCK:
        for key in [k for k, (ref, _) in _CACHE.items() if ref() is None]:
            del _CACHE[key]
        _CACHE[sig] = (weakref.ref(onemap), value)
    return value


def corridor_model(onemap, rules: Rules | str | None = None) -> tuple[CorridorModel, Overlay]:
    """The corridor polygons of a map and their overlay classifier (built once, cached)."""
    rules = rules_for(onemap, rules)

    def build():
        from onemap.routing import cache  # the graph saved beside the map holds the model too

        saved = cache.load_model(onemap, rules)
        if saved is not None:
            return saved
        roads = onemap.metric("roads")
        if not len(roads):
            raise OnemapInputError("the map has no roads: no corridors to route on", layer="roads")
        model = build_corridors(roads, onemap.metric("ducts"), rules.filing)
        overlay = Overlay.build(
            model,
            ducts_unoccupied=rules.filing.ducts_unoccupied,
            tolerance_m=rules.filing.corridor_tolerance_m,
        )
        return model, overlay

    return _cached(onemap, rules, "model", build)


def corridor_graph(onemap, rules: Rules | str | None = None) -> CorridorGraph:
    """The corridor graph of a map with every parcel door and asset attached (cached)."""
    rules = rules_for(onemap, rules)
    from onemap.routing import cache  # on disk beside the map, keyed by its content hash

    return _cached(
        onemap, rules, "graph", lambda: cache.load_or_build(onemap, rules, build_corridor_graph)
    )


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
    _trees: dict[str, tuple[Any, np.ndarray]] = field(default_factory=dict, repr=False)
    _pair_index: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    # -- edge attributes --------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    @property
    def n_edges(self) -> int:
        return len(self.u)

    @property
    def length(self) -> np.ndarray:
        d = self.xy[self.v] - self.xy[self.u]
        return np.hypot(d[:, 0], d[:, 1])

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
        if key not in self._masks:
            self._masks[key] = self._eligible(key)
        return self._masks[key]

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
        key = (float(voltage_kv), bool(filing_only))
        if key not in self._csr:
            mask = self.eligible(voltage_kv) if filing_only else np.ones(self.n_edges, bool)
            lo = np.minimum(self.u, self.v)[mask]
            hi = np.maximum(self.u, self.v)[mask]
            w = self.length[mask]
            n = self.n_nodes
            pair = lo.astype(np.int64) * n + hi
            order = np.lexsort((w, pair))
            pair, w = pair[order], w[order]
            first = np.r_[True, pair[1:] != pair[:-1]]
            pair, w = pair[first], w[first]
            lo, hi = pair // n, pair % n
            matrix = sp.csr_matrix(
                (np.r_[w, w], (np.r_[lo, hi], np.r_[hi, lo])), shape=(n, n), dtype=float
            )
            self._csr[key] = (matrix, np.arange(n))
        return self._csr[key]

    def contracted(self, voltage_kv: float, filing_only: bool) -> Contraction:
        """:meth:`csr` with dead ends trimmed and degree-2 chains contracted (cached; see
        :mod:`onemap.routing.contract`). Every asset node is kept as a row and every parcel
        door attached, so bulk passes from assets to doors read exact distances from about a
        quarter of the rows."""
        key = (float(voltage_kv), bool(filing_only))
        if key not in self._contracted:
            self._contracted[key] = contract(
                self.csr(voltage_kv, filing_only)[0],
                keep=self.asset_node.to_numpy(),
                attach=self.parcel_node.to_numpy(),
            )
        return self._contracted[key]

    def nodes_within(self, centre: np.ndarray, radius: float) -> np.ndarray:
        """Sorted ids of the nodes within ``radius`` metres of ``centre`` (KD-tree, cached)."""
        if "nodes" not in self._trees:
            self._trees["nodes"] = (cKDTree(self.xy), np.arange(self.n_nodes))
        tree = self._trees["nodes"][0]
        return np.sort(np.asarray(tree.query_ball_point(centre, radius), dtype=np.int64))

    def index_of(self, nodes: Sequence[int] | np.ndarray) -> np.ndarray:
        """CSR rows of node ids (identical numbers; validated)."""
        idx = np.asarray(nodes, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_nodes):
            raise OnemapInputError("node id outside the corridor graph", field="node")
        return idx

    # -- paths ------------------------------------------------------------------------------

    def _edge_lookup(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Shortest edge between each node pair (a[i], b[i]); -1 where there is none."""
        if self._pair_index is None:
            n = self.n_nodes
            key = np.minimum(self.u, self.v).astype(np.int64) * n + np.maximum(self.u, self.v)
            order = np.lexsort((self.length, key))
            self._pair_index = (key[order], order)
        keys, order = self._pair_index
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
            raise OnemapInputError("consecutive nodes are not joined by an edge", field="node")
        return self._edge_pieces(edge, self.xy[nodes[:-1]], self.xy[nodes[1:]])

    def _edge_pieces(self, edge: np.ndarray, a: np.ndarray, b: np.ndarray) -> Pieces:
        pieces = Pieces.from_polys(self.overlay, a, b, edge, self.poly[edge])
        pieces.corridor = self.corridor[edge].astype(np.int8)
        return pieces

    # -- queries ----------------------------------------------------------------------------

    def _tree(self, kind: str) -> tuple[STRtree, np.ndarray]:
        if kind not in self._trees:
            idx = (
                np.flatnonzero(np.isin(self.corridor, SUITABLE))
                if kind == "suitable"
                else np.flatnonzero(self.corridor != CODE["access"])
            )
            lines = shapely.linestrings(np.stack([self.xy[self.u[idx]], self.xy[self.v[idx]]], 1))
            self._trees[kind] = (STRtree(lines), idx)
        return self._trees[kind]

    def nearest_edges(self, points: np.ndarray, max_distance: float) -> np.ndarray:
        """Nearest suitable edge (else any edge) within ``max_distance`` of each point; -1 none."""
        pts = shapely.points(points)
        out = np.full(len(pts), -1, dtype=np.int64)
        for kind in ("suitable", "all"):
            todo = np.flatnonzero(out < 0)
            if not len(todo):
                break
            tree, idx = self._tree(kind)
            if not len(idx):
                continue
            i, j = tree.query_nearest(pts[todo], max_distance=max_distance, all_matches=False)
            out[todo[i]] = idx[j]
        return out

    def locate_xy(self, x: float, y: float) -> Located:
        """Join a metric point to the graph (no rebuild): nearest suitable edge and access."""
        q = np.array([float(x), float(y)])
        limit = self.rules.filing.attach_max_m
        edge = int(self.nearest_edges(q[None, :], limit)[0])
        if edge < 0:
            raise OnemapInputError(
                f"no road corridor within {limit:g} m of the point; it is outside the mapped roads",
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
        )

    def locate(self, lon: float, lat: float) -> Located:
        """Join a lon/lat point to the graph without rebuilding anything (see locate_xy)."""
        x, y = lonlat_to_metric(lon, lat, self.crs)
        return self.locate_xy(float(x), float(y))


def _dist(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.hypot(*(p - q)))


def _project(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    length2 = np.einsum("ij,ij->i", d, d)
    t = np.einsum("ij,ij->i", q - a, d) / np.maximum(length2, EPS * EPS)
    return np.clip(t, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Building


def _merge_points(points: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Distinct points, with points closer than ``tol`` merged; and each input's point id."""
    uniq, inv = np.unique(points, axis=0, return_inverse=True)
    inv = inv.ravel()
    pairs = cKDTree(uniq).query_pairs(tol, output_type="ndarray")
    if not len(pairs):
        return uniq, inv
    n = len(uniq)
    adj = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    k, label = connected_components(adj, directed=False)
    merged = np.zeros((k, 2))
    merged[label] = uniq
    return merged, label[inv]


class _Builder:
    """Mutable edge arrays while the graph is assembled."""

    def __init__(self, xy, u, v, corridor, poly):
        self.xy, self.u, self.v, self.corridor, self.poly = xy, u, v, corridor, poly

    def add_nodes(self, pts: np.ndarray) -> np.ndarray:
        ids = np.arange(len(self.xy), len(self.xy) + len(pts))
        self.xy = np.vstack([self.xy, pts]) if len(pts) else self.xy
        return ids

    def add_classified(
        self, overlay: Overlay, a_node: np.ndarray, b_node: np.ndarray, provenance: np.ndarray
    ) -> None:
        """Add segments a→b (node ids), cut at polygon boundaries and classified."""
        a, b = self.xy[a_node], self.xy[b_node]
        seg, t = overlay.cuts(a, b)
        pa, pb, parent = cut_segments(a, b, seg, t)
        poly = overlay.classify((pa + pb) / 2.0)
        first = np.r_[True, parent[1:] != parent[:-1]]
        last = np.r_[parent[1:] != parent[:-1], True]
        start = np.empty(len(parent), dtype=np.int64)
        start[first] = a_node[parent[first]]
        start[~first] = self.add_nodes(pa[~first])
        end = np.empty(len(parent), dtype=np.int64)
        end[last] = b_node[parent[last]]
        end[~last] = start[np.flatnonzero(~last) + 1]
        corridor = np.where(poly >= 0, overlay.corridor[np.maximum(poly, 0)], CODE["off_corridor"])
        corridor = _provenance(corridor, provenance[parent], parent)
        self.u = np.r_[self.u, start]
        self.v = np.r_[self.v, end]
        self.corridor = np.r_[self.corridor, corridor].astype(np.int8)
        self.poly = np.r_[self.poly, poly]

    def split(self, edge: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Split edges at parameters t (any order, repeats allowed); node id of every split."""
        a, b = self.xy[self.u[edge]], self.xy[self.v[edge]]
        length = np.hypot(*(b - a).T)
        node = np.where(t * length <= MERGE_M, self.u[edge], -1)
        node = np.where((1 - t) * length <= MERGE_M, self.v[edge], node)
        inner = node < 0
        if inner.any():
            key = pd.DataFrame({"e": edge[inner], "t": np.round(t[inner] * length[inner] / EPS)})
            uniq = key.drop_duplicates().sort_values(["e", "t"])
            e_u = uniq["e"].to_numpy()
            t_u = (
                uniq["t"].to_numpy()
                * EPS
                / np.maximum(np.hypot(*(self.xy[self.v[e_u]] - self.xy[self.u[e_u]]).T), EPS)
            )
            ids = self.add_nodes(
                self.xy[self.u[e_u]] + t_u[:, None] * (self.xy[self.v[e_u]] - self.xy[self.u[e_u]])
            )
            lookup = pd.Series(ids, index=pd.MultiIndex.from_frame(uniq))
            node[inner] = lookup.loc[pd.MultiIndex.from_frame(key)].to_numpy()
            # chains u -> cut1 -> ... -> v replace each split edge
            first = np.r_[True, e_u[1:] != e_u[:-1]]
            last = np.r_[e_u[1:] != e_u[:-1], True]
            prev = np.where(first, self.u[e_u], np.r_[-1, ids[:-1]])
            new_u = np.r_[prev, ids[last]]
            new_v = np.r_[ids, self.v[e_u[last]]]
            parent = np.r_[e_u, e_u[last]]
            keep = np.ones(len(self.u), bool)
            keep[e_u] = False
            self.u = np.r_[self.u[keep], new_u]
            self.v = np.r_[self.v[keep], new_v]
            self.corridor = np.r_[self.corridor[keep], self.corridor[parent]]
            self.poly = np.r_[self.poly[keep], self.poly[parent]]
        return node


def _provenance(corridor: np.ndarray, kind: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Relabel pieces by what the line was drawn for: carriageway crossings, and the leading
    off-corridor/green-belt part of access lines (the same rule check_route applies)."""
    out = corridor.copy()
    motor = corridor == CODE["motor_lane"]
    out[(kind == CODE["crossing"]) & motor] = CODE["crossing"]
    access = kind == CODE["access"]
    if access.any():
        prefix = access_prefix(corridor[access], parent[access])
        out[np.flatnonzero(access)[prefix]] = CODE["access"]
    return out


def _base_edges(model: CorridorModel, overlay: Overlay) -> _Builder:
    lines = np.concatenate([model.lines, model.crossings, model.ducts])
    lines = lines[shapely.length(lines) > EPS]
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(lines)))
    coords, idx = shapely.get_coordinates(noded, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    xy, node = _merge_points(np.vstack([a, b]), MERGE_M)
    u, v = node[: len(a)], node[len(a) :]
    keep = u != v
    u, v = u[keep], v[keep]
    # which segments were drawn as carriageway crossings (relabelled after classification)
    kind = np.full(len(u), -1, dtype=np.int8)
    if len(model.crossings):
        mids = shapely.points((xy[u] + xy[v]) / 2.0)
        hit, _ = STRtree(model.crossings).query(mids, predicate="dwithin", distance=MERGE_M)
        kind[np.unique(hit)] = CODE["crossing"]
    builder = _Builder(
        xy,
        np.empty(0, np.int64),
        np.empty(0, np.int64),
        np.empty(0, np.int8),
        np.empty(0, np.int64),
    )
    builder.add_classified(overlay, u, v, kind)
    return builder


def _attach(
    builder: _Builder,
    overlay: Overlay,
    points: np.ndarray,
    polygons: np.ndarray | None,
    limit: float,
) -> np.ndarray:
    """Join points (or, where ``polygons`` is given and the point is NaN, the door of each
    polygon) to the nearest suitable edge. Returns the node of every input (-1 if too far)."""
    n = len(points)
    out = np.full(n, -1, dtype=np.int64)
    if not n or not len(builder.u):
        return out
    lines = shapely.linestrings(np.stack([builder.xy[builder.u], builder.xy[builder.v]], 1))
    suitable = np.flatnonzero(np.isin(builder.corridor, SUITABLE))
    q = points.copy()
    edge = np.full(n, -1, dtype=np.int64)
    need_door = np.isnan(q[:, 0]) if polygons is not None else np.zeros(n, bool)
    geoms = np.where(
        need_door, polygons if polygons is not None else None, shapely.points(np.nan_to_num(q))
    )
    for idx in (suitable, np.flatnonzero(builder.corridor != CODE["access"])):
        todo = np.flatnonzero(edge < 0)
        if not len(todo) or not len(idx):
            continue
        i, j = STRtree(lines[idx]).query_nearest(geoms[todo], max_distance=limit, all_matches=False)
        edge[todo[i]] = idx[j]
    found = edge >= 0
    door = found & need_door
    if door.any():
        # the door: the point of the parcel boundary nearest the corridor network (DESIGN §2)
        link = shapely.shortest_line(shapely.boundary(polygons[door]), lines[edge[door]])
        q[door] = shapely.get_coordinates(shapely.get_point(link, 0))
    sel = np.flatnonzero(found)
    a, b = builder.xy[builder.u[edge[sel]]], builder.xy[builder.v[edge[sel]]]
    t = _project(q[sel], a, b)
    p_node = builder.split(edge[sel], t)
    p = builder.xy[p_node]
    far = np.hypot(*(q[sel] - p).T) > MERGE_M
    out[sel] = p_node
    if far.any():
        q_node = builder.add_nodes(q[sel][far])
        out[sel[far]] = q_node
        builder.add_classified(
            overlay, q_node, p_node[far], np.full(int(far.sum()), CODE["access"], np.int8)
        )
    return out


def build_corridor_graph(onemap, rules: Rules) -> CorridorGraph:
    """Build the corridor graph of a map (use :func:`corridor_graph` for the cached one)."""
    model, overlay = corridor_model(onemap, rules)
    builder = _base_edges(model, overlay)
    limit = rules.filing.attach_max_m
    unattached: dict[str, list[str]] = {}

    landuse = onemap.metric("landuse")
    parcel_node = pd.Series(dtype=np.int64)
    if len(landuse):
        pts = np.full((len(landuse), 2), np.nan)
        if "door_lon" in landuse and "door_lat" in landuse:
            lon = pd.to_numeric(landuse["door_lon"], errors="coerce").to_numpy(dtype=float)
            lat = pd.to_numeric(landuse["door_lat"], errors="coerce").to_numpy(dtype=float)
            given = ~np.isnan(lon) & ~np.isnan(lat)
            if given.any():
                x, y = lonlat_to_metric(lon[given], lat[given], onemap.crs_metric)
                pts[given] = np.column_stack([x, y])
        nodes = _attach(builder, overlay, pts, np.asarray(landuse.geometry.values, object), limit)
        ids = landuse["parcel_id"].astype(str).to_numpy()
        parcel_node = pd.Series(nodes[nodes >= 0], index=ids[nodes >= 0], name="node")
        unattached["parcels"] = ids[nodes < 0].tolist()

    assets = onemap.metric("assets")
    asset_node = pd.Series(dtype=np.int64)
    if len(assets):
        pts = shapely.get_coordinates(np.asarray(assets.geometry.values, object))
        nodes = _attach(builder, overlay, pts, None, limit)
        ids = assets["asset_id"].astype(str).to_numpy()
        asset_node = pd.Series(nodes[nodes >= 0], index=ids[nodes >= 0], name="node")
        unattached["assets"] = ids[nodes < 0].tolist()

    keep = builder.u != builder.v
    return CorridorGraph(
        xy=builder.xy,
        u=builder.u[keep],
        v=builder.v[keep],
        corridor=builder.corridor[keep],
        poly=builder.poly[keep],
        overlay=overlay,
        model=model,
        rules=rules,
        crs=onemap.crs_metric,
        parcel_node=parcel_node,
        asset_node=asset_node,
        unattached=unattached,
    )
