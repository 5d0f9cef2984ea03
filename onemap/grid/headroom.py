"""Headroom of every grid element (DESIGN §4); the public capacity map built on it is in
:mod:`onemap.grid.capacity` (item 11 三公开).

Headroom is nameplate capacity minus peak load minus load already promised: the
``promised_kva`` column of an asset plus the ``requested_kw`` of ``accepted`` projects whose
``asset_id`` names the element. Promised load climbs the topology (branch box → transformer →
feeder → substation), because a kVA promised at a transformer also loads its feeder.

Where data is missing the headroom is NaN and its status ``unknown`` — never spare. Elements
without their own nameplate inherit where the topology tells: a branch box from its transformer
(``transformer_id`` column, or a ``feeder_id`` naming a transformer), ring main
units, switching stations and poles from their feeder. The headroom a connection can use is the
smallest along the chain: an LV connection needs room in its transformer, the feeder and the
substation; a 10/20 kV connection in the feeder and the substation. An upstream element that is
mapped but lacks data makes the connection headroom unknown; an upstream element not mapped at
all does not constrain it (flagged in ``upstream_mapped``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from onemap.geo.mapfile import OneMap
from onemap.rules import Rules, resolve_rules
from onemap.units import KVA_PER_MVA

PARENT_COLUMNS = ("transformer_id",)
CAPACITY_COLUMNS = [
    "asset_id",
    "layer",
    "kind",
    "name",
    "voltage_kv",
    "feeder_id",
    "substation_id",
    "bus_section",
    "asset_status",
    "capacity_kva",
    "peak_load_kva",
    "promised_kva",
    "headroom_kva",
    "share_left",
    "status",
    "color",
    "inherits_from",
    "lv_headroom_kw",
    "hv_headroom_kw",
    "upstream_mapped",
]


def _num(frame: pd.DataFrame, name: str, scale: float = 1.0) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float) * scale


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), "", dtype=object)
    return frame[name].fillna("").astype(str).to_numpy(dtype=object)


def loads_elements(projects: pd.DataFrame) -> bool:
    """Whether any of these ``projects`` rows can load a grid element, now or in some year.

    Only a project naming an element (``asset_id``) loads one: an ``accepted`` one now, a
    ``pushed`` one from its ``expected_year`` (:func:`onemap.grid.years.as_of`). Rows naming
    none — what the approval platform pushes — change no headroom, so appending them leaves the
    headroom table, the connection points and readiness as they were.

    Parameters
    ----------
    projects
        Rows of a ``projects`` layer.

    Returns
    -------
    bool
        True when at least one row names an element.
    """
    return bool(len(projects)) and bool((_text(projects, "asset_id") != "").any())


def _promised_projects(onemap: OneMap, pf: float) -> pd.Series:
    """kVA promised to accepted projects, by the element id they name."""
    projects = onemap["projects"]
    if not len(projects) or "asset_id" not in projects:
        return pd.Series(dtype=float)
    status = _text(projects, "status")
    kw = _num(projects, "requested_kw")
    ids = _text(projects, "asset_id")
    keep = (status == "accepted") & (ids != "") & ~np.isnan(kw)
    return pd.Series(kw[keep] / pf, index=ids[keep]).groupby(level=0).sum()


def headroom(onemap: OneMap, rules: Rules | None = None) -> gpd.GeoDataFrame:
    """Headroom of every substation, feeder and asset, with the capacity-map status.

    One row per element (substations, then feeders, then assets) in the map's metric CRS, with
    the columns of :data:`CAPACITY_COLUMNS`: ``asset_id`` is the element's id in its layer,
    ``headroom_kva`` its own headroom (NaN = unknown), ``share_left`` headroom / nameplate,
    ``status`` green / amber / red / unknown by ``[capacity_map]`` thresholds, and
    ``lv_headroom_kw`` / ``hv_headroom_kw`` the headroom usable by an LV / a 10/20 kV connection at
    the element (smallest along the chain, in kW at ``[connection].power_factor``).
    """
    rules = resolve_rules(onemap, rules)
    pf = rules.connection.power_factor
    promised_by_id = _promised_projects(onemap, pf)
    subs = onemap.metric("substations")
    feeders = onemap.metric("feeders")
    assets = onemap.metric("assets")

    sub_id = _text(subs, "substation_id")
    sub = pd.DataFrame(
        {
            "asset_id": sub_id,
            "cap": _num(subs, "capacity_mva", KVA_PER_MVA),
            "peak": _num(subs, "peak_load_mva", KVA_PER_MVA),
            "own_promised": promised_by_id.reindex(sub_id).fillna(0.0).to_numpy(),
        }
    )
    fid = _text(feeders, "feeder_id")
    fsub = _text(feeders, "substation_id")
    fdr = pd.DataFrame(
        {
            "asset_id": fid,
            "substation_id": fsub,
            "cap": _num(feeders, "capacity_mva", KVA_PER_MVA),
            "peak": _num(feeders, "peak_load_mva", KVA_PER_MVA),
            "own_promised": promised_by_id.reindex(fid).fillna(0.0).to_numpy(),
        }
    )
    aid = _text(assets, "asset_id")
    kind = _text(assets, "kind")
    afeeder = _text(assets, "feeder_id")
    is_tx = kind == "transformer"
    tx_ids = set(aid[is_tx])
    parent = np.full(len(assets), "", dtype=object)
    for col in PARENT_COLUMNS:
        parent = np.where(parent == "", _text(assets, col), parent)
    # A branch box whose feeder_id names a transformer hangs on that transformer's LV side.
    is_box = kind == "branch_box"
    # pandas isin hashes; np.isin on object arrays sorts and is slow on a city
    via_feeder = is_box & (parent == "") & pd.Series(afeeder).isin(tx_ids).to_numpy()
    parent = np.where(via_feeder, afeeder, parent)
    parent = np.where(is_box & pd.Series(parent).isin(tx_ids).to_numpy(), parent, "")
    ast = pd.DataFrame(
        {
            "asset_id": aid,
            "kind": kind,
            "feeder_id": afeeder,
            "parent": parent,
            "cap": _num(assets, "capacity_kva"),
            "peak": _num(assets, "peak_load_kva"),
            "own_promised": np.nan_to_num(_num(assets, "promised_kva"))
            + promised_by_id.reindex(aid).fillna(0.0).to_numpy(),
        }
    )
    # A parent transformer's feeder is the box's feeder for the chain upwards.
    tx_feeder = pd.Series(afeeder[is_tx], index=aid[is_tx])
    chain_feeder = np.where(parent != "", pd.Series(parent).map(tx_feeder).fillna(""), afeeder)
    ast["chain_feeder"] = chain_feeder

    # Promised load climbs: boxes → transformers → feeders → substations.
    box_promised = ast[ast["parent"] != ""].groupby("parent")["own_promised"].sum()
    ast["promised"] = ast["own_promised"] + ast["asset_id"].map(box_promised).fillna(0.0)
    top = ast[ast["parent"] == ""]  # boxes' load already counted in their transformer
    feeder_promised = top.groupby("chain_feeder")["promised"].sum()
    fdr["promised"] = fdr["own_promised"] + fdr["asset_id"].map(feeder_promised).fillna(0.0)
    sub_promised = fdr.groupby("substation_id")["promised"].sum()
    sub["promised"] = sub["own_promised"] + sub["asset_id"].map(sub_promised).fillna(0.0)

    for frame in (sub, fdr, ast):
        frame["own"] = frame["cap"] - frame["peak"] - frame["promised"]

    # Usable headroom along the chain. Missing upstream rows do not constrain (not mapped).
    sub_own = pd.Series(sub["own"].to_numpy(), index=sub["asset_id"])
    fdr_sub_mapped = fdr["substation_id"].isin(sub_own.index).to_numpy()
    fdr_up = fdr["substation_id"].map(sub_own).to_numpy(dtype=float)
    # np.minimum keeps NaN: an unknown feeder or substation makes the chain unknown.
    fdr["chain"] = np.where(fdr_sub_mapped, np.minimum(fdr["own"], fdr_up), fdr["own"])
    fdr_chain = pd.Series(fdr["chain"].to_numpy(), index=fdr["asset_id"])
    feeder_mapped = ast["chain_feeder"].isin(fdr_chain.index).to_numpy()
    ast_feeder = ast["chain_feeder"].map(fdr_chain).to_numpy(dtype=float)
    ast_feeder = np.where(feeder_mapped, ast_feeder, np.inf)

    tx_own = pd.Series(ast["own"].to_numpy(), index=ast["asset_id"])
    parent_own = ast["parent"].map(tx_own).to_numpy(dtype=float)
    own = ast["own"].to_numpy(dtype=float)
    has_cap = ~np.isnan(ast["cap"].to_numpy())
    # LV: a transformer's own room, a box's own (if rated) and its transformer's.
    lv_local = np.where(
        ast["kind"] == "transformer",
        own,
        np.where(
            ast["parent"] != "", np.where(has_cap, np.minimum(own, parent_own), parent_own), np.nan
        ),
    )
    lv_chain = np.minimum(lv_local, ast_feeder)  # NaN stays NaN: unknown is never spare
    # 10/20 kV: the feeder's room, capped by the element's own rating where it has one
    # (a switching station, a ring main unit); a transformer's LV rating does not cap it.
    hv_local = np.where(
        has_cap & (ast["kind"] != "transformer"), np.minimum(own, ast_feeder), ast_feeder
    )
    hv_chain = np.where(feeder_mapped, hv_local, np.nan)
    # Display headroom of elements without their own nameplate: what they inherit where the
    # topology tells — a branch box its transformer's, a ring main unit / switching station /
    # pole its feeder's; a branch box with no known transformer stays unknown.
    kinds = ast["kind"].to_numpy()
    is_tx_row = kinds == "transformer"
    is_box_row = kinds == "branch_box"
    has_parent = ast["parent"].to_numpy() != ""
    cap_by_id = pd.Series(ast["cap"].to_numpy(), index=ast["asset_id"])
    parent_cap = ast["parent"].map(cap_by_id).to_numpy(dtype=float)
    fdr_own = pd.Series(fdr["own"].to_numpy(), index=fdr["asset_id"])
    fdr_cap = pd.Series(fdr["cap"].to_numpy(), index=fdr["asset_id"])
    feeder_own = ast["chain_feeder"].map(fdr_own).to_numpy(dtype=float)
    feeder_cap = ast["chain_feeder"].map(fdr_cap).to_numpy(dtype=float)
    cap_arr = ast["cap"].to_numpy(dtype=float)
    inherited_own = np.select(
        [is_tx_row, is_box_row & has_parent, is_box_row, has_cap],
        [own, lv_local, np.nan, own],
        default=feeder_own,
    )
    inherited_cap = np.select(
        [is_tx_row, is_box_row & has_parent & ~has_cap, is_box_row & ~has_parent, has_cap],
        [cap_arr, parent_cap, np.nan, cap_arr],
        default=feeder_cap,
    )
    inherits = np.select(
        [is_tx_row, is_box_row & has_parent, is_box_row, has_cap],
        [
            np.full(len(ast), "", dtype=object),
            ast["parent"].to_numpy(dtype=object),
            np.full(len(ast), "", dtype=object),
            np.full(len(ast), "", dtype=object),
        ],
        default=ast["chain_feeder"].to_numpy(dtype=object),
    )
    inherited_own = np.where(np.isinf(inherited_own), np.nan, inherited_own)

    sub_chain = sub["own"].to_numpy(dtype=float)
    rows = [
        _rows(
            subs,
            "substations",
            sub_id,
            np.full(len(subs), "substation", dtype=object),
            cap=sub["cap"].to_numpy(),
            peak=sub["peak"].to_numpy(),
            promised=sub["promised"].to_numpy(),
            own=sub["own"].to_numpy(),
            lv=np.full(len(subs), np.nan),
            hv=sub_chain,
            inherits=np.full(len(subs), "", dtype=object),
            feeder=np.full(len(subs), "", dtype=object),
            substation=sub_id,
            upstream=np.ones(len(subs), dtype=bool),
        ),
        _rows(
            feeders,
            "feeders",
            fid,
            np.full(len(feeders), "feeder", dtype=object),
            cap=fdr["cap"].to_numpy(),
            peak=fdr["peak"].to_numpy(),
            promised=fdr["promised"].to_numpy(),
            own=fdr["own"].to_numpy(),
            lv=np.full(len(feeders), np.nan),
            hv=fdr["chain"].to_numpy(),
            inherits=np.full(len(feeders), "", dtype=object),
            feeder=fid,
            substation=fsub,
            upstream=fdr_sub_mapped,
        ),
        _rows(
            assets,
            "assets",
            aid,
            kind,
            cap=inherited_cap,
            peak=np.where(has_cap, ast["peak"], np.nan),
            promised=ast["promised"].to_numpy(),
            own=inherited_own,
            lv=lv_chain,
            hv=hv_chain,
            inherits=inherits,
            feeder=ast["chain_feeder"].to_numpy(),
            substation=ast["chain_feeder"]
            .map(pd.Series(fsub, index=fid) if len(fid) else pd.Series(dtype=object))
            .fillna("")
            .to_numpy(),
            upstream=feeder_mapped,
        ),
    ]
    frames = [r for r in rows if len(r)]
    crs = onemap.crs_metric
    if not frames:
        return gpd.GeoDataFrame(
            columns=[*CAPACITY_COLUMNS, "geometry"], geometry="geometry", crs=crs
        )
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    out["lv_headroom_kw"] = out["lv_headroom_kw"] * pf
    out["hv_headroom_kw"] = out["hv_headroom_kw"] * pf
    colour_by_share(out, rules)
    return out


def _rows(
    layer,
    name,
    ids,
    kinds,
    *,
    cap,
    peak,
    promised,
    own,
    lv,
    hv,
    inherits,
    feeder,
    substation,
    upstream,
) -> pd.DataFrame:
    if not len(layer):
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "asset_id": ids,
            "layer": name,
            "kind": kinds,
            "name": _text(layer, "name"),
            "voltage_kv": _num(layer, "voltage_kv"),
            "feeder_id": feeder,
            "substation_id": substation,
            "bus_section": _text(layer, "bus_section"),
            "asset_status": np.where(
                _text(layer, "status") == "", "existing", _text(layer, "status")
            ),
            "capacity_kva": np.asarray(cap, dtype=float),
            "peak_load_kva": np.asarray(peak, dtype=float),
            "promised_kva": np.asarray(promised, dtype=float),
            "headroom_kva": np.asarray(own, dtype=float),
            "inherits_from": inherits,
            "lv_headroom_kw": np.asarray(lv, dtype=float),
            "hv_headroom_kw": np.asarray(hv, dtype=float),
            "upstream_mapped": np.asarray(upstream, dtype=bool),
            "geometry": layer.geometry.to_numpy(),
        }
    )


def colour_by_share(out: gpd.GeoDataFrame, rules: Rules) -> None:
    """Set ``share_left`` (headroom ÷ capacity), ``status`` and ``color`` of capacity rows in
    place, by the rule table's capacity-map thresholds (item 11) — assets and lines alike."""
    cm = rules.capacity_map
    cap = out["capacity_kva"].to_numpy(dtype=float)
    own = out["headroom_kva"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(cap > 0, own / cap, np.nan)
    status = np.select(
        [np.isnan(share), share >= cm.green_min_share, share >= cm.amber_min_share],
        ["unknown", "green", "amber"],
        default="red",
    )
    out["share_left"] = share
    out["status"] = status
    out["color"] = pd.Series(status).map(cm.colors).to_numpy()
    # NaN headroom must read "unknown", never spare: share NaN ⇒ status unknown above.
