"""onemap — the "one map" (一张图) of a city's electricity connection business.

Lays the land-use plan, the distribution network and the road corridors on one map and answers,
with reasons: where does the grid fail the plan (planners), does this cable route need only a
filing (approval staff), and how soon and how cheaply can a site be connected (investors).

The public surface is small and imported lazily (keeps the CLI quick to start)::

    import onemap
    m = onemap.load_map("data/demo.gpkg")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attribute"
_EXPORTS: dict[str, str] = {
    "OneMap": "onemap.geo.mapfile:OneMap",
    "load_map": "onemap.geo.mapfile:read_map",
    "write_map": "onemap.geo.mapfile:write_map",
    "build_map": "onemap.geo.build:build_map",
    "load_rules": "onemap.rules:load_rules",
    "add_workdays": "onemap.workdays:add_workdays",
    "OnemapInputError": "onemap.errors:OnemapInputError",
    "check_route": "onemap.routing.check:check_route",
    "best_route": "onemap.routing.routes:best_route",
    "corridor_graph": "onemap.routing.graph:corridor_graph",
    "generate_demo": "onemap.demo:generate_demo",
    "build_demo": "onemap.demo:build_demo",
    "preview": "onemap.readiness:preview",
    "readiness": "onemap.readiness:readiness",
    "headroom": "onemap.headroom:headroom",
    "capacity_layer": "onemap.headroom:capacity_layer",
    "forecast_load": "onemap.forecast:forecast_load",
    "plan": "onemap.planning.plan:plan",
    "plan_many": "onemap.planning.plan:plan_many",
    "candidate_sites": "onemap.planning.plan:candidate_sites",
    "diagnose": "onemap.planning.diagnostics:diagnose",
    "import_osm": "onemap.geo.osm:import_osm",
    "import_pandapower": "onemap.geo.pandapower_import:import_pandapower",
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
