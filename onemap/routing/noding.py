"""Noding straight segments with numpy: where segments meet, found from bounding boxes and
decided by a vectorised exact test, not by one GEOS predicate a pair (issue 18: the corridor
graph's cold build spent most of its time in ``shapely.node`` and predicate queries).

* :func:`segment_hits` — for candidate pairs, where segment i meets segment j (parameter t
  along i), crossings and the ends of collinear overlaps;
* :func:`node_segments` — every segment of a set of lines cut wherever another meets it;
* :func:`cut_segments` — segments cut at sorted parameters (the one cutter: the overlay's
  boundary cuts and the noder both use it).

A cross cuts both segments; a T (a segment ending on another) cuts only the one it ends on:

>>> import numpy as np
>>> a = np.array([[-1.0, 0.0], [0.0, -1.0]]); b = np.array([[1.0, 0.0], [0.0, 1.0]])
>>> pa, pb, line = node_segments(a, b, np.array([0, 1]))
>>> len(pa), line.tolist()
(4, [0, 0, 1, 1])
>>> a = np.array([[0.0, 0.0], [0.0, -1.0]]); b = np.array([[2.0, 0.0], [0.0, 1.0]])
>>> len(node_segments(a, b, np.array([0, 1]))[0])
3
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import STRtree

from onemap.parallel import map_chunks
from onemap.routing.sections import EPS

__all__ = ["CHUNK", "cut_segments", "interior_cuts", "node_segments", "segment_hits"]

CHUNK = 10_000  # segments per bounding-box query (bounds memory; speed only)
# Sine of the angle below which two meeting segments count as running along each other: a
# point of one then lies within rounding of the other over metres (numerical, not a rule).
ALONG_SINE = 1e-6


def segment_hits(
    a: np.ndarray,
    b: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    si: np.ndarray,
    ej: np.ndarray,
    *,
    along: bool = False,
) -> tuple[np.ndarray, ...]:
    """Where segment ``si`` (a→b) meets segment ``ej`` (p→q), for candidate pairs: the
    segment's index and parameter t — one t for a proper crossing, the two ends of the shared
    part for collinear segments that overlap; pairs that do not meet give nothing.

    Within ``EPS`` metres counts as meeting (a crossing at a boundary's corner is found from
    both of the corner's segments; :meth:`Overlay.cuts` keeps one cut per position).

    With ``along``, a third array gives the segments ``si`` of the pairs that run along each
    other: within ``EPS`` of one line, their spans overlapping, at an angle whose sine is
    below :data:`ALONG_SINE` (collinear to rounding). Next to such a boundary, whether a
    point is inside is decided by rounding.
    """
    # Cheap first: a boundary segment with both ends strictly on one side of the segment's
    # line (or the other way round) cannot meet it; most bounding-box candidates end here.
    ax, ay, bx, by = a[si, 0], a[si, 1], b[si, 0], b[si, 1]
    px, py, qx, qy = p[ej, 0], p[ej, 1], q[ej, 0], q[ej, 1]
    dx, dy, ex, ey = bx - ax, by - ay, qx - px, qy - py
    len_d, len_e = np.hypot(dx, dy), np.hypot(ex, ey)
    side_p = (dx * (py - ay) - dy * (px - ax)) / np.maximum(len_d, EPS)
    side_q = (dx * (qy - ay) - dy * (qx - ax)) / np.maximum(len_d, EPS)
    side_a = (ex * (ay - py) - ey * (ax - px)) / np.maximum(len_e, EPS)
    side_b = (ex * (by - py) - ey * (bx - px)) / np.maximum(len_e, EPS)
    apart = ((side_p > EPS) & (side_q > EPS)) | ((side_p < -EPS) & (side_q < -EPS))
    apart |= ((side_a > EPS) & (side_b > EPS)) | ((side_a < -EPS) & (side_b < -EPS))
    k = np.flatnonzero(~apart)
    si, ej = si[k], ej[k]
    d = b[si] - a[si]
    e = q[ej] - p[ej]
    w = p[ej] - a[si]
    len_d, len_e = len_d[k], len_e[k]
    denom = d[:, 0] * e[:, 1] - d[:, 1] * e[:, 0]
    proper = np.abs(denom) > 1e-12 * np.maximum(len_d * len_e, EPS)
    safe = np.where(proper, denom, 1.0)
    t = (w[:, 0] * e[:, 1] - w[:, 1] * e[:, 0]) / safe
    s = (w[:, 0] * d[:, 1] - w[:, 1] * d[:, 0]) / safe
    tol_t = EPS / np.maximum(len_d, EPS)
    tol_s = EPS / np.maximum(len_e, EPS)
    meets = proper & (t >= -tol_t) & (t <= 1 + tol_t) & (s >= -tol_s) & (s <= 1 + tol_s)
    # parallel: collinear when p lies on the line a→b, and then the shared part's ends count
    off = np.abs(side_p[k])
    dd = np.maximum(len_d * len_d, EPS * EPS)
    t_p = np.einsum("ij,ij->i", w, d) / dd
    t_q = np.einsum("ij,ij->i", q[ej] - a[si], d) / dd
    lo, hi = np.minimum(t_p, t_q), np.maximum(t_p, t_q)
    shared = ~proper & (off <= EPS) & (hi >= -tol_t) & (lo <= 1 + tol_t)
    seg = np.concatenate([si[meets], si[shared], si[shared]])
    out = np.concatenate([t[meets], t_p[shared], t_q[shared]])
    if not along:
        return seg, out
    grazing = np.abs(denom) <= ALONG_SINE * np.maximum(len_d * len_e, EPS)
    grazing &= (off <= EPS) & (hi >= -tol_t) & (lo <= 1 + tol_t)
    return seg, out, si[grazing]


def node_segments(
    a: np.ndarray, b: np.ndarray, line: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut segments ``a[i]→b[i]`` (of line ``line[i]``) wherever another segment meets them.

    Returns the pieces' starts, ends and line. Where two segments cross, each is cut at the
    crossing (the two computed points agree to rounding; the graph's node merge makes them one
    node); a segment ending on another's interior cuts that one.
    """
    if not len(a):
        return a.copy(), b.copy(), np.asarray(line)[:0]
    lines = shapely.linestrings(np.stack([a, b], axis=1))  # the index and its queries
    tree = STRtree(lines)

    def chunk(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        si, sj = tree.query(lines[lo:hi])
        si = si + lo
        other = si != sj
        seg, t = segment_hits(a, b, a, b, si[other], sj[other])
        # sorted here, on every core (a segment's hits are all found by the chunk holding the
        # segment, so the chunks' cuts joined in order are sorted)
        return interior_cuts(a, b, seg, t, least_t=False)[:2]

    parts = map_chunks(chunk, len(a), CHUNK)
    seg, t = np.concatenate([s for s, _ in parts]), np.concatenate([t for _, t in parts])
    pa, pb, parent = cut_segments(a, b, seg, t)
    return pa, pb, line[parent]


def interior_cuts(
    a: np.ndarray, b: np.ndarray, seg: np.ndarray, t: np.ndarray, *, least_t: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Of the points where segments ``a→b`` are met (segment ``seg``, parameter ``t``, as
    :func:`segment_hits` gives them): the cuts strictly inside a segment, one a position —
    of those that round alike (a crossing point found from two segments) the least t, in
    whatever order they were found (``least_t=False``: the first found, the noder's rule,
    kept so its graphs stay bit for bit as they were) — sorted by segment then t, ready for
    :func:`cut_segments`; and the segments met at their start and at their end (within
    ``EPS``).

    >>> a, b = np.array([[0.0, 0.0]]), np.array([[10.0, 0.0]])
    >>> seg, t = np.array([0, 0, 0]), np.array([0.5, 0.0, 0.5])
    >>> cut, t, at_start, at_end = interior_cuts(a, b, seg, t)
    >>> cut.tolist(), t.tolist(), at_start.tolist(), at_end.tolist()
    ([0], [0.5], [0], [])
    """
    d = b[seg] - a[seg]
    length = np.hypot(d[:, 0], d[:, 1])
    at_start, at_end = seg[t * length <= EPS], seg[(1.0 - t) * length <= EPS]
    inside = (t * length > EPS) & ((1.0 - t) * length > EPS)
    seg, t = seg[inside], t[inside]
    pos = np.round(t * length[inside] / EPS)
    order = np.lexsort((t, pos, seg) if least_t else (pos, seg))
    seg, t, pos = seg[order], t[order], pos[order]
    first = np.r_[True, (seg[1:] != seg[:-1]) | (pos[1:] != pos[:-1])] if len(seg) else seg
    return seg[first], t[first], at_start, at_end


def cut_segments(
    a: np.ndarray, b: np.ndarray, seg: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut segments at sorted parameters; returns piece starts, ends and parent segment index.

    ``seg``/``t`` must be sorted by segment then t, with 0 < t < 1.
    """
    n = len(a)
    counts = np.bincount(seg, minlength=n) if len(seg) else np.zeros(n, dtype=int)
    pieces_per = counts + 1
    parent = np.repeat(np.arange(n), pieces_per)
    # Most segments are not cut: a piece begins at its segment's start or at a cut, and ends
    # where the next begins or at the segment's end, so only the cut points are computed.
    pa, pb = a[parent], b[parent]
    if len(seg):
        starts = np.cumsum(pieces_per) - pieces_per  # first piece of each segment
        k = np.arange(len(seg)) - np.repeat(np.cumsum(counts) - counts, counts)
        after = starts[seg] + k + 1  # the piece that begins at this cut
        pa[after] = a[seg] + (b[seg] - a[seg]) * t[:, None]
        pb[after - 1] = pa[after]  # exact shared points: a piece ends where the next begins
    return pa, pb, parent
