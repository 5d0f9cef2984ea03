"""``onemap demo``: generate the synthetic demo district (示范片区) as a one map."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from onemap.cli._app import JsonOption, app, console, emit_json, handles_errors


@app.command()
@handles_errors
def demo(
    out: Path = typer.Option(
        Path("data/demo.gpkg"), "--out", help="Where to write the demo map (GeoPackage)."
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Random seed; the same seed gives the same map. Default: 20211129."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Generate the synthetic demo district at Lianyungang (生成示范片区，合成数据)."""
    from onemap.demo import SEED, build_demo

    onemap = build_demo(out, seed=SEED if seed is None else seed)
    payload = {
        "map": str(out),
        "crs_metric": onemap.crs_metric,
        "layers": onemap.counts(),
        "synthetic": onemap.synthetic,
        "seed": onemap.meta["seed"],
        "built_at": onemap.meta["built_at"],
    }
    if json_out:
        emit_json(payload)
        return
    table = Table(title=f"{out} — {onemap.meta['name']}, seed {payload['seed']}")
    table.add_column("图层 layer")
    table.add_column("要素 features", justify="right")
    for name, n in payload["layers"].items():
        table.add_row(name, str(n))
    console.print(table)
    console.print(f"metric CRS {onemap.crs_metric}; 合成数据 synthetic: {onemap.synthetic}")
