"""Hosting capacity per line segment (issue 17 item 4): hand-computed on the hand map's LV main,
brute force on random trees (hypothesis), pandapower on ``lv_schutterwald``, and the MV
feeders of ``mv_oberrhein``.

Hand figures (rule table: GB/T 12325 ±7 %, power factor 1.0; a main of unknown type has the
``[lv_main]`` impedance 0.208 Ω/km): the voltage limit at x km from the busbar is
0.07 × 0.4² / (0.208 x) MVA, the thermal limit of a 270 A main √3 × 0.4 × 270 = 187.06 kVA.
"""

from __future__ import annotations

import copy
import itertools
import math

import networkx as nx
import numpy as np
import pandapower as pp
import pytest
from connection.maps import line, make_map, transformer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grid.lvmaps import lv_map
from grid.test_lv_schutterwald import schutterwald_map
from onemap.geo.importers.pandapower import pandapower_layers
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.grid.headroom import headroom
from onemap.grid.hosting import hosting
from onemap.grid.lines import lv_networks, mv_networks
from onemap.grid.powerflow import base_net
from onemap.rules import load_rules

RULES = load_rules()
THERMAL_270A = math.sqrt(3) * 0.4 * 270.0  # 187.06 kVA


def volt_kva(km: float) -> float:
    return 0.07 * 0.4**2 / (0.208 * km) * 1000


def test_rule_numbers_the_hand_figures_rest_on():
    assert RULES.lv_main.voltage_deviation == 0.07
    assert RULES.lv_main.r_ohm_per_km == 0.208
    assert RULES.connection.power_factor == 1.0
    assert RULES.power_flow.min_voltage_pu == 0.93


def test_screen_on_a_main_of_unknown_type_by_hand():
    h = hosting(lv_map(kind="custom")).set_index("line_id")  # not a standard type: screen
    assert (h["hosting_basis"] == "screen").all()
    assert h.loc["L1", "capacity_kva"] == pytest.approx(THERMAL_270A)
    # 100 m, 200 m: the main's rating binds (538 and 269 kVA of voltage)
    for lid in ("L1", "L2"):
        assert h.loc[lid, "hosting_kva"] == pytest.approx(THERMAL_270A)
        assert h.loc[lid, "hosting_limit"] == "line"
    # 300 m and beyond: the voltage drop
    for k in range(3, 7):
        assert h.loc[f"L{k}", "hosting_kva"] == pytest.approx(volt_kva(k / 10), rel=1e-9)
        assert h.loc[f"L{k}", "hosting_limit"] == "voltage"
    assert h.loc["L6", "hosting_kva"] == pytest.approx(89.74, abs=0.01)
    assert h.loc["L6", "far_id"] == "B6"


def test_transformer_headroom_caps_every_segment():
    # 400 kVA with 370 peak: 30 kVA left for the whole network
    h = hosting(lv_map(kind="custom", tx_peak=370.0)).set_index("line_id")
    np.testing.assert_allclose(h["hosting_kva"], 30.0)
    assert (h["hosting_limit"] == "headroom").all()


def test_unknown_transformer_or_planned_line_is_unknown_never_spare():
    m = lv_map(kind="custom", transformer_id="T9")  # names no asset of the map
    h = hosting(m)
    assert h["hosting_kva"].isna().all() and (h["hosting_limit"] == "unknown").all()
    m = lv_map(kind="custom", status="planned")
    assert hosting(m)["hosting_kva"].isna().all()


def test_power_flow_basis_on_the_hand_map_holds_in_pandapower():
    # 300 m of NAYY 4x150 SE: a complete network, load-flowed once as it stands
    onemap = lv_map(tx_peak=100.0, length_m=300.0)
    h = hosting(onemap).set_index("line_id")
    assert (h["hosting_basis"] == "power_flow").all()
    row = h.loc["L3"]
    assert row["hosting_limit"] == "voltage"
    within, over = (_with_load(onemap, "T1", "B3", row["hosting_kva"] * f) for f in (1.0, 1.1))
    assert within[0] >= 0.93 - 1e-3 and within[1] <= 100.5 and within[2] <= 100.5
    assert over[0] < 0.93
    # the existing peak at the far end and the transformer's impedance cost room: less than
    # the nominal-voltage screen would allow
    assert 0 < row["hosting_kva"] < volt_kva(0.3)


def test_long_main_over_the_limit_already_hosts_nothing():
    """The long main of test_powerflow: 100 kVA at 600 m already pulls its end below 0.93 pu
    (the load flow says so, nameplate does not): no segment can take more."""
    onemap = lv_map(tx_peak=100.0)
    assert _with_load(onemap, "T1", "B6", 0.0)[0] < 0.93
    h = hosting(onemap)
    assert (h["hosting_kva"] == 0).all() and (h["hosting_limit"] == "voltage").all()


def _with_load(onemap: OneMap, tid: str, bus: str, kva: float) -> tuple[float, float, float]:
    """pandapower on the net built from the layers, ``kva`` added at ``bus`` (pf 1.0)."""
    base = base_net(onemap, tid)
    net = copy.deepcopy(base.net)
    pp.create_load(net, base.bus_of[bus], p_mw=kva / 1000, q_mvar=0.0)
    pp.runpp(net, numba=False)
    return (
        float(net.res_bus["vm_pu"].min()),
        float(net.res_line["loading_percent"].max()),
        float(net.res_trafo["loading_percent"].iloc[0]),
    )


# --- random trees: the vectorised tree walk against a brute-force path enumeration ---------

trees = st.integers(2, 18).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 10_000), min_size=n, max_size=n),  # parent picks
        st.lists(st.floats(5.0, 300.0), min_size=n, max_size=n),  # lengths
        st.lists(st.floats(60.0, 400.0), min_size=n, max_size=n),  # ratings
        st.lists(st.booleans(), min_size=n, max_size=n),  # drawn away from the busbar?
        st.floats(0.0, 399.0),  # transformer peak (of 400 kVA)
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_tree_walk_equals_brute_force_paths(tree):
    picks, lengths, ratings, forward, peak = tree
    names = ["T1", *(f"N{k}" for k in range(1, len(picks) + 1))]
    rows, graph = [], nx.Graph()
    for k in range(1, len(names)):
        up, down = names[picks[k - 1] % k], names[k]
        graph.add_edge(up, down, line=f"L{k}")
        a, b = (up, down) if forward[k - 1] else (down, up)
        rows.append(
            {
                "line_id": f"L{k}",
                "voltage_kv": 0.4,
                "from_id": a,
                "to_id": b,
                "transformer_id": "T1",
                "type": "custom",
                "length_m": lengths[k - 1],
                "rated_a": ratings[k - 1],
                "geometry": line((k * 10.0, 0.0), (k * 10.0, 5.0 + k)),
            }
        )
    m = make_map(assets=[transformer("T1", 0, -5, 400.0, peak)], lines=rows)
    got = hosting(m).set_index("line_id")
    for k in range(1, len(names)):
        path = nx.shortest_path(graph, "T1", names[k])
        on = [graph[u][v]["line"] for u, v in itertools.pairwise(path)]
        km = sum(lengths[int(i[1:]) - 1] for i in on) / 1000
        limits = {
            "voltage": 0.07 * 0.4**2 / (0.208 * km) * 1000,
            "line": min(math.sqrt(3) * 0.4 * ratings[int(i[1:]) - 1] for i in on),
            "headroom": 400.0 - peak,
        }
        row = got.loc[f"L{k}"]
        assert row["far_id"] == names[k]
        assert row["hosting_kva"] == pytest.approx(min(limits.values()), rel=1e-9)
        assert limits[row["hosting_limit"]] == pytest.approx(row["hosting_kva"], rel=1e-9)


# --- lv_schutterwald: the hosting load added at the far end, in pandapower ------------------

TOL_V = 1e-3  # pu: the linearised drop misses second-order terms (measured ≤ 0.0008)
TOL_LOADING = 0.5  # %: measured ≤ 0.1


@pytest.fixture(scope="module")
def schutterwald():
    onemap = schutterwald_map(True)
    return onemap, hosting(onemap)


def test_every_live_line_of_schutterwald_is_load_flowed(schutterwald):
    onemap, h = schutterwald
    lines = onemap["lines"]
    assert len(h) == len(lines) == 3000
    live = (lines["in_service"] == 1).to_numpy()
    assert (h.loc[live, "hosting_basis"] == "power_flow").all()
    assert h.loc[live, "hosting_kva"].notna().all()
    assert h.loc[~live, "hosting_kva"].isna().all()  # out of service: unknown
    assert set(h["hosting_limit"]) == {"voltage", "line", "transformer", "unknown"}
    assert (h.loc[live, "hosting_kva"] <= h.loc[live, "capacity_kva"] + 1e-9).all()


def test_hosting_load_holds_and_ten_percent_more_breaks_the_binding_limit(schutterwald):
    onemap, h = schutterwald
    radial = {t for t, n in lv_networks(onemap).items() if n.lines["tree"].all()}
    rng = np.random.default_rng(17)
    worst = {"v": 1.0, "line": 0.0, "trafo": 0.0}
    for limit in ("voltage", "line", "transformer"):
        pool = h[(h["hosting_limit"] == limit) & h["transformer_id"].isin(radial)]
        assert len(pool) >= 8, limit
        for k in rng.choice(len(pool), 8, replace=False):
            row = pool.iloc[k]
            tid, far, kva = row["transformer_id"], row["far_id"], row["hosting_kva"]
            v, line_pct, trafo_pct = _with_load(onemap, tid, far, kva)
            worst = {
                "v": min(worst["v"], v),
                "line": max(worst["line"], line_pct),
                "trafo": max(worst["trafo"], trafo_pct),
            }
            assert v >= 0.93 - TOL_V, (row["line_id"], v)
            assert line_pct <= 100 + TOL_LOADING, (row["line_id"], line_pct)
            assert trafo_pct <= 100 + TOL_LOADING, (row["line_id"], trafo_pct)
            v, line_pct, trafo_pct = _with_load(onemap, tid, far, 1.1 * kva)
            broken = {"voltage": v < 0.93, "line": line_pct > 100, "transformer": trafo_pct > 100}
            assert broken[limit], (row["line_id"], limit, v, line_pct, trafo_pct)
    print(f"\nworst at the hosting load: {worst}")


def test_meshed_network_is_conservative(schutterwald):
    """pp-trafo-5 closes one mesh: the tree path overstates the impedance, so the hosting
    load keeps well within the limits."""
    onemap, h = schutterwald
    net = lv_networks(onemap)["pp-trafo-5"]
    assert not net.lines["tree"].all()
    pool = h[(h["transformer_id"] == "pp-trafo-5") & (h["hosting_limit"] == "voltage")]
    for _, row in pool.iloc[:: max(1, len(pool) // 4)].iterrows():
        v, line_pct, trafo_pct = _with_load(onemap, "pp-trafo-5", row["far_id"], row["hosting_kva"])
        assert v >= 0.93 - TOL_V and line_pct <= 100 + TOL_LOADING and trafo_pct <= 100


# --- mv_oberrhein: MV feeders on the screen ------------------------------------------------


def test_mv_feeders_have_hosting_down_their_trees():
    layers, _ = pandapower_layers("mv_oberrhein")
    clean = {n: validate_layer(n, g)[0] for n, g in layers.items()}
    onemap = OneMap(layers=clean, crs_metric="EPSG:32632")
    h = hosting(onemap).set_index("line_id")
    nets = mv_networks(onemap)
    assert len(nets) == 4
    head = headroom(onemap)
    feeder_room = head[head["layer"] == "feeders"].set_index("asset_id")["hv_headroom_kw"]
    for fid, net in nets.items():
        assert net.transformer_id.startswith("pp-sub-")  # rooted at its substation's busbar
        ids = net.lines["line_id"]
        got = h.loc[ids]
        assert (got["kind"] == "mv_line").all() and (got["hosting_basis"] == "screen").all()
        assert got["hosting_kva"].notna().all()
        assert (got["hosting_kva"] <= got["capacity_kva"] + 1e-6).all()
        assert (got["hosting_kva"] <= feeder_room[fid] + 1e-6).all()
        # further from the busbar, never more room
        by_far = dict(zip(net.lines["down_id"], got["hosting_kva"], strict=True))
        for up, kva in zip(net.lines["up_id"], got["hosting_kva"], strict=True):
            if up in by_far:
                assert kva <= by_far[up] + 1e-6
