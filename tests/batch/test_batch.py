"""`onemap batch` on a LocalCluster of 2 worker processes (issue 19): three copies of the demo
map and one corrupt map. Per-map counts equal the single-map `onemap readiness --json`, the
corrupt map is reported with its error while the others finish, and the summary adds up."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import cloudpickle
import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from onemap.batch import KINDS, run_batch
from onemap.batch.summary import SUMMARY_CSV, SUMMARY_GPKG
from onemap.batch.tasks import readiness_task
from onemap.cli import app
from onemap.lang import CLASSES

runner = CliRunner()
CITIES = ("连云港", "徐州", "南京")


@pytest.fixture(scope="module")
def single_counts(demo_map_path) -> dict:
    """`onemap readiness --json` of the demo map: the single-map reference."""
    res = runner.invoke(app, ["readiness", str(demo_map_path), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def maps(tmp_path_factory, demo_map_path) -> list[Path]:
    folder = tmp_path_factory.mktemp("province")
    paths = []
    for name in CITIES:
        shutil.copyfile(demo_map_path, folder / f"{name}.gpkg")
        paths.append(folder / f"{name}.gpkg")
    corrupt = folder / "corrupt.gpkg"
    corrupt.write_text("this is not a GeoPackage\n", encoding="utf-8")
    paths.insert(1, corrupt)
    return paths


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, Client(cluster) as cl:
        yield cl


def _check_summary(out: Path, payload_maps: list[dict], single: dict) -> None:
    frame = pd.read_csv(out / SUMMARY_CSV, encoding="utf-8-sig", keep_default_na=False)
    assert (out / SUMMARY_CSV).read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    city = frame[frame["level"] == "city"].set_index("map")
    assert set(city.index) == {*CITIES, "corrupt"}
    assert city.loc["corrupt", "status"] == "failed"
    assert "not a GeoPackage" in city.loc["corrupt", "error"]
    districts = frame[frame["level"] == "district"]
    for name in CITIES:
        row = city.loc[name]
        assert row["status"] == "ok"
        assert {c: int(row[c]) for c in CLASSES} == single["counts"]
        assert int(row["parcels"]) == single["parcels"]
        part = districts[districts["map"] == name]
        assert len(part) >= 2
        for c in (*CLASSES, "parcels"):  # district rows add up to the city row
            assert part[c].astype(int).sum() == int(row[c])
    points = pyogrio.read_dataframe(out / SUMMARY_GPKG, layer="province_maps")
    assert len(points) == 4 and points.geometry.notna().sum() == 3
    table = pyogrio.read_dataframe(out / SUMMARY_GPKG, layer="province_districts")
    assert len(table) == len(frame)
    ok = [m for m in payload_maps if m["status"] == "ok"]
    assert len(ok) == 3
    for m in ok:
        layer = pyogrio.read_dataframe(m["out"], layer="readiness")
        assert layer["readiness"].value_counts().to_dict() == {
            c: n for c, n in single["counts"].items() if n
        }


def test_cli_batch_readiness_json(maps, single_counts, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        ["batch", "readiness", *map(str, maps), "--out", str(out), "--workers", "2", "--json"],
    )
    assert res.exit_code == 0, res.output  # a failed map does not fail the run
    payload = json.loads(res.stdout)
    assert payload["workers"] == 2
    by_name = {m["map"]: m for m in payload["maps"]}
    assert [m["map"] for m in payload["maps"]] == [p.stem for p in maps]  # the order given
    for name in CITIES:
        assert by_name[name]["status"] == "ok"
        assert by_name[name]["counts"] == single_counts["counts"]
        assert by_name[name]["error"] is None
    bad = by_name["corrupt"]
    assert bad["status"] == "failed" and "not a GeoPackage" in bad["error"]
    totals = payload["totals"]
    for c in CLASSES:
        assert totals[c] == 3 * single_counts["counts"][c]
    assert totals["parcels"] == 3 * single_counts["parcels"]
    assert (totals["maps"], totals["ok"], totals["failed"]) == (4, 3, 1)
    _check_summary(out, payload["maps"], single_counts)


def test_cli_bad_input_exits_2(maps, tmp_path):
    missing_parent = tmp_path / "no" / "such"
    res = runner.invoke(app, ["batch", "readiness", str(maps[0]), "--out", str(missing_parent)])
    assert res.exit_code == 2
    res = runner.invoke(app, ["batch", "readiness", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2  # no maps
    res = runner.invoke(
        app, ["batch", "readiness", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "找不到地图文件" in res.output  # Chinese by default
    args = ["batch", "readiness", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path / "o")]
    res = runner.invoke(app, [*args, "--lang", "en"])
    assert res.exit_code == 2 and "not found" in res.output


# --- retries, on a shared cluster ---------------------------------------------------------------

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import tests/


def _flaky(map_path: str, out_dir: str) -> dict:
    """Raises the first time it runs for a map (a marker file records it), then does the work."""
    marker = Path(out_dir) / f"{Path(map_path).stem}.tried"
    if not marker.exists():
        marker.write_text("1")
        raise RuntimeError("worker hiccup")
    return readiness_task(map_path, out_dir)


def _broken(map_path: str, out_dir: str) -> dict:
    raise RuntimeError(f"always fails: {Path(map_path).stem}")


def test_a_failing_task_is_retried_once(client, maps, single_counts, tmp_path, monkeypatch):
    monkeypatch.setitem(KINDS, "flaky", (_flaky, CLASSES))
    monkeypatch.setitem(KINDS, "broken", (_broken, CLASSES))
    good = [p for p in maps if p.stem != "corrupt"][:2]
    result = run_batch(good, tmp_path / "flaky", "flaky", client=client)
    assert [o.status for o in result.outcomes] == ["ok", "ok"]
    assert all(o.counts == single_counts["counts"] for o in result.outcomes)
    result = run_batch(good[:1], tmp_path / "broken", "broken", client=client, retries=1)
    (o,) = result.outcomes
    assert o.status == "failed" and o.error.startswith("RuntimeError: always fails")
    assert result.totals["failed"] == 1 and result.totals["parcels"] == 0


def test_local_workers_keep_a_map_on_one_thread():
    """Each worker of the local cluster runs its map's chunked work on one thread
    (onemap.parallel), so two worker processes do not each spread over every core."""
    from onemap.batch.run import cluster_client

    def on_worker():
        import os

        from onemap.parallel import threads

        return os.environ.get("ONEMAP_THREADS"), threads()

    with cluster_client(workers=1) as client:
        seen = client.run(on_worker)
    assert list(seen.values()) == [("1", 1)]
