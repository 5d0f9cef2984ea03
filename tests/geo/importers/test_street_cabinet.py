"""OSM power street cabinets (issue 17): a kind of their own, on the hand-written fixture
``street_cabinets.osm`` (tags as the OSM wiki gives them)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from onemap.connection.points import connection_points
from onemap.geo.importers.osm import osm_layers
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.rules import load_rules

FIXTURE = Path(__file__).with_name("street_cabinets.osm")


@pytest.fixture(scope="module")
def imported():
    return osm_layers(FIXTURE)


def test_street_cabinets_are_their_own_kind(imported):
    layers, _ = imported
    assets = layers["assets"].set_index("asset_id")
    assert assets["kind"].to_dict() == {
        "osm-n11": "street_cabinet",  # power=street_cabinet
        "osm-n12": "street_cabinet",  # man_made=street_cabinet + street_cabinet=power
        "osm-n14": "branch_box",  # power=cable_distribution_cabinet
    }
    assert assets.loc["osm-n11", "voltage_kv"] == pytest.approx(0.4)
    assert math.isnan(assets.loc["osm-n12", "voltage_kv"])  # no voltage tag: unknown
    assert assets.loc["osm-n12", "name"] == "配电箱 3"
    assert "osm-n13" not in assets.index  # a telecom cabinet


def test_street_cabinets_validate_and_are_not_connection_points(imported):
    layers, _ = imported
    clean = {n: validate_layer(n, g)[0] for n, g in layers.items() if n in ("assets", "roads")}
    assert set(clean["assets"]["kind"]) == {"street_cabinet", "branch_box"}
    rules = load_rules()
    assert "street_cabinet" not in rules.connection.lv_point_kinds
    m = OneMap(layers=clean, crs_metric="EPSG:32632")
    points = connection_points(m, "lv_residential", rules)
    assert "street_cabinet" not in set(points["kind"])
