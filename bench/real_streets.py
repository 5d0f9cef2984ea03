"""Real streets: how much of each extract's mapped ``footway=sidewalk`` length lies on sidewalk
strips of onemap's corridor model, and how much on carriageway (issue 13).

``python -m bench.real_streets`` prints one row per extract in ``../shared/data/osm`` (and
``osm/streets``): sidewalk ways, their length, the share on walkable strips (sidewalk, or a
footpath of its own), the share on carriageway (motor lane or junction) and the rest.
The tests in ``tests/geo/importers/test_real_streets.py`` assert the targets per extract.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from onemap.geo.crs import metric_crs_for_bounds
from onemap.geo.importers.osm import osm_layers
from onemap.geo.importers.osm_read import read_osm
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.routing.build import corridor_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm"
WALKABLE = ("sidewalk",)
CARRIAGEWAY = ("motor_lane", "junction")


def extracts() -> list[Path]:
    """Every OSM extract beside the checkout."""
    files = sorted(p for p in SHARED.glob("*") if p.is_file())
    return files + sorted((SHARED / "streets").glob("*.osm"))


def onemap_of(path: Path) -> tuple[OneMap, gpd.GeoDataFrame]:
    """The one map of an extract's roads (metric) and its raw ``footway=sidewalk`` ways."""
    layers, _ = osm_layers(path)
    roads, _ = validate_layer("roads", layers["roads"], source=str(path))
    crs = metric_crs_for_bounds(tuple(roads.total_bounds))
    m = OneMap(layers={"roads": roads}, crs_metric=crs)
    raw = read_osm(path).ways
    footway = raw["footway"] if "footway" in raw.columns else None
    sidewalks = raw[(footway == "sidewalk")] if footway is not None else raw.iloc[:0]
    return m, sidewalks.to_crs(crs)


def shares(path: Path) -> dict[str, float]:
    """Length (m) of the mapped sidewalk ways and the share of it on each kind of strip."""
    m, sidewalks = onemap_of(path)
    if not len(sidewalks):
        return {"ways": 0, "length_m": 0.0}
    model, _ = corridor_model(m)
    polys = model.partitioned()  # who owns the ground where strips overlap
    lines = shapely.union_all(sidewalks.geometry.values)
    total = float(shapely.length(lines))
    out: dict[str, float] = {"ways": len(sidewalks), "length_m": total}
    on = 0.0
    for kind in polys["corridor"].unique():
        area = shapely.union_all(polys.geometry[polys["corridor"] == kind].values)
        share = float(shapely.length(shapely.intersection(lines, area))) / total
        out[kind] = share
        on += share
    out["walkable"] = sum(out.get(k, 0.0) for k in WALKABLE)
    out["carriageway"] = sum(out.get(k, 0.0) for k in CARRIAGEWAY)
    out["off_corridor"] = max(0.0, 1.0 - on)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="extract file names (default: all)")
    args = parser.parse_args()
    print(f"{'extract':34} {'ways':>5} {'km':>7} {'walkable':>9} {'carriageway':>11} {'off':>6}")
    for path in extracts():
        if args.names and path.name not in args.names:
            continue
        s = shares(path)
        if not s["ways"]:
            print(f"{path.name:34} {0:5d}       -  (no footway=sidewalk ways)")
            continue
        print(
            f"{path.name:34} {int(s['ways']):5d} {s['length_m'] / 1000:7.2f} "
            f"{s['walkable']:9.1%} {s['carriageway']:11.1%} {s['off_corridor']:6.1%}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
