"""Chunked, threaded work gives the answers of the plain calls (onemap.parallel, issue 18).

The corridor graph's cold build runs its vectorised steps in chunks on every core. These tests
check each chunked step against the unchunked call or a brute-force reference, with chunks
small enough that every input is split many times, and the whole graph built on one thread
against the graph built on two.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import onemap.parallel as parallel
from onemap.geo.mapfile import read_map
from onemap.routing import build, overlay
from onemap.routing.build import build_corridor_graph, corridor_model
from onemap.routing.overlay import z_order
from onemap.rules import resolve_rules

coord = st.floats(min_value=-500, max_value=500, allow_nan=False)
point = st.tuples(coord, coord)


def test_doctests():
    assert doctest.testmod(parallel).failed == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(point, point), min_size=1, max_size=40), st.integers(1, 7))
def test_chunked_buffer_is_the_plain_buffer(pairs, size):
    lines = shapely.linestrings(np.asarray(pairs, dtype=float))
    dist = np.linspace(0.5, 9.0, len(lines))
    plain = shapely.buffer(lines, dist, quad_segs=4)
    got = parallel.chunked(lambda g, d: shapely.buffer(g, d, quad_segs=4), lines, dist, size=size)
    assert len(got) == len(plain)
    assert shapely.equals_exact(got, plain, tolerance=0).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(point, point), min_size=1, max_size=30),
    st.lists(point, min_size=1, max_size=40),
    st.integers(1, 5),
)
def test_chunked_nearest_is_the_plain_nearest(pairs, pts, size):
    tree = shapely.STRtree(shapely.linestrings(np.asarray(pairs, dtype=float)))
    geoms = shapely.points(np.asarray(pts, dtype=float))
    plain = tree.query_nearest(geoms, max_distance=200.0, all_matches=True)
    got = parallel.query_nearest(tree, geoms, size=size, max_distance=200.0, all_matches=True)
    assert np.array_equal(got, plain)


@settings(max_examples=60, deadline=None)
@given(st.lists(point, min_size=0, max_size=200))
def test_z_order_is_a_permutation_and_keeps_neighbours_together(pts):
    xy = np.asarray(pts, dtype=float).reshape(-1, 2)
    order = z_order(xy)
    assert sorted(order.tolist()) == list(range(len(xy)))
    # points of one 1 m cell are consecutive in the order
    cell = np.floor(xy - (xy.min(axis=0) if len(xy) else 0)).astype(np.int64)[order]
    if len(cell):
        key = [tuple(c) for c in cell]
        seen, last = set(), None
        for k in key:
            assert k == last or k not in seen
            seen.add(k)
            last = k


def test_map_chunks_keeps_order_on_many_threads(monkeypatch):
    monkeypatch.setenv("ONEMAP_THREADS", "4")
    assert parallel.threads() == 4
    got = parallel.map_chunks(lambda lo, hi: (lo, hi), 10, 3)
    assert got == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert parallel.map_chunks(lambda lo, hi: lo, 0, 3) == []


def _reference_classes(ov: overlay.Overlay, xy: np.ndarray) -> np.ndarray:
    """The classifier's rule computed the slow way: every polygon tested against every point,
    the highest rank winning, then the lowest index."""
    out = np.full(len(xy), -1)
    pts = shapely.points(xy)
    for k, p in enumerate(pts):
        hit = np.flatnonzero(shapely.intersects(ov.geoms, p))
        if len(hit):
            best = hit[np.lexsort((hit, -ov.rank[hit]))][0]
            out[k] = best
    return out


def test_chunked_classify_matches_a_brute_force_reference(demo_map, monkeypatch):
    monkeypatch.setattr(overlay, "POINT_CHUNK", 97)  # many chunks of the 3000 points
    _, ov = corridor_model(demo_map)
    xmin, ymin, xmax, ymax = shapely.total_bounds(ov.geoms)
    rng = np.random.default_rng(18)
    xy = rng.uniform([xmin, ymin], [xmax, ymax], size=(3000, 2))
    assert len(xy) >= overlay.INVERT_AT  # the chunked, inverted query is the one under test
    got = ov._containing(xy, best=True)
    want = _reference_classes(ov, xy)
    assert (want >= 0).sum() > 500  # the sample lands on many corridors
    on = np.full(len(xy), -1)
    on[got[0]] = got[1]
    assert np.array_equal(on, want)


@pytest.mark.parametrize("small_chunks", [False, True])
def test_graph_on_one_thread_equals_graph_on_two(demo_map_path, monkeypatch, small_chunks):
    monkeypatch.setenv("ONEMAP_GRAPH_CACHE", "0")  # build both, corridor model included
    monkeypatch.setenv("ONEMAP_THREADS", "1")
    first = read_map(demo_map_path)
    one = build_corridor_graph(first, resolve_rules(first))
    monkeypatch.setenv("ONEMAP_THREADS", "2")
    if small_chunks:
        monkeypatch.setattr(overlay, "POINT_CHUNK", 513)
        monkeypatch.setattr(build, "POINT_CHUNK", 513)
        monkeypatch.setattr(parallel, "CHUNK", 257)
    second = read_map(demo_map_path)
    two = build_corridor_graph(second, resolve_rules(second))
    assert len(one.model.polygons) == len(two.model.polygons)
    assert shapely.equals_exact(
        one.model.polygons.geometry.values, two.model.polygons.geometry.values, tolerance=0
    ).all()
    for name in ("xy", "u", "v", "corridor", "poly"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    assert one.parcel_node.equals(two.parcel_node)
    assert one.asset_node.equals(two.asset_node)


def test_cuts_in_small_chunks_equal_the_cuts_on_the_whole_map_index(demo_map, monkeypatch):
    """Each chunk of segments meets the boundaries of the polygons over its bounding box only
    (no index of the whole map is held); the cuts are those of one chunk over every polygon."""
    _, ov = corridor_model(demo_map)
    xmin, ymin, xmax, ymax = shapely.total_bounds(ov.geoms)
    rng = np.random.default_rng(7)
    a = rng.uniform([xmin, ymin], [xmax, ymax], size=(400, 2))
    b = a + rng.uniform(-150.0, 150.0, size=(400, 2))
    monkeypatch.setattr(overlay, "CROSSING_CHUNK", 10**9)  # one chunk: every polygon
    whole = ov.cuts(a, b)
    monkeypatch.setattr(overlay, "CROSSING_CHUNK", 7)  # ~60 Z-ordered chunks
    local = ov.cuts(a, b)
    assert len(whole[0]) > 400  # the sample crosses many boundaries
    assert np.array_equal(local[0], whole[0])
    assert np.array_equal(local[1], whole[1])
