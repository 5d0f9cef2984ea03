"""Line segments on the public capacity map (issue 17 item 4): rows, colours, downloads.

The hand map's main (tests/grid/lvmaps.py, type unknown: the screen) has six 100 m sections
rated 270 A (187.06 kVA); the far end of L6 takes 89.74 kVA by the voltage drop (see
test_hosting.py). Colours by the ``[capacity_map]`` thresholds on hosting / thermal rating:
green ≥ 30 %, amber ≥ 10 %, else red.
"""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from grid.lvmaps import lv_map
from onemap.grid.capacity import capacity_csv, capacity_layer, public_capacity_csv
from onemap.grid.headroom import CAPACITY_COLUMNS

THERMAL = math.sqrt(3) * 0.4 * 270.0


def test_map_without_lines_has_no_line_columns():
    layer = capacity_layer(lv_map(with_lines=False))
    assert list(layer.columns) == [*CAPACITY_COLUMNS, "geometry"]
    assert set(layer["layer"]) == {"assets"}


def test_line_rows_carry_hosting_and_are_coloured_like_assets():
    layer = capacity_layer(lv_map(kind="custom")).set_index("asset_id")
    lines = layer[layer["layer"] == "lines"]
    assert sorted(lines.index) == [f"L{k}" for k in range(1, 7)]
    assert (lines["kind"] == "lv_line").all()
    assert (lines.geometry.geom_type == "LineString").all()
    assert lines["capacity_kva"].to_numpy() == pytest.approx([THERMAL] * 6)
    l6 = lines.loc["L6"]
    assert l6["hosting_kva"] == pytest.approx(89.74, abs=0.01)
    assert l6["headroom_kva"] == l6["hosting_kva"]
    assert l6["share_left"] == pytest.approx(89.74 / THERMAL, abs=1e-4)
    assert l6["status"] == "green" and l6["color"] == "#2e7d32"
    assert l6["hosting_limit"] == "voltage" and l6["hosting_basis"] == "screen"
    assert l6["lv_headroom_kw"] == pytest.approx(89.74, abs=0.01)  # power factor 1.0
    assert l6["feeder_id"] == "F1"  # its transformer's feeder
    # the transformer row keeps its columns, with no hosting of its own
    t1 = layer.loc["T1"]
    assert t1["headroom_kva"] == pytest.approx(300.0) and math.isnan(t1["hosting_kva"])


@pytest.mark.parametrize(
    ("peak", "status"),
    [(370.0, "amber"), (395.0, "red")],  # 30 / 187 = 16 %; 5 / 187 = 2.7 %
)
def test_transformer_headroom_colours_its_lines(peak, status):
    layer = capacity_layer(lv_map(kind="custom", tx_peak=peak))
    lines = layer[layer["layer"] == "lines"]
    assert (lines["status"] == status).all()
    assert (lines["hosting_limit"] == "headroom").all()


def test_downloads_carry_the_segments():
    layer = capacity_layer(lv_map(kind="custom"))
    machine = pd.read_csv(io.StringIO(capacity_csv(layer)))
    row = machine.set_index("asset_id").loc["L6"]
    assert row["layer"] == "lines" and row["hosting_kva"] == pytest.approx(89.74, abs=0.01)
    assert -180 < row["lon"] < 180 and -90 < row["lat"] < 90
    zh = public_capacity_csv(layer, "zh", date=None, thresholds="t")
    table = pd.read_csv(io.StringIO(zh.lstrip("\ufeff")))
    seg = table.set_index("编号").loc["L6"]
    assert seg["线路末端可接入容量（kVA）"] == pytest.approx(89.7)
    assert seg["类型"] == "低压线路段" and seg["图层"] == "线路段"
    assert seg["可接入容量约束"] == "电压偏差"
    en = pd.read_csv(io.StringIO(public_capacity_csv(layer, "en", date=None, thresholds="t")))
    assert en.set_index(en.columns[0]).loc["L6", "binding limit"] == "voltage deviation"


def test_public_download_without_lines_has_no_hosting_header():
    layer = capacity_layer(lv_map(with_lines=False))
    text = public_capacity_csv(layer, "zh", date=None, thresholds="t")
    assert "可接入容量" not in text.splitlines()[0]
