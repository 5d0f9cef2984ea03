"""Corridor model: every road's cross-section as strips, and the lines the corridor graph runs on.

Each road is split where it meets another (a *piece*), and each piece is buffered into strips,
left to right (left = left of the line's direction): green, sidewalk, bike lane, motor lanes,
bike lane, sidewalk, green, with the widths of its cross-section columns (DESIGN §2). The centre
line is the middle of the carriageway. A side strip whose width is a class default and that lies
on another piece's carriageway (the inner side of a dual carriageway mapped as two ways) is not
built (:mod:`onemap.routing.overlaps`).

At junctions:

* on the outside of a corner (where the strips of two pieces leave a wedge uncovered) every strip
  is continued by an annular sector whose widths blend from one road's section to the other's;
* the junction area (degree ≥ 3) is carriageway: the convex hull of the motor strips near the node;
* where strips of different pieces overlap, the higher-ranked one keeps the area
  (junction > motor lane > bike lane > sidewalk > green belt; equal ranks: the earlier piece),
  so one road's carriageway is never counted as another's sidewalk. The polygons are kept as
  built, overlapping; the overlay's classifier applies the rank point by point, and
  :meth:`CorridorModel.partitioned` cuts the overlap-free partition for drawing (issue 18:
  cutting every polygon by its neighbours was half of a district's cold build).

The same pass yields the *graph lines*: the centre line of every strip (``offset_curve``), the
corner arcs, crossings of the carriageway (at junctions and mid-block) and duct connectors.
Everything is vectorised over pieces with shapely 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from onemap.parallel import chunked, query_nearest
from onemap.routing.overlaps import trim_overlaps
from onemap.routing.sections import (
    ARC_POINTS,
    BANDS,
    EPS,
    QUAD_SEGS,
    RANK,
    _bands,
    _frame,
    _green_space,
    _per_side,
    _side_widths,
    _single_strips,
    _strip_polygons,
    partition,
    polygonal,
    road_pieces,
)
from onemap.rules import Filing

__all__ = ["EPS", "CorridorModel", "build_corridors", "polygonal", "road_pieces"]


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
    crossings: np.ndarray  # carriageway crossing lines (modelled and mapped crosswalks)
    ducts: np.ndarray  # duct lines
    line_level: np.ndarray | None = None  # level of each of ``lines`` (None: all 0)
    crossing_level: np.ndarray | None = None  # level of each crossing

    def partitioned(self, rows: np.ndarray | None = None) -> gpd.GeoDataFrame:
        """The polygons (or the given ``rows`` of them) cut to the overlap-free partition the
        classifier's rank decides: each strip less the higher-ranked strips over it."""
        rows = np.arange(len(self.polygons)) if rows is None else np.asarray(rows, np.int64)
        out = self.polygons.iloc[rows].copy()
        geoms = partition(self.polygons, rows)
        out["geometry"] = geoms
        return out[~shapely.is_empty(geoms) & (shapely.area(geoms) > EPS)]


# ---------------------------------------------------------------------------------------------
# Road pieces


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
    # the hull of the clipped strips is the hull of their hulls: fewer points to gather
    clipped = chunked(
        lambda strip, disc: shapely.convex_hull(shapely.intersection(strip, disc)),
        motor["geometry"].to_numpy()[pairs["motor"]],
        discs[d],
    )
    found = ~shapely.is_empty(clipped)
    if not found.any():
        return pd.DataFrame()
    have, group = np.unique(d[found], return_inverse=True)
    order = np.argsort(group, kind="stable")
    # a collection of each junction's hulls: their points, in order, without a point object each
    parts = shapely.geometrycollections(clipped[found][order], indices=group[order])
    hulls = shapely.convex_hull(parts)
    polygonal = shapely.get_type_id(hulls) == 3
    have, hulls = have[polygonal], hulls[polygonal]
    names = _junction_names(
        incident["junction"].to_numpy(), pieces["road_id"].to_numpy()[incident["piece"]]
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
            "level": pieces["level"].to_numpy()[
                incident.groupby("junction")["piece"].first().reindex(per_j.index[have]).to_numpy()
            ],
            "structure": "",
            "provenance": "derived",
            "geometry": hulls,
        }
    )


def _junction_names(junction: np.ndarray, road_id: np.ndarray) -> pd.Series:
    """The distinct road ids meeting at each junction, sorted and joined by "/", by junction.

    >>> _junction_names(np.array([4, 2, 4, 4]), np.array(["b", "c", "a", "b"])).to_dict()
    {2: 'c', 4: 'a/b'}
    """
    pairs = pd.DataFrame({"j": junction, "name": road_id.astype(str)}).drop_duplicates()
    pairs = pairs.sort_values(["j", "name"], kind="stable")
    j, name = pairs["j"].to_numpy(), pairs["name"].to_numpy()
    starts = np.flatnonzero(np.r_[True, j[1:] != j[:-1]])
    joined = ["/".join(part) for part in np.split(name, starts[1:])]
    return pd.Series(joined, index=j[starts])


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
    return _crossing_lines(pieces, piece, pos)


def crossings_at(pieces: gpd.GeoDataFrame, points: np.ndarray, max_m: float) -> np.ndarray:
    """Perpendicular crossings of the carriageway at points beside it (parcel doors, assets),
    where a designer would cross to reach the other side (issue 14): at the projection of each
    point on the nearest road piece with a carriageway within ``max_m``."""
    motor = np.flatnonzero(
        (pieces["motor_width_m"].to_numpy() > EPS) & (pieces["strip_kind"].to_numpy() == "")
    )
    if not len(points) or not len(motor):
        return np.empty(0, dtype=object)
    lines = np.asarray(pieces.geometry.values, dtype=object)
    pts = shapely.points(points)
    i, j = STRtree(lines[motor]).query_nearest(pts, max_distance=max_m, all_matches=False)
    if not len(i):
        return np.empty(0, dtype=object)
    piece = motor[j]
    pos = shapely.line_locate_point(lines[piece], pts[i])
    return _crossing_lines(pieces, piece, pos)


def _crossing_lines(pieces: gpd.GeoDataFrame, piece: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Crossing lines across ``piece`` at distances ``pos`` along it, band centre to centre."""
    if len(piece) == 0:
        return np.empty(0, dtype=object)
    lines = np.asarray(pieces.geometry.values, dtype=object)
    length = shapely.length(lines)
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


def _centre_lines(pieces: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The centre line of every strip (the piece itself: the carriageway's centre line, or the
    middle of a foot or cycle way; an offset line per other band) and each one's level."""
    lines = np.asarray(pieces.geometry.values, dtype=object)
    level = pieces["level"].to_numpy()
    out, levels = [lines], [level]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for band, (inner, outer) in _bands(_side_widths(pieces, side)).items():
            if band == "motor_lane":
                continue
            keep = (outer - inner) > EPS
            if keep.any():
                mid = sign * (inner + outer)[keep] / 2
                offset = chunked(
                    lambda g, d: shapely.offset_curve(g, d, quad_segs=QUAD_SEGS), lines[keep], mid
                )
                out.append(offset)
                levels.append(level[keep])
    every, level = np.concatenate(out), np.concatenate(levels)
    parts = shapely.get_num_geometries(every)  # an offset curve may fall apart in pieces
    return shapely.get_parts(every), np.repeat(level, parts)


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
    roads: gpd.GeoDataFrame,
    ducts: gpd.GeoDataFrame | None,
    filing: Filing,
    green: np.ndarray | None = None,
) -> CorridorModel:
    """Build the corridor polygons and graph lines from roads (and ducts) in a metric CRS.

    ``green``: polygons of green land (metric), which become ``green_space`` polygons.
    """
    every = road_pieces(roads)
    kind = every["strip_kind"].to_numpy(dtype=object)
    pieces, _ = trim_overlaps(
        every[kind == ""].reset_index(drop=True), share=filing.overlap_trim_share
    )
    singles = every[(kind != "") & (kind != "crossing")].reset_index(drop=True)
    mapped_crossings = every[kind == "crossing"]
    lines = np.asarray(pieces.geometry.values, dtype=object)
    ends = _ends(lines)
    strips = _strip_polygons(pieces)
    fills, arcs = _fills_and_arcs(pieces, ends)
    frame = pd.concat([strips, fills], ignore_index=True) if len(fills) else strips
    motor = frame[frame["corridor"] == "motor_lane"]
    junctions = _junction_polygons(pieces, ends, motor)
    frame["rank"] = frame["corridor"].map(RANK)
    tagged_motor = (frame["corridor"] == "motor_lane") & (frame["provenance"] == "tagged")
    frame.loc[tagged_motor & (frame["side"] != "junction"), "rank"] = RANK["tagged_motor_lane"]
    crossover = pieces["crossover"].to_numpy()[frame["piece"].to_numpy()] > 0
    frame.loc[crossover & (frame["corridor"] == "motor_lane").to_numpy(), "rank"] = RANK[
        "crossover"
    ]
    extra = [f for f in (_single_strips(singles, len(pieces)),) if len(f)]
    if len(junctions):
        junctions["rank"] = RANK["junction"]
        extra.append(junctions)
    if extra:
        frame = pd.concat([frame, *extra], ignore_index=True)
    on_structure = frame["structure"].isin(filing.structures).to_numpy()
    frame.loc[on_structure, "corridor"] = "structure"
    # A bridge deck or a tunnel (another level) ranks first where it passes over or under a
    # road; steps, covered ways and building passages on the street's level keep their rank.
    above = on_structure & (frame["level"].to_numpy() != 0)
    frame.loc[above, "rank"] = RANK["structure"]
    frame = frame[~shapely.is_empty(frame["geometry"].to_numpy())].reset_index(drop=True)
    # Where green space overlaps a strip the overlay's rank decides (strips of a road win,
    # paths lose).
    greens = _green_space(green)
    if len(greens):
        frame = pd.concat([frame, greens], ignore_index=True)
    # keep the polygonal part of every polygon; drop the empty ones
    geoms = polygonal(chunked(shapely.make_valid, frame["geometry"].to_numpy()))
    keep = ~shapely.is_empty(geoms) & (shapely.area(geoms) > EPS)
    frame = frame[keep].reset_index(drop=True)
    polygons = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms[keep], crs=roads.crs)
    centre, centre_level = _centre_lines(pieces)
    single_lines = np.asarray(singles.geometry.values, dtype=object)
    modelled = _crossings(pieces, ends, filing)
    crossings = np.concatenate(
        [modelled, np.asarray(mapped_crossings.geometry.values, dtype=object)]
    )
    crossing_level = np.concatenate(
        [_levels_near(pieces, modelled), mapped_crossings["level"].to_numpy()]
    ).astype(np.int64)
    duct_lines = np.empty(0, dtype=object)
    if ducts is not None and len(ducts):
        duct_lines = shapely.get_parts(np.asarray(ducts.geometry.values, dtype=object))
    base = np.concatenate([centre, single_lines, arcs, crossings])
    connectors = _duct_connectors(duct_lines, base, filing)
    graph_lines = np.concatenate([centre, single_lines, arcs, connectors])
    line_level = np.concatenate(
        [
            centre_level,
            singles["level"].to_numpy(),
            _levels_near(pieces, arcs),
            np.zeros(len(connectors)),
        ]
    ).astype(np.int64)
    return CorridorModel(
        polygons=polygons,
        tree=STRtree(np.asarray(polygons.geometry.values, dtype=object)),
        pieces=pieces,
        lines=graph_lines,
        crossings=crossings,
        ducts=duct_lines,
        line_level=line_level,
        crossing_level=crossing_level,
    )


def _levels_near(pieces: gpd.GeoDataFrame, lines: np.ndarray) -> np.ndarray:
    """Level of each line (crossings, corner arcs): the level of the piece nearest its middle."""
    if not len(lines) or not len(pieces):
        return np.zeros(len(lines), dtype=np.int64)
    idx, hit = query_nearest(
        STRtree(np.asarray(pieces.geometry.values, dtype=object)),
        shapely.line_interpolate_point(lines, 0.5, normalized=True),
        all_matches=False,
    )
    out = np.zeros(len(lines), dtype=np.int64)
    out[idx] = pieces["level"].to_numpy()[hit]
    return out
