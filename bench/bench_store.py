"""The store behind the writes (issue 15, "Speed and safety"): pushes and filings over HTTP on a
city map served by ``onemap serve --workers 2``, and ``kill -9`` of a worker during writes.

Figures (each printed with the same-run baseline of today's rewrite-per-push, the time of
:func:`onemap.geo.mapfile.write_map` of the whole map into a temporary file):

* ``POST /api/v1/projects`` and ``POST /api/v1/filings`` p50/p95 at concurrency 8 over loopback,
  with unique project ids and ``Idempotency-Key`` headers, and the errors counted; the CPU time
  both workers spend per write (what the latencies rest on, however busy the machine is
  otherwise). The load generator runs on the same two cores as the server, so it is kept lean:
  8 threads, each with its own kept-alive connection of :class:`bench._http.LeanClient`
  (``http.client``), and bodies encoded before the clock starts. Every timed request is still a
  real HTTP round trip to the real server (request sent, whole answer read); httpx, which
  spends about 1 ms of CPU per request, drives only the untimed parts (kill rounds, read-back).
  The timing starts once every worker has warmed up (:meth:`bench._store_load.Server.wait_warm`:
  the health check answers as soon as one does), and each phase reports how its 8 connections
  were split over the workers (a connection stays with the worker that accepted it);
* every acknowledged (201) write is stored — read back through ``GET /api/v1/projects`` (paged)
  and from the store directly — and the map file's SHA-256 is unchanged by the writes;
* safety: rounds of ``kill -9`` of one uvicorn worker while writes run (uvicorn's supervisor
  starts a replacement); afterwards every acknowledged write is present, no row is partial, the
  requests cut off in flight are retried with their key (a replay or a first store, never a
  duplicate) and :meth:`onemap.store.Store.integrity_check` holds.

The store is a throw-away SQLite file in a temporary folder (``ONEMAP_STORE``), so the cached map
under ``bench/cache`` gets no store beside it. Every process started is stopped at the end.

    .venv/bin/python -m bench.bench_store [--size city] [--pushes 400] [--filings 200]
    .venv/bin/python -m bench.bench_store --kill-rounds 0 --rewrites 1   # the timed part only

The payloads and the server process are in :mod:`bench._store_load`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._harness import Row, emit, percentiles, timed
from bench._store_load import Payloads, Server, Writes, run_phase, send, sha256
from bench.citygen import SIZES, city_map_path

TARGET_MS = 50.0

# ---------------------------------------------------------------------------------------------
# load


def kill_round(server, rnd, concurrency, payloads, headers, writes, cap, restart_timeout_s):
    """Writes on fresh connections while one worker is killed with SIGKILL and replaced."""
    import httpx

    stop = threading.Event()
    replaced = threading.Event()  # the replacement worker serves (or the wait for it ended)
    sent = itertools.count()
    posted = itertools.count()
    acked = itertools.count()
    failed_before = len(writes.failed)

    def loop() -> None:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            while not stop.is_set():
                i = next(sent)
                # Past the cap only once the replacement serves: it is seen serving by the
                # connections these writes open (a round that stopped writing first waited
                # for it until the restart timeout).
                if i >= cap and replaced.is_set():
                    return
                kind = "filing" if i % 4 == 3 else "push"
                body, key = payloads.project() if kind == "push" else payloads.filing()
                # Connection: close, so the replacement worker gets connections once it serves.
                _, ok = send(client, kind, body, key, headers, writes, {"Connection": "close"})
                next(posted)
                if ok:
                    next(acked)

    before = server.worker_pids()
    victim = before[rnd % len(before)]
    threads = [threading.Thread(target=loop, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    os.kill(victim, signal.SIGKILL)
    t_kill = time.perf_counter()
    replacement, up_s = None, None
    while time.perf_counter() - t_kill < restart_timeout_s:
        new = [p for p in server.worker_pids() if p not in before]
        if new and server.serving(new[0]):
            replacement, up_s = new[0], time.perf_counter() - t_kill
            break
        time.sleep(0.1)
    replaced.set()
    time.sleep(0.5)  # a few writes served by both workers again
    stop.set()
    for t in threads:
        t.join(timeout=120)
    return {
        "round": rnd + 1,
        "killed": victim,
        "replacement": replacement,
        "replacement_serving_s": None if up_s is None else round(up_s, 2),
        "sent": next(posted),
        "acked": next(acked),
        "failed": len(writes.failed) - failed_before,
    }


# ---------------------------------------------------------------------------------------------
# checks


def read_back(base_url: str, api_token: str) -> set[str]:
    """Every project id listed by ``GET /api/v1/projects``, page by page."""
    import httpx

    ids: set[str] = set()
    with httpx.Client(base_url=base_url, timeout=60) as c:
        offset = 0
        while True:
            r = c.get(
                "/api/v1/projects",
                params={"limit": 1000, "offset": offset},
                headers={"Authorization": f"Bearer {api_token}"},
            )
            r.raise_for_status()
            page = r.json()
            ids.update(item["project_id"] for item in page["items"])
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return ids


def stored_check(store_url: str, writes: Writes) -> dict:
    """Acknowledged writes missing from the store, partial rows, the integrity check."""
    from onemap.store import NotFound, open_store

    missing_p, wrong_kw, missing_f = [], [], []
    with open_store(url=store_url) as store:
        for pid, kw in writes.acked_projects.items():
            try:
                rec = store.project(pid)
            except NotFound:
                missing_p.append(pid)
                continue
            if abs(rec.requested_kw - kw) > 1e-9 or not rec.geometry:
                wrong_kw.append(pid)
        for number in writes.acked_filings:
            try:
                store.filing(number)
            except NotFound:
                missing_f.append(number)
        problems = store.integrity_problems()
        n_projects = store.projects(limit=1).total
    path = store_url.removeprefix("sqlite:///")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        partial = {
            "projects without geometry/kw/category": con.execute(
                "SELECT COUNT(*) FROM projects WHERE geometry IS NULL OR requested_kw IS NULL"
                " OR category IS NULL OR proposal IS NULL"
            ).fetchone()[0],
            "filings without verdict/route": con.execute(
                "SELECT COUNT(*) FROM filings WHERE verdict IS NULL OR route IS NULL"
            ).fetchone()[0],
            "filings without a submit event": con.execute(
                "SELECT COUNT(*) FROM filings f WHERE NOT EXISTS"
                " (SELECT 1 FROM filing_events e WHERE e.filing_id = f.id)"
            ).fetchone()[0],
            "keys without a result": con.execute(
                "SELECT COUNT(*) FROM idempotency_keys WHERE result_id IS NULL"
            ).fetchone()[0],
            "duplicate project ids": con.execute(
                "SELECT COUNT(*) - COUNT(DISTINCT project_id) FROM projects"
            ).fetchone()[0],
        }
        n_filings = con.execute("SELECT COUNT(*) FROM filings").fetchone()[0]
    finally:
        con.close()
    return {
        "missing_projects": missing_p,
        "wrong_projects": wrong_kw,
        "missing_filings": missing_f,
        "partial": {k: int(v) for k, v in partial.items()},
        "problems": problems,
        "n_projects": int(n_projects),
        "n_filings": int(n_filings),
    }


def retry_failed(base_url: str, headers: dict, writes: Writes) -> dict:
    """Send every failed write again with its key: each must now be acknowledged once."""
    import httpx

    failed, writes.failed = list(writes.failed), []
    ok = 0
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for kind, body, key, _ in failed:
            _, acked = send(client, kind, body, key, headers, writes)
            ok += acked
    return {"retried": len(failed), "acked": ok, "still_failing": [f[3] for f in writes.failed]}


def rewrite_baseline(m, tmp: Path, reps: int) -> list[float]:
    """Today's rewrite-per-push cost: ``write_map`` of the whole map into a temporary file."""
    from onemap.geo.mapfile import write_map

    times = []
    for i in range(reps):
        target = tmp / f"rewrite-{i}.gpkg"
        t, _ = timed(lambda t=target: write_map(m, t))
        times.append(t)
        target.unlink(missing_ok=True)
    return times


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="city", choices=list(SIZES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--pushes", type=int, default=400)
    ap.add_argument("--filings", type=int, default=200)
    ap.add_argument("--rewrites", type=int, default=3, help="write_map repetitions (baseline)")
    ap.add_argument("--kill-rounds", type=int, default=5)
    ap.add_argument("--kill-cap", type=int, default=400, help="writes at most per kill round")
    ap.add_argument("--restart-timeout", type=float, default=240.0)
    args = ap.parse_args(argv)

    from onemap.geo.mapfile import read_map
    from onemap.routing.build import corridor_graph

    t_gen, map_path = timed(lambda: city_map_path(args.size, args.seed))
    m = read_map(map_path)
    # The workers load the graph from its cache beside the map: build it here once if missing.
    t_graph, _ = timed(lambda: corridor_graph(m))
    print(
        f"map {map_path.name} ({args.size}: {m.counts().get('landuse', 0):,} parcels; map "
        f"{t_gen:.1f} s, graph {t_graph:.1f} s)",
        flush=True,
    )
    hash_before = sha256(map_path)
    run_id = secrets.token_hex(3)
    payloads = Payloads(m, run_id, args.seed)

    with tempfile.TemporaryDirectory(prefix="onemap-bench-store-") as tmp_name:
        tmp = Path(tmp_name)
        store_url = f"sqlite:///{tmp / 'store.sqlite'}"
        api_token = secrets.token_urlsafe(24)
        env = {**os.environ, "ONEMAP_STORE": store_url, "ONEMAP_API_TOKEN": api_token}
        cli = Path(sys.executable).with_name("onemap")
        added = subprocess.run(
            [
                str(cli),
                "users",
                "add",
                "bench-applicant",
                "--role",
                "applicant",
                "--store",
                store_url,
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        applicant = json.loads(added.stdout)["token"]
        headers = {
            "push": {"Authorization": f"Bearer {api_token}"},
            "filing": {"Authorization": f"Bearer {applicant}"},
        }
        writes = Writes()
        server = Server(map_path, args.workers, env, tmp / "serve.log")
        try:
            t_up = server.start()
            print(f"server up in {t_up:.1f} s, workers {server.worker_pids()}", flush=True)
            # Warm-up (not timed): every code path once in each worker (a new connection per
            # request: kept-alive ones may all have been accepted by one worker).
            _, warm_err, warm_s, _ = run_phase(
                server.base_url, "push", 16, args.concurrency, payloads, headers, writes, True
            )
            _, warm_err_f, warm_s_f, _ = run_phase(
                server.base_url, "filing", 16, args.concurrency, payloads, headers, writes, True
            )
            print(
                f"warm-up: {warm_err + warm_err_f} errors; "
                f"16 pushes {warm_s:.1f} s, 16 filings {warm_s_f:.1f} s",
                flush=True,
            )

            load_before = os.getloadavg()[0]
            cpu0 = server.cpu_seconds()
            split: dict[str, list[int]] = {}
            lat_p, err_p, wall_p, client_p = run_phase(
                server.base_url, "push", args.pushes, args.concurrency, payloads, headers, writes,
                watch=lambda: split.update(push=server.connections()),
            )  # fmt: skip
            cpu1 = server.cpu_seconds()
            lat_f, err_f, wall_f, client_f = run_phase(
                server.base_url, "filing", args.filings, args.concurrency, payloads, headers,
                writes, watch=lambda: split.update(filing=server.connections()),
            )  # fmt: skip
            cpu2 = server.cpu_seconds()
            load_after = os.getloadavg()[0]
            examples = sorted({f[3] for f in writes.failed})[:3]
            listed = read_back(server.base_url, api_token)
            check = stored_check(store_url, writes)
            hash_mid = sha256(map_path)
            writes_before = set(writes.acked_projects)
            print(
                f"load: {len(writes.acked_projects)} projects and {len(writes.acked_filings)} "
                f"filings acknowledged; store holds {check['n_projects']} / {check['n_filings']}",
                flush=True,
            )

            print(f"baseline: write_map of the map x{args.rewrites} …", flush=True)
            rewrite = rewrite_baseline(m, tmp, args.rewrites)
            rb = percentiles(rewrite)

            rounds = []
            kill_failed = 0
            for rnd in range(args.kill_rounds):
                info = kill_round(
                    server, rnd, args.concurrency, payloads, headers, writes,
                    args.kill_cap, args.restart_timeout,
                )  # fmt: skip
                kill_failed += info["failed"]
                rounds.append(info)
                print(f"kill round {json.dumps(info)}", flush=True)
            restarted = False
            if server.proc is None or server.proc.poll() is not None:
                server.stop()
                server.start()
                restarted = True
            else:
                server.wait_workers(args.restart_timeout)
            retry = retry_failed(server.base_url, headers, writes)
            print(f"after the kills: retry of cut-off writes {json.dumps(retry)}", flush=True)
            listed_after = read_back(server.base_url, api_token)
            after = stored_check(store_url, writes)
        finally:
            server.stop()
        hash_after = sha256(map_path)

    p, f = percentiles(lat_p), percentiles(lat_f)
    base = "write_map of the whole map (today's rewrite per push)"
    errors = err_p + err_f
    note_p = f"{args.pushes} pushes, concurrency {args.concurrency}, {args.pushes / wall_p:.0f}/s"
    note_f = (
        f"{args.filings} filings, concurrency {args.concurrency}, {args.filings / wall_f:.0f}/s"
    )
    workers = f"{args.workers} workers, {args.size} map"
    # The kept-alive connections stay with the worker that accepted them: an uneven split
    # queues the busier worker's requests (its p95), however idle the other is.
    note_p += f", connections per worker {split.get('push')}"
    note_f += f", connections per worker {split.get('filing')}"
    for q in (50, 95):
        tgt = f"<= {TARGET_MS:.0f} ms, 0 errors" if q == 95 else None
        emit(
            Row(
                f"store_push_http_p{q}", p[q], "ms", rb[q], base, target=tgt,
                met=(p[q] <= TARGET_MS and err_p == 0) if q == 95 else None,
                note=f"{note_p}, {workers}" if q == 50 else "",
            )
        )  # fmt: skip
    for q in (50, 95):
        tgt = f"<= {TARGET_MS:.0f} ms, 0 errors" if q == 95 else None
        emit(
            Row(
                f"store_filing_http_p{q}", f[q], "ms", rb[q], base, target=tgt,
                met=(f[q] <= TARGET_MS and err_f == 0) if q == 95 else None,
                note=f"{note_f}, {workers}" if q == 50 else "",
            )
        )  # fmt: skip
    # What the latencies rest on, whatever else the machine runs: server CPU per write.
    load = f"load average {load_before:.1f} → {load_after:.1f} on {os.cpu_count()} cores"
    phases = (
        ("push", cpu1 - cpu0, client_p, args.pushes),
        ("filing", cpu2 - cpu1, client_f, args.filings),
    )
    for kind, cpu, client, n in phases:
        emit(
            Row(
                f"store_{kind}_server_cpu", 1000.0 * cpu / max(n, 1), "ms", note=(
                    f"CPU of both workers per {kind} (user + system) during the timed phase; "
                    f"load generator {1000.0 * client / max(n, 1):.2f} ms per {kind}; {load}"
                ),
            )
        )  # fmt: skip
    emit(
        Row(
            "store_write_errors", errors, "requests", target="0", met=errors == 0,
            note=f"push {err_p}, filing {err_f}"
            + (f"; e.g. {'; '.join(examples)}" if examples else ""),
        )
    )  # fmt: skip
    acked_ids = set(writes.acked_projects)
    lost = (
        len(check["missing_projects"]) + len(check["missing_filings"])
        + len(check["wrong_projects"]) + len(writes_before - listed)
    )  # fmt: skip
    not_listed = len([pid for pid in acked_ids if pid not in listed_after])
    emit(
        Row(
            "store_acked_writes_missing", lost, "writes", target="0",
            met=lost == 0,
            note=f"before the kills: {len(writes_before)} acked, {check['n_projects']} projects "
            f"+ {check['n_filings']} filings stored; GET /projects listed {len(listed)} "
            f"({len(writes_before - listed)} acked not listed)",
        )
    )  # fmt: skip
    unchanged = hash_before == hash_mid == hash_after
    emit(
        Row(
            "store_map_sha256_unchanged", float(unchanged), "bool", target="1", met=unchanged,
            note=f"sha256 {hash_before[:12]}… before, after the load and after the kills",
        )
    )  # fmt: skip
    kill_lost = len(after["missing_projects"]) + len(after["missing_filings"])
    kill_lost += len(after["wrong_projects"]) + not_listed
    partial = sum(after["partial"].values())
    ok = kill_lost == 0 and partial == 0 and not after["problems"] and not retry["still_failing"]
    served = [r["replacement_serving_s"] for r in rounds if r["replacement_serving_s"] is not None]
    emit(
        Row(
            "store_kill9_acked_missing", kill_lost, "writes", target="0, no partial rows, "
            "integrity ok", met=ok,
            note=f"{len(rounds)} rounds of kill -9 of a worker; {sum(r['acked'] for r in rounds)} "
            f"writes acked during them, {kill_failed} cut off in flight (retried with their key: "
            f"{retry['acked']}/{retry['retried']} acked); partial rows {after['partial']}; "
            f"integrity {'ok' if not after['problems'] else after['problems'][:3]}; replacement "
            f"serving after {served} s" + ("; server restarted" if restarted else ""),
        )
    )  # fmt: skip
    emit(
        Row(
            "store_integrity_check", float(not after["problems"]), "bool", target="1",
            met=not after["problems"],
            note=f"{after['n_projects']} projects, {after['n_filings']} filings in the store",
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
