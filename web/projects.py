"""Projects pushed by the project approval platform (policy item 1) on the served map.

A push is one row in the store (:mod:`onemap.store`); the map file is never rewritten. Each
server process merges the store's rows into its served map incrementally
(:func:`merge_projects`): only rows newer than the ones it holds are validated, projected and
appended, and when they load no grid element and lie inside the map's extent — what a push is —
every table derived from the map as a whole (forecast, headroom, connection points, the routing
networks, readiness) stays valid for the new map (:meth:`onemap.geo.mapfile.OneMap.with_layer`):
nothing is rebuilt but the ``projects`` layer and its index.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point, shape

from onemap.geo.crs import STORAGE_CRS, looks_geographic, looks_swapped, transformer
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.geo.schema import LAYERS
from onemap.grid.headroom import loads_elements
from onemap.store import ProjectRecord
from web.geojson import geometry_of, require_inside
from web.models import ProjectIn
from web.spatial import LayerIndex

SCHEMA = LAYERS["projects"]
PROJECT_TYPES = SCHEMA.geometry
ID_COLUMN = SCHEMA.id_column
# The columns a push gives (the store keeps them; validate_layer fills in the others).
COLUMNS = ("project_id", "requested_kw", "category", "name", "status", "submitted")


@dataclass(frozen=True)
class ProjectRow:
    """A pushed project as :func:`onemap.geo.layers.validate_layer` cleans it: its values and
    its site (EPSG:4326)."""

    project_id: str
    name: str
    requested_kw: float
    category: str
    status: str
    submitted: str
    geometry: shapely.Geometry

    def store_row(self) -> dict:
        """The row as :meth:`onemap.store.Store.push_project` takes it."""
        return {c: getattr(self, c) for c in (*COLUMNS, "geometry")}


def project_row(body: ProjectIn, onemap: OneMap) -> ProjectRow:
    """The pushed project as one validated ``projects`` row.

    A plain push (what :func:`_plain` vouches validate_layer passes unchanged) is taken as
    given: no frame is built for it (a one-row GeoDataFrame costs about a millisecond, on the
    push's critical path); anything else goes through validate_layer, which repairs it or
    raises naming the field.

    Parameters
    ----------
    body
        The push.
    onemap
        The served map (the site must lie inside it).

    Returns
    -------
    ProjectRow
        The row's values, as :func:`validated_rows` would give them.
    """
    if body.location is not None:
        geom = Point(body.location.lon, body.location.lat)
        field = "location"
    else:
        geom = geometry_of(body.geometry, field="geometry", types=PROJECT_TYPES)
        field = "geometry"
    require_inside(geom, onemap.bounds, field=field)
    values = {
        "project_id": [body.project_id],
        "requested_kw": [body.requested_kw],
        "category": [body.category],
        "name": [body.name],
        "status": ["pushed"],
        "submitted": [(body.submitted or dt.date.today()).isoformat()],
    }
    if _plain(values, [geom]):
        first, geometry = {c: v[0] for c, v in values.items()}, geom
    else:
        row = validated_rows(values, [geom], source="POST /api/v1/projects").iloc[0]
        first, geometry = {c: row[c] for c in COLUMNS}, row.geometry
    return ProjectRow(
        project_id=str(first["project_id"]),
        name=str(first["name"] or ""),
        requested_kw=float(first["requested_kw"]),
        category=str(first["category"]),
        status=str(first["status"]),
        submitted=str(first["submitted"]),
        geometry=geometry,
    )


def records_frame(records: Sequence[ProjectRecord]) -> gpd.GeoDataFrame:
    """Store records as validated ``projects`` rows (EPSG:4326), in their order.

    Parameters
    ----------
    records
        Projects read from the store (at least one).

    Returns
    -------
    geopandas.GeoDataFrame
        The rows, cleaned by :func:`onemap.geo.layers.validate_layer`.
    """
    values = {c: [getattr(r, c) for r in records] for c in COLUMNS}
    return validated_rows(values, [shape(r.geometry) for r in records], source="store")


def validated_rows(values: dict[str, list], geoms: list, *, source: str) -> gpd.GeoDataFrame:
    """``projects`` rows exactly as :func:`onemap.geo.layers.validate_layer` cleans them.

    A push checked by the API or the store is plainly valid: its frame is then built directly
    (validate_layer costs a few milliseconds of pandas per call, twice per push); anything else
    — a geometry to repair, a value to refuse — goes through validate_layer, which repairs it
    or raises naming the row and field.

    Parameters
    ----------
    values
        Column → values: ``project_id``, ``requested_kw``, ``category``, ``name``, ``status``,
        ``submitted``.
    geoms
        One shapely geometry per row (EPSG:4326).
    source
        Named in errors.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows with every ``projects`` column, in EPSG:4326.
    """
    if not _plain(values, geoms):
        frame = gpd.GeoDataFrame(values, geometry=geoms, crs=STORAGE_CRS)
        clean, _ = validate_layer("projects", frame, source=source)
        return clean
    # validate_layer's own answer for one plain row gives the columns, their order and types
    # and the values it fills in; the given values pass unchanged.
    layout, geometry, crs = _layout()
    n = len(geoms)
    data: dict[str, object] = {}
    for col, dtype, fill in layout:
        if col == geometry:
            data[col] = gpd.array.from_shapely(np.asarray(geoms, dtype=object), crs=crs)
        elif col in values:
            data[col] = np.asarray(values[col], dtype=dtype)
        else:
            data[col] = np.full(n, fill, dtype=dtype)
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geometry)


@functools.cache
def _layout() -> tuple[tuple[tuple[str, np.dtype, object], ...], str, object]:
    """The columns (name, type, value filled in) of validate_layer's answer for one plain
    ``projects`` row, its geometry column and CRS (see :func:`validated_rows`)."""
    kinds = {c.name: c for c in SCHEMA.columns}
    row = {
        c: [1.0 if kinds[c].kind == "float" else (kinds[c].allowed or ("x",))[0]] for c in COLUMNS
    }
    frame = gpd.GeoDataFrame(row, geometry=[Point(0.0, 0.0)], crs=STORAGE_CRS)
    clean = validate_layer("projects", frame, source="template")[0]
    geometry = clean.geometry.name
    layout = tuple(
        (c, clean[c].dtype, None if c == geometry else clean[c].iloc[0]) for c in clean.columns
    )
    return layout, geometry, clean.crs


def _plain(values: dict[str, list], geoms: list) -> bool:
    """Whether validate_layer would pass these rows unchanged (no repair, no refusal, no
    coercion beyond the column types), judged in plain Python: few rows, no pandas."""
    if set(values) != set(COLUMNS) or any(len(v) != len(geoms) for v in values.values()):
        return False
    for col in SCHEMA.columns:
        if col.name not in values:
            continue
        for v in values[col.name]:
            if col.kind == "float":
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    return False
                if col.maximum is not None and v > col.maximum:
                    return False
            elif not isinstance(v, str) or (col.allowed and v not in col.allowed):
                return False
    ids = values[SCHEMA.id_column]
    if len(set(ids)) != len(ids) or any(not i.strip() or _has_control(i) for i in ids):
        return False
    for g in geoms:
        if not isinstance(g, shapely.Geometry) or g.is_empty or g.geom_type not in SCHEMA.geometry:
            return False
        if not g.is_valid:
            return False
        coords = shapely.get_coordinates(g)
        if not np.isfinite(coords).all():
            return False
        bounds = tuple(g.bounds)
        if looks_swapped(bounds) or not looks_geographic(bounds):
            return False
    return True


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


@dataclass(frozen=True)
class Merged:
    """A served map with store projects appended, and its new ``projects`` index."""

    onemap: OneMap
    index: LayerIndex
    added: tuple[str, ...]  # the project ids appended
    derived_unchanged: bool  # whether the derived tables of the map stayed valid


def merge_projects(
    onemap: OneMap,
    records: Sequence[ProjectRecord],
    known: set[str] | frozenset[str],
    index: LayerIndex | None = None,
) -> Merged | None:
    """``onemap`` plus the records whose project id it does not hold yet (``onemap`` untouched).

    Only the new rows are validated and projected; the new ``projects`` layer is the old one
    with them appended, row for row what one merge of every record gives. When the new rows
    load no grid element (:func:`onemap.grid.headroom.loads_elements`) and lie inside the map's
    extent (:meth:`OneMap.covers`), the derived tables of the map stay valid (forecast,
    headroom, connection points, networks, readiness: a fresh load would compute the same).

    Parameters
    ----------
    onemap
        The served map.
    records
        Store projects, oldest first.
    known
        Project ids already in ``onemap``'s ``projects`` layer.
    index
        The ``projects`` index of ``onemap`` (extended, not rebuilt), or None.

    Returns
    -------
    Merged or None
        The new map and ``projects`` index; None when every record is already known.
    """
    fresh, seen = [], set()
    for r in records:
        if r.project_id not in known and r.project_id not in seen:
            fresh.append(r)
            seen.add(r.project_id)
    if not fresh:
        return None
    rows = records_frame(fresh)
    rows_metric = metric_rows(rows, onemap.crs_metric)
    existing = onemap["projects"]
    projects = _appended(existing, rows) if len(existing) else rows
    # The metric copy of the layer is projected when first asked for (the carried caches
    # already hold what they derived from it); the index is extended by the new rows.
    unchanged = not loads_elements(rows) and onemap.covers(rows, rows_metric)
    merged = onemap.with_layer("projects", projects, derived_unchanged=unchanged)
    if index is not None and index.gdf is existing and len(existing):
        added = LayerIndex.build("projects", rows, rows_metric, ID_COLUMN)
        new_index = LayerIndex(
            name="projects",
            gdf=projects,
            id_column=ID_COLUMN,
            tree=shapely.STRtree(projects.geometry.to_numpy()),
            bounds=np.concatenate([index.bounds, added.bounds]),
            priority=np.concatenate([index.priority, added.priority]),
        )
    else:
        new_index = LayerIndex.build("projects", projects, merged.metric("projects"), ID_COLUMN)
    return Merged(merged, new_index, tuple(r.project_id for r in fresh), unchanged)


def metric_rows(rows: gpd.GeoDataFrame, crs_metric: str) -> gpd.GeoDataFrame:
    """``rows`` (EPSG:4326) projected to ``crs_metric``, as ``rows.to_crs(crs_metric)`` gives.

    Through the cached transformer of :func:`onemap.geo.crs.transformer`: geopandas' ``to_crs``
    looks the CRSs up in the PROJ database again in every thread that calls it (100–250 ms
    the first time in each of a server's worker threads), the cached pipeline does not.

    Parameters
    ----------
    rows
        Rows in EPSG:4326.
    crs_metric
        The map's metric CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows in ``crs_metric``.
    """
    out = rows.copy()
    geoms = _to_metric(rows.geometry.to_numpy(), crs_metric)
    out[rows.geometry.name] = gpd.GeoSeries(geoms, index=rows.index, crs=crs_metric)
    return out.set_crs(crs_metric, allow_override=True)


def _to_metric(geoms: np.ndarray, crs_metric: str) -> np.ndarray:
    tr = transformer(STORAGE_CRS, crs_metric)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geoms, project)


def neutral(onemap: OneMap, records: Sequence[ProjectRecord]) -> bool:
    """Whether merging these store records into ``onemap`` keeps every table derived from the
    map as a whole — what :func:`merge_projects` answers as ``derived_unchanged``.

    A store record names no grid element (the store keeps no ``asset_id``: validate_layer
    fills in ``""``), so it is a matter of extent (:meth:`OneMap.covers`), judged on the
    geometries alone: no frame is built. Until such records are merged, ``onemap`` answers
    everything but its ``projects`` layer exactly as the merged map would.

    Parameters
    ----------
    onemap
        The served map.
    records
        Store projects not merged into it yet.

    Returns
    -------
    bool
        True when the records load no element and lie inside the map's extent.
    """
    if not records:
        return True
    values = {c: [getattr(r, c) for r in records] for c in COLUMNS}
    geoms = [shape(r.geometry) for r in records]
    if not _plain(values, geoms):  # repaired by validate_layer first, as the merge does
        rows = validated_rows(values, geoms, source="store")
        if loads_elements(rows):
            return False
        geoms = list(rows.geometry)
    lonlat = np.asarray(geoms, dtype=object)
    metric = _to_metric(lonlat, onemap.crs_metric)
    return onemap.covers(_Extent(lonlat), _Extent(metric))


class _Extent:
    """Geometries as :meth:`OneMap.covers` reads a frame (their number and ``total_bounds``):
    two GeoSeries per call would cost a millisecond, on every write that learns of new rows."""

    def __init__(self, geoms: np.ndarray) -> None:
        self._n = len(geoms)
        # shapely.total_bounds is nanmin/nanmax with their warning filters (most of a
        # neutrality check); fmin/fmax skip the NaN boxes of empty geometries just the same.
        boxes = shapely.bounds(geoms).reshape(-1, 4)
        low, high = np.fmin.reduce(boxes[:, :2], axis=0), np.fmax.reduce(boxes[:, 2:], axis=0)
        self.total_bounds = np.array([low[0], low[1], high[0], high[1]])

    def __len__(self) -> int:
        return self._n


def _appended(head: gpd.GeoDataFrame, tail: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``head`` with ``tail``'s rows after it (a new frame; a fresh 0…n-1 index)."""
    return gpd.GeoDataFrame(pd.concat([head, tail], ignore_index=True), crs=head.crs)
