"""The README's performance table is made from the results file, and partial runs keep rows."""

from __future__ import annotations

import json

from bench import readme
from bench._harness import Row, write_results


def test_table_lists_rows_with_targets_and_replaces_only_the_section():
    doc = {
        "date": "2026-12-01T00:00:00+00:00",
        "machine": {"cpu_count": 2},
        "results": [
            {
                "name": "a_s",
                "value": 12.5,
                "unit": "s",
                "baseline": 80.0,
                "ratio": 6.4,
                "baseline_name": "old",
                "target": "<= 8 s",
                "met": False,
            },
            {"name": "no_target", "value": 1.0, "unit": "s"},
        ],
    }
    text = f"intro\n{readme.START}\nstale\n{readme.END}\noutro\n"
    out = readme.render(text, doc)
    assert out.startswith("intro\n") and out.endswith("outro\n")
    assert "stale" not in out
    assert "| a_s | 12.5 s | 80 s (old) | 6.4× | <= 8 s | **no** | 2026-12-01 |" in out
    assert "no_target" not in out


def test_partial_run_keeps_the_other_rows(tmp_path):
    write_results(
        [Row("x", 1.0, "s", target="<= 2 s", met=True), Row("y", 5.0, "s")], out_dir=tmp_path
    )
    write_results([Row("y", 4.0, "s")], out_dir=tmp_path)
    latest = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    by_name = {r["name"]: r for r in latest["results"]}
    assert by_name["x"]["value"] == 1.0 and by_name["y"]["value"] == 4.0
    assert len(latest["results"]) == 2
