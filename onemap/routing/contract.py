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
    indptr = csr.indptr.astype(np.int64)
    indices = csr.indices  # int32 in scipy's CSR: read only, no int64 copy
    data = csr.data.astype(float, copy=False)  # read only: no copy of a graph's lengths
    degree = np.diff(indptr)
    forced = np.zeros(n, dtype=bool)
    if keep is not None:
        keep = np.asarray(keep)
        if keep.dtype == bool:
            forced |= keep
        else:
            forced[keep[keep >= 0].astype(np.int64)] = True
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
    kept = np.flatnonzero(kept_mask)
    row = np.full(n, -1, dtype=np.int64)
    row[kept] = np.arange(len(kept))

    # One walk per CSR entry leaving a kept node; each follows its chain to the next kept node.
    source = np.repeat(np.arange(n), degree)
    entry = np.flatnonzero(kept_mask[source])
    start = source[entry]
    del source  # a city's temporaries add up to a large part of the cold start's peak
    cur = indices[entry]
    length = data[entry].copy()
    prev = start.copy()
    walk_steps: list[np.ndarray] = []  # per step: ids of walks that passed an interior node
    walk_nodes: list[np.ndarray] = []
    walk_at: list[np.ndarray] = []  # metres from the walk's start to that node
    end = cur.copy()
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
    end = cur
    del prev, entry
    # the walks' steps as three flat arrays (the lists of per-step arrays freed)
    if walk_steps:
        step_ids, step_nodes, step_at = (
            np.concatenate(x) for x in (walk_steps, walk_nodes, walk_at)
        )
    else:
        step_ids = step_nodes = np.zeros(0, dtype=np.int64)
        step_at = np.zeros(0)
    del walk_steps, walk_nodes, walk_at
    # Each chain was walked from both ends: keep the walk from its smaller end; drop loops.
    forward = start < end
    lo_node, hi_node, w = start[forward], end[forward], length[forward]
    walk_id = np.flatnonzero(forward)
    n_k = len(kept)
    pair = row[lo_node] * n_k + row[hi_node]
    order = np.lexsort((w, pair))
    first = np.r_[True, pair[order][1:] != pair[order][:-1]] if len(order) else np.zeros(0, bool)
    win = order[first]  # the shortest walk per pair, pairs ascending
    lo, hi, w = row[lo_node[win]], row[hi_node[win]], w[win]

    # Chains of the winning walks, in walk order (steps were recorded in order).
    slot = np.full(len(start), -1, dtype=np.int64)
    slot[walk_id[win]] = np.arange(len(win))
    sel = slot[step_ids] >= 0
    ids, nodes = slot[step_ids[sel]], step_nodes[sel]
    by_walk = np.argsort(ids, kind="stable")
    chain_nodes = nodes[by_walk]
    counts = np.bincount(ids, minlength=len(win))
    del sel, ids, nodes, by_walk
    chain_ptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    matrix = sp.csr_matrix(
        (np.r_[w, w], (np.r_[lo, hi], np.r_[hi, lo])), shape=(n_k, n_k), dtype=float
    )
    con = Contraction(
        csr=matrix,
        kept=kept,
        row=row,
        lo=lo,
        hi=hi,
        chain_ptr=chain_ptr,
        chain_nodes=chain_nodes.astype(np.int64),
    )
    if attach is not None:
        # Where each chain node lies: the ends of its walk (from the smaller end; a loop from a
        # node back to itself is walked both ways, either serves) and the metres to each.
        ends = np.full((n, 2), -1, dtype=np.int64)
        at_m = np.full((n, 2), np.inf)
        if len(step_ids):
            own = start[step_ids] <= end[step_ids]
            ids, nodes, m = step_ids[own], step_nodes[own], step_at[own]
            ends[nodes, 0], ends[nodes, 1] = row[start[ids]], row[end[ids]]
            at_m[nodes, 0], at_m[nodes, 1] = m, length[ids] - m
        ends[kept] = np.arange(len(kept))[:, None]
        at_m[kept] = 0.0
        nodes = np.unique(np.asarray(attach, dtype=np.int64))
        nodes = nodes[(nodes >= 0) & ~kept_mask[np.maximum(nodes, 0)]]
        anchor, extra = _anchor(nodes, alive, parent, hang)
        ok = anchor >= 0
        a_rows = np.full((len(nodes), 2), -1, dtype=np.int64)
        a_off = np.full((len(nodes), 2), np.inf)
        a_rows[ok] = ends[anchor[ok]]
        a_off[ok] = at_m[anchor[ok]] + extra[ok, None]
        a_off[a_rows < 0] = np.inf
        con.attach, con.attach_row, con.attach_off = nodes, a_rows, a_off
    return con


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


__all__ = ["Contraction", "contract"]
