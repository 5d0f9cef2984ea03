"""Straight pieces' single-sided buffers built with numpy (sections.side_rectangles) are the
polygons GEOS builds, vertex for vertex: on random segments and on every straight piece of a
real district, at the band distances of a cross-section."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from onemap.routing.sections import side_rectangles


def geos(lines: np.ndarray, dist: np.ndarray) -> np.ndarray:
    return shapely.buffer(lines, dist, quad_segs=4, cap_style="flat", single_sided=True)


def assert_same_polygons(lines: np.ndarray, dist: np.ndarray) -> np.ndarray:
    ok, rects = side_rectangles(lines, dist)
    assert len(rects) == int(ok.sum())
    want = shapely.to_wkb(geos(lines[ok], dist[ok]))
    assert (shapely.to_wkb(rects) == want).all()  # the same bytes: vertices, order, start
    return ok


metres = st.floats(-2e5, 2e5, allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.tuples(metres, metres, metres, metres), min_size=1, max_size=30),
    st.lists(st.floats(0.05, 30.0), min_size=1, max_size=30),
    st.sampled_from([1.0, -1.0]),
)
@settings(max_examples=200, deadline=None)
def test_random_segments_at_any_distance(rows, widths, sign):
    coords = np.array(rows).reshape(-1, 2, 2)
    coords[1::3, 1] = coords[1::3, 0] + 1e-5  # some far too short for the distance
    lines = shapely.linestrings(coords)
    dist = sign * np.resize(np.array(widths), len(lines))
    ok = assert_same_polygons(lines, dist)
    # the lines left to GEOS are the too short ones, never a long straight one
    length = shapely.length(lines)
    assert ok[length > 1e-3 * np.abs(dist)].all()


def test_bends_and_z_are_left_to_geos():
    bent = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    z = shapely.LineString([(0, 0, 1), (10, 0, 1)])
    ok, rects = side_rectangles(np.array([bent, z]), np.array([2.0, 2.0]))
    assert ok.tolist() == [False, False] and len(rects) == 0


@pytest.mark.parametrize("width", [0.75, 1.5, 3.5, 7.0, 12.25])
def test_every_straight_piece_of_a_real_district(xinwu_pieces, width):
    xinwu_lines = np.asarray(xinwu_pieces.geometry.values, dtype=object)
    for sign in (1.0, -1.0):
        ok = assert_same_polygons(xinwu_lines, np.full(len(xinwu_lines), sign * width))
        assert ok.mean() > 0.5  # most pieces of a real district are straight
