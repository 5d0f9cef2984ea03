"""Small hand-made one maps for the readiness tests, laid out in metres and validated like input.

Coordinates are given in the metric CRS (EPSG:4549, CGCS2000 GK CM 120E) relative to an origin
in Lianyungang, so that distances in a test read as plain metres.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, box

from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap

CRS = "EPSG:4549"
X0, Y0 = 427_000.0, 3_830_000.0

SIDEWALK_ROAD = {
    "sidewalk_left_m": 4.0,
    "sidewalk_right_m": 4.0,
    "bike_left_m": 3.0,
    "bike_right_m": 3.0,
    "motor_width_m": 14.0,
    "green_left_m": 0.0,
    "green_right_m": 0.0,
}
MOTOR_ONLY_ROAD = {k: (8.0 if k == "motor_width_m" else 0.0) for k in SIDEWALK_ROAD}


def at(x: float, y: float) -> Point:
    """A point ``(x, y)`` metres from the origin."""
    return Point(X0 + x, Y0 + y)


def line(*xy: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


def rect(x0: float, y0: float, x1: float, y1: float):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(name: str, rows: list[dict]) -> gpd.GeoDataFrame:
    """Validate rows (dicts with a ``geometry`` in metres) as layer ``name``."""
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS)
    clean, _ = validate_layer(name, gdf, source=f"<test {name}>")
    return clean


def make_map(**layers: list[dict]) -> OneMap:
    """A one map from row lists per layer (empty layers are left out)."""
    return OneMap(
        layers={name: layer(name, rows) for name, rows in layers.items() if rows},
        crs_metric=CRS,
        meta={"synthetic": True},
    )


def transformer(aid: str, x: float, y: float, cap: float, peak: float, feeder: str = "F1", **kw):
    return {
        "asset_id": aid,
        "kind": "transformer",
        "voltage_kv": 10.0,
        "feeder_id": feeder,
        "capacity_kva": cap,
        "peak_load_kva": peak,
        "geometry": at(x, y),
        **kw,
    }


def rmu(aid: str, x: float, y: float, feeder: str, kind: str = "ring_main_unit", **kw):
    return {
        "asset_id": aid,
        "kind": kind,
        "voltage_kv": 10.0,
        "feeder_id": feeder,
        "geometry": at(x, y),
        **kw,
    }


def feeder(fid: str, sub: str, cap: float, peak: float, x: float = 0.0, **kw):
    return {
        "feeder_id": fid,
        "substation_id": sub,
        "voltage_kv": 10.0,
        "capacity_mva": cap,
        "peak_load_mva": peak,
        "geometry": line((x, -500), (x, -400)),
        **kw,
    }


def substation(sid: str, cap: float, peak: float, x: float = 0.0, voltage: float = 110.0, **kw):
    return {
        "substation_id": sid,
        "voltage_kv": voltage,
        "capacity_mva": cap,
        "peak_load_mva": peak,
        "geometry": at(x, -500),
        **kw,
    }


def parcel(pid: str, x0, y0, x1, y1, code="1001", **kw):
    return {"parcel_id": pid, "landuse_code": code, "geometry": rect(x0, y0, x1, y1), **kw}


def road(rid: str, *xy, section=None):
    return {
        "road_id": rid,
        "road_class": "secondary",
        "geometry": line(*xy),
        **(section or SIDEWALK_ROAD),
    }
