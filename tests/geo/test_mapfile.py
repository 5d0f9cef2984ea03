"""Layer tokens: caches follow replace_layer(), never a reused id(), and the graph cache key
depends only on the layers the corridor graph is built from."""

from __future__ import annotations

import gc

import numpy as np

from onemap.connection.bulk import readiness
from onemap.geo.mapfile import read_map
from onemap.routing import store
from onemap.routing.build import GRAPH_LAYERS


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
    key = store.content_hash(m, GRAPH_LAYERS)
    pushed = m["projects"].copy()
    pushed.loc[0, "requested_kw"] = pushed.loc[0, "requested_kw"] + 1.0
    m.replace_layer("projects", pushed)
    assert store.content_hash(m, GRAPH_LAYERS) == key  # a pushed project keeps the cached graph
    roads = m["roads"].copy()
    roads.loc[0, "sidewalk_left_m"] += 0.5
    m.replace_layer("roads", roads)
    assert store.content_hash(m, GRAPH_LAYERS) != key


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


def test_one_cache_keys_on_layer_tokens_and_rule_content(demo_map_path):
    """OneMap.cached: equal rule tables share an entry (content digest, never id()); another
    table or a replaced layer the value derives from builds anew; other layers do not."""
    from onemap.rules import load_rules

    m = read_map(demo_map_path)
    lyg = load_rules("lianyungang-2021")
    same = lyg.model_copy(deep=True)  # another object, the same content
    county = load_rules("example-county-tiered")
    calls = []

    def build():
        calls.append(1)
        return len(calls)

    first = m.cached("x", build, layers=("roads",), rules=lyg)
    assert m.cached("x", build, layers=("roads",), rules=same) == first
    assert m.cached("x", build, layers=("roads",), rules=county) != first
    m.replace_layer("projects", m["projects"].copy())
    assert m.cached("x", build, layers=("roads",), rules=lyg) == first
    m.replace_layer("roads", m["roads"].copy())
    assert m.cached("x", build, layers=("roads",), rules=lyg) != first
    assert len(calls) == 3
