"""Xinwu (EULUC-China land use + OSM road centre lines) builds into a one map."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from onemap.cli import app
from onemap.geo.layers import DATA_DIR, cross_section_table
from onemap.geo.mapfile import read_map


def test_xinwu_builds_with_the_euluc_table(shared_data, tmp_path):
    d = shared_data / "jiangsu-xinwu"
    out = tmp_path / "xinwu.gpkg"
    res = CliRunner().invoke(
        app,
        [
            "build",
            f"landuse={d / 'xinwu_land_use.gpkg'}",
            f"roads={d / 'xinwu_road_centerlines.gpkg'}",
            "--landuse-mapping",
            str(DATA_DIR / "mappings" / "euluc.toml"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["layers"]["landuse"] == 2033 and payload["layers"]["roads"] == 5835
    m = read_map(out)
    assert m.crs_metric == "EPSG:4549"  # CGCS2000 GK CM 120E covers Wuxi
    assert m["landuse"]["landuse_code"].isin(["0701", "0902", "0901", "1001"]).any()
    # road widths came from the class table: a primary road is an arterial section
    arterial = cross_section_table()["classes"]["arterial"]
    roads = m["roads"]
    primary = roads[roads["road_class"] == "arterial"]
    assert len(primary) and (primary["motor_width_m"] == arterial["motor_width_m"]).all()
