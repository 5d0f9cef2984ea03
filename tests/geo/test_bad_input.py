"""Bad-input corpus for ``onemap build`` (issue 12): every case → exit 2, the message names the
file / layer / row / field at fault, and an existing ``--out`` map is left byte-identical.

Each case writes its inputs into ``tmp_path`` and returns the extra CLI arguments and the message
fragments that must appear. Fragments are phrases of the message itself (never bare words that a
pytest temp folder name could contain).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from onemap.cli import app

# English messages (ONEMAP_LANG): the checks match the library's English words; the Chinese
# default is checked end to end in tests/test_messages.py.
runner = CliRunner(env={"ONEMAP_LANG": "en"})
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*truncated:UserWarning", "ignore:Normalized/laundered:RuntimeWarning"
)


def roads_gdf(n: int = 3, crs: str | None = "EPSG:4326", **cols) -> gpd.GeoDataFrame:
    lines = [
        shapely.LineString([(119.2 + i * 0.001, 34.6), (119.2 + i * 0.001, 34.601)])
        for i in range(n)
    ]
    data = {"road_id": [f"r{i}" for i in range(n)], "road_class": ["arterial"] * n, **cols}
    return gpd.GeoDataFrame(data, geometry=lines, crs=crs)


def landuse_gdf(**cols) -> gpd.GeoDataFrame:
    boxes = [shapely.box(119.2 + i * 0.002, 34.602, 119.201 + i * 0.002, 34.603) for i in (0, 1)]
    data = {"parcel_id": ["p0", "p1"], "landuse_code": ["0701", "0901"], **cols}
    return gpd.GeoDataFrame(data, geometry=boxes, crs="EPSG:4326")


def projects_gdf(ids) -> gpd.GeoDataFrame:
    pts = [shapely.Point(119.2 + i * 0.0005, 34.6005) for i in range(len(ids))]
    return gpd.GeoDataFrame(
        {"project_id": list(ids), "requested_kw": [50.0] * len(ids), "category": "lv_small_micro"},
        geometry=pts,
        crs="EPSG:4326",
    )


def _landuse(tmp: Path) -> str:
    path = tmp / "landuse.geojson"
    landuse_gdf().to_file(path)
    return str(path)


def _roads_shp(tmp: Path, *, cpg: str | None = None, prj: bool = True) -> Path:
    src = tmp / "roads.shp"
    roads_gdf().to_file(src)
    if not prj:
        src.with_suffix(".prj").unlink()
    src.with_suffix(".cpg").unlink(missing_ok=True)
    if cpg is not None:
        src.with_suffix(".cpg").write_text(cpg)
    return src


def _geojson_text(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def _roads_geojson_width(value: str) -> Callable[[Path], tuple[list[str], list[str]]]:
    """Roads whose first row has ``sidewalk_left_m`` written literally as ``value``."""

    def case(tmp):
        feats = ",".join(
            f'{{"type":"Feature","properties":{{"road_id":"r{i}","sidewalk_left_m":'
            f'{value if i == 0 else "3.0"}}},"geometry":{{"type":"LineString",'
            f'"coordinates":[[119.20{i},34.6],[119.20{i},34.601]]}}}}'
            for i in range(3)
        )
        text = '{"type":"FeatureCollection","features":[' + feats + "]}"
        src = _geojson_text(tmp, "roads.geojson", text)
        return [str(src), _landuse(tmp)], [
            "roads.geojson",
            "layer 'roads'",
            "row 0",
            "'sidewalk_left_m'",
        ]

    return case


def width_inf_gpkg(tmp):
    src = tmp / "roads.gpkg"
    roads_gdf(sidewalk_left_m=[float("inf"), 3.0, 3.0]).to_file(src, layer="roads")
    return [str(src), _landuse(tmp)], ["roads.gpkg", "layer 'roads'", "row 0", "'sidewalk_left_m'"]


def width_too_wide(tmp):
    src = tmp / "roads.gpkg"
    roads_gdf(motor_width_m=[7.0, 7.0, 250.0]).to_file(src, layer="roads")
    return [str(src), _landuse(tmp)], ["layer 'roads'", "row 2", "'motor_width_m'", "100"]


def degrees_as_4549(tmp):
    src = tmp / "roads.gpkg"
    roads_gdf().set_crs("EPSG:4549", allow_override=True).to_file(src, layer="roads")
    return [str(src), _landuse(tmp)], ["roads.gpkg", "layer 'roads'", "EPSG:4549", "degrees"]


def crs_unknown_code(tmp):
    src = _roads_shp(tmp, prj=False)
    return [str(src), _landuse(tmp), "--crs", "EPSG:99999"], ["EPSG:99999", "field 'crs'"]


def crs_not_a_crs(tmp):
    src = _roads_shp(tmp, prj=False)
    return [str(src), _landuse(tmp), "--crs", "notacrs"], ["notacrs", "field 'crs'"]


def cpg_unknown_codec(tmp):
    src = _roads_shp(tmp, cpg="klingon-8")
    return [str(src), _landuse(tmp)], ["roads.cpg", "klingon-8", "unknown encoding"]


def encoding_bogus(tmp):
    src = _roads_shp(tmp)
    return [str(src), _landuse(tmp), "--encoding", "bogus-enc"], [
        "bogus-enc",
        "field 'encoding'",
        "unknown encoding",
    ]


def dbf_five_bytes(tmp):
    src = _roads_shp(tmp)
    src.with_suffix(".dbf").write_bytes(b"\x03\x7c\x01\x01\x00")
    return [str(src), _landuse(tmp)], ["roads.dbf", "not a valid dBASE"]


def nan_coordinate(tmp):
    src = _geojson_text(
        tmp,
        "roads.geojson",
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"road_id":"r0"},"geometry":{"type":"LineString","coordinates":'
        "[[119.2,34.6],[NaN,NaN]]}}]}",
    )
    return [str(src), _landuse(tmp)], ["roads.geojson", "layer 'roads'", "row 0", "non-finite"]


def mapping_codes_not_a_table(tmp):
    table = tmp / "map.toml"
    table.write_text('code_column = "code"\ncodes = 5\n', encoding="utf-8")
    return [str(_roads_shp(tmp)), _landuse(tmp), "--landuse-mapping", str(table)], [
        "map.toml",
        "'codes'",
    ]


def huge_coordinates(tmp):
    src = tmp / "roads.gpkg"
    gdf = roads_gdf()
    gdf["geometry"] = shapely.transform(gdf.geometry.values, lambda xy: xy * 1e6)
    gdf.to_file(src, layer="roads")
    return [str(src), _landuse(tmp)], ["roads.gpkg", "layer 'roads'", "not degrees"]


def string_in_numeric(tmp):
    src = tmp / "roads.gpkg"
    roads_gdf(motor_width_m=["7", "wide", "7"]).to_file(src, layer="roads")
    return [str(src), _landuse(tmp)], ["layer 'roads'", "row 1", "'motor_width_m'", "'wide'"]


def wrong_geometry_type(tmp):
    src = tmp / "roads.gpkg"
    gdf = roads_gdf()
    gdf["geometry"] = shapely.get_point(gdf.geometry.values, 0)
    gdf.to_file(src, layer="roads")
    return [str(src), _landuse(tmp)], ["layer 'roads'", "row 0", "geometry type Point"]


def null_geometry(tmp):
    src = _geojson_text(
        tmp,
        "roads.geojson",
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"road_id":"r0"},"geometry":null}]}',
    )
    return [str(src), _landuse(tmp)], ["layer 'roads'", "row 0", "missing geometry"]


def gpkg_text_file(tmp):
    src = tmp / "layers.gpkg"
    src.write_text("this is not a geopackage\n")
    return [str(src)], ["layers.gpkg", "cannot read as a vector file"]


def directory_as_input(tmp):
    src = tmp / "roads_dir"
    src.mkdir()
    return [str(src)], ["roads_dir", "a directory"]


def _project_ids(ids, *fragments):
    def case(tmp):
        src = tmp / "projects.geojson"
        src.write_text(projects_gdf(ids).to_json(), encoding="utf-8")  # NUL kept as \u0000
        return [str(_roads_shp(tmp)), _landuse(tmp), str(src)], [
            "layer 'projects'",
            "field 'project_id'",
            *fragments,
        ]

    return case


CASES: dict[str, Callable[[Path], tuple[list[str], list[str]]]] = {
    "width-inf-geojson": _roads_geojson_width('"inf"'),
    "width-Infinity-string": _roads_geojson_width('"Infinity"'),
    "width-Infinity-literal": _roads_geojson_width("Infinity"),
    "width-1e308": _roads_geojson_width("1e308"),
    "width-inf-gpkg": width_inf_gpkg,
    "width-250m": width_too_wide,
    "degrees-labelled-4549": degrees_as_4549,
    "crs-EPSG:99999": crs_unknown_code,
    "crs-notacrs": crs_not_a_crs,
    "cpg-unknown-codec": cpg_unknown_codec,
    "encoding-bogus": encoding_bogus,
    "dbf-5-bytes": dbf_five_bytes,
    "nan-coordinate": nan_coordinate,
    "mapping-codes-5": mapping_codes_not_a_table,
    "huge-coordinates": huge_coordinates,
    "string-in-numeric": string_in_numeric,
    "wrong-geometry-type": wrong_geometry_type,
    "null-geometry": null_geometry,
    "gpkg-is-text": gpkg_text_file,
    "directory-as-input": directory_as_input,
    # GDAL truncates a text field at NUL on reading, so from a file "ZZ\x00A" arrives as "ZZ" and
    # collides with the real "ZZ"; NUL itself is refused by validate_layer (test below).
    "project-id-nul": _project_ids(["ZZ\x00A", "ZZ"], "duplicate id 'ZZ'"),
    "project-id-control": _project_ids(["ok", "A\x07B"], "row 1", "control character"),
    "project-id-whitespace": _project_ids(["ok", "   "], "row 1", "only whitespace"),
}


@pytest.fixture(scope="module")
def good_map(tmp_path_factory) -> bytes:
    """The bytes of a valid map, copied to ``--out`` before each case."""
    tmp = tmp_path_factory.mktemp("good")
    roads = tmp / "roads.geojson"
    roads_gdf().to_file(roads)
    out = tmp / "m.gpkg"
    res = runner.invoke(app, ["build", str(roads), _landuse(tmp), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out.read_bytes()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exit_2_named_and_output_untouched(tmp_path, good_map, case):
    args, fragments = CASES[case](tmp_path)
    out = tmp_path / "m.gpkg"
    out.write_bytes(good_map)
    res = runner.invoke(app, ["build", *args, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "internal error" not in res.output
    message = _flat(res.output)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert out.read_bytes() == good_map


def test_out_is_a_directory(tmp_path, good_map):
    roads = tmp_path / "roads.geojson"
    roads_gdf().to_file(roads)
    out = tmp_path / "existing_dir"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    res = runner.invoke(app, ["build", str(roads), _landuse(tmp_path), "--out", str(out)])
    assert res.exit_code == 2, res.output
    message = _flat(res.output)
    assert "existing_dir" in message and "field '--out'" in message and "is a directory" in message
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_plausible_widths_build(tmp_path):
    """The bound refuses only implausible widths: 100 m per strip is still accepted."""
    src = tmp_path / "roads.gpkg"
    roads_gdf(motor_width_m=[100.0, 0.0, 7.0]).to_file(src, layer="roads")
    res = runner.invoke(
        app, ["build", str(src), _landuse(tmp_path), "--out", str(tmp_path / "m.gpkg")]
    )
    assert res.exit_code == 0, res.output


def test_id_with_inner_space_is_kept(tmp_path):
    src = tmp_path / "projects.gpkg"
    projects_gdf(["ZZ A", "ZZ-B"]).to_file(src, layer="projects")
    roads = tmp_path / "roads.geojson"
    roads_gdf().to_file(roads)
    res = runner.invoke(
        app, ["build", str(roads), _landuse(tmp_path), str(src), "--out", str(tmp_path / "m.gpkg")]
    )
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("ZZ\x00A", "U+0000"), ("A\tB", "U+0009"), ("\u3000 ", "only whitespace"), ("", "whitespace")],
)
def test_validate_layer_refuses_bad_ids(value, fragment):
    from onemap.errors import OnemapInputError
    from onemap.geo.layers import validate_layer

    with pytest.raises(OnemapInputError) as err:
        validate_layer("projects", projects_gdf(["ok", value]), source="p.gpkg")
    assert (err.value.layer, err.value.row, err.value.field) == ("projects", 1, "project_id")
    assert fragment in err.value.message
