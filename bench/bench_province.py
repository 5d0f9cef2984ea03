"""Province scale on Dask (issue 19): ≥ 13 synthetic town maps, one after another in one process
against ``onemap.batch`` on a LocalCluster of 1 and 2 worker processes, in the same run.

Figures (each printed with its baseline and ratio):

* sequential: every map's readiness task (read map, readiness, write GeoPackage) one after
  another in this process — the baseline;
* batch with N workers (N = 1, 2): the same tasks as one Dask task per map, timed from submission
  to the last result with the cluster already started and its workers warm (imports done), and
  once more including the cluster's start-up.

Results are compared map by map (counts overall and per district, and every parcel's class in the
written layer); a difference fails the benchmark. The maps are ``bench.citygen`` maps (seeds
0…N-1) cached under ``bench/cache`` with their graph caches beside them (built once, not timed), so
each task does what a province run does on maps that have been opened before: read, classify,
write. ``--cold`` switches the graph cache off (``ONEMAP_GRAPH_CACHE=0``) so every task also builds
its corridor graph.

    .venv/bin/python -m bench.bench_province [--maps 13] [--size town] [--workers 1,2] [--cold]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pyogrio

from bench._harness import Row, emit, timed
from bench.citygen import SIZES, city_map_path
from onemap.batch import run_batch
from onemap.batch.run import MapOutcome, cluster_client
from onemap.batch.tasks import readiness_task


def _warm_worker() -> int:
    """Import what a task imports, so that the timed run does not pay for it."""
    import onemap.connection.bulk
    import onemap.connection.zones
    import onemap.geo.mapfile  # noqa: F401

    return os.getpid()


def _warm_graph(path: str) -> int:
    """Load (or build and store) the graph cache beside one map, as this process sees the code."""
    from onemap.geo.mapfile import read_map
    from onemap.routing.build import corridor_graph

    return corridor_graph(read_map(path)).n_nodes


def _classes(out: str) -> dict[str, str]:
    frame = pyogrio.read_dataframe(
        out, layer="readiness", columns=["parcel_id", "readiness"], read_geometry=False
    )
    return dict(zip(frame["parcel_id"], frame["readiness"], strict=True))


def _same(a: list[MapOutcome], b: list[MapOutcome]) -> list[str]:
    """Names of the maps whose results differ between two runs (empty: equal map by map)."""
    diff = []
    for x, y in zip(a, b, strict=True):
        if (x.map, x.status, x.parcels, x.counts, x.districts) != (
            y.map,
            y.status,
            y.parcels,
            y.counts,
            y.districts,
        ) or _classes(x.out) != _classes(y.out):
            diff.append(x.map)
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", type=int, default=13, help="how many maps (Jiangsu: 13 cities)")
    ap.add_argument("--size", default="town", choices=list(SIZES))
    ap.add_argument("--workers", default="1,2", help="worker counts of the local clusters")
    ap.add_argument("--cold", action="store_true", help="no graph cache: every task builds it")
    args = ap.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]

    t_gen, paths = timed(lambda: [city_map_path(args.size, seed) for seed in range(args.maps)])
    if args.cold:
        os.environ["ONEMAP_GRAPH_CACHE"] = "0"  # inherited by the worker processes
    else:
        t_cache, _ = timed(lambda: [_warm_graph(str(p)) for p in paths])
        print(f"graph caches beside the maps ready: {t_cache:.1f} s (not timed below)")
    print(f"{len(paths)} {args.size} maps ({t_gen:.1f} s to generate or find; not timed)")
    label = f"{len(paths)} {args.size} maps" + (", no graph cache" if args.cold else "")

    with tempfile.TemporaryDirectory(prefix="bench-province-") as tmp:
        seq_dir = Path(tmp) / "sequential"
        seq_dir.mkdir()
        readiness_task(str(paths[0]), str(Path(tmp) / "warm"))  # imports; not timed

        def sequential() -> list[MapOutcome]:
            return [MapOutcome(**readiness_task(str(p), str(seq_dir))) for p in paths]

        t_seq, seq = timed(sequential)
        parcels = sum(o.parcels for o in seq)
        emit(
            Row(
                f"province readiness sequential ({label})",
                t_seq,
                "s",
                note=f"{parcels} parcels, {t_seq / len(paths):.2f} s per map, one process",
            )
        )
        for n in worker_counts:
            t0 = time.perf_counter()
            with cluster_client(workers=n) as client:
                client.wait_for_workers(n)
                client.run(_warm_worker)
                t_start = time.perf_counter() - t0
                if not args.cold:  # the cache key includes the routing code: check it is warm
                    client.gather(client.map(_warm_graph, [str(p) for p in paths], pure=False))
                out = Path(tmp) / f"batch-{n}"
                t_run, result = timed(lambda c=client, o=out: run_batch(paths, o, client=c))
            t_total = t_start + t_run  # the graph cache check between them is not counted
            diff = _same(seq, result.outcomes)
            if diff:
                raise SystemExit(f"batch with {n} workers differs from sequential: {diff}")
            emit(
                Row(
                    f"province readiness {n} worker{'s' if n > 1 else ''} ({label})",
                    t_run,
                    "s",
                    baseline=t_seq,
                    baseline_name="the same maps one after another in one process",
                    target=">= 1.5x" if n == 2 else None,
                    met=(t_seq / t_run >= 1.5) if n == 2 else None,
                    note=f"cluster warm; results equal map by map ({len(paths)} maps)",
                )
            )
            emit(
                Row(
                    f"province readiness {n} worker{'s' if n > 1 else ''} incl. start-up",
                    t_total,
                    "s",
                    baseline=t_seq,
                    baseline_name="sequential",
                    note=f"LocalCluster start + worker imports {t_start:.1f} s "
                    "(graph caches checked by the workers before, not timed)",
                )
            )


if __name__ == "__main__":
    main()
