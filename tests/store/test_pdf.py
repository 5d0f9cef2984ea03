"""The printable decision of a filing (onemap.store.pdf): a PDF in Chinese with the filing
number, the route map, the verdict, the permits and the deadline; rendered by poppler when
installed (page 1 as PNG into test-artifacts/ to look at)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from onemap.store.pdf import FALLBACK_CID_FONT, cjk_font, decision_pdf, route_drawing

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LON0, LAT0 = 119.22, 34.60


def referral() -> dict:
    seg = lambda a, b, corridor, name: {  # noqa: E731
        "corridor": corridor,
        "corridor_name": name,
        "geometry": {"type": "LineString", "coordinates": [a, b]},
    }
    p0, p1, p2 = [LON0, LAT0 + 0.0003], [LON0, LAT0 - 0.0003], [LON0 + 0.001, LAT0 - 0.0003]
    return {
        "filing_id": "BA-2026-000042",
        "status": "referred",
        "eligible": False,
        "voltage_kv": 10.0,
        "route": {"type": "LineString", "coordinates": [p0, p1, p2]},
        "verdict": {
            "eligible": False,
            "length_m": 158.3,
            "limit_m": 1000,
            "procedure_name": "转办审批",
            "reasons": [{"code": "MOTOR_LANE", "message": "路径占用机动车道 <b>12 米</b>"}],
            "permits": ["road_excavation"],
            "permit_names": ["占用、挖掘道路许可"],
            "segments": [
                seg(p0, p1, "motor_lane", "机动车道"),
                seg(p1, p2, "sidewalk", "人行道"),
            ],
        },
        "applicant": {"name": "王工", "organisation": "<script>x</script>", "phone": "0518"},
        "project_id": "XM-1",
        "note": "夜间施工",
        "rules": {"id": "lianyungang-2021", "version": "2021.1"},
        "map": {"hash": "ab" * 32, "built": "2026-09-01T00:00:00+00:00"},
        "submitted": "2026-09-30",
        "submitted_by": "u-applicant",
        "permits": ["road_excavation"],
        "approval_deadline": {"date": "2026-10-14", "workdays": 5, "provisional": False},
    }


HISTORY = [
    {
        "action": "submit",
        "actor": "u-applicant",
        "role": "applicant",
        "at": "2026-09-30T08:00:00+00:00",
        "status_before": None,
        "status_after": "referred",
        "note": "",
    }
]


def test_a_cjk_font_is_embedded_when_one_is_installed():
    font = cjk_font()
    if Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists():
        assert font == "OnemapCJK"
    else:
        assert font == FALLBACK_CID_FONT


def test_referral_notice_is_a_pdf_with_the_number_and_the_chinese_text():
    pdf = decision_pdf(referral(), HISTORY)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    pypdf = pytest.importorskip("pypdf")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "BA-2026-000042" in text
    if cjk_font() == "OnemapCJK":  # the CID fallback's text is not extractable as Unicode
        for words in ("转办通知", "占用、挖掘道路许可", "2026-10-14", "lianyungang-2021", "2021.1"):
            assert words in text
        assert "<script>x</script>" in text  # markup in the data is printed as text


def test_filing_receipt_for_an_eligible_route():
    filed = {**referral(), "status": "filed", "eligible": True, "approval_deadline": None}
    filed["verdict"] = {**filed["verdict"], "eligible": True, "reasons": []}
    pdf = decision_pdf(filed)
    pypdf = pytest.importorskip("pypdf")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    if cjk_font() == "OnemapCJK":
        assert "备案回执" in text and "备案完成即可施工" in text


def test_route_drawing_colours_segments_and_survives_a_point():
    d = route_drawing(referral())
    assert len(d.contents) > 5
    point = {**referral(), "verdict": {"segments": []}, "route": {"type": "Point"}}
    assert route_drawing(point).width == 440


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_poppler_renders_page_one(tmp_path):
    pdf = tmp_path / "decision.pdf"
    pdf.write_bytes(decision_pdf(referral(), HISTORY))
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / "decision-referral"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(out)],
        check=True,
        capture_output=True,
    )
    png = out.with_suffix(".png")
    assert png.stat().st_size > 10_000
