"""`onemap route` and `onemap check-route` end to end on the demo map; bad input → exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from onemap.cli import app
from onemap.geo.crs import metric_to_lonlat

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def two_points(demo_map):
    """Two sidewalk points of the demo map about 300 m apart along one road."""
    from onemap.routing import corridor_graph

    g = corridor_graph(demo_map)
    table = g.edge_table()
    road = table[table["corridor"] == "sidewalk"].groupby("road_id")["length_m"].sum().idxmax()
    on = table[(table["corridor"] == "sidewalk") & (table["road_id"] == road)]
    a = g.xy[on["u"].iloc[0]]
    far = ((g.xy[on["u"]] - a) ** 2).sum(axis=1) ** 0.5
    b = g.xy[on["u"].to_numpy()[abs(far - 300).argmin()]]

    def ll(p):
        lon, lat = metric_to_lonlat(p[0], p[1], demo_map.crs_metric)
        return f"{float(lon):.7f},{float(lat):.7f}"

    return ll(a), ll(b)


def test_route_then_check_route_agree(demo_map_path, two_points, tmp_path):
    a, b = two_points
    res = _run("route", demo_map_path, "--from", a, "--to", b, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) >= {"filing_route", "shortest_route"}
    route = out["shortest_route"]
    assert set(route) >= {"length_m", "geometry", "filing"}
    path = tmp_path / "route.geojson"
    path.write_text(json.dumps({"type": "Feature", "geometry": route["geometry"]}))
    res = _run("check-route", demo_map_path, path, "--date", "2026-09-30", "--json")
    assert res.exit_code == 0, res.output
    verdict = json.loads(res.stdout)
    for key in (
        "eligible",
        "length_m",
        "limit_m",
        "reasons",
        "permits",
        "segments",
        "approval_workdays",
        "approval_deadline",
    ):
        assert key in verdict
    assert verdict["approval_deadline"]["date"] == "2026-10-13"
    assert verdict["eligible"] == route["filing"]["eligible"]
    assert [r["code"] for r in verdict["reasons"]] == [
        r["code"] for r in route["filing"]["reasons"]
    ]
    assert verdict["length_m"] == pytest.approx(route["length_m"], abs=0.01)
    seg = verdict["segments"][0]
    assert set(seg) >= {"corridor", "length_m", "road_id", "occupied_width_m", "remaining_bike_m"}
    # the readable report
    res = _run("check-route", demo_map_path, path, "--lang", "en")
    assert res.exit_code == 0 and "segments" in res.stdout
    res = _run("route", demo_map_path, "--from", a, "--to", b)
    assert res.exit_code == 0 and "最短路径" in res.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--voltage", "35"], "unknown voltage"),
        (["--date", "2026-13-01"], "YYYY-MM-DD"),
    ],
)
def test_check_route_bad_options(demo_map_path, two_points, tmp_path, args, needle):
    a, b = two_points
    path = tmp_path / "r.geojson"
    coords = [[float(v) for v in p.split(",")] for p in (a, b)]
    path.write_text(json.dumps({"type": "LineString", "coordinates": coords}))
    res = _run("check-route", demo_map_path, path, *args, "--lang", "en")
    assert res.exit_code == 2
    assert needle in res.output


def test_bad_route_files_exit_2(demo_map_path, tmp_path):
    several = tmp_path / "two.geojson"
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[119.2, 34.6], [119.21, 34.6]]},
    }
    several.write_text(json.dumps({"type": "FeatureCollection", "features": [line, line]}))
    res = _run("check-route", demo_map_path, several)
    assert res.exit_code == 2 and "文件中有 2 个要素" in res.output  # Chinese by default
    res = _run("check-route", demo_map_path, several, "--lang", "en")
    assert res.exit_code == 2 and "2 features" in res.output
    outside = tmp_path / "out.geojson"
    outside.write_text(
        json.dumps({"type": "LineString", "coordinates": [[100.0, 10.0], [100.01, 10.0]]})
    )
    res = _run("check-route", demo_map_path, outside, "--lang", "en")
    assert res.exit_code == 2 and "outside" in res.output
    res = _run("check-route", demo_map_path, tmp_path / "missing.kml")
    assert res.exit_code == 2


def test_route_bad_points_exit_2(demo_map_path, two_points):
    a, _ = two_points
    args = ["route", str(demo_map_path), "--from", a, "--to", "100.0,10.0"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "已测绘的道路之外" in res.output  # Chinese by default
    res = runner.invoke(app, [*args, "--lang", "en"])
    assert res.exit_code == 2 and "outside" in res.output
    res = _run("route", demo_map_path, "--from", "x", "--to", a)
    assert res.exit_code == 2
