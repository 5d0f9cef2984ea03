"""One super-source pass equals a search per source combined by offset + distance."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from onemap.routing.bulk import NO_PATH, nearest_sources_offset, path_from_predecessors


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 25))
    m = draw(st.integers(1, 60))
    u = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)))
    v = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)))
    w = np.array(draw(st.lists(st.integers(1, 50), min_size=m, max_size=m)), dtype=float)
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    csr = sp.csr_matrix((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    csr.sum_duplicates()
    k = draw(st.integers(1, min(n, 5)))
    rows = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True)))
    off = np.array(draw(st.lists(st.integers(0, 30), min_size=k, max_size=k)), dtype=float)
    limit = float(draw(st.integers(10, 200)))
    return csr, rows, off, limit


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_offset_pass_is_the_best_of_one_search_per_source(case):
    csr, rows, off, limit = case
    dist, source, pred = nearest_sources_offset(csr, rows, off, limit=limit)
    each = dijkstra(csr, directed=True, indices=rows) + off[:, None]
    best = each.min(axis=0)
    best[best > limit] = np.inf
    assert np.allclose(dist, best, equal_nan=False)
    reached = np.isfinite(dist)
    assert (source[~reached] == NO_PATH).all()
    for row in np.flatnonzero(reached):
        # the named source is one of the nearest, and the path runs from it to the row
        k = int(np.flatnonzero(rows == source[row])[0])
        assert each[k, row] == dist[row]
        path = path_from_predecessors(pred, int(row))
        assert path[0] == source[row] and path[-1] == row
        length = sum(csr[a, b] for a, b in itertools.pairwise(path))
        assert length + off[k] == dist[row]
