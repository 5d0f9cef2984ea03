"""The nearest edge of parcels and assets (onemap.routing.doors) against GEOS (issue 18): the
numpy polygon-to-segment distance close to ``shapely.distance``; the nearest edge the one a
brute-force search with GEOS's distance finds, ties to the lowest edge id; the demo map's
graph the one the STRtree of every edge as a line built."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import STRtree

from onemap.parallel import query_nearest
from onemap.routing import build, doors
from onemap.routing.doors import (
    TOLERANCE_M,
    EdgeGroups,
    edges_near,
    nearest_edges,
    polygon_segment_distance,
    rings,
)
from onemap.routing.graph import attach_passes
from onemap.rules import resolve_rules

# metric coordinates to the centimetre, about a real map's origin (rounding as on a map)
coord = st.integers(-20_000, 20_000).map(lambda c: c / 100.0)
point = st.tuples(coord, coord)
ORIGIN = np.array([500_000.0, 3_800_000.0])


@st.composite
def polygons(draw):
    """A rectangle, a convex polygon, a star-shaped one, one with a hole, or two parts."""
    kind = draw(st.sampled_from(["box", "hull", "star", "hole", "multi"]))
    x, y = draw(point)
    w, h = (
        draw(coord.map(abs).filter(lambda c: c > 1)),
        draw(coord.map(abs).filter(lambda c: c > 1)),
    )
    if kind == "box":
        return shapely.box(x, y, x + w, y + h)
    if kind == "hole":
        return shapely.box(x, y, x + w, y + h).difference(
            shapely.box(x + w / 4, y + h / 4, x + 3 * w / 4, y + 3 * h / 4)
        )
    if kind == "multi":
        return shapely.multipolygons(
            [shapely.box(x, y, x + w, y + h), shapely.box(x + 2 * w, y, x + 3 * w, y + h)]
        )
    pts = np.array(draw(st.lists(point, min_size=3, max_size=12)))
    if kind == "hull":
        poly = shapely.convex_hull(shapely.multipoints(pts))
    else:
        angle = np.arctan2(*(pts - pts.mean(axis=0)).T[::-1])
        poly = shapely.polygons(pts[np.argsort(angle)])
        poly = poly if poly.is_valid else shapely.convex_hull(poly)
    return (
        poly if poly.geom_type == "Polygon" and poly.area > 1 else shapely.box(x, y, x + w, y + h)
    )


def geos_distance(poly, a, b):
    return shapely.distance(poly, shapely.linestrings(np.stack([a, b], axis=1)))


@given(polygons(), st.lists(st.tuples(point, point), min_size=1, max_size=30))
@settings(max_examples=300, deadline=None)
def test_polygon_segment_distance_is_geos_distance_up_to_rounding(poly, segments):
    poly = shapely.transform(poly, lambda c: c + ORIGIN)
    a = np.array([s[0] for s in segments]) + ORIGIN
    b = np.array([s[1] for s in segments]) + ORIGIN
    b[::4] = a[::4]  # zero-length segments
    centre = shapely.get_coordinates(shapely.point_on_surface(poly))
    a[1::5] = centre  # segments from inside the polygon
    seg, _ = rings(np.array([poly]))
    got = polygon_segment_distance(
        np.tile(seg, (len(a), 1, 1)), np.repeat(np.arange(len(a)), len(seg)), a, b
    )
    want = geos_distance(poly, a, b)
    assert np.all(np.abs(got - want) <= TOLERANCE_M / 2)


def brute_nearest(xy, u, v, ids, geoms, max_distance):
    """GEOS's distance to every edge; the least, then the lowest id."""
    lines = shapely.linestrings(np.stack([xy[u[ids]], xy[v[ids]]], axis=1))
    out = []
    for g in geoms:
        d = shapely.distance(g, lines)
        k = int(np.argmin(d))  # the first of equal distances
        out.append(ids[k] if d[k] <= max_distance else -1)
    return np.array(out, dtype=np.int64)


@given(
    st.lists(point, min_size=2, max_size=30),
    st.lists(polygons(), min_size=1, max_size=6),
    st.lists(point, min_size=0, max_size=6),
    st.sampled_from([0.5, 5.0, 40.0, 2000.0]),  # shapely refuses 0
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=200, deadline=None)
def test_nearest_edges_is_the_brute_force_nearest(nodes, shapes, queries, max_distance, seed):
    rng = np.random.default_rng(seed)
    xy = np.array(nodes) + ORIGIN
    n_edges = int(rng.integers(1, 3 * len(xy)))
    u, v = rng.integers(0, len(xy), n_edges), rng.integers(0, len(xy), n_edges)
    # chains (v of one the u of the next) as the graph's pieces of a line are
    chain = rng.random(n_edges) < 0.5
    u[1:][chain[1:]] = v[:-1][chain[1:]]
    ids = np.sort(rng.choice(n_edges, size=int(rng.integers(1, n_edges + 1)), replace=False))
    shapes = [shapely.transform(s, lambda c: c + ORIGIN) for s in shapes]
    # polygons with a vertex on a node or an edge across them: ties at distance 0
    shapes.append(shapely.box(*(xy[u[ids[0]]] - 3), *(xy[u[ids[0]]] + 3)))
    geoms = np.array(shapes + list(shapely.points(np.array(queries).reshape(-1, 2) + ORIGIN)))
    want = brute_nearest(xy, u, v, ids, geoms, max_distance)
    groups = EdgeGroups(xy, u, v, ids, size=int(rng.integers(1, 5)))
    for small in (doors.SMALL_SEGMENTS, 0):  # the numpy search, and GEOS's for every polygon
        saved, doors.SMALL_SEGMENTS = doors.SMALL_SEGMENTS, small
        try:
            got = nearest_edges(groups, geoms, max_distance=max_distance)
        finally:
            doors.SMALL_SEGMENTS = saved
        assert got.tolist() == want.tolist()


@given(
    st.lists(st.tuples(point, point), min_size=1, max_size=40),
    st.lists(polygons(), min_size=1, max_size=4),
    st.sampled_from([0.5, 10.0, 60.0]),
)
@settings(max_examples=200, deadline=None)
def test_edges_near_keeps_every_edge_in_reach(segments, shapes, reach):
    xy = np.array([p for s in segments for p in s]) + ORIGIN
    u, v = np.arange(0, len(xy), 2), np.arange(1, len(xy), 2)
    ids = np.arange(len(u))
    geoms = np.array([shapely.transform(s, lambda c: c + ORIGIN) for s in shapes])
    kept = edges_near(xy, u, v, ids, geoms, reach)
    lines = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    within = np.flatnonzero(
        np.any(shapely.distance(lines[:, None], geoms[None, :]) <= reach, axis=1)
    )
    assert np.all(np.diff(kept) > 0) and set(within) <= set(kept.tolist())


def old_nearest_edges(builder, q, geoms, *, points_only, limit, lowest_tie=False):
    """``build._nearest_edges`` as it was (an STRtree of every edge as a line; issue 18),
    with ties to any edge or, ``lowest_tie``, to the lowest edge id."""
    edge = np.full(len(geoms), -1, dtype=np.int64)
    for idx in attach_passes(builder.corridor):
        todo = np.flatnonzero(edge < 0)
        if not len(todo) or not len(idx):
            continue
        tree = STRtree(
            shapely.linestrings(
                np.stack([builder.xy[builder.u[idx]], builder.xy[builder.v[idx]]], 1)
            )
        )
        if lowest_tie:
            i, j = tree.query_nearest(geoms[todo], max_distance=limit, all_matches=True)
            order = np.lexsort((j, i))
            i, j = i[order], j[order]
            first = np.ones(len(i), bool)
            first[1:] = i[1:] != i[:-1]
            i, j = i[first], j[first]
        else:
            i, j = query_nearest(tree, geoms[todo], max_distance=limit, all_matches=False)
        edge[todo[i]] = idx[j]
    return edge


GRAPH_ARRAYS = ("xy", "u", "v", "corridor", "poly")


def same_graph(g, h) -> bool:
    return (
        all(np.array_equal(getattr(g, k), getattr(h, k)) for k in GRAPH_ARRAYS)
        and g.parcel_node.equals(h.parcel_node)
        and g.asset_node.equals(h.asset_node)
        and g.unattached == h.unattached
    )


@pytest.mark.parametrize("lowest_tie", [False, True])
def test_the_demo_graph_is_the_one_the_strtree_of_lines_built(demo_map, monkeypatch, lowest_tie):
    rules = resolve_rules(demo_map, None)
    new = build.build_corridor_graph(demo_map, rules)
    monkeypatch.setattr(
        build,
        "_nearest_edges",
        lambda *args, **kw: old_nearest_edges(*args, **kw, lowest_tie=lowest_tie),
    )
    old = build.build_corridor_graph(demo_map, rules)
    assert len(new.parcel_node) > 0 and len(new.asset_node) > 0
    assert same_graph(new, old)
