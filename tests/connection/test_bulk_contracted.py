"""The bulk pass on the chain-contracted graph gives the same readiness as on the plain CSR,
and routes drawn from it are paths of the corridor graph with the reported length."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import onemap.connection.bulk as bulk_module
from onemap.connection.bulk import readiness
from onemap.connection.results import route_rows
from onemap.routing.build import corridor_graph

REQUESTS = [(None, None), (100.0, "lv_non_residential"), (2000.0, "hv_single")]


def _plain(monkeypatch, m, kw, category):
    with monkeypatch.context() as patch:
        patch.setattr(bulk_module, "_contraction", lambda *args: None)
        return readiness(m, kw, category)


@pytest.mark.parametrize(("kw", "category"), REQUESTS)
def test_contracted_bulk_equals_the_plain_csr(demo_map, monkeypatch, kw, category):
    got = readiness(demo_map, kw, category)
    plain = _plain(monkeypatch, demo_map, kw, category)
    assert any(run.con_full is not None for run in got._runs.values())
    assert all(run.con_full is None for run in plain._runs.values())
    a = got.layer.drop(columns="geometry")
    b = plain.layer.drop(columns="geometry")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)
    assert got.passes_by_group == plain.passes_by_group


def test_pass_sources_are_graph_nodes(demo_map):
    result = readiness(demo_map)
    cg = corridor_graph(demo_map)
    assets = set(cg.asset_node.to_numpy().tolist())
    for run in result._runs.values():
        for nearest in (run.full, run.filing):
            if nearest is None:
                continue
            rows = np.concatenate([r for r in nearest.pass_rows.values()] or [np.zeros(0, int)])
            assert set(rows.tolist()) <= assets
            chosen = nearest.source_row[nearest.source_row >= 0]
            assert set(chosen.tolist()) <= assets


def test_routes_from_contracted_passes_are_graph_paths(demo_map):
    result = readiness(demo_map)
    cg = corridor_graph(demo_map)
    layer = result.layer
    rng = np.random.default_rng(5)
    seen = {"A": 0, "B": 0, "C": 0}
    for i in rng.permutation(len(layer)):
        row = layer.iloc[i]
        cls = row["readiness"]
        if cls == "D" or seen[cls] >= 5:
            continue
        run = result._runs[row["group"]]
        j = int(run.position[i])
        nearest = run.filing if cls == "B" else run.full
        assert (run.con_filing if cls == "B" else run.con_full) is not None
        rows = route_rows(run, j, cls == "B")
        assert rows[0] == nearest.source_row[j] and rows[-1] == run.door_rows[j]
        pieces = cg.segments(rows)  # raises if two consecutive nodes are not joined
        assert float(pieces.length.sum()) == pytest.approx(row["distance_m"], abs=1e-6)
        line = result.route(row["parcel_id"])
        assert line.length == pytest.approx(row["distance_m"], abs=0.01)
        seen[cls] += 1
    assert sum(seen.values()) >= 8
