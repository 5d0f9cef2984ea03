"""Headroom over the years: a planned transformer entering service in 2028 and a project that
takes its load in 2029, on a hand map (tests/connection/maps.py)."""

from __future__ import annotations

import json

from connection.maps import CRS, X0, Y0, at, make_map, parcel, road, transformer
from typer.testing import CliRunner

from onemap.cli import app
from onemap.connection.bulk import readiness
from onemap.geo.crs import metric_to_lonlat
from onemap.geo.mapfile import write_map

DOOR_LON, DOOR_LAT = (float(v) for v in metric_to_lonlat(X0 + 50, Y0 + 20, CRS))


def year_map():
    """P1's door at (50, 20) on road R1 (y = 0); TP (planned, in service 2028) at its door; T0
    (existing) 2 km away; project J1 (pushed, expected 2029) takes 350 of TP's 400 kVA."""
    return make_map(
        landuse=[
            parcel(
                "P1",
                0,
                20,
                100,
                120,
                planned_load_kw=80.0,
                district="d",
                door_lon=DOOR_LON,
                door_lat=DOOR_LAT,
            )
        ],
        roads=[road("R1", (-100, 0), (2500, 0))],
        assets=[
            transformer("T0", 2400, 14, 400.0, 100.0),
            transformer("TP", 50, 14, 400.0, 0.0, status="planned", in_service=2028),
        ],
        projects=[
            {
                "project_id": "J1",
                "requested_kw": 350.0,
                "category": "lv_non_residential",
                "status": "pushed",
                "asset_id": "TP",
                "expected_year": 2029,
                "geometry": at(60, 30),
            }
        ],
    )


def _row(res):
    return res.layer.iloc[0]


def test_planned_transformer_counts_from_its_year_and_the_project_from_its_own():
    m = year_map()
    today = _row(readiness(m, 80.0, "lv_non_residential"))
    assert today["readiness"] == "D"  # TP is only planned, T0 beyond the supply radius
    assert _row(readiness(m, 80.0, "lv_non_residential", year=2027))["readiness"] == "D"
    y2028 = _row(readiness(m, 80.0, "lv_non_residential", year=2028))
    assert y2028["readiness"] == "A" and y2028["asset_id"] == "TP"
    assert y2028["headroom_kw"] == 400.0
    y2029 = _row(readiness(m, 80.0, "lv_non_residential", year=2029))
    assert y2029["readiness"] == "D"  # J1 takes 350 kW of TP from 2029: 50 kW < 80 kW
    assert _row(readiness(m, 40.0, "lv_small_micro", year=2029))["headroom_kw"] == 50.0


def test_cli_year(tmp_path):
    path = tmp_path / "y.gpkg"
    write_map(year_map(), path)
    for year, cls in ((2027, "D"), (2028, "A")):
        res = CliRunner().invoke(
            app,
            [
                "readiness",
                str(path),
                "--kw",
                "80",
                "--category",
                "lv_non_residential",
                "--year",
                str(year),
                "--json",
            ],
        )
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["counts"][cls] == 1


def test_preview_year():
    from onemap.connection.site_preview import preview

    lon, lat = (float(v) for v in metric_to_lonlat(X0 + 50, Y0 + 70, CRS))
    m = year_map()
    assert preview(m, lon, lat, 80.0, "lv_non_residential").readiness == "D"
    p = preview(m, lon, lat, 80.0, "lv_non_residential", year=2028)
    assert p.readiness == "A" and p.connection_point.asset_id == "TP"
