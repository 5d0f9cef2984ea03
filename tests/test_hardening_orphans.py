"""Issue 12, item 16: a writer killed mid-write leaves ``.<map>-XXXXXXXX.gpkg`` beside the map;
they are removed before the next atomic write and when ``onemap serve`` starts, the write is
fsynced before and after the rename, and other maps' files are never touched."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from onemap.geo import mapfile
from onemap.geo.mapfile import ORPHAN_AGE_S, read_map, remove_orphans, write_map

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo.gpkg"


def _age(*files: Path, seconds: float = ORPHAN_AGE_S + 60) -> None:
    old = time.time() - seconds
    for f in files:
        os.utime(f, (old, old))


@pytest.fixture()
def folder(tmp_path):
    shutil.copy(DEMO, tmp_path / "demo.gpkg")
    names = [
        ".demo-abc12345.gpkg",  # an orphan of demo.gpkg
        ".demo-zz_99xyz.gpkg-journal",  # its SQLite side file
        ".demo-2-abc12345.gpkg",  # an orphan of demo-2.gpkg: not ours
        "demo-abc12345.gpkg",  # a user's file, not hidden
        ".demo-abc12345.txt",
    ]
    for n in names:
        (tmp_path / n).write_bytes(b"partial")
    _age(*(tmp_path / n for n in names))
    return tmp_path


def test_remove_orphans_only_old_temporaries_of_that_map(folder):
    fresh = folder / ".demo-fresh123.gpkg"
    fresh.write_bytes(b"being written")  # a live writer's file: too young to remove
    removed = sorted(p.name for p in remove_orphans(folder / "demo.gpkg"))
    assert removed == [".demo-abc12345.gpkg", ".demo-zz_99xyz.gpkg-journal"]
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(
        [
            ".demo-2-abc12345.gpkg",
            ".demo-abc12345.txt",
            ".demo-fresh123.gpkg",
            "demo-abc12345.gpkg",
            "demo.gpkg",
        ]
    )


def test_atomic_write_removes_orphans_and_fsyncs_file_and_folder(folder, monkeypatch):
    synced: list[str] = []
    real = mapfile._fsync
    monkeypatch.setattr(mapfile, "_fsync", lambda p: (synced.append(str(p)), real(p)))
    m = read_map(folder / "demo.gpkg")
    write_map(m, folder / "demo.gpkg")
    assert not (folder / ".demo-abc12345.gpkg").exists()
    assert (folder / ".demo-2-abc12345.gpkg").exists()
    assert len(synced) == 2
    assert Path(synced[0]).name.startswith(".demo-") and Path(synced[1]) == folder
    assert not [
        p for p in folder.iterdir() if mapfile.orphan_pattern(folder / "demo.gpkg").match(p.name)
    ]
    assert len(read_map(folder / "demo.gpkg")["landuse"]) == len(m["landuse"])


def test_serve_start_removes_orphans(folder, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from onemap.cli import app

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr("web.app.warm", lambda app: None)
    monkeypatch.delenv("ONEMAP_API_TOKEN", raising=False)
    r = CliRunner().invoke(app, ["serve", str(folder / "demo.gpkg"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "removed .demo-abc12345.gpkg" in r.output
    assert not (folder / ".demo-abc12345.gpkg").exists()
    assert (folder / ".demo-2-abc12345.gpkg").exists()
