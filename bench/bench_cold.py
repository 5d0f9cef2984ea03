"""Cold start on real and synthetic districts (issue 18): what a new user waits for first.

Every figure comes from a fresh interpreter with no graph cache:

* **xinwu** (``../shared/data/jiangsu-xinwu``: 2033 EULUC parcels, 2046 km of OSM roads, no
  grid): ``onemap build`` (EULUC mapping) → corridor graph → first ``check-route`` and first
  ``route``; peak RSS, edges per km of road and the mean edge length; then the second start
  (a fresh process reading the graph the first one cached, and the same first route);
* **city** (``bench/citygen.py``, ~105k parcels): read the map → corridor graph → first
  ``preview`` → ``readiness`` of every parcel.

The baseline is the same probes run in the same session on the code of ``--baseline-ref`` (a
``git worktree`` of that commit, by default the last commit before the issue-18 work), so the
ratio compares like with like on a noisy machine; ``--baseline-ref none`` skips it.

    python -m bench.bench_cold                      # both, with the same-run baseline
    python -m bench.bench_cold --only xinwu --baseline-ref none
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._harness import Row, emit

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
XINWU = SHARED / "jiangsu-xinwu"
BASELINE_REF = "cf4035e"  # the last commit before the corridor-graph work of issue 18
# Targets of issue 18 (seconds, MiB).
TARGETS = {
    "xinwu_graph_s": 8.0,
    "xinwu_peak_mib": 600.0,
    "xinwu_end_to_end_s": 12.0,
    "city_graph_s": 10.0,
    "city_end_to_end_s": 20.0,
}


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _written(graph_at: float) -> float:
    """Seconds from the start of the graph until its cache entry is on disk: the entry is
    written behind the first answers (``store.load_or_build``), so it is waited for here,
    and the peak RSS that follows includes the writer."""
    from onemap.routing import store

    flush = getattr(store, "flush", None)  # a baseline before the write-behind saved in line
    if flush is not None:
        flush()
    return time.perf_counter() - graph_at


def probe_xinwu(work: Path) -> dict:
    """build → graph → first check-route and route, in this fresh process."""
    import numpy as np
    import shapely
    from shapely.ops import substring

    from onemap.geo.build import build_map
    from onemap.routing import best_route, check_route
    from onemap.routing.build import corridor_graph

    out: dict = {}
    specs = [
        f"landuse={XINWU / 'xinwu_land_use.gpkg'}",
        f"roads={XINWU / 'xinwu_road_centerlines.gpkg'}",
    ]
    out["build_s"], (m, _) = _timed(
        lambda: build_map(specs, work / "xinwu.gpkg", landuse_mapping="euluc")
    )
    graph_at = time.perf_counter()
    out["graph_s"], g = _timed(lambda: corridor_graph(m))
    roads = m.metric("roads")
    km = float(roads.length.sum()) / 1000.0
    # a drawn route: 400 m along the longest road, 6 m to its side (a sidewalk, if any)
    longest = roads.geometry.values[int(np.argmax(roads.length.to_numpy()))]
    piece = shapely.offset_curve(substring(longest, 0, 400), 6.0)
    out["check_s"], verdict = _timed(lambda: check_route(m, piece, 10.0, crs=m.crs_metric))
    a, b = route_ends(m, longest)
    out["route_s"], res = _timed(lambda: best_route(m, a, b, 0.4))
    out["cache_written_s"] = _written(graph_at)
    out.update(
        end_to_end_s=out["build_s"] + out["graph_s"] + out["check_s"] + out["route_s"],
        nodes=int(g.n_nodes),
        edges=int(g.n_edges),
        road_km=round(km, 1),
        edges_per_km=round(g.n_edges / km, 1),
        mean_edge_m=round(float(g.length.mean()), 2),
        eligible=bool(verdict.eligible),
        route_m=round(float(res.shortest_route.length_m) if res.shortest_route else -1.0, 1),
    )
    return out


def probe_xinwu_cached(work: Path) -> dict:
    """The second start on Xinwu: read the map the cold probe built → graph from the cache
    beside it → the same first route, in a fresh process."""
    import numpy as np

    from onemap.geo.mapfile import read_map
    from onemap.routing import best_route
    from onemap.routing.build import corridor_graph

    out: dict = {}
    out["read_s"], m = _timed(lambda: read_map(work / "xinwu.gpkg"))
    out["graph_s"], g = _timed(lambda: corridor_graph(m))
    roads = m.metric("roads")
    longest = roads.geometry.values[int(np.argmax(roads.length.to_numpy()))]
    a, b = route_ends(m, longest)
    out["route_s"], _ = _timed(lambda: best_route(m, a, b, 0.4))
    out["start_s"] = out["read_s"] + out["graph_s"] + out["route_s"]
    out["edges"] = int(g.n_edges)
    return out


def route_ends(m, longest) -> tuple[tuple[float, float], tuple[float, float]]:
    """The first route's ends: lon/lat at 20 % and 80 % along the longest road (both probes
    of Xinwu route between the same points)."""
    import shapely

    from onemap.geo.crs import metric_to_lonlat

    ends = shapely.get_coordinates(
        shapely.line_interpolate_point(longest, [0.2, 0.8], normalized=True)
    )
    return metric_to_lonlat(*ends[0], m.crs_metric), metric_to_lonlat(*ends[1], m.crs_metric)


def probe_city(work: Path, source: Path) -> dict:
    """read → graph → first preview → readiness of every parcel, in this fresh process."""
    import shutil

    from onemap.connection.bulk import readiness
    from onemap.connection.site_preview import preview
    from onemap.geo.crs import metric_to_lonlat
    from onemap.geo.mapfile import read_map
    from onemap.routing.build import corridor_graph

    target = work / source.name
    shutil.copy(source, target)  # no cache beside the copy
    out: dict = {}
    out["read_s"], m = _timed(lambda: read_map(target))
    graph_at = time.perf_counter()
    out["graph_s"], g = _timed(lambda: corridor_graph(m))
    parcel = m.metric("landuse").geometry.values[len(m["landuse"]) // 2]
    lon, lat = metric_to_lonlat(parcel.centroid.x, parcel.centroid.y, m.crs_metric)
    out["preview_s"], _ = _timed(lambda: preview(m, lon, lat, 50.0, "lv_residential"))
    out["readiness_s"], res = _timed(lambda: readiness(m))
    out["cache_written_s"] = _written(graph_at)
    out.update(
        end_to_end_s=out["read_s"] + out["graph_s"] + out["preview_s"] + out["readiness_s"],
        nodes=int(g.n_nodes),
        edges=int(g.n_edges),
        parcels=len(m["landuse"]),
        counts=res.counts,
    )
    return out


def run_probe(kind: str, code: Path, source: Path | None, *, cached: bool = False) -> dict:
    """Run one probe in a fresh interpreter on the code in ``code`` (this script, that
    ``onemap``); its result. ``cached`` (xinwu): then a second fresh process starts from the
    cache the first one wrote (its figures under ``cached``)."""
    with tempfile.TemporaryDirectory(prefix=f"onemap-cold-{kind}-") as work:
        out = _probe(kind, code, source, work)
        if cached:
            out["cached"] = _probe(f"{kind}_cached", code, source, work)
    return out


def _probe(kind: str, code: Path, source: Path | None, work: str) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{code}:{REPO}", "ONEMAP_GRAPH_CACHE": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--probe", kind, "--work", work]
    cmd += ["--source", str(source or "")]
    proc = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} probe on {code} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def baseline_tree(ref: str, root: Path) -> Path | None:
    """A git worktree of ``ref`` under ``root`` (None when git or the ref is not there)."""
    path = root / f"baseline-{ref}"
    done = subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), ref],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return path if done.returncode == 0 else None


def _rows(kind: str, now: dict, base: dict | None, ref: str) -> None:
    def row(key: str, unit: str, target_key: str | None = None) -> None:
        target = TARGETS.get(target_key or f"{kind}_{key}")
        emit(
            Row(
                f"{kind}_cold_{key}",
                now[key],
                unit,
                baseline=None if base is None else base[key],
                baseline_name=f"same probes on {ref}",
                target=None if target is None else f"<= {target:g} {unit}",
                met=None if target is None else now[key] <= target,
            )
        )

    steps = ("build_s", "graph_s", "check_s", "route_s") if kind == "xinwu" else ()
    steps = steps or ("read_s", "graph_s", "preview_s", "readiness_s")
    for key in steps:
        row(key, "s")
    row("end_to_end_s", "s")
    if "cache_written_s" in now:
        emit(
            Row(
                f"{kind}_cold_cache_written_s",
                now["cache_written_s"],
                "s",
                note="from the start of the graph until its cache entry is on disk (written "
                "behind the first answers; the next start reads it)",
            )
        )
    row("peak_mib", "MiB")
    if kind == "xinwu":
        emit(Row("xinwu_edges_per_km", now["edges_per_km"], "edges/km", note="of road"))
        warm = now["cached"]
        emit(
            Row(
                "xinwu_cached_start_s",
                warm["start_s"],
                "s",
                baseline=now["end_to_end_s"] - now["check_s"],
                baseline_name="the cold start of this run (build, graph, route)",
                note=f"read {warm['read_s']:.2f} s + graph from the cache "
                f"{warm['graph_s']:.2f} s + first route {warm['route_s']:.2f} s",
            )
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="xinwu,city")
    ap.add_argument("--size", default="city", help="citygen size of the city probe")
    ap.add_argument("--baseline-ref", default=BASELINE_REF)
    ap.add_argument("--probe", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe:
        work = Path(args.work)
        if args.probe == "city":
            out = probe_city(work, Path(args.source))
        else:
            out = (probe_xinwu if args.probe == "xinwu" else probe_xinwu_cached)(work)
        out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out, ensure_ascii=False))
        return
    kinds = [k for k in args.only.split(",") if k]
    source = None
    if "city" in kinds:
        from bench.citygen import city_map_path

        source = city_map_path(args.size)  # generated once, cached under bench/cache
    if "xinwu" in kinds and not XINWU.exists():
        print(f"skip xinwu: {XINWU} not found")
        kinds.remove("xinwu")
    with tempfile.TemporaryDirectory(prefix="onemap-cold-base-") as root:
        ref = args.baseline_ref
        base_code = None if ref == "none" else baseline_tree(ref, Path(root))
        try:
            for kind in kinds:
                print(f"{kind}: cold probe on this code …", flush=True)
                now = run_probe(kind, REPO, source, cached=kind == "xinwu")
                print(f"  {json.dumps(now, ensure_ascii=False)}", flush=True)
                base = None
                if base_code is not None:
                    print(f"{kind}: cold probe on {args.baseline_ref} …", flush=True)
                    base = run_probe(kind, base_code, source)
                    print(f"  {json.dumps(base, ensure_ascii=False)}", flush=True)
                _rows(kind, now, base, args.baseline_ref)
        finally:
            if base_code is not None:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(base_code)],
                    cwd=REPO,
                    capture_output=True,
                    check=False,
                )


if __name__ == "__main__":
    main()
