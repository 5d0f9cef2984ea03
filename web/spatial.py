"""Bounding-box access to the layers of a one map, for map pages that load what is visible.

Each layer gets one :class:`LayerIndex` at app start: a shapely STRtree over its geometries, the
features' bounds and a display priority (metric area of polygons, metric length of lines), so a
request for the visible area costs one tree query however large the map is. At low zoom the
answer skips features smaller than a screen pixel and simplifies geometry to about a pixel, so a
city-size map stays light in the browser; the largest features come first when ``limit`` cuts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

# Decimal places of lon/lat in answers: 1e-7° is about 1 cm, far below any mapped width.
COORD_DECIMALS = 7
TILE_PX = 256


def degrees_per_pixel(zoom: float) -> float:
    """Width of one screen pixel in degrees of longitude at a web-map zoom level."""
    return 360.0 / (TILE_PX * 2.0**zoom)


@dataclass
class LayerIndex:
    """One layer with its STRtree, bounds and display priority (see module docstring)."""

    name: str
    gdf: gpd.GeoDataFrame
    id_column: str
    tree: shapely.STRtree
    bounds: np.ndarray  # (n, 4) minx, miny, maxx, maxy
    priority: np.ndarray  # metric area or length; 0 for points

    @classmethod
    def build(
        cls, name: str, gdf: gpd.GeoDataFrame, metric: gpd.GeoDataFrame, id_column: str
    ) -> LayerIndex:
        """Index ``gdf`` (EPSG:4326); ``metric`` is the same rows in the map's metric CRS."""
        geoms = gdf.geometry.to_numpy()
        mgeoms = metric.geometry.to_numpy()
        # Area for polygons, length for lines (area 0), 0 for points: one size for ordering.
        priority = np.where(
            shapely.get_dimensions(mgeoms) == 2, shapely.area(mgeoms), shapely.length(mgeoms)
        )
        return cls(
            name=name,
            gdf=gdf,
            id_column=id_column,
            tree=shapely.STRtree(geoms),
            bounds=shapely.bounds(geoms).reshape(-1, 4),
            priority=np.asarray(priority, dtype=float),
        )

    def __len__(self) -> int:
        return len(self.gdf)

    def select(
        self, bbox: tuple[float, float, float, float] | None, zoom: float | None = None
    ) -> np.ndarray:
        """Row positions intersecting ``bbox`` (all rows without one), biggest first.

        With ``zoom``, features whose extent is under one pixel at that zoom are left out.
        """
        if bbox is None:
            rows = np.arange(len(self.gdf))
        else:
            rows = self.tree.query(shapely.box(*bbox), predicate="intersects")
        if zoom is not None and len(rows):
            b = self.bounds[rows]
            extent = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
            is_point = self.priority[rows] == 0
            rows = rows[is_point | (extent >= degrees_per_pixel(zoom))]
        # Stable order: priority descending, then row order, so offset paging is consistent.
        return rows[np.lexsort((rows, -self.priority[rows]))]

    def feature_collection(
        self,
        bbox: tuple[float, float, float, float] | None,
        *,
        limit: int,
        offset: int = 0,
        zoom: float | None = None,
        simplify_below_zoom: float | None = None,
    ) -> str:
        """A GeoJSON FeatureCollection (as text) of the rows in ``bbox``.

        Foreign members ``numberMatched`` / ``numberReturned`` (OGC API Features) tell the client
        whether ``limit`` cut the answer. Geometry is simplified to half a pixel when ``zoom`` is
        below ``simplify_below_zoom``.
        """
        rows = self.select(bbox, zoom)
        page = rows[offset : offset + limit]
        geoms = self.gdf.geometry.to_numpy()[page]
        if zoom is not None and simplify_below_zoom is not None and zoom < simplify_below_zoom:
            geoms = shapely.simplify(geoms, degrees_per_pixel(zoom) / 2, preserve_topology=True)
        geoms = shapely.transform(geoms, lambda xy: np.round(xy, COORD_DECIMALS))
        features = _features(self.gdf.iloc[page], geoms, self.id_column)
        head = (
            f'{{"type":"FeatureCollection","name":{json.dumps(self.name)},'
            f'"numberMatched":{len(rows)},"numberReturned":{len(page)},"features":['
        )
        return head + ",".join(features) + "]}"


def _features(rows: gpd.GeoDataFrame, geoms: np.ndarray, id_column: str) -> list[str]:
    if not len(rows):
        return []
    props = rows.drop(columns=rows.geometry.name)
    # One JSON object per line: pandas writes NaN as null and escapes newlines inside strings.
    records = props.to_json(orient="records", lines=True, force_ascii=False).splitlines()
    geojson = shapely.to_geojson(geoms)
    ids = [json.dumps(v, ensure_ascii=False) for v in props[id_column].tolist()]
    return [
        f'{{"type":"Feature","id":{i},"properties":{p},"geometry":{g}}}'
        for i, p, g in zip(ids, records, geojson, strict=True)
    ]
