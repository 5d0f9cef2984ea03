"""The synthetic city generator: deterministic, as big as promised, valid and consistent."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from bench.citygen import STRIPS, city_map_path, generate_city
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import read_map
from onemap.geo.schema import CORE_LAYERS
from onemap.routing.build import corridor_graph


@pytest.fixture(scope="module")
def district():
    return generate_city("district", seed=7)


def test_same_seed_gives_same_content(district):
    again = generate_city("district", seed=7)
    assert again.content_hash() == district.content_hash()
    assert generate_city("district", seed=8).content_hash() != district.content_hash()


def test_every_layer_passes_validation_unchanged(tmp_path):
    path = city_map_path("district", seed=3, cache_dir=tmp_path)
    stored = read_map(path)
    for name in CORE_LAYERS:
        layer = stored[name]
        assert len(layer), f"{name} is empty"
        clean, report = validate_layer(name, layer, source=str(path))
        assert len(clean) == len(layer)
        assert report.repaired_geometries == 0
        assert not report.filled.get("roads"), "every road carries its cross-section"


def test_cache_is_keyed_by_size_and_seed(tmp_path):
    first = city_map_path("district", seed=1, cache_dir=tmp_path)
    stamp = first.stat().st_mtime_ns
    assert city_map_path("district", seed=1, cache_dir=tmp_path).stat().st_mtime_ns == stamp
    other = city_map_path("district", seed=2, cache_dir=tmp_path)
    assert other != first and other.exists()


def test_sizes_as_promised(district):
    # Corridor edges are counted on the routing graph: ~10k for the district.
    edges_per_road = corridor_graph(district).n_edges / len(district["roads"])
    assert 8_000 <= corridor_graph(district).n_edges <= 16_000
    city = generate_city("city", seed=0)
    counts = city.counts()
    assert counts["landuse"] >= 100_000
    assert counts["assets"] >= 20_000
    # Building the city's graph takes minutes (the benchmark counts it: ~1.46M edges); the
    # same street pattern at the district's density of edges per road gives well over 1M.
    assert counts["roads"] * edges_per_road >= 1_100_000
    assert city.crs_metric == "EPSG:4549"
    west, south, east, north = city.bounds
    assert 118.5 < west < east < 121.5 and 34.0 < south < north < 35.2  # around Lianyungang


def test_grid_is_consistent(district):
    assets, feeders, subs = district["assets"], district["feeders"], district["substations"]
    assert assets["feeder_id"].isin(feeders["feeder_id"]).all()
    assert feeders["substation_id"].isin(subs["substation_id"]).all()
    assert feeders["feeder_id"].isin(assets["feeder_id"]).all(), "no feeder without assets"
    # Loads add up: a feeder carries its transformers, a substation its feeders.
    tx = assets[assets["kind"] == "transformer"]
    assert tx["capacity_kva"].notna().all()
    carried = tx.groupby("feeder_id")["peak_load_kva"].sum() / 1000
    loads = feeders.set_index("feeder_id")["peak_load_mva"]
    assert np.all(loads.reindex(carried.index).to_numpy() <= carried.to_numpy() + 0.01)
    assert subs["peak_load_mva"].sum() > 0
    assert (district["landuse"]["landuse_code"] == "1303").sum() >= len(subs)


def _corridor_and_carriageway(roads):
    half = roads["motor_width_m"].to_numpy() / 2
    left = half + sum(roads[f"{s}_left_m"] for s in STRIPS).to_numpy()
    right = half + sum(roads[f"{s}_right_m"] for s in STRIPS).to_numpy()
    lines = roads.geometry.values
    sides = np.concatenate(
        [
            shapely.buffer(lines, left, single_sided=True, cap_style="flat"),
            shapely.buffer(lines, -right, single_sided=True, cap_style="flat"),
        ]
    )
    carriageway = shapely.buffer(lines[half > 0], half[half > 0], cap_style="flat")
    return shapely.union_all(sides), shapely.union_all(carriageway)


def test_assets_sit_at_the_corridor_edge_and_parcels_clear_of_roads(district):
    roads = district.metric("roads")
    corridor, carriageway = _corridor_and_carriageway(roads)
    assets = district.metric("assets").geometry.values
    # Inside the corridors (projection noise: a few centimetres), never on a carriageway, and
    # within half a metre of the corridor's outer edge (except where corridors overlap, e.g. a
    # footpath meeting the road, and the union's edge moves away).
    assert shapely.distance(assets, corridor).max() < 0.05
    assert not shapely.intersects(assets, carriageway).any()
    assert np.quantile(shapely.distance(assets, corridor.boundary), 0.95) < 0.5
    # Parcels never reach into a carriageway and barely touch the side strips.
    parcels = district.metric("landuse").geometry.values
    assert not shapely.intersects(parcels, carriageway).any()
    overlap = shapely.area(shapely.intersection(parcels, corridor))
    assert overlap.sum() < 1e-3 * shapely.area(parcels).sum()
