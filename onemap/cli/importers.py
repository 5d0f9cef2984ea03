"""``onemap import-osm`` and ``onemap import-pandapower``: real data into one-map layers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from onemap.cli._app import JsonOption, app, console, emit_json, handles_errors
from onemap.errors import OnemapInputError
from onemap.messages import msg


def _print_report(title: str, report) -> None:
    """Counts, coverage, fills, matching and skips of an import as rich tables (stderr)."""
    table = Table(title=title, show_header=True)
    table.add_column("项目 item")
    table.add_column("数量 value", justify="right")
    for layer, n in report.counts.items():
        table.add_row(f"图层 layer {layer}", str(n))
    for key, share in report.coverage.items():
        table.add_row(f"标签覆盖 {key}", f"{share:.0%}")
    for key, n in report.matching.items():
        table.add_row(f"匹配 {key}", str(n))
    console.print(table)
    if report.fills:
        fills = Table(title="断面来源 cross-section sources / fills", show_header=True)
        sources = sorted({s for v in report.fills.values() for s in v})
        fills.add_column("strip")
        for s in sources:
            fills.add_column(s, justify="right")
        for strip, counts in report.fills.items():
            fills.add_row(strip, *(str(counts.get(s, 0)) for s in sources))
        console.print(fills)
    if report.skipped:
        console.print("[bold]跳过 skipped:[/]")
        for reason, n in report.skipped.most_common():
            console.print(f"  {n:>6}  {reason}")
    if report.unmapped:
        top = ", ".join(f"{k} ({n})" for k, n in report.unmapped.most_common(10))
        console.print(f"[bold]未映射 unmapped:[/] {top}")
    for note in report.notes:
        console.print(f"  {note}", markup=False, emoji=False)  # data text, not rich markup
    console.print(f"用时 {report.seconds:.2f} s → {report.out}")


@app.command("import-osm")
@handles_errors
def import_osm_cmd(
    file: Path = typer.Argument(..., metavar="FILE", help="OSM extract: .osm.pbf, .osm, .osm.bz2"),
    out: Path = typer.Option(..., "--out", help="Layers GeoPackage to write."),
    bbox: str | None = typer.Option(None, "--bbox", help="Keep features within W,S,E,N."),
    json_out: bool = JsonOption,
) -> None:
    """Import roads (with cross-sections), land use and power from OSM (导入 OSM 数据)."""
    from onemap.geo.crs import parse_bbox
    from onemap.geo.importers.osm import import_osm

    report = import_osm(file, out, parse_bbox(bbox) if bbox else None)
    if json_out:
        emit_json(report.to_dict())
    else:
        _print_report(f"OSM 导入 import: {file.name}", report)


@app.command("import-pandapower")
@handles_errors
def import_pandapower_cmd(
    net: str | None = typer.Argument(None, metavar="NET.json", help="pandapower JSON network."),
    out: Path = typer.Option(..., "--out", help="Layers GeoPackage to write."),
    builtin: str | None = typer.Option(
        None,
        "--builtin",
        help="A network shipped with pandapower: mv_oberrhein, lv_schutterwald, "
        "kerber_landnetz_freileitung_1 (refused: no geodata).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Import substations, feeders, transformers, lines and house loads from a pandapower net
    (导入电网模型)."""
    from onemap.geo.importers.pandapower import BUILTINS, import_pandapower

    if (net is None) == (builtin is None):
        raise OnemapInputError(msg("cli.net_or_builtin"), field="NET")
    if builtin is not None and builtin not in BUILTINS:
        raise OnemapInputError(
            msg("cli.unknown_builtin", builtin=builtin, builtins=", ".join(BUILTINS)),
            field="builtin",
        )
    report = import_pandapower(builtin or net, out)
    if json_out:
        emit_json(report.to_dict())
    else:
        _print_report(f"pandapower 导入 import: {builtin or net}", report)
