"""Road cross-sections as strips: road pieces, the strips of a piece, ways that are one strip of
their own, green space, and the overlap rule that partitions them (see
:mod:`onemap.routing.corridors` for the whole corridor model).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from onemap.geo.schema import CROSS_SECTION
from onemap.parallel import chunked

EPS = 1e-6  # metres: numerical tolerance, not a rule number


ARC_POINTS = 7  # samples along a corner arc


QUAD_SEGS = 4  # buffer quadrant segments (round joins at bends)


# Strip types and their rank when strips of different pieces overlap (higher keeps the area).
# A driveway crossover's carriageway ranks below the sidewalk it crosses (a dropped kerb keeps
# the sidewalk continuous); a foot or cycle way of its own ranks below green space (a path
# through a park is in the park); a structure (bridge deck, tunnel, covered way, steps) above
# everything on its level.
RANK = {
    "green_belt": 10,
    "crossover": 15,
    "path": 17,
    "green_space": 18,
    "sidewalk": 20,
    "bike_lane": 30,
    "motor_lane": 40,
    # A separately mapped sidewalk is surveyed; a carriageway width that is not tagged is a
    # guess: where they overlap the mapped sidewalk keeps the area, unless the width is tagged.
    "mapped_sidewalk": 45,
    "tagged_motor_lane": 47,
    "junction": 50,
    "structure": 55,
}


# The optional road columns the model reads, with the value a road without them has.
ROAD_EXTRAS = {"strip_kind": "", "level": 0, "structure": "", "crossover": 0, "xs_source": ""}


BANDS = ("bike_lane", "sidewalk", "green_belt")  # outward from the carriageway on each side


_BAND_COLUMN = {"bike_lane": "bike", "sidewalk": "sidewalk", "green_belt": "green"}


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
            {"road_id": [], **{c: [] for c in CROSS_SECTION}, **{c: [] for c in ROAD_EXTRAS}},
            geometry=[],
            crs=roads.crs,
        )
    level = _extra(roads, "level").astype(np.int64)[rows]
    noded_parts, owner_parts = [], []
    for lv in np.unique(level):  # ways meet only on their own level (bridges, tunnels)
        on = np.flatnonzero(level == lv)
        noded = shapely.get_parts(shapely.node(shapely.multilinestrings(lines[on])))
        noded = noded[shapely.length(noded) > EPS]
        mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
        hit_piece, hit_line = STRtree(lines[on]).query(mids, predicate="dwithin", distance=1e-6)
        first = np.unique(hit_piece, return_index=True)
        noded_parts.append(noded[first[0]])
        owner_parts.append(on[hit_line[first[1]]])
    noded = np.concatenate(noded_parts)
    line_idx = np.concatenate(owner_parts)
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
            **{c: _extra(table, c) for c in ROAD_EXTRAS},
        }
    )
    return gpd.GeoDataFrame(table, geometry=noded, crs=roads.crs)


def _extra(frame: pd.DataFrame, column: str) -> np.ndarray:
    """An optional road column as an array (its default where absent or missing)."""
    default = ROAD_EXTRAS[column]
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=object if isinstance(default, str) else None)
    values = frame[column]
    if isinstance(default, str):
        return values.where(values.notna(), default).astype(str).to_numpy(dtype=object)
    return pd.to_numeric(values, errors="coerce").fillna(default).to_numpy(dtype=np.int64)


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


def _buffers(lines: np.ndarray, dist: np.ndarray, sign: float) -> np.ndarray:
    """Single-sided flat-capped buffers (empty where the distance is zero)."""
    out = np.full(len(lines), shapely.Polygon(), dtype=object)
    pos = np.flatnonzero(dist > EPS)
    straight, rects = side_rectangles(lines[pos], sign * dist[pos])
    out[pos[straight]] = rects
    rest = pos[~straight]
    out[rest] = chunked(
        lambda g, d: shapely.buffer(
            g, sign * d, quad_segs=QUAD_SEGS, cap_style="flat", single_sided=True
        ),
        lines[rest],
        dist[rest],
    )
    return out


# A two-point line shorter than this share of the distance is left to GEOS, which simplifies
# it away (an empty buffer below 1e-4 of the distance; numerical, not a rule number).
_SHORT_SHARE = 1e-3


def side_rectangles(lines: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The single-sided flat buffers of the two-point lines among ``lines`` at signed
    distances ``dist`` (left positive), built with numpy — the polygons GEOS builds, vertex
    for vertex, at a quarter of the cost (three in five road pieces of a district are
    straight): the offset computed as GEOS's ``OffsetSegmentGenerator`` does, the ring
    started and turned as GEOS's polygon builder leaves it. Returns the mask of the lines so
    built and their polygons; the rest (bends, Z, lines too short for the distance) is for
    ``shapely.buffer``.

    >>> line = shapely.LineString([(0, 0), (10, 0)])
    >>> ok, (poly,) = side_rectangles(np.array([line]), np.array([3.0]))
    >>> ok.tolist(), poly.wkt == shapely.buffer(line, 3, cap_style="flat", single_sided=True).wkt
    ([True], True)
    """
    lines = np.asarray(lines, dtype=object)
    ok = (shapely.get_num_coordinates(lines) == 2) & ~shapely.has_z(lines)
    idx = np.flatnonzero(ok)
    ab = shapely.get_coordinates(lines[idx]).reshape(-1, 2, 2)
    a, b, d = ab[:, 0], ab[:, 1], np.asarray(dist, dtype=float)[idx]
    dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    length = np.sqrt(dx * dx + dy * dy)
    long = length > _SHORT_SHARE * np.abs(d)
    ok[idx[~long]] = False
    a, b, d, dx, dy, length = a[long], b[long], d[long], dx[long], dy[long], length[long]
    side, dist_abs = np.where(d > 0, 1.0, -1.0), np.abs(d)
    ux, uy = side * dist_abs * dx / length, side * dist_abs * dy / length
    a2 = np.column_stack([a[:, 0] - uy, a[:, 1] + ux])
    b2 = np.column_stack([b[:, 0] - uy, b[:, 1] + ux])
    left = (d > 0)[:, None, None]
    rings = np.where(left, np.stack([b, a, a2, b2, b], axis=1), np.stack([a, b, b2, a2, a], axis=1))
    return ok, shapely.polygons(rings)


def _nested_buffers(lines: np.ndarray, edges: list[np.ndarray], sign: float) -> list[np.ndarray]:
    """The single-sided buffer of every line at each band edge distance (inside out). Where a
    band has no width its outer edge is its inner one: that buffer is the previous one, not
    computed again (most side bands of a real district are absent or trimmed)."""
    out = [_buffers(lines, edges[0], sign)]
    for k in range(1, len(edges)):
        same = edges[k] == edges[k - 1]  # exactly: a zero width, not a tolerance
        layer = out[-1].copy()
        todo = ~same
        if todo.any():
            layer[todo] = _buffers(lines[todo], edges[k][todo], sign)
        out.append(layer)
    return out


def _strip_polygons(pieces: gpd.GeoDataFrame) -> pd.DataFrame:
    lines = np.asarray(pieces.geometry.values, dtype=object)
    frames, motor_halves = [], []
    for side, sign in (("left", 1.0), ("right", -1.0)):
        bands = _bands(_side_widths(pieces, side))
        # nested buffers at the band edges; each band is the difference of two neighbours, so
        # adjacent strips share their boundary vertex for vertex
        edges = [bands["motor_lane"][1], *(bands[b][1] for b in BANDS)]
        buffers = _nested_buffers(lines, edges, sign)
        motor_halves.append(buffers[0])
        for k, band in enumerate(BANDS):
            inner, outer = bands[band]
            width = outer - inner
            keep = width > EPS
            geoms = chunked(shapely.difference, buffers[k + 1][keep], buffers[k][keep])
            frames.append(_frame(pieces, np.flatnonzero(keep), geoms, band, side, width[keep]))
    motor = pieces["motor_width_m"].to_numpy()
    keep = motor > EPS
    geoms = chunked(shapely.union, motor_halves[0][keep], motor_halves[1][keep])
    frames.append(_frame(pieces, np.flatnonzero(keep), geoms, "motor_lane", "both", motor[keep]))
    return pd.concat(frames, ignore_index=True)


_STRIP_OF = {"motor_lane": "motor_width", "bike_lane": "bike", "sidewalk": "sidewalk"}


def _frame(pieces, idx, geoms, corridor, side, width) -> pd.DataFrame:
    side_key = "left" if side in ("left", "both") else "right"
    strip = _STRIP_OF.get(corridor, "green")
    column = strip if strip == "motor_width" else f"{strip}_{side_key}"
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
            "level": pieces["level"].to_numpy()[idx],
            "structure": pieces["structure"].to_numpy()[idx],
            "provenance": provenance(pieces, column)[idx],
            "geometry": geoms,
        }
    )


def provenance(pieces: pd.DataFrame, column: str) -> np.ndarray:
    """Where each piece's strip ``column`` (``sidewalk_left``, ``motor_width``…) came from, read
    from the road's ``xs_source`` (``tagged``, ``mapped_way``, ``derived``, ``default``); a road
    without it (planning data filled from the class table) reads ``default`` where the build
    filled the width and ``tagged`` where the source gave it — the build writes that too."""
    # a map has a handful of distinct sources: parse each once, not once per piece
    codes, distinct = pd.factorize(pd.Series(pieces["xs_source"].to_numpy(), dtype=object))
    found = pd.Series(distinct, dtype=object).fillna("")
    found = found.str.extract(rf"(?:^|;){column}=([a-z_]+)", expand=False).fillna("tagged")
    # factorize codes a missing source -1, which picks the last entry: "tagged", as for ""
    return np.append(found.to_numpy(dtype=object), "tagged").astype(object)[codes]


def _single_strips(singles: gpd.GeoDataFrame, offset: int) -> pd.DataFrame:
    """A foot or cycle way of its own: one strip of its whole width centred on its line."""
    if not len(singles):
        return pd.DataFrame()
    lines = np.asarray(singles.geometry.values, dtype=object)
    kind = singles["strip_kind"].to_numpy(dtype=object)
    cycle = kind == "cycleway"
    sw = (singles["sidewalk_left_m"] + singles["sidewalk_right_m"]).to_numpy()
    bk = (singles["bike_left_m"] + singles["bike_right_m"]).to_numpy()
    width = np.where(cycle, bk, sw)
    keep = width > EPS
    geoms = chunked(
        lambda g, w: shapely.buffer(g, w / 2, quad_segs=QUAD_SEGS, cap_style="flat"),
        lines[keep],
        width[keep],
    )
    idx = np.flatnonzero(keep)
    column = np.where(cycle, "bike_left", "sidewalk_left")[idx]
    frame = pd.DataFrame(
        {
            "piece": offset + idx,
            "road_id": singles["road_id"].to_numpy()[idx],
            "corridor": np.where(cycle[idx], "bike_lane", "sidewalk"),
            "side": "both",
            "width_m": width[idx],
            "sidewalk_m": np.where(cycle, 0.0, sw)[idx],
            "bike_m": np.where(cycle, bk, 0.0)[idx],
            "motor_m": 0.0,
            "level": singles["level"].to_numpy()[idx],
            "structure": singles["structure"].to_numpy()[idx],
            "provenance": np.where(
                column == "bike_left",
                provenance(singles, "bike_left")[idx],
                provenance(singles, "sidewalk_left")[idx],
            ),
            "geometry": geoms,
        }
    )
    # a mapped sidewalk is a road's sidewalk; other paths rank below green space
    frame["rank"] = np.where(kind[idx] == "sidewalk", RANK["mapped_sidewalk"], RANK["path"])
    return frame


def _green_space(green: np.ndarray | None) -> pd.DataFrame:
    """Green land (parks, protective green, planted squares) as polygons of their own."""
    if green is None or not len(green):
        return pd.DataFrame()
    geoms = polygonal(shapely.make_valid(np.asarray(green, dtype=object)))
    keep = ~shapely.is_empty(geoms)
    n = int(keep.sum())
    return pd.DataFrame(
        {
            "piece": -(10**9) - np.arange(n),
            "road_id": None,
            "corridor": "green_space",
            "side": "",
            "width_m": 0.0,
            "sidewalk_m": 0.0,
            "bike_m": 0.0,
            "motor_m": 0.0,
            "level": 0,
            "structure": "",
            "provenance": "tagged",
            "geometry": geoms[keep],
            "rank": RANK["green_space"],
        }
    )


def _per_side(pieces, column: str, idx: np.ndarray, side: np.ndarray) -> np.ndarray:
    left = pieces[f"{column}_left_m"].to_numpy()[idx]
    right = pieces[f"{column}_right_m"].to_numpy()[idx]
    return np.where(side == "left", left, right)


def partition(frame: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
    """Each polygon less the overlapping higher-ranked polygons of other pieces on its level.

    This is what :meth:`~onemap.routing.overlay.Overlay.classify` decides point by point on the
    overlapping strips (highest rank, then the earlier polygon); drawn as polygons it shows a
    person which strip owns the ground. Green space takes no part (a park would be cut by
    every strip). ``rows``: only these polygons (a map page's view); returns their geometry.
    """
    geoms = frame["geometry"].to_numpy()
    rank = frame["rank"].to_numpy()
    piece = frame["piece"].to_numpy()
    level = frame["level"].to_numpy()
    rows = np.arange(len(frame)) if rows is None else np.asarray(rows, dtype=np.int64)
    green = (frame["corridor"] == "green_space").to_numpy()
    out = geoms[rows].copy()
    k, j = STRtree(geoms).query(geoms[rows], predicate="intersects")
    i = rows[k]
    outranks = (rank[j] > rank[i]) | ((rank[j] == rank[i]) & (j < i))
    keep = (piece[i] != piece[j]) & outranks & (level[i] == level[j]) & ~green[i] & ~green[j]
    k, j = k[keep], j[keep]
    if len(k) == 0:
        return out
    order = np.lexsort((j, k))
    k, j = k[order], j[order]
    first = np.r_[True, k[1:] != k[:-1]]
    group_start = np.flatnonzero(first)
    step_of = np.arange(len(k)) - np.repeat(group_start, np.diff(np.r_[group_start, len(k)]))
    # Iterate over the n-th cutter of every polygon at once (n ≤ the most neighbours of any).
    for step in range(int(step_of.max()) + 1):
        sel = step_of == step
        out[k[sel]] = shapely.difference(out[k[sel]], geoms[j[sel]])
    return polygonal(shapely.make_valid(out))


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
