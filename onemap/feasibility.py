"""Feasible connection points per category and the banded multi-source nearest search.

A connection point is feasible for a request of P kW when its usable headroom is at least P
(DESIGN §4): transformers and branch boxes for LV (item 8), ring main units, switching stations
and transformers on a feeder for 10/20 kV, substations of at least the voltage for ≥ 35 kV. The
kinds come from the rule table ``[connection]``. Unknown headroom (NaN) is never feasible.

:func:`nearest_feasible` answers, for many targets (parcel doors) each with its own P, the
nearest feasible source by graph distance — with one multi-source Dijkstra pass per capacity band
instead of one search per target. The feasible set of P is every source with headroom ≥ P, so
passes at band edges bracket each target: the pass at the next edge above P uses a subset of the
feasible sources (an upper bound), the pass at the edge below a superset (a lower bound). Where
the superset's nearest source is itself feasible, or both bounds meet, the answer is exact;
the few ambiguous brackets are split at the median request inside them and passed again until
none is left. The result is exact — the same as one search per target — in a handful of passes.

:func:`nearest_pair` does the same for two independent sources (``hv_dual``): the nearest
feasible point, then the nearest feasible point with a different label (substation, or bus
section where known). It uses 2·⌈log₂ L⌉ passes over L labels: for each bit of the label code,
one pass over the sources whose bit is 0 and one over those whose bit is 1; for a target whose
first label has bit b, the pass over the other side holds only different labels, and the nearest
different label differs from the first label in some bit, so the minimum over the bits is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# run_pass(source_rows) -> (dist, source_row, pred), each an array over all graph rows.
PassFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class Nearest:
    """Per target: distance to, and graph row of, the nearest feasible source (-1: none)."""

    dist: np.ndarray
    source_row: np.ndarray
    pass_key: np.ndarray
    preds: dict[object, np.ndarray] = field(default_factory=dict)
    passes: int = 0

    def pred_of(self, i: int) -> np.ndarray | None:
        """Predecessor array of the pass that answered target ``i``."""
        return self.preds.get(self.pass_key[i])


def node_sources(
    rows: np.ndarray, headroom: np.ndarray, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Collapse sources to graph rows: per row the largest known headroom (and its label).

    Returns ``(rows, headroom, labels, picked)`` where ``picked`` indexes the input entry chosen
    for each row. Entries with unknown headroom are dropped.
    """
    known = np.flatnonzero(~np.isnan(headroom) & (rows >= 0))
    order = known[np.lexsort((-headroom[known], rows[known]))]
    r = rows[order]
    first = np.r_[True, r[1:] != r[:-1]] if len(r) else np.zeros(0, dtype=bool)
    picked = order[first]
    lab = labels[picked] if labels is not None else None
    return rows[picked], headroom[picked], lab, picked


def _empty_pass(n_targets: int) -> tuple[np.ndarray, np.ndarray, None]:
    return np.full(n_targets, np.inf), np.full(n_targets, -1, dtype=np.int64), None


def _at_targets(result, targets: np.ndarray):
    dist, src, pred = result
    d = dist[targets]
    s = np.asarray(src)[targets].astype(np.int64)
    s = np.where(np.isfinite(d) & (s >= 0), s, -1)
    return d, s, pred


def nearest_feasible(
    run_pass: PassFn,
    source_rows: np.ndarray,
    source_headroom: np.ndarray,
    target_rows: np.ndarray,
    target_kw: np.ndarray,
    band_edges_kw: list[float] | np.ndarray = (),
    n_rows: int | None = None,
) -> Nearest:
    """Nearest source with headroom ≥ each target's kW, exact, in few multi-source passes.

    ``source_rows``/``source_headroom`` may hold several entries per row (the largest counts) and
    NaN headroom (never feasible). ``target_rows`` are graph rows (negative: not on the graph,
    answered with no source). Passes are keyed by the smallest source headroom they admit.
    """
    rows, h, _, _ = node_sources(np.asarray(source_rows), np.asarray(source_headroom, float))
    target_rows = np.asarray(target_rows, dtype=np.int64)
    kw = np.asarray(target_kw, dtype=float)
    n_t = len(target_rows)
    on_graph = target_rows >= 0
    safe_targets = np.where(on_graph, target_rows, 0)
    hs = np.unique(h)
    # A pass "k" admits the sources whose headroom is at least hs[k]; k == len(hs): none.
    node_key = np.searchsorted(hs, h, side="left")
    tk = np.searchsorted(hs, kw, side="left")
    out = Nearest(
        dist=np.full(n_t, np.inf),
        source_row=np.full(n_t, -1, dtype=np.int64),
        pass_key=np.full(n_t, -1, dtype=np.int64),
    )
    if n_t == 0:
        return out
    size = n_rows if n_rows is not None else int(max(rows.max(initial=0), target_rows.max()) + 1)
    row_key = np.full(size, -1, dtype=np.int64)
    row_key[rows] = node_key

    results: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def run(k: int) -> None:
        if k >= len(hs):
            d, s, pred = _empty_pass(n_t)
        else:
            d, s, pred = _at_targets(run_pass(rows[node_key >= k]), safe_targets)
            out.passes += 1
        results[k] = (d, s)
        if pred is not None:
            out.preds[k] = pred

    edges = np.searchsorted(hs, np.asarray(band_edges_kw, dtype=float), side="left")
    lo_k, hi_k = int(tk.min()), int(tk.max())
    pending = {lo_k, hi_k} | {int(e) for e in edges if lo_k < e < hi_k}
    unresolved = np.ones(n_t, dtype=bool)
    while pending:
        for k in sorted(pending):
            run(k)
        keys = np.array(sorted(results))
        dist = np.vstack([results[k][0] for k in keys])
        src = np.vstack([results[k][1] for k in keys])
        idx = np.flatnonzero(unresolved)
        t = tk[idx]
        hi = np.searchsorted(keys, t, side="left")  # keys[hi] >= t, exists (hi_k is run)
        lo = hi - 1
        exact = keys[hi] == t
        lo_safe = np.maximum(lo, 0)
        d_lo, s_lo = dist[lo_safe, idx], src[lo_safe, idx]
        d_hi = dist[hi, idx]
        lo_feasible = (lo >= 0) & (s_lo >= 0) & (row_key[np.maximum(s_lo, 0)] >= t)
        take_lo = ~exact & lo_feasible
        take_hi = exact | (~take_lo & ((lo >= 0) & ((d_lo == d_hi) | np.isinf(d_lo))))
        pick = np.where(take_lo, lo, hi)
        done = take_lo | take_hi
        sel, p = idx[done], pick[done]
        out.dist[sel] = dist[p, sel]
        out.source_row[sel] = src[p, sel]
        out.pass_key[sel] = keys[p]
        unresolved[sel] = False
        pending = set()
        amb = ~done
        for bracket in np.unique(hi[amb]):
            inside = np.unique(t[amb & (hi == bracket)])
            pending.add(int(inside[len(inside) // 2]))
    off = ~on_graph
    out.dist[off], out.source_row[off], out.pass_key[off] = np.inf, -1, -1
    return out


@dataclass
class Pair:
    """Per target: the nearest feasible source and the nearest one with a different label."""

    first: Nearest
    second: Nearest


def nearest_pair(
    run_pass: PassFn,
    source_rows: np.ndarray,
    source_headroom: np.ndarray,
    source_labels: np.ndarray,
    target_rows: np.ndarray,
    target_kw: np.ndarray,
    n_rows: int | None = None,
) -> Pair:
    """Nearest feasible source and nearest feasible source of another label, per target.

    One group of passes per distinct request size (exact feasible set), each with one pass over
    all feasible sources and 2·⌈log₂ L⌉ passes over label-bit halves (see module docstring).
    """
    rows, h, labels, _ = node_sources(
        np.asarray(source_rows), np.asarray(source_headroom, float), np.asarray(source_labels)
    )
    target_rows = np.asarray(target_rows, dtype=np.int64)
    kw = np.asarray(target_kw, dtype=float)
    n_t = len(target_rows)
    safe = np.where(target_rows >= 0, target_rows, 0)
    _, code = np.unique(labels.astype(str), return_inverse=True) if len(rows) else (None, rows)
    size = (
        n_rows
        if n_rows is not None
        else int(max(rows.max(initial=0), target_rows.max(initial=0)) + 1)
    )
    row_code = np.full(size, -1, dtype=np.int64)
    row_code[rows] = code
    n_bits = max(1, int(np.ceil(np.log2(max(int(code.max(initial=0)) + 1, 2)))))
    first = Nearest(np.full(n_t, np.inf), np.full(n_t, -1, np.int64), np.full(n_t, -1, np.int64))
    second = Nearest(np.full(n_t, np.inf), np.full(n_t, -1, np.int64), np.full(n_t, -1, np.int64))
    pass_id = 0
    for p in np.unique(kw):
        tgt = np.flatnonzero((kw == p) & (target_rows >= 0))
        feasible = h >= p
        if not feasible.any() or not len(tgt):
            continue
        d1, s1, pred = _at_targets(run_pass(rows[feasible]), safe[tgt])
        first.passes += 1
        first.preds[pass_id] = pred
        first.dist[tgt], first.source_row[tgt], first.pass_key[tgt] = d1, s1, pass_id
        pass_id += 1
        lab1 = row_code[np.maximum(s1, 0)]
        d2 = np.full(len(tgt), np.inf)
        s2 = np.full(len(tgt), -1, dtype=np.int64)
        k2 = np.full(len(tgt), -1, dtype=np.int64)
        for b in range(n_bits):
            bit = (code >> b) & 1
            for side in (0, 1):
                sel = feasible & (bit == side)
                if not sel.any():
                    continue
                d, s, pr = _at_targets(run_pass(rows[sel]), safe[tgt])
                second.passes += 1
                second.preds[pass_id] = pr
                use = (s1 >= 0) & (((lab1 >> b) & 1) != side) & (d < d2)
                d2[use], s2[use], k2[use] = d[use], s[use], pass_id
                pass_id += 1
        second.dist[tgt], second.source_row[tgt], second.pass_key[tgt] = d2, s2, k2
    return Pair(first=first, second=second)
