"""`onemap batch readiness|diagnose MAPS... --out DIR` (issue 19): many maps on a Dask cluster.

One Dask task per map, on a ``LocalCluster`` of this machine (``--workers N`` processes) or on an
existing cluster (``--scheduler tcp://host:8786``). Each map's result is written as a GeoPackage
in DIR, with ``province_summary.csv`` and ``province_summary.gpkg`` beside them.

Exit codes: 0 when the run finished, even if some maps failed (they are listed with their error
in the summary, the table and the JSON, ``status: "failed"``); 2 bad input (no maps, a map not
found on a local cluster, two maps with one name, an output folder whose parent is missing, an
unreachable scheduler); 1 internal error.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from onemap.cli._app import (
    JsonOption,
    LangOption,
    app,
    console,
    emit_json,
    handles_errors,
    progress_bar,
)
from onemap.lang import check_lang, pick

batch_app = typer.Typer(
    help="Many maps at once on a Dask cluster (省级批量): one task per map, a province summary.",
    no_args_is_help=True,
)
app.add_typer(batch_app, name="batch")

MapsArgument = typer.Argument(..., metavar="MAPS...", help="One map (.gpkg) per city.")
OutOption = typer.Option(..., "--out", help="Folder for the per-map results and the summary.")
SchedulerOption = typer.Option(
    None, "--scheduler", help="Address of an existing Dask scheduler, e.g. tcp://host:8786."
)
WorkersOption = typer.Option(
    None, "--workers", help="Worker processes of the local cluster (default: CPU count)."
)


def _run(
    kind: str,
    maps: list[Path],
    out: Path,
    scheduler: str | None,
    workers: int | None,
    lang: str,
    json_out: bool,
) -> None:
    from onemap.batch import run_batch, write_summary

    lang = check_lang(lang)
    with progress_bar(f"batch {kind}", json_out) as bar:
        task = bar.add_task(pick(lang, "启动集群…", "starting the cluster…"), total=len(maps))

        def on_start(client) -> None:
            from onemap.batch.run import _dashboard

            link = _dashboard(client)
            if link and not json_out:
                console.print(pick(lang, f"Dask 仪表板：{link}", f"Dask dashboard: {link}"))
            bar.update(task, description=pick(lang, "运行中", "running"))

        def progress(name: str, done: int, total: int) -> None:
            bar.update(task, description=name, completed=done, total=total)

        result = run_batch(
            maps,
            out,
            kind,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
            on_start=on_start,
        )
        csv_path, gpkg_path = write_summary(result, out)
    payload = result.to_dict()
    payload["summary"] = {"csv": str(csv_path), "gpkg": str(gpkg_path)}
    if json_out:
        emit_json(payload)
        return
    cols = result.columns
    table = Table(
        title=pick(lang, f"批量 {kind}（{len(maps)} 张图）", f"batch {kind} ({len(maps)} maps)")
    )
    table.add_column(pick(lang, "图", "map"))
    for c in (*cols, "parcels"):
        table.add_column(c if lang == "en" or c != "parcels" else "地块", justify="right")
    table.add_column(pick(lang, "状态", "status"))
    for o in result.outcomes:
        if o.ok:
            table.add_row(o.map, *(str(o.counts.get(c, 0)) for c in cols), str(o.parcels), "ok")
        else:
            table.add_row(o.map, *("—" for _ in cols), "—", pick(lang, "失败", "failed"))
    totals = result.totals
    table.add_row(
        pick(lang, "合计", "total"), *(str(totals[c]) for c in cols), str(totals["parcels"]), ""
    )
    console.print(table)
    for o in result.outcomes:
        if not o.ok:
            label = pick(lang, "失败", "failed")
            console.print(
                f"[bold red]{label}:[/] {escape(o.map)}: {escape(o.error or '')}", soft_wrap=True
            )
    console.print(
        pick(
            lang,
            f"{totals['ok']}/{totals['maps']} 张图完成，{result.workers} 个 worker，"
            f"{result.seconds:.1f} 秒",
            f"{totals['ok']}/{totals['maps']} maps done, {result.workers} workers, "
            f"{result.seconds:.1f} s",
        )
    )
    console.print(pick(lang, f"汇总：{csv_path}、{gpkg_path}", f"summary: {csv_path}, {gpkg_path}"))


@batch_app.command("readiness")
@handles_errors
def batch_readiness_cmd(
    maps: list[Path] = MapsArgument,
    out: Path = OutOption,
    scheduler: str | None = SchedulerOption,
    workers: int | None = WorkersOption,
    lang: str = LangOption,
    json_out: bool = JsonOption,
) -> None:
    """Readiness A–D of every parcel of every map (each map's own rule table), per city and
    district."""
    _run("readiness", maps, out, scheduler, workers, lang, json_out)


@batch_app.command("diagnose")
@handles_errors
def batch_diagnose_cmd(
    maps: list[Path] = MapsArgument,
    out: Path = OutOption,
    scheduler: str | None = SchedulerOption,
    workers: int | None = WorkersOption,
    lang: str = LangOption,
    json_out: bool = JsonOption,
) -> None:
    """Grid diagnostics (items 12, 13) of every map: findings by kind per city."""
    _run("diagnose", maps, out, scheduler, workers, lang, json_out)
