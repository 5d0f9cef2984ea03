"""Smoke test of the pieces of ``bench/bench_store.py`` on the demo map, in process: its payloads
are accepted by the API, its bookkeeping counts what was acknowledged and its store check finds
every acknowledged write and no partial row. (The benchmark itself, with a served city and
``kill -9``, is run by ``python -m bench --only store``, not by the test suite.)"""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

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
