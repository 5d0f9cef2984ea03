"""LV networks built all at once (one shortest-path pass over every network) against networkx
run per network: random meshed networks (hypothesis), and two networks that reuse bus names."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from connection.maps import line, make_map, transformer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onemap.grid.lines import lv_networks

R_KM = 0.208  # [lv_main] impedance of a main of unknown type (Ω/km)


def _rows(tid: str, edges: list[tuple[str, str, float]], y0: float) -> list[dict]:
    return [
        {
            "line_id": f"{tid}-L{k}",
            "voltage_kv": 0.4,
            "from_id": a,
            "to_id": b,
            "transformer_id": tid,
            "type": "custom",
            "length_m": length,
            "rated_a": 200.0,
            "geometry": line((k * 10.0, y0), (k * 10.0, y0 + 5)),
        }
        for k, (a, b, length) in enumerate(edges)
    ]


meshes = st.integers(2, 14).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 10_000), min_size=n, max_size=n),  # tree parent picks
        st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), max_size=4),  # mesh lines
        st.lists(st.floats(1.0, 500.0), min_size=n + 4, max_size=n + 4),
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meshes)
def test_paths_equal_networkx_per_network(mesh):
    picks, extra, lengths = mesh
    names = ["T1", *(f"B{k}" for k in range(1, len(picks) + 1))]
    edges = [(names[picks[k - 1] % k], names[k], lengths[k - 1]) for k in range(1, len(names))]
    for j, (a, b) in enumerate(extra):
        if a != b:
            edges.append((names[a], names[b], lengths[len(picks) + j]))
    net = lv_networks(
        make_map(assets=[transformer("T1", 0, -5, 400.0, 0.0)], lines=_rows("T1", edges, 0))
    )
    lines = net["T1"].lines.set_index("line_id")
    graph = nx.Graph()
    for a, b, length in edges:  # parallel lines: the shortest (the one a load flow favours)
        if not graph.has_edge(a, b) or length < graph[a][b]["length"]:
            graph.add_edge(a, b, length=length)
    _, paths = nx.single_source_dijkstra(graph, "T1", weight="length")
    ohm = {
        node: sum(graph[u][v]["length"] for u, v in itertools.pairwise(p)) * R_KM / 1000
        for node, p in paths.items()
    }
    for k, (a, b, _length) in enumerate(edges):
        row = lines.loc[f"T1-L{k}"]
        assert row["up_r"] == pytest.approx(min(ohm[a], ohm[b]), abs=1e-12)
        assert {row["up_id"], row["down_id"]} == {a, b}
        assert ohm[row["up_id"]] <= ohm[row["down_id"]] + 1e-12
    # one tree line into every bus but the root (parallel lines may both claim it)
    tree = lines[lines["tree"]]
    assert set(tree["down_id"]) == set(names[1:])
    assert net["T1"].complete is False  # type "custom" is no standard type
    assert "unknown type" in net["T1"].why_incomplete


def test_networks_reusing_bus_names_stay_apart():
    a = [("T1", "B1", 100.0), ("B1", "B2", 100.0)]
    b = [("T2", "B1", 300.0), ("B1", "B2", 50.0), ("B9", "B8", 10.0)]  # B9-B8 unconnected
    m = make_map(
        assets=[transformer("T1", 0, -5, 400.0, 0.0), transformer("T2", 500, -5, 400.0, 0.0)],
        lines=_rows("T1", a, 0) + _rows("T2", b, 100),
    )
    nets = lv_networks(m)
    one = nets["T1"].lines.set_index("line_id")["up_r"]
    two = nets["T2"].lines.set_index("line_id")["up_r"]
    assert one.to_dict() == pytest.approx({"T1-L0": 0.0, "T1-L1": 0.1 * R_KM})
    assert two["T2-L1"] == pytest.approx(0.3 * R_KM)
    assert np.isnan(two["T2-L2"])
    assert nets["T2"].why_incomplete == "1 lines not connected to the transformer"
