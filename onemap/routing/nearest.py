"""The nearest edge to query points, without a GEOS geometry an edge (issue 18).

A query point (a site, a route's end, a tee joint) joins the corridor graph at its nearest
edge. An STRtree of every edge as a two-point LineString answers that, but costs a district
(Xinwu, 631k edges) 1.5 s and 210 MiB before its first route. :class:`EdgeIndex` holds numpy
arrays and a SciPy KD-tree of sample points instead:

* each edge is sampled at the middles of ``⌈length / spacing⌉`` equal parts, so every point
  of the edge lies within ``spacing / 2`` of one of its samples;
* the edges of a point's few nearest samples give an upper bound ``d0`` of its distance to
  the nearest edge; that edge has a sample within ``min(d0, max_distance) + spacing / 2``, so
  the edges with a sample in that ball are all the candidates, measured exactly;
* distances are computed as GEOS computes a point's distance to a segment
  (:func:`point_segment_distance`), so the nearest edge is the one ``STRtree.query_nearest``
  finds; of edges at the same distance the first in the index's order is taken.

>>> import numpy as np
>>> xy = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 10.0], [100.0, 10.0]])
>>> u, v = np.array([0, 2, 0]), np.array([1, 3, 2])  # two streets and a link between them
>>> index = EdgeIndex(xy, u, v, np.array([0, 1]))  # the streets only
>>> index.nearest(np.array([[50.0, 8.0], [50.0, 40.0], [-1.0, 5.0]]), 20.0)
array([ 1, -1,  0])
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["SPACING_M", "EdgeIndex", "GraphEdges", "point_segment_distance"]

SPACING_M = 20.0  # metres between an edge's samples (speed and memory only, not a rule)
FIRST_K = 8  # nearest samples that bound a point's distance (speed only)
_SLACK_M = 1e-6  # rounding of the sample coordinates, far below any distance that matters


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points ``p`` to segments ``a→b`` (rows, broadcast), in the operations and
    order of GEOS ``Distance::pointToSegment`` — so equal to ``shapely.distance`` of the
    point and the two-point line, not only close to it.

    >>> point_segment_distance(np.array([3.0, 4.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    array(5.)
    >>> float(point_segment_distance(np.array([5.0, 2.0]), np.zeros(2), np.array([10.0, 0.0])))
    2.0
    """
    px, py = p[..., 0], p[..., 1]
    ax, ay, bx, by = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    point = (ax == bx) & (ay == by)
    safe = np.where(point, 1.0, len2)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = ((px - ax) * dx + (py - ay) * dy) / safe
        s = ((ay - py) * dx - (ax - px) * dy) / safe
    to_a = np.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    to_b = np.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    inner = np.abs(s) * np.sqrt(len2)
    return np.where(point | (r <= 0.0), to_a, np.where(r >= 1.0, to_b, inner))


class GraphEdges:
    """Some edges of a graph, by id: edge ``e`` runs from node ``u[e]`` to node ``v[e]`` at
    coordinates ``xy`` (the graph's own arrays, held, not copied); ``ids`` in the order that
    breaks ties between edges at the same distance (the first wins). The base of the
    nearest-edge searches here and in :mod:`onemap.routing.doors`."""

    def __init__(self, xy: np.ndarray, u: np.ndarray, v: np.ndarray, ids: np.ndarray) -> None:
        self.xy, self.u, self.v = xy, u, v
        self.ids = np.asarray(ids, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def ends(self, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of the ends of the edges ``ids[local]``."""
        edge = self.ids[local]
        return self.xy[self.u[edge]], self.xy[self.v[edge]]


class EdgeIndex(GraphEdges):
    """Nearest-edge search over the straight edges ``ids`` of a graph (see module): edge
    ``e`` runs from node ``u[e]`` to node ``v[e]``, at coordinates ``xy``. The arrays are the
    graph's own, held, not copied; the index adds a KD-tree of samples and their edges.

    Parameters
    ----------
    xy
        (n_nodes, 2) metric node coordinates.
    u, v
        Start and end node of every edge of the graph.
    ids
        The edges searched, in the order that breaks ties (the first wins).
    spacing
        Largest distance between an edge's samples, metres.
    """

    def __init__(
        self,
        xy: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        ids: np.ndarray,
        *,
        spacing: float = SPACING_M,
    ) -> None:
        super().__init__(xy, u, v, ids)
        self.half = spacing / 2.0
        a, b = self.ends(np.arange(len(self.ids)))
        length = np.hypot(*(b - a).T)
        parts = np.maximum(np.ceil(length / spacing), 1).astype(np.int64)
        edge = np.repeat(np.arange(len(self.ids), dtype=np.int32), parts)
        first = np.repeat(np.cumsum(parts) - parts, parts)
        t = (np.arange(len(edge)) - first + 0.5) / parts[edge]
        samples = a[edge] + t[:, None] * (b[edge] - a[edge])
        self.sample_edge = edge
        # midpoint splits build the tree in half the time of median splits (speed only)
        self.tree = cKDTree(samples, balanced_tree=False) if len(samples) else None

    def nearest(self, points: np.ndarray, max_distance: float) -> np.ndarray:
        """The id of the nearest edge within ``max_distance`` of each point, -1 where none.

        Parameters
        ----------
        points
            (m, 2) metric points.
        max_distance
            Metres.

        Returns
        -------
        numpy.ndarray
            (m,) int64 edge ids.
        """
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        out = np.full(len(pts), -1, dtype=np.int64)
        placed = np.flatnonzero(np.isfinite(pts).all(axis=1))  # a point without a place: -1
        if self.tree is None or not len(placed):
            return out
        if len(placed) < len(pts):
            out[placed] = self.nearest(pts[placed], max_distance)
            return out
        k = min(FIRST_K, self.tree.n)
        _, s = self.tree.query(pts, k=k)
        cand = self.sample_edge[np.asarray(s).reshape(len(pts), k)]
        a, b = self.ends(cand)
        bound = point_segment_distance(pts[:, None, :], a, b).min(axis=1)
        radius = np.minimum(bound, max_distance) + self.half + _SLACK_M
        balls = self.tree.query_ball_point(pts, radius, return_sorted=False)
        counts = np.fromiter(map(len, balls), dtype=np.int64, count=len(pts))
        flat = np.fromiter(
            itertools.chain.from_iterable(balls), dtype=np.int64, count=int(counts.sum())
        )
        if not len(flat):
            return out
        point = np.repeat(np.arange(len(pts)), counts)
        edge = self.sample_edge[flat]
        dist = point_segment_distance(pts[point], *self.ends(edge))
        order = np.lexsort((edge, dist, point))  # per point: nearest, then first in order
        point, edge, dist = point[order], edge[order], dist[order]
        best = np.r_[True, point[1:] != point[:-1]]
        point, edge, dist = point[best], edge[best], dist[best]
        near = dist <= max_distance
        out[point[near]] = self.ids[edge[near]]
        return out
