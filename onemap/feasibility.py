"""Feasible connection points per category and the banded multi-source nearest search.

A connection point is feasible for a request of P kW when its usable headroom is at least P
(DESIGN §4): transformers and branch boxes for LV (item 8), ring main units, switching stations
and transformers on a feeder for 10/20 kV, substations of at least the voltage for ≥ 35 kV. The
kinds come from the rule table ``[connection]``. Unknown headroom (NaN) is never feasible.

:func:`nearest_feasible` answers, for many targets (parcel doors) each with its own P, the
nearest feasible source by graph distance — with a few multi-source Dijkstra passes instead of
one search per target. The feasible set of P is every source with headroom ≥ P. Sources are cut
into disjoint *slices* of headroom at the capacity-band edges; one pass per slice gives every
target the nearest source of that slice, and a running minimum from the top slice down gives
the nearest source of every suffix (all slices above a band edge). A target whose P falls inside
a slice takes the suffix above it, or the slice's own nearest source when that one is feasible
(or farther than the suffix: then it does not matter). Only where the slice's nearest source is
infeasible *and* nearer is the slice split at the median P of such targets and its two halves
passed again. The result is exact — the same as one search per target — and a refinement pass
only explores around the few sources of its slice.

:func:`nearest_pair` does the same for two independent sources (``hv_dual``): the nearest
feasible point, then the nearest feasible point with a different label (substation, or bus
section where known). It uses 2·⌈log₂ L⌉ passes over L labels: for each bit of the label code,
one pass over the sources whose bit is 0 and one over those whose bit is 1; for a target whose
first label has bit b, the pass over the other side holds only different labels, and the nearest
different label differs from the first label in some bit, so the minimum over the bits is exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# run_pass(source_rows) -> (dist, source_row, pred), each an array over all graph rows.
PassFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class Nearest:
    """Per target: distance to, and graph row of, the nearest feasible source (-1: none).

    Predecessors are not kept (a pass's are as large as the graph): :meth:`pred_of` re-runs the
    one pass that answered a target, for the rare route drawn from a bulk result.
    """

    dist: np.ndarray
    source_row: np.ndarray
    pass_key: np.ndarray
    pass_rows: dict[int, np.ndarray] = field(default_factory=dict)
    run_pass: PassFn | None = None
    passes: int = 0
    _last: tuple[int, np.ndarray] | None = field(default=None, repr=False)

    def pred_of(self, i: int) -> np.ndarray | None:
        """Predecessor array of the pass that answered target ``i`` (re-run on demand)."""
        key = int(self.pass_key[i])
        if key not in self.pass_rows or self.run_pass is None:
            return None
        if self._last is None or self._last[0] != key:
            self._last = (key, np.asarray(self.run_pass(self.pass_rows[key])[2]))
        return self._last[1]


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


def _at_targets(result, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dist, src, _ = result
    d = np.asarray(dist)[targets]
    s = np.asarray(src)[targets].astype(np.int64)
    return d, np.where(np.isfinite(d) & (s >= 0), s, -1)


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
    answered with no source). See the module docstring for the slicing.
    """
    rows, h, _, _ = node_sources(np.asarray(source_rows), np.asarray(source_headroom, float))
    target_rows = np.asarray(target_rows, dtype=np.int64)
    kw = np.asarray(target_kw, dtype=float)
    n_t = len(target_rows)
    safe_targets = np.where(target_rows >= 0, target_rows, 0)
    hs = np.unique(h)
    n_keys = len(hs)
    # Key k: "headroom at least hs[k]"; a source's key is its own rank, a target's the rank of
    # the smallest headroom that serves it (n_keys: none does).
    node_key = np.searchsorted(hs, h, side="left")
    tk = np.searchsorted(hs, kw, side="left")
    out = Nearest(
        dist=np.full(n_t, np.inf),
        source_row=np.full(n_t, -1, dtype=np.int64),
        pass_key=np.full(n_t, -1, dtype=np.int64),
        run_pass=run_pass,
    )
    if n_t == 0:
        return out
    size = n_rows if n_rows is not None else int(max(rows.max(initial=0), target_rows.max()) + 1)
    row_key = np.full(size, -1, dtype=np.int64)
    row_key[rows] = node_key

    slices: dict[tuple[int, int], tuple[int, np.ndarray, np.ndarray]] = {}

    def run(a: int, b: int) -> None:
        sel = rows[(node_key >= a) & (node_key < b)]
        pid = len(out.pass_rows)
        if len(sel):
            d, s = _at_targets(run_pass(sel), safe_targets)
            out.passes += 1
        else:
            d, s = np.full(n_t, np.inf), np.full(n_t, -1, dtype=np.int64)
        out.pass_rows[pid] = sel
        slices[(a, b)] = (pid, d, s)

    edges = np.searchsorted(hs, np.asarray(band_edges_kw, dtype=float), side="left")
    lo_k = int(tk.min())
    bounds = sorted({lo_k, n_keys} | {int(e) for e in edges if lo_k < e < n_keys})
    if int(tk.max()) < n_keys:
        bounds = sorted({*bounds, int(tk.max())})
    unresolved = np.ones(n_t, dtype=bool)
    while True:
        pairs = list(itertools.pairwise(bounds))
        for a, b in pairs:
            if (a, b) not in slices:
                run(a, b)
        # Suffix minimum over slices from the top: nearest source with key ≥ bounds[i].
        m = len(pairs)
        suf_d = np.full((m + 1, n_t), np.inf)
        suf_s = np.full((m + 1, n_t), -1, dtype=np.int64)
        suf_p = np.full((m + 1, n_t), -1, dtype=np.int64)
        for i in range(m - 1, -1, -1):
            pid, d, s = slices[pairs[i]]
            better = d < suf_d[i + 1]
            suf_d[i] = np.where(better, d, suf_d[i + 1])
            suf_s[i] = np.where(better, s, suf_s[i + 1])
            suf_p[i] = np.where(better, pid, suf_p[i + 1])
        idx = np.flatnonzero(unresolved)
        t = tk[idx]
        b_arr = np.asarray(bounds)
        i = np.searchsorted(b_arr, t, side="right") - 1  # bounds[i] <= t < bounds[i+1]
        exact = b_arr[i] == t
        i_slice = np.minimum(i, m - 1)
        d_i = np.full(len(idx), np.inf)
        s_i = np.full(len(idx), -1, dtype=np.int64)
        p_i = np.full(len(idx), -1, dtype=np.int64)
        for k, pair in enumerate(pairs):
            here = ~exact & (i_slice == k)
            if here.any():
                pid, d, s = slices[pair]
                d_i[here], s_i[here], p_i[here] = d[idx[here]], s[idx[here]], pid
        above_d = suf_d[np.minimum(i + 1, m), idx]
        feasible_i = (s_i >= 0) & (row_key[np.maximum(s_i, 0)] >= t)
        take_slice = ~exact & feasible_i & (d_i < above_d)
        done = exact | feasible_i | (d_i >= above_d)
        level = np.where(exact, i, np.minimum(i + 1, m))
        sel = idx[done]
        lv = level[done]
        out.dist[sel] = np.where(take_slice[done], d_i[done], suf_d[lv, sel])
        out.source_row[sel] = np.where(take_slice[done], s_i[done], suf_s[lv, sel])
        out.pass_key[sel] = np.where(take_slice[done], p_i[done], suf_p[lv, sel])
        unresolved[sel] = False
        amb = ~done
        if not amb.any():
            break
        new = set()
        for k in np.unique(i[amb]):
            inside = np.unique(t[amb & (i == k)])
            new.add(int(inside[len(inside) // 2]))
        for k in new:  # the split slice is replaced by its two halves
            pair = next(pr for pr in pairs if pr[0] < k < pr[1])
            slices.pop(pair, None)
        bounds = sorted({*bounds, *new})
    off = target_rows < 0
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
    first = Nearest(
        np.full(n_t, np.inf),
        np.full(n_t, -1, np.int64),
        np.full(n_t, -1, np.int64),
        run_pass=run_pass,
    )
    second = Nearest(
        np.full(n_t, np.inf),
        np.full(n_t, -1, np.int64),
        np.full(n_t, -1, np.int64),
        run_pass=run_pass,
    )
    pass_id = 0
    for p in np.unique(kw):
        tgt = np.flatnonzero((kw == p) & (target_rows >= 0))
        feasible = h >= p
        if not feasible.any() or not len(tgt):
            continue
        d1, s1 = _at_targets(run_pass(rows[feasible]), safe[tgt])
        first.passes += 1
        first.pass_rows[pass_id] = rows[feasible]
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
                d, s = _at_targets(run_pass(rows[sel]), safe[tgt])
                second.passes += 1
                second.pass_rows[pass_id] = rows[sel]
                use = (s1 >= 0) & (((lab1 >> b) & 1) != side) & (d < d2)
                d2[use], s2[use], k2[use] = d[use], s[use], pass_id
                pass_id += 1
        second.dist[tgt], second.source_row[tgt], second.pass_key[tgt] = d2, s2, k2
    return Pair(first=first, second=second)
