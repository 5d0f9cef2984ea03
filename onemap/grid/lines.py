"""LV mains of the ``lines`` layer: LV networks, impedances and tee-joint candidate points.

An LV network is the set of live LV lines (``status`` existing, ``voltage_kv`` ≤ 1) that name
one ``transformer_id``. Its topology comes from the lines' ``from_id``/``to_id`` (bus or asset
ids; the transformer's LV busbar is the transformer's own asset id). A network is *complete*
when every line is reached from the transformer through the ids and every line's length,
impedance (a pandapower standard ``type``) and rating are known: only then is it load-flowed
(:mod:`onemap.grid.powerflow`).

Tee-joint candidates (:func:`lv_main_points`, connection point kind ``lv_main``): every main
(a line that is not one customer's service cable, see ``[lv_main].service_max_m``) is sampled
every ``[lv_main].sample_m`` metres. The headroom at a sample is the smallest of

- the transformer's LV headroom (:mod:`onemap.grid.headroom`: nameplate − peak − promised),
- the main's thermal rating (√3 × U × ``rated_a`` × power factor; the layer carries no flow of
  its own, so existing flows are checked by the load flow only), and
- the largest load whose voltage drop from the transformer's LV busbar to the sample stays
  within ``[lv_main].voltage_deviation`` (GB/T 12325-2008: 380 V ±7 %):
  P = ε U² / (R + X tan φ), with R, X the path impedance through the network. This screen
  starts at nominal voltage at the busbar (existing loads' drop is not in it): the honest
  per-network screen of bulk readiness; the preview verifies by load flow where it can.

A main without a known path to its transformer has unknown headroom (never spare).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from onemap.geo.mapfile import OneMap
from onemap.rules import Rules, resolve_rules
from onemap.units import A_PER_KA, KW_PER_MW, M_PER_KM

__all__ = ["LvNetwork", "line_table", "lv_main_points", "lv_networks", "std_line_types"]

LV_MAX_KV = 1.0  # a line at or below this voltage is low voltage
POINT_COLUMNS = [
    "asset_id",
    "kind",
    "headroom_kw",
    "feeder_id",
    "substation_id",
    "x",
    "y",
    "line_id",
    "transformer_id",
    "offset_m",
    "r_ohm",
    "x_ohm",
]


@lru_cache(maxsize=1)
def std_line_types() -> pd.DataFrame:
    """pandapower's standard line types (``r_ohm_per_km``, ``x_ohm_per_km``, ``max_i_ka`` …)."""
    import pandapower as pp

    return pp.available_std_types(pp.create_empty_network(), "line")


def _num(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), "", dtype=object)
    return frame[name].fillna("").astype(str).to_numpy(dtype=object)


def line_table(onemap: OneMap, rules: Rules | None = None) -> pd.DataFrame:
    """The ``lines`` layer (metric CRS) with what the grid code needs, one row per line.

    Added columns: ``live`` (existing, in service), ``length`` (``length_m``, else the
    geometry's length), ``r_km``/``x_km``/``c_km`` (Ω/km, nF/km of its pandapower standard
    type, else the ``[lv_main]`` defaults), ``type_known``, ``rated`` (A: ``rated_a``, else
    from ``capacity_kva``, else the type's ``max_i_ka``).
    """
    rules = resolve_rules(onemap, rules)
    return onemap.cached(
        "grid:lines", lambda: _line_table(onemap, rules), layers=("lines",), rules=rules
    )


def _line_table(onemap: OneMap, rules: Rules) -> pd.DataFrame:
    lines = onemap.metric("lines")
    out = pd.DataFrame(
        {
            c: _text(lines, c)
            for c in ("line_id", "from_id", "to_id", "transformer_id", "feeder_id", "type")
        }
    )
    out["voltage_kv"] = _num(lines, "voltage_kv")
    status = _text(lines, "status")
    in_service = _num(lines, "in_service")
    out["live"] = (status != "planned") & ~(in_service == 0)
    geom_len = shapely.length(lines.geometry.to_numpy()) if len(lines) else np.zeros(0)
    length = _num(lines, "length_m")
    out["length"] = np.where(np.isnan(length), geom_len, length)
    out["geom_length"] = geom_len
    types = std_line_types() if len(lines) else pd.DataFrame()
    known = pd.Series(out["type"]).isin(types.index).to_numpy() if len(lines) else np.zeros(0, bool)
    lm = rules.lv_main

    def from_type(col: str, default: float) -> np.ndarray:
        vals = pd.Series(out["type"]).map(types[col]) if len(types) else pd.Series(dtype=float)
        return np.where(known, vals.to_numpy(dtype=float), default)

    out["type_known"] = known
    out["r_km"] = from_type("r_ohm_per_km", lm.r_ohm_per_km)
    out["x_km"] = from_type("x_ohm_per_km", lm.x_ohm_per_km)
    out["c_km"] = from_type("c_nf_per_km", 0.0)
    rated = _num(lines, "rated_a")
    cap = _num(lines, "capacity_kva")
    with np.errstate(invalid="ignore", divide="ignore"):
        from_cap = cap / (math.sqrt(3) * out["voltage_kv"].to_numpy())
    rated = np.where(np.isnan(rated), from_cap, rated)
    rated = np.where(np.isnan(rated), from_type("max_i_ka", np.nan) * A_PER_KA, rated)
    out["rated"] = rated
    out["geometry"] = lines.geometry.to_numpy() if len(lines) else np.zeros(0, object)
    return out


@dataclass
class LvNetwork:
    """One LV network: its lines (rows of :func:`line_table`) and their place in the tree."""

    transformer_id: str
    lines: pd.DataFrame  # with up_is_from, up_r, up_x, service
    complete: bool
    why_incomplete: str


def lv_networks(onemap: OneMap, rules: Rules | None = None) -> dict[str, LvNetwork]:
    """The LV networks of the map by transformer id (cached per map and rule table)."""
    rules = resolve_rules(onemap, rules)
    return onemap.cached(
        "grid:lv_networks",
        lambda: _lv_networks(line_table(onemap, rules), rules),
        layers=("lines",),
        rules=rules,
    )


def _lv_networks(table: pd.DataFrame, rules: Rules) -> dict[str, LvNetwork]:
    lv = table[table["live"] & (table["voltage_kv"] <= LV_MAX_KV) & (table["transformer_id"] != "")]
    out = {}
    for tid, lines in lv.groupby("transformer_id", sort=True):
        out[str(tid)] = _network(str(tid), lines.copy(), rules)
    return out


def _network(tid: str, lines: pd.DataFrame, rules: Rules) -> LvNetwork:
    r = lines["r_km"].to_numpy() * lines["length"].to_numpy() / M_PER_KM
    x = lines["x_km"].to_numpy() * lines["length"].to_numpy() / M_PER_KM
    has_ids = (lines["from_id"] != "") & (lines["to_id"] != "")
    graph = nx.Graph()
    for k, (f, t) in enumerate(zip(lines["from_id"], lines["to_id"], strict=True)):
        if f and t:
            graph.add_edge(f, t, length=float(lines["length"].iloc[k]))
    dist_r = dist_x = {}
    if tid in graph:
        # Shortest electrical path from the busbar (radial nets: the only path).
        _, paths = nx.single_source_dijkstra(graph, tid, weight="length")
        rx = {
            (f, t): (rr, xx)
            for f, t, rr, xx in zip(lines["from_id"], lines["to_id"], r, x, strict=True)
        }
        dist_r, dist_x = {tid: 0.0}, {tid: 0.0}
        for node, path in paths.items():
            if node == tid:
                continue
            prev = path[-2]
            rr, xx = rx.get((prev, node)) or rx.get((node, prev))
            dist_r[node] = dist_r[prev] + rr
            dist_x[node] = dist_x[prev] + xx
    fr = lines["from_id"].map(dist_r).to_numpy(dtype=float)
    to = lines["to_id"].map(dist_r).to_numpy(dtype=float)
    up_is_from = ~(to < fr)
    lines["up_is_from"] = up_is_from
    lines["up_r"] = np.where(up_is_from, fr, to)
    lines["up_x"] = np.where(
        up_is_from,
        lines["from_id"].map(dist_x).to_numpy(dtype=float),
        lines["to_id"].map(dist_x).to_numpy(dtype=float),
    )
    down = np.where(up_is_from, lines["to_id"], lines["from_id"])
    degree = pd.Series(dict(graph.degree())) if len(graph) else pd.Series(dtype=float)
    leaf = pd.Series(down).map(degree).fillna(0).to_numpy() <= 1
    lines["service"] = leaf & (lines["length"].to_numpy() < rules.lv_main.service_max_m)
    reached = ~np.isnan(lines["up_r"].to_numpy())
    why = ""
    if not has_ids.all():
        why = "lines without from_id/to_id"
    elif tid not in graph:
        why = "no line joins the transformer"
    elif not reached.all():
        why = f"{int((~reached).sum())} lines not connected to the transformer"
    elif not lines["type_known"].all():
        why = "lines of unknown type (no pandapower standard type)"
    elif np.isnan(lines["length"]).any() or np.isnan(lines["rated"]).any():
        why = "lines without length or rating"
    return LvNetwork(tid, lines, why == "", why)


def lv_main_points(onemap: OneMap, table: pd.DataFrame, rules: Rules | None = None) -> pd.DataFrame:
    """Tee-joint candidates on the LV mains with their headroom (kW); columns POINT_COLUMNS.

    ``table`` is the headroom table of :func:`onemap.grid.headroom.headroom` (the transformer's
    LV headroom, feeder and substation come from its row). Sample ``k`` of a main lies at
    ``(k + ½) × sample_m`` along it (at least one sample, at its middle).
    """
    rules = resolve_rules(onemap, rules)
    if not rules.lv_main.enabled or not len(onemap["lines"]):
        return pd.DataFrame(columns=POINT_COLUMNS)
    nets = lv_networks(onemap, rules)
    tx = table[(table["layer"] == "assets") & (table["kind"] == "transformer")]
    tx = tx[tx["asset_status"] != "planned"].set_index("asset_id")
    frames = [_samples(n, tx, rules) for n in nets.values()]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=POINT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[POINT_COLUMNS]


def _samples(net: LvNetwork, tx: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    lm = rules.lv_main
    mains = net.lines[~net.lines["service"]]
    if not len(mains) or net.transformer_id not in tx.index:
        return pd.DataFrame()
    row = tx.loc[net.transformer_id]
    geom_len = mains["geom_length"].to_numpy()
    count = np.maximum(np.floor(geom_len / lm.sample_m), 1).astype(int)
    which = np.repeat(np.arange(len(mains)), count)
    k = np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)
    along = np.where(count[which] == 1, geom_len[which] / 2, (k + 0.5) * lm.sample_m)
    geoms = mains["geometry"].to_numpy()[which]
    pts = shapely.line_interpolate_point(geoms, along)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(geom_len[which] > 0, along / geom_len[which], 0.5)
    up_is_from = mains["up_is_from"].to_numpy()[which]
    from_up = np.where(up_is_from, frac, 1 - frac) * mains["length"].to_numpy()[which] / M_PER_KM
    r = mains["up_r"].to_numpy()[which] + mains["r_km"].to_numpy()[which] * from_up
    x = mains["up_x"].to_numpy()[which] + mains["x_km"].to_numpy()[which] * from_up
    kv = mains["voltage_kv"].to_numpy()[which]
    pf = rules.connection.power_factor
    tan_phi = math.tan(math.acos(pf))
    with np.errstate(invalid="ignore", divide="ignore"):
        volt_kw = lm.voltage_deviation * kv**2 / (r + x * tan_phi) * KW_PER_MW
    line_kw = math.sqrt(3) * kv * mains["rated"].to_numpy()[which] * pf
    tx_kw = float(row["lv_headroom_kw"])
    headroom = np.minimum(np.minimum(line_kw, volt_kw), tx_kw)  # NaN stays NaN: unknown
    ids = mains["line_id"].to_numpy()[which]
    return pd.DataFrame(
        {
            "asset_id": [f"{i}@{a:.0f}" for i, a in zip(ids, along, strict=True)],
            "kind": "lv_main",
            "headroom_kw": headroom,
            "feeder_id": row["feeder_id"],
            "substation_id": row["substation_id"],
            "x": shapely.get_x(pts),
            "y": shapely.get_y(pts),
            "line_id": ids,
            "transformer_id": net.transformer_id,
            "offset_m": along,
            "r_ohm": r,
            "x_ohm": x,
        }
    )
