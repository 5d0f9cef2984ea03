"""Bulk shortest paths on the corridor graph's CSR matrix (DESIGN §2).

One multi-source Dijkstra pass gives every node its distance to the nearest source, which
source that is, and the way back — instead of one search per parcel::

    csr, nodes = graph.csr(voltage_kv=0.4, filing_only=True)
    rows = graph.index_of(graph.asset_node[feasible_ids])
    dist, source_row, pred = nearest_sources(csr, rows, limit=radius_m)
    path = path_from_predecessors(pred, graph.index_of([graph.parcel_node[pid]])[0])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

NO_PATH = -9999  # scipy's predecessor value for "none"


def nearest_sources(
    csr: sp.csr_matrix, source_rows: Sequence[int] | np.ndarray, limit: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance from every row to its nearest source, that source's row, and predecessors.

    One ``scipy.sparse.csgraph.dijkstra(min_only=True)`` pass. Rows farther than ``limit`` (or
    unreachable) get ``inf`` distance and source/predecessor ``-9999``.
    """
    rows = np.unique(np.asarray(source_rows, dtype=np.int64))
    n = csr.shape[0]
    if not len(rows):
        return np.full(n, np.inf), np.full(n, NO_PATH), np.full(n, NO_PATH)
    dist, pred, source = dijkstra(
        csr,
        directed=True,
        indices=rows,
        min_only=True,
        return_predecessors=True,
        limit=np.inf if limit is None else float(limit),
    )
    return dist, source, pred


def nearest_sources_offset(
    csr: sp.csr_matrix, source_rows: np.ndarray, offsets: np.ndarray, limit: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`nearest_sources` where each source starts ``offsets[i]`` metres out (a point
    joined off the graph): distance ``min_i(offset_i + d(source_i, row))`` in one pass.

    One Dijkstra from a super-source joined to every source row by an edge of its offset
    (explicit zeros are edges in a CSR), instead of one search per source; each row's source
    is the root of its predecessor tree (pointer doubling). Equal totals may name another of
    the tied sources than a search per source would.
    """
    rows = np.asarray(source_rows, dtype=np.int64)
    off = np.asarray(offsets, dtype=float)
    n = csr.shape[0]
    if not len(rows):
        return np.full(n, np.inf), np.full(n, NO_PATH), np.full(n, NO_PATH)
    # one edge per source row: the smallest offset of a row listed twice
    order = np.lexsort((off, rows))
    rows, off = rows[order], off[order]
    first = np.r_[True, rows[1:] != rows[:-1]]
    rows, off = rows[first], off[first]
    coo = csr.tocoo()
    aug = sp.csr_matrix(
        (np.r_[coo.data, off], (np.r_[coo.row, np.full(len(rows), n)], np.r_[coo.col, rows])),
        shape=(n + 1, n + 1),
    )
    dist, pred = dijkstra(
        aug,
        directed=True,
        indices=n,
        return_predecessors=True,
        limit=np.inf if limit is None else float(limit),
    )
    dist, pred = dist[:n], pred[:n].copy()
    pred[pred == n] = NO_PATH  # a source row is the start of its path
    reached = np.isfinite(dist)
    jump = np.where(pred == NO_PATH, np.arange(n), pred)
    for _ in range(64):  # depth ≤ 2**64: pointer doubling reaches every root
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            break
        jump = nxt
    source = np.where(reached, jump, NO_PATH)
    pred[~reached] = NO_PATH
    return dist, source, pred


def path_from_predecessors(
    pred: np.ndarray, target_row: int, source: np.ndarray | None = None
) -> list[int]:
    """Rows from the source to ``target_row``.

    A source is its own one-row path. Give ``source`` (from :func:`nearest_sources`) to get
    ``[]`` for a target that was not reached; without it an unreached target also comes back
    as a one-row path.
    """
    if source is not None and source[target_row] == NO_PATH:
        return []
    path = [int(target_row)]
    step = pred[target_row]
    while step != NO_PATH:
        path.append(int(step))
        step = pred[step]
        if len(path) > len(pred):  # a cycle would mean corrupt predecessors
            raise RuntimeError("predecessor array has a cycle")
    path.reverse()
    return path
