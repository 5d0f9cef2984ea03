"""The web app's bridge to the library: calling its services and shaping their JSON.

The routing, readiness and capacity functions live in onemap; the web layer never computes or
invents a verdict, a readiness class or a headroom itself. Every service is always offered: a
library function that fails to import is an error at start-up, not a vanished endpoint.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from onemap.connection.bulk import readiness
from onemap.connection.results import ReadinessResult
from onemap.connection.site_preview import preview
from onemap.connection.zones import districts, hexagons, zones
from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS, transformer
from onemap.geo.mapfile import OneMap
from onemap.grid.headroom import capacity_csv as _capacity_csv
from onemap.grid.headroom import capacity_layer as _capacity_layer
from onemap.routing.check import check_route
from onemap.routing.filing import FilingVerdict
from onemap.routing.routefile import MAX_ROUTE_VERTICES, as_metric_line, read_route
from onemap.rules import resolve_rules

# The services of ``/api/v1/health`` (``features``): all of them, always.
FEATURES: dict[str, bool] = {
    "capacity": True,
    "check_route": True,
    "preview": True,
    "readiness": True,
}


def preview_dict(
    onemap: OneMap,
    lon: float,
    lat: float,
    kw: float,
    category: str,
    date: dt.date | None,
    lang: str,
) -> dict[str, Any]:
    """The library preview of a site as its JSON (DESIGN §8 ``preview``).

    Parameters
    ----------
    onemap
        The served map.
    lon, lat
        The site in degrees.
    kw
        Requested capacity in kW.
    category
        Customer category.
    date
        Application date, or None.
    lang
        Language of messages (``zh`` or ``en``).

    Returns
    -------
    dict
        :meth:`onemap.connection.results.Preview.to_dict` of the preview.
    """
    return preview(onemap, lon, lat, kw, category, date, lang).to_dict(lang)


def proposal_for(onemap: OneMap, row: gpd.GeoDataFrame) -> dict[str, Any]:
    """The supply proposal for a pushed project row: the preview at its site (a point on it).

    Parameters
    ----------
    onemap
        The served map.
    row
        The one-row project frame of :func:`web.projects.project_row`.

    Returns
    -------
    dict
        The preview JSON in Chinese.
    """
    geom = row.geometry.iloc[0]
    site = geom if geom.geom_type == "Point" else geom.representative_point()
    submitted = row["submitted"].iloc[0]
    return preview_dict(
        onemap,
        float(site.x),
        float(site.y),
        float(row["requested_kw"].iloc[0]),
        str(row["category"].iloc[0]),
        dt.date.fromisoformat(submitted) if submitted else None,
        "zh",
    )


def capacity_layer(onemap: OneMap) -> gpd.GeoDataFrame:
    """Every element's headroom, status and colour (:func:`onemap.grid.headroom.capacity_layer`).

    Parameters
    ----------
    onemap
        The served map.

    Returns
    -------
    geopandas.GeoDataFrame
        The public capacity layer (lon/lat).
    """
    return _capacity_layer(onemap)


def capacity_csv(layer: gpd.GeoDataFrame) -> str:
    """A capacity layer as CSV (:func:`onemap.grid.headroom.capacity_csv`).

    Parameters
    ----------
    layer
        Rows of :func:`capacity_layer`.

    Returns
    -------
    str
        The CSV text with lon/lat columns.
    """
    return _capacity_csv(layer)


def capacity_colors(onemap: OneMap) -> dict[str, str]:
    """Status → colour of the public capacity map, from the map's rule table (item 11).

    Parameters
    ----------
    onemap
        The served map (its own rule table, else the default).

    Returns
    -------
    dict
        Status (green, amber, red, unknown) → CSS colour, in the table's order.
    """
    return dict(resolve_rules(onemap).capacity_map.colors)


def filing_voltages(onemap: OneMap) -> list[float]:
    """Voltages (kV) the map's filing rule table knows, for the check page's choice.

    Parameters
    ----------
    onemap
        The served map (its own rule table, else the default).

    Returns
    -------
    list of float
        The voltages in the table's order.
    """
    return list(resolve_rules(onemap).filing.voltages_kv)


# --- filing check (onemap.routing) -------------------------------------------------------------


def _lonlat(geoms: list, crs_metric: str) -> list[dict[str, Any]]:
    """GeoJSON (lon/lat) of metric geometries, projected in one call."""
    series = gpd.GeoSeries(geoms, crs=crs_metric).to_crs("EPSG:4326")
    return [mapping(g) for g in series]


def _interpolate(
    coords: np.ndarray, seg: np.ndarray, cum: np.ndarray, dist: np.ndarray
) -> np.ndarray:
    """Points at distances ``dist`` along the line ``coords`` (``seg``: length of each segment,
    ``cum``: distance of each vertex),
    computed as GEOS ``interpolate`` does: the first segment whose end passes the distance,
    ``p0 + f·(p1 - p0)``; distances are clamped to the line."""
    dist = np.clip(dist, 0.0, cum[-1])
    j = np.clip(np.searchsorted(cum, dist, side="right") - 1, 0, len(coords) - 2)
    seg = seg[j]
    f = np.where(seg > 0, (dist - cum[j]) / np.where(seg > 0, seg, 1.0), 0.0)
    p0, p1 = coords[j], coords[j + 1]
    f = f[:, None]
    at = np.where(f <= 0, p0, np.where(f >= 1, p1, p0 + f * (p1 - p0)))
    return np.where((dist >= cum[-1])[:, None], coords[-1], at)


def substrings(line: shapely.LineString, spans: list[tuple[float, float]]) -> list[np.ndarray]:
    """The coordinates of ``shapely.ops.substring(line, s, e)`` for every ``(s, e)`` in ``spans``
    (0 ≤ s ≤ e; one row for a point), in time linear in the vertices plus the output.

    ``substring`` walks the whole line per call, so one call per verdict segment made the filing
    check quadratic in the route's vertex count (issue 12, item 15).
    """
    if not spans:
        return []
    coords = shapely.get_coordinates(line)
    n = len(coords)
    d = np.diff(coords, axis=0)
    seg = np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)
    cum = np.r_[0.0, np.cumsum(seg)]
    start, end = (np.asarray(v, dtype=float) for v in zip(*spans, strict=True))
    k = len(start)
    point = (start == end) | ((start >= cum[-1]) & (end >= cum[-1]))
    lo = np.searchsorted(cum, np.maximum(start, 0.0), side="right")
    hi = np.minimum(np.searchsorted(cum, end, side="left"), n - 1)
    inner = np.where(point, 0, np.maximum(hi - lo, 0))
    # one index array into [coords, start points, end points]: start, inner vertices, end
    pool = np.vstack(
        [coords, _interpolate(coords, seg, cum, start), _interpolate(coords, seg, cum, end)]
    )
    count = inner + np.where(point, 1, 2)
    first = np.r_[0, np.cumsum(count)[:-1]]
    idx = np.repeat(lo - first - 1, count) + np.arange(count.sum())
    idx[first] = n + np.arange(k)
    last = first + count - 1
    idx[last[~point]] = n + k + np.arange(k)[~point]
    return np.split(pool[idx], np.cumsum(count)[:-1])


def verdict_dict(
    onemap: OneMap, metric_line: shapely.Geometry, verdict: FilingVerdict, lang: str
) -> dict[str, Any]:
    """A FilingVerdict's JSON plus the route and each segment as lon/lat GeoJSON.

    Segment geometry is the part of the route between the segment's ``start_m`` and ``end_m``
    as measured by the verdict: the page colours the route by corridor with it.

    Parameters
    ----------
    onemap
        The served map (its metric CRS).
    metric_line
        The checked route in the metric CRS.
    verdict
        The library's verdict of that route.
    lang
        Language of messages.

    Returns
    -------
    dict
        ``verdict.to_dict(lang)`` with ``geometry`` and a ``geometry`` per segment.
    """
    out = verdict.to_dict(lang)
    out["geometry"] = _lonlat([metric_line], onemap.crs_metric)[0]
    line = shapely.line_merge(metric_line) if metric_line.geom_type != "LineString" else metric_line
    if line.geom_type == "LineString" and verdict.segments:
        parts = substrings(line, [(s.start_m, s.end_m) for s in verdict.segments])
        flat = np.vstack(parts)
        lon, lat = transformer(onemap.crs_metric, STORAGE_CRS).transform(flat[:, 0], flat[:, 1])
        lonlat = np.column_stack([lon, lat]).tolist()
        at = 0
        for seg, xy in zip(out["segments"], parts, strict=True):
            pts = lonlat[at : at + len(xy)]
            at += len(xy)
            seg["geometry"] = (
                {"type": "Point", "coordinates": pts[0]}
                if len(xy) == 1
                else {"type": "LineString", "coordinates": pts}
            )
    return out


def check_route_dict(
    onemap: OneMap,
    route: dict[str, Any],
    voltage_kv: float,
    date: dt.date | None,
    lang: str,
    max_vertices: int | None = MAX_ROUTE_VERTICES,
) -> dict[str, Any]:
    """The filing verdict of a GeoJSON route (lon/lat), as JSON.

    Parameters
    ----------
    onemap
        The served map.
    route
        GeoJSON LineString geometry or Feature.
    voltage_kv
        Cable voltage in kV.
    date
        Submission date for the deadline, or None.
    lang
        Language of messages.
    max_vertices
        Refuse a route with more vertices (the server's ``max_route_vertices``).

    Returns
    -------
    dict
        See :func:`verdict_dict`.
    """
    line = as_metric_line(route, onemap.crs_metric, source="route", max_vertices=max_vertices)
    return verdict_dict(onemap, line, check_route(onemap, line, voltage_kv, date), lang)


def check_route_file(
    onemap: OneMap,
    data: bytes,
    filename: str,
    voltage_kv: float,
    date: dt.date | None,
    lang: str,
    max_vertices: int | None = MAX_ROUTE_VERTICES,
) -> dict[str, Any]:
    """The filing verdict of an uploaded route file (.geojson/.json, .kml, .dxf).

    Parameters
    ----------
    onemap
        The served map.
    data
        The file's bytes.
    filename
        The user's file name (its suffix picks the reader; errors name it).
    voltage_kv
        Cable voltage in kV.
    date
        Submission date for the deadline, or None.
    lang
        Language of messages.
    max_vertices
        Refuse a route with more vertices (the server's ``max_route_vertices``).

    Returns
    -------
    dict
        See :func:`verdict_dict`.
    """
    suffix = Path(filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="onemap-upload-") as tmp:
        path = Path(tmp) / f"route{suffix}"
        path.write_bytes(data)
        try:
            line = read_route(path, onemap.crs_metric, max_vertices=max_vertices)
        except OnemapInputError as exc:
            # Name the user's file, not our temporary copy.
            raise OnemapInputError(
                exc.message, file=filename, layer=exc.layer, row=exc.row, field=exc.field
            ) from exc
    return verdict_dict(onemap, line, check_route(onemap, line, voltage_kv, date), lang)


# --- readiness (onemap.connection) -------------------------------------------------------------


def preview_with_point(
    onemap: OneMap,
    lon: float,
    lat: float,
    kw: float,
    category: str,
    date: dt.date | None,
    lang: str,
) -> dict[str, Any]:
    """The preview JSON plus the connection points' lon/lat (looked up in the map by id).

    Parameters
    ----------
    onemap, lon, lat, kw, category, date, lang
        As :func:`preview_dict`.

    Returns
    -------
    dict
        The preview JSON; each connection point found in the map gains ``lon`` and ``lat``.
    """
    out = preview_dict(onemap, lon, lat, kw, category, date, lang)
    for key in ("connection_point", "second_connection_point"):
        cp = out.get(key)
        if cp:
            where = asset_positions(onemap).get(cp.get("asset_id"))
            if where is not None:
                cp["lon"], cp["lat"] = where
    return out


_POSITION_LAYERS = (("assets", "asset_id"), ("substations", "substation_id"))


def asset_positions(onemap: OneMap) -> dict[Any, tuple[float, float]]:
    """Id → lon/lat (a point on the feature) of every asset and substation.

    An asset wins over a substation of the same id, the first feature over a later one. Built
    once per set of layer objects (:meth:`OneMap.cached`; a stored project replaces only
    ``projects``), so a preview looks its point up in a dict instead of scanning the layers.

    Parameters
    ----------
    onemap
        The served map.

    Returns
    -------
    dict
        Asset or substation id → (lon, lat).
    """

    def build() -> dict[Any, tuple[float, float]]:
        out: dict[Any, tuple[float, float]] = {}
        for name, column in reversed(_POSITION_LAYERS):
            gdf = onemap[name]
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
        return out

    return onemap.cached(
        "web:asset_positions", build, layers=tuple(name for name, _ in _POSITION_LAYERS)
    )


def readiness_result(
    onemap: OneMap, kw: float | None = None, category: str | None = None
) -> ReadinessResult:
    """Readiness of every parcel (:func:`onemap.connection.bulk.readiness`).

    Parameters
    ----------
    onemap
        The served map.
    kw, category
        One load and category for every parcel; None: each parcel's own.

    Returns
    -------
    ReadinessResult
        The library's result.
    """
    return readiness(onemap, kw, category)


READINESS_KINDS = {"zones": "readiness", "hexagons": "h3", "parcels": "parcel_id"}


def readiness_views(
    result: ReadinessResult,
) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """Zones, H3 hexagons and parcels of a readiness result, and its district statistics.

    Parameters
    ----------
    result
        A readiness result.

    Returns
    -------
    views : dict
        Metric-CRS frames keyed as :data:`READINESS_KINDS`: one dissolved polygon per class,
        the hexagons with their class shares, the parcels.
    districts : pandas.DataFrame
        Per-district counts.
    """
    layer = result.layer
    views = {"zones": zones(layer), "hexagons": hexagons(layer), "parcels": layer}
    return views, districts(layer)
