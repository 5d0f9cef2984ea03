"""The synthetic demo district (示范片区): a deterministic, seeded one map at Lianyungang.

:func:`generate_demo` lays out, in the metric CRS of 119.2°E 34.6°N (EPSG:4549), a district of
about 2.4 km² and returns its seven layers in EPSG:4326:

- **roads**: a jittered street grid with a diagonal arterial, T-junctions and dead ends; each
  street section is one centre line whose vertices include every intersection it meets, so
  streets share exact intersection vertices. Cross-sections vary by class (arterials with bike
  lanes and green belts, secondary roads with 1.5–2.5 m bike lanes, some asymmetric, branch roads
  with sidewalks only).
- **landuse**: the blocks between the road reserves (each road buffered by its wider half
  cross-section plus a setback), cut into parcels; three districts with their own land-use mix,
  FAR, status, area type and outage hours; seven 1303 power-supply parcels (two hold
  the substations, five are candidate sites for the planner).
- **substations**, **feeders**, **assets**: two 110 kV substations on 1303 parcels; 10 kV feeders
  along the road centre lines; transformers, branch boxes, ring main units and switching
  stations at the outer edge of the road corridors. The north-east corner (a planned new area)
  is left without any grid, so that it shows up as a grid gap.
- **ducts** along sidewalks (one crossing a carriageway) and **projects** pushed by the approval
  platform, one per connection category; the pushed ones name the point they will load and
  the year they take it (``expected_year``, for the readiness year by year).

Everything random comes from one ``numpy.random.default_rng(seed)`` drawn in a fixed order, so
the same seed gives the same layers. The numbers at the top of this module are knobs of the
synthetic data, not policy rules; the policy numbers the generator needs (outage targets,
transformer sizes, switching-station size) are read from the rule table.

:func:`build_demo` validates the layers like any other source and writes the one map with
metadata marking it synthetic.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from onemap.demo.district import (
    CENTRE_LONLAT,
    DEMO_NAME,
    GRID_X_M,
    GRID_Y_M,
    RULES_ID,
    SEED,
    SOURCE,
    _landuse,
    _metric_crs,
    _road_layer,
    _road_lines,
    _roads,
    built_at,
)
from onemap.demo.grid import (
    _asset_sites,
    _assets,
    _ducts,
    _edge_owner,
    _feeder_paths,
    _feeders,
    _projects,
    _substations,
)
from onemap.geo.crs import STORAGE_CRS, lonlat_to_metric
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap, write_map
from onemap.geo.schema import LAYER_NAMES

__all__ = ["SEED", "build_demo", "generate_demo"]


def generate_demo(seed: int = SEED) -> dict[str, gpd.GeoDataFrame]:
    """The demo district's seven layers in EPSG:4326 (same ``seed``, same layers).

    Laid out in the metric CRS around 119.2°E 34.6°N, with the columns of
    :mod:`onemap.geo.schema`; see the module docstring for what the district contains.
    """
    rng = np.random.default_rng(seed)
    crs = _metric_crs()
    centre = np.array(lonlat_to_metric(*CENTRE_LONLAT, crs), dtype=float)
    net = _roads(rng, centre - np.array([GRID_X_M[-1], GRID_Y_M[-1]]) / 2)
    lines = _road_lines(net)
    landuse, power_sites = _landuse(rng, net, lines)
    substations = _substations(rng, landuse, power_sites)
    graph, paths, feeder_sub = _feeder_paths(net, substations.geometry.to_numpy())
    feeders = _feeders(rng, net, substations.geometry.to_numpy(), paths, feeder_sub)
    owner = _edge_owner(net, graph, paths, feeders.geometry.to_numpy())
    assets = _assets(rng, net, lines, _asset_sites(rng, net, owner, paths, feeder_sub), feeders)
    layers = {
        "landuse": landuse,
        "roads": _road_layer(net, lines),
        "substations": substations,
        "feeders": feeders,
        "assets": assets,
        "ducts": _ducts(net),
        "projects": _projects(rng, landuse, assets, feeders, seed, substations),
    }
    return {name: layers[name].to_crs(STORAGE_CRS) for name in LAYER_NAMES if name in layers}


def build_demo(path: str | Path, seed: int = SEED) -> OneMap:
    """Generate the demo district, validate every layer as any source is, and write it to
    ``path`` (a GeoPackage) with metadata marking it synthetic. Returns the map."""
    layers, reports = {}, []
    for name, gdf in generate_demo(seed).items():
        layers[name], report = validate_layer(name, gdf, source=SOURCE)
        reports.append(report)
    meta = {
        "synthetic": True,
        "name": DEMO_NAME,
        "generator": SOURCE,
        "seed": seed,
        "sources": [SOURCE],
        "built_at": built_at(seed),
        "rules": RULES_ID,
        "repaired_geometries": sum(r.repaired_geometries for r in reports),
        "filled_cross_sections": sum(r.filled.get("roads", 0) for r in reports),
    }
    onemap = OneMap(layers=layers, crs_metric=_metric_crs(), meta=meta)
    write_map(onemap, path)
    return onemap
