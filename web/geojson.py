"""Reading geometries sent to the API (GeoJSON objects) and checking they lie on the map.

Every failure is an OnemapInputError naming the request field, so the client gets a 422 with a
message a person understands ("expected a LineString, got Polygon"), never a stack trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import shape

from onemap.errors import OnemapInputError
from onemap.geo.crs import looks_swapped
from onemap.messages import msg
from onemap.routing.routefile import declared_crs


def geometry_of(obj: Any, *, field: str, types: Iterable[str]) -> shapely.Geometry:
    """The geometry of a GeoJSON geometry, Feature or one-feature FeatureCollection.

    ``types`` are the accepted geometry types; coordinates must be lon/lat degrees.
    """
    types = tuple(types)
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise OnemapInputError(msg("geojson.not_object"), field=field)
    _wgs84_only(obj, field)
    if obj["type"] == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            raise OnemapInputError(msg("geojson.features_not_list"), field=f"{field}.features")
        if len(feats) != 1:
            raise OnemapInputError(
                msg("geojson.one_feature", n_feats=len(feats)),
                field=field,
            )
        obj = feats[0]
        field = f"{field}.features[0]"
        if not isinstance(obj, dict) or obj.get("type") != "Feature":
            raise OnemapInputError(msg("geojson.not_feature"), field=field)
        _wgs84_only(obj, field)
    if obj.get("type") == "Feature":
        obj = obj.get("geometry")
        field = f"{field}.geometry"
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise OnemapInputError(msg("geojson.no_geometry"), field=field)
        _wgs84_only(obj, field)
    try:
        geom = shape(obj)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise OnemapInputError(msg("geojson.malformed", exc=exc), field=field) from None
    return _check(geom, field, types)


def _wgs84_only(obj: dict, field: str) -> None:
    """Refuse a ``crs`` member other than WGS 84 lon/lat: API geometries are EPSG:4326."""
    if obj.get("crs") is None:
        return
    name = declared_crs(obj, None, f"{field}.crs")
    try:
        ok = CRS.from_user_input(name).equals(CRS.from_epsg(4326), ignore_axis_order=True)
    except CRSError:
        ok = False
    if not ok:
        raise OnemapInputError(msg("geojson.not_wgs84", name=name), field=f"{field}.crs")


def _check(geom: shapely.Geometry, field: str, types: tuple[str, ...]) -> shapely.Geometry:
    if geom.is_empty:
        raise OnemapInputError(msg("geojson.empty"), field=field)
    if geom.geom_type not in types:
        raise OnemapInputError(
            msg("geojson.type", expected=" or ".join(types), found=geom.geom_type), field=field
        )
    coords = shapely.get_coordinates(geom)
    if not len(coords) or not np.isfinite(coords).all():
        raise OnemapInputError(msg("geojson.no_valid_coordinates"), field=field)
    bounds = (*coords.min(axis=0), *coords.max(axis=0))
    if looks_swapped(bounds):
        raise OnemapInputError(msg("geojson.swapped"), field=field)
    if not (-180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90):
        raise OnemapInputError(msg("geojson.not_degrees"), field=field)
    return geom


def require_inside(
    geom: shapely.Geometry, bounds: tuple[float, float, float, float], *, field: str
) -> None:
    """OnemapInputError unless ``geom`` lies within the map's lon/lat ``bounds``."""
    if not shapely.box(*bounds).covers(geom):
        w, s, e, n = (round(v, 5) for v in bounds)
        raise OnemapInputError(msg("geojson.outside_map", w=w, e=e, s=s, n=n), field=field)
