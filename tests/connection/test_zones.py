"""Zones, H3 hexagons and district statistics of a readiness layer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from connection.maps import CRS, rect
from onemap.connection.zones import districts, hexagons, write_readiness, zones


def _layer():
    rng = np.random.default_rng(3)
    geoms, cls, dist, ids = [], [], [], []
    for i in range(12):
        for j in range(8):
            geoms.append(rect(i * 120, j * 120, i * 120 + 100, j * 120 + 100))
            cls.append("ABCD"[rng.integers(0, 4)])
            dist.append("east" if i >= 6 else "west")
            ids.append(f"p{i}-{j}")
    return gpd.GeoDataFrame(
        {"parcel_id": ids, "readiness": cls, "district": dist, "group": "lv"},
        geometry=geoms,
        crs=CRS,
    )


def test_zones_dissolve_per_class_and_keep_area():
    layer = _layer()
    z = zones(layer).set_index("readiness")
    for c in set(layer["readiness"]):
        mine = layer[layer["readiness"] == c]
        assert z.loc[c, "parcels"] == len(mine)
        assert z.loc[c, "geometry"].area == pytest.approx(mine.area.sum())
    assert z["area_share"].sum() == pytest.approx(1.0)


def test_hexagon_shares_sum_to_one_and_count_every_parcel():
    layer = _layer()
    hx = hexagons(layer, resolution=8)
    assert hx["parcels"].sum() == len(layer)
    assert hx["area_m2"].sum() == pytest.approx(layer.area.sum(), rel=1e-6)
    shares = hx[[f"area_share_{c}" for c in "ABCD"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    counted = hx[hx["parcels"] > 0]
    assert np.allclose(counted[[f"share_{c}" for c in "ABCD"]].sum(axis=1), 1.0)


def test_district_statistics():
    layer = _layer()
    d = districts(layer).set_index("district")
    east = layer[layer["district"] == "east"]
    assert d.loc["east", "parcels"] == len(east)
    for c in "ABCD":
        assert d.loc["east", f"parcels_{c}"] == int((east["readiness"] == c).sum())
    assert d[[f"share_{c}" for c in "ABCD"]].sum(axis=1).round(9).eq(1).all()


def test_write_readiness_gpkg(tmp_path):
    out = write_readiness(_layer(), tmp_path / "r.gpkg")
    names = {row[0] for row in pyogrio.list_layers(out)}
    assert {"readiness", "readiness_zones", "readiness_h3", "readiness_districts"} <= names
