"""Substation siting: exact MIP (PuLP + HiGHS) against the greedy heuristic on growing instances.

Prints, per instance size, the time of each solver, their ratio and the greedy heuristic's
objective gap to the exact optimum (to the MIP's upper bound where it hits the time limit).
Instances are random demand points and candidate sites in a square district with Euclidean
distances × a detour factor, a supply radius and site capacities that bind (total demand ≈
1.5 × what k sites can carry), so the capacity constraints matter.

    .venv/bin/python bench/bench_planning.py [--quick] [--time-limit S]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from onemap.planning.siting import SitingProblem, gap, solve_exact, solve_greedy

DETOUR = 1.3  # corridor distance / straight distance, typical of a street grid


def instance(n_demand: int, n_candidates: int, k: int, seed: int) -> SitingProblem:
    rng = np.random.default_rng(seed)
    side = 10_000.0
    demand_xy = rng.uniform(0, side, (n_demand, 2))
    cand_xy = rng.uniform(0, side, (n_candidates, 2))
    dist = np.linalg.norm(cand_xy[:, None] - demand_xy[None], axis=2) * DETOUR
    load = rng.lognormal(mean=5.0, sigma=1.0, size=n_demand)  # kW, a few hundred typical
    capacity = load.sum() / (1.5 * k)
    return SitingProblem.build(dist, load, 3000.0, capacity)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smallest sizes only")
    ap.add_argument("--time-limit", type=float, default=60.0, help="MIP time limit (s)")
    args = ap.parse_args()
    sizes = [(200, 10, 2), (500, 15, 3), (1000, 20, 3), (2000, 30, 4), (4000, 40, 5)]
    if args.quick:
        sizes = sizes[:3]
    print(
        f"{'demand':>7} {'cand':>5} {'k':>3} {'pairs':>8} {'exact s':>9} {'greedy s':>9}"
        f" {'ratio':>7} {'exact kW':>11} {'greedy kW':>11} {'gap %':>7}"
    )
    for n, m, k in sizes:
        p = instance(n, m, k, seed=n)
        t0 = time.perf_counter()
        ex = solve_exact(p, k, time_limit_s=args.time_limit)
        te = time.perf_counter() - t0
        t0 = time.perf_counter()
        gr = solve_greedy(p, k)
        tg = time.perf_counter() - t0
        print(
            f"{n:>7} {m:>5} {k:>3} {p.pairs():>8} {te:>9.3f} {tg:>9.4f} {te / tg:>6.0f}x"
            f" {ex.objective_kw:>11.0f} {gr.objective_kw:>11.0f} {100 * gap(ex, gr):>7.3f}"
            + ("" if ex.status == "optimal" else f"  ({ex.status}: gap vs the MIP's upper bound)")
        )


if __name__ == "__main__":
    main()
