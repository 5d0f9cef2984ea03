"""Hand-built street maps with known cross-sections, in EPSG:4549 metres near Lianyungang.

Coordinates are given relative to (X0, Y0); every street is straight so that expected lengths
and verdicts can be worked out by hand. Layers are stored in EPSG:4326 like a real map.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely import LineString, Point, Polygon

from onemap.geo.mapfile import OneMap, empty_layer

CRS = "EPSG:4549"
X0, Y0 = 430000.0, 3830000.0


def at(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def line(*pts) -> LineString:
    return LineString([at(*p) for p in pts])


def road(
    rid: str,
    pts,
    *,
    motor: float = 10.0,
    bike: float | tuple[float, float] = 2.0,
    sidewalk: float | tuple[float, float] = 3.0,
    green: float | tuple[float, float] = 0.0,
) -> dict:
    def lr(v):
        return v if isinstance(v, tuple) else (v, v)

    (bl, br), (sl, sr), (gl, gr) = lr(bike), lr(sidewalk), lr(green)
    return {
        "road_id": rid,
        "name": rid,
        "road_class": "secondary",
        "motor_width_m": motor,
        "bike_left_m": bl,
        "bike_right_m": br,
        "sidewalk_left_m": sl,
        "sidewalk_right_m": sr,
        "green_left_m": gl,
        "green_right_m": gr,
        "xs_source": "test",
        "geometry": line(*pts),
    }


def _layer(rows: list[dict], name: str) -> gpd.GeoDataFrame:
    if not rows:
        return empty_layer(name)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS).to_crs("EPSG:4326")


def make_map(roads, ducts=(), parcels=(), assets=()) -> OneMap:
    """A OneMap from metric rows (dicts with a ``geometry`` in EPSG:4549)."""
    layers = {
        "roads": _layer(list(roads), "roads"),
        "ducts": _layer(list(ducts), "ducts"),
        "landuse": _layer(list(parcels), "landuse"),
        "assets": _layer(list(assets), "assets"),
    }
    return OneMap(layers=layers, crs_metric=CRS, meta={"synthetic": True})


def duct(did: str, pts) -> dict:
    return {"duct_id": did, "name": did, "geometry": line(*pts)}


def parcel(pid: str, x0, y0, x1, y1, code="0701") -> dict:
    return {
        "parcel_id": pid,
        "landuse_code": code,
        "geometry": Polygon([at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1)]),
    }


def asset(aid: str, x, y, kind="transformer") -> dict:
    return {
        "asset_id": aid,
        "kind": kind,
        "voltage_kv": 10.0,
        "feeder_id": "F1",
        "capacity_kva": 630.0,
        "peak_load_kva": 300.0,
        "geometry": Point(at(x, y)),
    }
