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
