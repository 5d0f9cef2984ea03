"""The merge's shortcuts answer what the long way does: pushed rows built without pandas-heavy
validation equal :func:`validate_layer`'s, anything unusual still goes through it, and the
``projects`` index extended by new rows equals one built from scratch."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import MultiPolygon, Point, Polygon

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.store import ProjectRecord
from web.projects import merge_projects, metric_rows, validated_rows
from web.spatial import LayerIndex

LON, LAT = 119.2, 34.6
SQUARE = Polygon([(LON, LAT), (LON + 0.01, LAT), (LON + 0.01, LAT + 0.01), (LON, LAT + 0.01)])
BOWTIE = Polygon([(LON, LAT), (LON + 0.01, LAT + 0.01), (LON + 0.01, LAT), (LON, LAT + 0.01)])


def _values(n: int, **over) -> dict[str, list]:
    values = {
        "project_id": [f"P{i}" for i in range(n)],
        "requested_kw": [5.0 + i for i in range(n)],
        "category": ["lv_residential", "hv_single", "lv_small_micro"][:n],
        "name": ["新厂房", "", "x"][:n],
        "status": ["pushed", "accepted", "pushed"][:n],
        "submitted": ["2026-01-05", "", "2025-12-31"][:n],
    }
    return {**values, **over}


def _slow(values, geoms):
    frame = gpd.GeoDataFrame(values, geometry=geoms, crs=STORAGE_CRS)
    return validate_layer("projects", frame, source="t")[0]


@pytest.mark.parametrize(
    "geoms",
    [[Point(LON, LAT)], [Point(LON, LAT), SQUARE, MultiPolygon([SQUARE])]],
    ids=["one point", "point polygon multipolygon"],
)
def test_plain_rows_equal_validate_layer(geoms):
    values = _values(len(geoms))
    assert_geodataframe_equal(validated_rows(values, geoms, source="t"), _slow(values, geoms))


def test_a_geometry_to_repair_is_repaired_as_validate_layer_does():
    values = _values(1)
    got = validated_rows(values, [BOWTIE], source="t")
    assert got.geometry.iloc[0].is_valid
    assert_geodataframe_equal(got, _slow(values, [BOWTIE]))


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"category": ["factory"]}, "category"),
        ({"status": ["approved"]}, "status"),
        ({"project_id": ["P\x00"]}, "project_id"),
        ({"project_id": ["   "]}, "project_id"),
        ({"requested_kw": [float("nan")]}, None),
        ({"requested_kw": [float("inf")]}, "requested_kw"),
    ],
)
def test_bad_values_are_refused_as_validate_layer_refuses_them(over, field):
    values = _values(1, **over)
    try:
        expected = _slow(values, [Point(LON, LAT)])
    except OnemapInputError as exc:
        with pytest.raises(OnemapInputError) as got:
            validated_rows(values, [Point(LON, LAT)], source="t")
        assert got.value.to_dict() == exc.to_dict()
        assert exc.to_dict().get("field") == field
    else:  # validate_layer lets it through (a missing kW is NaN): so do the rows
        assert_geodataframe_equal(validated_rows(values, [Point(LON, LAT)], source="t"), expected)


def _record(i: int, geom: dict) -> ProjectRecord:
    return ProjectRecord(
        i, f"S{i}", "", 10.0 + i, "lv_small_micro", "pushed", "2026-01-05", geom, {}, None, None,
        "2026-01-05T00:00:00+00:00",
    )  # fmt: skip


def test_the_extended_index_equals_one_built_from_scratch():
    square = {"type": "Polygon", "coordinates": [list(SQUARE.exterior.coords)]}
    base = OneMap(layers={"projects": _slow(_values(3), [Point(LON, LAT), SQUARE, SQUARE])},
                  crs_metric="EPSG:4549")  # fmt: skip
    index = LayerIndex.build("projects", base["projects"], base.metric("projects"), "project_id")
    m, known = base, set(base["projects"]["project_id"])
    for batch in ([_record(1, square)], [_record(2, {"type": "Point", "coordinates": [LON, LAT]}),
                                         _record(3, square)]):  # fmt: skip
        merged = merge_projects(m, batch, known, index)
        assert merged is not None
        m, index = merged.onemap, merged.index
        known |= set(merged.added)
    full = LayerIndex.build("projects", m["projects"], m.metric("projects"), "project_id")
    assert index.gdf is m["projects"] and len(index) == 6
    np.testing.assert_array_equal(index.bounds, full.bounds)
    np.testing.assert_array_equal(index.priority, full.priority)
    box = (LON - 1, LAT - 1, LON + 1, LAT + 1)
    np.testing.assert_array_equal(index.select(box), full.select(box))
    assert merge_projects(m, [_record(3, square)], known, index) is None  # known already


@pytest.mark.parametrize("crs", ["EPSG:4549", "EPSG:32650"])
def test_metric_rows_equal_to_crs(crs):
    geoms = [Point(LON, LAT), SQUARE, MultiPolygon([SQUARE])]
    rows = _slow(_values(3), geoms)
    assert_geodataframe_equal(metric_rows(rows, crs), rows.to_crs(crs))
