"""Hosting capacity per line segment (issue 17 item 4, ICA-style) for the public capacity map.

The hosting capacity of a segment of the ``lines`` layer is the largest load (kVA, at the
connection power factor) that can be added at its **far end** (the end away from the
transformer or substation heading its network) while

- the voltage at every bus of the network stays at or above ``[power_flow].min_voltage_pu``
  (GB/T 12325-2008 §4.2: −7 %),
- every line on the path from the busbar to the far end stays within its thermal rating
  (``rated_a`` × ``[power_flow].max_line_loading_pct``), and
- the transformer stays within ``[power_flow].max_trafo_loading_pct`` and the element's
  headroom along the chain (:func:`onemap.grid.headroom.headroom`: nameplate − peak −
  promised of the transformer, its feeder and substation; for an MV feeder the feeder's).

It is computed once per network along its tree (:func:`onemap.grid.lines.lv_networks` and
:func:`~onemap.grid.lines.mv_networks`), vectorised per tree level, with the same formulas as
the tee-joint headroom (:func:`onemap.grid.lines.voltage_limit_kw`, P = ε U² / (R + X tan φ),
and :func:`~onemap.grid.lines.thermal_kw`). Two bases (column ``hosting_basis``):

``power_flow``
    A complete LV network (:attr:`LvNetwork.complete`) is load-flowed **once** as it stands
    (pandapower, the net of :func:`onemap.grid.powerflow.base_net`). A load S at bus d lowers
    the voltage of a bus k by S (R cos φ + X sin φ) / (U² V_d) with R + jX the impedance the
    two paths share from the MV side (transformer short-circuit impedance included), so the
    voltage limit at d is the smallest over the ancestors a of d of
    (min voltage in a's subtree − limit) × U² V_d / Z_a. The thermal limits are the rooms
    left by the existing currents (rated − flowed), added arithmetically (conservative: the
    phasors are almost in phase); the transformer's the loading room of the load flow.
``screen``
    Elsewhere (an LV network not complete, an MV feeder): the bulk screen of the tee joints —
    nominal voltage at the busbar, ``[lv_main].voltage_deviation`` of drop allowed, the full
    thermal rating of the path, the chain headroom; no transformer impedance.

A segment outside any rooted network, or whose transformer's headroom is unknown, has unknown
hosting capacity (NaN, never spare). ``hosting_limit`` names the binding limit: ``voltage``,
``line``, ``transformer`` (load-flow loading), ``headroom`` (nameplate chain) or ``unknown``.
First-order terms the plain formula lacks are taken in: the load draws its current at the far
end's lowered voltage, the existing (constant-power) loads draw more as the voltage falls, and
the quadrature drop lowers |V|. What remains is checked against pandapower on the net built from
the ``lv_schutterwald`` layers (tests/grid/test_hosting.py): with the hosting load added at the
far end the voltage stays within 0.001 pu and the loadings within 0.5 % of their limits
(measured ≤ 0.0005 pu, ≤ 0.1 %), and 10 % more breaks the binding limit; in a meshed network the
tree path overstates the impedance (conservative). What the layers do not carry is not in it:
``lv_schutterwald``'s own net sets its transformers' taps at +1 (2.5 % lower LV voltage) and
its source at 0.965 pu; the layers' net has neutral taps and ``[power_flow].source_vm_pu``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from onemap.geo.mapfile import OneMap
from onemap.grid.headroom import headroom
from onemap.grid.lines import (
    LV_MAX_KV,
    LvNetwork,
    line_table,
    lv_networks,
    mv_networks,
    thermal_kw,
    voltage_limit_kw,
)
from onemap.grid.powerflow import base_net
from onemap.rules import Rules, resolve_rules
from onemap.units import A_PER_KA, KVA_PER_MVA, M_PER_KM

__all__ = ["HOSTING_COLUMNS", "LIMITS", "hosting"]

HOSTING_COLUMNS = [
    "line_id",
    "kind",
    "voltage_kv",
    "transformer_id",
    "feeder_id",
    "far_id",
    "capacity_kva",
    "flow_kva",
    "hosting_kva",
    "hosting_limit",
    "hosting_basis",
]
LIMITS = ("voltage", "line", "transformer", "headroom")
REFINE_STEPS = 8  # fixed-point steps for the load's current at its (lowered) far-end voltage


@dataclass
class _State:
    """What a network's hosting rests on: the base case and the limits above the lines."""

    basis: str
    v0: dict[str, float]  # node id -> voltage (pu) as the network stands
    i0: dict[str, float]  # line id -> current (A) as the network stands
    v_min: float
    r_src: float  # Ω of the source (transformer) seen from the busbar
    x_src: float
    src_vm: float  # voltage (pu) of the source beyond the transformer
    tx_loading_pct: float  # the transformer's load-flow loading (-inf on a screen: no limit)
    tx_sn_kva: float
    chain_kva: float  # headroom along the chain (kVA), NaN unknown


def hosting(onemap: OneMap, rules: Rules | None = None) -> pd.DataFrame:
    """Hosting capacity of every line of the ``lines`` layer (cached per map and rule table).

    Returns
    -------
    pandas.DataFrame
        One row per line, in layer order, with :data:`HOSTING_COLUMNS`: ``kind``
        (``lv_line``/``mv_line``), ``capacity_kva`` (thermal: √3 U × rating), ``flow_kva``
        (the existing flow where load-flowed, else NaN), ``hosting_kva`` (NaN unknown),
        ``hosting_limit`` (one of :data:`LIMITS` or ``unknown``), ``hosting_basis``
        (``power_flow``/``screen``/""), ``far_id`` (the far end's bus or asset id).
    """
    rules = resolve_rules(onemap, rules)
    return onemap.cached("grid:hosting", lambda: _hosting(onemap, rules), rules=rules)


def _hosting(onemap: OneMap, rules: Rules) -> pd.DataFrame:
    table = line_table(onemap, rules)
    kv = table["voltage_kv"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "line_id": table["line_id"].to_numpy(),
            "kind": np.where(kv > LV_MAX_KV, "mv_line", "lv_line"),
            "voltage_kv": kv,
            "transformer_id": table["transformer_id"].to_numpy(),
            "feeder_id": table["feeder_id"].to_numpy(),
            "far_id": "",
            "capacity_kva": thermal_kw(kv, table["rated"].to_numpy(dtype=float), 1.0),
            "flow_kva": np.nan,
            "hosting_kva": np.nan,
            "hosting_limit": "unknown",
            "hosting_basis": "",
        }
    )
    if not len(out):
        return out[HOSTING_COLUMNS]
    head = onemap.cached("headroom", lambda: headroom(onemap, rules), rules=rules)
    pf = rules.connection.power_factor
    assets = head[(head["layer"] == "assets") & (head["asset_status"] != "planned")]
    lv_chain = pd.Series(assets["lv_headroom_kw"].to_numpy() / pf, index=assets["asset_id"])
    feeders = head[head["layer"] == "feeders"]
    hv_chain = pd.Series(feeders["hv_headroom_kw"].to_numpy() / pf, index=feeders["asset_id"])
    frames = []
    for tid, net in lv_networks(onemap, rules).items():
        chain = float(lv_chain.get(tid, np.nan)) if tid in lv_chain.index else np.nan
        frames.append(_tree(net, _lv_state(onemap, net, chain, rules), rules))
    for fid, net in mv_networks(onemap, rules).items():
        chain = float(hv_chain.get(fid, np.nan)) if fid in hv_chain.index else np.nan
        frames.append(_tree(net, _screen(rules, chain), rules))
    frames = [f for f in frames if len(f)]
    if frames:
        found = pd.concat(frames).drop_duplicates("line_id").set_index("line_id")
        rows = out["line_id"].isin(found.index).to_numpy()
        got = found.loc[out.loc[rows, "line_id"]]
        for col in ("far_id", "flow_kva", "hosting_kva", "hosting_limit", "hosting_basis"):
            out.loc[rows, col] = got[col].to_numpy()
    out["hosting_kva"] = out["hosting_kva"].astype(float)
    out["flow_kva"] = out["flow_kva"].astype(float)
    return out[HOSTING_COLUMNS]


def _screen(rules: Rules, chain_kva: float) -> _State:
    return _State(
        basis="screen",
        v0={},
        i0={},
        v_min=1.0 - rules.lv_main.voltage_deviation,
        r_src=0.0,
        x_src=0.0,
        src_vm=1.0,
        tx_loading_pct=-np.inf,
        tx_sn_kva=1.0,
        chain_kva=chain_kva,
    )


def _lv_state(onemap: OneMap, net: LvNetwork, chain_kva: float, rules: Rules) -> _State:
    """The load-flow base of a complete LV network, else the screen."""
    if not net.complete:
        return _screen(rules, chain_kva)
    base = base_net(onemap, net.transformer_id, rules)
    if base is None:
        return _screen(rules, chain_kva)
    run = onemap.cached(
        f"grid:pf_base_run:{net.transformer_id}",
        lambda: _run(base),
        layers=("lines", "assets"),
        rules=rules,
    )
    if run is None:  # the load flow did not converge: the screen, honestly named
        return _screen(rules, chain_kva)
    lim = rules.power_flow
    vm, i_ka, loading, trafo = run
    lv_kv = float(trafo["vn_lv_kv"])
    sn_kva = float(trafo["sn_mva"]) * KVA_PER_MVA
    z = float(trafo["vk_percent"]) / 100 * lv_kv**2 / float(trafo["sn_mva"])
    r = float(trafo["vkr_percent"]) / 100 * lv_kv**2 / float(trafo["sn_mva"])
    return _State(
        basis="power_flow",
        v0={n: float(vm[b]) for n, b in base.bus_of.items()},
        i0={line: float(i_ka[k]) * A_PER_KA for line, k in base.line_of.items()},
        v_min=lim.min_voltage_pu,
        r_src=r,
        x_src=math.sqrt(max(z**2 - r**2, 0.0)),
        src_vm=lim.source_vm_pu,
        tx_loading_pct=loading,
        tx_sn_kva=sn_kva,
        chain_kva=chain_kva,
    )


def _run(base) -> tuple[pd.Series, pd.Series, float, pd.Series] | None:
    """One load flow of the network as it stands: bus voltages, line currents, trafo loading."""
    import pandapower as pp

    net = copy.deepcopy(base.net)
    try:
        pp.runpp(net, numba=False)
    except pp.LoadflowNotConverged:
        return None
    return (
        net.res_bus["vm_pu"],
        net.res_line["i_ka"],
        float(net.res_trafo.at[base.trafo, "loading_percent"]),
        net.trafo.loc[base.trafo],
    )


def _tree(net: LvNetwork, state: _State, rules: Rules) -> pd.DataFrame:
    """Hosting at the far end of every line of one network, vectorised per tree level."""
    lines = net.lines
    reached = ~np.isnan(lines["up_r"].to_numpy(dtype=float))
    out = pd.DataFrame(
        {
            "line_id": lines["line_id"].to_numpy(),
            "far_id": lines["down_id"].to_numpy(),
            "flow_kva": np.nan,
            "hosting_kva": np.nan,
            "hosting_limit": "unknown",
            "hosting_basis": state.basis,
        }
    )
    if not reached.any():
        return out
    lim, pf = rules.power_flow, rules.connection.power_factor
    ok = lines[reached]
    kv = float(ok["voltage_kv"].iloc[0])
    length_km = ok["length"].to_numpy(dtype=float) / M_PER_KM
    r_far = ok["up_r"].to_numpy(dtype=float) + ok["r_km"].to_numpy() * length_km + state.r_src
    x_far = ok["up_x"].to_numpy(dtype=float) + ok["x_km"].to_numpy() * length_km + state.x_src
    i0 = ok["line_id"].map(state.i0).fillna(0.0).to_numpy(dtype=float)
    room_a = ok["rated"].to_numpy(dtype=float) * lim.max_line_loading_pct / 100 - i0

    # Nodes: the root, then every far end reached through a tree line (a second line in
    # parallel between the same buses is not a node of its own).
    down = ok["down_id"].to_numpy()
    tree = ok["tree"].to_numpy(dtype=bool) & (down != net.transformer_id)
    tree &= ~pd.Series(down).where(tree).duplicated().to_numpy()
    nodes = np.concatenate([[net.transformer_id], down[tree]])
    index = pd.Series(np.arange(len(nodes)), index=nodes)
    parent = np.concatenate([[-1], index.reindex(ok["up_id"].to_numpy()[tree]).to_numpy()])
    parent = parent.astype(int)
    levels = _levels(parent)
    far = index.reindex(down).to_numpy().astype(int)
    v0 = pd.Series(nodes).map(state.v0).fillna(1.0).to_numpy(dtype=float)
    r = np.concatenate([[state.r_src], r_far[tree]])
    x = np.concatenate([[state.x_src], x_far[tree]])
    # Voltage: the margin of each subtree (its lowest bus), then the smallest over the
    # ancestors. The existing loads draw more current as the voltage falls (constant power):
    # their drop src − V grows with it, so a bus's margin counts V / src of itself.
    gain = v0 / state.src_vm
    margin = np.maximum(_subtree_min((v0 - state.v_min) * gain, parent, levels), 0.0)
    with np.errstate(invalid="ignore"):
        term = np.where(r + x > 0, voltage_limit_kw(margin, kv, r, x, pf) / pf, np.inf)
    at = _path_argmin(term, parent, levels)[far]  # the ancestor whose subtree binds
    # The quadrature drop (X cos φ − R sin φ) S / U² lowers |V| by about its square / 2.
    cos, sin = pf, math.sqrt(1 - pf**2)
    quad_kva = KVA_PER_MVA * kv**2 / np.maximum(np.abs(x[at] * cos - r[at] * sin), 1e-12)
    # Thermal: the least room on the path (a mesh line: its own too), and the largest
    # existing current on it (which grows as the voltage falls).
    path_room = np.minimum(_path_min(np.r_[np.inf, room_a[tree]], parent, levels)[far], room_a)
    path_i0 = np.maximum(-_path_min(-np.r_[0.0, i0[tree]], parent, levels)[far], i0)
    drop_kva = voltage_limit_kw(1.0, kv, r_far, x_far, pf) / pf  # kVA per pu of drop at V = 1
    v_far = v0[far]
    v_ref, grow, quad = v_far.copy(), np.ones(len(far)), np.zeros(len(far))
    chain = np.full(len(far), state.chain_kva)
    # The transformer: its loading room; the existing loads' currents grow by the drop the new
    # load causes at them, Σ I_l ΔV_l / V ≈ (new current) × (src − V_far) / V_far.
    tx_room = (lim.max_trafo_loading_pct - state.tx_loading_pct) / 100 * state.tx_sn_kva
    for _ in range(REFINE_STEPS if state.basis == "power_flow" else 1):
        # The load draws its current at the far end's voltage once it is added (v_ref).
        with np.errstate(invalid="ignore", divide="ignore"):
            volt = np.where(
                np.isinf(term[at]),
                np.inf,
                voltage_limit_kw(margin[at] - quad, kv, r[at], x[at], pf) / pf * v_ref,
            )
        therm = thermal_kw(kv, path_room - (grow - 1) * path_i0, pf) / pf * v_ref
        candidates = np.vstack([volt, therm, tx_room * v_ref * gain[far], chain])
        best = np.maximum(np.min(np.where(np.isnan(candidates), -np.inf, candidates), 0), 0.0)
        if state.basis != "power_flow":
            break
        dv = best / (drop_kva * v_ref) / gain[far]  # the new load's drop and the existing's
        v_fin = np.clip(v_far - dv, state.v_min, v_far)
        v_ref, grow = v_fin, v_far / v_fin
        quad = np.minimum((best / (quad_kva * v_ref)) ** 2 / 2, margin[at])
    unknown = np.isnan(candidates).any(axis=0)
    which = np.argmin(np.where(np.isnan(candidates), np.inf, candidates), axis=0)
    flow = thermal_kw(kv, i0, 1.0) if state.basis == "power_flow" else np.full(len(far), np.nan)
    out.loc[reached, "hosting_kva"] = np.where(unknown, np.nan, best)
    out.loc[reached, "flow_kva"] = flow
    out.loc[reached, "hosting_limit"] = np.where(unknown, "unknown", np.array(LIMITS)[which])
    return out


def _levels(parent: np.ndarray) -> list[np.ndarray]:
    """Node indices by depth (the root alone at depth 0), from the parent array."""
    depth = np.zeros(len(parent), dtype=int)
    cur = parent.copy()
    while (cur >= 0).any():
        depth += cur >= 0
        cur = np.where(cur >= 0, parent[np.maximum(cur, 0)], -1)
    return [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)]


def _subtree_min(values: np.ndarray, parent: np.ndarray, levels: list[np.ndarray]) -> np.ndarray:
    """The smallest value of each node's subtree (itself and everything below it)."""
    out = values.astype(float).copy()
    for nodes in reversed(levels[1:]):
        np.minimum.at(out, parent[nodes], out[nodes])
    return out


def _path_argmin(values: np.ndarray, parent: np.ndarray, levels: list[np.ndarray]) -> np.ndarray:
    """The node of least value on each node's path from the root (itself included)."""
    best = np.arange(len(values))
    for nodes in levels[1:]:
        up = best[parent[nodes]]
        best[nodes] = np.where(values[up] < values[nodes], up, nodes)
    return best


def _path_min(values: np.ndarray, parent: np.ndarray, levels: list[np.ndarray]) -> np.ndarray:
    """The smallest value on each node's path from the root (itself included; NaN spreads
    down: an unknown rating upstream makes everything below it unknown)."""
    out = values.astype(float).copy()
    for nodes in levels[1:]:
        out[nodes] = np.minimum(out[nodes], out[parent[nodes]])
    return out
