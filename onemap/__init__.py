"""onemap — the "one map" (一张图) of a city's electricity connection business.

Lays the land-use plan, the distribution network and the road corridors on one map and answers,
with reasons: where does the grid fail the plan (planners), does this cable route need only a
filing (approval staff), and how soon and how cheaply can a site be connected (investors).

The public surface is small and imported lazily (keeps the CLI quick to start)::

    import onemap
    m = onemap.load_map("data/demo.gpkg")
    onemap.readiness(m).counts                      # {"A": …, "B": …, "C": …, "D": …}
    onemap.preview(m, 119.195, 34.6, 100, "lv_non_residential").to_dict("en")

Layers (packages), dependencies pointing inward, kept by an import-linter contract::

    cli, web → planning → connection → grid | routing → procedure → geo | rules
             → errors, units, lang

No exported name is also a submodule of ``onemap`` (so ``onemap.readiness`` stays the function
after any import of the package's modules).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attribute"
_EXPORTS: dict[str, str] = {
    # the map
    "OneMap": "onemap.geo.mapfile:OneMap",
    "load_map": "onemap.geo.mapfile:read_map",
    "write_map": "onemap.geo.mapfile:write_map",
    "build_map": "onemap.geo.build:build_map",
    "import_osm": "onemap.geo.importers.osm:import_osm",
    "import_pandapower": "onemap.geo.importers.pandapower:import_pandapower",
    # rules and the calendar
    "Rules": "onemap.rules.model:Rules",
    "load_rules": "onemap.rules.model:load_rules",
    "resolve_rules": "onemap.rules.resolve:resolve_rules",
    "add_workdays": "onemap.procedure.workdays:add_workdays",
    "Deadline": "onemap.procedure.workdays:Deadline",
    "Timeline": "onemap.procedure.timeline:Timeline",
    # errors
    "OnemapInputError": "onemap.errors:OnemapInputError",
    # routing and the filing rule
    "check_route": "onemap.routing.check:check_route",
    "best_route": "onemap.routing.routes:best_route",
    "corridor_graph": "onemap.routing.build:corridor_graph",
    "CorridorGraph": "onemap.routing.graph:CorridorGraph",
    "FilingVerdict": "onemap.routing.filing:FilingVerdict",
    "Route": "onemap.routing.routes:Route",
    "RouteResult": "onemap.routing.routes:RouteResult",
    # grid
    "headroom": "onemap.grid.headroom:headroom",
    "capacity_layer": "onemap.grid.capacity:capacity_layer",
    "forecast_load": "onemap.grid.forecast:forecast_load",
    # connection readiness
    "readiness": "onemap.connection.bulk:readiness",
    "preview": "onemap.connection.site_preview:preview",
    "ReadinessResult": "onemap.connection.results:ReadinessResult",
    "Preview": "onemap.connection.results:Preview",
    "ConnectionPoint": "onemap.connection.results:ConnectionPoint",
    "PreviewRoute": "onemap.connection.results:PreviewRoute",
    # planning
    "plan": "onemap.planning.plan:plan",
    "plan_many": "onemap.planning.plan:plan_many",
    "candidate_sites": "onemap.planning.plan:candidate_sites",
    "diagnose": "onemap.planning.diagnostics:diagnose",
    "PlanResult": "onemap.planning.plan:PlanResult",
    "Diagnostics": "onemap.planning.diagnostics:Diagnostics",
    # the demo district
    "generate_demo": "onemap.demo:generate_demo",
    "build_demo": "onemap.demo:build_demo",
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name].split(":")
    except KeyError:
        raise AttributeError(f"module 'onemap' has no attribute '{name}'") from None
    return getattr(importlib.import_module(module), attr)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
