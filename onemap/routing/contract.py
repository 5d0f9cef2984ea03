"""Degree-2 chain contraction of a corridor-graph CSR, exact between the nodes it keeps.

The corridor graph is dense along each street (an edge every few metres, every polygon boundary
and every door splits the strip lines), so about half its nodes have exactly two neighbours and
only pass a search along. A multi-source Dijkstra pass costs about its number of settled nodes;
contracting those chains lets every bulk pass settle about half as many.

:func:`contract` keeps every node whose degree is not 2, plus every node the caller must query
(sources and targets: asset and door nodes), and replaces each chain of other nodes between two
kept nodes by one edge of the chain's summed length (the shortest where chains run in
parallel). A shortest path between kept nodes never stops inside a chain, so distances between
kept nodes are those of the full graph (up to the order of the floating-point sums).
:meth:`Contraction.expand` turns a path of contracted rows back into the nodes of the full
graph, for a route materialised from a bulk result::

    con = graph.contracted(voltage_kv=0.4, filing_only=False)
    dist, src, pred = nearest_sources(con.csr, con.row[source_nodes], limit=500.0)
    nodes = con.expand(path_from_predecessors(pred, int(con.row[door_node])))

All arrays; the chain walk advances every chain by one node per numpy step (steps = the
longest chain), so contracting a 1.2M-node city takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra


@dataclass
class Contraction:
    """A contracted CSR over the kept nodes of a graph and the chains behind its edges.

    ``csr`` is symmetric over ``len(kept)`` rows; ``kept[r]`` is the graph node of row ``r``
    (ascending) and ``row[node]`` the row of a graph node (-1: contracted away). Edge ``k`` of
    the contracted graph joins rows ``lo[k] < hi[k]``; ``chain_nodes[chain_ptr[k]:chain_ptr[k+1]]``
    are the graph nodes strictly between them, in order from ``lo`` to ``hi``.
    """

    csr: sp.csr_matrix
    kept: np.ndarray
    row: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    chain_ptr: np.ndarray
    chain_nodes: np.ndarray
    # Attached nodes (targets that need no row): sorted graph nodes, the rows of the two kept
    # nodes they are reached through (-1: none) and the metres from each.
    attach: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    attach_row: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    attach_off: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def n_rows(self) -> int:
        return len(self.kept)

    def rows_of(self, nodes: Sequence[int] | np.ndarray) -> np.ndarray:
        """Contracted rows of graph nodes; -1 for a negative node or one contracted away."""
        nodes = np.asarray(nodes, dtype=np.int64)
        return np.where(nodes >= 0, self.row[np.maximum(nodes, 0)], -1)

    def anchors(self, nodes: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per graph node the two rows it is reached through and the metres from each: a kept
        node is its own row (0 m), an attached node its two chain ends; -1/inf otherwise."""
        nodes = np.asarray(nodes, dtype=np.int64)
        rows = np.full((len(nodes), 2), -1, dtype=np.int64)
        off = np.full((len(nodes), 2), np.inf)
        own = self.rows_of(nodes)
        rows[own >= 0] = own[own >= 0, None]
        off[own >= 0] = 0.0
        if len(self.attach):
            k = np.minimum(np.searchsorted(self.attach, nodes), len(self.attach) - 1)
            hit = (own < 0) & (self.attach[k] == nodes)
            rows[hit], off[hit] = self.attach_row[k[hit]], self.attach_off[k[hit]]
        return rows, off

    @staticmethod
    def read(
        dist: np.ndarray, source: np.ndarray, rows: np.ndarray, off: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distance, source row and end row (the one of the two it comes through) of targets
        given by :meth:`anchors`, from a pass's ``dist``/``source`` over contracted rows."""
        safe = np.maximum(rows, 0)
        d = np.where(rows >= 0, np.asarray(dist)[safe] + off, np.inf)
        side = np.argmin(d, axis=1)
        at = np.arange(len(rows))
        best = d[at, side]
        end = np.where(np.isfinite(best), rows[at, side], -1)
        src = np.where(end >= 0, np.asarray(source)[np.maximum(end, 0)], -1)
        return best, src, end

    def expand_to(
        self, rows: Sequence[int] | np.ndarray, node: int, csr: sp.csr_matrix
    ) -> list[int]:
        """:meth:`expand`, continued from the last row's node to ``node`` (an attached node):
        the last leg is the shortest path on ``csr`` (the uncontracted matrix), which only
        runs along the chain and the dead end the node hangs from."""
        path = self.expand(rows)
        start = path[-1]
        if start == node:
            return path
        pos = int(np.searchsorted(self.attach, node))
        ends = self.attach_row[pos]
        leg_m = float(self.attach_off[pos][ends == self.row[start]].min())
        _, pred = dijkstra(
            csr, indices=start, return_predecessors=True, limit=leg_m * (1 + 1e-9) + 1e-9
        )
        leg = [int(node)]
        while leg[-1] != start:
            step = int(pred[leg[-1]])
            if step < 0:
                raise ValueError("node is not reached from the end of the path")
            leg.append(step)
        return path + leg[::-1][1:]

    def expand(self, rows: Sequence[int] | np.ndarray) -> list[int]:
        """Graph nodes of a path given as contracted rows (each chain put back in between)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) < 2:
            return [int(n) for n in self.kept[rows]]
        a, b = rows[:-1], rows[1:]
        key = np.minimum(a, b) * self.n_rows + np.maximum(a, b)
        keys = self.lo * self.n_rows + self.hi  # ascending by construction
        k = np.searchsorted(keys, key)
        if (k >= len(keys)).any() or (keys[np.minimum(k, len(keys) - 1)] != key).any():
            raise ValueError("consecutive rows are not joined by a contracted edge")
        out = [int(self.kept[rows[0]])]
        for i, edge in enumerate(k):
            chain = self.chain_nodes[self.chain_ptr[edge] : self.chain_ptr[edge + 1]]
            out.extend(int(n) for n in (chain if a[i] < b[i] else chain[::-1]))
            out.append(int(self.kept[rows[i + 1]]))
        return out


def contract(
    csr: sp.csr_matrix, keep: np.ndarray | None = None, attach: np.ndarray | None = None
) -> Contraction:
    """Contract the degree-2 chains of a symmetric CSR (no self-loops, parallel edges already
    collapsed, as :meth:`CorridorGraph.csr` makes it).

    ``keep``: a boolean mask or node ids that must stay rows (sources). ``attach``: node ids
    that need not be rows but whose distance must be readable (targets, e.g. doors): each is
    reached through the two kept ends of its chain (or of the dead end it hangs from), see
    :meth:`Contraction.anchors`. Nodes on a cycle of degree-2 nodes without any kept node are
    dropped: no kept node can reach them.
    """
    csr = sp.csr_matrix(csr)
    n = csr.shape[0]
    forced = np.zeros(n, dtype=bool)
    if keep is not None:
        keep = np.asarray(keep)
        if keep.dtype == bool:
            forced |= keep
        else:
            forced[keep[keep >= 0].astype(np.int64)] = True
    # Each phase is a function of its own, so its temporaries are freed when it returns: a
    # district's contraction held five times what it keeps until the end (issue 18: it runs
    # in the cache writer beside the first route, and made the cold start's peak).
    kept_mask, alive, parent, hang, walks = _walks(csr, forced)
    kept = np.flatnonzero(kept_mask)
    row = np.full(n, -1, dtype=np.int64)
    row[kept] = np.arange(len(kept))
    con = _contraction(walks, kept, row)
    if attach is not None:
        nodes = np.unique(np.asarray(attach, dtype=np.int64))
        nodes = nodes[(nodes >= 0) & ~kept_mask[np.maximum(nodes, 0)]]
        con.attach, con.attach_row, con.attach_off = _attached(
            nodes, walks, kept, row, (alive, parent, hang)
        )
    return con


@dataclass
class _Walks:
    """One walk per CSR entry leaving a kept node, each followed to the next kept node:
    ``start``/``end`` nodes and ``length``; and per interior node passed (in walk order) the
    walk's id, the node and the metres from the walk's start to it."""

    start: np.ndarray
    end: np.ndarray
    length: np.ndarray
    step_ids: np.ndarray
    step_nodes: np.ndarray
    step_at: np.ndarray


def _walks(
    csr: sp.csr_matrix, forced: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, _Walks]:
    """Trim the dead ends, then walk every chain from its kept ends (see :func:`contract`):
    the kept-node mask, the trim's (alive, parent, hang) and the :class:`_Walks`."""
    n = csr.shape[0]
    indptr = csr.indptr.astype(np.int64)
    indices = csr.indices  # int32 in scipy's CSR: read only, no int64 copy
    data = csr.data.astype(float, copy=False)  # read only: no copy of a graph's lengths
    degree = np.diff(indptr)
    alive, parent, hang = _trim(indptr, indices, data, degree, forced)
    if not alive.all():
        # Drop the entries of trimmed nodes; the walk below then never enters them.
        src = np.repeat(np.arange(n), degree)
        on = alive[src] & alive[indices]
        degree = np.bincount(src[on], minlength=n)
        indptr = np.r_[0, np.cumsum(degree)].astype(np.int64)
        indices, data = indices[on], data[on]
        del src, on
    kept_mask = forced | (alive & (degree != 2))
    source = np.repeat(np.arange(n), degree)
    entry = np.flatnonzero(kept_mask[source])
    start = source[entry]
    del source
    cur = indices[entry]
    length = data[entry].copy()
    prev = start.copy()
    del entry
    walk_steps: list[np.ndarray] = []  # per step: ids of walks that passed an interior node
    walk_nodes: list[np.ndarray] = []
    walk_at: list[np.ndarray] = []  # metres from the walk's start to that node
    active = np.flatnonzero(~kept_mask[cur])
    while len(active):
        c = cur[active]
        walk_steps.append(active)
        walk_nodes.append(c)
        walk_at.append(length[active].copy())
        p0 = indptr[c]
        first_back = indices[p0] == prev[active]
        nxt_pos = np.where(first_back, p0 + 1, p0)
        prev[active] = c
        cur[active] = indices[nxt_pos]
        length[active] += data[nxt_pos]
        active = active[~kept_mask[cur[active]]]
    del indptr, indices, data, prev
    steps = [np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)]
    for k, parts in enumerate((walk_steps, walk_nodes, walk_at)):
        if parts:  # one list at a time, freed as it is joined
            steps[k] = np.concatenate(parts)
            parts.clear()
    return kept_mask, alive, parent, hang, _Walks(start, cur, length, *steps)


def _contraction(walks: _Walks, kept: np.ndarray, row: np.ndarray) -> Contraction:
    """The contracted matrix and chains: of the two walks of each chain (one from each end)
    the one from its smaller end, and of parallel chains the shortest; loops dropped."""
    forward = walks.start < walks.end
    lo_node, hi_node, w = walks.start[forward], walks.end[forward], walks.length[forward]
    walk_id = np.flatnonzero(forward)
    n_k = len(kept)
    pair = row[lo_node] * n_k + row[hi_node]
    order = np.lexsort((w, pair))
    first = np.r_[True, pair[order][1:] != pair[order][:-1]] if len(order) else np.zeros(0, bool)
    win = order[first]  # the shortest walk per pair, pairs ascending
    lo, hi, w = row[lo_node[win]], row[hi_node[win]], w[win]
    # Chains of the winning walks, in walk order (steps were recorded in order).
    slot = np.full(len(walks.start), -1, dtype=np.int64)
    slot[walk_id[win]] = np.arange(len(win))
    sel = slot[walks.step_ids] >= 0
    ids, nodes = slot[walks.step_ids[sel]], walks.step_nodes[sel]
    chain_nodes = nodes[np.argsort(ids, kind="stable")].astype(np.int64)
    counts = np.bincount(ids, minlength=len(win))
    chain_ptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    matrix = symmetric_csr(lo, hi, w, n_k)
    return Contraction(
        csr=matrix, kept=kept, row=row, lo=lo, hi=hi, chain_ptr=chain_ptr, chain_nodes=chain_nodes
    )


def _attached(
    nodes: np.ndarray, walks: _Walks, kept: np.ndarray, row: np.ndarray, trim: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attached nodes (sorted, not kept), the rows of the two kept nodes each is reached
    through (-1: none) and the metres from each (:attr:`Contraction.attach`)."""
    # Where each chain node lies: the ends of its walk (from the smaller end; a loop from a
    # node back to itself is walked both ways, either serves) and the metres to each.
    n = len(row)
    ends = np.full((n, 2), -1, dtype=np.int64)
    at_m = np.full((n, 2), np.inf)
    if len(walks.step_ids):
        ids = walks.step_ids
        own = walks.start[ids] <= walks.end[ids]
        ids, on, m = ids[own], walks.step_nodes[own], walks.step_at[own]
        ends[on, 0], ends[on, 1] = row[walks.start[ids]], row[walks.end[ids]]
        at_m[on, 0], at_m[on, 1] = m, walks.length[ids] - m
    ends[kept] = np.arange(len(kept))[:, None]
    at_m[kept] = 0.0
    anchor, extra = _anchor(nodes, *trim)
    ok = anchor >= 0
    a_rows = np.full((len(nodes), 2), -1, dtype=np.int64)
    a_off = np.full((len(nodes), 2), np.inf)
    a_rows[ok] = ends[anchor[ok]]
    a_off[ok] = at_m[anchor[ok]] + extra[ok, None]
    a_off[a_rows < 0] = np.inf
    return nodes, a_rows, a_off


def symmetric_csr(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """The symmetric ``n`` × ``n`` CSR matrix with ``w[k]`` at (lo[k], hi[k]) and (hi[k], lo[k]),
    for pairs ``lo < hi`` sorted by (lo, hi) without repeats, put together in place: the
    matrix ``scipy.sparse.csr_matrix((w, (rows, cols)))`` makes, canonical (indices sorted),
    without the COO copies and sort a district's matrix spent 100 MiB on.

    >>> lo, hi = np.array([0, 0, 1]), np.array([1, 2, 2])
    >>> symmetric_csr(lo, hi, np.array([1.0, 2.0, 3.0]), 3).toarray()
    array([[0., 1., 2.],
           [1., 0., 3.],
           [2., 3., 0.]])
    """
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    n_lo, n_hi = np.bincount(lo, minlength=n), np.bincount(hi, minlength=n)
    indptr = np.r_[0, np.cumsum(n_lo + n_hi)]
    big = max(n, len(lo) * 2) >= np.iinfo(np.int32).max
    index = np.int64 if big else np.int32
    indices = np.empty(2 * len(lo), dtype=index)
    data = np.empty(2 * len(lo))
    # In row r the columns below r come first (edges whose hi is r, by lo), then those above
    # (edges whose lo is r, by hi: the given order).
    by_hi = np.argsort(hi, kind="stable")
    h = hi[by_hi]
    at = indptr[h] + np.arange(len(h)) - (np.cumsum(n_hi) - n_hi)[h]
    indices[at], data[at] = lo[by_hi], w[by_hi]
    at = indptr[lo] + n_hi[lo] + np.arange(len(lo)) - (np.cumsum(n_lo) - n_lo)[lo]
    indices[at], data[at] = hi, w
    matrix = sp.csr_matrix((data, indices, indptr.astype(index)), shape=(n, n))
    matrix.has_sorted_indices = True
    return matrix


def _trim(indptr, indices, data, degree, forced):
    """Mask of the nodes left after repeatedly removing unforced nodes of degree 0 or 1, and
    for each removed node the neighbour it hung from when removed (-1: none) and the metres.

    A dead end that holds no source lies on no shortest path between kept nodes; removing it
    may turn its neighbour into a dead end or a chain node in turn.
    """
    alive = np.ones(len(degree), dtype=bool)
    parent = np.full(len(degree), -1, dtype=np.int64)
    hang = np.zeros(len(degree))
    deg = degree.copy()
    cand = np.flatnonzero(~forced & (deg <= 1))
    while len(cand):
        cand = cand[alive[cand] & ~forced[cand] & (deg[cand] <= 1)]
        if not len(cand):
            break
        alive[cand] = False
        start, count = indptr[cand], degree[cand]
        pos = np.repeat(start - np.cumsum(np.r_[0, count[:-1]]), count) + np.arange(count.sum())
        nb = indices[pos]
        on = alive[nb]
        owner = np.repeat(cand, count)[on]
        parent[owner], hang[owner] = nb[on], data[pos[on]]
        nb = nb[on]
        np.subtract.at(deg, nb, 1)
        cand = np.unique(nb)
    return alive, parent, hang


def _anchor(nodes, alive, parent, hang):
    """For each node, the alive node its dead end hangs from (itself if alive; -1 if none) and
    the metres to it, following the removal parents."""
    anchor = nodes.copy()
    extra = np.zeros(len(nodes))
    todo = np.flatnonzero(~alive[anchor])
    while len(todo):
        p = parent[anchor[todo]]
        extra[todo] += hang[anchor[todo]]
        anchor[todo] = p
        dead = p < 0
        todo = todo[~dead]
        todo = todo[~alive[anchor[todo]]]
    return anchor, extra


__all__ = ["Contraction", "contract", "symmetric_csr"]
