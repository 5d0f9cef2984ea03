"""The exact multi-source nearest-feasible search behind the readiness classes.

A connection point is feasible for a request of P kW when its usable headroom is at least P
(DESIGN §4): transformers and branch boxes for LV (item 8), ring main units, switching stations
and transformers on a feeder for 10/20 kV, substations of at least the voltage for ≥ 35 kV. The
kinds come from the rule table ``[connection]``. Unknown headroom (NaN) is never feasible.

:func:`nearest_feasible` answers, for many targets (parcel doors) each with its own P, the
nearest feasible source by graph distance — with a few multi-source Dijkstra passes instead of
one search per target. The feasible set of P is every source with headroom ≥ P. Sources are cut
into disjoint *slices* of headroom at the capacity-band edges (rule table) and at quantiles of
the sources' headroom; one pass per slice gives every target the nearest source of that slice,
and a running minimum from the top slice down gives the nearest source of every suffix (all
slices above an edge). A target whose P falls inside a slice takes the suffix above it, or the
slice's own nearest source when that one is feasible (or farther than the suffix: then it does
not matter). Only where the slice's nearest source is infeasible *and* nearer is the slice split
at the median P of such targets: the upper half is all feasible for the targets below the split,
and each half is searched again for the targets it can still serve, with the cut-off set to the
best answer they already have. The result is exact — the same as one search per target — and a
refinement pass only explores around the few sources of its slice, within a short distance.

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
# read(pass result, target indices) -> (dist, source_row) of those targets.
ReadFn = Callable[[tuple, np.ndarray], tuple[np.ndarray, np.ndarray]]


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

    def relabel(self, name_of_row: np.ndarray, row_of_name: np.ndarray) -> Nearest:
        """The same result with rows renamed (e.g. contracted rows to graph nodes):
        ``source_row`` and ``pass_rows`` become names; :meth:`pred_of` maps a pass's source
        names back to rows and still returns predecessors over the rows it ran on."""
        run = self.run_pass
        src = self.source_row
        return Nearest(
            dist=self.dist,
            source_row=np.where(src >= 0, name_of_row[np.maximum(src, 0)], -1),
            pass_key=self.pass_key,
            pass_rows={k: name_of_row[v] for k, v in self.pass_rows.items()},
            run_pass=None if run is None else (lambda names: run(row_of_name[names])),
            passes=self.passes,
        )


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


def _read(read: ReadFn | None, result, safe_rows: np.ndarray, at: np.ndarray):
    return _at_targets(result, safe_rows[at]) if read is None else read(result, at)


def _at_targets(result, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dist, src, _ = result
    d = np.asarray(dist)[targets]
    s = np.asarray(src)[targets].astype(np.int64)
    return d, np.where(np.isfinite(d) & (s >= 0), s, -1)


# Initial slices per request group: enough that few targets are ambiguous, few enough that the
# fixed cost of a pass (arrays as large as the graph) stays small. Tuning, not policy.
INITIAL_SLICES = 32


def nearest_feasible(
    run_pass: PassFn,
    source_rows: np.ndarray,
    source_headroom: np.ndarray,
    target_rows: np.ndarray,
    target_kw: np.ndarray,
    band_edges_kw: list[float] | np.ndarray = (),
    n_rows: int | None = None,
    limit_pass: Callable[[np.ndarray, float], tuple] | None = None,
    initial_slices: int | None = None,
    read: ReadFn | None = None,
) -> Nearest:
    """Nearest source with headroom ≥ each target's kW, exact, in few multi-source passes.

    ``source_rows``/``source_headroom`` may hold several entries per row (the largest counts) and
    NaN headroom (never feasible). ``target_rows`` are graph rows (negative: not on the graph,
    answered with no source). ``limit_pass(rows, limit)``, when given, runs a pass with a
    smaller cut-off: refinement passes only need distances below the answer already known.
    ``read(result, targets)``, when given, reads (distance, source row) of the targets with
    these indices from a pass result (targets that are not rows, e.g. attached doors); then a
    negative ``target_rows`` entry still means "not on the graph".
    See the module docstring for the slicing.
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

    def run(a: int, b: int, at: np.ndarray, limit: float | None = None):
        """Nearest source with key in [a, b) for targets ``at``: (dist, row, pass id)."""
        sel = rows[(node_key >= a) & (node_key < b)]
        if not len(sel):
            return np.full(len(at), np.inf), np.full(len(at), -1, np.int64), -1
        pid = len(out.pass_rows)
        out.pass_rows[pid] = sel
        out.passes += 1
        result = run_pass(sel) if limit is None or limit_pass is None else limit_pass(sel, limit)
        d, s = _read(read, result, safe_targets, at)
        return d, s, pid

    # Initial slices: band edges and quantiles of the source keys between the smallest and the
    # largest request; one pass each, for every target.
    lo_k, hi_k = int(tk.min()), int(tk.max())
    n_init = INITIAL_SLICES if initial_slices is None else initial_slices
    inside = node_key[(node_key > lo_k) & (node_key < min(hi_k, n_keys))]
    quantiles = np.quantile(inside, np.linspace(0, 1, n_init + 1)[1:-1]) if len(inside) else []
    edges = np.searchsorted(hs, np.asarray(band_edges_kw, dtype=float), side="left")
    bounds = {lo_k, n_keys, *(int(e) for e in edges), *(int(q) for q in quantiles)}
    if hi_k < n_keys:
        bounds.add(hi_k)
    b_arr = np.array(sorted(k for k in bounds if lo_k <= k <= n_keys))
    everyone = np.arange(n_t)
    passes = [run(int(a), int(b), everyone) for a, b in itertools.pairwise(b_arr)]
    m = len(passes)
    # Suffix minimum from the top slice down: nearest source with key ≥ b_arr[i].
    suf_d = np.full((m + 1, n_t), np.inf)
    suf_s = np.full((m + 1, n_t), -1, dtype=np.int64)
    suf_p = np.full((m + 1, n_t), -1, dtype=np.int64)
    for i in range(m - 1, -1, -1):
        d, s, pid = passes[i]
        better = d < suf_d[i + 1]
        suf_d[i] = np.where(better, d, suf_d[i + 1])
        suf_s[i] = np.where(better, s, suf_s[i + 1])
        suf_p[i] = np.where(better, pid, suf_p[i + 1])
    i = np.searchsorted(b_arr, tk, side="right") - 1  # b_arr[i] <= tk < b_arr[i+1]
    exact = b_arr[i] == tk
    level = np.where(exact, i, np.minimum(i + 1, m))
    out.dist[:] = suf_d[level, everyone]
    out.source_row[:] = suf_s[level, everyone]
    out.pass_key[:] = suf_p[level, everyone]
    # Targets inside a slice: the suffix above it, or a feasible source of the slice if nearer.
    stack = []
    for k in range(m):
        at = np.flatnonzero(~exact & (i == k))
        if len(at):
            d, s, pid = passes[k]
            stack.append((int(b_arr[k]), int(b_arr[k + 1]), at, d[at], s[at], pid))
    while stack:
        a, b, at, d, s, pid = stack.pop()
        t = tk[at]
        feasible = (s >= 0) & (row_key[np.maximum(s, 0)] >= t)
        nearer = d < out.dist[at]
        take = feasible & nearer
        out.dist[at[take]], out.source_row[at[take]], out.pass_key[at[take]] = d[take], s[take], pid
        amb = ~feasible & nearer
        if not amb.any():
            continue
        at, t = at[amb], t[amb]
        mid = int(np.unique(t)[len(np.unique(t)) // 2])  # a < mid < b
        limit = float(np.max(out.dist[at]))  # only a nearer source can change an answer
        upper = run(mid, b, at, limit if np.isfinite(limit) else None)
        # Targets at or above mid: their feasible part of the slice lies in [t, b) ⊂ [mid, b).
        hi = t >= mid
        if hi.any():
            exact_hi = hi & (t == mid)
            ud, us, up = upper
            take = exact_hi & (ud < out.dist[at])
            out.dist[at[take]], out.source_row[at[take]], out.pass_key[at[take]] = (
                ud[take],
                us[take],
                up,
            )
            deeper = hi & ~exact_hi
            if deeper.any():
                stack.append((mid, b, at[deeper], ud[deeper], us[deeper], up))
        lo = ~hi
        if lo.any():
            # [mid, b) is all feasible for them; then the lower half [a, mid) decides the rest.
            ud, us, up = upper
            take = lo & (ud < out.dist[at])
            out.dist[at[take]], out.source_row[at[take]], out.pass_key[at[take]] = (
                ud[take],
                us[take],
                up,
            )
            sub = at[lo]
            lim = float(np.max(out.dist[sub]))
            ld, ls, lp = run(a, mid, sub, lim if np.isfinite(lim) else None)
            stack.append((a, mid, sub, ld, ls, lp))
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
    read: ReadFn | None = None,
) -> Pair:
    """Nearest feasible source and nearest feasible source of another label, per target.

    One group of passes per distinct request size (exact feasible set), each with one pass over
    all feasible sources and 2·⌈log₂ L⌉ passes over label-bit halves (see module docstring).
    ``read`` as in :func:`nearest_feasible`.
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
        d1, s1 = _read(read, run_pass(rows[feasible]), safe, tgt)
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
                d, s = _read(read, run_pass(rows[sel]), safe, tgt)
                second.passes += 1
                second.pass_rows[pass_id] = rows[sel]
                use = (s1 >= 0) & (((lab1 >> b) & 1) != side) & (d < d2)
                d2[use], s2[use], k2[use] = d[use], s[use], pass_id
                pass_id += 1
        second.dist[tgt], second.source_row[tgt], second.pass_key[tgt] = d2, s2, k2
    return Pair(first=first, second=second)
