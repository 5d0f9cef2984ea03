"""Import → build → check-route on a real street network (Monaco), through the CLI.

Rue Terrazzani (way 4227198) is tagged ``sidewalk=both``: a short route along the middle of its
left sidewalk needs only a filing; a route straight across its carriageway occupies the motor
lane and needs a road-excavation permit.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from onemap.cli import app
from onemap.geo.mapfile import read_map

ROAD = "osm-w4227198"
runner = CliRunner()


def cli(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def monaco(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("monaco")
    layers, out = tmp / "monaco-layers.gpkg", tmp / "monaco.gpkg"
    cli("import-osm", str(shared_data / "osm" / "monaco.osm.pbf"), "--out", str(layers))
    report = cli("build", str(layers), "--out", str(out))
    assert report["crs_metric"] == "EPSG:32632"
    return out


def _route_file(tmp_path, line_metric, crs, name):
    path = tmp_path / f"{name}.geojson"
    gpd.GeoSeries([line_metric], crs=crs).to_crs(4326).to_file(path)
    return path


def _road(map_path):
    m = read_map(map_path)
    roads = m.metric("roads")
    road = roads[roads["road_id"] == ROAD].iloc[0]
    assert "sidewalk_left=tagged" in road["xs_source"]
    return m, road


def test_route_along_tagged_sidewalk_needs_only_filing(monaco, tmp_path):
    m, road = _road(monaco)
    # Middle of the left sidewalk: half the carriageway, any bike lane, half the sidewalk.
    offset = road["motor_width_m"] / 2 + road["bike_left_m"] + road["sidewalk_left_m"] / 2
    centre = road.geometry
    mid = centre.length / 2
    piece = shapely.ops.substring(centre, mid - 15, mid + 15)
    along = shapely.offset_curve(piece, offset)
    verdict = cli(
        "check-route", str(monaco), str(_route_file(tmp_path, along, m.crs_metric, "along"))
    )
    assert verdict["eligible"] is True, verdict
    assert verdict["reasons"] == []
    assert {s["corridor"] for s in verdict["segments"]} == {"sidewalk"}
    assert abs(verdict["length_m"] - along.length) < 0.5


def test_route_across_the_carriageway_is_not_eligible(monaco, tmp_path):
    m, road = _road(monaco)
    centre = road.geometry
    p = centre.interpolate(centre.length / 2)
    q = centre.interpolate(centre.length / 2 + 1)
    dx, dy = (q.x - p.x), (q.y - p.y)
    reach = road["motor_width_m"] / 2 + road["sidewalk_left_m"] / 2
    across = shapely.LineString(
        [(p.x - dy * reach, p.y + dx * reach), (p.x + dy * reach, p.y - dx * reach)]
    )
    verdict = cli(
        "check-route", str(monaco), str(_route_file(tmp_path, across, m.crs_metric, "across"))
    )
    assert verdict["eligible"] is False
    assert "OCCUPIES_MOTOR_LANE" in {r["code"] for r in verdict["reasons"]}
    assert "road_excavation" in verdict["permits"]
