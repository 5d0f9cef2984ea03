"""The numpy noder against GEOS's (shapely.node) on random segments, and its doctests."""

from __future__ import annotations

import doctest

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from onemap.routing import noding
from onemap.routing.noding import node_segments

coord = st.integers(min_value=-50, max_value=50).map(float)
segment = st.tuples(coord, coord, coord, coord).filter(lambda s: s[:2] != s[2:])


@settings(max_examples=150, deadline=None)
@given(st.lists(segment, min_size=1, max_size=12))
def test_noding_matches_geos(segs):
    arr = np.asarray(segs, dtype=float)
    a, b = arr[:, :2], arr[:, 2:]
    pa, pb, line = node_segments(a, b, np.arange(len(a)))
    # every line keeps its length, piece by piece
    got = np.bincount(line, weights=np.hypot(*(pb - pa).T), minlength=len(a))
    assert np.allclose(got, np.hypot(*(b - a).T), atol=1e-9)
    # no two pieces cross inside: where they meet, it is at an end of both (to rounding: the
    # two computed copies of a crossing point differ in the last bits; the graph merges them)
    pieces = shapely.linestrings(np.stack([pa, pb], axis=1))
    i, j = shapely.STRtree(pieces).query(pieces, predicate="intersects")
    meet = shapely.get_coordinates(shapely.intersection(pieces[i], pieces[j]), return_index=True)
    pts, pair = meet
    for k in (i, j):
        ends = np.minimum(np.hypot(*(pts - pa[k[pair]]).T), np.hypot(*(pts - pb[k[pair]]).T))
        assert (ends < 1e-6).all()
    # the nodes are GEOS's nodes, to rounding (GEOS may also merge collinear duplicates)
    geos = shapely.get_parts(
        shapely.node(shapely.multilinestrings(shapely.linestrings(arr.reshape(-1, 2, 2))))
    )
    ours, theirs = np.vstack([pa, pb]), shapely.get_coordinates(geos)
    for x, y in ((ours, theirs), (theirs, ours)):
        d, _ = cKDTree(y).query(x)
        assert d.max() < 1e-6


def test_doctests():
    assert doctest.testmod(noding).failed == 0
