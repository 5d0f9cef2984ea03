"""``python -m bench`` (``make bench``): run every benchmark and write ``bench/results/*.json``.

Each ``bench/bench_*.py`` runs as its own subprocess (``python -m bench.<module>``), so one
benchmark's memory and imports never colour another's figures. Output is echoed as it comes;
rows a benchmark reports with :func:`bench._harness.emit` are collected into
``bench/results/<date>.json`` and ``bench/results/latest.json`` with the machine's description.

    python -m bench                       # all benchmarks
    python -m bench --only city,routing   # some of them
    python -m bench --only city -- --size town   # arguments after -- go to each benchmark
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._harness import ROWS_ENV, read_rows, write_results

BENCH_DIR = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Names of the benchmark modules (``bench_<name>.py``), in name order."""
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def run_one(module: str, args: list[str], rows_file: Path, timeout_s: float) -> dict:
    """Run one benchmark module as a subprocess, echoing its output; return its status."""
    env = {**os.environ, ROWS_ENV: str(rows_file)}
    t0 = time.perf_counter()
    print(f"\n=== {module} ===", flush=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=BENCH_DIR.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None
    deadline = t0 + timeout_s
    for line in proc.stdout:
        print(line, end="", flush=True)
        if time.perf_counter() > deadline:
            proc.kill()
            break
    rc = proc.wait()
    seconds = time.perf_counter() - t0
    status = "ok" if rc == 0 else ("timeout" if time.perf_counter() > deadline else "failed")
    return {"module": module, "returncode": rc, "status": status, "seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated names, e.g. city,routing")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per benchmark")
    parser.add_argument("--no-write", action="store_true", help="print only, write no results")
    args = parser.parse_args(argv)
    modules = discover()
    if args.only:
        wanted = {f"bench_{n.removeprefix('bench_')}" for n in args.only.split(",")}
        modules = [m for m in modules if m in wanted]
    statuses = []
    with tempfile.TemporaryDirectory() as tmp:
        rows_file = Path(tmp) / "rows.jsonl"
        for module in modules:
            statuses.append(run_one(module, passthrough, rows_file, args.timeout))
        rows = read_rows(rows_file)
    print("\n=== summary ===")
    for s in statuses:
        print(f"{s['module']:<20} {s['status']:<8} {s['seconds']:>8.1f} s")
    missed = [r["name"] for r in rows if r.get("met") is False]
    if missed:
        print("targets missed: " + ", ".join(missed))
    if not args.no_write and rows:
        path = write_results(
            rows, {"command": "python -m bench " + " ".join(sys.argv[1:]), "benchmarks": statuses}
        )
        print(f"results: {path} (and latest.json)")
        from bench import readme

        readme.main([])  # the README's performance table follows latest.json
    return 0 if all(s["status"] == "ok" for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
