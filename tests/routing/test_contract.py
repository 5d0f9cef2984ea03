"""Degree-2 chain contraction: exact distances between kept nodes, paths that expand back into
valid paths of the full graph of the same length (hypothesis), and the corridor graph's cached
contraction keeping every asset and door."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from onemap.routing.build import corridor_graph
from onemap.routing.bulk import path_from_predecessors
from onemap.routing.contract import contract, symmetric_csr

SETTINGS = settings(max_examples=80, deadline=None)


def _csr(n: int, u, v, w) -> sp.csr_matrix:
    """Symmetric CSR with parallel edges collapsed to their minimum (as CorridorGraph.csr)."""
    u, v, w = np.asarray(u, np.int64), np.asarray(v, np.int64), np.asarray(w, float)
    ok = u != v
    lo, hi, w = np.minimum(u, v)[ok], np.maximum(u, v)[ok], w[ok]
    pair = lo * n + hi
    order = np.lexsort((w, pair))
    pair, w = pair[order], w[order]
    first = np.r_[True, pair[1:] != pair[:-1]] if len(pair) else np.zeros(0, bool)
    pair, w = pair[first], w[first]
    lo, hi = pair // n, pair % n
    return sp.csr_matrix((np.r_[w, w], (np.r_[lo, hi], np.r_[hi, lo])), shape=(n, n))


@st.composite
def chain_graphs(draw):
    """A small base graph whose edges are subdivided into chains, plus dead ends, lone nodes
    and rings of chain nodes; some nodes marked as kept (sources/targets)."""
    n_base = draw(st.integers(1, 7))
    weight = st.floats(0.01, 50.0, allow_nan=False)
    base = draw(
        st.lists(
            st.tuples(st.integers(0, n_base - 1), st.integers(0, n_base - 1)),
            max_size=12,
        )
    )
    u, v, w = [], [], []
    n = n_base
    for a, b in base:
        inner = draw(st.integers(0, 5))
        ids = [a, *range(n, n + inner), b]
        n += inner
        for x, y in itertools.pairwise(ids):
            u.append(x)
            v.append(y)
            w.append(draw(weight))
    for _ in range(draw(st.integers(0, 3))):  # dead-end spurs
        at = draw(st.integers(0, n - 1))
        inner = draw(st.integers(1, 4))
        ids = [at, *range(n, n + inner)]
        n += inner
        for x, y in itertools.pairwise(ids):
            u.append(x)
            v.append(y)
            w.append(draw(weight))
    if draw(st.booleans()):  # a ring of degree-2 nodes that touches nothing else
        ring = list(range(n, n + draw(st.integers(3, 5))))
        n += len(ring)
        for x, y in zip(ring, ring[1:] + ring[:1], strict=True):
            u.append(x)
            v.append(y)
            w.append(draw(weight))
    n += draw(st.integers(0, 2))  # isolated nodes
    keep = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if not keep.any():
        keep[draw(st.integers(0, n - 1))] = True
    return _csr(n, u, v, w), keep


@SETTINGS
@given(chain_graphs())
def test_distances_between_kept_nodes_are_those_of_the_full_graph(case):
    csr, keep = case
    con = contract(csr, keep)
    nodes = np.flatnonzero(keep)
    assert (con.row[nodes] >= 0).all()  # every node asked for is kept
    assert (con.kept[con.row[nodes]] == nodes).all()
    full = dijkstra(csr, directed=True, indices=nodes)[:, nodes]
    small = dijkstra(con.csr, directed=True, indices=con.row[nodes])[:, con.row[nodes]]
    assert np.array_equal(np.isfinite(full), np.isfinite(small))
    np.testing.assert_allclose(small[np.isfinite(small)], full[np.isfinite(full)], rtol=1e-12)
    assert con.n_rows <= csr.shape[0]


@SETTINGS
@given(chain_graphs(), st.data())
def test_expanded_paths_are_full_graph_paths_of_the_same_length(case, data):
    csr, keep = case
    con = contract(csr, keep)
    nodes = np.flatnonzero(keep)
    sources = data.draw(st.lists(st.sampled_from(nodes.tolist()), min_size=1, max_size=3))
    dist, pred, _ = dijkstra(
        con.csr,
        directed=True,
        indices=con.row[sources],
        min_only=True,
        return_predecessors=True,
    )
    dense = csr.toarray()
    for target in nodes:
        r = int(con.row[target])
        if not np.isfinite(dist[r]):
            continue
        path = con.expand(path_from_predecessors(pred, r))
        assert path[0] in sources and path[-1] == target
        steps = dense[path[:-1], path[1:]]
        assert (steps > 0).all()  # consecutive nodes are joined in the full graph
        assert steps.sum() == pytest.approx(dist[r], rel=1e-12, abs=1e-12)


def test_expand_refuses_rows_that_are_not_joined():
    # a path 0-1-2-3 with 1, 2 chain nodes, and an isolated kept node 4
    csr = _csr(5, [0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0])
    con = contract(csr, np.array([0, 3, 4]))
    assert con.expand(con.row[[0, 3]]) == [0, 1, 2, 3]
    assert con.expand(con.row[[3, 0]]) == [3, 2, 1, 0]
    assert con.expand(con.row[[4]]) == [4]
    with pytest.raises(ValueError):
        con.expand(con.row[[0, 4]])


def test_parallel_chains_keep_the_shorter_one():
    # two chains between the junctions 0 and 1: 0-2-1 (length 5) and 0-3-1 (length 3)
    csr = _csr(4, [0, 2, 0, 3], [2, 1, 3, 1], [2.0, 3.0, 1.0, 2.0])
    con = contract(csr, np.array([0, 1]))
    assert con.csr[con.row[0], con.row[1]] == pytest.approx(3.0)
    assert con.expand(con.row[[0, 1]]) == [0, 3, 1]


@SETTINGS
@given(chain_graphs(), st.data())
def test_attached_nodes_read_their_full_graph_distance_and_path(case, data):
    csr, keep = case
    n = csr.shape[0]
    attach = np.flatnonzero(~keep)  # every other node: on chains, dead ends, rings, alone
    con = contract(csr, keep, attach=attach)
    assert (con.rows_of(attach) < 0).sum() >= len(con.attach)
    sources = data.draw(st.lists(st.sampled_from(np.flatnonzero(keep).tolist()), min_size=1))
    dist, pred, src = dijkstra(
        con.csr,
        directed=True,
        indices=con.row[sources],
        min_only=True,
        return_predecessors=True,
    )
    want = dijkstra(csr, directed=True, indices=sources, min_only=True)
    ends, off = con.anchors(np.arange(n))
    got, source, end = con.read(dist, src, ends, off)
    assert np.array_equal(np.isfinite(got), np.isfinite(want))
    np.testing.assert_allclose(got[np.isfinite(got)], want[np.isfinite(want)], rtol=1e-12)
    dense = csr.toarray()
    for node in np.flatnonzero(np.isfinite(got)):
        path = con.expand_to(path_from_predecessors(pred, int(end[node])), int(node), csr)
        assert path[0] == con.kept[source[node]] and path[-1] == node
        steps = dense[path[:-1], path[1:]]
        assert (steps > 0).all()
        assert steps.sum() == pytest.approx(got[node], rel=1e-9, abs=1e-9)


def test_corridor_graph_contraction_keeps_assets_and_attaches_doors(demo_map):
    cg = corridor_graph(demo_map)
    assets = np.unique(cg.asset_node.to_numpy())
    doors = cg.parcel_node.to_numpy()
    for filing in (False, True):
        con = cg.contracted(0.4, filing)
        assert con is cg.contracted(0.4, filing)  # cached
        assert (con.rows_of(assets) >= 0).all()
        full = cg.csr(0.4, filing)[0]
        assert con.n_rows < full.shape[0] / 2
        pick = assets[::7]
        d_full = dijkstra(full, indices=pick, min_only=True, limit=800.0)
        dist, _, src = dijkstra(
            con.csr, indices=con.rows_of(pick), min_only=True, return_predecessors=True
        )
        ends, off = con.anchors(doors)
        got = con.read(dist, src, ends, off)[0]
        got[got > 800.0] = np.inf
        assert np.array_equal(np.isfinite(got), np.isfinite(d_full[doors]))
        np.testing.assert_allclose(got[np.isfinite(got)], d_full[doors][np.isfinite(got)])


@SETTINGS
@given(
    st.integers(min_value=1, max_value=30).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.sets(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(
                    lambda p: p[0] < p[1]
                ),
                max_size=60,
            ),
        )
    )
)
def test_symmetric_csr_is_the_matrix_scipy_makes_from_coo(case):
    """The CSR put together in place equals scipy's from COO: values, indices, pointers and
    dtypes, and it is canonical (sorted indices, no repeats)."""
    n, pairs = case
    pairs = sorted(pairs)
    lo = np.array([p[0] for p in pairs], dtype=np.int64)
    hi = np.array([p[1] for p in pairs], dtype=np.int64)
    w = np.arange(1.0, len(pairs) + 1.0)
    ours = symmetric_csr(lo, hi, w, n)
    theirs = sp.csr_matrix((np.r_[w, w], (np.r_[lo, hi], np.r_[hi, lo])), shape=(n, n))
    assert ours.shape == theirs.shape
    assert np.array_equal(ours.indptr, theirs.indptr)
    assert np.array_equal(ours.indices, theirs.indices)
    assert np.array_equal(ours.data, theirs.data)
    assert ours.indices.dtype == theirs.indices.dtype
    fresh = sp.csr_matrix((ours.data.copy(), ours.indices.copy(), ours.indptr.copy()), (n, n))
    assert fresh.has_canonical_format  # scipy's own check of the indices, not the flag we set
