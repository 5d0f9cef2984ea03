"""Issue 12: the per-parcel supply radius is exercised. Two parcels at the same corridor distance
(≈ 460 m, mirror images) from one transformer lie in districts of different supply classes: C
(0.4 kV radius 400 m) and D (radius 500 m). The C parcel is beyond its radius (grid gap, D), the
D parcel within (B: a filing route within radius). A readiness pass that ignored the parcel's
radius, or used one radius for every parcel, would give both the same class."""

from __future__ import annotations

import pytest

from connection.maps import feeder, make_map, parcel, road, substation, transformer
from onemap.connection.bulk import readiness
from onemap.rules import load_rules

RULES = load_rules()
CAT = "lv_non_residential"


def _door(x, y):
    from connection.maps import CRS, X0, Y0
    from onemap.geo.crs import metric_to_lonlat

    lon, lat = metric_to_lonlat(X0 + x, Y0 + y, CRS)
    return {"door_lon": float(lon), "door_lat": float(lat)}


@pytest.fixture(scope="module")
def result():
    m = make_map(
        roads=[road("R1", (-1000, 0), (1000, 0))],
        landuse=[
            # 1 ha each: 30 kW → σ = 3 MW/km² (class C), 5 kW → σ = 0.5 MW/km² (class D)
            parcel(
                "PC", -500, 20, -400, 120, planned_load_kw=30.0, district="dense", **_door(-450, 20)
            ),
            parcel(
                "PD", 400, 20, 500, 120, planned_load_kw=5.0, district="sparse", **_door(450, 20)
            ),
        ],
        substations=[substation("S1", 50.0, 10.0)],
        feeders=[feeder("F1", "S1", 8.0, 2.0)],
        assets=[transformer("T0", 0, 12, 400.0, 100.0)],
        projects=[],
    )
    return readiness(m, 50.0, CAT).layer.set_index("parcel_id")


def test_the_two_parcels_have_different_supply_classes_and_radii(result):
    assert result.loc["PC", "supply_class"] == "C"
    assert result.loc["PD", "supply_class"] == "D"
    assert RULES.supply_radius(0.4, "C") == 400.0
    assert RULES.supply_radius(0.4, "D") == 500.0


def test_same_distance_different_class_by_radius(result):
    dc, dd = (result.loc[p, "distance_m"] for p in ("PC", "PD"))
    # the same distance to the same transformer, between the two radii
    assert 400.0 < dd < 500.0, dd
    if dc == dc:  # a beyond-radius parcel may report its nearest point or NaN
        assert dc == pytest.approx(dd, abs=1e-6)
    assert result.loc["PD", "readiness"] == "B"
    assert result.loc["PD", "asset_id"] == "T0"
    assert result.loc["PC", "readiness"] == "D"
