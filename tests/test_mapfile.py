"""Layer tokens: caches follow replace_layer(), never a reused id(), and the graph cache key
depends only on the layers the corridor graph is built from."""

from __future__ import annotations

import gc

import numpy as np

from onemap.geo.mapfile import read_map
from onemap.readiness import readiness
from onemap.routing import cache


def test_tokens_change_on_replace_and_are_never_reused(demo_map_path):
    m = read_map(demo_map_path)
    seen = set(m.tokens())
    for _ in range(50):  # freed frames' ids are reused by CPython; tokens must not be
        m.replace_layer("projects", m["projects"].copy())
        gc.collect()
        token = m.tokens(("projects",))[0]
        assert token not in seen
        seen.add(token)


def test_graph_cache_key_ignores_projects_but_follows_roads(demo_map_path):
    m = read_map(demo_map_path)
    key = cache.content_hash(m)
    pushed = m["projects"].copy()
    pushed.loc[0, "requested_kw"] = pushed.loc[0, "requested_kw"] + 1.0
    m.replace_layer("projects", pushed)
    assert cache.content_hash(m) == key  # a pushed project keeps the cached graph
    roads = m["roads"].copy()
    roads.loc[0, "sidewalk_left_m"] += 0.5
    m.replace_layer("roads", roads)
    assert cache.content_hash(m) != key


def test_readiness_follows_a_replaced_asset_layer(demo_map_path):
    m = read_map(demo_map_path)
    before = readiness(m, kw=100, category="lv_non_residential").counts
    assets = m["assets"].copy()
    assets["peak_load_kva"] = np.where(
        assets["kind"] == "transformer", assets["capacity_kva"], assets["peak_load_kva"]
    )  # every transformer fully loaded: no LV headroom left anywhere
    m.replace_layer("assets", assets)
    after = readiness(m, kw=100, category="lv_non_residential").counts
    assert after != before
    assert after["A"] == after["B"] == after["C"] == 0
