"""``onemap serve --workers N``: worker processes through the app factory, each with the map."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web_fixtures import TOKEN

from onemap.cli import app
from onemap.cli.serve import MAX_AUTO_WORKERS, default_workers
from onemap.geo.mapfile import read_map
from web.app import SERVE_MAP_ENV, app_from_env
from web.settings import ENV_CONFIG, ENV_TOKEN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def no_token(monkeypatch):
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    # Recorded so that monkeypatch removes what `serve` puts in the environment.
    monkeypatch.setenv(SERVE_MAP_ENV, "")
    monkeypatch.setenv(ENV_CONFIG, "")


def test_default_workers_one_per_core_with_or_without_pushes():
    # Pushes go to the store that every worker reads (issue 15): no one-worker rule any more.
    assert default_workers(pushes_enabled=True, cpus=8) == min(8, MAX_AUTO_WORKERS)
    assert default_workers(pushes_enabled=False, cpus=1) == 1
    assert default_workers(pushes_enabled=False, cpus=2) == 2
    assert default_workers(pushes_enabled=False, cpus=64) == MAX_AUTO_WORKERS


def test_serve_with_workers_runs_the_factory_that_loads_the_map(
    tiny_map_path, monkeypatch, no_token
):
    import uvicorn

    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: ran.update(target=target, **kw))
    result = CliRunner().invoke(
        app, ["serve", str(tiny_map_path), "--port", "8124", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8124/" in result.stdout
    assert ran["target"] == "web.app:app_from_env"
    assert ran["factory"] is True and ran["workers"] == 2 and ran["port"] == 8124
    # What each worker process does: the map named in the environment, warmed up.
    assert os.environ[SERVE_MAP_ENV] == str(tiny_map_path.resolve())
    with TestClient(app_from_env()) as client:
        assert client.get("/api/v1/health").json()["map"] == "tiny.gpkg"


def test_factory_without_a_map_in_the_environment_says_how_to_start(monkeypatch):
    monkeypatch.delenv(SERVE_MAP_ENV, raising=False)
    with pytest.raises(RuntimeError, match="onemap serve"):
        app_from_env()


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (["--workers", "0"], None, "at least 1"),
        (["--workers", "0"], TOKEN, "at least 1"),
    ],
)
def test_bad_worker_counts_exit_2(tiny_map_path, monkeypatch, no_token, args, token, message):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: pytest.fail("must not start"))
    if token:
        monkeypatch.setenv(ENV_TOKEN, token)
    # English messages (ONEMAP_LANG): ``serve`` has no --lang of its own.
    result = CliRunner().invoke(
        app, ["serve", str(tiny_map_path), *args], env={"ONEMAP_LANG": "en"}
    )
    assert result.exit_code == 2
    assert message in result.output


def test_pushes_enabled_serve_with_several_workers(tiny_map_path, monkeypatch, no_token):
    import uvicorn

    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda a, **kw: ran.update(app=a, **kw))
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    result = CliRunner().invoke(
        app, ["serve", str(tiny_map_path), "--port", "8125", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    assert ran["workers"] == 2 and ran["app"] == "web.app:app_from_env"


def test_two_worker_processes_answer_previews(tiny_map_path):
    """A real ``onemap serve --workers 2`` on loopback: both workers start and answer."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in (ENV_TOKEN, SERVE_MAP_ENV)}
    cli = Path(sys.executable).with_name("onemap")
    cmd = [str(cli), "serve", str(tiny_map_path), "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start in 60 s"
            time.sleep(0.2)
        health = httpx.get(f"{base}/api/v1/health", timeout=5).json()
        assert health["map"] == tiny_map_path.name
        west, south, east, north = read_map(tiny_map_path).bounds
        query = f"lon={(west + east) / 2}&lat={(south + north) / 2}&kw=10&category=lv_residential"
        # A new connection per request, so that both workers take some.
        answers = [httpx.get(f"{base}/api/v1/preview?{query}", timeout=30) for _ in range(8)]
        assert {r.status_code for r in answers} == {200}, answers[0].text
        assert len({r.text for r in answers}) == 1  # every worker gives the same answer
    finally:
        server.terminate()
        server.wait(timeout=30)
