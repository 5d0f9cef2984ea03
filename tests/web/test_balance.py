"""Even shares of kept-alive connections between ``onemap serve`` workers (web.balance)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner
from uvicorn.config import Config
from uvicorn.server import ServerState

from onemap.cli import app
from web import balance
from web.app import SERVE_MAP_ENV
from web.balance import ENV_SHARES, ENV_WORKERS, BalancedHttpToolsProtocol, Shares
from web.settings import ENV_CONFIG, ENV_TOKEN

REQUEST = b"GET /api/v1/health HTTP/1.1\r\nHost: example.org\r\n\r\n"


@pytest.fixture(autouse=True)
def fresh_ttl(monkeypatch):
    monkeypatch.setattr(balance, "TOTAL_TTL_S", 0.0)  # every read sees the files as they are


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_each_worker_claims_its_own_slot_and_the_total_counts_live_workers(tmp_path):
    a, b = Shares(tmp_path, 2), Shares(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.slot", "1.slot"]
    a.publish(5)
    b.publish(3)
    assert a.total() == b.total() == 8
    # a worker that died (its restart takes a fresh slot) no longer counts
    (tmp_path / "7.slot").write_bytes(balance._RECORD.pack(dead_pid(), 40))
    assert a.total() == 8


def test_over_share_is_above_the_even_share_rounded_up(tmp_path):
    mine, other = Shares(tmp_path, 2), Shares(tmp_path, 2)
    mine.publish(9)
    other.publish(7)
    assert mine.over_share(9)
    assert not mine.over_share(8)
    other.publish(8)  # 17 connections: an even share is 9
    assert not mine.over_share(9)
    assert mine.over_share(10)


def test_the_total_is_read_again_after_its_time_to_live(tmp_path, monkeypatch):
    monkeypatch.setattr(balance, "TOTAL_TTL_S", 3600.0)
    a, b = Shares(tmp_path, 2), Shares(tmp_path, 2)
    a.publish(1)
    assert a.total() == 1
    b.publish(5)
    assert a.total() == 1  # trusted for TOTAL_TTL_S
    a._read_at -= 7200.0
    assert a.total() == 6


class Transport:
    """What uvicorn's protocol needs of an asyncio transport."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.buffer = b""
        self.closed = False

    def get_extra_info(self, key):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", self.port)}.get(key)

    def write(self, data: bytes) -> None:
        self.buffer += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol) -> None:
        pass


async def ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_a_worker_over_its_share_closes_connections_after_a_response(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_SHARES, str(tmp_path))
    monkeypatch.setenv(ENV_WORKERS, "2")
    monkeypatch.setattr(balance, "_shares", None)
    monkeypatch.setattr(balance, "_unavailable", False)
    monkeypatch.setattr(BalancedHttpToolsProtocol, "closing", set())
    loop = asyncio.new_event_loop()
    try:
        config = Config(app=ok, log_level="warning")
        config.load()
        state = ServerState()
        other = Shares(tmp_path, 2)  # the other worker: one connection
        other.publish(1)
        mine = [BalancedHttpToolsProtocol(config, state, {}, _loop=loop) for _ in range(3)]
        for i, protocol in enumerate(mine):
            protocol.connection_made(Transport(5000 + i))
        assert balance.shares().total() == 4  # an even share is 2, this worker holds 3
        for protocol in mine:
            protocol.data_received(REQUEST)
        loop.run_until_complete(asyncio.sleep(0.05))
        closes = [b"connection: close" in p.transport.buffer.lower() for p in mine]
        assert closes == [True, False, False]  # one is told to go; two are this worker's share
        assert all(b" 200 OK" in p.transport.buffer for p in mine)
        assert [p.transport.closed for p in mine] == closes
        mine[0].connection_lost(None)
        assert balance.shares().total() == 3
        assert not BalancedHttpToolsProtocol.closing
    finally:
        loop.close()


def test_without_shares_the_protocol_is_uvicorns(monkeypatch):
    monkeypatch.delenv(ENV_SHARES, raising=False)
    monkeypatch.setattr(balance, "_shares", None)
    loop = asyncio.new_event_loop()
    try:
        config = Config(app=ok, log_level="warning")
        config.load()
        protocol = BalancedHttpToolsProtocol(config, ServerState(), {}, _loop=loop)
        protocol.connection_made(Transport(6000))
        protocol.data_received(REQUEST)
        loop.run_until_complete(asyncio.sleep(0.05))
        assert b"connection: close" not in protocol.transport.buffer.lower()
        assert not protocol.transport.closed
    finally:
        loop.close()


def test_serve_with_workers_balances_their_connections(tiny_map_path, monkeypatch):
    import uvicorn

    monkeypatch.delenv(ENV_TOKEN, raising=False)
    for name in (SERVE_MAP_ENV, ENV_CONFIG, ENV_SHARES, ENV_WORKERS):
        monkeypatch.setenv(name, "")  # recorded, so that monkeypatch removes what serve sets
    ran = {}

    def run(target, **kw):
        ran.update(kw, shares=os.environ[ENV_SHARES], workers_env=os.environ[ENV_WORKERS])
        ran["shares_existed"] = os.path.isdir(ran["shares"])

    monkeypatch.setattr(uvicorn, "run", run)
    result = CliRunner().invoke(app, ["serve", str(tiny_map_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert ran["http"] == "web.balance:BalancedHttpToolsProtocol"
    assert ran["workers_env"] == "2" and ran["shares_existed"]
    assert not os.path.exists(ran["shares"])  # removed when the server stops


def test_a_missing_shares_folder_leaves_the_worker_unbalanced(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_SHARES, str(tmp_path / "gone"))
    monkeypatch.setenv(ENV_WORKERS, "2")
    monkeypatch.setattr(balance, "_shares", None)
    monkeypatch.setattr(balance, "_unavailable", False)
    assert balance.shares() is None
    assert balance._unavailable
