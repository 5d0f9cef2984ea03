"""Coordinate reference systems: storage in EPSG:4326, metric work in a per-map projected CRS.

Inside China the metric CRS is the CGCS2000 3-degree Gauss–Krüger "CM" zone (EPSG:4534–4554)
whose central meridian is nearest the map's centre; elsewhere the WGS 84 UTM zone. Lengths and
areas are only ever computed in the metric CRS.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from onemap.errors import OnemapInputError
from onemap.messages import msg

STORAGE_CRS = "EPSG:4326"
# CGCS2000 / 3-degree Gauss-Kruger CM 75E (EPSG:4534) … CM 135E (EPSG:4554), 3° apart.
_GK_FIRST_EPSG, _GK_FIRST_CM, _GK_LAST_CM = 4534, 75, 135


def gauss_kruger_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree GK CM zone whose central meridian is nearest ``lon``."""
    cm = min(max(round(lon / 3.0) * 3, _GK_FIRST_CM), _GK_LAST_CM)
    return _GK_FIRST_EPSG + (cm - _GK_FIRST_CM) // 3


@lru_cache(maxsize=64)
def _in_gk_area(epsg: int, lon: float, lat: float) -> bool:
    west, south, east, north = CRS.from_epsg(epsg).area_of_use.bounds
    return west - 1.5 <= lon <= east + 1.5 and south <= lat <= north


def metric_crs_for(lon: float, lat: float) -> str:
    """The metric CRS for a map centred at ``(lon, lat)``, as ``"EPSG:nnnn"``.

    >>> metric_crs_for(119.2, 34.6)
    'EPSG:4549'
    """
    epsg = gauss_kruger_epsg(lon)
    if _GK_FIRST_CM - 1.5 <= lon <= _GK_LAST_CM + 1.5 and _in_gk_area(epsg, lon, lat):
        return f"EPSG:{epsg}"
    infos = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(lon, lat, lon, lat),
    )
    return f"EPSG:{infos[0].code}"


def metric_crs_for_bounds(bounds: tuple[float, float, float, float]) -> str:
    """Metric CRS for a lon/lat bounding box (its centre decides)."""
    west, south, east, north = bounds
    return metric_crs_for((west + east) / 2.0, (south + north) / 2.0)


def to_metric(gdf: gpd.GeoDataFrame, crs_metric: str) -> gpd.GeoDataFrame:
    """Project a layer from storage to the map's metric CRS."""
    return gdf.to_crs(crs_metric)


def to_storage(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Project a layer to the storage CRS (EPSG:4326)."""
    return gdf.to_crs(STORAGE_CRS)


@lru_cache(maxsize=32)
def transformer(src: str, dst: str) -> Transformer:
    """A cached, always_xy transformer between two CRSs.

    pyproj makes a private copy of a transformer in every thread that uses it (a web server's
    worker threads); from CRS codes each copy costs a PROJ database look-up (~80 ms), from the
    resolved pipeline a few microseconds, so a single-operation transformer is rebuilt from it.
    """
    tr = Transformer.from_crs(src, dst, always_xy=True)
    if tr.definition.startswith("proj="):  # one operation (else: chosen per point, keep as is)
        return Transformer.from_pipeline(tr.definition)
    return tr


def lonlat_to_metric(lon, lat, crs_metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Transform lon/lat arrays (or scalars) to metric x/y."""
    return transformer(STORAGE_CRS, crs_metric).transform(lon, lat)


def metric_to_lonlat(x, y, crs_metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Transform metric x/y arrays (or scalars) back to lon/lat."""
    return transformer(crs_metric, STORAGE_CRS).transform(x, y)


def looks_swapped(bounds: tuple[float, float, float, float]) -> bool:
    """True when lon/lat bounds can only be read as lat/lon (x within ±90, y beyond ±90)."""
    west, south, east, north = bounds
    return max(abs(west), abs(east)) <= 90 and max(abs(south), abs(north)) > 90


def looks_geographic(bounds: tuple[float, float, float, float]) -> bool:
    """True when bounds fit in degrees (|x| ≤ 180, |y| ≤ 90)."""
    west, south, east, north = bounds
    return max(abs(west), abs(east)) <= 180 and max(abs(south), abs(north)) <= 90


# A "map" of degrees read as metres spans at most 360 × 180 m; real sources in a projected CRS
# span far more, and their coordinates are far from 0 in GK/UTM (false easting 500 000 m).
_DEGREES_AS_METRES_MAX_SPAN = 1000.0


def looks_like_degrees_in(bounds: tuple[float, float, float, float], crs: CRS) -> bool:
    """True when bounds in the projected ``crs`` are really lon/lat degrees mislabelled.

    Tell-tales: the values fit in ±180/±90, the extent is under a kilometre, and the points fall
    outside the CRS's area of use (e.g. lon/lat written with EPSG:4549 land near 115.5°E, 0°N).
    """
    west, south, east, north = bounds
    if not looks_geographic(bounds):
        return False
    if max(east - west, north - south) > _DEGREES_AS_METRES_MAX_SPAN:
        return False
    area = crs.area_of_use
    if area is None:
        return True
    try:
        lon, lat = Transformer.from_crs(crs, STORAGE_CRS, always_xy=True).transform(
            (west + east) / 2.0, (south + north) / 2.0
        )
    except Exception:  # the point cannot even be projected back: not a real location
        return True
    if not (np.isfinite(lon) and np.isfinite(lat)):
        return True
    a_west, a_south, a_east, a_north = area.bounds
    margin = 1.0  # degrees
    inside_lat = a_south - margin <= lat <= a_north + margin
    if a_west <= a_east:
        inside_lon = a_west - margin <= lon <= a_east + margin
    else:  # area crossing the antimeridian
        inside_lon = lon >= a_west - margin or lon <= a_east + margin
    return not (inside_lat and inside_lon)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``W,S,E,N`` in degrees; OnemapInputError naming ``bbox`` when malformed."""
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise OnemapInputError(msg("geo.bbox_format", text=text), field="bbox") from None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise OnemapInputError(msg("geo.bbox_not_degrees", text=text), field="bbox")
    if w >= e or s >= n:
        raise OnemapInputError(msg("geo.bbox_empty", text=text), field="bbox")
    return w, s, e, n
