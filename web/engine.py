"""The web app's bridge to the library: which services exist, and calling them.

The routing, readiness and capacity functions are built in other parts of onemap. A page or
endpoint is offered only when its library function is importable (:func:`services`); the web
layer never computes or invents a verdict, a readiness class or a headroom itself.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import Any

import geopandas as gpd

from onemap.geo.mapfile import OneMap


def _has(*dotted: str) -> bool:
    """Whether every ``module.attribute`` named is importable."""
    for name in dotted:
        module, _, attr = name.rpartition(".")
        try:
            if not hasattr(importlib.import_module(module), attr):
                return False
        except ImportError:
            return False
    return True


@dataclass(frozen=True)
class Services:
    """Which library services this server can offer."""

    check_route: bool
    preview: bool
    readiness: bool
    capacity: bool

    def to_dict(self) -> dict[str, bool]:
        return {
            "check_route": self.check_route,
            "preview": self.preview,
            "readiness": self.readiness,
            "capacity": self.capacity,
        }


_READINESS_NEEDS = (
    "onemap.routing.graph.corridor_graph",
    "onemap.routing.bulk.nearest_sources",
    "onemap.routing.bulk.path_from_predecessors",
    "onemap.routing.filing.check_route",
)


def services() -> Services:
    """Detect the library functions present in this installation."""
    return Services(
        check_route=_has("onemap.routing.check_route"),
        # Readiness routes over the corridor graph: offered once the routing it uses exists too.
        preview=_has("onemap.readiness.preview", *_READINESS_NEEDS),
        readiness=_has("onemap.readiness.readiness", *_READINESS_NEEDS),
        capacity=_has("onemap.headroom.capacity_layer"),
    )


def preview_dict(
    onemap: OneMap,
    lon: float,
    lat: float,
    kw: float,
    category: str,
    date: dt.date | None,
    lang: str,
) -> dict[str, Any]:
    """:func:`onemap.readiness.preview` as its JSON (DESIGN §8 ``preview``)."""
    from onemap.readiness import preview

    return preview(onemap, lon, lat, kw, category, date, lang).to_dict()


def proposal_for(state: Any, row: gpd.GeoDataFrame) -> dict[str, Any]:
    """The supply proposal for a pushed project row: the preview at its site (a point on it)."""
    geom = row.geometry.iloc[0]
    site = geom if geom.geom_type == "Point" else geom.representative_point()
    submitted = row["submitted"].iloc[0]
    return preview_dict(
        state.onemap,
        float(site.x),
        float(site.y),
        float(row["requested_kw"].iloc[0]),
        str(row["category"].iloc[0]),
        dt.date.fromisoformat(submitted) if submitted else None,
        "zh",
    )


def capacity_layer(onemap: OneMap) -> gpd.GeoDataFrame:
    """:func:`onemap.headroom.capacity_layer`: every element's headroom, status and colour."""
    from onemap.headroom import capacity_layer as _capacity_layer

    return _capacity_layer(onemap)


def capacity_csv(layer: gpd.GeoDataFrame) -> str:
    """:func:`onemap.headroom.capacity_csv` of a capacity layer."""
    from onemap.headroom import capacity_csv as _capacity_csv

    return _capacity_csv(layer)


def capacity_colors() -> dict[str, str]:
    """Status → colour of the public capacity map, from the rule table (item 11)."""
    from onemap.rules import load_rules

    return dict(load_rules().capacity_map.colors)
