"""The web app's bridge to the library: which services exist, and calling them.

The routing, readiness and capacity functions are built in other parts of onemap. A page or
endpoint is offered only when its library function is importable (:func:`services`); the web
layer never computes or invents a verdict, a readiness class or a headroom itself.
"""

from __future__ import annotations

import datetime as dt
import importlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.ops import substring

from onemap.errors import OnemapInputError
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
    "onemap.routing.filing.evaluate",
)


def services() -> Services:
    """Detect the library functions present in this installation."""
    return Services(
        check_route=_has("onemap.routing.check_route", "onemap.routing.read_route"),
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


# --- filing check (onemap.routing) -------------------------------------------------------------


def _lonlat(geoms: list, crs_metric: str) -> list[dict[str, Any]]:
    """GeoJSON (lon/lat) of metric geometries, projected in one call."""
    series = gpd.GeoSeries(geoms, crs=crs_metric).to_crs("EPSG:4326")
    return [mapping(g) for g in series]


def verdict_dict(onemap: OneMap, metric_line: Any, verdict: Any, lang: str) -> dict[str, Any]:
    """A FilingVerdict's JSON plus the route and each segment as lon/lat GeoJSON.

    Segment geometry is the part of the route between the segment's ``start_m`` and ``end_m``
    as measured by the verdict: the page colours the route by corridor with it.
    """
    out = verdict.to_dict(lang)
    line = shapely.line_merge(metric_line) if metric_line.geom_type != "LineString" else metric_line
    pieces = [metric_line]
    if line.geom_type == "LineString":
        pieces += [substring(line, s.start_m, s.end_m) for s in verdict.segments]
    geo = _lonlat(pieces, onemap.crs_metric)
    out["geometry"] = geo[0]
    if line.geom_type == "LineString":
        for seg, g in zip(out["segments"], geo[1:], strict=True):
            seg["geometry"] = g
    return out


def check_route_dict(
    onemap: OneMap, route: Any, voltage_kv: float, date: dt.date | None, lang: str
) -> dict[str, Any]:
    """:func:`onemap.routing.check_route` of a GeoJSON route (lon/lat), as JSON."""
    from onemap.routing import check_route
    from onemap.routing.routefile import as_metric_line

    line = as_metric_line(route, onemap.crs_metric, source="route")
    return verdict_dict(onemap, line, check_route(onemap, line, voltage_kv, date), lang)


def check_route_file(
    onemap: OneMap,
    data: bytes,
    filename: str,
    voltage_kv: float,
    date: dt.date | None,
    lang: str,
) -> dict[str, Any]:
    """The filing verdict of an uploaded route file (.geojson/.json, .kml, .dxf)."""
    from onemap.routing import check_route, read_route

    suffix = Path(filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="onemap-upload-") as tmp:
        path = Path(tmp) / f"route{suffix}"
        path.write_bytes(data)
        try:
            line = read_route(path, onemap.crs_metric)
        except OnemapInputError as exc:
            exc.file = filename  # name the user's file, not our temporary copy
            raise OnemapInputError(
                exc.message, file=filename, layer=exc.layer, row=exc.row, field=exc.field
            ) from exc
    return verdict_dict(onemap, line, check_route(onemap, line, voltage_kv, date), lang)


# --- readiness (onemap.readiness, onemap.zones) ------------------------------------------------


def preview_with_point(
    onemap: OneMap,
    lon: float,
    lat: float,
    kw: float,
    category: str,
    date: dt.date | None,
    lang: str,
) -> dict[str, Any]:
    """The preview JSON plus the connection point's lon/lat (looked up in the map by id)."""
    out = preview_dict(onemap, lon, lat, kw, category, date, lang)
    for key in ("connection_point", "second_connection_point"):
        cp = out.get(key)
        if cp:
            where = _asset_position(onemap, cp.get("asset_id"))
            if where is not None:
                cp["lon"], cp["lat"] = where
    return out


_POSITION_LAYERS = (("assets", "asset_id"), ("substations", "substation_id"))


def _asset_position(onemap: OneMap, asset_id: str | None) -> tuple[float, float] | None:
    """Lon/lat of a connection point by id: its asset (first of that id), else its substation."""
    return asset_positions(onemap).get(asset_id)


def asset_positions(onemap: OneMap) -> dict[Any, tuple[float, float]]:
    """Id → lon/lat (a point on the feature) of every asset and substation; an asset wins over a
    substation of the same id, the first feature over a later one. Built once per set of layer
    objects (a stored project replaces only ``projects``), so a preview looks its point up in a
    dict instead of scanning the layers."""
    layers = tuple(onemap[name] for name, _ in _POSITION_LAYERS)
    cached = onemap.__dict__.get("_web_asset_positions")
    if cached is None or any(a is not b for a, b in zip(cached[0], layers, strict=True)):
        out: dict[Any, tuple[float, float]] = {}
        for gdf, (_, column) in zip(reversed(layers), reversed(_POSITION_LAYERS), strict=True):
            pts = shapely.point_on_surface(gdf.geometry.to_numpy())
            x, y = shapely.get_x(pts), shapely.get_y(pts)
            ok = np.isfinite(x) & np.isfinite(y)  # a missing geometry has no position
            rows = zip(
                gdf[column].to_numpy()[ok].tolist(),
                zip(x[ok].tolist(), y[ok].tolist(), strict=True),
                strict=True,
            )
            # Reversed, so the first feature of an id is written last and wins.
            out.update(reversed(list(rows)))
        cached = (layers, out)
        onemap.__dict__["_web_asset_positions"] = cached  # one assignment: readers see either
    return cached[1]


def readiness_result(onemap: OneMap, kw: float | None = None, category: str | None = None):
    """:func:`onemap.readiness.readiness` (each parcel's own load and category by default)."""
    from onemap.readiness import readiness

    return readiness(onemap, kw, category)


READINESS_KINDS = {"zones": "readiness", "hexagons": "h3", "parcels": "parcel_id"}


def readiness_views(result: Any) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """Zones (one dissolved polygon per class), H3 hexagons and parcels of a readiness result
    (metric CRS, keyed as :data:`READINESS_KINDS`), and its district statistics."""
    from onemap.zones import districts, hexagons, zones

    layer = result.layer
    views = {"zones": zones(layer), "hexagons": hexagons(layer), "parcels": layer}
    return views, districts(layer)


def filing_voltages() -> list[float]:
    """Voltages (kV) the filing rule table knows, for the check page's choice."""
    from onemap.rules import load_rules

    return load_rules().filing.voltages_kv
