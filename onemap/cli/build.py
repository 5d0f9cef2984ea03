"""``onemap build`` and ``onemap info``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from onemap.cli._app import JsonOption, app, console, emit_json, handles_errors


@app.command()
@handles_errors
def build(
    files: list[str] = typer.Argument(..., help="Sources: LAYERS.gpkg, roads.geojson, NAME=FILE"),
    out: Path = typer.Option(..., "--out", help="The one map to write (GeoPackage)."),
    landuse_mapping: str | None = typer.Option(
        None, "--landuse-mapping", help="Mapping table of foreign land-use codes (or 'euluc')."
    ),
    crs: str | None = typer.Option(None, "--crs", help="CRS of sources that declare none."),
    encoding: str | None = typer.Option(None, "--encoding", help="Shapefile DBF encoding."),
    json_out: bool = JsonOption,
) -> None:
    """Build a one map from land use, roads and grid layers (构建一张图)."""
    from onemap.geo.build import build_map

    onemap, report = build_map(
        files, out, landuse_mapping=landuse_mapping, crs=_epsg(crs), encoding=encoding
    )
    if json_out:
        emit_json({**report.to_dict(), "synthetic": onemap.synthetic})
        return
    _print_counts(f"一张图已生成 / map built: {out}", report.counts, report.crs_metric)
    console.print(f"修复几何 repaired geometries: {report.repaired_geometries}")
    console.print(f"默认断面补全 roads with default cross-sections: {report.filled_cross_sections}")
    for layer, reports in report.layers.items():
        for r in reports:
            for note in r.notes:
                console.print(f"  [{layer}] {note}")


@app.command()
@handles_errors
def info(
    map_path: Path = typer.Argument(..., metavar="MAP", help="A one map (GeoPackage)."),
    json_out: bool = JsonOption,
) -> None:
    """Describe a one map: layers, counts, metric CRS (查看一张图)."""
    from onemap.geo.mapfile import read_map

    onemap = read_map(map_path)
    payload = {
        "map": str(map_path),
        "crs_metric": onemap.crs_metric,
        "layers": onemap.counts(),
        "synthetic": onemap.synthetic,
        "bounds": [round(float(b), 6) for b in onemap.bounds],
        "meta": onemap.meta,
    }
    if json_out:
        emit_json(payload)
        return
    label = " (合成数据 synthetic)" if onemap.synthetic else ""
    _print_counts(f"{map_path}{label}", payload["layers"], onemap.crs_metric)


def _epsg(text: str | None) -> str | None:
    if text is None:
        return None
    return text if ":" in text else f"EPSG:{text}"


def _print_counts(title: str, counts: dict[str, int], crs_metric: str) -> None:
    table = Table(title=title)
    table.add_column("图层 layer")
    table.add_column("要素 features", justify="right")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)
    console.print(f"度量坐标系 metric CRS: {crs_metric}")
