"""Strips a street does not have: the guessed side strips of a road that lie on another road's
carriageway.

Road data without lane detail (planning centre lines, EULUC roads, OSM ways without sidewalk
tags) gets each way's strips from the class table (``xs_source`` ``default``). A dual carriageway
or a road with a parallel frontage way is then mapped as two or more parallel ways, and each gets
the whole class section: the sidewalks, bike lanes and green belts on its inner side land on the
other way's carriageway. The overlay already classifies those places as motor lane (the rank
rule), but their graph lines stay: on a real district they are most of the graph (parallel lines
crossing each other at every junction: a mesh of metre-long edges), and they let a route walk a
"sidewalk" that is really a traffic lane until the rank rule catches it.

:func:`trim_overlaps` sets those widths to zero before the strips are built, so neither the
polygons nor the graph lines of a strip the street does not have are made. A side band is
dropped when

* its width is a class default (a tagged, derived or separately mapped strip is kept: someone
  surveyed it);
* at least ``share`` of the points sampled along its centre line lie on the carriageway of
  another piece of the same level (driveway crossovers excepted: they rank below sidewalks);
* every band outside it on the same side is dropped too (so a kept band keeps its position).

A street whose strips overlap no other carriageway is unchanged, so a map of single-carriageway
streets builds exactly as before.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely import STRtree

from onemap.parallel import chunked, map_chunks
from onemap.routing.sections import (
    _BAND_COLUMN,
    BANDS,
    EPS,
    QUAD_SEGS,
    _bands,
    _side_widths,
    provenance,
)

__all__ = ["trim_overlaps"]

SAMPLE_M = 20.0  # spacing of the sample points along a band (speed/precision only)
MIN_SAMPLES = 3  # sample points per band at least (interior points: ends sit in junctions)
_CHUNK = 65_536  # points per containment query (bounds memory; speed only)


def trim_overlaps(pieces: gpd.GeoDataFrame, *, share: float) -> tuple[gpd.GeoDataFrame, int]:
    """The pieces with their guessed side bands that lie on another piece's carriageway removed.

    Parameters
    ----------
    pieces : geopandas.GeoDataFrame
        Road pieces in a metric CRS (:func:`onemap.routing.sections.road_pieces`, strips of a
        carriageway only). Not modified.
    share : float
        Share (0–1] of a band's sample points on another carriageway from which the band is not
        the street's. ``share > 1`` keeps every band.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, int)
        A copy of ``pieces`` with the dropped bands' widths set to 0, and how many bands were
        dropped.
    """
    out = pieces.copy()
    if share > 1.0 or not len(pieces):
        return out, 0
    motor = pieces["motor_width_m"].to_numpy(dtype=float)
    carriage = np.flatnonzero((motor > EPS) & (pieces["crossover"].to_numpy() <= 0))
    if not len(carriage):
        return out, 0
    guessed = {
        column: (provenance(pieces, column[:-2]) == "default")
        & (pieces[column].to_numpy(dtype=float) > EPS)
        for column in (f"{_BAND_COLUMN[b]}_{side}_m" for b in BANDS for side in ("left", "right"))
    }
    sampled = np.flatnonzero(np.logical_or.reduce(list(guessed.values())))
    if not len(sampled):  # every strip surveyed or tagged: nothing is a guess to trim
        return out, 0
    lines = np.asarray(pieces.geometry.values, dtype=object)
    roads = shapely.buffer(
        lines[carriage], motor[carriage] / 2.0, quad_segs=QUAD_SEGS, cap_style="flat"
    )
    tree = STRtree(roads)
    level = pieces["level"].to_numpy()
    piece, at, normal = _samples(lines[sampled])
    piece = sampled[piece]
    dropped = 0
    for side, sign in (("left", 1.0), ("right", -1.0)):
        bands = _bands(_side_widths(pieces, side))
        outer_dropped = np.ones(len(pieces), dtype=bool)
        for band in reversed(BANDS):  # outside in
            inner, outer = bands[band]
            column = f"{_BAND_COLUMN[band]}_{side}_m"
            width = outer - inner
            cand = outer_dropped & guessed[column]
            if not cand.any():
                outer_dropped &= width <= EPS  # an absent band does not stop the ones inside
                continue
            on = cand[piece]
            mid = sign * (inner + outer)[piece[on]] / 2.0
            pts = at[on] + normal[on] * mid[:, None]
            covered = _on_other_carriageway(tree, carriage, level, piece[on], pts)
            n = np.bincount(piece[on], minlength=len(pieces))
            hit = np.bincount(piece[on], weights=covered, minlength=len(pieces))
            drop = cand & (hit >= share * np.maximum(n, 1)) & (n > 0)
            out.loc[drop, column] = 0.0
            dropped += int(drop.sum())
            outer_dropped &= drop | (width <= EPS)
    return out, dropped


def _samples(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interior sample points of every line: piece index, point and unit left normal."""
    length = shapely.length(lines)
    count = np.maximum(np.ceil(length / SAMPLE_M).astype(np.int64), MIN_SAMPLES)
    piece = np.repeat(np.arange(len(lines)), count)
    start = np.cumsum(count) - count
    k = np.arange(len(piece)) - start[piece]
    t = (k + 0.5) / count[piece] * length[piece]  # cell centres: never an end point
    step = np.minimum(0.25, length[piece] / 4.0)
    a = shapely.get_coordinates(chunked(shapely.line_interpolate_point, lines[piece], t - step))
    b = shapely.get_coordinates(chunked(shapely.line_interpolate_point, lines[piece], t + step))
    at = (a + b) / 2.0  # the point at t, but for a bend within half a metre of it
    d = b - a
    norm = np.hypot(d[:, 0], d[:, 1])
    norm[norm == 0] = 1.0
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / norm[:, None]  # left of the direction
    return piece, at, normal


def _on_other_carriageway(
    tree: STRtree,
    carriage: np.ndarray,
    level: np.ndarray,
    piece: np.ndarray,
    pts: np.ndarray,
) -> np.ndarray:
    """Whether each point lies on the carriageway of a piece other than its own, same level."""

    def chunk(lo: int, hi: int) -> np.ndarray:
        i, j = tree.query(shapely.points(pts[lo:hi]), predicate="intersects")
        other = carriage[j]
        ok = (other != piece[lo + i]) & (level[other] == level[piece[lo + i]])
        return np.unique(i[ok]) + lo

    hits = map_chunks(chunk, len(pts), _CHUNK)
    out = np.zeros(len(pts))
    if hits:
        out[np.concatenate(hits)] = 1.0
    return out
