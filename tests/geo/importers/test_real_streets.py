"""Real streets I (issue 13): the corridor model follows the street as mapped, on real extracts.

Figures per extract (printed; ``python -m bench.real_streets`` prints the same table): the share
of the length of mapped ``footway=sidewalk`` ways lying on sidewalk strips (≥ 90 %) and on the
carriageway (≤ 2 %). Before this issue: Helsinki 53.6 % / 3.4 %, Monaco 43.2 % / 8.1 %, i5
exit ramp 39.6 % / 11.6 %.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from bench.real_streets import extracts, onemap_of, shares
from onemap.geo.importers.osm import osm_layers
from onemap.geo.importers.osm_tags import PROVENANCES, STRIPS
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.routing.build import corridor_graph, corridor_model
from onemap.routing.sections import road_pieces

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts"
WITH_SIDEWALKS = [p for p in extracts() if p.name not in ("beijing-haidian.osm",)]
NO_WALK = {"motorway", "motorway_link", "trunk", "trunk_link"}


@pytest.mark.parametrize("path", WITH_SIDEWALKS, ids=lambda p: p.name)
def test_mapped_sidewalks_lie_on_sidewalk_strips(path):
    s = shares(path)
    if not s["ways"]:
        pytest.skip(f"{path.name} maps no footway=sidewalk way")  # data, not a failure
    print(
        f"{path.name}: {int(s['ways'])} sidewalk ways, {s['length_m'] / 1000:.2f} km, "
        f"on sidewalk strips {s['walkable']:.1%}, on carriageway {s['carriageway']:.1%}"
    )
    assert s["walkable"] >= 0.90
    assert s["carriageway"] <= 0.02


def _roads(path):
    layers, report = osm_layers(path)
    roads, _ = validate_layer("roads", layers["roads"], source=str(path))
    return roads, report


@pytest.mark.parametrize("name", ["i5_exit_ramp.osm", "arizona_highways.osm"])
def test_no_walkable_strip_on_motorways_without_a_tagged_sidewalk(shared_data, name):
    path = shared_data / "osm" / "streets" / name
    roads, _ = _roads(path)
    fast = roads[roads["highway"].isin(NO_WALK)]
    assert len(fast) > 0
    untagged = ~fast["xs_source"].str.contains("sidewalk_left=tagged|sidewalk_right=tagged")
    walk = ["sidewalk_left_m", "sidewalk_right_m", "bike_left_m", "bike_right_m"]
    assert (fast.loc[untagged, walk] == 0).all().all()
    m = _map(roads)
    model, _ = corridor_model(m)
    polys = model.polygons
    on_fast = polys["road_id"].isin(set(fast.loc[untagged, "road_id"]))
    assert not polys.loc[on_fast, "corridor"].isin(["sidewalk", "bike_lane", "green_belt"]).any()


def _map(roads) -> OneMap:
    from onemap.geo.crs import metric_crs_for_bounds

    return OneMap(layers={"roads": roads}, crs_metric=metric_crs_for_bounds(roads.total_bounds))


def test_no_junction_between_a_bridge_and_the_road_below(shared_data):
    """Arizona highways: where a bridge crosses a road of another level, neither is split."""
    path = shared_data / "osm" / "streets" / "arizona_highways.osm"
    roads, _ = _roads(path)
    m = _map(roads)
    metric = m.metric("roads")
    bridges = metric[metric["structure"] == "bridge"]
    assert len(bridges) >= 5 and (bridges["level"] != 0).all()
    ground = metric[metric["level"] == 0]
    bi, gi = shapely.STRtree(ground.geometry.values).query(
        bridges.geometry.values, predicate="crosses"
    )
    assert len(bi) > 0  # bridges over roads exist in the extract
    crossings = shapely.intersection(bridges.geometry.values[bi], ground.geometry.values[gi])
    points = shapely.get_parts(crossings)
    points = points[shapely.get_type_id(points) == 0]
    pieces = road_pieces(metric)
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(pieces.geometry.values, 0)),
            shapely.get_coordinates(shapely.get_point(pieces.geometry.values, -1)),
        ]
    )
    tree = shapely.STRtree(shapely.points(ends))
    hits = tree.query(points, predicate="dwithin", distance=0.01)
    assert hits.size == 0, "a piece ends where a bridge crosses a road of another level"
    # the graph joins no node of the bridge to the road below at those points
    g = corridor_graph(m)
    near = shapely.STRtree(shapely.points(g.xy)).query(points, predicate="dwithin", distance=0.01)
    assert near.size == 0


def test_strips_on_bridges_are_structures(shared_data):
    path = shared_data / "osm" / "streets" / "arizona_highways.osm"
    roads, _ = _roads(path)
    m = _map(roads)
    model, _ = corridor_model(m)
    polys = model.polygons
    on_bridge = polys["structure"] == "bridge"
    assert on_bridge.any() and (polys.loc[on_bridge, "corridor"] == "structure").all()


def test_import_report_counts_strips_by_provenance_on_the_fixture():
    """The counts of the report equal the hand-written expectations of the fixture test."""
    from geo.importers.test_osm_fixture import EXPECTED, FIXTURE, SRC

    _, report = osm_layers(FIXTURE)
    for k, strip in enumerate(STRIPS):
        want = dict.fromkeys(PROVENANCES, 0)
        for row in EXPECTED.values():
            if row[k] > 0:
                want[SRC[row[-1][k]]] += 1
        assert report.fills[strip] == want, strip


def test_render_junction_corridors_to_png(shared_data):
    """Corridor polygons of a few real junctions, coloured by strip kind, for a person to look
    at (test-artifacts/real-streets-*.png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {
        "sidewalk": "#4daf4a",
        "bike_lane": "#377eb8",
        "motor_lane": "#999999",
        "green_belt": "#a6d96a",
        "green_space": "#1b7837",
        "structure": "#e41a1c",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    for name in ("seattle_slip_lane.osm", "taipei.osm", "i5_exit_ramp.osm"):
        m, sidewalks = onemap_of(shared_data / "osm" / "streets" / name)
        model, _ = corridor_model(m)
        polys = model.polygons
        fig, ax = plt.subplots(figsize=(9, 9))
        for kind, colour in colours.items():
            sel = polys[polys["corridor"] == kind]
            if len(sel):
                sel.plot(ax=ax, color=colour, linewidth=0)
        if len(sidewalks):
            sidewalks.plot(ax=ax, color="black", linewidth=0.6)
        cx, cy = np.median(shapely.get_coordinates(polys.geometry.values), axis=0)
        ax.set_xlim(cx - 150, cx + 150)
        ax.set_ylim(cy - 150, cy + 150)
        ax.set_title(f"{name}: strips (grey carriageway, green sidewalk) and mapped sidewalks")
        out = ARTIFACTS / f"real-streets-{Path(name).stem}.png"
        fig.savefig(out, dpi=80)
        plt.close(fig)
        assert out.stat().st_size > 10_000


def test_the_reports_name_the_defaults_and_warn_of_far_apart_layers(tmp_path):
    """The import report names the defaults table; a build of layers from two places (a
    street network and a grid 800 km apart) warns."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from geo.importers.test_osm_fixture import FIXTURE
    from onemap.geo.build import build_map

    _, report = osm_layers(FIXTURE)
    assert any("[osm_defaults]" in n for n in report.notes)
    roads = gpd.GeoDataFrame(
        {"road_id": ["R1"], "road_class": ["branch"]},
        geometry=[LineString([(119.20, 34.60), (119.21, 34.60)])],
        crs="EPSG:4326",
    )
    subs = gpd.GeoDataFrame(
        {
            "substation_id": ["S1"],
            "voltage_kv": [110.0],
            "capacity_mva": [50.0],
            "peak_load_mva": [20.0],
        },
        geometry=[Point(113.0, 30.0)],  # ~800 km away
        crs="EPSG:4326",
    )
    roads.to_file(tmp_path / "roads.geojson")
    subs.to_file(tmp_path / "substations.geojson")
    _, build = build_map(
        [str(tmp_path / "roads.geojson"), str(tmp_path / "substations.geojson")],
        tmp_path / "map.gpkg",
    )
    assert any("km apart" in w and "substations" in w for w in build.warnings)
    assert build.strip_provenance.get("default", 0) > 0  # planning data: class defaults


def test_info_reports_the_graphs_components(tmp_path):
    import json
    import shutil

    from typer.testing import CliRunner

    from onemap.cli import app

    shutil.copy(REPO / "data" / "demo.gpkg", tmp_path / "demo.gpkg")
    res = CliRunner().invoke(app, ["info", str(tmp_path / "demo.gpkg"), "--json"])
    graph = json.loads(res.stdout)["graph"]
    assert graph["components"] >= 1 and 0 < graph["largest_share"] <= 1
    assert graph["edges"] > graph["nodes"] > 1000 and graph["mean_edge_m"] > 0
