"""`onemap plan` / `onemap diagnose` end to end: JSON on stdout, the plan file, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from onemap.cli import app
from onemap.geo.mapfile import write_map
from planning.test_plan import _points_file, site_map

runner = CliRunner()


def _onemap(*args: str) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess: stdout must hold exactly one JSON object (no solver banner)."""
    return subprocess.run(
        [sys.executable, "-m", "onemap", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def small_path(tmp_path_factory):
    return write_map(site_map(), tmp_path_factory.mktemp("plan") / "small.gpkg")


def test_demo_plan_two_substations_lowers_class_d(demo_map_path, tmp_path):
    out = tmp_path / "plan.gpkg"
    proc = _onemap(
        "plan", str(demo_map_path), "--new-substations", "2", "--out", str(out), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)  # the whole stdout is one JSON object
    assert len(payload["sites"]) == 2
    for site in payload["sites"]:
        assert {"site_id", "lon", "lat", "served_kw"} <= set(site)
    assert payload["before"]["D"] > 0
    assert payload["after"]["D"] < payload["before"]["D"]
    assert sum(payload["before"].values()) == sum(payload["after"].values())
    assert out.exists()
    import pyogrio

    layers = {str(r[0]) for r in pyogrio.list_layers(out)}
    assert {"plan_sites", "plan_districts", "diagnostics", "landuse"} <= layers


def test_plan_table_output_and_several_k(small_path):
    res = runner.invoke(app, ["plan", str(small_path), "-k", "1,2", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert [p["k"] for p in payload["plans"]] == [1, 2]
    assert payload["plans"][0]["sites"][0]["site_id"] == "M"
    res = runner.invoke(app, ["plan", str(small_path), "-k", "1"])
    assert res.exit_code == 0 and "M" in res.output


@pytest.mark.parametrize(
    ("k", "needle"), [("0", "≥ 1"), ("-1", "≥ 1"), ("9", "candidate"), ("two", "number")]
)
def test_bad_k_exits_2(small_path, k, needle):
    res = runner.invoke(app, ["plan", str(small_path), "--new-substations", k, "--lang", "en"])
    assert res.exit_code == 2
    assert needle in res.output


def test_candidates_outside_the_map_exit_2(small_path, tmp_path):
    path = _points_file(tmp_path, [(90_000, 0)])
    res = runner.invoke(
        app, ["plan", str(small_path), "-k", "1", "--candidates", str(path), "--lang", "en"]
    )
    assert res.exit_code == 2
    assert "outside the map" in res.output and str(path) in res.output


def test_missing_candidate_file_exit_2(small_path, tmp_path):
    args = ["plan", str(small_path), "-k", "1", "--candidates", str(tmp_path / "x.geojson")]
    res = runner.invoke(app, [*args, "--lang", "en"])
    assert res.exit_code == 2 and "not found" in res.output


def test_no_candidates_exit_2(tmp_path):
    m = site_map()
    lu = m["landuse"]
    m.replace_layer("landuse", lu[lu["landuse_code"] != "1303"].reset_index(drop=True))
    path = write_map(m, tmp_path / "nocand.gpkg")
    res = runner.invoke(app, ["plan", str(path), "-k", "1"])
    assert res.exit_code == 2 and "没有候选站址" in res.output  # Chinese by default
    res = runner.invoke(app, ["plan", str(path), "-k", "1", "--lang", "en"])
    assert res.exit_code == 2 and "no candidate" in res.output


def test_diagnose_json(small_path, tmp_path):
    res = runner.invoke(
        app, ["diagnose", str(small_path), "--json", "--out", str(tmp_path / "d.gpkg")]
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert set(payload["counts"]) == {"supply_radius", "heavy_loading", "outage_over_target"}
    assert (tmp_path / "d.gpkg").exists()


def test_plan_tables_use_one_language_per_run(demo_map_path, tmp_path):
    """Issue 16, item 11: the CLI tables speak the run's language (default Chinese)."""
    import shutil

    from typer.testing import CliRunner

    from onemap.cli import app

    shutil.copy(demo_map_path, tmp_path / "demo.gpkg")
    runner = CliRunner()
    zh = runner.invoke(app, ["plan", str(tmp_path / "demo.gpkg"), "-k", "1"])
    en = runner.invoke(app, ["plan", str(tmp_path / "demo.gpkg"), "-k", "1", "--lang", "en"])
    assert zh.exit_code == 0 and en.exit_code == 0
    assert "规划前" in zh.output and "before" not in zh.output
    assert "before" in en.output and "规划前" not in en.output
    bad = runner.invoke(app, ["plan", str(tmp_path / "demo.gpkg"), "-k", "1", "--lang", "fr"])
    assert bad.exit_code == 2
