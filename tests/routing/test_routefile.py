"""Route files: GeoJSON, KML, DXF; declared and undeclared CRSs; gaps; bad files."""

from __future__ import annotations

import json

import ezdxf
import numpy as np
import pytest
import shapely
import shapely.geometry
from hypothesis import given, settings
from hypothesis import strategies as st

from onemap.errors import OnemapInputError
from onemap.geo.crs import metric_to_lonlat
from onemap.routing import RouteGapError, check_route, read_route
from onemap.routing.routefile import _numeric_line, as_metric_line
from routing.streets import CRS, at, line, make_map, road


@pytest.fixture(scope="module")
def street():
    return make_map([road("S", [(0, 0), (2000, 0)])])


def lonlat_coords(*pts):
    xy = np.array([at(*p) for p in pts])
    lon, lat = metric_to_lonlat(xy[:, 0], xy[:, 1], CRS)
    return [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]


def write(tmp_path, name, obj):
    path = tmp_path / name
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj, encoding="utf-8")
    return path


def feature(coords, kind="LineString"):
    return {"type": "Feature", "properties": {}, "geometry": {"type": kind, "coordinates": coords}}


def test_geojson_lonlat_and_declared_crs_agree(street, tmp_path):
    pts = [(100, 8.5), (400, 8.5)]
    ll = write(
        tmp_path,
        "r.geojson",
        {"type": "FeatureCollection", "features": [feature(lonlat_coords(*pts))]},
    )
    metric = write(
        tmp_path,
        "m.geojson",
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
            "features": [feature([list(at(*p)) for p in pts])],
        },
    )
    a = read_route(ll, CRS)
    b = read_route(metric, CRS)
    assert a.length == pytest.approx(300.0, abs=1e-3)
    assert b.length == pytest.approx(300.0, abs=1e-9)
    assert check_route(street, a, 0.4).same_decision(check_route(street, b, 0.4), tol_m=1e-3)


def test_undeclared_metric_geojson_is_refused(tmp_path):
    path = write(tmp_path, "m.geojson", feature([list(at(100, 8.5)), list(at(400, 8.5))]))
    with pytest.raises(OnemapInputError, match="not degrees and no CRS"):
        read_route(path, CRS)
    # naming the CRS makes it readable
    assert read_route(path, CRS, crs="EPSG:4549").length == pytest.approx(300.0)


def test_files_with_no_or_several_features(tmp_path):
    empty = write(tmp_path, "e.geojson", {"type": "FeatureCollection", "features": []})
    with pytest.raises(OnemapInputError, match="no features"):
        read_route(empty, CRS)
    coords = lonlat_coords((100, 8.5), (400, 8.5))
    two = write(
        tmp_path,
        "t.geojson",
        {"type": "FeatureCollection", "features": [feature(coords), feature(coords)]},
    )
    with pytest.raises(OnemapInputError, match="2 features"):
        read_route(two, CRS)
    point = write(tmp_path, "p.geojson", feature(coords[0], "Point"))
    with pytest.raises(OnemapInputError, match="LineString"):
        read_route(point, CRS)
    with pytest.raises(OnemapInputError, match="not valid GeoJSON"):
        read_route(write(tmp_path, "bad.geojson", "{nope"), CRS)
    with pytest.raises(OnemapInputError, match="unknown route format"):
        read_route(write(tmp_path, "r.shp", "x"), CRS)
    with pytest.raises(OnemapInputError, match="not found"):
        read_route(tmp_path / "missing.geojson", CRS)


def test_kml(street, tmp_path):
    coords = " ".join(f"{a},{b},0" for a, b in lonlat_coords((100, 8.5), (400, 8.5)))
    kml = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>r</name>
<LineString><coordinates>{coords}</coordinates></LineString></Placemark></Document></kml>"""
    geom = read_route(write(tmp_path, "r.kml", kml), CRS)
    assert geom.length == pytest.approx(300.0, abs=1e-3)
    assert check_route(street, geom, 0.4).eligible
    nothing = kml.replace("LineString", "Point")
    with pytest.raises(OnemapInputError, match="no line features"):
        read_route(write(tmp_path, "n.kml", nothing), CRS)
    two = kml.replace(
        "</Document>", kml.split("<Document>")[1].split("</Document>")[0] + "</Document>"
    )
    with pytest.raises(OnemapInputError, match="2 line features"):
        read_route(write(tmp_path, "two.kml", two), CRS)


def test_dxf_needs_a_crs_unless_degrees(street, tmp_path):
    doc = ezdxf.new()
    doc.modelspace().add_lwpolyline([at(100, 8.5), at(250, 8.5), at(400, 8.5)])
    path = tmp_path / "r.dxf"
    doc.saveas(path)
    with pytest.raises(OnemapInputError, match="declares no CRS"):
        read_route(path, CRS)
    geom = read_route(path, CRS, crs="EPSG:4549")
    assert geom.length == pytest.approx(300.0)
    assert check_route(street, geom, 0.4).eligible


def test_multilinestring_parts(street):
    from shapely import MultiLineString

    joined = MultiLineString([[at(100, 8.5), at(200, 8.5)], [at(200, 8.5), at(300, 8.5)]])
    v = check_route(street, joined, 0.4)
    assert v.eligible and v.length_m == pytest.approx(200.0)
    gapped = MultiLineString(
        [[at(100, 8.5), at(200, 8.5)], [at(230, 8.5), at(300, 8.5)], [at(300, 8.5), at(300, 0)]]
    )
    with pytest.raises(RouteGapError) as err:
        check_route(street, gapped, 0.4)
    assert err.value.gaps[0]["distance_m"] == pytest.approx(30.0)
    assert err.value.gaps[0]["after_part"] == 0
    assert [p.eligible for p in err.value.parts] == [True, False]
    assert err.value.parts[1].codes == ["OCCUPIES_MOTOR_LANE"]
    assert "30.0" in str(err.value)


def test_degenerate_lines(street):
    with pytest.raises(OnemapInputError):
        check_route(street, line((100, 8.5), (100, 8.5)), 0.4)
    with pytest.raises(OnemapInputError, match="LineString"):
        check_route(street, {"type": "Point", "coordinates": [119.2, 34.6]}, 0.4)
    with pytest.raises(OnemapInputError, match="empty"):
        check_route(street, {"type": "LineString", "coordinates": []}, 0.4)


# A GeoJSON LineString of numbers is made in one call (routefile._numeric_line); whatever it
# reads must be the line shapely's `shape` reads, and whatever it does not read must still
# reach `shape`'s checks and the same error.
_number = st.one_of(
    st.integers(-180, 180), st.floats(-180, 180, allow_nan=False, allow_infinity=False)
)
_value = st.one_of(_number, st.booleans(), st.none(), st.text(max_size=3))


@given(st.lists(st.lists(_number, min_size=2, max_size=3), min_size=0, max_size=6))
@settings(max_examples=150, deadline=None)
def test_numeric_linestring_reads_as_shape_does(rows):
    obj = {"type": "LineString", "coordinates": rows}
    try:
        expected = shapely.geometry.shape(obj)
    except Exception:
        expected = None
    got = _numeric_line(obj)
    if got is None:  # left to `shape`: ragged rows, fewer than two points
        assert expected is None or len({len(r) for r in rows}) > 1 or len(rows) < 2
        return
    assert expected is not None
    assert got.has_z == expected.has_z
    assert np.array_equal(
        shapely.get_coordinates(got, include_z=True),
        shapely.get_coordinates(expected, include_z=True),
        equal_nan=True,
    )


@given(st.lists(st.lists(_value, min_size=2, max_size=2), min_size=2, max_size=4))
@settings(max_examples=150, deadline=None)
def test_mixed_coordinates_read_as_shape_does_or_are_left_to_it(rows):
    obj = {"type": "LineString", "coordinates": rows}
    got = _numeric_line(obj)
    if all(type(v) in (int, float) for r in rows for v in r):
        assert got is not None  # the fast path takes every row of plain numbers
    if got is not None:  # e.g. numbers and booleans, which `shape` reads as numbers too
        assert shapely.equals_exact(got, shapely.geometry.shape(obj), 0.0)


def test_bad_coordinates_still_name_the_field():
    route = {"type": "LineString", "coordinates": [[119.2, "x"], [119.3, 34.6]]}
    with pytest.raises(OnemapInputError) as exc:
        as_metric_line(route, CRS)
    assert exc.value.field == "route"
