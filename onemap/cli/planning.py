"""`onemap plan` and `onemap diagnose` (DESIGN §5, §8): the planner's half of the one map."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from onemap.cli._app import (
    ENV_LANG,
    JsonOption,
    app,
    console,
    emit_json,
    handles_errors,
    progress_bar,
)
from onemap.errors import OnemapInputError
from onemap.lang import CLASSES, DEFAULT_LANG, check_lang, pick
from onemap.messages import msg

RulesOption = typer.Option(None, "--rules", help="Rule table id or TOML path.")


def parse_ks(text: str) -> list[int]:
    """'2' or '1,2,3' → [2] / [1, 2, 3]; OnemapInputError for anything else or k ≤ 0."""
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise OnemapInputError(
            msg("cli.expected_numbers", text=text), field="new_substations"
        ) from None
    if not ks:
        raise OnemapInputError(msg("cli.no_k"), field="new_substations")
    bad = [k for k in ks if k <= 0]
    if bad:
        raise OnemapInputError(msg("planning.k_below_one", k=bad[0]), field="new_substations")
    return ks


@app.command("plan")
@handles_errors
def plan_cmd(
    map_path: Path = typer.Argument(..., metavar="MAP", help="One map (.gpkg)."),
    new_substations: str = typer.Option(
        ..., "--new-substations", "-k", help="Number of new substations K, or a list 1,2,3."
    ),
    candidates: Path | None = typer.Option(
        None, "--candidates", help="Candidate points (GeoJSON, GPKG, SHP, or CSV with lon,lat)."
    ),
    with_landuse: bool = typer.Option(
        False, "--with-landuse", help="With --candidates: also keep power-supply land (1303)."
    ),
    method: str = typer.Option("auto", "--method", help="auto, exact or greedy."),
    out: Path | None = typer.Option(None, "--out", help="Write the plan (.gpkg)."),
    rules: str | None = RulesOption,
    lang: str = typer.Option(
        DEFAULT_LANG, "--lang", envvar=ENV_LANG, help="Language of the tables: zh or en."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Site K new substations where they serve the most grid-gap load; readiness before/after."""
    check_lang(lang)
    from onemap.geo.mapfile import read_map
    from onemap.planning.plan import plan_many
    from onemap.rules import resolve_rules

    ks = parse_ks(new_substations)
    if method not in ("auto", "exact", "greedy"):
        raise OnemapInputError(msg("cli.unknown_method", method=method), field="method")
    if candidates is not None and not candidates.exists():
        raise OnemapInputError(msg("planning.candidate_file_not_found"), file=str(candidates))
    onemap = read_map(map_path)
    table_rules = resolve_rules(onemap, rules)
    with progress_bar("plan", json_out) as bar:
        task = bar.add_task("…", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        results = plan_many(
            onemap,
            ks,
            candidates,
            rules=table_rules,
            include_landuse=True if with_landuse else None,
            method=method,  # type: ignore[arg-type]
            progress=progress,
        )
        if out is not None:
            from onemap.planning.diagnostics import diagnose

            bar.update(task, description=f"→ {out}")
            _write(results, diagnose(onemap, table_rules), out)
    payloads = [r.to_dict() for r in results]
    if json_out:
        if len(payloads) == 1:
            payload = payloads[0]
        else:  # several k: one object, the shared `before` and one plan per k
            payload = {"before": payloads[0]["before"], "plans": payloads}
        if out is not None:
            payload["out"] = str(out)
        emit_json(payload)
        return
    for p in payloads:
        _print(p, lang)
    if out is not None:
        console.print(pick(lang, f"已写入 {out}", f"written: {out}"))


def _write(results, diag, out: Path) -> None:
    """The plan for the largest k as the GeoPackage; the diagnostics layer beside it."""
    import pyogrio

    best = results[-1]
    best.write(out)
    if len(diag.layer):
        pyogrio.write_dataframe(diag.layer, out, layer="diagnostics", driver="GPKG")
    if len(results) > 1:
        import pandas as pd

        summary = pd.DataFrame(
            [
                {
                    "k": r.k,
                    "served_kw": r.solution.objective_kw,
                    "sites": ",".join(r.sites["site_id"]),
                    **{f"after_{c}": n for c, n in r.after.counts.items()},
                }
                for r in results
            ]
        )
        pyogrio.write_dataframe(summary, out, layer="plan_k", driver="GPKG")


def _print(p: dict, lang: str = "zh") -> None:
    """The plan of one k as tables, in one language."""
    t = {
        "title": pick(lang, "新建变电站 k = {k}（{m}，{s}）", "new substations k = {k} ({m}, {s})"),
        "cols": pick(lang, "站址|经度|纬度|供电 kW|地块", "site|lon|lat|served kW|parcels"),
        "counts": pick(lang, "接电条件 前 → 后", "readiness before → after"),
        "before": pick(lang, "规划前", "before"),
        "after": pick(lang, "规划后", "after"),
        "note": pick(lang, "说明", "note"),
    }
    table = Table(title=t["title"].format(k=p["k"], m=p["method"], s=p["status"]))
    for col in t["cols"].split("|"):
        table.add_column(col, justify="right")
    for s in p["sites"]:
        table.add_row(
            s["site_id"],
            f"{s['lon']:.6f}",
            f"{s['lat']:.6f}",
            f"{s['served_kw']:.0f}",
            str(s["served_parcels"]),
        )
    console.print(table)
    counts = Table(title=t["counts"])
    for c in ("", *CLASSES):
        counts.add_column(c, justify="right")
    counts.add_row(t["before"], *(str(p["before"][c]) for c in CLASSES))
    counts.add_row(t["after"], *(str(p["after"][c]) for c in CLASSES))
    console.print(counts)
    gap = p["greedy_gap"]
    demand, served = p["demand"], p["served_kw"]
    if lang == "en":
        line = (
            f"demand {demand['parcels']} class-D parcels, {demand['kw']:.0f} kW; "
            f"served {served:.0f} kW"
            + ("" if gap is None else f"; greedy heuristic gap {100 * gap:.2f} %")
        )
    else:
        line = (
            f"需求：D 类地块 {demand['parcels']} 个，{demand['kw']:.0f} kW；已供 {served:.0f} kW"
            + ("" if gap is None else f"；贪心解差距 {100 * gap:.2f} %")
        )
    console.print(line)
    for note in p["notes"]:
        console.print(f"{t['note']}: {note}", markup=False)


@app.command("diagnose")
@handles_errors
def diagnose_cmd(
    map_path: Path = typer.Argument(..., metavar="MAP", help="One map (.gpkg)."),
    out: Path | None = typer.Option(None, "--out", help="Write the diagnostics layer (.gpkg)."),
    rules: str | None = RulesOption,
    json_out: bool = JsonOption,
) -> None:
    """Grid diagnostics (items 12, 13): supply radius, heavy loading, outage hours."""
    from onemap.geo.mapfile import read_map
    from onemap.planning.diagnostics import diagnose
    from onemap.rules import resolve_rules

    onemap = read_map(map_path)
    result = diagnose(onemap, resolve_rules(onemap, rules))
    if out is not None:
        import pyogrio

        pyogrio.write_dataframe(result.layer, out, layer="diagnostics", driver="GPKG")
    payload = result.to_dict()
    if out is not None:
        payload["out"] = str(out)
    if json_out:
        emit_json(payload)
        return
    table = Table(title="grid diagnostics")
    for col in ("kind", "subject", "value", "limit", "message"):
        table.add_column(col)
    for f in payload["findings"]:
        table.add_row(
            f["kind"], f["subject_id"], f"{f['value']:g}", f"{f['limit']:g}", f["message"]
        )
    console.print(table)
    console.print(", ".join(f"{k}: {v}" for k, v in payload["counts"].items()))
