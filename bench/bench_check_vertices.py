"""check_route cost against the route's vertex count (issue 12, item 15): linear, not quadratic.

A zig-zag route of N vertices across one demo street (each leg crosses the carriageway and the
sidewalk boundaries, so the verdict has several segments per vertex) is checked the way
``POST /api/v1/check-route`` does it (:func:`web.verdicts.check_route_dict`: the library verdict
plus each segment's geometry). Printed: the time for 1k, 5k, 20k and 50k vertices and the ratio
50k / 1k — about 50x when linear, about 2500x when quadratic; then routes of as many vertices
straight along one strip (few segments), against issue 18's targets (5k ≤ 100 ms, 50k ≤ 1 s).
The zig-zag has about six segments a vertex, and each segment costs its answer. The baseline
is the segment geometry cut the old way (``shapely.ops.substring`` per segment, which walks
the whole line per call) for the sizes where it finishes in reasonable time.

Each figure is the median of ``--repeat`` calls (3), the garbage of one call collected before
the next, outside the timing (a server frees one answer before the next request; a single
call on these noisy machines moves by a fifth between runs).

    .venv/bin/python bench/bench_check_vertices.py [--map data/demo.gpkg] [--sizes 1000,5000,50000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `onemap` and `web` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from shapely.ops import substring

from bench._harness import Row, emit
from onemap.geo.mapfile import read_map
from onemap.routing.check import check_route
from onemap.routing.routefile import as_metric_line
from web import verdicts

REPO = Path(__file__).resolve().parents[1]
BASELINE_MAX = 5000  # the per-segment substring takes minutes beyond this
TARGET_S = {5000: 0.1, 50000: 1.0}  # issue 18: a 5k-vertex route <= 100 ms, 50k <= 1 s


def zigzag(n: int, amp: float = 0.0001) -> dict:
    """A lon/lat zig-zag of ``n`` vertices along the demo street at lat 34.5999 (±11 m)."""
    x = np.linspace(119.1952, 119.1975, n)
    y = 34.5999 + np.where(np.arange(n) % 2, amp, -amp)
    return {"type": "LineString", "coordinates": np.column_stack([x, y]).tolist()}


def along(n: int) -> dict:
    """A lon/lat route of ``n`` vertices straight along the same street (one strip: a GPS
    trace or a densified drawing, few segments however many vertices)."""
    x = np.linspace(119.1952, 119.1975, n)
    return {"type": "LineString", "coordinates": np.column_stack([x, np.full(n, 34.5999)]).tolist()}


def timed(m, route: dict, repeat: int) -> tuple[float, int]:
    """Median seconds of ``repeat`` checks of ``route`` as the endpoint makes them, and the
    number of segments of the answer."""
    took = []
    for _ in range(repeat):
        gc.collect()  # the previous answer's garbage, not this call's time
        t0 = time.perf_counter()
        out = verdicts.check_route_dict(m, route, 10.0, None, "zh", max_vertices=None)
        took.append(time.perf_counter() - t0)
        segments = len(out["segments"])
        del out
    return statistics.median(took), segments


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", default=str(REPO / "data" / "demo.gpkg"))
    ap.add_argument("--sizes", default="1000,5000,20000,50000")
    ap.add_argument("--repeat", type=int, default=3, help="calls a size (median)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    m = read_map(args.map)
    verdicts.check_route_dict(m, zigzag(10), 10.0, None, "zh")  # warm: corridor model, caches
    times = {}
    for n in sizes:
        route = zigzag(n)
        times[n], segments = timed(m, route, args.repeat)
        baseline = None
        if n <= BASELINE_MAX:
            line = as_metric_line(route, m.crs_metric, max_vertices=None)
            verdict = check_route(m, line, 10.0)
            t0 = time.perf_counter()
            for s in verdict.segments:
                substring(line, s.start_m, s.end_m)
            cut_old = time.perf_counter() - t0
            t0 = time.perf_counter()
            verdicts.substrings(line, [(s.start_m, s.end_m) for s in verdict.segments])
            cut_new = time.perf_counter() - t0
            baseline = times[n] - cut_new + cut_old
        emit(
            Row(
                f"check-route {n} vertices zig-zag",
                times[n],
                "s",
                baseline=baseline,
                baseline_name="per-segment shapely substring" if baseline else "",
                target=f"<= {TARGET_S[n]:g} s" if n in TARGET_S else None,
                met=times[n] <= TARGET_S[n] if n in TARGET_S else None,
                note=f"{segments} segments, median of {args.repeat}",
            )
        )
    for n in sizes:  # the same vertex counts, one strip long: the targets
        took, segments = timed(m, along(n), args.repeat)
        emit(
            Row(
                f"check-route {n} vertices along one strip",
                took,
                "s",
                target=f"<= {TARGET_S[n]:g} s" if n in TARGET_S else None,
                met=took <= TARGET_S[n] if n in TARGET_S else None,
                note=f"{segments} segments, median of {args.repeat}",
            )
        )
    lo, hi = min(sizes), max(sizes)
    ratio = times[hi] / times[lo]
    linear = hi / lo
    emit(
        Row(
            f"ratio {hi // 1000}k / {lo // 1000}k",
            ratio,
            "x",
            target=f"<= {2 * linear:.0f}x (linear {linear:.0f}x, quadratic {linear**2:.0f}x)",
            met=ratio <= 2 * linear,
        )
    )


if __name__ == "__main__":
    main()
