"""The banded nearest-feasible search and the dual-source pair search against brute force."""

from __future__ import annotations

from unittest import mock

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from onemap.routing import feasible as feasibility
from onemap.routing.feasible import nearest_feasible, nearest_pair


def _graph(seed: int, n: int):
    rng = np.random.default_rng(seed)
    m = n * 2
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.integers(1, 50, m).astype(float)  # integer lengths: ties happen on purpose
    keep = a != b
    g = sp.coo_matrix((w[keep], (a[keep], b[keep])), shape=(n, n)).tocsr()
    return g, rng


def _run_pass(g, limit=np.inf):
    def run(rows):
        d, pred, src = dijkstra(
            g, directed=False, indices=rows, min_only=True, return_predecessors=True, limit=limit
        )
        return d, src, pred

    return run


def _limit_pass(g):
    return lambda rows, limit: _run_pass(g, limit)(rows)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(5, 60),
    st.integers(1, 80),
    st.lists(st.sampled_from([5.0, 10.0, 50.0, 99.0, 100.0, 150.0, 1000.0]), max_size=4),
    st.booleans(),
    st.sampled_from([1, 4, 32]),
)
def test_banded_search_equals_brute_force(seed, n, n_src, edges, continuous, initial):
    g, rng = _graph(seed, n)
    src = rng.integers(0, n, n_src)
    tgt = rng.integers(0, n, 30)
    if continuous:  # many distinct headrooms and requests: deep refinement of the slices
        head = np.where(rng.random(n_src) < 0.1, np.nan, rng.uniform(0, 200, n_src))
        kw = rng.uniform(0, 200, 30)
    else:  # few values, exact ties between requests and headrooms
        head = rng.choice([np.nan, 0.0, 10, 20, 50, 80, 100, 150, 160], n_src)
        kw = rng.choice([0.0, 5, 10, 20, 33, 50, 99, 100, 120, 160, 200], 30)
    with mock.patch.object(feasibility, "INITIAL_SLICES", initial):  # 1: refine everything
        got = nearest_feasible(
            _run_pass(g),
            src,
            head,
            tgt,
            kw,
            band_edges_kw=edges,
            n_rows=n,
            limit_pass=_limit_pass(g),
        )
    full = dijkstra(g, directed=False, indices=np.arange(n))
    for i, (t, p) in enumerate(zip(tgt, kw, strict=True)):
        ok = ~np.isnan(head) & (head >= p)
        expect = full[t, src[ok]].min() if ok.any() else np.inf
        assert got.dist[i] == expect
        if np.isfinite(expect):
            r = got.source_row[i]
            assert full[t, r] == expect
            assert np.nanmax(np.where(src == r, head, np.nan)) >= p
            # the pass that answered can be re-run to draw the route back to that source
            pred = got.pred_of(i)
            step, hops = t, 0
            while step != r and hops <= n:
                step, hops = pred[step], hops + 1
            assert step == r
        else:
            assert got.source_row[i] == -1


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(5, 50), st.integers(1, 20), st.integers(1, 6))
def test_pair_search_equals_brute_force(seed, n, n_src, n_labels):
    g, rng = _graph(seed, n)
    src = rng.integers(0, n, n_src)
    # one label per graph row, so that "the label of a row" is well defined
    row_label = rng.integers(0, n_labels, n).astype(str)
    labels = row_label[src]
    head = rng.choice([np.nan, 10, 100, 200], n_src)
    tgt = rng.integers(0, n, 15)
    kw = np.full(15, 50.0)
    got = nearest_pair(_run_pass(g), src, head, labels, tgt, kw, n_rows=n)
    full = dijkstra(g, directed=False, indices=np.arange(n))
    ok = ~np.isnan(head) & (head >= 50)
    for i, t in enumerate(tgt):
        d1 = full[t, src[ok]].min() if ok.any() else np.inf
        assert got.first.dist[i] == d1
        if not np.isfinite(d1):
            assert not np.isfinite(got.second.dist[i])
            continue
        lab1 = row_label[got.first.source_row[i]]
        other = ok & (labels != lab1)
        d2 = full[t, src[other]].min() if other.any() else np.inf
        assert got.second.dist[i] == d2
        if np.isfinite(d2):
            assert row_label[got.second.source_row[i]] != lab1
