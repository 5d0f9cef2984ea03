"""The graph cache: a cached graph equals a rebuilt one, and an edited map never reads it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from bench.citygen import city_map_path
from onemap.errors import OnemapInputError
from onemap.geo.mapfile import read_map, write_map
from onemap.routing import store
from onemap.routing.build import GRAPH_LAYERS, build_corridor_graph
from onemap.rules import resolve_rules


@pytest.fixture(scope="module")
def map_path(tmp_path_factory):
    return city_map_path("district", seed=5, cache_dir=tmp_path_factory.mktemp("city"))


@pytest.fixture(scope="module")
def built(map_path):
    """The district's graph built from scratch and saved to the cache (once per module)."""
    m = read_map(map_path)
    rules = resolve_rules(m)
    graph = build_corridor_graph(m, rules)
    entry = store.save_graph(m, rules, GRAPH_LAYERS, graph)
    assert entry is not None and entry.is_dir()
    return m, rules, graph, entry


def _no_build(*_):
    raise AssertionError("the graph was rebuilt although a cache entry exists")


def test_cached_graph_equals_rebuilt_graph(built, map_path):
    _, rules, graph, _ = built
    fresh = read_map(map_path)  # a new process would see a new map object
    loaded = store.load_or_build(fresh, rules, GRAPH_LAYERS, _no_build)
    assert loaded is not graph
    for name in ("xy", "u", "v", "corridor", "poly"):
        assert np.array_equal(getattr(loaded, name), getattr(graph, name)), name
    assert loaded.parcel_node.equals(graph.parcel_node)
    assert loaded.asset_node.equals(graph.asset_node)
    assert loaded.unattached == graph.unattached
    assert loaded.rules is rules and loaded.crs == graph.crs
    # The CSR matrices were saved with the graph, for every connection and filing voltage.
    assert set(loaded._csr) == set(graph._csr) and len(graph._csr) >= 4
    for key, (matrix, nodes) in graph._csr.items():
        other, other_nodes = loaded._csr[key]
        assert (matrix != other).nnz == 0 and np.array_equal(nodes, other_nodes)
    # Same networkx view: nodes, edges and their attributes.
    a, b = graph.graph, loaded.graph
    assert a.number_of_nodes() == b.number_of_nodes()
    assert sorted(a.edges(data="length_m")) == sorted(b.edges(data="length_m"))
    assert sorted(a.edges(data="corridor")) == sorted(b.edges(data="corridor"))


def test_cached_model_and_overlay_classify_alike(built, map_path):
    _, rules, graph, _ = built
    loaded = store.load_or_build(read_map(map_path), rules, GRAPH_LAYERS, _no_build)
    polys, other = graph.model.polygons, loaded.model.polygons
    assert polys.drop(columns="geometry").equals(other.drop(columns="geometry"))
    assert shapely.equals_exact(polys.geometry.values, other.geometry.values, 0).all()
    # Queries that go through the rebuilt STRtrees give the same answers.
    rng = np.random.default_rng(0)
    lo, hi = graph.xy.min(axis=0), graph.xy.max(axis=0)
    pts = rng.uniform(lo, hi, (50, 2))
    assert np.array_equal(graph.overlay.classify(pts), loaded.overlay.classify(pts))
    for x, y in pts[:10]:
        try:
            want = graph.locate_xy(x, y)
        except OnemapInputError:  # outside the corridors: the loaded graph must refuse it too
            with pytest.raises(OnemapInputError):
                loaded.locate_xy(x, y)
            continue
        got = loaded.locate_xy(x, y)
        assert (got.edge, got.u, got.v) == (want.edge, want.u, want.v)
        assert got.du == pytest.approx(want.du) and got.access_m == pytest.approx(want.access_m)


def test_changing_one_road_width_invalidates_the_cache(built, map_path, tmp_path):
    _, rules, _, entry = built
    edited_path = tmp_path / "edited.gpkg"
    edited = read_map(map_path)
    roads = edited["roads"].copy()
    roads.loc[0, "sidewalk_left_m"] = roads.loc[0, "sidewalk_left_m"] + 1.5
    edited.replace_layer("roads", roads)
    write_map(edited, edited_path)
    # Put the original entry beside the edited map: a key check, not a path check, must refuse it.
    target = store.cache_dir(edited_path)
    target.mkdir()
    (target / entry.name).symlink_to(entry, target_is_directory=True)
    reread = read_map(edited_path)
    assert store.cache_key(reread, rules, GRAPH_LAYERS) != entry.name
    assert store.load_graph(reread, rules, GRAPH_LAYERS) is None
    rebuilt = store.load_or_build(reread, rules, GRAPH_LAYERS, build_corridor_graph)
    assert store.flush(timeout=120)  # the entry is written behind the returned graph
    assert store.cache_path(reread, rules, GRAPH_LAYERS).is_dir()
    # The new entry holds the edited graph, which differs from the original.
    again = store.load_or_build(read_map(edited_path), rules, GRAPH_LAYERS, _no_build)
    assert np.array_equal(again.xy, rebuilt.xy)
    original = store.load_or_build(read_map(map_path), rules, GRAPH_LAYERS, _no_build)
    assert not (len(original.xy) == len(again.xy) and np.array_equal(original.xy, again.xy))


def test_damaged_or_foreign_entries_are_ignored(built, map_path, tmp_path):
    _, rules, _, entry = built
    copy = tmp_path / "copy.gpkg"
    copy.write_bytes(map_path.read_bytes())
    m = read_map(copy)
    target = store.cache_path(m, rules, GRAPH_LAYERS)
    assert target.name == entry.name  # same content, same key, wherever the map lives
    target.parent.mkdir()
    # A manifest that asks for a class outside onemap is refused, never instantiated.
    target.mkdir()
    manifest = json.loads((entry / "manifest.json").read_text())
    manifest["root"]["cls"] = "subprocess:Popen"
    (target / "manifest.json").write_text(json.dumps(manifest))
    assert store.load_graph(m, rules, GRAPH_LAYERS) is None
    # A truncated array file: ignored, and the graph is rebuilt and saved over it.
    for f in entry.iterdir():
        if f.name != "manifest.json":
            (target / f.name).write_bytes(f.read_bytes()[:20])
    (target / "manifest.json").write_text((entry / "manifest.json").read_text())
    damaged = read_map(copy)
    assert store.load_graph(damaged, rules, GRAPH_LAYERS) is None
    rebuilt = store.load_or_build(damaged, rules, GRAPH_LAYERS, build_corridor_graph)
    assert store.flush(timeout=120)
    assert (
        store.load_or_build(read_map(copy), rules, GRAPH_LAYERS, _no_build).n_edges
        == rebuilt.n_edges
    )


def test_the_entry_is_written_behind_the_first_answers(built, map_path, tmp_path):
    """A cold start returns the graph before its entry is on disk; a route asked meanwhile
    gets the answer of the graph as saved, and the entry, once flushed, reads back whole."""
    _, rules, graph, _ = built
    copy = tmp_path / "behind.gpkg"
    copy.write_bytes(map_path.read_bytes())
    m = read_map(copy)
    fresh = store.load_or_build(m, rules, GRAPH_LAYERS, build_corridor_graph)
    # while the writer prepares the matrices and encodes: the main thread's own questions
    cost = fresh.csr_cost(0.4)
    filing = fresh.contracted(0.4, True)
    assert store.flush(timeout=120)
    assert fresh.csr_cost(0.4) is cost and fresh.contracted(0.4, True) is filing  # built once
    assert (cost != graph.csr_cost(0.4)).nnz == 0
    loaded = store.load_or_build(read_map(copy), rules, GRAPH_LAYERS, _no_build)
    assert set(loaded._csr) == set(graph._csr)
    assert np.array_equal(loaded.u, graph.u) and np.array_equal(loaded.v, graph.v)


def test_the_writer_yields_the_cores_to_the_answers(built, monkeypatch):
    """The cache writer runs at a lower CPU priority than the thread that asked for the
    graph (Linux: a nice value per thread)."""
    import os
    import threading

    m, rules, graph, _ = built
    seen = []

    def fake_save(*_):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    monkeypatch.setattr(store, "save_graph", fake_save)
    store._write_behind(m, rules, GRAPH_LAYERS, graph)
    assert store.flush(timeout=30)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen and seen[0] > mine


def test_a_matrix_asked_by_two_threads_is_built_once(built):
    """``CorridorGraph._once``: the second thread waits for the first one's build."""
    import threading
    import time

    _, _, graph, _ = built
    calls = []

    def slow():
        calls.append(threading.current_thread().name)
        time.sleep(0.2)
        return object()

    cache: dict = {}
    got = []
    workers = [
        threading.Thread(target=lambda: got.append(graph._once(cache, "k", slow))) for _ in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(calls) == 1 and len(got) == 3 and all(g is got[0] for g in got)


def test_voltages_of_one_trench_width_share_a_matrix(built):
    _, _, graph, _ = built
    masks = {v: graph.eligible(v) for v in (0.4, 10.0, 20.0)}
    for a in masks:
        for b in masks:
            same = np.array_equal(masks[a], masks[b])
            assert (graph.csr(a, True)[0] is graph.csr(b, True)[0]) == same
            assert (graph.contracted(a, True) is graph.contracted(b, True)) == same
    assert any(np.array_equal(masks[a], masks[b]) for a in masks for b in masks if a != b), (
        "the rule table's voltages all differ in trench width: nothing shared to test"
    )


def test_cache_off_for_maps_without_file_or_when_disabled(map_path, monkeypatch):
    m = read_map(map_path)
    rules = resolve_rules(m)
    assert store.cache_path(m, rules, GRAPH_LAYERS) is not None
    monkeypatch.setenv(store.ENV, "0")
    assert store.cache_path(m, rules, GRAPH_LAYERS) is None
    monkeypatch.delenv(store.ENV)
    m.path = None
    assert store.cache_path(m, rules, GRAPH_LAYERS) is None
    assert store.save_graph(m, rules, GRAPH_LAYERS, object()) is None


def test_corridor_graph_reads_the_cache(built, map_path, monkeypatch):
    from onemap.routing import build as graph_module

    _, rules, graph, _ = built
    monkeypatch.setattr(graph_module, "build_corridor_graph", _no_build)
    m = read_map(map_path)
    loaded = graph_module.corridor_graph(m, rules)
    assert np.array_equal(loaded.u, graph.u) and np.array_equal(loaded.xy, graph.xy)
    # The corridor model comes from the same entry: one read, no rebuild of the polygons.
    model, overlay = graph_module.corridor_model(m, rules)
    assert model is loaded.model and overlay is loaded.overlay


def test_code_digest_covers_every_module_that_shapes_the_cached_graph():
    """A change to the rule model (trench width code…), the builders or the graph types must
    give a new cache key (the first wave left ``onemap/rules/__init__.py`` out)."""
    from onemap.routing.build import build_corridor_graph as builder
    from onemap.routing.contract import contract
    from onemap.routing.corridors import build_corridors
    from onemap.routing.filing import eligible_mask
    from onemap.routing.graph import CorridorGraph
    from onemap.routing.overlay import Overlay
    from onemap.rules import Rules

    shaping = {
        f.__module__
        for f in (builder, contract, build_corridors, eligible_mask, CorridorGraph, Overlay, Rules)
    }
    assert shaping <= set(store._CODE)
    assert len(store._code_digest()) == 64


def test_cache_key_covers_every_routing_module_the_build_imports():
    """A routing module the graph build depends on is part of the cache key, so editing it
    (the noder, the overlay…) never serves a graph built by the old code."""
    import grimp

    graph = grimp.build_graph("onemap", cache_dir=None)  # a stale cache hid a new module
    upstream = graph.find_upstream_modules("onemap.routing.build") | {"onemap.routing.build"}
    routing = {m for m in upstream if m.startswith("onemap.routing.")}
    assert routing <= set(store._CODE), sorted(routing - set(store._CODE))


def test_a_map_without_grid_starts_from_its_cache(demo_map_path, tmp_path):
    """A graph of a land-use plan and roads only (no ducts, no assets, like Xinwu) is read back
    from the cache: its empty arrays of ducts once failed to decode, so such a map rebuilt its
    graph on every start."""
    m = read_map(demo_map_path)
    for name in ("assets", "ducts"):
        m.replace_layer(name, m.layers[name].iloc[0:0])
    path = write_map(m, tmp_path / "no-assets.gpkg")
    m = read_map(path)
    rules = resolve_rules(m)
    graph = build_corridor_graph(m, rules)
    assert len(graph.asset_node) == 0 and len(graph.model.ducts) == 0
    entry = store.save_graph(m, rules, GRAPH_LAYERS, graph)
    assert entry is not None
    fresh = read_map(path)
    cached = store.load_graph(fresh, rules, GRAPH_LAYERS)
    assert cached is not None
    assert np.array_equal(cached.u, graph.u) and np.array_equal(cached.xy, graph.xy)
    assert len(cached.asset_node) == 0
    assert cached.parcel_node.equals(graph.parcel_node)
