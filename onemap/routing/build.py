"""Building the corridor graph, and the entry points that cache it (DESIGN §2).

:func:`corridor_graph` and :func:`corridor_model` give a map's graph and corridor model once per
map content and rule table (:meth:`OneMap.cached`, and the graph store beside the map file,
:mod:`onemap.routing.store`); :func:`build_corridor_graph` builds it (see
:mod:`onemap.routing.graph` for the construction steps).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from onemap.errors import OnemapInputError
from onemap.geo.crs import lonlat_to_metric
from onemap.messages import msg
from onemap.parallel import chunked, collector_paused, release_memory
from onemap.routing import store
from onemap.routing.corridors import EPS, CorridorModel, build_corridors, crossings_at
from onemap.routing.doors import EdgeGroups, edges_near, nearest_edges
from onemap.routing.graph import MERGE_M, CorridorGraph, _project, attach_passes
from onemap.routing.nearest import EdgeIndex
from onemap.routing.noding import node_segments
from onemap.routing.overlay import (
    CODE,
    POINT_CHUNK,
    Overlay,
    access_prefix,
    merge_runs,
)
from onemap.rules import Rules, resolve_rules

GRAPH_LAYERS = ("roads", "ducts", "landuse", "assets")


def corridor_model(onemap, rules: Rules | str | None = None) -> tuple[CorridorModel, Overlay]:
    """The corridor polygons of a map and their overlay classifier (built once, cached)."""
    rules = resolve_rules(onemap, rules)

    def build():
        saved = store.load_model(onemap, rules, GRAPH_LAYERS)  # the saved graph holds it too
        if saved is not None:
            return saved
        with collector_paused():  # see collector_paused
            return _build_model(onemap, rules)

    return onemap.cached("corridor_model", build, layers=GRAPH_LAYERS, rules=rules)


def _build_model(onemap, rules: Rules) -> tuple[CorridorModel, Overlay]:
    roads = onemap.metric("roads")
    if not len(roads):
        raise OnemapInputError(msg("routing.no_roads"), layer="roads")
    model = build_corridors(roads, onemap.metric("ducts"), rules.filing, green_space(onemap, rules))
    overlay = Overlay.build(
        model,
        ducts_unoccupied=rules.filing.ducts_unoccupied,
        tolerance_m=rules.filing.corridor_tolerance_m,
    )
    release_memory()  # the strips' temporary buffers and unions (see release_memory)
    return model, overlay


def green_space(onemap, rules: Rules) -> np.ndarray:
    """Metric polygons of the parcels whose land-use code the rule table counts as green space
    (``filing.green_landuse_codes``: parks, protective green, planted squares)."""
    landuse = onemap.metric("landuse")
    if not len(landuse) or "landuse_code" not in landuse:
        return np.empty(0, dtype=object)
    green = landuse["landuse_code"].astype(str).isin(rules.filing.green_landuse_codes)
    return np.asarray(landuse.geometry.values[green.to_numpy()], dtype=object)


def corridor_graph(onemap, rules: Rules | str | None = None) -> CorridorGraph:
    """The corridor graph of a map with every parcel door and asset attached (cached)."""
    rules = resolve_rules(onemap, rules)
    return onemap.cached(
        "corridor_graph",
        # On disk beside the map, keyed by its content hash, the rule table and the code.
        lambda: store.load_or_build(onemap, rules, GRAPH_LAYERS, build_corridor_graph),
        layers=GRAPH_LAYERS,
        rules=rules,
    )


# ---------------------------------------------------------------------------------------------
# Building


def _merge_points(points: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Distinct points, with points closer than ``tol`` merged; and each input's point id."""
    uniq, inv = unique_points(points)
    # midpoint splits build the tree faster; the pairs within tol are the same set
    pairs = cKDTree(uniq, balanced_tree=False).query_pairs(tol, output_type="ndarray")
    if not len(pairs):
        return uniq, inv
    n = len(uniq)
    adj = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    k, label = connected_components(adj, directed=False)
    merged = np.zeros((k, 2))
    merged[label] = uniq
    return merged, label[inv]


def unique_points(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(points, axis=0, return_inverse=True)``, hashed instead of sorted: only the
    distinct points are sorted (lexicographically, as np.unique orders them), so a graph's
    two million segment ends cost a hash pass, not a sort of structured rows."""
    # each row's two floats read as one complex number (a view: no arithmetic, no copy)
    codes, first = pd.factorize(np.ascontiguousarray(points, dtype=float).view(np.complex128)[:, 0])
    distinct = np.column_stack([first.real, first.imag])
    order = np.lexsort((distinct[:, 1], distinct[:, 0]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return distinct[order], rank[codes]


class _Builder:
    """Mutable edge arrays while the graph is assembled."""

    def __init__(self, xy, u, v, corridor, poly):
        self.xy, self.u, self.v, self.corridor, self.poly = xy, u, v, corridor, poly

    def add_nodes(self, pts: np.ndarray) -> np.ndarray:
        ids = np.arange(len(self.xy), len(self.xy) + len(pts))
        self.xy = np.vstack([self.xy, pts]) if len(pts) else self.xy
        return ids

    def add_classified(
        self,
        overlay: Overlay,
        a_node: np.ndarray,
        b_node: np.ndarray,
        provenance: np.ndarray,
        level: np.ndarray | None = None,
    ) -> None:
        """Add segments a→b (node ids), cut at polygon boundaries and classified (against the
        polygons of each segment's ``level`` when given)."""
        a, b = self.xy[a_node], self.xy[b_node]
        pa, pb, parent, poly = overlay.classified_pieces(
            a, b, level=level, chained=b_node[:-1] == a_node[1:]
        )
        pa, pb, parent, poly = merge_runs(pa, pb, parent, poly)
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


def _line_levels(model: CorridorModel) -> np.ndarray:
    def lv(values, n):
        return np.zeros(n, np.int64) if values is None else np.asarray(values, np.int64)

    return np.concatenate(
        [
            lv(model.line_level, len(model.lines)),
            lv(model.crossing_level, len(model.crossings)),
            np.zeros(len(model.ducts), np.int64),
        ]
    )


def _base_edges(model: CorridorModel, overlay: Overlay) -> _Builder:
    lines = np.concatenate([model.lines, model.crossings, model.ducts])
    levels = _line_levels(model)
    ok = shapely.length(lines) > EPS
    lines, levels = lines[ok], levels[ok]
    # Lines are noded with the lines of their own level only: a bridge meets the road below
    # nowhere but where the data joins them (a shared end point merges into one node).
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    same = (idx[1:] == idx[:-1]) & np.any(coords[1:] != coords[:-1], axis=1)
    # which lines were drawn as carriageway crossings (relabelled after classification)
    drawn = np.zeros(len(ok), bool)
    drawn[len(model.lines) : len(model.lines) + len(model.crossings)] = True
    drawn = drawn[ok]
    seg_a, seg_b, seg_level, seg_line = [], [], [], []
    for lv in np.unique(levels):
        on = same & (levels[idx[:-1]] == lv)
        pa, pb, line = node_segments(coords[:-1][on], coords[1:][on], idx[:-1][on])
        seg_a.append(pa)
        seg_b.append(pb)
        seg_level.append(np.full(len(pa), lv, np.int64))
        seg_line.append(line)
    a, b = np.concatenate(seg_a), np.concatenate(seg_b)
    level = np.concatenate(seg_level)
    crossing = drawn[np.concatenate(seg_line)]
    xy, node = _merge_points(np.vstack([a, b]), MERGE_M)
    u, v = node[: len(a)], node[len(a) :]
    # Where lines overlap (a crosswalk along a strip line) the shared part is one edge, and it
    # is a crossing if any of the lines it was drawn for is one.
    _, level_code = np.unique(level, return_inverse=True)
    pair = np.minimum(u, v).astype(np.int64) * len(xy) + np.maximum(u, v)
    group, _ = pd.factorize(pair * (int(level_code.max(initial=0)) + 1) + level_code)
    crossing = (np.bincount(group, weights=crossing) > 0)[group]
    keep = (u != v) & ~pd.Series(group).duplicated().to_numpy()
    u, v, level, crossing = u[keep], v[keep], level[keep], crossing[keep]
    kind = np.where(crossing, CODE["crossing"], -1).astype(np.int8)
    builder = _Builder(
        xy,
        np.empty(0, np.int64),
        np.empty(0, np.int64),
        np.empty(0, np.int8),
        np.empty(0, np.int64),
    )
    builder.add_classified(overlay, u, v, kind, level)
    return builder


def _attach(
    builder: _Builder,
    overlay: Overlay,
    points: np.ndarray,
    polygons: np.ndarray | None,
    limit: float,
) -> np.ndarray:
    """Join points (or, where ``polygons`` is given and the point is NaN, the door of each
    polygon) to the nearest suitable edge. Returns the node of every input (-1 if too far).

    The nearest edge is the one an STRtree of the edges as lines finds (GEOS's distance);
    of edges at the same distance the lowest id (:func:`onemap.routing.doors.nearest_edges`).
    """
    n = len(points)
    out = np.full(n, -1, dtype=np.int64)
    if not n or not len(builder.u):
        return out

    def lines(idx: np.ndarray) -> np.ndarray:
        return chunked(
            lambda i: shapely.linestrings(
                np.stack([builder.xy[builder.u[i]], builder.xy[builder.v[i]]], 1)
            ),
            idx,
            size=POINT_CHUNK,
        )

    q = points.copy()
    need_door = np.isnan(q[:, 0]) if polygons is not None else np.zeros(n, bool)
    geoms = np.where(
        need_door, polygons if polygons is not None else None, shapely.points(np.nan_to_num(q))
    )
    edge = _nearest_edges(builder, q, geoms, points_only=polygons is None, limit=limit)
    found = edge >= 0
    door = found & need_door
    if door.any():
        # the door: the point of the parcel boundary nearest the corridor network (DESIGN §2)
        link = shapely.shortest_line(shapely.boundary(polygons[door]), lines(edge[door]))
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


def _nearest_edges(
    builder: _Builder, q: np.ndarray, geoms: np.ndarray, *, points_only: bool, limit: float
) -> np.ndarray:
    """The edge each of ``geoms`` (points ``q``, or parcels) joins within ``limit``, -1 none:
    a suitable edge, else (for the few left) another edge near it (:func:`attach_passes`)."""
    edge = np.full(len(geoms), -1, dtype=np.int64)
    for first, idx in zip((True, False), attach_passes(builder.corridor), strict=True):
        todo = np.flatnonzero(edge < 0)
        if not len(todo) or not len(idx):
            continue
        if not first:  # a few parcels and assets are left: only the other edges near them
            idx = edges_near(builder.xy, builder.u, builder.v, idx, geoms[todo], limit)
            if not len(idx):
                continue
        if points_only:  # a KD-tree of samples (ties to the first too)
            edge[todo] = EdgeIndex(builder.xy, builder.u, builder.v, idx).nearest(q[todo], limit)
        else:
            groups = EdgeGroups(builder.xy, builder.u, builder.v, idx)
            edge[todo] = nearest_edges(groups, geoms[todo], max_distance=limit)
    return edge


def _with_door_crossings(onemap, model: CorridorModel, rules: Rules) -> CorridorModel:
    """The model with a perpendicular carriageway crossing at every asset (where a designer
    crosses to reach equipment on the other side; issue 14): the graph's own copy. Parcel doors
    get none of their own — a route from a door walks its own side to the crossing at the
    asset — which keeps the graph of a city small (one crossing per asset, not per parcel)."""
    assets = onemap.metric("assets")
    if not len(assets) or not len(model.pieces):
        return model
    points = shapely.get_coordinates(np.asarray(assets.geometry.values, object))
    # one crossing per metre of road is enough: assets at the same spot share it
    points = np.unique(np.round(points), axis=0)
    extra = crossings_at(model.pieces, points, rules.filing.attach_max_m)
    if not len(extra):
        return model
    level = model.crossing_level
    if level is None:
        level = np.zeros(len(model.crossings), np.int64)
    return dataclasses.replace(
        model,
        crossings=np.concatenate([model.crossings, extra]),
        crossing_level=np.concatenate([level, np.zeros(len(extra), np.int64)]),
    )


def _given_doors(onemap, landuse) -> np.ndarray:
    """Metric door points the land-use layer gives (``door_lon``/``door_lat``); NaN rows
    where it gives none (their door is found on the parcel boundary)."""
    pts = np.full((len(landuse), 2), np.nan)
    if len(landuse) and "door_lon" in landuse and "door_lat" in landuse:
        lon = pd.to_numeric(landuse["door_lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(landuse["door_lat"], errors="coerce").to_numpy(dtype=float)
        given = ~np.isnan(lon) & ~np.isnan(lat)
        if given.any():
            x, y = lonlat_to_metric(lon[given], lat[given], onemap.crs_metric)
            pts[given] = np.column_stack([x, y])
    return pts


def _joined(
    layer, id_column: str, nodes: np.ndarray, unattached: dict[str, list[str]], name: str
) -> pd.Series:
    """The node of every row of ``layer`` that joined the graph, by id; the others' ids go to
    ``unattached[name]`` (a layer without rows records nothing)."""
    if not len(layer):
        return pd.Series(dtype=np.int64)
    ids = layer[id_column].astype(str).to_numpy()
    unattached[name] = ids[nodes < 0].tolist()
    return pd.Series(nodes[nodes >= 0], index=ids[nodes >= 0], name="node")


def build_corridor_graph(onemap, rules: Rules) -> CorridorGraph:
    """Build the corridor graph of a map (use :func:`corridor_graph` for the cached one)."""
    with collector_paused():  # millions of geometries (see collector_paused)
        return _build_graph(onemap, rules)


def _build_graph(onemap, rules: Rules) -> CorridorGraph:
    model, overlay = corridor_model(onemap, rules)
    builder = _base_edges(_with_door_crossings(onemap, model, rules), overlay)
    release_memory()  # the cut and classification chunks: the attach phase starts lean
    limit = rules.filing.attach_max_m
    unattached: dict[str, list[str]] = {}

    landuse = onemap.metric("landuse")
    assets = onemap.metric("assets")
    doors = _given_doors(onemap, landuse)
    polygons = np.asarray(landuse.geometry.values, object)
    nodes = _attach(builder, overlay, doors, polygons, limit)
    parcel_node = _joined(landuse, "parcel_id", nodes, unattached, "parcels")
    # Assets join after the doors, to the graph the doors' access lines are part of: an
    # asset beside a door reaches the piece of its service line on the sidewalk (the answers
    # of the demo and the hand maps rest on it; one pass for both moved them).
    equipment = shapely.get_coordinates(np.asarray(assets.geometry.values, object))
    nodes = _attach(builder, overlay, equipment, None, limit)
    asset_node = _joined(assets, "asset_id", nodes, unattached, "assets")

    keep = builder.u != builder.v
    release_memory()
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
