"""Bad input to ``onemap preview`` / ``onemap readiness``: clear messages and exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from connection.maps import make_map, parcel, road, transformer
from onemap.cli import app
from onemap.geo.mapfile import write_map
from onemap.rules import load_rules

RULES = load_rules()
runner = CliRunner()


@pytest.fixture(scope="module")
def map_path(tmp_path_factory):
    m = make_map(
        roads=[road("R1", (0, 0), (500, 0))],
        landuse=[parcel("P1", 0, 20, 100, 120)],
        assets=[transformer("T1", 50, 12, 400.0, 100.0)],
    )
    return write_map(m, tmp_path_factory.mktemp("cli") / "m.gpkg")


@pytest.fixture(scope="module")
def no_assets_path(tmp_path_factory):
    m = make_map(roads=[road("R1", (0, 0), (500, 0))], landuse=[parcel("P1", 0, 20, 100, 120)])
    return write_map(m, tmp_path_factory.mktemp("cli") / "bare.gpkg")


def _inside(map_path):
    from onemap.geo.mapfile import read_map

    w, s, e, n = read_map(map_path).bounds
    return f"{(w + e) / 2:.6f},{(s + n) / 2:.6f}"


def _run(*args):
    # English messages (ONEMAP_LANG): the checks below match the library's English words;
    # tests/test_messages.py checks that the CLI speaks Chinese by default.
    return runner.invoke(app, [str(a) for a in args], env={"ONEMAP_LANG": "en"})


@pytest.mark.parametrize(
    ("kw", "category", "needle"),
    [
        ("0", "lv_residential", "positive"),
        ("-5", "hv_single", "positive"),
        (str(RULES.connection.lv_max_kw + 0.01), "lv_residential", "low-voltage limit"),
        (str(RULES.connection.lv_max_kw + 1), "lv_non_residential", "low-voltage limit"),
        (str(RULES.connection.lv_max_kw + 1), "lv_small_micro", "low-voltage limit"),
        (str(RULES.categories["hv_single"].max_kw * 10), "hv_single", "not credible"),
        ("100", "lv_nonsense", "unknown category"),
        ("nan", "hv_single", "positive"),
    ],
)
def test_preview_refuses_bad_requests(map_path, kw, category, needle):
    r = _run("preview", map_path, "--at", _inside(map_path), "--kw", kw, "--category", category)
    assert r.exit_code == 2, r.output
    assert needle in r.output


def test_lv_at_the_limit_is_accepted_by_validation():
    from onemap.connection.groups import check_request

    check_request(RULES, RULES.connection.lv_max_kw, "lv_residential")  # no error


def test_preview_point_outside_the_map(map_path):
    r = _run(
        "preview", map_path, "--at", "100.0,20.0", "--kw", "50", "--category", "lv_residential"
    )
    assert r.exit_code == 2 and "outside the map" in r.output


def test_preview_bad_position_and_date(map_path):
    r = _run("preview", map_path, "--at", "abc", "--kw", "50", "--category", "lv_residential")
    assert r.exit_code == 2
    r = _run(
        "preview",
        map_path,
        "--at",
        _inside(map_path),
        "--kw",
        "50",
        "--category",
        "lv_residential",
        "--date",
        "2025-13-01",
    )
    assert r.exit_code == 2 and "date" in r.output


def test_map_without_assets(no_assets_path):
    r = _run(
        "preview",
        no_assets_path,
        "--at",
        _inside(no_assets_path),
        "--kw",
        "50",
        "--category",
        "lv_residential",
    )
    assert r.exit_code == 2 and "assets" in r.output
    r = _run("readiness", no_assets_path, "--json")
    assert r.exit_code == 2 and "assets" in r.output


def test_readiness_needs_kw_and_category_together(map_path):
    r = _run("readiness", map_path, "--kw", "50")
    assert r.exit_code == 2
    r = _run("readiness", map_path, "--kw", "500", "--category", "lv_residential")
    assert r.exit_code == 2 and "low-voltage limit" in r.output


def test_missing_map_file(tmp_path):
    r = _run("readiness", tmp_path / "nope.gpkg")
    assert r.exit_code == 2
