"""Substation siting on a distance matrix: a capacitated maximal-covering model (DESIGN §5).

Choose ``k`` of ``m`` candidate sites so that the forecast load they serve is largest. A demand
(a parcel) is *covered* by a site when its corridor-graph distance is within the demand's supply
radius; each served demand is assigned whole to one open site (single sourcing), and the load
assigned to a site may not exceed its capacity. This is the capacitated maximal covering location
problem (CMCLP, single-source); without capacities it is Church & ReVelle's MCLP.

Two solvers share one :class:`SitingProblem` and one :class:`SitingSolution`:

- :func:`solve_exact`: the mixed-integer model written with PuLP and solved by HiGHS (``highspy``
  API, no binary needed), to a zero relative gap unless told otherwise.
- :func:`solve_greedy`: add the site with the largest marginal served load, ``k`` times, each
  filling its capacity largest demand first; then a global re-assignment over the chosen sites.
  Runs in milliseconds on instances where the MIP takes seconds; its gap is reported by
  ``bench/bench_planning.py`` and by :func:`solve` when both run.

Nothing here knows about maps: distances, loads, radii and capacities come in as arrays, so the
model is tested against brute force and against spopt's MCLP on small matrices.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from onemap.errors import OnemapInputError
from onemap.messages import msg

Method = Literal["exact", "greedy", "auto"]
# Relative tolerance when comparing loads in kW (float sums of forecast loads).
_KW_TOL = 1e-6


@dataclass(frozen=True)
class SitingProblem:
    """A siting instance.

    ``distance_m`` is ``(n_candidates, n_demand)`` (``inf`` where unreachable); ``demand_kw`` and
    ``radius_m`` are per demand; ``capacity_kw`` is per candidate (a scalar is broadcast).
    """

    distance_m: np.ndarray
    demand_kw: np.ndarray
    radius_m: np.ndarray
    capacity_kw: np.ndarray

    @classmethod
    def build(
        cls,
        distance_m: np.ndarray,
        demand_kw: np.ndarray,
        radius_m: np.ndarray | float,
        capacity_kw: np.ndarray | float,
    ) -> SitingProblem:
        """Validate shapes and broadcast scalars; OnemapInputError on inconsistent input."""
        dist = np.atleast_2d(np.asarray(distance_m, dtype=float))
        m, n = dist.shape
        demand = np.asarray(demand_kw, dtype=float).reshape(-1)
        if demand.size != n:
            raise OnemapInputError(
                msg("planning.demand_size", size=demand.size, n=n),
                field="demand_kw",
            )
        radius = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,)).copy()
        capacity = np.broadcast_to(np.asarray(capacity_kw, dtype=float), (m,)).copy()
        if np.any(demand < 0) or np.any(np.isnan(demand)):
            raise OnemapInputError(msg("planning.demand_negative"), field="demand_kw")
        if np.any(capacity <= 0) or np.any(np.isnan(capacity)):
            raise OnemapInputError(msg("planning.capacity_not_positive"), field="capacity_kw")
        return cls(dist, demand, radius, capacity)

    @property
    def n_candidates(self) -> int:
        return self.distance_m.shape[0]

    @property
    def n_demand(self) -> int:
        return self.distance_m.shape[1]

    def coverage(self) -> np.ndarray:
        """Boolean ``(m, n)``: site j may serve demand i (within radius, fits, has load)."""
        return (
            (self.distance_m <= self.radius_m[None, :])
            & (self.demand_kw[None, :] > 0)
            & (self.demand_kw[None, :] <= self.capacity_kw[:, None] * (1 + _KW_TOL))
        )

    def pairs(self) -> int:
        """Number of (site, demand) pairs that may be assigned: the exact model's size."""
        return int(self.coverage().sum())


@dataclass
class SitingSolution:
    """Chosen sites (candidate indices, ascending), the assignment and the served load."""

    sites: np.ndarray
    assignment: np.ndarray  # per demand: candidate index, or -1 when not served
    objective_kw: float
    method: str
    status: str
    seconds: float
    served_kw: dict[int, float] = field(default_factory=dict)  # per chosen site
    bound_kw: float | None = None  # exact model: the solver's upper bound on the optimum

    def served_by(self, site: int) -> np.ndarray:
        """Indices of the demands assigned to candidate ``site``."""
        return np.flatnonzero(self.assignment == site)

    def to_dict(self) -> dict[str, object]:
        return {
            "sites": [int(s) for s in self.sites],
            "objective_kw": self.objective_kw,
            "served_kw": {int(k): v for k, v in self.served_kw.items()},
            "method": self.method,
            "status": self.status,
            "seconds": self.seconds,
        }


def _check_k(problem: SitingProblem, k: int) -> None:
    if problem.n_candidates == 0:
        raise OnemapInputError(msg("planning.no_candidates"), field="candidates")
    if k <= 0:
        raise OnemapInputError(msg("planning.k_below_one", k=k), field="k")
    if k > problem.n_candidates:
        raise OnemapInputError(
            msg("planning.k_over_candidates", k=k, n_sites=problem.n_candidates),
            field="k",
        )


def _nearest(problem: SitingProblem, sites: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """The same served demands, each moved to its nearest chosen site with room if all fit.

    The model only maximises served load, so among equally good assignments it may send a
    parcel past a nearer open site; feeders are shorter when each goes to the nearest. Largest
    demand first; when one does not fit anywhere the original assignment is kept.
    """
    served = np.flatnonzero(assignment >= 0)
    if sites.size < 2 or not served.size:
        return assignment
    room = problem.capacity_kw[sites] * (1 + _KW_TOL)
    cover = problem.coverage()[sites][:, served]
    dist = np.where(cover, problem.distance_m[sites][:, served], np.inf)
    out = assignment.copy()
    for pos in np.argsort(-problem.demand_kw[served], kind="stable"):
        i = served[pos]
        for r in np.argsort(dist[:, pos], kind="stable"):
            if cover[r, pos] and problem.demand_kw[i] <= room[r]:
                room[r] -= problem.demand_kw[i]
                out[i] = sites[r]
                break
        else:
            return assignment
    return out


def _finish(
    problem: SitingProblem, sites, assignment, method: str, status: str, t0: float
) -> SitingSolution:
    sites = np.sort(np.asarray(sites, dtype=int))
    assignment = _nearest(problem, sites, assignment)
    served = {int(s): float(problem.demand_kw[assignment == s].sum()) for s in sites}
    return SitingSolution(
        sites=sites,
        assignment=assignment,
        objective_kw=float(sum(served.values())),
        method=method,
        status=status,
        seconds=time.perf_counter() - t0,
        served_kw=served,
    )


# ------------------------------------------------------------------------------------------
# Greedy heuristic


def _fill(weights: np.ndarray, capacity: float) -> np.ndarray:
    """Which of ``weights`` (sorted descending) one site takes, largest first, within capacity.

    Takes whole runs at once with a cumulative sum, then skips to the next item that still fits,
    so the loop runs once per run, not once per item.
    """
    take = np.zeros(weights.size, dtype=bool)
    start, room = 0, capacity * (1 + _KW_TOL)
    while start < weights.size:
        csum = np.cumsum(weights[start:])
        n = int(np.searchsorted(csum, room, side="right"))
        if n:
            take[start : start + n] = True
            room -= csum[n - 1]
        rest = weights[start + n :]
        fits = np.flatnonzero(rest <= room)
        if not fits.size:
            break
        start = start + n + int(fits[0])
    return take


def solve_greedy(problem: SitingProblem, k: int) -> SitingSolution:
    """Greedy capacitated maximal covering: ``k`` rounds of the best marginal site.

    Ties go to the smaller total load-weighted distance, then to the lower candidate index. A
    final pass re-assigns all demand over the chosen sites (largest first, nearest site with
    room) and keeps whichever assignment serves more.
    """
    _check_k(problem, k)
    t0 = time.perf_counter()
    w = problem.demand_kw
    order = np.argsort(-w, kind="stable")  # demands, largest first
    cover = problem.coverage()[:, order]
    dist = problem.distance_m[:, order]
    served = np.zeros(w.size, dtype=bool)  # in `order` positions
    assignment = np.full(w.size, -1)
    chosen: list[int] = []
    ws = w[order]
    for _ in range(k):
        best = (-1.0, np.inf, -1, None)
        for j in range(problem.n_candidates):
            if j in chosen:
                continue
            idx = np.flatnonzero(cover[j] & ~served)
            take = idx[_fill(ws[idx], problem.capacity_kw[j])] if idx.size else idx
            gain = float(ws[take].sum())
            cost = float((ws[take] * dist[j, take]).sum())
            if gain > best[0] * (1 + _KW_TOL) or (
                abs(gain - best[0]) <= _KW_TOL * max(gain, 1.0) and cost < best[1]
            ):
                best = (gain, cost, j, take)
        _, _, j, take = best
        chosen.append(j)
        served[take] = True
        assignment[order[take]] = j

    reassigned = _reassign(problem, np.array(chosen))
    if problem.demand_kw[reassigned >= 0].sum() > problem.demand_kw[assignment >= 0].sum() * (
        1 + _KW_TOL
    ):
        assignment = reassigned
    return _finish(problem, chosen, assignment, "greedy", "heuristic", t0)


def _reassign(problem: SitingProblem, sites: np.ndarray) -> np.ndarray:
    """Assign demand, largest first, to the nearest chosen site that covers it and has room."""
    room = problem.capacity_kw[sites] * (1 + _KW_TOL)
    cover = problem.coverage()[sites]
    dist = np.where(cover, problem.distance_m[sites], np.inf)
    near = np.argsort(dist, axis=0)
    assignment = np.full(problem.n_demand, -1)
    for i in np.argsort(-problem.demand_kw, kind="stable"):
        if not cover[:, i].any():
            continue
        for r in near[:, i]:
            if not cover[r, i]:
                break
            if problem.demand_kw[i] <= room[r]:
                room[r] -= problem.demand_kw[i]
                assignment[i] = sites[r]
                break
    return assignment


# ------------------------------------------------------------------------------------------
# Exact model (PuLP + HiGHS)

_BANNER_SWALLOWED = False


@contextlib.contextmanager
def _quiet_highs() -> Iterator[None]:
    """Keep HiGHS's one-time C-level banner off stdout (``--json`` prints one object there)."""
    global _BANNER_SWALLOWED
    if _BANNER_SWALLOWED:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            import highspy

            highspy.Highs()  # prints the banner once per process
        _BANNER_SWALLOWED = True
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    yield


def solve_exact(
    problem: SitingProblem,
    k: int,
    *,
    time_limit_s: float | None = None,
    gap_rel: float = 0.0,
) -> SitingSolution:
    """The CMCLP as a MIP (PuLP model, HiGHS solver).

    max Σ w_i x_ij  s.t.  Σ_j x_ij ≤ 1 (each demand once),  Σ_i w_i x_ij ≤ C_j y_j (capacity),
    x_ij ≤ y_j (assignment only to open sites, a tighter LP bound),  Σ_j y_j = k,
    x_ij only for pairs within radius. ``status`` is ``optimal``, or ``time_limit`` with the
    best solution found.
    """
    import pulp

    _check_k(problem, k)
    t0 = time.perf_counter()
    cover = problem.coverage()
    w = problem.demand_kw
    js, is_ = np.nonzero(cover)
    model = pulp.LpProblem("cmclp", pulp.LpMaximize)
    # PuLP ≥ 3 attaches variables to their model; older PuLP builds them free-standing.
    new = getattr(model, "add_variable", None) or pulp.LpVariable
    y = [new(f"y{j}", cat="Binary") for j in range(problem.n_candidates)]
    x = [new(f"x{j}_{i}", cat="Binary") for j, i in zip(js, is_, strict=True)]
    model += pulp.lpSum(float(w[i]) * v for i, v in zip(is_, x, strict=True))
    by_demand: dict[int, list] = {}
    by_site: dict[int, list] = {}
    for j, i, v in zip(js, is_, x, strict=True):
        by_demand.setdefault(int(i), []).append(v)
        by_site.setdefault(int(j), []).append((float(w[i]), v))
        model += v <= y[j]
    for vs in by_demand.values():
        if len(vs) > 1:
            model += pulp.lpSum(vs) <= 1
    for j, items in by_site.items():
        if sum(c for c, _ in items) > problem.capacity_kw[j]:
            model += pulp.lpSum(c * v for c, v in items) <= float(problem.capacity_kw[j]) * y[j]
    model += pulp.lpSum(y) == k
    with _quiet_highs():
        model.solve(pulp.HiGHS(msg=False, gapRel=gap_rel, timeLimit=time_limit_s))
    status = pulp.LpStatus[model.status]
    if status != "Optimal":
        if any(v.value() is None for v in y):
            raise RuntimeError(f"HiGHS found no solution (status {status})")
        status = "time_limit"
    else:
        status = "optimal"
    sites = [j for j, v in enumerate(y) if v.value() > 0.5]
    assignment = np.full(problem.n_demand, -1)
    for j, i, v in zip(js, is_, x, strict=True):
        if v.value() is not None and v.value() > 0.5:
            assignment[i] = j
    solution = _finish(problem, sites, assignment, "exact", status, t0)
    with contextlib.suppress(Exception):  # the bound is a report, not part of the answer
        # PuLP hands HiGHS the negated objective of a maximisation: its dual bound is -bound
        solution.bound_kw = -float(model.solverModel.getInfo().mip_dual_bound)
    return solution


def solve(
    problem: SitingProblem,
    k: int,
    *,
    method: Method = "auto",
    exact_max_pairs: int | None = None,
    time_limit_s: float | None = None,
) -> tuple[SitingSolution, SitingSolution | None]:
    """Solve with the chosen method; returns ``(solution, greedy_reference)``.

    ``auto`` runs the exact model when the instance has at most ``exact_max_pairs`` coverable
    pairs (always when None), else the greedy heuristic. When the exact model runs, the greedy
    heuristic runs too and is returned as the reference for the gap report.
    """
    if method == "greedy" or (
        method == "auto" and exact_max_pairs is not None and problem.pairs() > exact_max_pairs
    ):
        return solve_greedy(problem, k), None
    exact = solve_exact(problem, k, time_limit_s=time_limit_s)
    return exact, solve_greedy(problem, k)


def gap(exact: SitingSolution, heuristic: SitingSolution) -> float:
    """Relative objective gap of a heuristic against the exact optimum (0 = optimal).

    When the exact model stopped at its time limit, the gap is measured against the solver's
    upper bound, so it is an upper bound on the true gap.
    """
    best = exact.objective_kw
    if exact.status != "optimal" and exact.bound_kw is not None:
        best = max(best, exact.bound_kw)
    if best <= 0:
        return 0.0
    return max(0.0, (best - heuristic.objective_kw) / best)
