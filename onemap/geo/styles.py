"""QGIS styles for onemap's GeoPackages (issue 16 item 12): the ``layer_styles`` table QGIS
reads, so a planner opening a map or an output sees it coloured, not grey.

:func:`write_styles` looks at the tables in a GeoPackage and writes one default style (QML) for
each layer onemap knows: land use by 用地用海 class colours, readiness classes A–D, capacity
red/amber/green/grey, roads, ducts, feeders, substations, assets, projects and the plan layers,
labels in Chinese. A style names only columns the table has (a renderer over a missing column is
left out). :func:`onemap.geo.mapfile.atomic_gpkg` calls it on every GeoPackage onemap writes.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import quoteattr

from onemap.lang import CLASS_COLORS

__all__ = ["READINESS_COLORS", "STATUS_COLORS", "qml_for", "write_styles"]

READINESS_COLORS = CLASS_COLORS  # one palette (onemap.lang)
READINESS_LABELS = {"A": "A 门口接电", "B": "B 备案施工", "C": "C 需许可", "D": "D 电网缺口"}
STATUS_COLORS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "unknown": "#9e9e9e"}
STATUS_LABELS = {"green": "充裕", "amber": "紧张", "red": "不足", "unknown": "未知"}
CORRIDOR_COLORS = {
    "sidewalk": ("#2e7d32", "人行道"),
    "bike_lane": ("#9e9d24", "非机动车道"),
    "motor_lane": ("#c62828", "机动车道"),
    "green_belt": ("#00897b", "绿化带"),
    "duct": ("#6a1b9a", "既有电缆通道"),
    "crossing": ("#ef6c00", "横穿道路"),
}

QGIS_VERSION = "3.28.0"
STYLE_TABLE = "layer_styles"


def _rgba(hex_color: str, alpha: int = 255) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{alpha}"


def _opt(name: str, value: str) -> str:
    return f'<Option name={quoteattr(name)} value={quoteattr(value)} type="QString"/>'


def _symbol(geom: str, name: str, color: str, *, width: float = 0.6, dash: bool = False) -> str:
    """One QGIS symbol (fill, line or marker) of a colour."""
    if geom == "fill":
        layer = (
            '<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">'
            + _opt("color", _rgba(color, 170))
            + _opt("outline_color", "85,85,85,255")
            + _opt("outline_width", "0.2")
            + _opt("style", "solid")
            + "</Option></layer>"
        )
    elif geom == "line":
        layer = (
            '<layer class="SimpleLine" enabled="1" locked="0" pass="0"><Option type="Map">'
            + _opt("line_color", _rgba(color))
            + _opt("line_width", f"{width:g}")
            + _opt("line_style", "dash" if dash else "solid")
            + "</Option></layer>"
        )
    else:
        layer = (
            '<layer class="SimpleMarker" enabled="1" locked="0" pass="0"><Option type="Map">'
            + _opt("color", _rgba(color))
            + _opt("outline_color", "35,35,35,255")
            + _opt("name", "circle")
            + _opt("size", f"{max(width * 4, 2):g}")
            + "</Option></layer>"
        )
    return (
        f'<symbol type="{geom}" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
        f'force_rhr="0">{layer}</symbol>'
    )


def _categorized(geom: str, attr: str, cats: Iterable[tuple[str, str, str]]) -> str:
    cats = list(cats)
    rows = "".join(
        f'<category value={quoteattr(v)} symbol="{i}" label={quoteattr(lab)} render="true"/>'
        for i, (v, _, lab) in enumerate(cats)
    )
    syms = "".join(_symbol(geom, str(i), c) for i, (_, c, _) in enumerate(cats))
    return (
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attr)} '
        'symbollevels="0" enableorderby="0" forceraster="0">'
        f"<categories>{rows}</categories><symbols>{syms}</symbols></renderer-v2>"
    )


def _single(geom: str, color: str, *, width: float = 0.6, dash: bool = False) -> str:
    return (
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<symbols>{_symbol(geom, '0', color, width=width, dash=dash)}</symbols></renderer-v2>"
    )


def _labels(field: str | None) -> str:
    if not field:
        return ""
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(field)} fontFamily="Noto Sans CJK SC" fontSize="8" '
        'textColor="30,30,30,255" isExpression="0"/>'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferColor="255,255,255,255"/>'
        '<placement placement="1"/><rendering scaleVisibility="1" scaleMin="1" scaleMax="20000"/>'
        "</settings></labeling>"
    )


def _qml(renderer: str, labels: str = "") -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling">'
        f"{renderer}{labels}"
        f"<layerGeometryType>{{geometry_type}}</layerGeometryType></qgis>"
    )


def _landuse_renderer(geom: str) -> str:
    from onemap.geo.layers import landuse_codes

    codes = landuse_codes()
    four = sorted(c for c in codes if len(c) == 4)
    listed = ",".join(f"'{c}'" for c in four)
    attr = (
        f'CASE WHEN left("landuse_code", 4) IN ({listed}) THEN left("landuse_code", 4) '
        'ELSE left("landuse_code", 2) END'
    )
    cats = [(c, info["color"], f"{c} {info['zh']}") for c, info in sorted(codes.items())]
    return _categorized(geom, attr, cats)


def _readiness(geom: str, attr: str) -> str:
    return _categorized(
        geom, attr, [(c, READINESS_COLORS[c], READINESS_LABELS[c]) for c in READINESS_COLORS]
    )


def qml_for(table: str, columns: set[str], geom: str) -> tuple[str, str] | None:
    """The (QML, description) of a table onemap knows, or None. ``geom`` is ``fill``,
    ``line`` or ``marker``; the QML names only columns in ``columns``."""
    label = "name" if "name" in columns else None
    renderer: str | None = None
    desc = ""
    if table == "landuse" and "landuse_code" in columns:
        renderer, desc = _landuse_renderer(geom), "用地用海分类着色"
    elif table == "plan_parcels" and "after" in columns:
        renderer, desc = _readiness(geom, "after"), "新增站点后的接电条件 A–D"
        label = None
    elif table in ("readiness", "readiness_zones") and "readiness" in columns:
        renderer, desc = _readiness(geom, "readiness"), "接电条件 A–D"
        label = "parcel_id" if "parcel_id" in columns and table == "readiness" else None
    elif table == "readiness_h3" and "majority" in columns:
        renderer, desc = _readiness(geom, "majority"), "六边形网格：多数类别 A–D"
        label = None
    elif "status" in columns and table in ("capacity", "diagnostics_capacity"):
        cats = [(s, STATUS_COLORS[s], STATUS_LABELS[s]) for s in STATUS_COLORS]
        renderer, desc = _categorized(geom, "status", cats), "可开放容量：红/黄/绿/灰"
    elif table == "corridors" and "corridor" in columns:
        cats = [(k, c, lab) for k, (c, lab) in CORRIDOR_COLORS.items()]
        renderer, desc = _categorized(geom, "corridor", cats), "道路断面分带"
    elif table == "roads":
        renderer, desc = _single(geom, "#616161", width=0.8), "道路"
    elif table == "ducts":
        renderer, desc = _single(geom, "#6a1b9a", width=0.8, dash=True), "电缆通道/排管"
        label = None
    elif table in ("feeders", "plan_feeders"):
        color = "#1565c0" if table == "feeders" else "#ff6f00"
        renderer, desc = _single(geom, color, width=0.7), "10/20 千伏线路"
    elif table in ("substations", "plan_sites"):
        color = "#e53935" if table == "substations" else "#ff6f00"
        renderer, desc = _single(geom, color, width=1.5), "变电站"
    elif table in ("assets", "plan_points"):
        if "kind" in columns:
            cats = [
                ("transformer", "#42a5f5", "配变"),
                ("branch_box", "#26a69a", "分支箱"),
                ("ring_main_unit", "#5c6bc0", "环网柜"),
                ("switching_station", "#8e24aa", "开闭所"),
                ("pole", "#8d6e63", "电杆"),
            ]
            renderer, desc = _categorized(geom, "kind", cats), "配变及开关设备"
        else:
            renderer, desc = _single(geom, "#42a5f5"), "配电设备"
        label = None
    elif table == "projects":
        renderer, desc = _single(geom, "#ff9800", width=1.2), "项目"
        label = "project_id" if "project_id" in columns else None
    elif table == "diagnostics" and "kind" in columns:
        renderer, desc = _single(geom, "#c62828", width=0.8), "电网诊断问题"
        label = "message" if "message" in columns else None
    if renderer is None:
        return None
    return _qml(renderer, _labels(label)), desc


_GEOM = {
    "POINT": "marker",
    "MULTIPOINT": "marker",
    "LINESTRING": "line",
    "MULTILINESTRING": "line",
    "POLYGON": "fill",
    "MULTIPOLYGON": "fill",
}
_QGIS_GEOM = {"marker": "Point", "line": "Line", "fill": "Polygon"}


def write_styles(path: str | Path) -> int:
    """Write (replace) the default QGIS style of every known layer of the GeoPackage ``path``
    into its ``layer_styles`` table; returns how many styles were written."""
    con = sqlite3.connect(str(path))
    try:
        layers = con.execute(
            "SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns"
        ).fetchall()
        if not layers:
            return 0
        con.execute(
            f"""CREATE TABLE IF NOT EXISTS {STYLE_TABLE} (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
                f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
                useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
                update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"""
        )
        known = con.execute(
            "SELECT 1 FROM gpkg_contents WHERE table_name = ?", (STYLE_TABLE,)
        ).fetchone()
        if known is None:
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                "VALUES (?, 'attributes', ?, 'QGIS layer styles')",
                (STYLE_TABLE, STYLE_TABLE),
            )
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        written = 0
        for table, column, gtype in layers:
            geom = _GEOM.get(str(gtype).upper())
            if geom is None:
                continue
            cols = {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
            style = qml_for(str(table), cols, geom)
            if style is None:
                continue
            qml, desc = style
            qml = qml.replace("{geometry_type}", _QGIS_GEOM[geom])
            con.execute(
                f"DELETE FROM {STYLE_TABLE} WHERE f_table_name = ? AND styleName = ?",
                (table, f"onemap {table}"),
            )
            con.execute(
                f"UPDATE {STYLE_TABLE} SET useAsDefault = 0 WHERE f_table_name = ?", (table,)
            )
            con.execute(
                f"""INSERT INTO {STYLE_TABLE} (f_table_catalog, f_table_schema, f_table_name,
                f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description,
                owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'onemap', '', ?)""",
                (table, column, f"onemap {table}", qml, desc, now),
            )
            written += 1
        con.commit()
        return written
    finally:
        con.close()
