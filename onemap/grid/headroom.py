"""Headroom of every grid element and the public capacity layer (DESIGN §4, item 11 三公开).

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

import io

import geopandas as gpd
import numpy as np
import pandas as pd

from onemap.geo.crs import STORAGE_CRS
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
    _colour(out, rules)
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


def _colour(out: gpd.GeoDataFrame, rules: Rules) -> None:
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


def capacity_layer(onemap: OneMap, rules: Rules | None = None) -> gpd.GeoDataFrame:
    """The public capacity layer (item 11): every element's headroom and colour, in EPSG:4326.

    Ready for GeoJSON (``.to_json()``) or CSV (:func:`capacity_csv`) download.
    """
    layer = headroom(onemap, rules)
    return layer[[*CAPACITY_COLUMNS, "geometry"]].to_crs(STORAGE_CRS)


def capacity_csv(layer: gpd.GeoDataFrame) -> str:
    """CSV text of a capacity layer: its columns plus ``lon``/``lat`` of a point on each element."""
    metric = layer
    pts = metric.geometry.representative_point()
    table = pd.DataFrame(metric.drop(columns="geometry"))
    table["lon"] = pts.x.to_numpy()
    table["lat"] = pts.y.to_numpy()
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    return buf.getvalue()


# --- the public download for people (issue 16 item 7): Excel-ready, rounded, labelled --------

# Column → (Chinese, English) header of the download for people, in this order.
PUBLIC_COLUMNS: dict[str, tuple[str, str]] = {
    "asset_id": ("编号", "id"),
    "name": ("名称", "name"),
    "layer": ("图层", "layer"),
    "kind": ("类型", "kind"),
    "voltage_kv": ("电压（kV）", "voltage (kV)"),
    "substation_id": ("变电站", "substation"),
    "feeder_id": ("线路", "feeder"),
    "asset_status": ("建设状态", "build status"),
    "capacity_kva": ("额定容量（kVA）", "nameplate (kVA)"),
    "peak_load_kva": ("最大负荷（kVA）", "peak load (kVA)"),
    "promised_kva": ("已承诺负荷（kVA）", "promised load (kVA)"),
    "headroom_kva": ("可开放容量（kVA）", "headroom (kVA)"),
    "share_left": ("剩余容量占比", "share of nameplate left"),
    "status": ("颜色等级", "colour class"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "data_date": ("数据日期", "data date"),
    "thresholds": ("颜色阈值", "colour thresholds"),
}
KVA_COLUMNS = ("capacity_kva", "peak_load_kva", "promised_kva", "headroom_kva")
STATUS_NAMES = {
    "zh": {
        "green": "绿（充裕）",
        "amber": "黄（紧张）",
        "red": "红（不足）",
        "unknown": "灰（未知）",
    },
    "en": {
        "green": "green (ample)",
        "amber": "amber (tight)",
        "red": "red (short)",
        "unknown": "grey (unknown)",
    },
}
KIND_NAMES = {
    "zh": {
        "substation": "变电站",
        "feeder": "10/20 kV 线路",
        "transformer": "配变",
        "branch_box": "分支箱",
        "ring_main_unit": "环网柜",
        "switching_station": "开闭所",
        "pole": "电杆",
    },
}
LAYER_NAMES_ZH = {"substations": "变电站", "feeders": "线路", "assets": "配电设备"}
BUILD_STATUS_ZH = {"existing": "现状", "planned": "规划"}


def thresholds_text(rules: Rules, lang: str) -> str:
    """The colour thresholds of the capacity map (item 11) in words, from the rule table."""
    cm = rules.capacity_map
    g, a = round(cm.green_min_share * 100), round(cm.amber_min_share * 100)
    if lang == "en":
        return (
            f"green ≥ {g}% of nameplate left; amber {a}–{g}%; red < {a}%; "
            "grey: nameplate or peak unknown"
        )
    return f"绿 ≥ 额定容量的 {g}%；黄 {a}%–{g}%；红 < {a}%；灰：容量或负荷数据缺失"


def data_date(onemap: OneMap) -> str | None:
    """The date of the map's data: its build date (``meta.built_at``), else None."""
    built = (onemap.meta or {}).get("built_at") or (onemap.meta or {}).get("asset_date")
    return str(built)[:10] if built else None


def public_capacity_csv(
    layer: gpd.GeoDataFrame, lang: str, *, date: str | None, thresholds: str
) -> str:
    """The capacity download for people: UTF-8 with BOM (Excel opens it without mojibake),
    kVA to 1 decimal, shares to 3, headers, kinds and colour classes in ``lang``, and the data
    date and colour thresholds on every row."""
    en = lang == "en"
    pts = layer.geometry.representative_point()
    table = pd.DataFrame(layer.drop(columns="geometry"))
    table["lon"] = pts.x.round(6).to_numpy()
    table["lat"] = pts.y.round(6).to_numpy()
    for col in KVA_COLUMNS:
        table[col] = table[col].astype(float).round(1)
    table["share_left"] = table["share_left"].astype(float).round(3)
    table["status"] = (
        table["status"].map(STATUS_NAMES["en" if en else "zh"]).fillna(table["status"])
    )
    if not en:
        table["kind"] = table["kind"].map(KIND_NAMES["zh"]).fillna(table["kind"])
        table["layer"] = table["layer"].map(LAYER_NAMES_ZH).fillna(table["layer"])
        table["asset_status"] = (
            table["asset_status"].map(BUILD_STATUS_ZH).fillna(table["asset_status"])
        )
    table["data_date"] = date or ""
    table["thresholds"] = thresholds
    cols = [c for c in PUBLIC_COLUMNS if c in table.columns]
    out = table[cols].rename(columns={c: PUBLIC_COLUMNS[c][1 if en else 0] for c in cols})
    buf = io.StringIO()
    buf.write("\ufeff")
    out.to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue()
