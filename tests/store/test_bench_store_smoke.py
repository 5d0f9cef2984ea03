"""Smoke test of the pieces of ``bench/bench_store.py`` on the demo map, in process: its payloads
are accepted by the API, its bookkeeping counts what was acknowledged and its store check finds
every acknowledged write and no partial row. (The benchmark itself, with a served city and
``kill -9``, is run by ``python -m bench --only store``, not by the test suite.) The lean client of
the timed phases makes real keep-alive round trips, one connection per thread."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench._http import LeanClient
from bench._store_load import Server
from bench.bench_store import Payloads, Writes, send, sha256, stored_check
from onemap.geo.mapfile import read_map
from web.app import create_app
from web.settings import WebSettings

DEMO_MAP = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"
TOKEN = "bench-smoke-token"


def test_bench_store_pieces(tmp_path, monkeypatch):
    map_path = tmp_path / "demo.gpkg"
    shutil.copy(DEMO_MAP, map_path)
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    monkeypatch.setenv("ONEMAP_STORE", store_url)
    before = sha256(map_path)
    app = create_app(map_path, WebSettings(api_token=TOKEN))
    _, applicant = app.state.onemap.store.add_user("bench-applicant", "applicant")
    headers = {
        "push": {"Authorization": f"Bearer {TOKEN}"},
        "filing": {"Authorization": f"Bearer {applicant}"},
    }
    payloads = Payloads(read_map(map_path), "smoke", seed=0)
    writes = Writes()
    with TestClient(app) as client:
        for _ in range(3):
            _, ok = send(client, "push", *payloads.project(), headers, writes)
            assert ok, writes.failed
        for _ in range(4):  # the fourth route crosses its road
            _, ok = send(client, "filing", *payloads.filing(), headers, writes)
            assert ok, writes.failed
        # A repeat with the same key is acknowledged again, not stored twice.
        body, key = payloads.project()
        assert send(client, "push", body, key, headers, writes)[1]
        assert send(client, "push", body, key, headers, writes)[1]
    check = stored_check(store_url, writes)
    assert len(writes.acked_projects) == 4 and len(writes.acked_filings) == 4
    assert check["missing_projects"] == check["missing_filings"] == check["wrong_projects"] == []
    assert sum(check["partial"].values()) == 0, check["partial"]
    assert check["problems"] == []
    assert (check["n_projects"], check["n_filings"]) == (4, 4)
    assert sha256(map_path) == before


class _Echo(BaseHTTPRequestHandler):
    """Answers every POST with 201 and {"path", "body", "key", "peer"} (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps(
            {
                "path": self.path,
                "body": json.loads(body),
                "key": self.headers.get("Idempotency-Key"),
                "peer": self.client_address[1],
            },
            ensure_ascii=False,
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if self.headers.get("Connection", "").lower() == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


def test_lean_client_round_trips():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with LeanClient(base, timeout=10) as client:
            peers = set()
            for i in range(4):  # kept alive: one connection for the thread's requests
                body = {"project_id": f"P-{i}", "name": "压测"}
                r = client.post(
                    "/api/v1/projects",
                    content=json.dumps(body).encode(),
                    headers={"Idempotency-Key": f"k{i}"},
                )
                assert r.status_code == 201
                assert r.json()["body"] == body and r.json()["key"] == f"k{i}"
                assert r.json()["path"] == "/api/v1/projects" and "压测" in r.text
                peers.add(r.json()["peer"])
            assert len(peers) == 1
            # Connection: close — the kept connection serves it and closes; each next request
            # opens a new one.
            closing = [
                client.post("/x", content=b"{}", headers={"Connection": "close"}).json()["peer"]
                for _ in range(3)
            ]
            assert closing[0] in peers and len(set(closing)) == 3
            # Each thread has its own connection (both threads post at once).
            both = threading.Barrier(2)

            def from_a_thread(_: int) -> int:
                both.wait(timeout=10)
                return client.post("/y", content=b"[]").json()["peer"]

            with ThreadPoolExecutor(2) as pool:
                seen = set(pool.map(from_a_thread, range(2)))
            assert len(seen) == 2
    finally:
        server.shutdown()
        server.server_close()


def _busy_then_idle(busy_s: float) -> subprocess.Popen:
    code = (
        "import time\n"
        f"end = time.perf_counter() + {busy_s}\n"
        "while time.perf_counter() < end: pass\n"
        "time.sleep(60)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code])


def test_server_waits_until_every_worker_has_warmed_up(tmp_path, monkeypatch):
    # A worker still warming up (CPU-bound) accepts no connection: a timed phase must not
    # start until it is idle, nor wait forever for one that never is.
    server = Server(tmp_path / "map.gpkg", 2, {}, tmp_path / "log")
    idle, warming = _busy_then_idle(0.0), _busy_then_idle(1.5)
    try:
        monkeypatch.setattr(server, "worker_pids", lambda: [idle.pid, warming.pid])
        t0 = time.perf_counter()
        server.wait_warm(timeout_s=30, quiet_s=0.3)
        assert time.perf_counter() - t0 >= 1.2
    finally:
        for proc in (idle, warming):
            proc.kill()
            proc.wait()
    forever = _busy_then_idle(120.0)
    try:
        monkeypatch.setattr(server, "worker_pids", lambda: [forever.pid])
        with pytest.raises(RuntimeError, match="still busy"):
            server.wait_warm(timeout_s=1.0, quiet_s=0.3)
    finally:
        forever.kill()
        forever.wait()
