"""Every tag combination the OSM importer claims, on the hand-made ``all_tags.osm``.

Expected widths and sources are written by hand from the OSM wiki and the class table
(residential → branch: sidewalk 3.0, motor 7.0; ``[osm]`` lane 3.5 m, bike lane 2.5 m) and the
OSM defaults (``[osm_defaults]``: a silent side has no bike lane and no green belt; a default
sidewalk on arterial/secondary/branch classes only, never on motorways; a one-way road without
lanes keeps the class carriageway; a foot way of its own 2.0 m, a cycle track 2.5 m, a mapped
sidewalk 2.0 m). A separately mapped sidewalk or cycle track matched to its road stays a strip
of its own and the road's side carries none (``mapped_way``). Sources in strip order
sidewalk_left, sidewalk_right, bike_left, bike_right, motor_width, green_left, green_right:
T tagged, M mapped_way, D derived, F default.
"""

from __future__ import annotations

import bz2
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onemap.cli import app
from onemap.geo.importers.osm import load_table, osm_layers
from onemap.geo.importers.osm_tags import STRIPS
from onemap.geo.layers import landuse_info, validate_layer

FIXTURE = Path(__file__).with_name("all_tags.osm")
SRC = {"T": "tagged", "M": "mapped_way", "D": "derived", "F": "default"}

# way id: (sidewalk L, R, bike L, R, motor, green L, R, sources)
EXPECTED = {
    101: (3, 3, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk=both
    102: (0, 0, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk=no
    103: (0, 0, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk=none
    104: (3, 0, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk=left
    105: (0, 3, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk=right
    106: (3, 3, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk=yes read as both
    107: (0, 0, 0, 0, 7, 0, 0, "MMFFFFF"),  # separate + matched footways: the ways are the strips
    108: (0, 0, 0, 0, 7, 0, 0, "FFFFFFF"),  # separate, nothing to match: nothing invented
    109: (0, 3, 0, 0, 7, 0, 0, "MFFFFFF"),  # untagged road, footway=sidewalk on its left
    110: (2.2, 0, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk:left=yes + :left:width, :right=no
    111: (1.8, 1.8, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk:both=yes + :both:width
    112: (0, 3, 0, 0, 7, 0, 0, "MTFFFFF"),  # sidewalk:left=separate (matched), :right=yes
    113: (3, 0, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk=both, sidewalk:right=no wins
    114: (0, 0, 0, 0, 7, 0, 0, "TTFFFFF"),  # sidewalk=no beats a footway beside it
    115: (3, 3, 2.5, 2.5, 7, 0, 0, "FFTTFFF"),  # cycleway=lane on a two-way road
    116: (3, 3, 0, 2.5, 7, 0, 0, "FFTTDFF"),  # cycleway=track, oneway: right only
    117: (3, 3, 2.5, 0, 7, 0, 0, "FFTTDFF"),  # cycleway=lane, oneway=-1: left
    118: (3, 3, 0, 0, 7, 0, 0, "FFTTDFF"),  # cycleway=opposite: no lane
    119: (3, 3, 2.5, 0, 7, 0, 0, "FFTTDFF"),  # cycleway=opposite_lane: contraflow left
    120: (3, 3, 1.6, 0, 7, 0, 0, "FFTTDFF"),  # opposite_track + cycleway:width
    121: (3, 3, 2.5, 2.0, 7, 0, 0, "FFTTFFF"),  # cycleway:left=lane, :right=track + width
    122: (3, 3, 0, 0, 7, 0, 0, "FFTTFFF"),  # cycleway:both=no
    123: (3, 3, 0, 0, 7, 0, 0, "FFTTFFF"),  # cycleway=shared_lane: no strip
    124: (3, 3, 0, 0, 7, 0, 0, "FFFMFFF"),  # cycleway=separate: right matched, left nothing
    125: (3, 3, 0, 0, 7, 0, 0, "FFMFFFF"),  # untagged, highway=cycleway on its left
    126: (3, 3, 0, 2.5, 7, 0, 0, "FFTTFFF"),  # cycleway=no, cycleway:right=lane
    127: (3, 3, 2.5, 2.5, 4, 0, 0, "FFTTDFF"),  # width=9 minus two painted lanes
    128: (3, 3, 0, 0, 7.5, 0, 0, "FFFFTFF"),  # width=7.5
    129: (3, 3, 0, 0, 8, 0, 0, "FFFFTFF"),  # width=8 m beats lanes=2
    130: (3, 3, 0, 0, 10.5, 0, 0, "FFFFDFF"),  # lanes=3 × 3.5 m
    131: (3, 3, 0, 0, 10.5, 0, 0, "FFFFDFF"),  # lanes:forward=2 + lanes:backward=1
    132: (3, 3, 0, 0, 7, 0, 0, "FFFFDFF"),  # oneway: the class carriageway (parking unknown)
    133: (4, 4, 0, 0, 15, 0, 0, "FFFFDFF"),  # primary (arterial) oneway: no bike lane, no green
    134: (0, 0, 0, 0, 24, 0, 0, "FFFFDFF"),  # motorway: no walkable strip at all
    135: (3, 3, 0, 0, 7, 0, 0, "FFFFDFF"),  # junction=roundabout: implied oneway
    136: (3.5, 3.5, 0, 0, 11, 0, 0, "FFFFFFF"),  # tertiary, no tags: sidewalks only
    137: (3, 3, 0, 0, 7, 0, 0, "FFFFFFF"),  # lanes=2;3, width=narrow: not guessed
    138: (1.5, 1.5, 0, 0, 0, 0, 0, "TTTTTTT"),  # footway width=3: one 3 m strip
    139: (1, 1, 0, 0, 0, 0, 0, "MMTTTTT"),  # path: one 2 m strip
    140: (1, 1, 0, 0, 0, 0, 0, "MMTTTTT"),  # steps
    141: (1, 1, 0, 0, 0, 0, 0, "MMTTTTT"),  # pedestrian
    142: (0, 0, 1.25, 1.25, 0, 0, 0, "TTMMTTT"),  # cycleway alone: one 2.5 m cycle track
    143: (2, 2, 0, 0, 0, 0, 0, "TTTTTTT"),  # cycleway foot=designated width=4: a shared path
    144: (1, 1, 0, 0, 0, 0, 0, "MMTTTTT"),  # footway=crossing: a crosswalk line
    146: (3, 3, 0, 0, 7, 0, 0, "FFFFFFF"),  # sidewalk=bogus: reported, class default
    1001: (1, 1, 0, 0, 0, 0, 0, "TTTTTTT"),  # sidewalk beside 107 (width=2)
    1002: (1, 1, 0, 0, 0, 0, 0, "MMTTTTT"),  # sidewalk beside 107
    1003: (1, 1, 0, 0, 0, 0, 0, "MMTTTTT"),  # sidewalk beside 109
    1004: (1.2, 1.2, 0, 0, 0, 0, 0, "TTTTTTT"),  # sidewalk beside 112 (width=2.4)
    1005: (1, 1, 0, 0, 0, 0, 0, "MMTTTTT"),  # footway beside 114 (sidewalk=no): own
    1006: (0, 0, 0.9, 0.9, 0, 0, 0, "TTTTTTT"),  # cycle track beside 124 (width=1.8)
    1007: (0, 0, 1.25, 1.25, 0, 0, 0, "TTMMTTT"),  # cycle track beside 125
}
CLASSES = {133: "arterial", 134: "expressway", 136: "secondary", 101: "branch", 138: "path"}
KINDS = {1001: "sidewalk", 138: "footway", 140: "steps", 142: "cycleway", 143: "path"}


@pytest.fixture(scope="module")
def imported():
    return osm_layers(FIXTURE)


@pytest.mark.parametrize("way", sorted(EXPECTED))
def test_widths_and_sources(imported, way):
    roads = imported[0]["roads"].set_index("road_id")
    row = roads.loc[f"osm-w{way}"]
    *widths, codes = EXPECTED[way]
    columns = [f"{s}_m" for s in STRIPS]
    assert [row[c] for c in columns] == pytest.approx(widths), dict(
        zip(columns, widths, strict=True)
    )
    expected = ";".join(f"{s}={SRC[c]}" for s, c in zip(STRIPS, codes, strict=True))
    assert row["xs_source"] == expected


def test_road_classes_and_foreign_values(imported):
    layers, report = imported
    roads = layers["roads"].set_index("road_id")
    for way, cls in CLASSES.items():
        assert roads.loc[f"osm-w{way}", "road_class"] == cls
    assert roads.loc["osm-w134", "highway"] == "motorway"
    assert roads.loc["osm-w136", "name"] == "默认路"
    ids = set(roads.index)
    assert not ids & {f"osm-w{w}" for w in (145, 710)}
    assert ids == {f"osm-w{w}" for w in EXPECTED}
    for way, kind in KINDS.items():
        assert roads.loc[f"osm-w{way}", "strip_kind"] == kind
    assert roads.loc["osm-w140", "structure"] == "steps"
    assert report.unmapped["sidewalk=bogus"] == 1
    assert report.skipped["highway=proposed is not a road corridor"] == 1
    assert report.skipped["highway drawn as an area (area=yes)"] == 1
    assert report.matching["footway_sidewalk_matched"] == 4
    assert report.matching["footway_sidewalk_own_corridor"] == 1
    assert report.matching["cycleway_matched"] == 2
    assert report.matching["separate_sides_unmatched"] == 3  # 108 both sides, 124 left


def test_landuse_mapping(imported):
    layers, report = imported
    lu = layers["landuse"].set_index("parcel_id")
    assert lu["landuse_code"].to_dict() == {
        "osm-w701": "0701",
        "osm-w704": "0804",
        "osm-w705": "0804",  # amenity=school beats building=yes
        "osm-w706": "1401",
        "osm-w708": "1303",
        "osm-w709": "0806",
        "osm-r601": "1001",
    }
    assert lu.loc["osm-w705", "osm_tag"] == "amenity=school"
    assert lu.loc["osm-r601"].geometry.interiors  # the inner ring is a hole
    assert report.unmapped["building=yes"] == 1
    assert report.unmapped["landuse=bogus"] == 1
    assert report.skipped["building inside a mapped land-use parcel (not a parcel of its own)"] == 1


def test_every_mapped_code_is_a_landuse_code():
    table = load_table()["landuse"]
    codes = [c for key in table["keys"] for c in table[key].values()]
    assert codes and all(landuse_info(c) is not None for c in codes)


def test_power(imported):
    layers, report = imported
    subs = layers["substations"].set_index("substation_id")
    assert subs["voltage_kv"].to_dict() == pytest.approx(
        {"osm-n9001": 110.0, "osm-n9005": math.nan, "osm-w708": 35.0}, nan_ok=True
    )
    assert subs["capacity_mva"].isna().all()  # no rating tag: unknown, never invented
    assert subs.loc["osm-w708"].geometry.geom_type == "Polygon"
    assets = layers["assets"].set_index("asset_id")
    assert assets["kind"].to_dict() == {
        "osm-n9002": "transformer",  # substation=minor_distribution
        "osm-n9003": "transformer",  # 10000;400
        "osm-n9004": "switching_station",  # 20000, no LV side
        "osm-n9006": "transformer",
        "osm-n9007": "transformer",
        "osm-n9008": "transformer",
        "osm-n9010": "pole",
        "osm-n9011": "ring_main_unit",
        "osm-n9012": "branch_box",
        "osm-n9013": "branch_box",
        "osm-n9014": "branch_box",
    }
    cap = assets["capacity_kva"]
    assert cap["osm-n9006"] == 630 and cap["osm-n9007"] == pytest.approx(400)
    assert math.isnan(cap["osm-n9008"]) and math.isnan(cap["osm-n9003"])
    assert assets.loc["osm-n9006", "voltage_kv"] == 10
    assert (assets["feeder_id"] == "").all()
    feeders = layers["feeders"].set_index("feeder_id")
    assert feeders["voltage_kv"].to_dict() == pytest.approx(
        {"osm-w802": 10.0, "osm-w803": 20.0, "osm-w804": math.nan}, nan_ok=True
    )
    assert (feeders["substation_id"] == "").all()
    assert report.skipped["power=line at 110 kV is not a 10/20 kV feeder"] == 1
    assert "power=line at 0.4 kV is not a 10/20 kV feeder" not in report.skipped
    assert layers["lines"]["voltage_kv"].tolist() == [0.4]  # the LV line, in the lines layer
    assert report.skipped["power=transformer at 110 kV belongs to a HV substation"] == 1
    assert report.skipped["power=tower is not a distribution asset"] == 1


def test_every_layer_validates(imported):
    for name, gdf in imported[0].items():
        clean, rep = validate_layer(name, gdf)
        assert len(clean) == len(gdf) and rep.repaired_geometries == 0


def test_cli_bz2_json_bbox_then_build(tmp_path):
    src = tmp_path / "all_tags.osm.bz2"
    src.write_bytes(bz2.compress(FIXTURE.read_bytes()))
    out = tmp_path / "layers.gpkg"
    runner = CliRunner()
    # the first ten roads lie within 950 m north of the origin (8.0 E, 45.0 N)
    res = runner.invoke(
        app,
        [
            "import-osm",
            str(src),
            "--out",
            str(out),
            "--bbox",
            "7.99,44.9995,8.002,45.0085",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["counts"]["roads"] == 13  # 101…110 and the sidewalks beside 107 (2), 109
    assert payload["skipped"]["outside --bbox"] > 0
    built = tmp_path / "map.gpkg"
    res = runner.invoke(app, ["build", str(out), "--out", str(built), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["layers"]["roads"] == 13


def test_cli_bad_input_exit_2(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "x.osm"
    bad.write_text("<osm><node id='1' lat='x'/></osm")
    for args in (
        ["import-osm", str(tmp_path / "missing.osm.pbf"), "--out", str(tmp_path / "o.gpkg")],
        ["import-osm", str(FIXTURE), "--out", str(tmp_path / "o.gpkg"), "--bbox", "1,2,3"],
        ["import-osm", str(tmp_path / "roads.geojson"), "--out", str(tmp_path / "o.gpkg")],
        ["import-osm", str(bad), "--out", str(tmp_path / "o.gpkg")],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
    assert not (tmp_path / "o.gpkg").exists()
