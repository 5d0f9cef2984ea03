"""Regenerate the README's performance table from ``bench/results/latest.json``.

The table sits between ``<!-- perf:start -->`` and ``<!-- perf:end -->`` in README.md; every
row of the results file with a target is listed with its figure, its same-run baseline, the
ratio, the target, whether it is met and the date it was measured.

    .venv/bin/python -m bench.readme          # rewrite README.md
    .venv/bin/python -m bench.readme --check  # exit 1 when README.md is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench._harness import RESULTS_DIR

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- perf:start -->", "<!-- perf:end -->"


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def table(doc: dict) -> str:
    """The markdown table of the rows with a target, in the order of the results file."""
    machine = doc.get("machine", {})
    head = (
        f"Rows of `bench/results/latest.json` with a target ({machine.get('cpu_count', '?')} "
        f"cores, {machine.get('cpu_model', '?')}, {machine.get('ram_gib', '?')} GiB, Python "
        f"{machine.get('python', '?')}); regenerate with `.venv/bin/python -m bench.readme`.\n\n"
        "| row | figure | baseline (same run) | ratio | target | met | measured |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in doc.get("results", []):
        if not r.get("target"):
            continue
        base = ""
        if r.get("baseline") is not None:
            base = f"{_num(r['baseline'])} {r['unit']} ({r.get('baseline_name', '')})"
        ratio = f"{r['ratio']:.1f}×" if r.get("ratio") else ""
        met = "yes" if r.get("met") else "**no**"
        when = str(r.get("measured") or doc.get("date", ""))[:10]
        lines.append(
            f"| {r['name']} | {_num(r['value'])} {r['unit']} | {base} | {ratio} | "
            f"{r['target']} | {met} | {when} |"
        )
    return head + "\n".join(lines) + "\n"


def render(readme: str, doc: dict) -> str:
    """``readme`` with the text between the markers replaced by :func:`table`."""
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md has no {START} … {END} section")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table(doc)}{END}{after}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    doc = json.loads((RESULTS_DIR / "latest.json").read_text(encoding="utf-8"))
    old = README.read_text(encoding="utf-8")
    new = render(old, doc)
    if args.check:
        sys.exit(0 if new == old else 1)
    README.write_text(new, encoding="utf-8")
    print(f"README.md: {sum(1 for r in doc.get('results', []) if r.get('target'))} rows")


if __name__ == "__main__":
    main()
