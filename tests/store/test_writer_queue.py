"""SQLite writers queue in the kernel, not in SQLite's busy-retry sleeps (issue 15, speed): one
writer at a time across the threads and processes of a server, woken as soon as the lock is
free, and a writer killed with ``kill -9`` while holding it does not block the others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from onemap.store import open_store
from onemap.store.backend import LOCK_SUFFIX, SQLiteBackend

HOLDER = """
import sys, time
from pathlib import Path
from onemap.store import open_store
store = open_store(url=sys.argv[1])
with store.backend._writers.turn():
    Path(sys.argv[2]).write_text("holding")
    time.sleep(120)
"""


def _push(store, i: int) -> None:
    store.push_project(
        {"project_id": f"Q{i}", "requested_kw": 10.0 + i, "category": "lv_residential",
         "location": {"lon": 119.2, "lat": 34.6}},
        key=f"key-{i}",
    )  # fmt: skip


@pytest.fixture()
def sqlite_url(tmp_path, monkeypatch) -> str:
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    return f"sqlite:///{tmp_path / 'city.onemap-store.sqlite'}"


def test_threads_write_one_at_a_time_and_every_write_is_stored(sqlite_url):
    store = open_store(url=sqlite_url)
    backend = store.backend
    assert isinstance(backend, SQLiteBackend)
    inside, most = 0, 0
    guard = threading.Lock()
    turn = backend._writers.turn

    def counted():
        nonlocal inside, most
        cm = turn()
        cm.__enter__()
        with guard:
            inside += 1
            most = max(most, inside)
        return cm

    class Counted:
        def __enter__(self):
            self.cm = counted()

        def __exit__(self, *exc):
            nonlocal inside
            with guard:
                inside -= 1
            return self.cm.__exit__(*exc)

    backend._writers.turn = Counted  # type: ignore[method-assign]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: _push(store, i), range(64)))
    assert most == 1
    assert store.projects(limit=1).total == 64 and store.integrity_check()
    assert backend.path.with_name(backend.path.name + LOCK_SUFFIX).exists()
    store.close()


def test_a_writer_in_another_process_holds_the_others_until_it_is_killed(sqlite_url, tmp_path):
    marker = tmp_path / "holding"
    store = open_store(url=sqlite_url)  # opened (and migrated) before the holder starts
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, sqlite_url, str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        done = threading.Event()
        writer = threading.Thread(target=lambda: (_push(store, 1), done.set()), daemon=True)
        writer.start()
        assert not done.wait(1.0)  # queued behind the other process's writer
        os.kill(holder.pid, signal.SIGKILL)  # the kernel drops a killed holder's lock
        assert done.wait(60)
        assert store.project("Q1").requested_kw == 11.0 and store.integrity_check()
    finally:
        store.close()
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=30)
