"""The nearest edge to each parcel and asset, without a GEOS line an edge (issue 18).

A parcel's door lies on its boundary, at the point nearest the nearest suitable edge; an asset
joins its nearest suitable edge. An STRtree of the city's 880k suitable edges as two-point
LineStrings answered "which edge" with ``query_nearest`` at ~27 µs a parcel, after 2 s of
building the lines and the tree. :func:`nearest_edges` finds the same edge by:

* an STRtree of :class:`EdgeGroups`, runs of up to :data:`GROUP_SIZE` chained edges as one
  polyline (a fifth of the geometries; its envelopes are the edges' envelopes merged);
* for a small polygon (a city's parcels): the edges whose envelope is within ``δ`` of the
  polygon's (:data:`FIRST_REACH_M`, then, where none was nearer than that, the nearest
  found or the limit) are measured in numpy (:func:`polygon_segment_distance`, GEOS's
  distance up to rounding), and GEOS measures only the ones within :data:`TOLERANCE_M` of
  the least;
* for a point or a large polygon (a real district's fields, kilometres across, thousands of
  vertices): the groups a prepared polygon meets (distance 0: roads across a field), else
  GEOS's own nearest group and its distance ``d`` and the groups within ``d``; in order,
  their edges measured by GEOS until an edge at the least distance is found.

Distances are GEOS's, as ``STRtree.query_nearest`` measures them; of edges at the same
distance the first in the given order wins (the STRtree took any). A group's distance is the
least of its edges' (GEOS measures segment by segment); where rounding made a polygon meet a
group none of whose edges is at distance 0, the search goes on as for one meeting none.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import STRtree

from onemap.parallel import map_chunks, query_nearest
from onemap.routing.nearest import GraphEdges

__all__ = [
    "GROUP_SIZE",
    "TOLERANCE_M",
    "EdgeGroups",
    "edges_near",
    "nearest_edges",
    "polygon_segment_distance",
    "rings",
]

GROUP_SIZE = 8  # chained edges a polyline of the tree at most (speed only)
FIRST_REACH_M = 12.0  # first reach of a small polygon's search (speed only; doors ~6 m away)
TOLERANCE_M = 1e-6  # far above numpy's rounding of a metric distance, far below any gap
SMALL_SEGMENTS = 8  # ring segments of a polygon measured in numpy at most (speed, memory)
SMALL_RADIUS_M = 200.0  # half diagonal of such a polygon's bounding box at most (same)
POLYGON_CHUNK = 4096  # polygons a chunk (speed and memory only)


class EdgeGroups(GraphEdges):
    """Runs of consecutive chained edges of ``ids`` (``v`` of one the ``u`` of the next), at
    most ``size`` long, as polylines in an STRtree. The arrays are the graph's own, held.

    Parameters
    ----------
    xy
        (n_nodes, 2) metric node coordinates.
    u, v
        Start and end node of every edge of the graph.
    ids
        The edges searched, ascending (the order that breaks ties).
    size
        Edges a group at most.
    """

    def __init__(
        self,
        xy: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        ids: np.ndarray,
        *,
        size: int = GROUP_SIZE,
    ) -> None:
        super().__init__(xy, u, v, ids)
        n = len(self.ids)
        eu, ev = u[self.ids], v[self.ids]
        chained = np.zeros(n, bool)
        chained[1:] = ev[:-1] == eu[1:]
        run = np.flatnonzero(~chained)
        pos = np.arange(n) - np.repeat(run, np.diff(np.r_[run, n]))
        self.start = np.flatnonzero(~chained | (pos % size == 0))  # first edge of each group
        self.stop = np.r_[self.start[1:], n]
        group = np.repeat(np.arange(len(self.start)), self.stop - self.start)
        # a group's polyline: the start of each of its edges, then the end of its last one
        a, b = xy[eu], xy[ev]
        k = len(self.start)
        coords = np.empty((n + k, 2))
        coords[np.arange(n) + group] = a
        coords[self.stop + np.arange(k)] = b[self.stop - 1]
        self.lines = shapely.linestrings(
            coords, indices=np.repeat(np.arange(k), self.stop - self.start + 1)
        )
        self.tree = STRtree(self.lines)
        self.lo, self.hi = np.minimum(a, b), np.maximum(a, b)
        # GEOS's prepared predicates miss a polyline of one repeated point (edges of length
        # 0 only): those groups are added as candidates by their envelope
        if n:
            flat = np.all(
                np.minimum.reduceat(self.lo, self.start)
                == np.maximum.reduceat(self.hi, self.start),
                axis=1,
            )
        else:
            flat = np.zeros(0, bool)
        self.degenerate = np.flatnonzero(flat)
        self.point_tree = STRtree(shapely.points(self.lo[self.start[self.degenerate]]))

    def lines_of(self, local: np.ndarray) -> np.ndarray:
        """The edges ``ids[local]`` as two-point lines."""
        return shapely.linestrings(np.stack(self.ends(local), axis=1))

    def with_degenerate(
        self, geoms: np.ndarray, ci: np.ndarray, cg: np.ndarray, reach: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Query pairs ``(ci, cg)`` of ``geoms`` and the degenerate groups within ``reach`` of
        their envelopes."""
        if not len(self.degenerate) or not len(geoms):
            return ci, cg
        box = shapely.bounds(geoms)
        reach = np.broadcast_to(np.asarray(reach, dtype=float), (len(geoms),))[:, None]
        di, dj = self.point_tree.query(
            shapely.box(*(box[:, :2] - reach).T, *(box[:, 2:] + reach).T)
        )
        pair = np.unique(np.r_[ci, di] * len(self.start) + np.r_[cg, self.degenerate[dj]])
        return pair // len(self.start), pair % len(self.start)

    def expand(self, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every edge of each group: ``(row, local)``, ``row`` the position in ``group``."""
        count = self.stop[group] - self.start[group]
        row = np.repeat(np.arange(len(group)), count)
        offset = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
        return row, self.start[group][row] + offset


def edges_near(
    xy: np.ndarray, u: np.ndarray, v: np.ndarray, ids: np.ndarray, geoms: np.ndarray, reach: float
) -> np.ndarray:
    """The edges of ``ids`` (in order) whose envelope may be within ``reach`` of the envelope
    of one of ``geoms``: every edge within ``reach`` of one of them, and few others.

    For the few parcels with no suitable edge in reach (issue 18: GEOS lines and a tree of a
    city's 470k other edges were built for a few hundred parcels). Cells of ``reach`` metres
    are marked where a geometry's grown envelope lies; an edge is kept where a corner cell of
    its envelope is marked, or where it spans more than two cells a side.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not len(geoms) or not len(ids):
        return ids[:0]
    size = max(float(reach), 1.0)
    box = shapely.bounds(geoms)
    lo = np.floor((box[:, :2] - reach) / size).astype(np.int64)
    hi = np.floor((box[:, 2:] + reach) / size).astype(np.int64)
    span = hi - lo + 1
    count = span[:, 0] * span[:, 1]
    owner = np.repeat(np.arange(len(geoms)), count)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    cx, cy = lo[owner, 0] + k % span[owner, 0], lo[owner, 1] + k // span[owner, 0]
    marked = np.unique(_cell_key(cx, cy))
    a, b = xy[u[ids]], xy[v[ids]]
    elo = np.floor(np.minimum(a, b) / size).astype(np.int64)
    ehi = np.floor(np.maximum(a, b) / size).astype(np.int64)
    keep = np.any(ehi - elo > 1, axis=1)
    for x, y in (
        (elo[:, 0], elo[:, 1]),
        (elo[:, 0], ehi[:, 1]),
        (ehi[:, 0], elo[:, 1]),
        (ehi[:, 0], ehi[:, 1]),
    ):
        keep |= np.isin(_cell_key(x, y), marked)
    return ids[keep]


def _cell_key(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x + 2**31) * 2**32 + (y + 2**31)


def rings(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ring segments of polygons (exterior and holes of every part).

    Returns
    -------
    tuple of numpy.ndarray
        ``(seg, start)``: ``seg`` (n, 2, 2) segment ends polygon by polygon, and ``start``
        (len(polygons) + 1,) the first segment of every polygon (``seg[start[i]:start[i+1]]``).
    """
    # A polygon of one ring (every parcel of a city) is its coordinates; the rings of the
    # others (holes, parts) come from GEOS one by one (shapely.boundary of every parcel built
    # a line of each: a third of the search).
    simple = (shapely.get_type_id(polygons) == 3) & (shapely.get_num_interior_rings(polygons) == 0)
    coords, owner = shapely.get_coordinates(polygons[simple], return_index=True)
    ring = owner
    owner = np.flatnonzero(simple)[owner]
    other = np.flatnonzero(~simple)
    if len(other):
        parts, part_owner = shapely.get_parts(polygons[other], return_index=True)
        rings_, ring_owner = shapely.get_rings(parts, return_index=True)
        extra, extra_ring = shapely.get_coordinates(rings_, return_index=True)
        coords = np.vstack([coords, extra])
        owner = np.r_[owner, other[part_owner[ring_owner[extra_ring]]]]
        ring = np.r_[ring, extra_ring + (ring.max(initial=-1) + 1)]
        order = np.argsort(owner, kind="stable")  # polygon by polygon, rings in order
        coords, owner, ring = coords[order], owner[order], ring[order]
    same = ring[1:] == ring[:-1]  # consecutive coordinates of one ring
    seg = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    start = np.searchsorted(owner[:-1][same], np.arange(len(polygons) + 1))
    return seg, start


def _to_segment2(px, py, ax, ay, bx, by):
    """Squared distance of points to segments a→b, coordinate columns (a zero-length segment
    is its point)."""
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0)
    t[len2 == 0] = 0.0
    ex, ey = px - ax - t * dx, py - ay - t * dy
    return ex * ex + ey * ey


def polygon_segment_distance(
    seg: np.ndarray, owner: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Distance of segments ``a[k]→b[k]`` to polygons given by their ring segments, as GEOS
    measures it up to rounding: 0 where the segment meets a ring or starts inside the
    polygon, else the least distance of a ring vertex to the segment or of a segment end to
    a ring segment.

    Parameters
    ----------
    seg
        (m, 2, 2) ring segments (:func:`rings`, closed rings) of the polygon of each of the
        ``n`` pairs, every ring whole.
    owner
        (m,) the pair (0…n-1) each ring segment belongs to.
    a, b
        (n, 2) segment ends.

    Returns
    -------
    numpy.ndarray
        (n,) distances; ``inf`` for a pair without ring segments.
    """
    n = len(a)
    px, py, qx, qy = seg[:, 0, 0], seg[:, 0, 1], seg[:, 1, 0], seg[:, 1, 1]
    cx, cy, dx, dy = a[owner, 0], a[owner, 1], b[owner, 0], b[owner, 1]
    # a ring vertex to the segment (every vertex starts a segment of its closed ring), and
    # the segment's ends to the ring segment
    dist2 = np.minimum(
        _to_segment2(px, py, cx, cy, dx, dy),
        np.minimum(_to_segment2(cx, cy, px, py, qx, qy), _to_segment2(dx, dy, px, py, qx, qy)),
    )
    # the segments cross or touch (collinear ones are left to the end distances): only
    # where their envelopes meet
    box = (
        (np.minimum(px, qx) <= np.maximum(cx, dx))
        & (np.minimum(cx, dx) <= np.maximum(px, qx))
        & (np.minimum(py, qy) <= np.maximum(cy, dy))
        & (np.minimum(cy, dy) <= np.maximum(py, qy))
    )
    k = np.flatnonzero(box)
    if len(k):
        o1 = _orient(px[k], py[k], qx[k], qy[k], cx[k], cy[k])
        o2 = _orient(px[k], py[k], qx[k], qy[k], dx[k], dy[k])
        o3 = _orient(cx[k], cy[k], dx[k], dy[k], px[k], py[k])
        o4 = _orient(cx[k], cy[k], dx[k], dy[k], qx[k], qy[k])
        meet = (o1 * o2 <= 0) & (o3 * o4 <= 0) & ((o1 != 0) | (o2 != 0))
        dist2[k[meet]] = 0.0
    least = np.full(n, np.inf)
    np.minimum.at(least, owner, dist2)
    # the segment's start inside the polygon: an odd number of ring crossings of a ray to +x
    up = (py > cy) != (qy > cy)
    k = np.flatnonzero(up & (cx < np.maximum(px, qx)))
    x = px[k] + (cy[k] - py[k]) * (qx[k] - px[k]) / (qy[k] - py[k])
    inside = np.bincount(owner[k], weights=cx[k] < x, minlength=n) % 2 == 1
    return np.sqrt(np.where(inside, 0.0, least))


def _orient(px, py, qx, qy, rx, ry):
    return np.sign((qx - px) * (ry - py) - (qy - py) * (rx - px))


def nearest_edges(groups: EdgeGroups, geoms: np.ndarray, *, max_distance: float) -> np.ndarray:
    """The edge of ``groups`` nearest each geometry (see the module), within
    ``max_distance``; -1 where none.

    Parameters
    ----------
    groups
        The edges searched.
    geoms
        Shapely points, polygons or multipolygons (metric).
    max_distance
        Metres.

    Returns
    -------
    numpy.ndarray
        (len(geoms),) int64 edge ids.
    """
    out = np.full(len(geoms), -1, dtype=np.int64)
    if not len(geoms) or not len(groups):
        return out
    seg, start = rings(geoms)
    box = shapely.bounds(geoms)
    half_diagonal = np.hypot(*((box[:, 2:] - box[:, :2]) / 2).T)
    # Large or detailed polygons meet thousands of candidates, each measured against every
    # ring segment in numpy: GEOS's search is the faster there (and for points).
    count = np.diff(start)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    small = polygonal & (count <= SMALL_SEGMENTS) & (half_diagonal <= SMALL_RADIUS_M)
    which = np.flatnonzero(small)
    seg_count = count[which]
    first = np.repeat(start[:-1][which], seg_count)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(seg_count) - seg_count, seg_count)
    seg_small, start_small = seg[first + offset], np.r_[0, np.cumsum(seg_count)]

    def part(lo: int, hi: int) -> np.ndarray:
        return _small_nearest(
            groups,
            geoms[which[lo:hi]],
            box[which[lo:hi]],
            seg_small[start_small[lo] : start_small[hi]],
            start_small[lo : hi + 1] - start_small[lo],
            max_distance,
        )

    if len(which):
        out[which] = np.concatenate(map_chunks(part, len(which), POLYGON_CHUNK))
    rest = np.flatnonzero(~small)
    if len(rest):
        out[rest] = _geos_nearest(groups, geoms[rest], max_distance)
    return out


def _small_nearest(
    groups: EdgeGroups,
    polygons: np.ndarray,
    box: np.ndarray,
    seg: np.ndarray,
    start: np.ndarray,
    max_distance: float,
) -> np.ndarray:
    """:func:`nearest_edges` of small polygons (bounds ``box``, ring segments ``seg`` with
    offsets ``start``)."""
    n = len(polygons)
    out = np.full(n, -1, dtype=np.int64)
    reach = np.full(n, min(FIRST_REACH_M, max_distance))
    todo = np.arange(n)
    found_poly, found_edge, found_dist = [], [], []
    while len(todo):
        poly, local, approx = _candidates(
            groups, box[todo], seg, start[:-1][todo], np.diff(start)[todo], reach[todo]
        )
        poly = todo[poly]
        least = np.full(n, np.inf)
        np.minimum.at(least, poly, approx)
        # every edge within ``least`` of a polygon was a candidate where least ≤ its reach;
        # elsewhere look again as far as the nearest found (or the limit)
        done = least[todo] + 2 * TOLERANCE_M <= reach[todo]
        done |= reach[todo] >= max_distance
        keep = done[np.searchsorted(todo, poly)]
        found_poly.append(poly[keep])
        found_edge.append(local[keep])
        found_dist.append(approx[keep])
        todo = todo[~done]
        reach[todo] = np.minimum(least[todo], max_distance) + 2 * TOLERANCE_M
    poly, local, approx = map(np.concatenate, (found_poly, found_edge, found_dist))
    least = np.full(n, np.inf)
    np.minimum.at(least, poly, approx)
    close = approx <= np.minimum(least[poly], max_distance) + 2 * TOLERANCE_M
    poly, local = poly[close], local[close]
    # GEOS's distance of the closest few; the nearest, then the first in order
    exact = shapely.distance(polygons[poly], groups.lines_of(local))
    order = np.lexsort((local, exact, poly))
    poly, local, exact = poly[order], local[order], exact[order]
    best = np.r_[True, poly[1:] != poly[:-1]] & (exact <= max_distance)
    out[poly[best]] = groups.ids[local[best]]
    return out


def _candidates(
    groups: EdgeGroups,
    box: np.ndarray,
    seg: np.ndarray,
    seg_first: np.ndarray,
    seg_count: np.ndarray,
    reach: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges whose envelope is within ``reach`` of each polygon's (bounds ``box``, ring
    segments ``seg[seg_first:seg_first + seg_count]``) and their numpy distances:
    ``(polygon, local edge, distance)``, polygon by polygon, edges in order."""
    grown = shapely.box(*(box[:, :2] - reach[:, None]).T, *(box[:, 2:] + reach[:, None]).T)
    poly, group = groups.tree.query(grown)
    order = np.lexsort((group, poly))
    poly, group = poly[order], group[order]
    row, local = groups.expand(group)
    poly = poly[row]
    gx = np.maximum(
        np.maximum(box[poly, 0] - groups.hi[local, 0], groups.lo[local, 0] - box[poly, 2]), 0
    )
    gy = np.maximum(
        np.maximum(box[poly, 1] - groups.hi[local, 1], groups.lo[local, 1] - box[poly, 3]), 0
    )
    near = gx * gx + gy * gy <= reach[poly] ** 2
    poly, local = poly[near], local[near]
    count = seg_count[poly]
    owner = np.repeat(np.arange(len(poly)), count)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    a, b = groups.ends(local)
    approx = polygon_segment_distance(seg[seg_first[poly][owner] + offset], owner, a, b)
    return poly, local, approx


def _geos_nearest(groups: EdgeGroups, geoms: np.ndarray, max_distance: float) -> np.ndarray:
    """:func:`nearest_edges` by GEOS, for points and large polygons (see :func:`_first_at`).

    A field crossed by roads is at distance 0 of hundreds of groups: GEOS's nearest search
    measures them all against a ring of thousands of vertices, while a prepared polygon tells
    which groups meet it at a fraction of that. So polygons meeting groups take the first
    group's edge at distance 0; the others (and points) GEOS's nearest group's distance.
    """
    out = np.full(len(geoms), -1, dtype=np.int64)
    least = np.full(len(geoms), np.inf)
    best_edge = np.full(len(geoms), -1, dtype=np.int64)
    best_dist = np.full(len(geoms), np.inf)
    polygonal = np.flatnonzero(np.isin(shapely.get_type_id(geoms), (3, 6)))
    if len(polygonal):
        ci, cg = groups.tree.query(geoms[polygonal], predicate="intersects")
        met = polygonal[np.unique(ci)]
        ci, cg = groups.with_degenerate(geoms[met], *_renumber(ci, cg), TOLERANCE_M)
        least[met] = 0.0
        best_edge[met], best_dist[met] = _first_at(groups, geoms[met], ci, cg, 0.0)
    # none met, or (rounding) none at 0 after all
    rest = np.flatnonzero(~np.isfinite(least) | (best_dist > least))
    i, j = query_nearest(groups.tree, geoms[rest], max_distance=max_distance, all_matches=False)
    if len(i):
        row = rest[i]
        least[row] = shapely.distance(geoms[row], groups.lines[j])
        reach = least[row] + TOLERANCE_M
        ci, cg = groups.tree.query(geoms[row], predicate="dwithin", distance=reach)
        ci, cg = groups.with_degenerate(geoms[row], ci, cg, reach)
        best_edge[row], best_dist[row] = _first_at(groups, geoms[row], ci, cg, least[row])
    ok = (best_edge >= 0) & (best_dist <= max_distance)
    out[ok] = groups.ids[best_edge[ok]]
    return out


def _renumber(ci: np.ndarray, cg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Query pairs with the inputs that have any numbered 0, 1… in order."""
    _, ci = np.unique(ci, return_inverse=True)
    return ci, cg


def _first_at(
    groups: EdgeGroups,
    geoms: np.ndarray,
    ci: np.ndarray,
    cg: np.ndarray,
    least: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each geometry's candidate groups ``cg`` (pairs ``(ci, cg)``) in order, measured edge
    by edge with GEOS, until one has an edge at the distance ``least``: the first edge at
    the least distance found and that distance (``inf`` where no candidate)."""
    n = len(geoms)
    least = np.broadcast_to(np.asarray(least, dtype=float), (n,))
    order = np.lexsort((cg, ci))
    ci, cg = ci[order], cg[order]
    at = np.searchsorted(ci, np.arange(n))  # each geometry's first candidate group
    end = np.r_[at[1:], len(ci)]
    best_edge = np.full(n, -1, dtype=np.int64)
    best_dist = np.full(n, np.inf)
    todo = np.flatnonzero(at < end)
    while len(todo):
        row, local = groups.expand(cg[at[todo]])
        dist = shapely.distance(geoms[todo[row]], groups.lines_of(local))
        order = np.lexsort((local, dist, row))
        row, local, dist = row[order], local[order], dist[order]
        first = np.r_[True, row[1:] != row[:-1]]
        row, local, dist = row[first], local[first], dist[first]
        better = dist < best_dist[todo[row]]
        best_edge[todo[row[better]]] = local[better]
        best_dist[todo[row[better]]] = dist[better]
        at[todo] += 1
        todo = todo[(best_dist[todo] > least[todo]) & (at[todo] < end[todo])]
    return best_edge, best_dist
