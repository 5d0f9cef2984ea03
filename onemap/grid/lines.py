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

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from onemap.geo.mapfile import OneMap
from onemap.rules import Rules, resolve_rules
from onemap.units import A_PER_KA, KW_PER_MW, M_PER_KM

__all__ = [
    "LvNetwork",
    "line_table",
    "lv_main_points",
    "lv_networks",
    "mv_networks",
    "std_line_types",
    "thermal_kw",
    "voltage_limit_kw",
]

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
    """pandapower's standard line types (``r_ohm_per_km``, ``x_ohm_per_km``, ``max_i_ka`` …)
    (read from its table, not from an empty net: building one takes ~0.3 s)."""
    from pandapower.std_types import basic_line_std_types

    return pd.DataFrame.from_dict(basic_line_std_types(), orient="index")


def _num(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), "", dtype=object)
    return frame[name].fillna("").astype(str).to_numpy(dtype=object)


def voltage_limit_kw(
    margin_pu: np.ndarray | float,
    kv: np.ndarray | float,
    r_ohm: np.ndarray | float,
    x_ohm: np.ndarray | float,
    power_factor: float,
) -> np.ndarray:
    """The largest load (kW) whose voltage drop through ``r_ohm + j x_ohm`` stays within
    ``margin_pu``: P = ε U² / (R + X tan φ) (the drop ΔU/U ≈ (P R + Q X) / U²).

    ``kv`` is the nominal line-to-line voltage; NaN in, NaN out; a zero impedance gives inf.
    """
    tan_phi = math.tan(math.acos(power_factor))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.asarray(r_ohm, dtype=float) + np.asarray(x_ohm, dtype=float) * tan_phi
        return np.asarray(margin_pu, dtype=float) * np.asarray(kv, dtype=float) ** 2 / z * KW_PER_MW


def thermal_kw(
    kv: np.ndarray | float, rated_a: np.ndarray | float, power_factor: float
) -> np.ndarray:
    """The load (kW) a three-phase line carries at ``rated_a``: √3 × U × I × power factor."""
    return (
        math.sqrt(3) * np.asarray(kv, dtype=float) * np.asarray(rated_a, dtype=float) * power_factor
    )


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
    """One LV network (or MV feeder, :func:`mv_networks`): its lines (rows of
    :func:`line_table`) and their place in the tree.

    ``transformer_id`` is the root: the id whose busbar heads the tree (the transformer of an
    LV network, the substation of an MV feeder, whose id is then in ``feeder_id``). Added line
    columns: ``up_is_from``, ``up_id``/``down_id`` (the end nearer to / farther from the root),
    ``up_r``/``up_x`` (Ω from the root's busbar to the up end, NaN where not reached),
    ``tree`` (the line is the path's last line to its down end; False for a line closing a
    mesh), ``service``.
    """

    transformer_id: str
    lines: pd.DataFrame
    complete: bool
    why_incomplete: str
    feeder_id: str = ""


def lv_networks(onemap: OneMap, rules: Rules | None = None) -> dict[str, LvNetwork]:
    """The LV networks of the map by transformer id (cached per map and rule table)."""
    rules = resolve_rules(onemap, rules)

    def build() -> dict[str, LvNetwork]:
        frame, why = _lv_forest(onemap, rules)
        return _split(frame, "transformer_id", frame["transformer_id"].to_numpy(), why)

    return onemap.cached("grid:lv_networks", build, layers=("lines",), rules=rules)


def _lv_forest(onemap: OneMap, rules: Rules) -> tuple[pd.DataFrame, pd.Series]:
    """Every live LV line of a transformer's network with its tree columns, all networks at
    once, and why each network is incomplete ("" complete), by transformer id (cached)."""

    def build() -> tuple[pd.DataFrame, pd.Series]:
        table = line_table(onemap, rules)
        lv = table[
            table["live"] & (table["voltage_kv"] <= LV_MAX_KV) & (table["transformer_id"] != "")
        ]
        group = lv["transformer_id"].to_numpy(dtype=object)
        return _forest(lv.copy(), group, group, rules)

    return onemap.cached("grid:lv_forest", build, layers=("lines",), rules=rules)


def mv_networks(onemap: OneMap, rules: Rules | None = None) -> dict[str, LvNetwork]:
    """The MV feeders of the ``lines`` layer by feeder id, each a tree rooted at its
    substation's busbar (the feeder's ``substation_id`` named as a line end), cached.

    Live lines above :data:`LV_MAX_KV` with a ``feeder_id`` of the ``feeders`` layer; a feeder
    whose substation no line names stays unrooted (every line unreached).
    """
    rules = resolve_rules(onemap, rules)

    def build() -> dict[str, LvNetwork]:
        table = line_table(onemap, rules)
        feeders = onemap["feeders"]
        sub_of = dict(
            zip(_text(feeders, "feeder_id"), _text(feeders, "substation_id"), strict=True)
        )
        mv = table[table["live"] & (table["voltage_kv"] > LV_MAX_KV) & (table["feeder_id"] != "")]
        group = mv["feeder_id"].to_numpy(dtype=object)
        root = pd.Series(group).map(sub_of).fillna("").to_numpy(dtype=object)
        frame, why = _forest(mv.copy(), group, root, rules)
        frame["service"] = False
        nets = _split(frame, "feeder_id", root, why)
        for fid, net in nets.items():
            net.feeder_id = fid
        return nets

    return onemap.cached("grid:mv_networks", build, layers=("lines", "feeders"), rules=rules)


def _split(frame: pd.DataFrame, by: str, root: np.ndarray, why: pd.Series) -> dict:
    """One :class:`LvNetwork` per group of the forest's lines."""
    out = {}
    for key, rows in pd.Series(frame[by].to_numpy()).groupby(frame[by].to_numpy()).indices.items():
        reason = str(why.get(key, ""))
        out[str(key)] = LvNetwork(str(root[rows[0]]), frame.iloc[rows], reason == "", reason)
    return dict(sorted(out.items()))


def _forest(
    lines: pd.DataFrame, group: np.ndarray, root: np.ndarray, rules: Rules
) -> tuple[pd.DataFrame, pd.Series]:
    """The tree columns of :class:`LvNetwork` for the lines of many networks at once.

    ``group`` names each line's network, ``root`` its root id. The ids of different networks
    are kept apart; one multi-source shortest-path pass by length (scipy, parallel lines
    collapsed to the shortest first) gives every bus its path from its root, and the path
    impedances are summed up the tree by pointer doubling.
    """
    n = len(lines)
    f_id = lines["from_id"].to_numpy(dtype=object)
    t_id = lines["to_id"].to_numpy(dtype=object)
    sep = "\x1f"
    codes, _ = pd.factorize(
        np.concatenate([group + sep + f_id, group + sep + t_id, group + sep + root])
    )
    fn, tn, rn = codes[:n], codes[n : 2 * n], codes[2 * n :]
    size = int(codes.max()) + 1 if n else 0
    length = lines["length"].to_numpy(dtype=float)
    r_line = lines["r_km"].to_numpy() * length / M_PER_KM
    x_line = lines["x_km"].to_numpy() * length / M_PER_KM
    has = (f_id != "") & (t_id != "")
    edge = np.flatnonzero(has & (fn != tn))
    a, b = np.minimum(fn[edge], tn[edge]), np.maximum(fn[edge], tn[edge])
    weight = np.where(np.isfinite(length[edge]) & (length[edge] > 0), length[edge], 1e-9)
    order = np.lexsort((weight, b, a))  # the shortest of parallel lines first
    pair = a[order].astype(np.int64) * max(size, 1) + b[order]
    first = np.r_[True, pair[1:] != pair[:-1]] if len(pair) else np.zeros(0, bool)
    pair, rep = pair[first], edge[order][first]  # one line per bus pair, sorted by pair
    ua, ub = np.minimum(fn[rep], tn[rep]), np.maximum(fn[rep], tn[rep])
    graph = coo_matrix((weight[order][first], (ua, ub)), shape=(size, size)).tocsr()
    roots = np.unique(rn[root != ""])
    dist_r = np.full(size, np.nan)
    dist_x = np.full(size, np.nan)
    pred = np.full(size, -1)
    if len(roots) and size:
        dist, pred, _ = dijkstra(
            graph, directed=False, indices=roots, min_only=True, return_predecessors=True
        )
        pred = np.where(pred < 0, -1, pred)
        reached = np.isfinite(dist)
        # the line from each bus's predecessor: r, x of the edge into the bus
        child = np.flatnonzero(pred >= 0)
        q = np.minimum(pred[child], child).astype(np.int64) * size + np.maximum(pred[child], child)
        into = rep[np.searchsorted(pair, q)]
        step_r, step_x = np.zeros(size), np.zeros(size)
        step_r[child], step_x[child] = r_line[into], x_line[into]
        dist_r = np.where(reached, _path_sums(pred, step_r), np.nan)
        dist_x = np.where(reached, _path_sums(pred, step_x), np.nan)
    fr = np.where(f_id != "", dist_r[fn] if size else np.nan, np.nan)
    to = np.where(t_id != "", dist_r[tn] if size else np.nan, np.nan)
    up_is_from = ~(to < fr)
    up_node, down_node = np.where(up_is_from, fn, tn), np.where(up_is_from, tn, fn)
    lines["up_is_from"] = up_is_from
    lines["up_r"] = np.where(up_is_from, fr, to)
    lines["up_x"] = np.where(
        up_is_from,
        np.where(f_id != "", dist_x[fn] if size else np.nan, np.nan),
        np.where(t_id != "", dist_x[tn] if size else np.nan, np.nan),
    )
    lines["up_id"] = np.where(up_is_from, f_id, t_id)
    lines["down_id"] = np.where(up_is_from, t_id, f_id)
    lines["tree"] = has & (pred[down_node] == up_node) if size else np.zeros(0, bool)
    degree = np.bincount(np.r_[ua, ub], minlength=size)
    leaf = degree[down_node] <= 1 if size else np.zeros(0, bool)
    lines["service"] = leaf & (length < rules.lv_main.service_max_m)
    return lines, _why(lines, group, degree[rn] > 0 if size else np.zeros(0, bool))


def _path_sums(pred: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Σ of ``step`` over each node's path to its root (``pred`` −1 at roots): pointer
    doubling, log₂(depth) vectorised rounds."""
    acc, anc = step.astype(float).copy(), pred.copy()
    while (anc >= 0).any():
        up = anc >= 0
        at = np.maximum(anc, 0)
        acc = acc + np.where(up, acc[at], 0.0)
        anc = np.where(up, anc[at], -1)
    return acc


def _why(lines: pd.DataFrame, group: np.ndarray, root_joined: np.ndarray) -> pd.Series:
    """Why each network is incomplete ("" when complete), by group."""
    frame = pd.DataFrame(
        {
            "ids": (lines["from_id"] != "").to_numpy() & (lines["to_id"] != "").to_numpy(),
            "joined": root_joined,
            "unreached": np.isnan(lines["up_r"].to_numpy(dtype=float)),
            "known": lines["type_known"].to_numpy(dtype=bool),
            "rated": ~(np.isnan(lines["length"].to_numpy()) | np.isnan(lines["rated"].to_numpy())),
        }
    )
    agg = frame.groupby(group).agg(
        ids=("ids", "all"),
        joined=("joined", "any"),
        unreached=("unreached", "sum"),
        known=("known", "all"),
        rated=("rated", "all"),
    )
    unreached = agg["unreached"].astype(int).astype(str) + " lines not connected to the transformer"
    why = np.select(
        [~agg["ids"], ~agg["joined"], agg["unreached"] > 0, ~agg["known"], ~agg["rated"]],
        [
            "lines without from_id/to_id",
            "no line joins the transformer",
            unreached,
            "lines of unknown type (no pandapower standard type)",
            "lines without length or rating",
        ],
        default="",
    )
    return pd.Series(why, index=agg.index, dtype=object)


def lv_main_points(onemap: OneMap, table: pd.DataFrame, rules: Rules | None = None) -> pd.DataFrame:
    """Tee-joint candidates on the LV mains with their headroom (kW); columns POINT_COLUMNS.

    ``table`` is the headroom table of :func:`onemap.grid.headroom.headroom` (the transformer's
    LV headroom, feeder and substation come from its row). Sample ``k`` of a main lies at
    ``(k + ½) × sample_m`` along it (at least one sample, at its middle). All networks'
    mains are sampled at once.
    """
    rules = resolve_rules(onemap, rules)
    if not rules.lv_main.enabled or not len(onemap["lines"]):
        return pd.DataFrame(columns=POINT_COLUMNS)
    frame, _ = _lv_forest(onemap, rules)
    tx = table[(table["layer"] == "assets") & (table["kind"] == "transformer")]
    tx = tx[tx["asset_status"] != "planned"].drop_duplicates("asset_id").set_index("asset_id")
    mains = frame[~frame["service"].to_numpy(dtype=bool)]
    mains = mains[mains["transformer_id"].isin(tx.index).to_numpy()]
    if not len(mains):
        return pd.DataFrame(columns=POINT_COLUMNS)
    return _samples(mains, tx.loc[mains["transformer_id"].to_numpy()], rules)[POINT_COLUMNS]


def _samples(mains: pd.DataFrame, rows: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """The samples of ``mains`` (lines of the forest), ``rows`` their transformers' rows."""
    lm = rules.lv_main
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
    volt_kw = voltage_limit_kw(lm.voltage_deviation, kv, r, x, pf)
    line_kw = thermal_kw(kv, mains["rated"].to_numpy()[which], pf)
    tx_kw = rows["lv_headroom_kw"].to_numpy(dtype=float)[which]
    headroom = np.minimum(np.minimum(line_kw, volt_kw), tx_kw)  # NaN stays NaN: unknown
    ids = mains["line_id"].to_numpy()[which]
    return pd.DataFrame(
        {
            "asset_id": [f"{i}@{a:.0f}" for i, a in zip(ids, along, strict=True)],
            "kind": "lv_main",
            "headroom_kw": headroom,
            "feeder_id": rows["feeder_id"].to_numpy()[which],
            "substation_id": rows["substation_id"].to_numpy()[which],
            "x": shapely.get_x(pts),
            "y": shapely.get_y(pts),
            "line_id": ids,
            "transformer_id": mains["transformer_id"].to_numpy()[which],
            "offset_m": along,
            "r_ohm": r,
            "x_ohm": x,
        }
    )
