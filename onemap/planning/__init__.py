"""Planning (DESIGN §5, items 1, 12, 13): grid diagnostics, substation siting, before/after.

* :func:`onemap.planning.diagnostics.diagnose` — the ``diagnostics`` layer and table;
* :func:`onemap.planning.plan.plan` / :func:`~onemap.planning.plan.plan_many` — k new
  substations on the one map with readiness before and after;
* :mod:`onemap.planning.siting` — the capacitated maximal-covering model on a distance matrix
  (PuLP + HiGHS exact, greedy heuristic).
"""
