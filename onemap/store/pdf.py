"""The printable decision of a filing (issue 15): a filing receipt (备案回执) for a route that
needs only a filing, a referral notice (转办通知) for one that needs permits.

Chinese, A4, made with ReportLab from the filing's JSON (:meth:`Filing.to_dict`) and its
history — no network: the route map is drawn from the frozen verdict's segments (coloured by
corridor) with ReportLab graphics, no tiles. The CJK font is the first TrueType font found of
:data:`FONT_CANDIDATES` (``$ONEMAP_PDF_FONT`` first; Debian ``fonts-wqy-microhei``); without one
the PDF uses ReportLab's built-in CID font ``STSong-Light`` (not embedded: the viewer supplies
it). Noto CJK ships PostScript (CFF) outlines, which ReportLab cannot embed, so it is only tried.
"""

from __future__ import annotations

import io
import math
import os
from functools import lru_cache
from typing import Any

FONT_ENV = "ONEMAP_PDF_FONT"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
FALLBACK_CID_FONT = "STSong-Light"

STATUS_ZH = {
    "filed": "已备案（可施工）",
    "referred": "已转办（待审批）",
    "accepted": "已批准",
    "returned": "已退回",
    "withdrawn": "已撤回",
    "works_started": "已开工",
    "completed": "已竣工",
}
ACTION_ZH = {
    "submit": "提交",
    "accept": "批准",
    "return": "退回",
    "withdraw": "撤回",
    "works_started": "开工",
    "works_completed": "竣工",
}
CORRIDOR_COLOR = {
    "sidewalk": "#2e7d32",
    "bike_lane": "#9e9d24",
    "motor_lane": "#c62828",
    "green_belt": "#00897b",
    "duct": "#6a1b9a",
    "crossing": "#ef6c00",
    "access": "#546e7a",
    "off_corridor": "#000000",
}


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The registered name of the CJK font the decision is set in (registered once)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    paths = [os.environ[FONT_ENV]] if os.environ.get(FONT_ENV) else []
    for path in [*paths, *FONT_CANDIDATES]:
        if not os.path.isfile(path):
            continue
        try:
            pdfmetrics.registerFont(TTFont("OnemapCJK", path, subfontIndex=0))
        except Exception:  # CFF outlines, a broken file: try the next
            continue
        return "OnemapCJK"
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
    return FALLBACK_CID_FONT


def _lines(geometry: dict[str, Any] | None) -> list[list[tuple[float, float]]]:
    if not geometry:
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "LineString":
        return [[(float(x), float(y)) for x, y, *_ in coords]]
    if kind == "MultiLineString":
        return [[(float(x), float(y)) for x, y, *_ in part] for part in coords]
    if kind == "Point" and coords:
        return [[(float(coords[0]), float(coords[1]))]]
    return []


def route_drawing(filing: dict[str, Any], width: float = 440, height: float = 250):
    """The route as a ReportLab Drawing: the verdict's segments coloured by corridor (else the
    whole route), start and end marked, a legend, a north arrow and a scale bar."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
    from reportlab.lib import colors

    font = cjk_font()
    verdict = filing.get("verdict") or {}
    pieces: list[tuple[str, list[tuple[float, float]]]] = []
    for seg in verdict.get("segments") or []:
        for line in _lines(seg.get("geometry")):
            pieces.append((seg.get("corridor", ""), line))
    route = _lines(filing.get("route"))
    if not pieces:
        pieces = [("", line) for line in route]
    d = Drawing(width, height)
    d.add(Rect(0, 0, width, height, strokeColor=colors.HexColor("#9e9e9e"), fillColor=None))
    points = [p for _, line in pieces for p in line] or [p for line in route for p in line]
    if not points:
        return d
    lat0 = sum(p[1] for p in points) / len(points)
    kx = 111_320.0 * math.cos(math.radians(lat0))  # metres per degree (local, equirectangular)
    ky = 110_540.0
    xs = [p[0] * kx for p in points]
    ys = [p[1] * ky for p in points]
    legend_h = 34
    pad = 24
    span = max(max(xs) - min(xs), max(ys) - min(ys), 20.0)
    scale = min((width - 2 * pad) / span, (height - legend_h - 2 * pad) / span)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def xy(p: tuple[float, float]) -> tuple[float, float]:
        return (
            width / 2 + (p[0] * kx - cx) * scale,
            legend_h + (height - legend_h) / 2 + (p[1] * ky - cy) * scale,
        )

    for corridor, line in pieces:
        color = colors.HexColor(CORRIDOR_COLOR.get(corridor, "#d81b60"))
        flat = [v for p in line for v in xy(p)]
        if len(line) == 1:
            d.add(Circle(flat[0], flat[1], 3, fillColor=color, strokeColor=color))
        else:
            d.add(PolyLine(flat, strokeColor=color, strokeWidth=4, strokeLineCap=1))
    if route:
        for p, label in ((route[0][0], "起"), (route[-1][-1], "终")):
            x, y = xy(p)
            d.add(Circle(x, y, 5, fillColor=colors.white, strokeColor=colors.black))
            d.add(String(x + 7, y + 4, label, fontName=font, fontSize=9))
    # North arrow and scale bar.
    nx, ny = width - 18, height - 36
    d.add(Polygon([nx, ny + 22, nx - 5, ny, nx + 5, ny], fillColor=colors.black))
    d.add(String(nx - 3, ny + 25, "N", fontName="Helvetica", fontSize=8))
    metres = _nice(span / 4)
    bar = metres * scale
    d.add(Line(10, legend_h + 6, 10 + bar, legend_h + 6, strokeWidth=2))
    for x in (10, 10 + bar):
        d.add(Line(x, legend_h + 3, x, legend_h + 9, strokeWidth=1))
    d.add(String(14 + bar, legend_h + 3, f"{metres:g} 米", fontName=font, fontSize=8))
    # Legend: the corridors the route uses, with their names from the verdict.
    names: dict[str, str] = {}
    for seg in verdict.get("segments") or []:
        names.setdefault(seg.get("corridor", ""), seg.get("corridor_name") or seg.get("corridor"))
    x = 10
    for corridor, name in names.items():
        color = colors.HexColor(CORRIDOR_COLOR.get(corridor, "#d81b60"))
        d.add(Line(x, 14, x + 18, 14, strokeColor=color, strokeWidth=4))
        d.add(String(x + 22, 10, str(name), fontName=font, fontSize=9))
        x += 30 + 9 * len(str(name))
    return d


def _nice(value: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``value``."""
    exp = 10 ** math.floor(math.log10(max(value, 1e-9)))
    for m in (5, 2, 1):
        if m * exp <= value:
            return m * exp
    return exp


def decision_pdf(filing: dict[str, Any], history: list[dict[str, Any]] | None = None) -> bytes:
    """The decision of a filing as PDF bytes.

    Parameters
    ----------
    filing
        :meth:`onemap.store.Filing.to_dict` of the filing.
    history
        Its events (:meth:`onemap.store.Event.to_dict`), oldest first; printed as a table.

    Returns
    -------
    bytes
        A one- or two-page A4 PDF in Chinese.
    """
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = cjk_font()
    base = ParagraphStyle("base", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=1)
    head = ParagraphStyle("head", parent=base, fontSize=12, leading=18, spaceBefore=8)
    verdict = filing.get("verdict") or {}
    eligible = bool(filing.get("eligible", verdict.get("eligible")))
    kind = "备案回执" if eligible else "转办通知"

    def p(text: Any, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape("—" if text in (None, "") else str(text)), style)

    applicant = filing.get("applicant") or {}
    deadline = filing.get("approval_deadline") or {}
    rules = filing.get("rules") or {}
    made_on = filing.get("map") or {}
    rows = [
        ["备案编号", filing.get("filing_id")],
        ["状态", STATUS_ZH.get(filing.get("status", ""), filing.get("status"))],
        ["申请人", applicant.get("name")],
        ["单位", applicant.get("organisation")],
        ["联系电话", applicant.get("phone")],
        ["项目编号", filing.get("project_id")],
        ["电压等级", f"{filing.get('voltage_kv', 0):g} 千伏"],
        ["提交日期", filing.get("submitted")],
        ["提交用户", filing.get("submitted_by")],
    ]
    story: list[Any] = [
        p(f"电力接入工程{kind}", title),
        p(f"编号 {filing.get('filing_id')}", ParagraphStyle("n", parent=base, alignment=1)),
        Spacer(1, 4 * mm),
        _table([[p(k), p(v)] for k, v in rows], colors),
        p("路径图", head),
        route_drawing(filing),
        p("核验结论", head),
    ]
    if eligible:
        conclusion = "符合备案制：备案完成即可施工（政策第 2 条“实行备案制，备案完成即可施工”）。"
    else:
        conclusion = "不符合仅备案条件：需办理下列许可，已转办审批部门并联审批。"
    facts = [
        ["结论", conclusion],
        ["办理方式", verdict.get("procedure_name") or verdict.get("procedure")],
        ["路径长度", f"{float(verdict.get('length_m') or 0):.1f} 米"],
        ["长度上限", f"{float(verdict.get('limit_m') or 0):g} 米"],
    ]
    reasons = [f"{r.get('code')}：{r.get('message')}" for r in verdict.get("reasons") or []]
    facts.append(["原因", "\n".join(reasons) or "无"])
    names = verdict.get("permit_names") or filing.get("permits") or []
    facts.append(["需办理的许可", "、".join(str(n) for n in names) if not eligible else "无"])
    if deadline:
        text = f"{deadline.get('date')}（{deadline.get('workdays')} 个工作日，自提交次日起算）"
        if deadline.get("provisional"):
            text += "，该年度放假安排尚未公布，为暂定日期"
        facts.append(["审批期限", text])
    elif not eligible:
        facts.append(["审批期限", "按法定时限办理"])
    facts.append(["规则表", f"{rules.get('id')} 版本 {rules.get('version')}"])
    facts.append(
        ["一张图", f"{str(made_on.get('hash') or '')[:16]}（生成于 {made_on.get('built') or '—'}）"]
    )
    if filing.get("note"):
        facts.append(["备注", filing.get("note")])
    story.append(_table([[p(k), _multiline(v, base, escape)] for k, v in facts], colors))
    if history:
        story.append(p("办理记录", head))
        hist = [[p("时间"), p("操作"), p("办理人"), p("状态"), p("说明")]]
        for e in history:
            hist.append(
                [
                    p(str(e.get("at", ""))[:19].replace("T", " ")),
                    p(ACTION_ZH.get(e.get("action", ""), e.get("action"))),
                    p(f"{e.get('actor')}（{e.get('role')}）"),
                    p(STATUS_ZH.get(e.get("status_after", ""), e.get("status_after"))),
                    p(e.get("note")),
                ]
            )
        story.append(_table(hist, colors, widths=(32 * mm, 16 * mm, 36 * mm, 34 * mm, None)))
    story.append(Spacer(1, 6 * mm))
    story.append(
        p(
            "本文书由开门接电“一张图”系统根据提交时冻结的核验结论生成；编号可在备案登记簿查询。",
            ParagraphStyle("foot", parent=base, fontSize=8, textColor=colors.grey),
        )
    )
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{kind} {filing.get('filing_id')}",
        author="onemap",
        subject=kind,
    )
    doc.build(story)
    return buf.getvalue()


def _multiline(text: Any, style: Any, escape: Any) -> Any:
    from reportlab.platypus import Paragraph

    lines = ("—" if text in (None, "") else str(text)).split("\n")
    return Paragraph("<br/>".join(escape(line) for line in lines), style)


def _table(rows: list[list[Any]], colors: Any, widths: tuple | None = None) -> Any:
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    if widths is None:
        widths = (30 * mm, None)
    total = 174 * mm
    fixed = sum(w for w in widths if w)
    free = [w for w in widths if not w]
    col = [w or (total - fixed) / len(free) for w in widths]
    table = Table(rows, colWidths=col, repeatRows=0)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9e9e9e")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f1f5f9")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table
