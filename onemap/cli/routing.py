"""`onemap route` and `onemap check-route` (DESIGN §8): routes and the filing verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from onemap.cli._app import JsonOption, LangOption, app, emit_json, handles_errors, parse_lonlat

out = Console()


def _verdict_report(d: dict[str, Any], en: bool, title: str) -> None:
    ok = d["eligible"]
    head = (
        ("filing only" if ok else "permits needed")
        if en
        else ("仅需备案" if ok else "需办理行政许可")
    )
    table = Table(title=f"{title}: {head}", show_header=False)
    table.add_row("procedure" if en else "程序", f"{d['procedure']} ({d['procedure_name']})")
    table.add_row(
        "length" if en else "长度",
        f"{d['length_m']:.1f} m / {'limit' if en else '限值'} {d['limit_m']:g} m",
    )
    table.add_row(
        "voltage" if en else "电压",
        f"{d['voltage_kv']:g} kV, {'trench' if en else '沟宽'} {d['trench_width_m']:g} m",
    )
    for r in d["reasons"]:
        table.add_row(r["code"], r["message"])
    if d["permits"]:
        table.add_row("permits" if en else "所需许可", "、".join(d["permit_names"]))
    if d.get("approval_workdays") is not None:
        text = f"{d['approval_workdays']} {'working days' if en else '个工作日'}"
        deadline = d.get("approval_deadline")
        if deadline:
            text += f" → {deadline['date']}"
            if deadline["provisional"]:
                text += " (provisional)" if en else "（暂定：该年放假安排未公布）"
        table.add_row("approval" if en else "审批时限", text)
    out.print(table)
    seg = Table(title="segments" if en else "分段")
    for col in ("corridor", "road", "side", "m", "occupied m", "bike left m", "reason"):
        seg.add_column(col)
    for s in d["segments"]:
        seg.add_row(
            s["corridor_name"],
            s["road_id"] or "",
            s["side"] or "",
            f"{s['length_m']:.1f}",
            f"{s['occupied_width_m']:g}",
            "" if s["remaining_bike_m"] is None else f"{s['remaining_bike_m']:.2f}",
            s["reason"] or "",
        )
    out.print(seg)


@app.command("check-route")
@handles_errors
def check_route_cmd(
    map_path: Path = typer.Argument(..., metavar="MAP", help="One map (.gpkg)."),
    route: Path = typer.Argument(..., metavar="ROUTE", help="Route file: .geojson, .kml or .dxf."),
    voltage: float = typer.Option(0.4, "--voltage", help="Voltage in kV (0.4, 10, 20)."),
    date: str | None = typer.Option(None, "--date", help="Submission date YYYY-MM-DD."),
    crs: str | None = typer.Option(None, "--crs", help="CRS of a file that declares none."),
    lang: str = LangOption,
    json_out: bool = JsonOption,
) -> None:
    """Does this cable route need only a filing (备案), or permits? (policy item 2)"""
    from onemap.geo.mapfile import read_map
    from onemap.routing.check import check_route
    from onemap.routing.filing import parse_date
    from onemap.routing.routefile import read_route
    from onemap.rules import resolve_rules

    when = parse_date(date)
    onemap = read_map(map_path)
    resolve_rules(onemap).filing.trench_width(voltage)
    line = read_route(route, onemap.crs_metric, crs=crs)
    verdict = check_route(onemap, line, voltage, when).to_dict(lang)
    if json_out:
        emit_json(verdict)
        return
    _verdict_report(verdict, lang == "en", route.name)


@app.command("route")
@handles_errors
def route_cmd(
    map_path: Path = typer.Argument(..., metavar="MAP", help="One map (.gpkg)."),
    origin: str = typer.Option(..., "--from", help="Start as LON,LAT."),
    destination: str = typer.Option(..., "--to", help="End as LON,LAT."),
    voltage: float = typer.Option(0.4, "--voltage", help="Voltage in kV (0.4, 10, 20)."),
    date: str | None = typer.Option(None, "--date", help="Submission date YYYY-MM-DD."),
    lang: str = LangOption,
    json_out: bool = JsonOption,
) -> None:
    """Shortest filing-eligible route and shortest route between two points."""
    from onemap.geo.mapfile import read_map
    from onemap.routing.filing import parse_date
    from onemap.routing.routes import best_route

    a = parse_lonlat(origin, "from")
    b = parse_lonlat(destination, "to")
    when = parse_date(date)
    result = best_route(read_map(map_path), a, b, voltage, date=when).to_dict(lang)
    if json_out:
        emit_json(result)
        return
    en = lang == "en"
    for key, title in (
        ("filing_route", "filing route" if en else "可备案路径"),
        ("shortest_route", "shortest route" if en else "最短路径"),
    ):
        r = result[key]
        if r is None:
            out.print(f"[bold]{title}[/]: " + ("none" if en else "无"))
            continue
        _verdict_report(r["filing"], en, title)
