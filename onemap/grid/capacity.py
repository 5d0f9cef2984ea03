"""The public capacity map (item 11 三公开): every element's headroom and colour, and its
downloads — a machine CSV and an Excel-ready one for people (issue 16 item 7).

Where the map has a ``lines`` layer, every line segment is a row too (``layer`` "lines",
``asset_id`` its ``line_id``, ``kind`` ``lv_line``/``mv_line``, LineString geometry) with its
hosting capacity (:mod:`onemap.grid.hosting`, issue 17 item 4) in the extra columns
:data:`LINE_COLUMNS` (``hosting_kva`` NaN on the other rows): ``capacity_kva`` is the
segment's thermal rating, ``peak_load_kva`` its load-flow flow, ``headroom_kva`` its hosting
capacity, and it is coloured like the assets by the ``[capacity_map]`` thresholds on
``share_left`` = hosting / thermal rating (the segment's nameplate), so one legend reads for
every element. A map without lines answers exactly as before (no extra columns).
"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd

from onemap.geo.crs import STORAGE_CRS
from onemap.geo.mapfile import OneMap
from onemap.grid.headroom import CAPACITY_COLUMNS, colour_by_share, headroom
from onemap.grid.hosting import hosting
from onemap.rules import Rules, resolve_rules

__all__ = [
    "LINE_COLUMNS",
    "capacity_csv",
    "capacity_layer",
    "data_date",
    "public_capacity_csv",
    "thresholds_text",
]


# Columns the capacity layer gains where the map has lines (hosting capacity, issue 17 item 4).
LINE_COLUMNS = ["hosting_kva", "hosting_limit", "hosting_basis"]


def capacity_layer(onemap: OneMap, rules: Rules | None = None) -> gpd.GeoDataFrame:
    """The public capacity layer (item 11): every element's headroom and colour, in EPSG:4326.

    Rows: substations, feeders, assets, then (where the map has a ``lines`` layer) every line
    segment with its hosting capacity (:data:`LINE_COLUMNS`). Ready for GeoJSON
    (``.to_json()``) or CSV (:func:`capacity_csv`) download.
    """
    rules = resolve_rules(onemap, rules)
    layer = headroom(onemap, rules)[[*CAPACITY_COLUMNS, "geometry"]]
    if len(onemap["lines"]):
        lines = _line_rows(onemap, layer, rules)
        layer = layer.assign(hosting_kva=np.nan, hosting_limit="", hosting_basis="")
        layer = gpd.GeoDataFrame(
            pd.concat([layer, lines], ignore_index=True), geometry="geometry", crs=layer.crs
        )
    return layer.to_crs(STORAGE_CRS)


def _line_rows(onemap: OneMap, table: gpd.GeoDataFrame, rules: Rules) -> gpd.GeoDataFrame:
    """One capacity row per line segment: thermal rating, flow, hosting capacity, colour."""
    host = hosting(onemap, rules)
    lines = onemap.metric("lines")
    pf = rules.connection.power_factor
    assets = table[table["layer"] == "assets"]
    feeders = table[table["layer"] == "feeders"]
    tx_feeder = pd.Series(assets["feeder_id"].to_numpy(), index=assets["asset_id"])
    feeder = np.where(
        host["feeder_id"] != "",
        host["feeder_id"],
        host["transformer_id"].map(tx_feeder).fillna("").to_numpy(dtype=object),
    )
    sub_of = pd.Series(feeders["substation_id"].to_numpy(), index=feeders["asset_id"])
    cap = host["capacity_kva"].to_numpy(dtype=float)
    own = host["hosting_kva"].to_numpy(dtype=float)
    lv = host["kind"].to_numpy() == "lv_line"
    status = lines["status"].fillna("").astype(str).to_numpy() if "status" in lines else ""
    names = lines["name"].fillna("").astype(str).to_numpy() if "name" in lines else ""
    rows = gpd.GeoDataFrame(
        {
            "asset_id": host["line_id"].to_numpy(),
            "layer": "lines",
            "kind": host["kind"].to_numpy(),
            "name": names,
            "voltage_kv": host["voltage_kv"].to_numpy(dtype=float),
            "feeder_id": feeder,
            "substation_id": pd.Series(feeder).map(sub_of).fillna("").to_numpy(dtype=object),
            "bus_section": "",
            "asset_status": np.where(status == "", "existing", status),
            "capacity_kva": cap,
            "peak_load_kva": host["flow_kva"].to_numpy(dtype=float),
            "promised_kva": np.nan,
            "headroom_kva": own,
            "inherits_from": "",
            "lv_headroom_kw": np.where(lv, own * pf, np.nan),
            "hv_headroom_kw": np.where(lv, np.nan, own * pf),
            "upstream_mapped": host["hosting_basis"].to_numpy() != "",
            "hosting_kva": own,
            "hosting_limit": host["hosting_limit"].to_numpy(),
            "hosting_basis": host["hosting_basis"].to_numpy(),
        },
        geometry=lines.geometry.to_numpy(),
        crs=lines.crs,
    )
    colour_by_share(rows, rules)  # share = hosting ÷ thermal rating, same thresholds
    return rows[[*CAPACITY_COLUMNS, *LINE_COLUMNS, "geometry"]]


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
    "hosting_kva": ("线路末端可接入容量（kVA）", "hosting capacity at the far end (kVA)"),
    "hosting_limit": ("可接入容量约束", "binding limit"),
    "share_left": ("剩余容量占比", "share of nameplate left"),
    "status": ("颜色等级", "colour class"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "data_date": ("数据日期", "data date"),
    "thresholds": ("颜色阈值", "colour thresholds"),
}
KVA_COLUMNS = ("capacity_kva", "peak_load_kva", "promised_kva", "headroom_kva", "hosting_kva")
LIMIT_NAMES = {
    "zh": {
        "voltage": "电压偏差",
        "line": "线路载流量",
        "transformer": "配变负载率",
        "headroom": "上级可开放容量",
        "unknown": "未知",
    },
    "en": {
        "voltage": "voltage deviation",
        "line": "line rating",
        "transformer": "transformer loading",
        "headroom": "upstream headroom",
        "unknown": "unknown",
    },
}
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
        "street_cabinet": "户外电力箱",
        "lv_line": "低压线路段",
        "mv_line": "中压线路段",
    },
}
LAYER_NAMES_ZH = {
    "substations": "变电站",
    "feeders": "线路",
    "assets": "配电设备",
    "lines": "线路段",
}
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
        if col in table:
            table[col] = table[col].astype(float).round(1)
    if "hosting_limit" in table:
        names = LIMIT_NAMES["en" if en else "zh"]
        table["hosting_limit"] = table["hosting_limit"].map(names).fillna(table["hosting_limit"])
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
