"""The siting model on distance matrices: known optima, brute force, spopt, greedy, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onemap.errors import OnemapInputError
from onemap.planning.siting import SitingProblem, gap, solve, solve_exact, solve_greedy


def brute_force(problem: SitingProblem, k: int) -> float:
    """Best served load over every k-subset of sites and every single-source assignment."""
    cover = problem.coverage()
    w = problem.demand_kw
    best = 0.0
    for sites in itertools.combinations(range(problem.n_candidates), k):
        options = [[-1, *[j for j in sites if cover[j, i]]] for i in range(problem.n_demand)]
        for choice in itertools.product(*options):
            choice = np.array(choice)
            load = np.array([w[choice == j].sum() for j in sites])
            if np.all(load <= problem.capacity_kw[list(sites)] * (1 + 1e-9)):
                best = max(best, float(w[choice >= 0].sum()))
    return best


def clusters_instance():
    """Three demand clusters on a line; candidates sit on each cluster and between them.

    Cluster loads 100, 60, 30 kW; a site on a cluster covers only it (radius 10 m), so for k = 2
    the optimum is by construction the sites on the two heaviest clusters.
    """
    demand_x = np.array([0, 1, 2, 100, 101, 200, 201], dtype=float)
    demand_kw = np.array([40, 30, 30, 30, 30, 15, 15], dtype=float)
    cand_x = np.array([50, 1, 150, 100.5, 200.5])
    dist = np.abs(cand_x[:, None] - demand_x[None, :])
    return SitingProblem.build(dist, demand_kw, 10.0, 1000.0)


def test_known_optimum_by_construction():
    p = clusters_instance()
    sol = solve_exact(p, 2)
    assert sol.status == "optimal"
    assert list(sol.sites) == [1, 3]
    assert sol.objective_kw == pytest.approx(160.0)
    assert sol.served_kw == {1: pytest.approx(100.0), 3: pytest.approx(60.0)}
    # every served demand is within radius of its site
    served = sol.assignment >= 0
    assert np.all(p.distance_m[sol.assignment[served], np.flatnonzero(served)] <= 10.0)
    g = solve_greedy(p, 2)
    assert list(g.sites) == [1, 3]
    assert gap(sol, g) == 0.0


def test_capacity_binds_and_changes_the_choice():
    # One big cluster of 100 kW; site capacity 50 kW: two sites on the big cluster serve 100,
    # better than one there and one on the 60-kW cluster (50 + 50 = 100 vs 50 + 50 = 100 tie) ->
    # make the second cluster smaller so the optimum is unique.
    demand_x = np.array([0, 1, 100], dtype=float)
    demand_kw = np.array([50, 50, 20], dtype=float)
    cand_x = np.array([0.5, 0.6, 100.0])
    dist = np.abs(cand_x[:, None] - demand_x[None, :])
    p = SitingProblem.build(dist, demand_kw, 10.0, 50.0)
    sol = solve_exact(p, 2)
    assert list(sol.sites) == [0, 1]
    assert sol.objective_kw == pytest.approx(100.0)
    for s in sol.sites:
        assert sol.served_kw[int(s)] <= 50.0 + 1e-9


@st.composite
def tiny_instances(draw):
    m = draw(st.integers(2, 4))
    n = draw(st.integers(1, 6))
    dist = np.array(
        draw(st.lists(st.floats(0, 100), min_size=m * n, max_size=m * n)), dtype=float
    ).reshape(m, n)
    w = np.array(draw(st.lists(st.integers(1, 50), min_size=n, max_size=n)), dtype=float)
    cap = np.array(draw(st.lists(st.integers(10, 120), min_size=m, max_size=m)), dtype=float)
    radius = draw(st.floats(10, 90))
    k = draw(st.integers(1, m))
    return SitingProblem.build(dist, w, radius, cap), k


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_instances())
def test_exact_equals_brute_force(instance):
    p, k = instance
    sol = solve_exact(p, k)
    assert sol.objective_kw == pytest.approx(brute_force(p, k), abs=1e-6)
    assert len(sol.sites) == k
    # feasibility of the reported assignment
    for s in sol.sites:
        assert p.demand_kw[sol.assignment == s].sum() <= p.capacity_kw[s] + 1e-6
    served = np.flatnonzero(sol.assignment >= 0)
    assert set(sol.assignment[served]) <= set(sol.sites.tolist())
    assert np.all(p.distance_m[sol.assignment[served], served] <= p.radius_m[served])
    # the heuristic is feasible and never better than the optimum
    g = solve_greedy(p, k)
    assert g.objective_kw <= sol.objective_kw + 1e-6
    for s in g.sites:
        assert p.demand_kw[g.assignment == s].sum() <= p.capacity_kw[s] + 1e-6


def test_uncapacitated_matches_spopt_mclp():
    """Without binding capacities the model is the MCLP: same optimum as spopt's MCLP."""
    import pulp
    from spopt.locate import MCLP

    rng = np.random.default_rng(7)
    demand_xy = rng.uniform(0, 1000, (40, 2))
    cand_xy = rng.uniform(0, 1000, (8, 2))
    dist = np.linalg.norm(cand_xy[:, None, :] - demand_xy[None, :, :], axis=2)
    w = rng.integers(1, 100, 40).astype(float)
    p = SitingProblem.build(dist, w, 250.0, w.sum())
    ours = solve_exact(p, 3)
    mclp = MCLP.from_cost_matrix(dist.T, w, service_radius=250.0, p_facilities=3)
    mclp = mclp.solve(pulp.HiGHS(msg=False))
    covered = np.zeros(40, bool)
    for f in mclp.fac2cli:
        covered[np.asarray(f, dtype=int)] = True
    assert ours.objective_kw == pytest.approx(float(w[covered].sum()))


def test_unreachable_and_oversized_demand_is_never_served():
    dist = np.array([[0.0, np.inf, 1.0]])
    p = SitingProblem.build(dist, [10.0, 10.0, 500.0], 5.0, 100.0)
    for sol in (solve_exact(p, 1), solve_greedy(p, 1)):
        assert list(sol.assignment) == [0, -1, -1]
        assert sol.objective_kw == pytest.approx(10.0)


def test_auto_falls_back_to_greedy_on_large_instances():
    p = clusters_instance()
    sol, ref = solve(p, 2, exact_max_pairs=1)
    assert sol.method == "greedy" and ref is None
    sol, ref = solve(p, 2, exact_max_pairs=10_000)
    assert sol.method == "exact" and ref is not None and ref.method == "greedy"


@pytest.mark.parametrize("k", [0, -1, 6])
def test_bad_k(k):
    with pytest.raises(OnemapInputError, match="k"):
        solve_exact(clusters_instance(), k)
    with pytest.raises(OnemapInputError):
        solve_greedy(clusters_instance(), k)


def test_no_candidates():
    p = SitingProblem.build(np.zeros((0, 3)), [1.0, 2.0, 3.0], 10.0, 100.0)
    with pytest.raises(OnemapInputError, match="no candidate"):
        solve_exact(p, 1)


def test_inconsistent_shapes():
    with pytest.raises(OnemapInputError, match="demand"):
        SitingProblem.build(np.zeros((2, 3)), [1.0, 2.0], 10.0, 100.0)
