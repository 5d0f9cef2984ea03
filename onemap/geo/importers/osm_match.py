"""Matching separately mapped ways to the roads they run beside (sidewalks, cycle tracks), and
the median sides of one-way pairs: the geometric half of the OSM road import
(:mod:`onemap.geo.importers.osm`). Vectorised over segment pieces with an STRtree.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely

from onemap.geo.importers.osm_tags import DEFAULT, DERIVED, MAPPED, SIDES, TAGGED, is_oneway


def _segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start points, end points and owner index of every non-degenerate line segment."""
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b, owner = xy[:-1][same], xy[1:][same], idx[:-1][same]
    keep = np.any(a != b, axis=1)
    return a[keep], b[keep], owner[keep]


def match_beside(
    roads: np.ndarray,
    allowed: np.ndarray,
    cands: np.ndarray,
    params: dict,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Match candidate ways (sidewalks, cycleways) to the road side they run beside.

    ``roads`` and ``cands`` are metric LineStrings; ``allowed[i, s]`` says whether side ``s``
    (0 left, 1 right) of road ``i`` may take a match (not where tags say there is none).
    Candidates are cut into pieces of at most ``step_m``; each piece is matched to the nearest
    road segment within ``max_offset_m`` that runs within ``max_angle_deg`` of it, on the side
    given by the sign of the cross product of the road's direction and the offset to the piece.
    Returns the matched pieces (``cand``, ``road``, ``side``, ``length``, ``dist`` — the offset
    from the road's centre line) and each candidate's matched share of its length.
    """
    share = np.zeros(len(cands))
    empty = pd.DataFrame({"cand": [], "road": [], "side": [], "length": [], "dist": []})
    if len(roads) == 0 or len(cands) == 0:
        return empty, share
    ra, rb, rowner = _segments(roads)
    ca, cb, cowner = _segments(shapely.segmentize(cands, params["step_m"]))
    cvec = cb - ca
    clen = np.hypot(cvec[:, 0], cvec[:, 1])
    mid = (ca + cb) / 2
    tree = shapely.STRtree(shapely.linestrings(np.stack([ra, rb], axis=1)))
    qi, ti = tree.query(shapely.points(mid), predicate="dwithin", distance=params["max_offset_m"])
    v = rb[ti] - ra[ti]
    w = mid[qi] - ra[ti]
    vv = np.einsum("ij,ij->i", v, v)
    t = np.clip(np.einsum("ij,ij->i", w, v) / vv, 0.0, 1.0)
    off = w - t[:, None] * v
    dist = np.hypot(off[:, 0], off[:, 1])
    cross = v[:, 0] * w[:, 1] - v[:, 1] * w[:, 0]
    side = (cross < 0).astype(np.int64)  # positive cross product: left of the road
    cos = np.abs(np.einsum("ij,ij->i", cvec[qi], v)) / (clen[qi] * np.sqrt(vv))
    road = rowner[ti]
    ok = (
        (cos >= math.cos(math.radians(params["max_angle_deg"])))
        & (dist >= params["min_offset_m"])
        & allowed[road, side]
    )
    pieces = pd.DataFrame({"piece": qi[ok], "road": road[ok], "side": side[ok], "dist": dist[ok]})
    pieces = pieces.sort_values(["piece", "dist"], kind="stable").drop_duplicates("piece")
    pieces["cand"] = cowner[pieces["piece"].to_numpy()]
    pieces["length"] = clen[pieces["piece"].to_numpy()]
    total = np.bincount(cowner, weights=clen, minlength=len(cands))
    matched = np.bincount(pieces["cand"], weights=pieces["length"], minlength=len(cands))
    share = np.divide(matched, total, out=np.zeros(len(cands)), where=total > 0)
    return pieces[["cand", "road", "side", "length", "dist"]], share


def _apply_matches(
    prefix: str,
    roads: pd.DataFrame,
    road_len: np.ndarray,
    pieces: pd.DataFrame,
    params: dict,
) -> pd.DataFrame:
    """Hand matched road sides over to the mapped ways beside them.

    A side covered by matched pieces (``min_cover`` of the road's length) carries no strip of
    its own any more (width 0, provenance ``mapped_way``): the mapped way is the strip, along
    its real geometry. A side whose tags state the strip keeps the tags, except ``separate``,
    which waits for exactly this match. Returns per taken side the median offset (m) of the
    matched pieces from the road's centre line (``road``, ``side``, ``offset``).
    """
    if pieces.empty:
        return pd.DataFrame({"road": np.zeros(0, np.int64), "side": [], "offset": []})
    agg = pieces.groupby(["road", "side"]).agg(covered=("length", "sum"), offset=("dist", "median"))
    agg = agg.reset_index()
    agg = agg[agg["covered"] >= params["min_cover"] * road_len[agg["road"].to_numpy()]]
    taken = []
    for side_no, side in enumerate(SIDES):
        sel = agg[agg["side"] == side_no]
        rows = sel["road"].to_numpy()
        col = f"{prefix}_{side}"
        take = (roads[f"{col}_src"].to_numpy()[rows] != TAGGED) | roads[f"{col}_sep"].to_numpy()[
            rows
        ]
        idx = roads.index[rows[take]]
        roads.loc[idx, col] = 0.0
        roads.loc[idx, f"{col}_src"] = MAPPED
        roads.loc[idx, f"{col}_sep"] = False
        # nothing is invented between the kerb and the mapped way (no green belt there)
        roads.loc[idx, f"green_{side}"] = 0.0
        taken.append(sel[take])
    return pd.concat(taken, ignore_index=True)[["road", "side", "offset"]]


def _narrow_to_mapped(roads: pd.DataFrame, offsets: pd.DataFrame) -> int:
    """A carriageway cannot reach into the way mapped beside it: where a mapped way's centre
    runs ``offset`` m from the road's centre line, the half carriageway is at most
    ``offset - half`` (``half``: half the way's default width; provenance ``derived``).
    Returns the number of carriageways narrowed."""
    if offsets.empty:
        return 0
    reach = (offsets["offset"] - offsets["half"]).groupby(offsets["road"]).min()
    rows = reach.index.to_numpy(dtype=np.int64)
    current = roads["motor_width"].to_numpy()[rows]
    limit = np.maximum(2.0 * reach.to_numpy(), 0.0)
    narrow = limit < current
    idx = roads.index[rows[narrow]]
    roads.loc[idx, "motor_width"] = limit[narrow]
    roads.loc[idx, "motor_width_src"] = DERIVED
    return int(narrow.sum())


def median_sides(geoms: np.ndarray, params: dict) -> np.ndarray:
    """``(n, 2)`` mask of the left/right side of each one-way road that faces an opposite
    one-way road (a dual carriageway or a one-way pair): its median side.

    ``geoms`` are the metric lines of one-way roads drawn in their travel direction.
    """
    if len(geoms) < 2:
        return np.zeros((len(geoms), 2), dtype=bool)
    ra, rb, rowner = _segments(geoms)
    ca, cb, cowner = _segments(shapely.segmentize(geoms, 5.0))
    mid = (ca + cb) / 2
    tree = shapely.STRtree(shapely.linestrings(np.stack([ra, rb], axis=1)))
    qi, ti = tree.query(
        shapely.points(mid), predicate="dwithin", distance=params["median_pair_max_m"]
    )
    other = rowner[ti] != cowner[qi]
    qi, ti = qi[other], ti[other]
    v = rb[ti] - ra[ti]
    c = cb[qi] - ca[qi]
    w = mid[qi] - ra[ti]
    cos = np.einsum("ij,ij->i", c, v) / np.maximum(np.hypot(*c.T) * np.hypot(*v.T), 1e-12)
    anti = cos <= -math.cos(math.radians(30.0))
    qi, ti, w, v, c = qi[anti], ti[anti], w[anti], v[anti], c[anti]
    # the nearest opposite piece of another road, seen from this piece: left or right of it
    t = np.clip(np.einsum("ij,ij->i", w, v) / np.einsum("ij,ij->i", v, v), 0.0, 1.0)
    to_partner = (ra[ti] + t[:, None] * v) - mid[qi]
    cross = c[:, 0] * to_partner[:, 1] - c[:, 1] * to_partner[:, 0]
    side = (cross < 0).astype(np.int64)
    dist = np.hypot(*to_partner.T)
    clen = np.hypot(*(cb - ca).T)
    first = pd.DataFrame({"piece": qi, "side": side, "dist": dist})
    first = first.sort_values(["piece", "dist"], kind="stable").drop_duplicates("piece")
    cover = np.zeros((len(geoms), 2))
    np.add.at(cover, (cowner[first["piece"]], first["side"]), clen[first["piece"]])
    total = np.bincount(cowner, weights=clen, minlength=len(geoms))
    return cover >= params["median_pair_min_cover"] * np.maximum(total, 1e-12)[:, None]


def _medians(roads, geoms, records, idx, od) -> int:
    """No sidewalk or bike lane on the median side of a one-way pair unless tagged; returns
    the number of sides cleared."""
    oneway = np.array([is_oneway(records[i], records[i].get("highway", "")) for i in idx])
    sel = np.flatnonzero(oneway != 0)
    if len(sel) < 2:
        return 0
    lines = np.asarray(geoms, dtype=object)[sel]
    back = oneway[sel] < 0
    lines[back] = shapely.reverse(lines[back])  # travel direction
    median = median_sides(lines, od)
    # reversed lines: the travel-left side is the drawn right side
    median[back] = median[back][:, ::-1]
    n = 0
    for side_no, side in enumerate(SIDES):
        rows = sel[median[:, side_no]]
        for p in ("sidewalk", "bike"):
            col = f"{p}_{side}"
            silent = roads[f"{col}_src"].to_numpy()[rows] == DEFAULT
            at = roads.index[rows[silent]]
            roads.loc[at, col] = 0.0
            roads.loc[at, f"{col}_src"] = DERIVED
            n += int(silent.sum())
    return n
