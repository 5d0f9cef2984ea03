"""The nearest-edge index (onemap.routing.nearest) against GEOS: the same distances as
``shapely.distance``, the same nearest edge as a brute-force search and as the STRtree of
edge lines it replaced (issue 18), ties to the first edge."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import STRtree

from onemap.routing.build import corridor_graph
from onemap.routing.graph import attach_passes
from onemap.routing.nearest import EdgeIndex, point_segment_distance

# metric coordinates to the centimetre (no subnormal segments, whose squared length GEOS
# itself turns into a division by zero)
coord = st.integers(-50_000, 50_000).map(lambda c: c / 100.0)
point = st.tuples(coord, coord)


def geos_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return shapely.distance(shapely.points(p), shapely.linestrings(np.stack([a, b], axis=1)))


@given(st.lists(st.tuples(point, point, point), min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_point_segment_distance_is_geos_distance_to_the_bit(rows):
    p, a, b = (np.array([r[k] for r in rows]) for k in range(3))
    b = np.where(np.arange(len(rows))[:, None] % 5 == 0, a, b)  # zero-length segments too
    assert np.array_equal(point_segment_distance(p, a, b), geos_distance(p, a, b))


def brute_nearest(xy, u, v, ids, pts, max_distance):
    """The nearest edge by measuring every edge with GEOS; ties to the first in ``ids``."""
    a, b = xy[u[ids]], xy[v[ids]]
    out = []
    for p in pts:
        d = geos_distance(np.repeat(p[None], len(ids), 0), a, b)
        k = int(np.argmin(d))  # argmin: the first of equal distances
        out.append(ids[k] if d[k] <= max_distance else -1)
    return np.array(out, dtype=np.int64)


@given(
    st.lists(point, min_size=2, max_size=30),
    st.lists(point, min_size=1, max_size=12),
    st.sampled_from([1.0, 7.0, 50.0]),
    st.sampled_from([0.0, 5.0, 40.0, 2000.0]),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=200, deadline=None)
def test_nearest_is_the_brute_force_nearest(nodes, queries, spacing, max_distance, seed):
    rng = np.random.default_rng(seed)
    xy = np.array(nodes)
    n_edges = int(rng.integers(1, 3 * len(xy)))
    u, v = rng.integers(0, len(xy), n_edges), rng.integers(0, len(xy), n_edges)
    ids = np.sort(rng.choice(n_edges, size=int(rng.integers(1, n_edges + 1)), replace=False))
    # some queries on the nodes and on edges' middles: equal distances to several edges
    pts = np.vstack([np.array(queries), xy[u[ids[:2]]], (xy[u[ids[:2]]] + xy[v[ids[:2]]]) / 2])
    got = EdgeIndex(xy, u, v, ids, spacing=spacing).nearest(pts, max_distance)
    assert got.tolist() == brute_nearest(xy, u, v, ids, pts, max_distance).tolist()


def test_a_point_without_coordinates_joins_nothing():
    xy = np.array([[0.0, 0.0], [10.0, 0.0]])
    index = EdgeIndex(xy, np.array([0]), np.array([1]), np.array([0]))
    pts = np.array([[5.0, 1.0], [np.nan, 0.0], [5.0, np.inf]])
    assert index.nearest(pts, 10.0).tolist() == [0, -1, -1]


def test_an_empty_index_and_no_points():
    xy = np.zeros((2, 2))
    empty = EdgeIndex(xy, np.array([0]), np.array([1]), np.empty(0, np.int64))
    assert empty.nearest(np.array([[0.0, 0.0]]), 10.0).tolist() == [-1]
    index = EdgeIndex(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0]), np.array([1]), [0])
    assert index.nearest(np.empty((0, 2)), 10.0).tolist() == []


@pytest.fixture(scope="module")
def demo_graph(demo_map):
    return corridor_graph(demo_map)


def test_graph_nearest_edges_as_the_strtree_of_edge_lines(demo_graph):
    """What the graph's STRtree of two-point lines answered (suitable edges first, then the
    rest): the same edge at the same distance, or an edge at exactly that distance."""
    g = demo_graph
    rng = np.random.default_rng(7)
    lo, hi = g.xy.min(axis=0) - 100, g.xy.max(axis=0) + 100
    pts = np.vstack(
        [
            lo + rng.random((400, 2)) * (hi - lo),
            g.xy[rng.integers(0, g.n_nodes, 200)] + rng.normal(0, 3, (200, 2)),
            g.xy[rng.integers(0, g.n_nodes, 50)],  # on nodes: ties between their edges
        ]
    )
    limit = g.rules.filing.attach_max_m
    old = np.full(len(pts), -1)
    for idx in attach_passes(g.corridor):
        tree = STRtree(shapely.linestrings(np.stack([g.xy[g.u[idx]], g.xy[g.v[idx]]], 1)))
        todo = np.flatnonzero(old < 0)
        i, j = tree.query_nearest(shapely.points(pts[todo]), max_distance=limit)
        old[todo[i]] = idx[j]
    new = g.nearest_edges(pts, limit)
    assert np.array_equal(new >= 0, old >= 0) and (new >= 0).sum() > 300
    found = new >= 0

    def dist(e):
        return geos_distance(pts[found], g.xy[g.u[e[found]]], g.xy[g.v[e[found]]])

    assert np.array_equal(dist(new), dist(old))
    assert (new == old).mean() > 0.9  # only ties may differ
