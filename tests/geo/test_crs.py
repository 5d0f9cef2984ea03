"""Metric CRS choice: nearest CGCS2000 3-degree GK zone inside China, UTM elsewhere."""

from __future__ import annotations

import geopandas as gpd
import shapely
from hypothesis import given
from hypothesis import strategies as st
from pyproj import CRS

from onemap.geo.crs import gauss_kruger_epsg, lonlat_to_metric, metric_crs_for, metric_to_lonlat


def test_known_places():
    assert metric_crs_for(119.2, 34.6) == "EPSG:4549"  # Lianyungang, CM 120E
    assert metric_crs_for(120.4, 31.5) == "EPSG:4549"  # Xinwu, Wuxi
    assert metric_crs_for(116.3, 39.98) == "EPSG:4548"  # Haidian, CM 117E
    assert metric_crs_for(7.42, 43.73) == "EPSG:32632"  # Monaco, UTM 32N
    assert metric_crs_for(24.94, 60.17) == "EPSG:32635"  # Helsinki, UTM 35N
    assert metric_crs_for(127.0, 37.5) == "EPSG:32652"  # Seoul: not China, so UTM


@given(st.floats(min_value=73.5, max_value=135.0))
def test_gk_zone_central_meridian_is_nearest(lon):
    crs = CRS.from_epsg(gauss_kruger_epsg(lon))
    assert "Gauss-Kruger CM" in crs.name
    cm = float(crs.name.rsplit("CM ", 1)[1].rstrip("E"))
    assert abs(cm - lon) <= 1.5 + 1e-9


@given(st.floats(min_value=118.6, max_value=121.4), st.floats(min_value=25.0, max_value=40.0))
def test_round_trip_is_exact_to_millimetres(lon, lat):
    x, y = lonlat_to_metric(lon, lat, "EPSG:4549")
    lon2, lat2 = metric_to_lonlat(x, y, "EPSG:4549")
    assert abs(lon2 - lon) < 1e-8 and abs(lat2 - lat) < 1e-8


def test_lengths_are_metres_not_degrees():
    line = gpd.GeoSeries([shapely.LineString([(119.2, 34.6), (119.2, 34.61)])], crs=4326)
    length = line.to_crs(metric_crs_for(119.2, 34.6)).length.iloc[0]
    assert 1105 < length < 1115  # 0.01° of latitude ≈ 1109 m
