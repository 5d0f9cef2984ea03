"""Corridor model: every road's cross-section as strips, and the lines the corridor graph runs on.

Each road is split where it meets another (a *piece*), and each piece is buffered into strips,
left to right (left = left of the line's direction): green, sidewalk, bike lane, motor lanes,
bike lane, sidewalk, green, with the widths of its cross-section columns (DESIGN §2). The centre
line is the middle of the carriageway.

At junctions:

* on the outside of a corner (where the strips of two pieces leave a wedge uncovered) every strip
  is continued by an annular sector whose widths blend from one road's section to the other's;
* the junction area (degree ≥ 3) is carriageway: the convex hull of the motor strips near the node;
* where strips of different pieces overlap, the higher-ranked one keeps the area
  (junction > motor lane > bike lane > sidewalk > green belt; equal ranks: the earlier piece),
  so one road's carriageway is never counted as another's sidewalk and the polygons partition
  the corridor area without overlap.

The same pass yields the *graph lines*: the centre line of every strip (``offset_curve``), the
corner arcs, crossings of the carriageway (at junctions and mid-block) and duct connectors.
Everything is vectorised over pieces with shapely 2; only the subtraction of overlaps iterates,
over the largest number of overlapping neighbours, not over polygons.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from onemap.geo.schema import CROSS_SECTION
from onemap.rules import Filing

EPS = 1e-6  # metres: numerical tolerance, not a rule number
ARC_POINTS = 7  # samples along a corner arc
QUAD_SEGS = 4  # buffer quadrant segments (round joins at bends)

# Strip types and their rank when strips of different pieces overlap (higher keeps the area).
RANK = {"green_belt": 1, "sidewalk": 2, "bike_lane": 3, "motor_lane": 4, "junction": 5}
BANDS = ("bike_lane", "sidewalk", "green_belt")  # outward from the carriageway on each side
_BAND_COLUMN = {"bike_lane": "bike", "sidewalk": "sidewalk", "green_belt": "green"}


@dataclass
class CorridorModel:
    """Corridor polygons of a map and the lines its graph is built from.

    ``polygons`` columns: ``road_id``, ``corridor`` (sidewalk, bike_lane, motor_lane, green_belt),
    ``side`` (left, right, both, junction), ``width_m``, plus what the filing rule reads for the
    road side a polygon lies on: ``sidewalk_m``, ``bike_m``, ``motor_m`` and the overlap ``rank``.
    ``tree`` is an STRtree over ``polygons.geometry`` (same order).
    """

    polygons: gpd.GeoDataFrame
    tree: STRtree
    pieces: gpd.GeoDataFrame
    lines: np.ndarray  # strip centre lines, corner arcs, duct connectors (shapely LineStrings)
    crossings: np.ndarray  # carriageway crossing lines
    ducts: np.ndarray  # duct lines


# ---------------------------------------------------------------------------------------------
# Road pieces


def road_pieces(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Split roads (metric CRS) where they meet, keeping each piece's road and direction.

    Returns a GeoDataFrame of LineStrings with ``road_id`` and the cross-section columns.
    """
    roads = roads.reset_index(drop=True)
    parts = roads.geometry.explode(index_parts=False)
    lines = np.asarray(parts.values, dtype=object)
    rows = parts.index.to_numpy()
    ok = ~shapely.is_empty(lines) & (shapely.length(lines) > EPS)
    lines, rows = lines[ok], rows[ok]
    if len(lines) == 0:
        return gpd.GeoDataFrame(
            {"road_id": [], **{c: [] for c in CROSS_SECTION}},
            geometry=[],
            crs=roads.crs,
        )
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(lines)))
    noded = noded[shapely.length(noded) > EPS]
    mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    hit_piece, hit_line = STRtree(lines).query(mids, predicate="dwithin", distance=1e-6)
    first = np.unique(hit_piece, return_index=True)
    piece_idx, line_idx = first[0], hit_line[first[1]]
    noded = noded[piece_idx]
    src = lines[line_idx]
    # shapely.node may reverse a piece; "left" is defined by the source road's direction.
    at_start = shapely.line_locate_point(src, shapely.get_point(noded, 0))
    at_end = shapely.line_locate_point(src, shapely.get_point(noded, -1))
    flip = at_start > at_end
    noded[flip] = shapely.reverse(noded[flip])
    table = roads.iloc[rows[line_idx]].drop(columns=roads.geometry.name).reset_index(drop=True)
    table = pd.DataFrame(
        {
            "road_id": table["road_id"].astype(str).to_numpy(),
            **{
                c: table[c].fillna(0.0).astype(float).clip(lower=0).to_numpy()
                for c in CROSS_SECTION
            },
        }
    )
    return gpd.GeoDataFrame(table, geometry=noded, crs=roads.crs)


def _side_widths(pieces: gpd.GeoDataFrame, side: str) -> dict[str, np.ndarray]:
    return {
        "motor": pieces["motor_width_m"].to_numpy() / 2.0,
        "bike": pieces[f"bike_{side}_m"].to_numpy(),
        "sidewalk": pieces[f"sidewalk_{side}_m"].to_numpy(),
        "green": pieces[f"green_{side}_m"].to_numpy(),
    }


def _bands(w: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Inner and outer lateral offset of each band on one side (from the centre line)."""
    inner = w["motor"]
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {"motor_lane": (np.zeros_like(inner), inner)}
    for band in BANDS:
        outer = inner + w[_BAND_COLUMN[band]]
        out[band] = (inner, outer)
        inner = outer
    return out


# ---------------------------------------------------------------------------------------------
# Junctions


@dataclass
class _Ends:
    """Every piece end, grouped by junction and sorted counter-clockwise."""

    piece: np.ndarray
    is_start: np.ndarray
    junction: np.ndarray
    angle: np.ndarray
    point: np.ndarray  # (n, 2)
    degree: np.ndarray  # degree of the end's junction
    next: np.ndarray  # index (into these arrays) of the next end counter-clockwise


def _ends(lines: np.ndarray) -> _Ends:
    n = len(lines)
    length = shapely.length(lines)
    step = np.minimum(1.0, length / 2.0)
    start = shapely.get_coordinates(shapely.get_point(lines, 0))
    end = shapely.get_coordinates(shapely.get_point(lines, -1))
    near_start = shapely.get_coordinates(shapely.line_interpolate_point(lines, step))
    near_end = shapely.get_coordinates(shapely.line_interpolate_point(lines, length - step))
    point = np.vstack([start, end])
    towards = np.vstack([near_start, near_end]) - point
    angle = np.arctan2(towards[:, 1], towards[:, 0])
    piece = np.concatenate([np.arange(n), np.arange(n)])
    is_start = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    _, junction, degree = np.unique(
        np.round(point, 3), axis=0, return_inverse=True, return_counts=True
    )
    junction = junction.ravel()
    order = np.lexsort((angle, junction))
    sorted_j = junction[order]
    group_start = np.flatnonzero(np.r_[True, sorted_j[1:] != sorted_j[:-1]])
    group_len = np.diff(np.r_[group_start, len(order)])
    pos = np.arange(len(order)) - np.repeat(group_start, group_len)
    nxt_pos = (pos + 1) % np.repeat(group_len, group_len) + np.repeat(group_start, group_len)
    nxt = np.empty(len(order), dtype=int)
    nxt[order] = order[nxt_pos]
    return _Ends(piece, is_start, junction, angle, point, degree[junction], nxt)


def _wedges(ends: _Ends) -> np.ndarray:
    """Ends ``a`` whose wedge to the next end counter-clockwise is ≥ 180° (needs a fill)."""
    sweep = np.mod(ends.angle[ends.next] - ends.angle, 2 * np.pi)
    return np.flatnonzero((ends.degree >= 2) & (sweep >= np.pi - 1e-9))


def _arc_coords(
    centre: np.ndarray,
    phi_a: np.ndarray,
    sweep: np.ndarray,
    r_a: np.ndarray,
    r_b: np.ndarray,
) -> np.ndarray:
    """(n, ARC_POINTS, 2) points of arcs whose radius blends linearly from r_a to r_b."""
    s = np.linspace(0.0, 1.0, ARC_POINTS)[None, :]
    phi = phi_a[:, None] + s * sweep[:, None]
    r = r_a[:, None] + s * (r_b - r_a)[:, None]
    return np.stack([centre[:, 0:1] + r * np.cos(phi), centre[:, 1:2] + r * np.sin(phi)], axis=-1)


# ---------------------------------------------------------------------------------------------
# Building


def _buffers(lines: np.ndarray, dist: np.ndarray, sign: float) -> np.ndarray:
    """Single-sided flat-capped buffers (empty where the distance is zero)."""
    out = np.full(len(lines), shapely.Polygon(), dtype=object)
    pos = dist > EPS
    out[pos] = shapely.buffer(
        lines[pos], sign * dist[pos], quad_segs=QUAD_SEGS, cap_style="flat", single_sided=True
    )
    return out


def _strip_polygons(pieces: gpd.GeoDataFrame) -> pd.DataFrame:
    lines = np.asarray(pieces.geometry.values, dtype=object)
    frames, motor_halves = [], []
    for side, sign in (("left", 1.0), ("right", -1.0)):
        bands = _bands(_side_widths(pieces, side))
        # nested buffers at the band edges; each band is the difference of two neighbours, so
        # adjacent strips share their boundary vertex for vertex
        edges = [bands["motor_lane"][1], *(bands[b][1] for b in BANDS)]
        buffers = [_buffers(lines, d, sign) for d in edges]
        motor_halves.append(buffers[0])
        for k, band in enumerate(BANDS):
            inner, outer = bands[band]
            width = outer - inner
            keep = width > EPS
            geoms = shapely.difference(buffers[k + 1][keep], buffers[k][keep])
            frames.append(_frame(pieces, np.flatnonzero(keep), geoms, band, side, width[keep]))
    motor = pieces["motor_width_m"].to_numpy()
    keep = motor > EPS
    geoms = shapely.union(motor_halves[0][keep], motor_halves[1][keep])
    frames.append(_frame(pieces, np.flatnonzero(keep), geoms, "motor_lane", "both", motor[keep]))
    return pd.concat(frames, ignore_index=True)


def _frame(pieces, idx, geoms, corridor, side, width) -> pd.DataFrame:
    side_key = "left" if side in ("left", "both") else "right"
    return pd.DataFrame(
        {
            "piece": idx,
            "road_id": pieces["road_id"].to_numpy()[idx],
            "corridor": corridor,
            "side": side,
            "width_m": width,
            "sidewalk_m": pieces[f"sidewalk_{side_key}_m"].to_numpy()[idx],
            "bike_m": pieces[f"bike_{side_key}_m"].to_numpy()[idx],
            "motor_m": pieces["motor_width_m"].to_numpy()[idx],
            "geometry": geoms,
        }
    )


def _fills_and_arcs(pieces: gpd.GeoDataFrame, ends: _Ends) -> tuple[pd.DataFrame, np.ndarray]:
    """Corner fills (polygons) and corner arcs (graph lines) for wedges of 180° or more."""
    a = _wedges(ends)
    b = ends.next[a]
    pa, pb = ends.piece[a], ends.piece[b]
    # The wedge lies counter-clockwise of end a (left of its outward direction) and clockwise
    # of end b: the piece's left side if the piece starts at the junction, else its right side.
    side_a = np.where(ends.is_start[a], "left", "right")
    side_b = np.where(ends.is_start[b], "right", "left")
    phi_a = ends.angle[a] + np.pi / 2
    sweep = np.maximum(np.mod(ends.angle[b] - ends.angle[a], 2 * np.pi) - np.pi, 0.0)
    centre = ends.point[a]
    bands_by_side = {s: _bands(_side_widths(pieces, s)) for s in ("left", "right")}

    def band_of(band, piece, side):
        inner = np.where(side == "left", bands_by_side["left"][band][0][piece], 0.0)
        inner = np.where(side == "right", bands_by_side["right"][band][0][piece], inner)
        outer = np.where(side == "left", bands_by_side["left"][band][1][piece], 0.0)
        outer = np.where(side == "right", bands_by_side["right"][band][1][piece], outer)
        return inner, outer

    frames, arcs = [], []
    for band in ("motor_lane", *BANDS):
        in_a, out_a = band_of(band, pa, side_a)
        in_b, out_b = band_of(band, pb, side_b)
        wa, wb = out_a - in_a, out_b - in_b
        poly = (np.maximum(wa, wb) > EPS) & (sweep > 1e-6)
        if poly.any():
            outer = _arc_coords(centre[poly], phi_a[poly], sweep[poly], out_a[poly], out_b[poly])
            inner = _arc_coords(centre[poly], phi_a[poly], sweep[poly], in_a[poly], in_b[poly])
            ring = np.concatenate([outer, inner[:, ::-1], outer[:, :1]], axis=1)
            geoms = shapely.make_valid(shapely.polygons(ring))
            idx = pa[poly]
            side = side_a[poly]
            frame = _frame(pieces, idx, geoms, band, "left", np.maximum(wa, wb)[poly])
            frame["side"] = "both" if band == "motor_lane" else side
            frame["sidewalk_m"] = _per_side(pieces, "sidewalk", idx, side)
            frame["bike_m"] = _per_side(pieces, "bike", idx, side)
            frames.append(frame)
        if band != "motor_lane":
            line = (wa > EPS) & (wb > EPS)
            if line.any():
                coords = _arc_coords(
                    centre[line],
                    phi_a[line],
                    sweep[line],
                    (in_a + out_a)[line] / 2,
                    (in_b + out_b)[line] / 2,
                )
                arcs.append(shapely.linestrings(coords))
    fills = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(fills):
        fills["geometry"] = polygonal(fills["geometry"].to_numpy())
        fills = fills[~shapely.is_empty(fills["geometry"].to_numpy())]
    arc_lines = np.concatenate(arcs) if arcs else np.empty(0, dtype=object)
    return fills, arc_lines[shapely.length(arc_lines) > EPS]


def _per_side(pieces, column: str, idx: np.ndarray, side: np.ndarray) -> np.ndarray:
    left = pieces[f"{column}_left_m"].to_numpy()[idx]
    right = pieces[f"{column}_right_m"].to_numpy()[idx]
    return np.where(side == "left", left, right)


def _junction_polygons(pieces: gpd.GeoDataFrame, ends: _Ends, motor: pd.DataFrame) -> pd.DataFrame:
    """Junction areas (degree ≥ 3): hull of the incident motor strips within half their width."""
    sel = ends.degree >= 3
    if not sel.any() or not len(motor):
        return pd.DataFrame()
    incident = pd.DataFrame({"junction": ends.junction[sel], "piece": ends.piece[sel]})
    incident["half"] = pieces["motor_width_m"].to_numpy()[incident["piece"]] / 2.0
    incident["x"], incident["y"] = ends.point[sel, 0], ends.point[sel, 1]
    per_j = incident.groupby("junction").agg(
        radius=("half", "max"), x=("x", "first"), y=("y", "first")
    )
    per_j = per_j[per_j["radius"] > EPS]
    discs = shapely.buffer(
        shapely.points(per_j[["x", "y"]].to_numpy()),
        per_j["radius"].to_numpy(),
        quad_segs=QUAD_SEGS,
    )
    disc_of = pd.Series(np.arange(len(per_j)), index=per_j.index)
    pairs = incident[incident["junction"].isin(per_j.index)].merge(
        pd.DataFrame({"piece": motor["piece"].to_numpy(), "motor": np.arange(len(motor))}),
        on="piece",
    )
    if not len(pairs):
        return pd.DataFrame()
    d = disc_of[pairs["junction"]].to_numpy()
    clipped = shapely.intersection(motor["geometry"].to_numpy()[pairs["motor"]], discs[d])
    coords, which = shapely.get_coordinates(clipped, return_index=True)
    if not len(coords):
        return pd.DataFrame()
    have, group = np.unique(d[which], return_inverse=True)
    order = np.argsort(group, kind="stable")
    hulls = shapely.convex_hull(shapely.multipoints(coords[order], indices=group[order]))
    polygonal = shapely.get_type_id(hulls) == 3
    have, hulls = have[polygonal], hulls[polygonal]
    road_ids = pieces["road_id"].to_numpy()
    names = (
        pd.Series(road_ids[incident["piece"]].astype(str))
        .groupby(incident["junction"].to_numpy())
        .agg(lambda s: "/".join(sorted(set(s))))
    )
    width = 2 * per_j["radius"].to_numpy()[have]
    return pd.DataFrame(
        {
            "piece": -1 - have,
            "road_id": names[per_j.index[have]].to_numpy(),
            "corridor": "motor_lane",
            "side": "junction",
            "width_m": width,
            "sidewalk_m": 0.0,
            "bike_m": 0.0,
            "motor_m": width,
            "geometry": hulls,
        }
    )


def _partition(frame: pd.DataFrame) -> pd.DataFrame:
    """Subtract from each polygon the overlapping higher-ranked polygons of other pieces."""
    geoms = frame["geometry"].to_numpy()
    rank = frame["rank"].to_numpy()
    piece = frame["piece"].to_numpy()
    i, j = STRtree(geoms).query(geoms, predicate="intersects")
    outranks = (rank[j] > rank[i]) | ((rank[j] == rank[i]) & (j < i))
    keep = (piece[i] != piece[j]) & outranks
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return frame
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    first = np.r_[True, i[1:] != i[:-1]]
    group_start = np.flatnonzero(first)
    k = np.arange(len(i)) - np.repeat(group_start, np.diff(np.r_[group_start, len(i)]))
    out = geoms.copy()
    # Iterate over the k-th cutter of every polygon at once (k ≤ the most neighbours of any).
    for step in range(int(k.max()) + 1):
        sel = k == step
        out[i[sel]] = shapely.difference(out[i[sel]], geoms[j[sel]])
    frame = frame.copy()
    frame["geometry"] = out
    return frame


def _crossings(pieces: gpd.GeoDataFrame, ends: _Ends, filing: Filing) -> np.ndarray:
    """Crossing lines of the carriageway, outermost walkable band to outermost walkable band."""
    lines = np.asarray(pieces.geometry.values, dtype=object)
    length = shapely.length(lines)
    half_total = np.zeros(len(pieces))
    for side in ("left", "right"):
        w = _side_widths(pieces, side)
        half_total = np.maximum(half_total, w["motor"] + w["bike"] + w["sidewalk"] + w["green"])
    own_sidewalk = np.maximum(pieces["sidewalk_left_m"], pieces["sidewalk_right_m"]).to_numpy()
    # at junctions: just outside the widest other road of the junction
    sel = np.flatnonzero(ends.degree >= 3)
    jids, inv = np.unique(ends.junction[sel], return_inverse=True)
    widest = np.zeros(len(jids))
    second = np.zeros(len(jids))
    w_end = half_total[ends.piece[sel]]
    np.maximum.at(widest, inv, w_end)
    # the widest *other* road: if this end is the widest, use the second widest
    is_max = w_end >= widest[inv] - EPS
    masked = np.where(is_max, -np.inf, w_end)
    np.maximum.at(second, inv, np.maximum(masked, 0.0))
    ties = np.bincount(inv, weights=is_max.astype(float))
    other = np.where(is_max & (ties[inv] < 2), second[inv], widest[inv])
    setback = other + own_sidewalk[ends.piece[sel]]
    p_idx = ends.piece[sel]
    setback = np.minimum(setback, length[p_idx] / 2.0)
    pos_j = np.where(ends.is_start[sel], setback, length[p_idx] - setback)
    # mid-block: evenly spaced, no more than crossing_spacing_m apart
    n_mid = np.maximum(np.ceil(length / filing.crossing_spacing_m) - 1, 0).astype(int)
    p_mid = np.repeat(np.arange(len(pieces)), n_mid)
    k = np.arange(n_mid.sum()) - np.repeat(np.cumsum(n_mid) - n_mid, n_mid) + 1
    pos_mid = length[p_mid] * k / (n_mid[p_mid] + 1)
    piece = np.concatenate([p_idx, p_mid])
    pos = np.concatenate([pos_j, pos_mid])
    if len(piece) == 0:
        return np.empty(0, dtype=object)
    g = lines[piece]
    at = shapely.get_coordinates(shapely.line_interpolate_point(g, pos))
    ahead = shapely.get_coordinates(
        shapely.line_interpolate_point(g, np.minimum(pos + 0.5, length[piece]))
    )
    behind = shapely.get_coordinates(shapely.line_interpolate_point(g, np.maximum(pos - 0.5, 0.0)))
    tangent = ahead - behind
    tangent /= np.maximum(np.hypot(tangent[:, 0], tangent[:, 1]), EPS)[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    reach = {}
    for side in ("left", "right"):
        w = _side_widths(pieces, side)
        has_sw = w["sidewalk"] > EPS
        has_bk = w["bike"] > EPS
        centre = np.where(
            has_sw, w["motor"] + w["bike"] + w["sidewalk"] / 2, w["motor"] + w["bike"] / 2
        )
        # overshoot a quarter band so the crossing meets the band's centre line when noded
        over = np.where(has_sw, w["sidewalk"] / 4, w["bike"] / 4)
        reach[side] = np.where(has_sw | has_bk, centre + over, np.nan)[piece]
    ok = ~np.isnan(reach["left"]) & ~np.isnan(reach["right"])
    left = at + normal * np.nan_to_num(reach["left"])[:, None]
    right = at - normal * np.nan_to_num(reach["right"])[:, None]
    coords = np.stack([left, right], axis=1)[ok]
    return shapely.linestrings(coords) if len(coords) else np.empty(0, dtype=object)


def _centre_lines(pieces: gpd.GeoDataFrame) -> np.ndarray:
    # the piece itself: the carriageway's centre line, or the middle of a foot or cycle way
    lines = np.asarray(pieces.geometry.values, dtype=object)
    out = [lines]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for band, (inner, outer) in _bands(_side_widths(pieces, side)).items():
            if band == "motor_lane":
                continue
            keep = (outer - inner) > EPS
            if keep.any():
                mid = sign * (inner + outer)[keep] / 2
                out.append(shapely.offset_curve(lines[keep], mid, quad_segs=QUAD_SEGS))
    return shapely.get_parts(np.concatenate(out))


def _duct_connectors(ducts: np.ndarray, base: np.ndarray, filing: Filing) -> np.ndarray:
    """Short lines joining each loose duct end to the nearest strip line."""
    if len(ducts) == 0 or len(base) == 0:
        return np.empty(0, dtype=object)
    ends = np.concatenate([shapely.get_point(ducts, 0), shapely.get_point(ducts, -1)])
    tree = STRtree(base)
    end_i, line_j = tree.query_nearest(ends, max_distance=filing.attach_max_m, all_matches=False)
    conn = shapely.shortest_line(ends[end_i], base[line_j])
    return conn[shapely.length(conn) > EPS]


def build_corridors(
    roads: gpd.GeoDataFrame, ducts: gpd.GeoDataFrame | None, filing: Filing
) -> CorridorModel:
    """Build the corridor polygons and graph lines from roads (and ducts) in a metric CRS."""
    pieces = road_pieces(roads)
    lines = np.asarray(pieces.geometry.values, dtype=object)
    ends = _ends(lines)
    strips = _strip_polygons(pieces)
    fills, arcs = _fills_and_arcs(pieces, ends)
    frame = pd.concat([strips, fills], ignore_index=True) if len(fills) else strips
    motor = frame[frame["corridor"] == "motor_lane"]
    junctions = _junction_polygons(pieces, ends, motor)
    frame["rank"] = frame["corridor"].map(RANK)
    if len(junctions):
        junctions["rank"] = RANK["junction"]
        frame = pd.concat([frame, junctions], ignore_index=True)
    frame = frame[~shapely.is_empty(frame["geometry"].to_numpy())].reset_index(drop=True)
    frame = _partition(frame)
    # keep the polygonal part of every result; drop what subtraction left empty
    geoms = polygonal(shapely.make_valid(frame["geometry"].to_numpy()))
    keep = ~shapely.is_empty(geoms) & (shapely.area(geoms) > EPS)
    frame = frame[keep].reset_index(drop=True)
    polygons = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms[keep], crs=roads.crs)
    centre = _centre_lines(pieces)
    crossings = _crossings(pieces, ends, filing)
    duct_lines = np.empty(0, dtype=object)
    if ducts is not None and len(ducts):
        duct_lines = shapely.get_parts(np.asarray(ducts.geometry.values, dtype=object))
    base = np.concatenate([centre, arcs, crossings])
    connectors = _duct_connectors(duct_lines, base, filing)
    graph_lines = np.concatenate([centre, arcs, connectors])
    return CorridorModel(
        polygons=polygons,
        tree=STRtree(np.asarray(polygons.geometry.values, dtype=object)),
        pieces=pieces,
        lines=graph_lines,
        crossings=crossings,
        ducts=duct_lines,
    )


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygonal part of each geometry (collections from make_valid/difference lose lines)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    bad = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), (3, 6)))
    if not len(bad):
        return geoms
    parts, which = shapely.get_parts(geoms[bad], return_index=True)
    sub, sub_which = shapely.get_parts(parts, return_index=True)
    which = which[sub_which]
    areal = shapely.get_type_id(sub) == 3
    geoms[bad] = shapely.Polygon()
    if areal.any():
        have, group = np.unique(which[areal], return_inverse=True)
        geoms[bad[have]] = shapely.multipolygons(sub[areal], indices=group)
    return geoms
