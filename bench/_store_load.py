"""The parts of :mod:`bench.bench_store` that make the load: payloads (project pushes at random
parcels, filing routes along or across random roads), a lean HTTP client, the timed phases
(:func:`run_phase`) with their bookkeeping (:class:`Writes`) and ``onemap serve --workers N``
as a subprocess with its worker processes."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench._http import LeanClient

CATEGORY_KW = {
    "lv_residential": (5.0, 12.0),
    "lv_small_micro": (20.0, 90.0),
    "lv_non_residential": (30.0, 150.0),
    "hv_single": (400.0, 2000.0),
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# payloads


class Payloads:
    """Project pushes at random parcels and filing routes along (or across) random roads."""

    def __init__(self, m, run_id: str, seed: int) -> None:
        from onemap.geo.crs import metric_to_lonlat

        self.run_id = run_id
        self.rng = np.random.default_rng(seed)
        self.crs = m.crs_metric
        self._to_lonlat = metric_to_lonlat
        pts = m.metric("landuse").geometry.representative_point()
        self.px, self.py = pts.x.to_numpy(), pts.y.to_numpy()
        roads = m.metric("roads")
        long_enough = roads.geometry.length.to_numpy() > 80.0
        self.roads = roads[long_enough].reset_index(drop=True)
        self._n = itertools.count()
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            return next(self._n)

    def project(self) -> tuple[dict, str]:
        """A push body with a unique project id, and its idempotency key."""
        i = self._next()
        with self._lock:
            k = int(self.rng.integers(0, len(self.px)))
            cat = list(CATEGORY_KW)[int(self.rng.integers(0, len(CATEGORY_KW)))]
            kw = round(float(self.rng.uniform(*CATEGORY_KW[cat])), 1)
        lon, lat = self._to_lonlat(self.px[k], self.py[k], self.crs)
        body = {
            "project_id": f"BENCH-{self.run_id}-{i:06d}",
            "name": f"压测项目 {i}",
            "requested_kw": kw,
            "category": cat,
            "location": {"lon": round(float(lon), 7), "lat": round(float(lat), 7)},
        }
        return body, f"p-{self.run_id}-{i}-{uuid.uuid4().hex[:8]}"

    def filing(self) -> tuple[dict, str]:
        """A filing body (a 40 m route on a sidewalk, every fourth across the road) and its key."""
        import shapely
        from shapely.ops import substring

        i = self._next()
        with self._lock:
            r = self.roads.iloc[int(self.rng.integers(0, len(self.roads)))]
        line = r.geometry
        if i % 4 == 3:  # across the carriageway: needs permits (referred)
            mid = line.interpolate(0.5, normalized=True)
            ahead = line.interpolate(min(line.length, line.project(mid) + 1.0))
            dx, dy = ahead.x - mid.x, ahead.y - mid.y
            norm = float(np.hypot(dx, dy)) or 1.0
            half = float(r["motor_width_m"]) / 2 + 4.0
            nx, ny = -dy / norm * half, dx / norm * half
            coords = np.array([[mid.x + nx, mid.y + ny], [mid.x - nx, mid.y - ny]])
        else:  # along the left sidewalk
            side = float(r["motor_width_m"]) / 2 + float(r["bike_left_m"])
            side += max(float(r["sidewalk_left_m"]), 1.0) / 2
            piece = substring(line, 20.0, 60.0)
            off = piece.offset_curve(side)
            coords = shapely.get_coordinates(off)
        lon, lat = self._to_lonlat(coords[:, 0], coords[:, 1], self.crs)
        route = {
            "type": "LineString",
            "coordinates": [
                [round(float(x), 7), round(float(y), 7)]
                for x, y in zip(np.atleast_1d(lon), np.atleast_1d(lat), strict=True)
            ],
        }
        body = {
            "route": route,
            "voltage_kv": 10,
            "applicant": {"name": f"压测 {i}", "organisation": "bench", "phone": "0518-0000000"},
            "project_id": f"BENCH-{self.run_id}-F{i:06d}",
            "note": "bench_store",
        }
        return body, f"f-{self.run_id}-{i}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------
# the load

WATCH_AFTER_S = 0.3  # when the connections of a timed phase are counted per worker


class Writes:
    """What was sent and what was acknowledged (201), per kind, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked_projects: dict[str, float] = {}  # project_id -> requested_kw
        self.acked_filings: set[str] = set()  # filing numbers
        self.failed: list[tuple[str, dict, str, str]] = []  # kind, body, key, reason

    def record(self, kind: str, body: dict, key: str, r=None, exc=None) -> bool:
        with self.lock:
            if r is not None and r.status_code == 201:
                if kind == "push":
                    self.acked_projects[body["project_id"]] = float(body["requested_kw"])
                else:
                    self.acked_filings.add(r.json()["filing_id"])
                return True
            reason = type(exc).__name__ if exc is not None else f"{r.status_code} {r.text[:160]}"
            self.failed.append((kind, body, key, reason))
            return False


def send(
    client, kind: str, body: dict, key: str, headers: dict, writes: Writes, extra=None, data=None
):
    """One write (``data``: ``body`` as JSON bytes, if encoded already); returns (seconds,
    acknowledged). ``client`` is an httpx-style client (``post(url, content=, headers=)``)."""
    url = "/api/v1/projects" if kind == "push" else "/api/v1/filings"
    h = {**headers[kind], "Idempotency-Key": key, "Content-Type": "application/json"}
    h.update(extra or {})
    content = json.dumps(body).encode() if data is None else data
    t0 = time.perf_counter()
    try:
        r = client.post(url, content=content, headers=h)
    except Exception as exc:  # a cut-off request is a failure, recorded
        return time.perf_counter() - t0, writes.record(kind, body, key, exc=exc)
    return time.perf_counter() - t0, writes.record(kind, body, key, r=r)


def run_phase(base_url, kind, n, concurrency, payloads, headers, writes, close=False, watch=None):
    """``n`` writes of ``kind`` with ``concurrency`` in flight (one connection per thread; with
    ``close`` a new one per request, so the connections spread over the workers); latencies,
    errors, wall time and the CPU seconds this process (the load generator) spent. ``watch``
    (no arguments) is called once, shortly after the phase starts."""
    make = payloads.project if kind == "push" else payloads.filing
    jobs = [(body, key, json.dumps(body).encode()) for body, key in (make() for _ in range(n))]
    extra = {"Connection": "close"} if close else None
    before = len(writes.failed)
    with LeanClient(base_url) as client:

        def one(job):
            body, key, data = job
            return send(client, kind, body, key, headers, writes, extra, data)

        timer = threading.Timer(WATCH_AFTER_S, watch) if watch is not None else None
        cpu0, t0 = time.process_time(), time.perf_counter()
        if timer is not None:
            timer.start()
        with ThreadPoolExecutor(concurrency) as pool:
            out = list(pool.map(one, jobs))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if timer is not None:
            timer.join()
    return [t for t, _ in out], len(writes.failed) - before, wall, cpu


# ---------------------------------------------------------------------------------------------
# the server


class Server:
    """``onemap serve MAP --workers N`` on 127.0.0.1 as a subprocess, and its worker processes."""

    def __init__(self, map_path: Path, workers: int, env: dict[str, str], log: Path) -> None:
        self.map_path = map_path
        self.workers = workers
        self.env = env
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.seen_pids: set[int] = set()

    def start(self, timeout_s: float = 600.0) -> float:
        import httpx

        cli = Path(sys.executable).with_name("onemap")
        cmd = [str(cli), "serve", str(self.map_path), "--workers", str(self.workers)]
        cmd += ["--port", str(self.port)]
        t0 = time.perf_counter()
        self._log_fh = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=self._log_fh, stderr=subprocess.STDOUT
        )
        with httpx.Client(base_url=self.base_url, timeout=10) as c:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"onemap serve exited: see {self.log}")
                if time.perf_counter() - t0 > timeout_s:
                    raise RuntimeError(f"onemap serve not healthy in {timeout_s:.0f} s")
                try:
                    if c.get("/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.25)
        self.wait_workers(timeout_s)
        self.wait_warm(timeout_s)
        return time.perf_counter() - t0

    def worker_pids(self) -> list[int]:
        """PIDs of the uvicorn worker processes: spawned children of the serve process."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        pids = []
        for child in _children(self.proc.pid):
            cmd = _cmdline(child)
            if "spawn_main" in cmd and "resource_tracker" not in cmd:
                pids.append(child)
        self.seen_pids.update(pids)
        return sorted(pids)

    def serving(self, pid: int) -> bool:
        """Whether worker ``pid`` has accepted a connection on the port (so it is serving)."""
        try:
            import psutil

            conns = psutil.Process(pid).net_connections(kind="tcp")
        except Exception:  # a dead or vanished process serves nothing
            return False
        return any(
            c.status == "ESTABLISHED" and c.laddr and c.laddr.port == self.port for c in conns
        )

    def connections(self) -> list[int]:
        """Established connections on the port per worker (sorted): how the kernel spread a
        phase's kept-alive connections over the workers (the workers share one listening
        socket; whichever accepts first keeps the connection for the whole phase)."""
        import psutil

        counts = []
        for pid in self.worker_pids():
            try:
                conns = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.Error:
                continue
            counts.append(
                sum(c.status == "ESTABLISHED" and c.laddr.port == self.port for c in conns)
            )
        return sorted(counts)

    def wait_workers(self, timeout_s: float) -> list[int]:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            pids = self.worker_pids()
            if len(pids) == self.workers:
                return pids
            time.sleep(0.2)
        raise RuntimeError(f"expected {self.workers} workers, found {self.worker_pids()}")

    def wait_warm(self, timeout_s: float, quiet_s: float = 1.0) -> None:
        """Until every worker has warmed up: idle (under 5 % of a core) for ``quiet_s``.

        The server answers its health check as soon as one worker serves; the others may
        still be loading the map and warming up (seconds of CPU on a city), accepting no
        connection meanwhile. A timed phase started then sends all its kept-alive connections
        to the first worker and counts the others' warm-up as CPU per write.
        """
        import psutil

        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            pids = self.worker_pids()
            try:
                before = [sum(psutil.Process(p).cpu_times()[:2]) for p in pids]
                time.sleep(quiet_s)
                after = [sum(psutil.Process(p).cpu_times()[:2]) for p in pids]
            except psutil.Error:  # a worker replaced meanwhile: look again
                continue
            if self.worker_pids() == pids and all(
                b - a < 0.05 * quiet_s for a, b in zip(before, after, strict=True)
            ):
                return
        raise RuntimeError(f"workers {self.worker_pids()} still busy after {timeout_s:.0f} s")

    def cpu_seconds(self) -> float:
        """CPU time (user + system, s) the worker processes have used so far."""
        import psutil

        total = 0.0
        for pid in self.worker_pids():
            try:
                t = psutil.Process(pid).cpu_times()
            except Exception:  # a worker that just ended used what it used
                continue
            total += t.user + t.system
        return total

    def stop(self) -> None:
        if self.proc is None:
            return
        pids = set(self.worker_pids()) | self.seen_pids
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        for pid in pids:  # a worker left behind by its supervisor: ours to end, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
        self._log_fh.close()
        self.proc = None


def _children(pid: int) -> list[int]:
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children(recursive=False)]
    except ImportError:
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == pid:
                    out.append(int(d.name))
        return out
    except Exception:
        return []


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
