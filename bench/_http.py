"""A lean HTTP/1.1 client for the benchmarks' load generators (:mod:`bench.bench_store`,
:mod:`bench.bench_city`): real round trips to the served port at a fraction of httpx's CPU, which
on a two-core machine the server's workers would otherwise lack. Also the served side of a load
run: ``onemap serve`` in a subprocess, up with every worker (:func:`served`), its CPU
(:func:`server_cpu_s`) and the load itself (:func:`load`)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["LeanClient", "LeanResponse", "Runs", "free_port", "load", "served", "server_cpu_s"]


class LeanResponse:
    """What :class:`bench.bench_store.Writes` reads of an answer (as httpx names it)."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanClient:
    """HTTP/1.1 POSTs over :mod:`http.client`, one kept-alive connection per thread.

    The load generator shares the machine's two cores with the server: httpx spends about a
    millisecond of CPU per request (its pool, its header and body models), which the server's
    workers then lack. This client spends a fraction of that, on the same real round trips
    (a TCP connection to the served port, request line, headers, body, the whole answer read).
    A connection the server closes (``Connection: close``) is reopened for the next request;
    a failed request is never retried here (the caller counts it and retries with its key).
    """

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.timeout = timeout
        self._local = threading.local()
        self._open: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
            with self._lock:
                self._open.append(conn)
        return conn

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None

    def post(
        self, url: str, *, content: bytes, headers: dict[str, str] | None = None
    ) -> LeanResponse:
        """POST ``content`` (JSON bytes, encoded beforehand) to ``url``; the whole answer."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        return self._send("POST", url, content, sent)

    def get(self, url: str, *, headers: dict[str, str] | None = None) -> LeanResponse:
        """GET ``url``; the whole answer."""
        return self._send("GET", url, None, headers or {})

    def _send(
        self, method: str, url: str, content: bytes | None, headers: dict[str, str]
    ) -> LeanResponse:
        conn = self._connection()
        try:
            # bytes go out with the headers in one send (no Nagle / delayed-ACK stall)
            conn.request(method, url, body=content, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        except Exception:
            self._drop(conn)
            raise
        if answer.will_close:
            self._drop(conn)
        return LeanResponse(answer.status, data)

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()

    def __enter__(self) -> LeanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# the served side of a load run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(base_url: str, urls: list[str], concurrency: int):
    """Send every URL with ``concurrency`` requests in flight (threads, each with its own
    kept-alive connection of :class:`bench._http.LeanClient`: a fraction of httpx's CPU, which
    the server's workers on the same two cores would lack); latencies, errors, examples and
    the wall time."""
    latencies: list[float] = []
    errors: list[str] = []

    def one(url: str) -> None:
        t0 = time.perf_counter()
        try:
            r = client.get(url)
            if r.status_code != 200:
                errors.append(f"{r.status_code} {url} {r.text[:200]}")
        except Exception as exc:  # a failed request is an error, counted
            errors.append(f"{type(exc).__name__} {url}")
        latencies.append(time.perf_counter() - t0)

    with LeanClient(base_url, timeout=60) as client:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, urls))
        wall = time.perf_counter() - t0
    return latencies, len(errors), errors[:3], wall


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a server process and its children (the workers)."""
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    try:
        return [int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def serving_workers(pid: int, port: int) -> int:
    """Worker processes of the server ``pid`` holding an established connection to ``port``
    (Linux /proc: the sockets of /proc/net/tcp* against each worker's descriptors)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "01" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{f[9]}]")
    serving = 0
    for child in children(pid) or [pid]:
        try:
            fds = {os.readlink(fd) for fd in Path(f"/proc/{child}/fd").iterdir()}
        except OSError:
            continue
        serving += bool(fds & inodes)
    return serving


def wait_for_workers(pid: int, port: int, workers: int, timeout_s: float = 600.0) -> float:
    """Wait until every worker serves (uvicorn's parent listens before its workers have loaded
    the map: connections made earlier all go to the first worker up); seconds waited."""
    t0 = time.perf_counter()
    while workers > 1 and time.perf_counter() - t0 < timeout_s:
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(8)]
        try:
            for conn in conns:  # kept alive while the workers are counted
                conn.request("GET", "/api/v1/health")
                conn.getresponse().read()
            if serving_workers(pid, port) >= workers:
                break
        finally:
            for conn in conns:
                conn.close()
        time.sleep(0.5)
    return time.perf_counter() - t0


@contextlib.contextmanager
def served(map_path: Path, workers: int, pythonpath: str | None = None):
    """``onemap serve`` of the map in a subprocess, up and answering health; its process and
    base URL. ``pythonpath``: a folder put first on the server's import path (a baseline
    checkout's ``web`` package, see ``--baseline``)."""
    import httpx

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    onemap_cli = Path(sys.executable).with_name("onemap")
    # Several workers serve read-only: without an API token (pushes need one process).
    env = {k: v for k, v in os.environ.items() if k != "ONEMAP_API_TOKEN"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    server = subprocess.Popen(
        [str(onemap_cli), "serve", str(map_path), "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=base_url, timeout=600) as c:
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"onemap serve exited:\n{server.stderr.read()[-3000:]}")
                try:
                    if c.get("/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
        wait_for_workers(server.pid, port, workers)
        yield server, base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


class Runs:
    """Latencies, errors, wall and server CPU of one served variant, pooled over rounds."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.examples: list[str] = []
        self.wall = 0.0
        self.cpu_s = 0.0
        self.requests = 0
        self.health: list[float] = []
        self.health_errors = 0
        self.health_wall = 0.0

    def p(self) -> dict[int, float]:
        """p50/p95/p99 of the pooled latencies in milliseconds."""
        from bench._harness import percentiles

        return percentiles(self.latencies)
