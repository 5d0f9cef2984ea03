"""The year columns of the layer schemas (issue 17 item 5): ``in_service`` on substations,
feeders and assets, ``expected_year`` on projects — validated with an error naming layer, row
and field, and read by :func:`onemap.grid.years.as_of`."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from connection.maps import CRS, at, feeder, substation, transformer

from onemap.errors import OnemapInputError
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.geo.schema import LAYERS, YEAR_LAYERS
from onemap.grid.years import as_of

PROJECT = {
    "project_id": "J1",
    "requested_kw": 100.0,
    "category": "lv_non_residential",
    "geometry": at(0, 0),
}
ROWS = {
    "substations": lambda **kw: substation("S1", 50.0, 10.0, **kw),
    "feeders": lambda **kw: feeder("F1", "S1", 8.0, 2.0, **kw),
    "assets": lambda **kw: transformer("T1", 0, 0, 400.0, 100.0, **kw),
    "projects": lambda **kw: {**PROJECT, **kw},
}


def _layer(name: str, values: list[object]) -> gpd.GeoDataFrame:
    column = YEAR_LAYERS[name]
    rows = [ROWS[name]() for _ in values]
    id_col = LAYERS[name].id_column
    for k, (row, value) in enumerate(zip(rows, values, strict=True)):
        row[id_col] = f"{row[id_col]}-{k}"
        row[column] = value
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS)


def test_every_year_column_is_declared():
    assert YEAR_LAYERS == {
        "substations": "in_service",
        "feeders": "in_service",
        "assets": "in_service",
        "projects": "expected_year",
    }
    for name, column in YEAR_LAYERS.items():
        assert LAYERS[name].column(column).kind == "year"
        assert column not in {c.name for c in LAYERS[name].required}  # optional


@pytest.mark.parametrize("name", list(YEAR_LAYERS))
def test_years_are_read_as_numbers_blank_is_none(name):
    clean, _ = validate_layer(name, _layer(name, ["2028", 2030, None, ""]))
    got = clean[YEAR_LAYERS[name]].tolist()
    assert got[:2] == [2028.0, 2030.0]
    assert pd.isna(got[2]) and pd.isna(got[3])


@pytest.mark.parametrize("name", list(YEAR_LAYERS))
@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("20x8", "is not a year"),
        (2028.5, "is not a whole year"),
        (1, "between 1900 and 2200"),  # an in-service flag is not a year
        (28, "between 1900 and 2200"),
        (99999, "between 1900 and 2200"),
        (float("inf"), "is not a year"),
    ],
)
def test_bad_year_names_layer_row_and_field(name, bad, says):
    with pytest.raises(OnemapInputError) as err:
        validate_layer(name, _layer(name, [2028, bad]), source="grid.gpkg")
    e = err.value
    assert (e.layer, e.row, e.field, e.file) == (name, 1, YEAR_LAYERS[name], "grid.gpkg")
    assert says in e.message and str(bad) in e.message


def test_a_source_without_years_gets_no_year_column():
    clean, _ = validate_layer("assets", _layer("assets", [2028]).drop(columns="in_service"))
    assert "in_service" not in clean.columns


def test_as_of_reads_validated_years():
    assets, _ = validate_layer(
        "assets",
        gpd.GeoDataFrame(
            pd.DataFrame(
                [
                    transformer("T0", 0, 0, 400.0, 0.0),
                    transformer("TP", 50, 0, 400.0, 0.0, status="planned", in_service="2028"),
                ]
            ),
            geometry="geometry",
            crs=CRS,
        ),
    )
    projects, _ = validate_layer(
        "projects",
        gpd.GeoDataFrame(
            pd.DataFrame([{**PROJECT, "asset_id": "TP", "expected_year": "2029"}]),
            geometry="geometry",
            crs=CRS,
        ),
    )
    m = OneMap(layers={"assets": assets, "projects": projects}, crs_metric=CRS)
    status = {y: as_of(m, y)["assets"].set_index("asset_id")["status"] for y in (2027, 2028)}
    assert "TP" not in status[2027].index  # not there yet
    assert status[2028]["TP"] == "existing"
    assert as_of(m, 2028)["projects"]["status"].tolist() == ["pushed"]
    assert as_of(m, 2029)["projects"]["status"].tolist() == ["accepted"]
