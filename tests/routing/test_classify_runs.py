"""One classified point a run (Overlay.classified_pieces, issue 18) gives every piece the
polygon the plain per-piece classification gives it — across vertices, along boundaries, on
rings traced exactly or within rounding of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from onemap.geo.mapfile import read_map
from onemap.routing.build import corridor_model
from onemap.rules import resolve_rules

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"


@pytest.fixture(scope="module")
def overlay():
    m = read_map(DEMO)
    return corridor_model(m, resolve_rules(m))[1]


def _check(overlay, line: np.ndarray) -> int:
    """Classify a polyline's pieces both ways; the number of pieces."""
    a, b = line[:-1], line[1:]
    keep = np.hypot(*(b - a).T) > 1e-6
    a, b = a[keep], b[keep]
    if not len(a):
        return 0
    chained = np.all(b[:-1] == a[1:], axis=1)
    pa, pb, _, poly = overlay.classified_pieces(a, b, chained=chained)
    plain = overlay.classify((pa + pb) / 2.0)
    assert np.array_equal(poly, plain)
    return len(poly)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(2, 40),
    st.sampled_from([0.0, 1e-11, 1e-9, 1e-7, 0.3]),
    st.booleans(),
)
def test_along_rings_exactly_and_within_rounding(overlay, which, n, offset, reverse):
    """A line tracing a polygon's ring (or a tiny offset of it), where a point's side of the
    boundary is decided by rounding: every piece as if classified alone."""
    geom = shapely.get_geometry(overlay.geoms[which % len(overlay.geoms)], 0)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(geom))
    line = ring[: n + 1][::-1] if reverse else ring[: n + 1]
    _check(overlay, line + offset)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 10_000),
    st.lists(st.floats(0.01, 0.99), min_size=3, max_size=12, unique=True),
    st.sampled_from([0.0, 1e-11, 1e-9]),
)
def test_along_a_boundary_edge_between_its_corners(overlay, which, fractions, offset):
    """A line whose vertices lie inside one long boundary edge (not at its corners): the
    boundary meets no vertex as a hit, yet each point's side of it is decided by rounding
    (a carriageway centre line on the edge of a park parcel drawn along it)."""
    geom = shapely.get_geometry(overlay.geoms[which % len(overlay.geoms)], 0)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(geom))
    edge = np.argmax(np.hypot(*np.diff(ring, axis=0).T))
    p, q = ring[edge], ring[edge + 1]
    f = np.sort(np.asarray(fractions))[:, None]
    normal = np.array([-(q - p)[1], (q - p)[0]]) / max(np.hypot(*(q - p)), 1e-9)
    _check(overlay, p + f * (q - p) + offset * normal)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-80, 80), st.floats(-80, 80)), min_size=2, max_size=30),
    st.booleans(),
)
def test_random_walks_and_axis_aligned_lines(overlay, steps, axis):
    """Walks across the demo's strips and junctions; axis-aligned ones meet boundaries that
    are axis-aligned too."""
    centre = shapely.get_coordinates(shapely.centroid(shapely.union_all(overlay.geoms[:50])))[0]
    d = np.asarray(steps, dtype=float)
    if axis:  # alternate x and y moves
        d[::2, 1] = 0.0
        d[1::2, 0] = 0.0
    _check(overlay, centre + np.cumsum(d, axis=0))


def test_a_long_line_classifies_fewer_points_than_pieces(overlay, monkeypatch):
    """The saving is real: a line along a street is classified a point a run."""
    ring = shapely.get_coordinates(shapely.get_exterior_ring(overlay.geoms[0]))
    centre = shapely.get_coordinates(shapely.centroid(overlay.geoms[0]))[0]
    line = centre + (ring - centre) * 0.5  # inside the strip, off its boundary
    asked = []
    original = type(overlay)._containing

    def counting(self, xy, *args, **kwargs):
        asked.append(len(np.asarray(xy).reshape(-1, 2)))
        return original(self, xy, *args, **kwargs)

    monkeypatch.setattr(type(overlay), "_containing", counting)
    pieces = _check(overlay, line)
    assert pieces > 4
    assert asked[0] < pieces  # the run-based pass asked for fewer points than pieces


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-30, 30), st.floats(-30, 30)), min_size=1, max_size=60),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.booleans(),
)
def test_nearest_within_is_query_nearest(overlay, offsets, distance, on_grid):
    """The tolerance look-up of points in no polygon: the pairs of ``query_nearest`` with
    ``max_distance`` and every tie — points at exactly the distance and equidistant from two
    polygons included (on a half-metre grid around a strip's corner)."""
    corner = shapely.get_coordinates(overlay.geoms[3])[0]
    d = np.asarray(offsets, dtype=float)
    if on_grid:
        d = np.round(d * 2.0) / 2.0
    xy = corner + d
    want = overlay.tree.query_nearest(shapely.points(xy), max_distance=distance, all_matches=True)
    got_i, got_j = overlay._nearest_within(xy, distance)
    order = np.lexsort((want[1], want[0]))
    assert got_i.tolist() == want[0][order].tolist()
    assert got_j.tolist() == want[1][order].tolist()
