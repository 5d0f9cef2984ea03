"""Every category end to end through the CLI on the demo map (preview and readiness)."""

from __future__ import annotations

import json

import pyogrio
import pytest
from typer.testing import CliRunner

from onemap.cli import app
from onemap.rules import load_rules

RULES = load_rules()
KW = {"lv": 60.0, "hv": 1500.0, "ehv": 12000.0}


def _kw(category: str) -> float:
    from onemap.connection.groups import connection_group

    group = connection_group(RULES, category)
    return KW["hv" if group == "dual" else group]


@pytest.fixture
def cached_read(monkeypatch, demo_map, demo_map_path):
    """Serve the session's demo map object, so the corridor graph is built once for all runs."""
    import onemap.geo.mapfile as mapfile

    real = mapfile.read_map
    monkeypatch.setattr(
        mapfile, "read_map", lambda p: demo_map if str(p) == str(demo_map_path) else real(p)
    )


def _site(demo_map):
    # the representative point of the first parcel: a real site
    c = demo_map["landuse"].geometry.iloc[0].representative_point()
    return f"{c.x:.7f},{c.y:.7f}"


@pytest.mark.parametrize("category", list(RULES.categories))
def test_preview_every_category(cached_read, demo_map, demo_map_path, category):
    r = CliRunner().invoke(
        app,
        [
            "preview",
            str(demo_map_path),
            "--at",
            _site(demo_map),
            "--kw",
            str(_kw(category)),
            "--category",
            category,
            "--date",
            "2025-09-30",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["category"] == category and d["readiness"] in "ABCD"
    assert d["voltage_kv"] == RULES.categories[category].voltage_kv
    assert d["requested_kw"] == _kw(category)
    assert d["parcel_id"] == demo_map["landuse"]["parcel_id"].iloc[0]
    assert d["payer"] in ("government", "grid_company")
    steps = RULES.steps[RULES.categories[category].steps]
    assert d["timeline"]["steps"] == steps
    if d["readiness"] != "D":
        assert d["connection_point"]["distance_m"] == pytest.approx(d["route"]["length_m"], abs=0.5)
        assert d["route"]["geometry"]["type"] == "LineString"
        assert "eligible" in d["route"]["filing"]
    if RULES.categories[category].sources > 1:
        assert "second_connection_point" in d


@pytest.mark.parametrize("category", list(RULES.categories))
def test_readiness_every_category(cached_read, demo_map_path, category, tmp_path):
    out = tmp_path / "r.gpkg"
    r = CliRunner().invoke(
        app,
        [
            "readiness",
            str(demo_map_path),
            "--kw",
            str(_kw(category)),
            "--category",
            category,
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["parcels"] == 210 and sum(d["counts"].values()) == 210
    assert set(d["counts"]) == set("ABCD")
    layers = {row[0] for row in pyogrio.list_layers(out)}
    assert {"readiness", "readiness_zones", "readiness_h3", "readiness_districts"} <= layers


def test_readiness_own_forecast_human_output(cached_read, demo_map_path):
    r = CliRunner().invoke(app, ["readiness", str(demo_map_path)])
    assert r.exit_code == 0, r.output
    assert "passes" in r.output


def test_preview_human_output_english(cached_read, demo_map, demo_map_path):
    r = CliRunner().invoke(
        app,
        [
            "preview",
            str(demo_map_path),
            "--at",
            _site(demo_map),
            "--kw",
            "50",
            "--category",
            "lv_residential",
            "--lang",
            "en",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "readiness" in r.output and "documents" in r.output
