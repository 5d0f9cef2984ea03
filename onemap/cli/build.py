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
    if report.strip_provenance:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.strip_provenance.items()))
        console.print(f"断面条带来源 strips by provenance: {counts}", markup=False)
    for warning in report.warnings:
        console.print(f"注意 warning: {warning}", markup=False, emoji=False, style="yellow")
    for layer, reports in report.layers.items():
        for r in reports:
            for note in r.notes:
                console.print(f"  [{layer}] {note}", markup=False, emoji=False)


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
        "graph": graph_summary(onemap),
    }
    if json_out:
        emit_json(payload)
        return
    label = " (合成数据 synthetic)" if onemap.synthetic else ""
    _print_counts(f"{map_path}{label}", payload["layers"], onemap.crs_metric)
    g = payload["graph"]
    if g:
        console.print(
            f"通道图 corridor graph: {g['nodes']} nodes, {g['edges']} edges "
            f"(mean {g['mean_edge_m']} m), {g['components']} components, "
            f"largest {g['largest_share']:.1%}"
        )


def graph_summary(onemap) -> dict[str, object] | None:
    """Size and connectivity of a map's corridor graph (built once, then cached beside the map):
    nodes, edges, mean edge length, connected components and the largest one's share of nodes.
    None for a map without roads."""
    if not len(onemap["roads"]):
        return None
    import numpy as np
    from scipy.sparse.csgraph import connected_components

    from onemap.routing.build import corridor_graph
    from onemap.rules import resolve_rules

    g = corridor_graph(onemap)
    csr, _ = g.csr(resolve_rules(onemap).connection.lv_voltage_kv, False)
    n, labels = connected_components(csr, directed=False)
    sizes = np.bincount(labels)
    return {
        "nodes": int(g.n_nodes),
        "edges": int(g.n_edges),
        "mean_edge_m": round(float(np.mean(g.length)), 2) if g.n_edges else 0.0,
        "components": int(n),
        "largest_share": round(float(sizes.max() / max(len(labels), 1)), 4),
    }


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
