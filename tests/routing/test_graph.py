"""Corridor polygons, the corridor graph, attachment, CSR, bulk search and best_route."""

from __future__ import annotations

import dataclasses
import itertools

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from onemap.errors import OnemapInputError
from onemap.geo.crs import metric_to_lonlat
from onemap.routing import best_route, check_route, corridor_graph
from onemap.routing.build import corridor_model
from onemap.routing.bulk import nearest_sources, path_from_predecessors
from onemap.routing.overlay import CODE, CORRIDORS
from onemap.rules import load_rules
from routing.streets import asset, at, duct, line, make_map, parcel, road


def lonlat(x, y):
    lon, lat = metric_to_lonlat(*at(x, y), "EPSG:4549")
    return float(lon), float(lat)


@pytest.fixture(scope="module")
def town():
    """A cross junction (A/B east-west with green, C north, D south narrow without bike lane),
    an L corner (L1/L2), a duct across B at x=300, a parcel north of C's east side, a
    transformer on B's right sidewalk and one far from every road."""
    roads = [
        road("A", [(-1000, 0), (0, 0)], green=2.0),
        road("B", [(0, 0), (1000, 0)], green=2.0),
        road("C", [(0, 0), (0, 800)]),
        road("D", [(0, -600), (0, 0)], motor=7.0, bike=0.0),
        road("L1", [(2000, 0), (2400, 0)]),
        road("L2", [(2400, 0), (2400, 400)]),
    ]
    return make_map(
        roads,
        ducts=[duct("K1", [(300, -13), (300, 13)])],
        parcels=[parcel("P1", 12, 300, 80, 500), parcel("FAR", 5000, 5000, 5100, 5100)],
        assets=[asset("T1", 400, -8.5), asset("T2", 2350, -8.5), asset("G1", 600, 11.0)],
    )


def classify(m, x, y):
    _, ov = corridor_model(m)
    poly = ov.classify(np.array([at(x, y)]))[0]
    return CORRIDORS[ov.corridor[poly]] if poly >= 0 else "off_corridor", ov.road_id[poly]


def test_corridor_polygons_partition_the_roads(town):
    model, _ = corridor_model(town)
    p = model.partitioned()
    geoms = np.asarray(p.geometry.values)
    assert shapely.is_valid(geoms).all()
    assert set(p["corridor"]) == {"sidewalk", "bike_lane", "motor_lane", "green_belt"}
    assert {"road_id", "corridor", "side", "width_m"} <= set(p.columns)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    overlap = shapely.area(shapely.intersection(geoms[i], geoms[j]))
    assert overlap.max(initial=0.0) < 1e-6
    assert shapely.area(geoms).sum() == pytest.approx(shapely.union_all(geoms).area, rel=1e-9)
    # the partition covers exactly the ground the overlapping strips cover
    raw = np.asarray(model.polygons.geometry.values)
    assert shapely.union_all(raw).area == pytest.approx(shapely.union_all(geoms).area, rel=1e-9)


def test_classifier_on_overlapping_strips_is_the_partition(town):
    """The overlay keeps the strips overlapping and decides by rank point by point; that must
    be the partition's answer: the point lies in the partitioned polygon it is classified to."""
    model, ov = corridor_model(town)
    part = model.partitioned()
    tree = shapely.STRtree(np.asarray(part.geometry.values))
    rng = np.random.default_rng(7)
    # points in the bounding boxes of the strips, so junctions (where strips overlap) are hit
    box = shapely.bounds(np.asarray(model.polygons.geometry.values))
    pick = rng.integers(0, len(box), 20000)
    pts = rng.uniform(box[pick, :2], box[pick, 2:])
    poly = ov.classify(pts)
    inside, which = tree.query(shapely.points(pts), predicate="within")
    owner = np.full(len(pts), -1)
    owner[inside] = part.index.to_numpy()[which]
    strictly = np.zeros(len(pts), bool)
    strictly[inside] = True
    # every point strictly inside one partitioned polygon is classified to that polygon (the
    # overlay's duct polygons, appended after the strips, rank above them all)
    strictly &= poly < len(model.polygons)
    assert strictly.sum() > 10000
    assert (poly[strictly] == owner[strictly]).all()


def test_junction_is_carriageway(town):
    assert classify(town, 0, 0)[0] == "motor_lane"
    # C (north) meets B: on the line of B's left sidewalk (y 8.5), inside C's carriageway
    # (x -5..5) the area is carriageway, not B's sidewalk
    assert classify(town, 2.0, 8.5)[0] == "motor_lane"
    assert classify(town, 2.0, 8.5)[1] in ("C", "A/B/C/D")
    # B's sidewalk away from the junction is still B's sidewalk
    assert classify(town, 100.0, 8.5) == ("sidewalk", "B")


def test_outer_corner_continues_the_strips(town):
    # L1 eastbound then L2 northbound: the outer corner is south-east of (2400, 0); the right
    # sidewalk (offsets 7..10) continues round the corner on an arc of radius 8.5
    r = 8.5 / np.sqrt(2)
    assert classify(town, 2400 + r, -r)[0] == "sidewalk"
    assert classify(town, 2400 + 6 / np.sqrt(2), -6 / np.sqrt(2))[0] == "bike_lane"


def test_graph_attributes_and_attachment(town):
    g = corridor_graph(town)
    assert g is corridor_graph(town)  # cached
    G = g.graph
    u, _v, data = next(iter(G.edges(data=True)))
    assert {"length_m", "corridor", "road_id", "sidewalk_m", "bike_m"} <= set(data)
    assert {"x", "y"} <= set(G.nodes[u])
    assert set(np.asarray(CORRIDORS)[np.unique(g.corridor)]) >= {
        "sidewalk",
        "bike_lane",
        "motor_lane",
        "green_belt",
        "duct",
        "crossing",
        "access",
    }
    assert g.unattached["parcels"] == ["FAR"]
    # the transformer on B's right sidewalk at x=400 splits the sidewalk edge right there
    node = g.asset_node["T1"]
    assert np.allclose(g.xy[node], at(400, -8.5), atol=1e-6)
    corridors = {G.edges[node, n]["corridor"] for n in G.neighbors(node)}
    assert corridors == {"sidewalk"}
    # the parcel's door is on its boundary, nearest C's right sidewalk (x 7..10): at x = 12
    door = g.parcel_node["P1"]
    assert g.xy[door][0] == pytest.approx(at(12, 0)[0], abs=1e-6)
    # its access edge (cut at the corridor edge x=10) ends where it splits the sidewalk edge,
    # at the perpendicular projection (x=8.5), not at a pre-existing node
    split = np.flatnonzero(np.hypot(*(g.xy - [at(8.5, 0)[0], g.xy[door][1]]).T) < 1e-6)
    assert len(split) == 1 and G.degree[int(split[0])] >= 3
    path = nx.shortest_path(G, door, int(split[0]), weight="length_m")
    kinds = {G.edges[a, b]["corridor"] for a, b in itertools.pairwise(path)}
    assert kinds == {"access", "sidewalk"}


def test_locate_does_not_change_the_graph(town):
    g = corridor_graph(town)
    csr, _ = g.csr(0.4, True)
    n = g.n_nodes
    loc = g.locate(*lonlat(650, 9.5))
    assert g.n_nodes == n and g.csr(0.4, True)[0] is csr
    assert g.corridor[loc.edge] == CODE["sidewalk"]
    assert loc.du + loc.dv == pytest.approx(g.length[loc.edge])
    with pytest.raises(OnemapInputError, match="outside the mapped roads"):
        g.locate(*lonlat(650, 300))


def test_csr_collapses_parallel_edges_to_the_minimum(town):
    g = corridor_graph(town)
    e = int(np.flatnonzero(g.corridor == CODE["sidewalk"])[0])
    twin = dataclasses.replace(
        g,
        xy=g.xy,
        u=np.r_[g.u, g.v[e]],
        v=np.r_[g.v, g.u[e]],
        corridor=np.r_[g.corridor, g.corridor[e]],
        poly=np.r_[g.poly, g.poly[e]],
        _csr={},
        _masks={},
        _nx=None,
        _trees={},
        _pair_index=None,
    )
    csr, _ = twin.csr(0.4, False)
    assert csr[g.u[e], g.v[e]] == pytest.approx(g.length[e])  # not twice the length
    assert csr[g.v[e], g.u[e]] == pytest.approx(g.length[e])


def _with_edges(g, u, v, corridor, poly):
    return dataclasses.replace(
        g,
        u=u,
        v=v,
        corridor=corridor,
        poly=poly,
        _csr={},
        _masks={},
        _nx=None,
        _trees={},
        _pair_index=None,
        _length=None,
        _contracted={},
    )


def test_cost_matrix_takes_the_cheapest_of_parallel_edges(town):
    """A carriageway edge and a walkway twin between the same nodes (the twin after it in
    edge order): the route-cost matrix holds the walkway's cost, whichever comes first."""
    g = corridor_graph(town)
    e = int(np.flatnonzero(g.corridor == CODE["motor_lane"])[0])
    walk = g.corridor.copy()
    walk[e] = CODE["sidewalk"]
    walk_only = _with_edges(g, g.u, g.v, walk, g.poly)
    both = _with_edges(
        g,
        np.r_[g.u, g.v[e]],
        np.r_[g.v, g.u[e]],
        np.r_[g.corridor, np.int8(CODE["sidewalk"])],
        np.r_[g.poly, g.poly[e]],
    )
    cheap = walk_only.csr_cost(0.4)[g.u[e], g.v[e]]
    assert cheap < g.csr_cost(0.4)[g.u[e], g.v[e]]  # the carriageway costs more
    assert both.csr_cost(0.4)[g.u[e], g.v[e]] == cheap
    assert both.csr_cost(0.4)[g.v[e], g.u[e]] == cheap


def test_scipy_distances_equal_networkx(town):
    g = corridor_graph(town)
    csr, _ = g.csr(0.4, False)
    rng = np.random.default_rng(3)
    src = rng.choice(g.n_nodes, 5, replace=False)
    dist = dijkstra(csr, indices=src)
    for k, s in enumerate(src):
        ref = nx.single_source_dijkstra_path_length(g.graph, int(s), weight="length_m")
        nodes = np.fromiter(ref, dtype=int)
        assert np.allclose(dist[k, nodes], [ref[n] for n in nodes])
        assert np.isinf(np.delete(dist[k], nodes)).all()


def test_nearest_sources_is_one_multi_source_pass(town):
    g = corridor_graph(town)
    csr, _ = g.csr(0.4, True)
    sources = g.index_of(g.asset_node[["T1", "T2"]].to_numpy())
    dist, source, pred = nearest_sources(csr, sources, limit=2000)
    target = g.index_of([g.parcel_node["P1"]])[0]
    eligible = g.graph.edge_subgraph(
        [(a, b) for a, b, ok in zip(g.u, g.v, g.eligible(0.4), strict=True) if ok]
    )
    ref = nx.multi_source_dijkstra_path_length(eligible, set(sources.tolist()), weight="length_m")
    if target in ref:
        assert dist[target] == pytest.approx(ref[target])
        path = path_from_predecessors(pred, target, source)
        assert path[0] == source[target] and path[-1] == target
        assert g.path_geometry(path).length == pytest.approx(dist[target])
    else:
        assert np.isinf(dist[target]) and path_from_predecessors(pred, target, source) == []


def test_best_route_filing_route_via_duct_and_agreement(town):
    # left sidewalk of B at x=250 to the transformer on the right sidewalk at x=400:
    # the only filing-eligible way across B is the duct at x=300
    r = best_route(town, lonlat(250, 8.5), lonlat(400, -8.5), 0.4)
    assert r.filing_route is not None and r.filing_route.filing.eligible
    corridors = [s.corridor for s in r.filing_route.filing.segments]
    assert "duct" in corridors and "crossing" not in corridors
    assert r.filing_route.length_m == pytest.approx(50 + 17 + 100, abs=0.5)
    assert r.shortest_route.length_m <= r.filing_route.length_m + 1e-9
    for route in (r.filing_route, r.shortest_route):
        again = check_route(town, route.geometry_metric, 0.4, placement="sidewalk_first")
        assert again.same_decision(route.filing)
        assert again.length_m == pytest.approx(route.length_m, abs=1e-6)
    # the lon/lat output geometry has the same length once projected back
    d = r.to_dict()
    assert d["filing_route"]["geometry"]["type"] == "LineString"


def test_best_route_without_duct_has_no_filing_route(town):
    # across A (no duct): crossing the carriageway is motor-lane occupation
    r = best_route(town, lonlat(-400, 8.5), lonlat(-400, -8.5), 0.4)
    assert r.shortest_route is not None
    assert "OCCUPIES_MOTOR_LANE" in r.shortest_route.filing.codes
    assert r.filing_route is None or r.filing_route.length_m >= 2 * 380
    assert check_route(
        town, r.shortest_route.geometry_metric, 0.4, placement="sidewalk_first"
    ).same_decision(r.shortest_route.filing)


def test_best_route_around_the_outer_corner(town):
    # from L1's right sidewalk round the outer corner to L2's right (east) sidewalk
    r = best_route(town, lonlat(2300, -8.5), lonlat(2408.5, 100), 0.4)
    assert r.filing_route is not None
    assert {s.corridor for s in r.filing_route.filing.segments} == {"sidewalk"}
    arc = 8.5 * np.pi / 2
    assert r.filing_route.length_m == pytest.approx(100 + arc + 100, abs=0.1)


def test_asset_in_the_green_belt_connects_through_it(town):
    # G1 stands in B's left green belt (y 10..12): its stub through the green to the sidewalk is
    # the service connection, not green occupation; a route along the green stays occupation
    r = best_route(town, lonlat(500, 8.5), lonlat(600, 11.0), 0.4)
    assert r.filing_route is not None
    segs = r.filing_route.filing.segments
    assert [s.corridor for s in segs] == ["sidewalk", "access"]
    assert segs[-1].length_m == pytest.approx(1.0, abs=1e-6)  # the green part, y 11 → 10
    assert r.filing_route.length_m == pytest.approx(100 + 2.5, abs=1e-6)
    again = check_route(town, r.filing_route.geometry_metric, 0.4, placement="sidewalk_first")
    assert again.same_decision(r.filing_route.filing)
    along_green = check_route(town, line((500, 8.5), (500, 11.0), (700, 11.0)), 0.4)
    assert along_green.codes == ["OCCUPIES_GREEN_BELT"]


def test_bad_points_and_voltage(town):
    with pytest.raises(OnemapInputError, match="unknown voltage"):
        best_route(town, lonlat(250, 8.5), lonlat(400, -8.5), 15.0)
    with pytest.raises(OnemapInputError, match="outside"):
        best_route(town, lonlat(250, 8.5), lonlat(250, 900), 0.4)


def test_graph_follows_the_rule_table(town):
    county = load_rules("example-county-tiered")
    g = corridor_graph(town, county)
    assert g is not corridor_graph(town)
    r = best_route(town, lonlat(250, 8.5), lonlat(400, -8.5), 0.4, rules=county)
    assert r.filing_route.filing.procedure == "no_approval"


@pytest.mark.slow
def test_demo_map_routes_agree_with_check(demo_map):
    g = corridor_graph(demo_map)
    assert not g.unattached.get("parcels") and not g.unattached.get("assets")
    rng = np.random.default_rng(7)
    parcels = demo_map.metric("landuse")
    assets = demo_map.metric("assets")
    checked = 0
    for _ in range(15):
        pc = parcels.geometry.iloc[rng.integers(len(parcels))].representative_point()
        ap = assets.geometry.iloc[rng.integers(len(assets))]
        a = metric_to_lonlat(pc.x, pc.y, demo_map.crs_metric)
        b = metric_to_lonlat(ap.x, ap.y, demo_map.crs_metric)
        try:
            r = best_route(demo_map, a, b, 0.4)
        except OnemapInputError:
            continue  # a parcel centre farther than attach_max_m from every road
        for route in (r.filing_route, r.shortest_route):
            if route is None:
                continue
            again = check_route(demo_map, route.geometry_metric, 0.4, placement="sidewalk_first")
            assert again.same_decision(route.filing), (a, b)
            checked += 1
    assert checked >= 10


def test_footway_without_carriageway_is_walkable_across():
    # a 2.5 + 2.5 m foot way (no carriageway): its two halves join through its centre line
    m = make_map([road("F", [(0, 0), (400, 0)], motor=0.0, bike=0.0, sidewalk=2.5)])
    r = best_route(m, lonlat(100, 1.25), lonlat(300, -1.25), 0.4)
    assert r.filing_route is not None
    assert {s.corridor for s in r.filing_route.filing.segments} == {"sidewalk"}
    assert r.filing_route.length_m < 200 + 2.5 + 1e-6 + 2 * 1.25


def test_route_length_equals_an_independent_networkx_search(town):
    g = corridor_graph(town)
    rng = np.random.default_rng(11)
    G = g.graph.copy()
    for k in range(6):
        a = lonlat(rng.uniform(-300, 300), rng.uniform(-15, 15))
        b = lonlat(rng.uniform(-300, 300), rng.uniform(-15, 300))
        try:
            r = best_route(town, a, b, 0.4)
        except OnemapInputError:
            continue
        o, d = g.locate(*a), g.locate(*b)
        # the search minimises cost: metres × the rule table's weight of the corridor
        # (issue 14: carriageway is expensive); compare the length of the cheapest path
        weight = {"motor_lane": 5.0, "crossing": 2.0, "green_belt": 2.0}
        H = G.copy()
        for _, _, data in H.edges(data=True):
            data["cost"] = data["length_m"] * weight.get(data["corridor"], 1.0)
        for name, loc in (("o", o), ("d", d)):
            w = weight.get(str(g.graph.edges[loc.u, loc.v]["corridor"]), 1.0)
            H.add_edge(name, loc.u, length_m=loc.du + loc.access_m, cost=loc.du * w + loc.access_m)
            H.add_edge(name, loc.v, length_m=loc.dv + loc.access_m, cost=loc.dv * w + loc.access_m)
        path = nx.shortest_path(H, "o", "d", weight="cost")
        ref = sum(H.edges[p, q]["length_m"] for p, q in itertools.pairwise(path))
        if o.edge == d.edge:
            ref = min(ref, o.access_m + d.access_m + abs(o.du - d.du))
        assert r.shortest_route.length_m == pytest.approx(ref, abs=1e-6), k


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-1100, 2500), st.floats(-700, 900)), min_size=1, max_size=40))
def test_locate_many_is_locate_one_by_one(town_graph, points):
    """The batched join (tee-joint samples) answers what joining each point alone answers."""
    g = town_graph
    xy = np.array([at(x, y) for x, y in points])
    found, many = g.locate_many(xy)
    for k, q in enumerate(xy):
        try:
            one = g.locate_xy(*q)
        except OnemapInputError:
            assert not found[k] and many[k] is None
            continue
        got = many[k]
        assert got is not None and got.edge == one.edge
        assert got.du == pytest.approx(one.du, abs=1e-9)
        assert got.access_m == pytest.approx(one.access_m, abs=1e-9)
        assert np.array_equal(got.access.corridor, one.access.corridor)


@pytest.fixture(scope="module")
def town_graph(town):
    return corridor_graph(town)


def test_graph_doctests():
    import doctest

    from onemap.routing import graph as graph_module

    result = doctest.testmod(graph_module)
    assert result.attempted > 0 and result.failed == 0
