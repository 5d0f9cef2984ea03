"""Power-flow-verified headroom of an LV network (DESIGN §4), by pandapower.

Where an LV network's topology is complete (:class:`onemap.grid.lines.LvNetwork.complete`:
every line reached from its transformer, lengths, standard types and ratings known), a
pandapower net is built **from the layers** (:func:`build_net`) and a proposed connection is
checked (:func:`check_connection`): the new load is added at its connection point (a tee joint
splits its main there; a transformer takes it on its LV busbar), ``pandapower.runpp`` runs, and
the minimum bus voltage (pu), the maximum line loading and the transformer loading (%) are
compared with ``[power_flow]`` (GB/T 12325-2008: 380 V and 10/20 kV ±7 %; loading ≤ 100 %).

What the layers do not say is assumed, and named in the rule table: the MV supply at
``source_vm_pu``; the transformer's pandapower standard type of its size and voltages where one
exists, else ``trafo_vk_percent``/``trafo_vkr_percent``; the transformer's ``peak_load_kva``
spread evenly over the network's end buses (its customers' service ends) at the connection
power factor.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from onemap.geo.mapfile import OneMap
from onemap.grid.lines import LvNetwork, lv_networks
from onemap.rules import Rules, resolve_rules
from onemap.units import A_PER_KA, KVA_PER_MVA, KW_PER_MW, M_PER_KM

__all__ = ["LayerNet", "PowerFlowCheck", "build_net", "check_connection"]


@dataclass
class LayerNet:
    """A pandapower net built from the layers, with the look-ups into it."""

    net: object
    bus_of: dict[str, int]  # topology id (from_id/to_id, transformer id) -> bus
    line_of: dict[str, int]  # line_id -> line
    trafo: int


@dataclass(frozen=True)
class PowerFlowCheck:
    """The load flow of one proposed connection."""

    min_voltage_pu: float
    max_line_loading_pct: float
    max_trafo_loading_pct: float
    ok: bool
    limit: dict[str, float | str] = field(default_factory=dict)
    failed: tuple[str, ...] = ()
    transformer_id: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "min_voltage_pu": round(self.min_voltage_pu, 6),
            "max_line_loading_pct": round(self.max_line_loading_pct, 3),
            "max_trafo_loading_pct": round(self.max_trafo_loading_pct, 3),
            "ok": self.ok,
            "limit": dict(self.limit),
            "failed": list(self.failed),
            "transformer_id": self.transformer_id,
        }


def _trafo_row(onemap: OneMap, tid: str) -> pd.Series | None:
    assets = onemap["assets"]
    hit = assets[assets["asset_id"].astype(str) == tid]
    return None if hit.empty else hit.iloc[0]


@lru_cache(maxsize=1)
def _empty_net() -> object:
    """An empty pandapower net with the standard types (never modified: copy it)."""
    import pandapower as pp

    return pp.create_empty_network()


def build_net(onemap: OneMap, network: LvNetwork, rules: Rules | None = None) -> LayerNet:
    """The pandapower net of one complete LV network, from the ``lines`` and ``assets`` layers."""
    import pandapower as pp

    rules = resolve_rules(onemap, rules)
    pf_rules = rules.power_flow
    tx = _trafo_row(onemap, network.transformer_id)
    if tx is None or not network.complete:
        raise ValueError(f"LV network {network.transformer_id} is not complete")
    lines = network.lines
    lv_kv = float(lines["voltage_kv"].iloc[0])
    hv_kv = float(tx["voltage_kv"])
    sn_mva = float(tx["capacity_kva"]) / KVA_PER_MVA
    net = copy.deepcopy(_empty_net())  # a copy: building an empty net takes ~0.3 s
    mv = pp.create_bus(net, vn_kv=hv_kv, name=f"{network.transformer_id}:mv")
    pp.create_ext_grid(net, mv, vm_pu=pf_rules.source_vm_pu)
    ids = pd.unique(pd.concat([lines["from_id"], lines["to_id"]], ignore_index=True))
    names = [network.transformer_id, *(str(i) for i in ids if i != network.transformer_id)]
    buses = pp.create_buses(net, len(names), vn_kv=lv_kv, name=names)
    bus_of = dict(zip(names, (int(b) for b in buses), strict=True))
    std = f"{sn_mva:g} MVA {hv_kv:g}/{lv_kv:g} kV"
    if std in pp.available_std_types(net, "trafo").index:
        trafo = pp.create_transformer(net, mv, bus_of[network.transformer_id], std_type=std)
    else:
        trafo = pp.create_transformer_from_parameters(
            net,
            mv,
            bus_of[network.transformer_id],
            sn_mva=sn_mva,
            vn_hv_kv=hv_kv,
            vn_lv_kv=lv_kv,
            vkr_percent=pf_rules.trafo_vkr_percent,
            vk_percent=pf_rules.trafo_vk_percent,
            pfe_kw=0.0,
            i0_percent=0.0,
        )
    idx = pp.create_lines(
        net,
        [bus_of[f] for f in lines["from_id"]],
        [bus_of[t] for t in lines["to_id"]],
        length_km=(lines["length"].to_numpy(dtype=float) / M_PER_KM).tolist(),
        std_type=lines["type"].tolist(),
        name=lines["line_id"].tolist(),
    )
    net.line.loc[idx, "max_i_ka"] = lines["rated"].to_numpy(dtype=float) / A_PER_KA
    line_of = dict(zip(lines["line_id"], (int(i) for i in idx), strict=True))
    _existing_load(net, lines, bus_of, network.transformer_id, tx, rules)
    return LayerNet(net, bus_of, line_of, int(trafo))


def _existing_load(net, lines, bus_of, tid, tx, rules) -> None:
    """The transformer's peak load spread evenly over the network's end buses."""
    import pandapower as pp

    peak = float(tx.get("peak_load_kva", np.nan))
    if not peak > 0:
        return
    ends = pd.concat([lines["from_id"], lines["to_id"]], ignore_index=True)
    degree = ends.value_counts()
    leaves = [b for b, d in degree.items() if d == 1 and b != tid] or [
        b for b in degree.index if b != tid
    ]
    pf = rules.connection.power_factor
    q_share = math.tan(math.acos(pf))
    each = peak / KVA_PER_MVA / len(leaves)
    pp.create_loads(
        net, [bus_of[b] for b in leaves], p_mw=each * pf, q_mvar=each * pf * q_share, name="peak"
    )


def base_net(onemap: OneMap, transformer_id: str, rules: Rules | None = None) -> LayerNet | None:
    """The layer net of a transformer's LV network (cached), None when it cannot be built."""
    rules = resolve_rules(onemap, rules)
    network = lv_networks(onemap, rules).get(transformer_id)
    if network is None or not network.complete or _trafo_row(onemap, transformer_id) is None:
        return None
    if len(network.lines) + 1 > rules.power_flow.max_buses:
        return None
    return onemap.cached(
        f"grid:pf_net:{transformer_id}",
        lambda: build_net(onemap, network, rules),
        layers=("lines", "assets"),
        rules=rules,
    )


def check_connection(
    onemap: OneMap,
    transformer_id: str,
    kw: float,
    *,
    line_id: str | None = None,
    offset_m: float | None = None,
    rules: Rules | None = None,
) -> PowerFlowCheck | None:
    """Load flow with ``kw`` added at a tee joint (``line_id`` at ``offset_m`` along its
    geometry) or, without a line, on the transformer's LV busbar. None when the network is
    not complete (the headroom stays on its nameplate basis)."""
    import pandapower as pp

    rules = resolve_rules(onemap, rules)
    base = base_net(onemap, transformer_id, rules)
    if base is None:
        return None
    net = copy.deepcopy(base.net)
    at = base.bus_of[transformer_id]
    if line_id is not None and line_id in base.line_of:
        at = _split(net, base, onemap, transformer_id, line_id, offset_m, rules)
    pf = rules.connection.power_factor
    pp.create_load(
        net, at, p_mw=kw / KW_PER_MW, q_mvar=kw / KW_PER_MW * math.tan(math.acos(pf)), name="new"
    )
    pp.runpp(net, numba=False)
    return _verdict(net, base.trafo, transformer_id, rules)


def _split(net, base: LayerNet, onemap, tid, line_id, offset_m, rules) -> int:
    """Split a line at a tee joint; returns the new bus."""
    import pandapower as pp

    network = lv_networks(onemap, rules)[tid]
    row = network.lines.set_index("line_id").loc[line_id]
    k = base.line_of[line_id]
    geom_len = float(row["geom_length"]) or 1.0
    frac = min(max(float(offset_m if offset_m is not None else geom_len / 2) / geom_len, 0), 1)
    length_km = float(net.line.at[k, "length_km"])
    tee = pp.create_bus(net, vn_kv=float(net.bus.at[net.line.at[k, "from_bus"], "vn_kv"]))
    to_bus = int(net.line.at[k, "to_bus"])
    net.line.at[k, "length_km"] = max(length_km * frac, 1e-6)
    net.line.at[k, "to_bus"] = tee
    new = pp.create_line(
        net, tee, to_bus, length_km=max(length_km * (1 - frac), 1e-6), std_type=row["type"]
    )
    net.line.at[new, "max_i_ka"] = net.line.at[k, "max_i_ka"]
    return int(tee)


def _verdict(net, trafo: int, tid: str, rules: Rules) -> PowerFlowCheck:
    lim = rules.power_flow
    vm = net.res_bus["vm_pu"].to_numpy(dtype=float)
    v_min = float(np.nanmin(vm))
    v_max = float(np.nanmax(vm))
    line_load = float(net.res_line["loading_percent"].max()) if len(net.res_line) else 0.0
    trafo_load = float(net.res_trafo.at[trafo, "loading_percent"])
    failed = []
    if v_min < lim.min_voltage_pu:
        failed.append(f"min_voltage_pu {v_min:.4f} < {lim.min_voltage_pu:g}")
    if v_max > lim.max_voltage_pu:
        failed.append(f"max_voltage_pu {v_max:.4f} > {lim.max_voltage_pu:g}")
    if line_load > lim.max_line_loading_pct:
        failed.append(f"max_line_loading_pct {line_load:.1f} > {lim.max_line_loading_pct:g}")
    if trafo_load > lim.max_trafo_loading_pct:
        failed.append(f"max_trafo_loading_pct {trafo_load:.1f} > {lim.max_trafo_loading_pct:g}")
    return PowerFlowCheck(
        min_voltage_pu=v_min,
        max_line_loading_pct=line_load,
        max_trafo_loading_pct=trafo_load,
        ok=not failed,
        limit={
            "min_voltage_pu": lim.min_voltage_pu,
            "max_voltage_pu": lim.max_voltage_pu,
            "max_line_loading_pct": lim.max_line_loading_pct,
            "max_trafo_loading_pct": lim.max_trafo_loading_pct,
            "source": lim.source,
        },
        failed=tuple(failed),
        transformer_id=tid,
    )


def headroom_basis(
    onemap: OneMap, asset_id: str | None, kind: str | None, kw: float, rules: Rules | None = None
) -> tuple[str, PowerFlowCheck | None]:
    """``("power_flow", check)`` for a connection at a transformer or a tee joint of a complete
    LV network, else ``("nameplate", None)``. A tee joint's id is ``LINE@OFFSET``."""
    rules = resolve_rules(onemap, rules)
    if asset_id is None or kind not in ("transformer", "lv_main"):
        return "nameplate", None
    line_id = offset = None
    tid = asset_id
    if kind == "lv_main":
        line_id, at = asset_id.rsplit("@", 1)
        offset = float(at)
        tid = next(
            (
                t
                for t, n in lv_networks(onemap, rules).items()
                if line_id in set(n.lines["line_id"])
            ),
            "",
        )
    check = check_connection(onemap, tid, kw, line_id=line_id, offset_m=offset, rules=rules)
    return ("nameplate", None) if check is None else ("power_flow", check)
