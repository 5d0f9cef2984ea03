"""The OSM importer on the real extracts in ../shared/data/osm (Monaco, Helsinki, Haidian)."""

from __future__ import annotations

import pytest

from onemap.geo.importers.osm import import_osm, osm_layers, read_osm
from onemap.geo.importers.osm_tags import FOOT_CYCLE, PROVENANCES
from onemap.geo.mapfile import read_map

EXTRACTS = ("monaco.osm.pbf", "helsinki.osm.pbf", "beijing-haidian.osm")


@pytest.fixture(scope="module")
def monaco(shared_data):
    path = shared_data / "osm" / "monaco.osm.pbf"
    layers, report = osm_layers(path)
    ways = read_osm(path).ways.set_index("osm")
    return layers["roads"].set_index("road_id"), ways, report


@pytest.mark.parametrize("name", EXTRACTS)
def test_each_extract_imports_and_builds(shared_data, tmp_path, name):
    from onemap.geo.build import build_map

    report = import_osm(shared_data / "osm" / name, tmp_path / "layers.gpkg")
    assert report.counts["roads"] > 500 and report.counts["landuse"] > 100
    onemap, _ = build_map([str(tmp_path / "layers.gpkg")], tmp_path / "map.gpkg")
    assert read_map(tmp_path / "map.gpkg").counts()["roads"] == report.counts["roads"]
    assert onemap.crs_metric.startswith("EPSG:")
    # every strip of every road says where it came from (issue 13: provenance on every strip)
    roads = read_map(tmp_path / "map.gpkg")["roads"]
    parsed = roads["xs_source"].str.findall(r"=([a-z_]+)")
    assert (parsed.str.len() == 7).all()
    assert set(parsed.explode()) <= set(PROVENANCES)


def _ids(ways, **tags):
    """Road ids of the motor roads (not foot/cycle ways) carrying all ``tags``."""
    sel = ways[~ways["highway"].isin(list(FOOT_CYCLE))]
    for k, v in tags.items():
        sel = sel[sel[k] == v]
    return "osm-" + sel.index


def test_monaco_sidewalk_both_and_no(monaco):
    roads, ways, _ = monaco
    both = roads.loc[_ids(ways, sidewalk="both")]
    assert len(both) == 64  # and one footway tagged sidewalk=both
    assert (both["sidewalk_left_m"] > 0).all() and (both["sidewalk_right_m"] > 0).all()
    assert both["xs_source"].str.contains("sidewalk_left=tagged;sidewalk_right=tagged").all()
    none = roads.loc[_ids(ways, sidewalk="no")]
    assert len(none) == 17
    assert (none[["sidewalk_left_m", "sidewalk_right_m"]] == 0).all().all()
    left = roads.loc[_ids(ways, sidewalk="left")]
    assert (left["sidewalk_left_m"] > 0).all() and (left["sidewalk_right_m"] == 0).all()


def test_monaco_separate_sidewalks_come_from_matched_footways(monaco):
    roads, ways, report = monaco
    # Avenue de la Porte Neuve (w503813534, sidewalk=separate): footways on both sides; the
    # road's sides hand over to them (issue 13: the strip follows the mapped way)
    row = roads.loc["osm-w503813534"]
    assert "sidewalk_left=mapped_way;sidewalk_right=mapped_way" in row["xs_source"]
    assert row["sidewalk_left_m"] == 0 and row["sidewalk_right_m"] == 0
    # Avenue du Port (w158215185): the footway w503475666 lies on its right
    assert "sidewalk_right=mapped_way" in roads.loc["osm-w158215185", "xs_source"]
    # matched footway=sidewalk ways stay strips of their own, along their real geometry
    assert roads.loc["osm-w503475666", "strip_kind"] == "sidewalk"
    assert ways.loc["w503475666", "footway"] == "sidewalk"
    assert report.matching["footway_sidewalk_matched"] >= 150
    # mapped crosswalks are crossing lines of the graph (they occupy the carriageway)
    crossings = "osm-" + ways.index[ways["footway"] == "crossing"]
    assert len(crossings) > 200
    assert (roads.loc[roads.index.isin(crossings), "strip_kind"] == "crossing").all()


def test_helsinki_cycleways_and_power(shared_data):
    layers, report = osm_layers(shared_data / "osm" / "helsinki.osm.pbf")
    assert report.matching["cycleway_matched"] > 30
    assert report.matching["bike_sides_mapped"] > 30
    kinds = layers["assets"].set_index("asset_id")["kind"]
    # power=box and cable_distribution_cabinet are branch boxes; n3359546119 is tagged
    # man_made=street_cabinet + street_cabinet=power: a street cabinet (issue 17)
    assert set(kinds.drop("osm-n3359546119")) == {"branch_box"}
    assert kinds["osm-n3359546119"] == "street_cabinet"
    assert len(layers["substations"]) == 1
    # the 0.6 kV minor line is an LV line of the lines layer (issue 17), not a skipped feeder
    assert "power=minor_line at 0.6 kV is not a 10/20 kV feeder" not in report.skipped
    lines = layers["lines"]
    assert len(lines) == 1 and lines["voltage_kv"].iloc[0] == 0.6
    assert lines["type"].iloc[0] == "minor_line" and lines["length_m"].iloc[0] > 0


def test_bbox_keeps_only_features_inside(shared_data):
    # the western half of Monaco
    layers, report = osm_layers(shared_data / "osm" / "monaco.osm.pbf", (7.40, 43.72, 7.42, 43.76))
    full, _ = osm_layers(shared_data / "osm" / "monaco.osm.pbf")
    assert 0 < len(layers["roads"]) < len(full["roads"])
    assert layers["roads"].total_bounds[0] >= 7.40 - 0.01
    assert report.skipped["outside --bbox"] > 0
