"""Route input: GeoJSON, KML and DXF files, GeoJSON objects and shapely lines → a metric line.

A route is one LineString or MultiLineString. GeoJSON is lon/lat (RFC 7946) unless it declares
a CRS (the legacy ``crs`` member, e.g. ``urn:ogc:def:crs:EPSG::4549``), which is then
reprojected; KML is always lon/lat; DXF carries no CRS, so its coordinates must be degrees or
the caller names the CRS. Coordinates that are not degrees in a file that declares no CRS are
refused — a length must never be guessed. Everything is returned in the map's metric CRS.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS, looks_geographic, transformer
from onemap.messages import Message, msg

LINE_TYPES = ("LineString", "MultiLineString")

#: Most vertices a route may have (CLI ``check-route``; the web app's ``max_route_vertices``
#: setting defaults to it). A drawn or surveyed cable route has hundreds; the bound keeps one
#: request from holding a worker for seconds (issue 12, item 15).
MAX_ROUTE_VERTICES = 20_000


def check_vertex_count(geom, limit: int | None, source: str | None) -> None:
    """OnemapInputError naming the route when ``geom`` has more than ``limit`` vertices."""
    if limit is None:
        return
    n = int(shapely.get_num_coordinates(geom))
    if n > limit:
        raise OnemapInputError(
            msg("routing.too_many_vertices", n=n, limit=limit),
            file=source,
            field="route",
        )


def _crs_of(name: str, source: str | None) -> CRS:
    crs = _parsed_crs(name)
    if crs is None:
        raise OnemapInputError(msg("routing.unknown_crs", name=name), file=source, field="crs")
    return crs


@lru_cache(maxsize=64)
def _parsed_crs(name: str) -> CRS | None:
    """``CRS.from_user_input`` once per name (a PROJ database look-up, slow in a new thread:
    every filing of a server asked it again); None for a name PROJ does not know."""
    try:
        return CRS.from_user_input(name)
    except CRSError:
        return None


def _to_metric(geom, src: CRS | str, crs_metric: str, source: str | None):
    src = src if isinstance(src, CRS) else _crs_of(src, source)
    if src.is_geographic:
        bounds = shapely.bounds(geom)
        if not looks_geographic(tuple(bounds)):
            raise OnemapInputError(
                msg(
                    "routing.geographic_not_degrees",
                    crs=src.to_string(),
                    bounds=tuple(round(b, 3) for b in bounds),
                ),
                file=source,
                field="crs",
            )
    tr = transformer(src.to_string(), crs_metric)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _check_line(geom, source: str | None):
    if geom is None or shapely.is_empty(geom):
        raise OnemapInputError(msg("routing.geometry_empty"), file=source, field="geometry")
    if geom.geom_type not in LINE_TYPES:
        raise OnemapInputError(
            msg("routing.not_line", geom_type=geom.geom_type),
            file=source,
            field="geometry",
        )
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise OnemapInputError(msg("routing.not_finite"), file=source)
    return geom


def _line_from_points(pts, source: str, what: Message):
    """A LineString from a vertex list; OnemapInputError naming the file when the list has fewer
    than two distinct vertices or a non-finite coordinate (GEOS would raise, or NaN propagate)."""
    xy = np.asarray(pts, dtype=float).reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise OnemapInputError(msg("routing.part_not_finite", what=what), file=source)
    if len(np.unique(xy, axis=0)) < 2:
        raise OnemapInputError(
            msg("routing.part_too_short", what=what, n_xy=len(xy)),
            file=source,
            field="geometry",
        )
    return shapely.LineString(xy)


def declared_crs(obj: dict, source: str | None, field: str = "crs") -> str | None:
    """The CRS name a GeoJSON object declares in the legacy ``crs`` member, or None.

    A ``crs`` member that is not ``{"type": "name", "properties": {"name": "EPSG:nnnn"}}`` is
    refused (OnemapInputError naming ``field``) rather than ignored: a length must not be guessed.
    """
    crs = obj.get("crs")
    if crs is None:
        return None
    props = crs.get("properties") if isinstance(crs, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise OnemapInputError(
            msg("routing.bad_crs_member"),
            file=source,
            field=field,
        )
    return name


def _geojson_geometry(obj: Any, source: str | None, field: str = "route") -> tuple[Any, str | None]:
    """The single line geometry of a GeoJSON object and the CRS it declares (if any).

    Every structural fault (a member of the wrong JSON type, a feature without ``type``…) is an
    OnemapInputError naming ``field`` and the member, never a TypeError/AttributeError.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise OnemapInputError(msg("geojson.not_object"), file=source, field=field)
    declared = declared_crs(obj, source, f"{field}.crs")
    kind = obj["type"]
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise OnemapInputError(
                msg("geojson.features_not_list"),
                file=source,
                field=f"{field}.features",
            )
        for k, f in enumerate(features):
            if not isinstance(f, dict) or f.get("type") != "Feature":
                raise OnemapInputError(
                    msg("routing.feature_not_feature", k=k),
                    file=source,
                    field=f"{field}.features[{k}]",
                )
        features = [f for f in features if f.get("geometry")]
        if not features:
            raise OnemapInputError(msg("routing.no_features"), file=source)
        if len(features) > 1:
            raise OnemapInputError(
                msg("routing.several_features", n_features=len(features)), file=source
            )
        obj = features[0]
        kind = obj["type"]
        field = f"{field}.features[0]"
    if kind == "Feature":
        obj = obj.get("geometry")
        if not obj:
            raise OnemapInputError(msg("routing.feature_no_geometry"), file=source, field=field)
        field = f"{field}.geometry"
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise OnemapInputError(
                msg("routing.feature_geometry_not_object"),
                file=source,
                field=field,
            )
    geom = _numeric_line(obj)
    if geom is not None:
        return geom, declared
    try:
        geom = shapely.geometry.shape(obj)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise OnemapInputError(
            msg("routing.invalid_geometry", exc=exc), file=source, field=field
        ) from None
    return geom, declared


def _numeric_line(obj: dict) -> shapely.LineString | None:
    """A GeoJSON LineString whose coordinates are rows of two or three numbers, made in one
    call (``shapely.geometry.shape`` makes a tuple a vertex: 0.15 s for 50k vertices); None for
    anything else, which ``shape`` reads and reports on."""
    if obj.get("type") != "LineString" or not isinstance(obj.get("coordinates"), list):
        return None
    try:
        coords = np.asarray(obj["coordinates"])
    except (TypeError, ValueError):  # ragged rows
        return None
    if coords.ndim != 2 or coords.shape[0] < 2 or coords.shape[1] not in (2, 3):
        return None
    if coords.dtype.kind not in "if":  # strings, booleans, None: left to shape's checks
        return None
    return shapely.linestrings(coords.astype(float, copy=False))


def as_metric_line(
    line: Any,
    crs_metric: str,
    *,
    crs: str | None = None,
    source=None,
    max_vertices: int | None = MAX_ROUTE_VERTICES,
):
    """A route (shapely line, GeoJSON dict/text) as a line in ``crs_metric``.

    A shapely geometry is taken to be in ``crs_metric`` unless ``crs`` names its CRS. GeoJSON is
    lon/lat unless it declares a CRS or ``crs`` is given; non-degree GeoJSON without a declared
    CRS is refused. More than ``max_vertices`` vertices (None: no bound) is refused.
    """
    if isinstance(line, str):
        try:
            line = json.loads(line)
        except json.JSONDecodeError as exc:
            raise OnemapInputError(msg("routing.invalid_json", exc=exc), file=source) from exc
    if isinstance(line, dict):
        geom, declared = _geojson_geometry(line, source)
        _check_line(geom, source)
        check_vertex_count(geom, max_vertices, source)
        src = crs or declared
        if src is None:
            if not looks_geographic(tuple(shapely.bounds(geom))):
                raise OnemapInputError(
                    msg("routing.no_crs_not_degrees"),
                    file=source,
                    field="crs",
                )
            src = STORAGE_CRS
        return _to_metric(geom, src, crs_metric, source)
    if isinstance(line, shapely.Geometry):
        _check_line(line, source)
        check_vertex_count(line, max_vertices, source)
        return line if crs is None else _to_metric(line, crs, crs_metric, source)
    raise OnemapInputError(msg("routing.unreadable_type", kind=type(line).__name__), file=source)


def _kml_lines(path: Path) -> list:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise OnemapInputError(msg("routing.invalid_kml", exc=exc), file=str(path)) from exc

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    def coords(el) -> np.ndarray:
        text = (el.text or "").split()
        pts = [tuple(float(v) for v in t.split(",")[:2]) for t in text]
        return np.array(pts, dtype=float).reshape(-1, 2)

    features = []
    placemarks = [el for el in root.iter() if local(el.tag) == "Placemark"]
    for pm in placemarks:
        lines = []
        for ls in pm.iter():
            if local(ls.tag) == "LineString":
                for c in ls:
                    if local(c.tag) == "coordinates":
                        try:
                            lines.append(coords(c))
                        except ValueError as exc:
                            raise OnemapInputError(
                                msg("routing.bad_kml_coordinates", exc=exc), file=str(path)
                            ) from exc
        if lines:
            features.append(lines)
    if not features:
        raise OnemapInputError(msg("routing.no_line_features"), file=str(path))
    if len(features) > 1:
        raise OnemapInputError(
            msg("routing.several_line_features", n_features=len(features)),
            file=str(path),
        )
    return features[0]


def _dxf_geometry(path: Path):
    import ezdxf  # imported here: only DXF uploads need it

    try:
        doc = ezdxf.readfile(str(path))
    except (OSError, ezdxf.DXFStructureError) as exc:
        raise OnemapInputError(msg("routing.invalid_dxf", exc=exc), file=str(path)) from exc
    lines = []
    source = str(path)
    for e in doc.modelspace():
        kind = e.dxftype()
        if kind == "LINE":
            lines.append([tuple(e.dxf.start)[:2], tuple(e.dxf.end)[:2]])
        elif kind == "LWPOLYLINE":
            pts = [tuple(p[:2]) for p in e.get_points("xy")]
            if e.closed and pts:
                pts.append(pts[0])
            lines.append(pts)
        elif kind == "POLYLINE":
            pts = [tuple(v.dxf.location)[:2] for v in e.vertices]
            if e.is_closed and pts:
                pts.append(pts[0])
            lines.append(pts)
    if not lines:
        raise OnemapInputError(msg("routing.dxf_no_lines"), file=str(path))
    parts = [
        _line_from_points(p, source, msg("routing.dxf_entity", n=k + 1))
        for k, p in enumerate(lines)
    ]
    merged = shapely.line_merge(shapely.multilinestrings(parts))
    if merged.geom_type != "LineString":
        raise OnemapInputError(
            msg("routing.dxf_several_lines", n_lines=len(shapely.get_parts(merged))),
            file=str(path),
        )
    return merged


def read_route(
    path: str | Path,
    crs_metric: str,
    *,
    crs: str | None = None,
    max_vertices: int | None = MAX_ROUTE_VERTICES,
):
    """Read a route file (.geojson/.json, .kml, .dxf) as a line in ``crs_metric``; more than
    ``max_vertices`` vertices (None: no bound) is refused naming the file."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise OnemapInputError(msg("routing.file_not_found"), file=source)
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        try:
            obj = json.loads(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise OnemapInputError(msg("routing.invalid_geojson", exc=exc), file=source) from exc
        return as_metric_line(obj, crs_metric, crs=crs, source=source, max_vertices=max_vertices)
    if suffix == ".kml":
        parts = [
            _line_from_points(c, source, msg("routing.kml_linestring", n=k + 1))
            for k, c in enumerate(_kml_lines(path))
        ]
        geom = parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)
        _check_line(geom, source)
        check_vertex_count(geom, max_vertices, source)
        return _to_metric(geom, crs or STORAGE_CRS, crs_metric, source)
    if suffix == ".dxf":
        geom = _check_line(_dxf_geometry(path), source)
        check_vertex_count(geom, max_vertices, source)
        if crs is None:
            if not looks_geographic(tuple(shapely.bounds(geom))):
                raise OnemapInputError(
                    msg("routing.dxf_no_crs"),
                    file=source,
                    field="crs",
                )
            crs = STORAGE_CRS
        return _to_metric(geom, crs, crs_metric, source)
    raise OnemapInputError(msg("routing.unknown_format", suffix=suffix), file=source)
