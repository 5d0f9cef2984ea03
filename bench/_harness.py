"""Shared pieces of the benchmarks: result rows, timing, the machine's description, results files.

A benchmark figure is only meaningful next to a baseline measured in the same run on the same
machine, so every :class:`Row` carries both and their ratio (``baseline / value``: how many times
faster or smaller the measured figure is). A benchmark reports a row with :func:`emit`, which
prints it and, when ``python -m bench`` runs the benchmark, also appends it as one JSON line to
the file named by ``$ONEMAP_BENCH_ROWS`` so the runner can collect it into the results file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROWS_ENV = "ONEMAP_BENCH_ROWS"


@dataclass
class Row:
    """One benchmark figure against its baseline and target.

    ``ratio`` is ``baseline / value`` (> 1: better than the baseline); ``target`` is the stated
    bound as text (e.g. ``"<= 5 s"``) and ``met`` whether it holds (None where there is none).
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str | None = None
    met: bool | None = None
    ratio: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline is not None and self.value:
            self.ratio = self.baseline / self.value

    def text(self) -> str:
        """One printable line: figure, baseline, ratio, target and verdict."""
        parts = [f"{self.name:<34} {_fmt(self.value)} {self.unit}"]
        if self.baseline is not None:
            parts.append(f"baseline {_fmt(self.baseline)} {self.unit} ({self.baseline_name})")
        if self.ratio is not None:
            parts.append(f"ratio {self.ratio:.1f}x")
        if self.target:
            parts.append(f"target {self.target}: {'met' if self.met else 'MISSED'}")
        if self.note:
            parts.append(self.note)
        return " | ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("value", "baseline", "ratio"):
            if d[key] is not None:
                d[key] = float(round(d[key], 6))
        return d


def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:,.0f}"


def emit(row: Row) -> Row:
    """Print ``row``; under ``python -m bench`` also append it to ``$ONEMAP_BENCH_ROWS``."""
    print(row.text(), flush=True)
    target = os.environ.get(ROWS_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
    return row


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall time of one call of ``fn`` (seconds) and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def percentiles(samples_s: list[float] | np.ndarray, qs=(50, 95, 99)) -> dict[int, float]:
    """Percentiles of timings in seconds, returned in milliseconds."""
    arr = np.asarray(samples_s, dtype=float) * 1000.0
    return {q: float(np.percentile(arr, q)) for q in qs}


def machine() -> dict:
    """CPU count and model, RAM, Python and key library versions of this machine."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    ram = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    versions = {}
    for mod in ("numpy", "scipy", "networkx", "shapely", "geopandas", "fastapi", "uvicorn"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # a missing optional library is just not listed
            continue
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(ram / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": versions,
    }


def write_results(rows: list[Row], extra: dict | None = None, out_dir: Path | None = None) -> Path:
    """Write ``<date>.json`` (this run's rows) and update ``latest.json`` under ``bench/results``:
    a row measured now replaces the row of the same name, rows of benchmarks not run this time
    stay with the date they were measured (so ``--only`` runs keep the whole table). Returns
    the dated path."""
    out_dir = out_dir or RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    stamp = now.isoformat(timespec="seconds")
    fresh = [{**(r.to_dict() if isinstance(r, Row) else r), "measured": stamp} for r in rows]
    doc = {"date": stamp, "machine": machine(), "results": fresh, **(extra or {})}
    dated = out_dir / f"{now:%Y-%m-%d}.json"
    dated.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    latest_path = out_dir / "latest.json"
    kept: list[dict] = []
    if latest_path.exists():
        old = json.loads(latest_path.read_text(encoding="utf-8"))
        names = {r["name"] for r in fresh}
        for r in old.get("results", []):
            if r["name"] not in names:
                kept.append({**r, "measured": r.get("measured", old.get("date"))})
    latest = {**doc, "results": kept + fresh}
    text = json.dumps(latest, ensure_ascii=False, indent=2) + "\n"
    latest_path.write_text(text, encoding="utf-8")
    return dated


def read_rows(path: Path) -> list[dict]:
    """Rows appended by :func:`emit` to a rows file (missing file: none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
