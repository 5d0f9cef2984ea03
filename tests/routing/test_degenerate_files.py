"""Single-vertex and NaN-vertex route files (issue 12 item 5) → exit 2 naming the file."""

from __future__ import annotations

import ezdxf
import pytest
from typer.testing import CliRunner

from onemap.cli import app

runner = CliRunner()
KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>r</name>
<LineString><coordinates>{}</coordinates></LineString></Placemark></Document></kml>"""


def _kml_one_point(path):
    path.write_text(KML.format("119.1952,34.5999,0"), encoding="utf-8")


def _kml_nan(path):
    path.write_text(KML.format("119.1952,34.5999 nan,nan"), encoding="utf-8")


def _kml_two_parts_one_short(path):
    body = (
        "<MultiGeometry><LineString><coordinates>119.1952,34.5999 119.1975,34.5999"
        "</coordinates></LineString><LineString><coordinates>119.19,34.59</coordinates>"
        "</LineString></MultiGeometry>"
    )
    text = KML.format("").replace("<LineString><coordinates></coordinates></LineString>", body)
    path.write_text(text, encoding="utf-8")


def _dxf(points):
    def build(path):
        doc = ezdxf.new()
        doc.modelspace().add_lwpolyline(points)
        doc.saveas(path)

    return build


def _dxf_line_nan(path):
    doc = ezdxf.new()
    doc.modelspace().add_line((119.1952, 34.5999), (float("nan"), 34.5999))
    doc.saveas(path)


CASES = {
    "kml-one-point": ("r.kml", _kml_one_point),
    "kml-nan": ("r.kml", _kml_nan),
    "kml-short-part": ("r.kml", _kml_two_parts_one_short),
    "dxf-one-vertex": ("r.dxf", _dxf([(119.1952, 34.5999)])),
    "dxf-nan-vertex": ("r.dxf", _dxf([(119.1952, 34.5999), (float("nan"), 34.5999)])),
    "dxf-repeated-vertex": ("r.dxf", _dxf([(119.1952, 34.5999), (119.1952, 34.5999)])),
    "dxf-line-nan": ("r.dxf", _dxf_line_nan),
}


@pytest.mark.parametrize("case", CASES)
def test_degenerate_route_file_exit_2(demo_map_path, tmp_path, case):
    name, build = CASES[case]
    path = tmp_path / name
    build(path)
    res = runner.invoke(app, ["check-route", str(demo_map_path), str(path)])
    assert res.exit_code == 2, res.output
    assert "internal error" not in res.output
    assert f"file {path}" in " ".join(res.output.split()) or name in res.output
