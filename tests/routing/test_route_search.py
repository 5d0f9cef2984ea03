"""The route search's local matrix: the same sub-matrix and node set as scipy's and numpy's
general functions give (the search reads them on every route; issue 18 made them cheaper)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from onemap.routing.routes import _with_nodes, submatrix


@st.composite
def matrices_and_rows(draw):
    n = draw(st.integers(1, 40))
    density = draw(st.floats(0.0, 0.5))
    seed = draw(st.integers(0, 2**31 - 1))
    m = sp.random(n, n, density=density, format="csr", random_state=seed)
    m.data = np.round(m.data * 100.0) + 1.0  # positive weights, as edge lengths
    rows = np.array(sorted(draw(st.sets(st.integers(0, n - 1), max_size=n))), dtype=np.int64)
    return m, rows


@settings(max_examples=200, deadline=None)
@given(matrices_and_rows())
def test_submatrix_is_scipy_row_and_column_selection(case):
    m, rows = case
    got = submatrix(m, rows)
    want = m[rows][:, rows]
    assert got.shape == want.shape
    assert (got != want).nnz == 0
    # the per-thread table is clean again: a second, different selection is exact too
    other = np.setdiff1d(np.arange(m.shape[0]), rows)
    assert (submatrix(m, other) != m[other][:, other]).nnz == 0


@settings(max_examples=200, deadline=None)
@given(
    st.sets(st.integers(0, 60), max_size=30),
    st.lists(st.integers(0, 60), min_size=1, max_size=4),
    st.lists(st.integers(0, 60), min_size=1, max_size=4),
)
def test_with_nodes_is_union(local, src, dst):
    local = np.array(sorted(local), dtype=np.int64)
    src, dst = np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)
    got = _with_nodes(local, src, dst)
    assert got.tolist() == np.union1d(local, np.r_[src, dst]).tolist()
