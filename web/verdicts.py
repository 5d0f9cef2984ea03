"""The filing check for the web: a verdict's JSON with the route and its segments as lon/lat
GeoJSON (segment geometry cut from the route in one vectorised pass), for drawn and uploaded
routes."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS, transformer
from onemap.geo.mapfile import OneMap
from onemap.parallel import collector_paused
from onemap.routing.check import check_route
from onemap.routing.filing import FilingVerdict
from onemap.routing.routefile import MAX_ROUTE_VERTICES, as_metric_line, read_route
from onemap.routing.verdict_segments import SegmentTable, as_table


def _lonlat(geoms: list, crs_metric: str) -> list[dict[str, Any]]:
    """GeoJSON (lon/lat) of metric geometries, projected in one call."""
    # the cached transformer: a GeoSeries.to_crs builds one per call (100–250 ms in a new
    # worker thread, the tail of a filing's latency — issue 15)
    forward = transformer(crs_metric, STORAGE_CRS)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))

    return [_geojson(g) for g in shapely.transform(np.asarray(geoms, dtype=object), project)]


def _geojson(geom: shapely.Geometry) -> dict[str, Any]:
    """``shapely.geometry.mapping`` of a geometry, with a LineString's coordinates as one
    ``tolist`` (``mapping`` makes a tuple a vertex: half a second for a 50k-vertex route);
    the JSON is the same."""
    if geom.geom_type == "LineString":
        return {"type": "LineString", "coordinates": shapely.get_coordinates(geom).tolist()}
    return mapping(geom)


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


def _spans(
    line: shapely.LineString, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spans' coordinates as rows of a pool (the line's vertices, then each span's start
    and end point): (pool, row of each output coordinate, coordinates of each span)."""
    k = len(start)
    coords = shapely.get_coordinates(line)
    n = len(coords)
    d = np.diff(coords, axis=0)
    seg = np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)
    cum = np.r_[0.0, np.cumsum(seg)]
    point = (start == end) | ((start >= cum[-1]) & (end >= cum[-1]))
    lo = np.searchsorted(cum, np.maximum(start, 0.0), side="right")
    hi = np.minimum(np.searchsorted(cum, end, side="left"), n - 1)
    inner = np.where(point, 0, np.maximum(hi - lo, 0))
    # A span that ends where the next starts (a verdict's segments follow each other) shares
    # that point's row: the same distance gives the same point, computed and projected once.
    shared = np.r_[end[:-1] == start[1:], False] & ~point
    own = ~point & ~shared
    # one index array into [coords, start points, own end points]: start, inner vertices, end
    pool = np.vstack(
        [coords, _interpolate(coords, seg, cum, start), _interpolate(coords, seg, cum, end[own])]
    )
    end_row = np.arange(k) + n + 1  # the next span's start row
    end_row[own] = n + k + np.arange(int(own.sum()))
    count = inner + np.where(point, 1, 2)
    first = np.r_[0, np.cumsum(count)[:-1]]
    idx = np.repeat(lo - first - 1, count) + np.arange(count.sum())
    idx[first] = n + np.arange(k)
    last = first + count - 1
    idx[last[~point]] = end_row[~point]
    return pool, idx, count


def span_coords(
    line: shapely.LineString, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates of ``shapely.ops.substring(line, s, e)`` for every span ``(s, e)`` of
    ``start`` and ``end`` (0 ≤ s ≤ e; one row for a point), stacked, in time linear in the
    vertices plus the output.

    Parameters
    ----------
    line
        A LineString.
    start, end
        Where each span starts and ends along the line (same length).

    Returns
    -------
    coords : numpy.ndarray
        (m, 2) the spans' coordinates one after the other.
    count : numpy.ndarray
        The number of rows of each span (1 for a point).
    """
    start = np.asarray(start, dtype=float)
    end = np.asarray(end, dtype=float)
    if not len(start):
        return np.empty((0, 2)), np.zeros(0, dtype=np.int64)
    pool, idx, count = _spans(line, start, end)
    return pool[idx], count


def substrings(line: shapely.LineString, spans: list[tuple[float, float]]) -> list[np.ndarray]:
    """The coordinates of ``shapely.ops.substring(line, s, e)`` for every ``(s, e)`` in ``spans``
    (0 ≤ s ≤ e; one row for a point), in time linear in the vertices plus the output
    (:func:`span_coords`, split by span).

    ``substring`` walks the whole line per call, so one call per verdict segment made the filing
    check quadratic in the route's vertex count (issue 12, item 15).
    """
    if not spans:
        return []
    start, end = (np.asarray(v, dtype=float) for v in zip(*spans, strict=True))
    coords, count = span_coords(line, start, end)
    return np.split(coords, np.cumsum(count)[:-1])


def _segment_geometries(
    onemap: OneMap, line: shapely.LineString, segments: SegmentTable
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Each segment's part of the route as lon/lat GeoJSON (a Point where it has no length):
    cut in one pass, projected in one call (each point once), made into lists once; and the
    line's vertices in lon/lat (the pool of points begins with them)."""
    pool, idx, count = _spans(line, segments.start_m, segments.end_m)
    lon, lat = transformer(onemap.crs_metric, STORAGE_CRS).transform(pool[:, 0], pool[:, 1])
    lonlat = np.column_stack([lon, lat])
    bounds = np.r_[0, np.cumsum(count)].tolist()
    with collector_paused():
        # one list a pool point, shared by the spans that meet there (fewer objects to make)
        pts = list(map(lonlat.tolist().__getitem__, idx.tolist()))
        out = [
            {"type": "LineString", "coordinates": pts[a:b]}
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)  # noqa: RUF007 (faster)
        ]
        for i in np.flatnonzero(count == 1).tolist():
            out[i] = {"type": "Point", "coordinates": pts[bounds[i]]}
        return out, lonlat[: shapely.get_num_coordinates(line)]


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
    route = None  # the route's GeoJSON, when its vertices are projected with the segments'
    line = shapely.line_merge(metric_line) if metric_line.geom_type != "LineString" else metric_line
    if line.geom_type == "LineString" and len(verdict.segments):
        geoms, vertices = _segment_geometries(onemap, line, as_table(verdict.segments))
        if line is metric_line:
            route = {"type": "LineString", "coordinates": vertices.tolist()}
        for seg, geom in zip(out["segments"], geoms, strict=True):
            seg["geometry"] = geom
    out["geometry"] = route or _lonlat([metric_line], onemap.crs_metric)[0]
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
    with collector_paused():  # a long route's pieces and rows (see collector_paused)
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
                exc.msg, file=filename, layer=exc.layer, row=exc.row, field=exc.field
            ) from exc
    return verdict_dict(onemap, line, check_route(onemap, line, voltage_kv, date), lang)
