"""QGIS styles in onemap's GeoPackages (issue 16 item 12): every written map and output carries
a ``layer_styles`` table in QGIS's layout; each style is valid XML (QML), names only fields the
table has, and colours the classes A–D, the land-use codes and the layers."""

from __future__ import annotations

import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET

import pytest

from onemap.geo.mapfile import read_map, write_map
from onemap.geo.styles import READINESS_COLORS, write_styles

QGIS_COLUMNS = [
    "id",
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
]


def _styles(path):
    con = sqlite3.connect(str(path))
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
        rows = con.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
        fields = {t: {r[1] for r in con.execute(f'PRAGMA table_info("{t}")')} for t, *_ in rows}
        contents = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
        return cols, rows, fields, contents
    finally:
        con.close()


def _named_fields(qml: str) -> set[str]:
    root = ET.fromstring(qml)
    assert root.tag == "qgis"
    names = set()
    for r in root.iter("renderer-v2"):
        attr = r.get("attr")
        if attr:
            quoted = re.findall(r'"([^"]+)"', attr)
            names |= set(quoted) if quoted else {attr}
    for t in root.iter("text-style"):
        names.add(t.get("fieldName"))
    return names


def _check(path, expect_tables):
    cols, rows, fields, contents = _styles(path)
    assert cols == QGIS_COLUMNS
    assert "layer_styles" in contents
    tables = {t for t, *_ in rows}
    assert set(expect_tables) <= tables, tables
    for table, geom_col, qml, default in rows:
        assert default == 1 and geom_col
        named = _named_fields(qml)  # empty for a single-symbol style
        assert ET.fromstring(qml).find("renderer-v2") is not None, table
        assert named <= fields[table], (table, named - fields[table])
    return {t: q for t, _, q, _ in rows}


def test_written_map_carries_styles(demo_map, tmp_path):
    out = write_map(demo_map, tmp_path / "m.gpkg")
    qml = _check(out, ["landuse", "roads", "substations", "feeders", "assets", "ducts"])
    land = ET.fromstring(qml["landuse"])
    values = {c.get("value") for c in land.iter("category")}
    assert {"07", "0701", "09", "1303"} <= values
    assert "城镇住宅用地" in qml["landuse"]  # labels in Chinese
    assert read_map(out).counts() == demo_map.counts()  # the map still reads the same


def test_readiness_output_classes_a_to_d(demo_map, tmp_path):
    from onemap.connection.bulk import readiness
    from onemap.connection.zones import write_readiness

    r = readiness(demo_map)
    out = write_readiness(r.layer, tmp_path / "r.gpkg")
    qml = _check(out, ["readiness", "readiness_zones"])
    root = ET.fromstring(qml["readiness"])
    cats = {c.get("value"): c.get("label") for c in root.iter("category")}
    assert set(cats) == set(READINESS_COLORS) and cats["D"].startswith("D")
    fills = [o.get("value") for o in root.iter("Option") if o.get("name") == "color"]
    assert len(set(fills)) == 4  # four distinct class colours


def test_rewriting_styles_keeps_one_default_per_layer(demo_map_path, tmp_path):
    path = shutil.copy(demo_map_path, tmp_path / "d.gpkg")
    n1 = write_styles(path)
    n2 = write_styles(path)
    assert n1 == n2 >= 6
    _, rows, _, _ = _styles(path)
    assert len(rows) == n1


@pytest.mark.parametrize("table", ["diagnostics"])
def test_unknown_columns_are_never_named(table):
    from onemap.geo.styles import qml_for

    assert qml_for(table, {"geometry"}, "marker") is None
    assert qml_for("landuse", {"parcel_id"}, "fill") is None
