"""OSM import: time and peak memory of ``import_osm`` against baselines read in the same run.

Each figure is measured in its own subprocess (``resource.getrusage`` ``ru_maxrss`` of that
process, so runs do not share memory). Baselines on the same file:

- ``pyosmium count``: one plain pyosmium pass with node locations that only counts highway
  ways (the floor for any pyosmium-based reader);
- ``GDAL OSM driver``: pyogrio reading the ``lines`` and ``multipolygons`` layers of the
  same file into GeoDataFrames (no cross-sections, no matching, no power).

    python -m bench.bench_import                 # the largest extract in ../shared/data/osm
    python -m bench.bench_import --file X.osm.pbf
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._harness import Row, emit

OSM_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _child(mode: str, path: str) -> dict:
    """Run one measurement in this process; return seconds and memory figures."""
    if mode == "import":
        from onemap.geo.importers.osm import import_osm

        before = _rss_mib()
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            report = import_osm(path, Path(tmp) / "layers.gpkg")
            seconds = time.perf_counter() - t0
        extra = {"counts": report.counts}
    elif mode == "count":
        import osmium

        before = _rss_mib()
        t0 = time.perf_counter()
        n = 0
        for _ in (
            osmium.FileProcessor(path)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        ):
            n += 1
        seconds = time.perf_counter() - t0
        extra = {"highway_objects": n}
    elif mode == "gdal":
        import pyogrio

        before = _rss_mib()
        t0 = time.perf_counter()
        lines = pyogrio.read_dataframe(path, layer="lines")
        polys = pyogrio.read_dataframe(path, layer="multipolygons")
        seconds = time.perf_counter() - t0
        extra = {"lines": len(lines), "multipolygons": len(polys)}
    else:
        raise ValueError(mode)
    return {"seconds": seconds, "peak_mib": _rss_mib(), "after_imports_mib": before, **extra}


def measure(mode: str, path: Path, repeat: int) -> dict:
    """Best of ``repeat`` subprocess runs of one mode."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-m", "bench.bench_import", "--child", mode, "--file", str(path)],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, str(args.file))))
        return
    path = args.file or max(OSM_DIR.glob("*.osm*"), key=lambda p: p.stat().st_size)
    size_mib = path.stat().st_size / 2**20
    print(f"OSM import benchmark: {path.name} ({size_mib:.1f} MiB)", flush=True)
    ours = measure("import", path, args.repeat)
    count = measure("count", path, args.repeat)
    gdal = measure("gdal", path, args.repeat)
    print(f"  import_osm wrote {ours['counts']}")
    print(
        f"  pyosmium pass saw {count['highway_objects']} highway objects; GDAL read "
        f"{gdal['lines']} lines, {gdal['multipolygons']} multipolygons"
    )
    for base, name in ((count, "pyosmium count"), (gdal, "GDAL OSM driver")):
        emit(
            Row(
                f"import_osm time vs {name}",
                ours["seconds"],
                "s",
                baseline=base["seconds"],
                baseline_name=name,
                note=f"{path.name}, best of {args.repeat}",
            )
        )
    for base, name in ((count, "pyosmium count"), (gdal, "GDAL OSM driver")):
        emit(
            Row(
                f"import_osm peak RSS vs {name}",
                ours["peak_mib"],
                "MiB",
                baseline=base["peak_mib"],
                baseline_name=name,
                note=(
                    f"work adds {ours['peak_mib'] - ours['after_imports_mib']:.0f} MiB over "
                    f"imports (baseline {base['peak_mib'] - base['after_imports_mib']:.0f} MiB)"
                ),
            )
        )


if __name__ == "__main__":
    main()
