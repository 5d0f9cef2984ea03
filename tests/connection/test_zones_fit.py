"""Hexagons fit the district (issue 16 item 8): the H3 resolution follows the district's extent
and parcel density, no cell is larger than MAX_HEX_SHARE of the district, every cell holds a
parcel and none spills past the district's extent."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from connection.maps import CRS, rect
from onemap.connection.bulk import readiness
from onemap.connection.zones import MAX_HEX_SHARE, auto_resolution, hexagons


def _grid(n_x: int, n_y: int, size: float, gap: float) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    step = size + gap
    geoms = [
        rect(i * step, j * step, i * step + size, j * step + size)
        for i in range(n_x)
        for j in range(n_y)
    ]
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"p{k}" for k in range(len(geoms))],
            "readiness": rng.choice(list("ABCD"), len(geoms)),
        },
        geometry=geoms,
        crs=CRS,
    )


def _extent(layer: gpd.GeoDataFrame) -> shapely.Geometry:
    return shapely.convex_hull(shapely.union_all(layer.geometry.to_numpy()))


def _assert_fits(layer: gpd.GeoDataFrame, hx: gpd.GeoDataFrame) -> None:
    hull = _extent(layer)
    assert len(hx) >= 1
    assert hx.area.max() <= MAX_HEX_SHARE * hull.area, (hx.area.max(), hull.area)
    assert (hx["parcels"] >= 1).all()  # every cell holds a parcel
    assert hx["parcels"].sum() == len(layer)  # every parcel is in one cell
    spill = shapely.area(shapely.difference(hx.geometry.to_numpy(), hull.buffer(0.01)))
    assert spill.max() < 1.0  # m²: clipped to the district's extent


@pytest.fixture(scope="module")
def demo_layer(demo_map):
    return readiness(demo_map).layer


def test_demo_hexagons_are_small_relative_to_the_district(demo_layer):
    hx = hexagons(demo_layer)
    _assert_fits(demo_layer, hx)
    assert len(hx) >= 1 / MAX_HEX_SHARE  # at least that many cells across the district
    assert (hx["resolution"] == auto_resolution(demo_layer)).all()


def test_the_old_fixed_resolution_spilled_past_the_demo(demo_layer):
    """What the test guards against: resolution 8 cells are a large share of the demo."""
    hx = hexagons(demo_layer, resolution=8)
    assert hx.area.max() > MAX_HEX_SHARE * _extent(demo_layer).area


@pytest.mark.parametrize(
    ("n", "size", "gap"),
    [(4, 60.0, 20.0), (12, 100.0, 20.0), (30, 40.0, 10.0), (40, 400.0, 100.0)],
)
def test_hexagons_fit_districts_of_any_size(n, size, gap):
    layer = _grid(n, n, size, gap)
    _assert_fits(layer, hexagons(layer))


def test_denser_districts_get_finer_cells():
    """Same extent, four times the parcels per area: a finer (or equal) resolution."""
    sparse = _grid(10, 10, 160.0, 40.0)  # 2 km a side, 100 parcels
    dense = _grid(40, 40, 40.0, 10.0)  # 2 km a side, 1600 parcels
    assert auto_resolution(dense) > auto_resolution(sparse)
    hx = hexagons(dense)
    assert hx["parcels"].mean() >= 2  # cells still aggregate several parcels
