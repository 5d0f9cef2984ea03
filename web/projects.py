"""Storing a project pushed by the project approval platform (policy item 1).

The new row is validated like any ``projects`` layer input, appended to a copy of the map and
the whole map is written with :func:`onemap.geo.mapfile.write_map` (atomic: a temporary file
moved over the original). Only after the write succeeds does the app switch to the new map, so a
failure anywhere leaves both the stored file and the served map as they were.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import geopandas as gpd
import pandas as pd
from fastapi import HTTPException
from shapely.geometry import Point

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap, write_map
from onemap.geo.schema import LAYERS
from web.geojson import geometry_of, require_inside
from web.models import ProjectIn
from web.spatial import LayerIndex

PROJECT_TYPES = LAYERS["projects"].geometry


def project_row(body: ProjectIn, onemap: OneMap) -> gpd.GeoDataFrame:
    """The pushed project as one validated ``projects`` row (EPSG:4326)."""
    if body.location is not None:
        geom = Point(body.location.lon, body.location.lat)
        field = "location"
    else:
        geom = geometry_of(body.geometry, field="geometry", types=PROJECT_TYPES)
        field = "geometry"
    require_inside(geom, onemap.bounds, field=field)
    row = gpd.GeoDataFrame(
        {
            "project_id": [body.project_id],
            "requested_kw": [body.requested_kw],
            "category": [body.category],
            "name": [body.name],
            "status": ["pushed"],
            "submitted": [(body.submitted or dt.date.today()).isoformat()],
        },
        geometry=[geom],
        crs=STORAGE_CRS,
    )
    clean, _ = validate_layer("projects", row, source="POST /api/v1/projects")
    return clean


def with_project(onemap: OneMap, row: gpd.GeoDataFrame) -> OneMap:
    """A new OneMap equal to ``onemap`` plus ``row`` in ``projects`` (``onemap`` untouched).

    A project id already stored answers 409.
    """
    existing = onemap["projects"]
    pid = row["project_id"].iloc[0]
    if len(existing) and (existing["project_id"] == pid).any():
        raise HTTPException(status_code=409, detail=f"project_id '{pid}' is already stored")
    parts = [existing, row] if len(existing) else [row]
    projects = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=STORAGE_CRS)
    # Share the other layers and their cached projections; only `projects` is new.
    new = dataclasses.replace(
        onemap,
        layers=dict(onemap.layers),
        _metric=dict(onemap._metric),
        _tokens=dict(onemap._tokens),  # unchanged layers keep their tokens (and caches)
    )
    new.replace_layer("projects", projects)
    return new


def store_project(state, row: gpd.GeoDataFrame) -> OneMap:
    """Write the map plus ``row`` (from :func:`project_row`) atomically and switch the app to it.

    ``state`` is the app's :class:`web.state.AppState`; call with its ``write_lock`` held.
    """
    current = state.onemap
    if current.path is None:
        raise OnemapInputError("this server's map is not stored in a file; cannot store projects")
    new = with_project(current, row)
    write_map(new, current.path)
    index = LayerIndex.build(
        "projects", new["projects"], new.metric("projects"), LAYERS["projects"].id_column
    )
    state.onemap = new
    state.indexes = {**state.indexes, "projects": index}
    return new
