"""`onemap build` / `onemap info`: real data, and every kind of bad input named precisely."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from onemap.cli import app
from onemap.geo.mapfile import read_map

# English messages (ONEMAP_LANG): the checks match the library's English words; the Chinese
# default is checked end to end in tests/test_messages.py.
runner = CliRunner(env={"ONEMAP_LANG": "en"})
# Shapefile fixtures truncate long field names on purpose (the build must cope with it).
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*truncated:UserWarning", "ignore:Normalized/laundered:RuntimeWarning"
)


def run(*args: str):
    return runner.invoke(app, list(args))


def roads_gdf(n: int = 3, crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    lines = [
        shapely.LineString([(119.2 + i * 0.001, 34.6), (119.2 + i * 0.001, 34.601)])
        for i in range(n)
    ]
    return gpd.GeoDataFrame(
        {"road_id": [f"r{i}" for i in range(n)], "road_class": ["arterial"] * n},
        geometry=lines,
        crs=crs,
    )


def landuse_gdf(codes=("0701", "0901")) -> gpd.GeoDataFrame:
    boxes = [
        shapely.box(119.2 + i * 0.002, 34.602, 119.201 + i * 0.002, 34.603)
        for i in range(len(codes))
    ]
    return gpd.GeoDataFrame(
        {"parcel_id": [f"p{i}" for i in range(len(codes))], "landuse_code": list(codes)},
        geometry=boxes,
        crs="EPSG:4326",
    )


@pytest.fixture
def files(tmp_path):
    roads = tmp_path / "roads.geojson"
    landuse = tmp_path / "landuse.geojson"
    roads_gdf().to_file(roads)
    landuse_gdf().to_file(landuse)
    return tmp_path, roads, landuse


def test_build_then_info_reports_counts_crs_and_fills(files):
    tmp, roads, landuse = files
    out = tmp / "map.gpkg"
    result = run("build", str(roads), str(landuse), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["crs_metric"] == "EPSG:4549"
    assert report["layers"] == {"roads": 3, "landuse": 2}
    assert report["filled_cross_sections"] == 3
    info = json.loads(run("info", str(out), "--json").stdout)
    assert info["layers"]["roads"] == 3 and info["layers"]["assets"] == 0
    assert info["synthetic"] is False
    stored = read_map(out)
    assert stored["roads"].crs.to_epsg() == 4326
    # Arterial defaults come from the cross-section table, not from code.
    from onemap.geo.layers import cross_section_table

    art = cross_section_table()["classes"]["arterial"]
    assert (stored["roads"]["motor_width_m"] == art["motor_width_m"]).all()
    assert (stored["roads"]["bike_left_m"] == art["bike_m"]).all()


def test_xinwu_builds_with_euluc_mapping_in_120e_zone(shared_data, tmp_path):
    d = shared_data / "jiangsu-xinwu"
    out = tmp_path / "xinwu.gpkg"
    result = run(
        "build",
        f"landuse={d / 'xinwu_land_use.gpkg'}",
        f"roads={d / 'xinwu_road_centerlines.gpkg'}",
        "--landuse-mapping",
        "euluc",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["crs_metric"] == "EPSG:4549"
    assert report["layers"] == {"landuse": 2033, "roads": 5835}
    assert report["filled_cross_sections"] == 5835  # centre lines carry no widths at all
    m = read_map(out)
    assert m["landuse"]["landuse_code"].isin(["0701", "0902", "0901", "1001", "1401"]).any()
    area_km2 = m.metric("landuse").area.sum() / 1e6
    assert 130 < area_km2 < 150  # README: 143 km², measured in the metric CRS
    # Widths come from the class table: OSM primary roads take the arterial section.
    from onemap.geo.layers import cross_section_table

    arterial = cross_section_table()["classes"]["arterial"]
    roads = m["roads"]
    primary = roads[roads["road_class"] == "arterial"]
    assert len(primary) and (primary["motor_width_m"] == arterial["motor_width_m"]).all()


def test_python_dash_m_runs():
    out = subprocess.run(
        [sys.executable, "-m", "onemap", "--help"], capture_output=True, text=True, check=True
    )
    assert "build" in out.stdout


# --- bad input: exit 2, message names file / layer / row / field ------------------------------


def expect_bad(result, *fragments: str):
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output)


def test_missing_required_column(files):
    tmp, roads, _ = files
    bad = tmp / "landuse.geojson"
    landuse_gdf().drop(columns="landuse_code").to_file(bad)
    expect_bad(
        run("build", str(roads), str(bad), "--out", str(tmp / "m.gpkg")),
        "landuse.geojson",
        "layer 'landuse'",
        "landuse_code",
    )


def test_unknown_landuse_code_names_the_table(files):
    tmp, roads, _ = files
    bad = tmp / "landuse.geojson"
    landuse_gdf(("0701", "9999")).to_file(bad)
    expect_bad(
        run("build", str(roads), str(bad), "--out", str(tmp / "m.gpkg")),
        "row 1",
        "landuse_code",
        "9999",
        "landuse_codes.toml",
        "--landuse-mapping",
    )


def test_unmapped_foreign_code_names_the_mapping_table(files):
    tmp, roads, _ = files
    src = tmp / "parcels.geojson"
    gdf = landuse_gdf().drop(columns=["landuse_code", "parcel_id"])
    gdf["Class"] = [0, 42]
    gdf.to_file(src)
    expect_bad(
        run(
            "build",
            str(roads),
            f"landuse={src}",
            "--landuse-mapping",
            "euluc",
            "--out",
            str(tmp / "m.gpkg"),
        ),
        "'42'",
        "euluc.toml",
        "row 1",
        "Class",
    )


def test_invalid_geometry_is_repaired_and_counted(files):
    tmp, roads, _ = files
    bow = shapely.Polygon([(119.2, 34.602), (119.201, 34.603), (119.201, 34.602), (119.2, 34.603)])
    gdf = landuse_gdf()
    gdf.loc[0, "geometry"] = bow
    src = tmp / "landuse.geojson"
    gdf.to_file(src)
    result = run("build", str(roads), str(src), "--out", str(tmp / "m.gpkg"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["repaired_geometries"]["landuse"] == 1
    stored = read_map(tmp / "m.gpkg")["landuse"]
    assert len(stored) == 2 and stored.is_valid.all()  # repaired, not dropped


def test_lat_lon_swapped_is_refused(files):
    tmp, _, landuse = files
    swapped = roads_gdf()
    swapped["geometry"] = shapely.transform(swapped.geometry.values, lambda xy: xy[:, ::-1])
    src = tmp / "roads.geojson"
    swapped.to_file(src)
    expect_bad(
        run("build", str(src), str(landuse), "--out", str(tmp / "m.gpkg")),
        "roads.geojson",
        "layer 'roads'",
        # the message's own phrase: pytest's temp folder is named after the test ("...swapped0")
        "look like lat/lon swapped",
    )


def test_missing_crs_refused_unless_given(files):
    tmp, _, landuse = files
    src = tmp / "roads.shp"
    projected = roads_gdf().to_crs("EPSG:4549")
    projected.to_file(src)
    for ext in (".prj",):
        src.with_suffix(ext).unlink()
    expect_bad(
        run("build", str(src), str(landuse), "--out", str(tmp / "m.gpkg")), "roads.shp", "--crs"
    )
    ok = run(
        "build", str(src), str(landuse), "--crs", "4549", "--out", str(tmp / "m.gpkg"), "--json"
    )
    assert ok.exit_code == 0, ok.output
    stored = read_map(tmp / "m.gpkg")["roads"]
    assert abs(stored.total_bounds[0] - 119.2) < 1e-6


def test_empty_layer_refused(files):
    tmp, roads, _ = files
    src = tmp / "landuse.gpkg"
    landuse_gdf().iloc[:0].to_file(src, layer="landuse")
    expect_bad(
        run("build", str(roads), str(src), "--out", str(tmp / "m.gpkg")),
        "layer 'landuse'",
        "the layer is empty",  # not just "empty": the temp folder name contains it
    )


def test_duplicate_ids_refused(files):
    tmp, roads, _ = files
    gdf = landuse_gdf()
    gdf["parcel_id"] = ["same", "same"]
    src = tmp / "landuse.geojson"
    gdf.to_file(src)
    expect_bad(
        run("build", str(roads), str(src), "--out", str(tmp / "m.gpkg")),
        "duplicate id 'same'",
        "parcel_id",
        "row 0",
    )


def test_gbk_shapefile_detected_and_wrong_encoding_named(files):
    tmp, roads, _ = files
    gdf = landuse_gdf()
    gdf["name"] = ["海州区住宅地块", "新浦商业街"]
    src = tmp / "landuse.shp"
    gdf.to_file(src, encoding="GBK")
    src.with_suffix(".cpg").unlink(missing_ok=True)
    ok = run("build", str(roads), str(src), "--out", str(tmp / "m.gpkg"))
    assert ok.exit_code == 0, ok.output
    assert list(read_map(tmp / "m.gpkg")["landuse"]["name"]) == ["海州区住宅地块", "新浦商业街"]
    expect_bad(
        run("build", str(roads), str(src), "--encoding", "utf-8", "--out", str(tmp / "m2.gpkg")),
        "landuse.dbf",
        "row 0",
        "field 'name'",
        "GB18030",
    )


def test_failed_build_leaves_existing_output_untouched(files):
    tmp, roads, landuse = files
    out = tmp / "map.gpkg"
    assert run("build", str(roads), str(landuse), "--out", str(out)).exit_code == 0
    before = out.read_bytes()
    bad = tmp / "landuse_bad.geojson"
    landuse_gdf(("0701", "zz")).to_file(bad)
    expect_bad(run("build", str(roads), f"landuse={bad}", "--out", str(out)), "zz")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp.glob("*.gpkg")) == ["map.gpkg"]  # no temp file left behind


def test_info_on_non_map_is_bad_input(tmp_path):
    plain = tmp_path / "plain.gpkg"
    roads_gdf().to_file(plain, layer="roads")
    expect_bad(run("info", str(plain)), "plain.gpkg", "not a one map")
