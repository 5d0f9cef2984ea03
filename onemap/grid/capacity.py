"""The public capacity map (item 11 三公开): every element's headroom and colour, and its
downloads — a machine CSV and an Excel-ready one for people (issue 16 item 7)."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd

from onemap.geo.crs import STORAGE_CRS
from onemap.geo.mapfile import OneMap
from onemap.grid.headroom import CAPACITY_COLUMNS, headroom
from onemap.rules import Rules

__all__ = [
    "capacity_csv",
    "capacity_layer",
    "data_date",
    "public_capacity_csv",
    "thresholds_text",
]


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
