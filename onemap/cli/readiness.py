"""`onemap preview` and `onemap readiness` (DESIGN §8): the investor's and the planner's view."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from onemap.cli._app import (
    JsonOption,
    LangOption,
    app,
    console,
    emit_json,
    handles_errors,
    parse_lonlat,
    progress_bar,
)
from onemap.errors import OnemapInputError
from onemap.lang import CLASSES
from onemap.messages import msg

_GROUP_NAMES = {
    "lv": "0.4 kV",
    "hv": "10 kV",
    "dual": "10 kV dual",
    "ehv": "≥35 kV",
    "done": "done",
}


_WHO = {  # payer of one cost item (item 9)
    "zh": {"government": "政府", "grid_company": "供电企业", "customer": "用户"},
    "en": {"government": "government", "grid_company": "grid company", "customer": "customer"},
}
_PAYER = {
    "zh": {"government": "政府", "grid_company": "供电企业（通道、管沟由政府负责）"},
    "en": {"government": "government", "grid_company": "grid company (government: corridors)"},
}


def _days(value: int | None) -> str:
    return "—" if value is None else str(value)


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise OnemapInputError(msg("cli.expected_date", text=text), field="date") from None


@app.command("preview")
@handles_errors
def preview_cmd(
    map_path: Path = typer.Argument(..., metavar="MAP", help="One map (.gpkg)."),
    at: str = typer.Option(..., "--at", help="Site as LON,LAT."),
    kw: float = typer.Option(..., "--kw", help="Requested capacity in kW."),
    category: str = typer.Option(..., "--category", help="Customer category (DESIGN §8)."),
    date: str | None = typer.Option(None, "--date", help="Application date YYYY-MM-DD."),
    lang: str = LangOption,
    year: int | None = typer.Option(
        None, "--year", help="Answer for this year (assets' in_service, projects' expected_year)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Readiness class, connection point, route, timeline and paperwork for one site."""
    from onemap.connection.groups import check_request
    from onemap.connection.site_preview import preview
    from onemap.geo.mapfile import read_map
    from onemap.rules import resolve_rules

    lon, lat = parse_lonlat(at, "at")
    when = _parse_date(date)
    onemap = read_map(map_path)
    check_request(resolve_rules(onemap), kw, category)  # the map's own rule table
    result = preview(onemap, lon, lat, kw, category, date=when, lang=lang, year=year)
    if json_out:
        emit_json(result.to_dict())
        return
    d = result.to_dict()
    en = lang == "en"
    table = Table(title=("Connection preview" if en else "接电预览"), show_header=False)
    table.add_row("readiness" if en else "接电等级", f"{d['readiness']} {d['readiness_label']}")
    table.add_row("category" if en else "类别", f"{d['category']} ({d['voltage_kv']:g} kV)")
    table.add_row("requested" if en else "申请容量", f"{d['requested_kw']:g} kW")
    cp = d["connection_point"]
    if cp:
        table.add_row(
            "connection point" if en else "接入点",
            f"{cp['asset_id']} ({cp['kind']}), {cp['distance_m']:.0f} m, "
            f"{'headroom' if en else '裕度'} {cp['headroom_kw']:.0f} kW",
        )
    if d["route"]:
        filing = d["route"]["filing"]
        ok = filing.get("eligible") if isinstance(filing, dict) else None
        table.add_row(
            "route" if en else "路径",
            f"{d['route']['length_m']:.0f} m, "
            + (("filing" if en else "备案") if ok else ("permits" if en else "需许可")),
        )
    tl = d["timeline"]
    table.add_row("steps" if en else "办电环节", " → ".join(tl["steps"]))
    table.add_row(
        "working days" if en else "工作日",
        f"{_days(tl['process_workdays'])} + {_days(tl['works_workdays'])} + "
        f"{_days(tl['approval_workdays'])} → {_days(tl['total_workdays'])}"
        + (" (process + works + approval)" if en else "（办电 + 配套工程 + 审批）"),
    )
    earliest = tl["earliest_date"] or (
        "— (grid reinforcement first)" if d["readiness"] == "D" else "—"
    )
    if d["readiness"] == "D" and not en:
        earliest = "—（需先电网补强或新建变电站）"
    if tl.get("provisional"):
        earliest += " (provisional calendar)" if en else "（节假日安排未公布，暂定）"
    table.add_row("earliest date" if en else "最早接电", earliest)
    table.add_row("documents" if en else "申请资料", ("; " if en else "、").join(d["documents"]))
    table.add_row("payer" if en else "投资主体", _PAYER["en" if en else "zh"][d["payer"]])
    table.add_row("tariff" if en else "电价类别", d["tariff_hint"])
    for w in d.get("why") or []:  # issue 16 item 1
        label = (
            ("why" if en else "原因") if w["kind"] == "cause" else ("what helps" if en else "改善")
        )
        table.add_row(label, w["message"])
    est = d.get("cost_estimate")
    if est:  # issue 16 item 2
        who = _WHO["en" if en else "zh"]
        for item in est["items"]:
            table.add_row(
                "cost" if en else "造价",
                f"{item['what']}: {item['quantity']:g} {item['unit']} × {item['unit_yuan']:,.0f} = "
                f"{item['yuan']:,.0f} ¥ ({who.get(item['payer'], item['payer'])})",
            )
        payers = ", ".join(f"{who.get(k, k)} {v:,.0f}" for k, v in est["by_payer"].items() if v)
        table.add_row("cost total" if en else "造价合计", f"{est['total_yuan']:,.0f} ¥ ({payers})")
    console.print(table)


@app.command("readiness")
@handles_errors
def readiness_cmd(
    map_path: Path = typer.Argument(..., metavar="MAP", help="One map (.gpkg)."),
    kw: float | None = typer.Option(None, "--kw", help="Requested kW for every parcel."),
    category: str | None = typer.Option(None, "--category", help="Category for every parcel."),
    out: Path | None = typer.Option(None, "--out", help="Write readiness layers (.gpkg)."),
    year: int | None = typer.Option(
        None, "--year", help="Answer for this year (assets' in_service, projects' expected_year)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Readiness class A–D of every parcel (own forecast load, or --kw and --category)."""
    from onemap.connection.bulk import readiness
    from onemap.connection.groups import check_request
    from onemap.geo.mapfile import read_map
    from onemap.rules import resolve_rules

    if (kw is None) != (category is None):
        raise OnemapInputError(msg("cli.kw_with_category"), field="kw")
    onemap = read_map(map_path)
    if category is not None:
        check_request(resolve_rules(onemap), kw, category)  # the map's own rule table
    with progress_bar("readiness", json_out) as bar:
        task = bar.add_task("…", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=_GROUP_NAMES.get(what, what), completed=done, total=total)

        result = readiness(onemap, kw, category, progress=progress, year=year)
        if out is not None:
            from onemap.connection.zones import write_readiness

            bar.update(task, description=f"→ {out}")
            write_readiness(result.layer, out)
    payload = result.to_dict()
    if out is not None:
        payload["out"] = str(out)
    if json_out:
        emit_json(payload)
        return
    table = Table(title=f"readiness ({payload['parcels']} parcels)")
    for c in CLASSES:
        table.add_column(c, justify="right")
    table.add_row(*(str(payload["counts"][c]) for c in CLASSES))
    console.print(table)
    console.print(f"{payload['passes']} passes, {payload['seconds']:.2f} s")
    if out is not None:
        console.print(f"written: {out}")
