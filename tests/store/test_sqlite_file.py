"""The embedded store: one SQLite file beside the map, WAL, fsynced commits, foreign keys, a
versioned schema — and the map's GeoPackage bytes never change on a write."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from onemap.errors import OnemapInputError
from onemap.store import STORE_SUFFIX, StoreUnavailable, open_store, store_path_for
from onemap.store.schema import LATEST, MIGRATIONS, VERSION_TABLE

from .conftest import submit


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_store_beside_the_map(map_copy, monkeypatch):
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    assert STORE_SUFFIX == ".onemap-store.sqlite"
    assert store_path_for(map_copy).name == "city.onemap-store.sqlite"
    store = open_store(map_copy)
    assert store.url == f"sqlite:///{map_copy.parent / 'city.onemap-store.sqlite'}"
    assert store_path_for(map_copy).is_file()
    store.close()


def test_writes_leave_the_map_bytes_unchanged(map_copy, monkeypatch):
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    before = digest(map_copy)
    mtime = map_copy.stat().st_mtime_ns
    store = open_store(map_copy)
    user, _ = store.add_user("ann", "applicant")
    reviewer, _ = store.add_user("rex", "reviewer")
    for i in range(5):
        store.push_project(
            {"project_id": f"P{i}", "requested_kw": 50.0 + i, "category": "lv_residential",
             "location": {"lon": 119.2, "lat": 34.6}},
            key=f"k{i}",
        )  # fmt: skip
        filing, _ = submit(store, user, eligible=bool(i % 2))
        store.act(filing.number, "return", reviewer)
    store.close()
    assert digest(map_copy) == before and map_copy.stat().st_mtime_ns == mtime
    assert [p.name for p in map_copy.parent.iterdir() if p.suffix == ".gpkg"] == ["city.gpkg"]


def test_pragmas(map_copy, monkeypatch):
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    store = open_store(map_copy)
    conn = store.backend.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()
    # WAL is a property of the file: a plain connection sees it too
    other = sqlite3.connect(store_path_for(map_copy))
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_foreign_keys_enforced(store):
    if store.backend.name != "sqlite":
        return  # PostgreSQL always enforces them
    with pytest.raises(sqlite3.IntegrityError), store.backend.transaction() as conn:
        store.backend.execute(
            conn,
            "INSERT INTO filing_events (filing_id, action, actor_id, actor_name, role, at,"
            " status_after) VALUES (999, 'submit', 999, 'x', 'admin', 'now', 'filed')",
        )


def test_schema_version_and_reopen(store, store_url):
    with store.backend.transaction(write=False) as conn:
        rows = store.backend.execute(
            conn, f"SELECT version, description FROM {VERSION_TABLE} ORDER BY version"
        ).fetchall()
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS] and rows[-1][0] == LATEST
    again = open_store(url=store_url)  # migrating twice changes nothing
    assert again.integrity_check()
    again.close()


def test_newer_schema_refused(store, store_url):
    with store.backend.transaction() as conn:
        store.backend.execute(
            conn,
            f"INSERT INTO {VERSION_TABLE} (version, description, applied) VALUES (?, ?, ?)",
            (LATEST + 1, "from the future", "2099-01-01T00:00:00+00:00"),
        )
    with pytest.raises(StoreUnavailable, match="newer"):
        open_store(url=store_url)


def test_integrity_check_finds_tampering(store, people):
    filing, _ = submit(store, people["ann"])
    assert store.integrity_check() and store.integrity_problems() == []
    with store.backend.transaction() as conn:  # a status changed behind the history's back
        store.backend.execute(conn, "UPDATE filings SET status = 'completed'")
    assert not store.integrity_check()
    assert any(filing.number in p for p in store.integrity_problems())


def test_open_store_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    with pytest.raises(OnemapInputError) as err:
        open_store()
    assert err.value.field == "store"
    with pytest.raises(OnemapInputError) as err:
        open_store(tmp_path / "missing.gpkg")
    assert err.value.file
    with pytest.raises(OnemapInputError):
        open_store(url="mysql://x")
    monkeypatch.setenv("ONEMAP_STORE", f"sqlite:///{tmp_path / 'env.sqlite'}")
    store = open_store(tmp_path / "missing.gpkg")  # the environment wins over the map
    assert store.url.endswith("env.sqlite")
    store.close()
