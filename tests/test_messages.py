"""The message catalogue (onemap/data/messages.toml) and the language of errors.

* every entry has a template in each language of onemap.lang, with the same placeholders, and
  its Chinese is Chinese;
* no raise site in onemap/ or web/ writes its own English (an AST scan), and every ``msg(...)``
  names a catalogued key with exactly its placeholders;
* the CLI prints an input error in Chinese by default and in English with ``--lang en`` (or
  ``ONEMAP_LANG=en``); tests/web/test_error_language.py checks the HTTP 422 and store answers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onemap.cli import app
from onemap.errors import OnemapInputError
from onemap.lang import LANGS
from onemap.messages import Joined, catalogue, msg, placeholders
from onemap.store.errors import IllegalTransition, NotFound

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
LOCATION = {"file", "layer", "row", "field"}
# The error classes whose first argument is a message (subclasses are found by the scan).
ERRORS = {"OnemapInputError", "StoreError", "_err"}
# Raise sites still writing English text, in files another change owns: (file, message).
DEMO_SITE = "119.1974986134797,34.60327962321602"


# --- the catalogue ---------------------------------------------------------------------------


def test_every_entry_has_both_languages_with_the_same_placeholders():
    entries = catalogue()
    assert len(entries) > 150
    for key, templates in entries.items():
        assert set(templates) == set(LANGS), key
        zh, en = templates["zh"], templates["en"]
        assert placeholders(zh) == placeholders(en), key
        if not key.startswith("where."):
            assert not placeholders(en) & LOCATION, f"{key}: the error holds the location"
        if key != "common.invalid_value":  # its English is a parser's own text: {detail}
            assert en.strip(), key


def test_chinese_templates_are_chinese():
    for key, templates in catalogue().items():
        if key in {"where.sep", "where.line"}:  # only Chinese punctuation: "，", "{where}：…"
            continue
        assert CJK.search(templates["zh"]), (key, templates["zh"])


def test_policy_item_numbers_stay():
    entry = catalogue()["connection.kw_above_lv"]
    assert "(item {item})" in entry["en"] and "第{item}条" in entry["zh"]


# --- rendering -------------------------------------------------------------------------------


def test_error_text_in_both_languages_and_str_is_english():
    err = OnemapInputError(
        msg("connection.kw_above_lv", kw=300.0, limit=160.0, item="8"),
        file="a.gpkg",
        layer="landuse",
        row=3,
        field="kw",
    )
    assert str(err) == (
        "file a.gpkg, layer 'landuse', row 3, field 'kw': 300 kW is above the low-voltage limit "
        "of 160 kW (item 8); ask for a 10/20 kV category such as hv_single"
    )
    assert err.text("en") == str(err)
    zh = err.text("zh")
    assert zh.startswith("文件 a.gpkg，图层“landuse”，第 3 行，字段“kw”：300 kW 超过低压接入上限")
    assert "（第8条）" in zh
    assert err.message_text("zh").startswith("300 kW") and err.message.startswith("300 kW")
    assert err.to_dict("zh")["error"] == err.message_text("zh")
    assert err.to_dict()["error"] == err.message


def test_nested_messages_render_in_the_same_language():
    what = msg("routing.dxf_entity", n=3)
    m = msg("routing.part_too_short", what=what, n_xy=1)
    assert m.text("en").startswith("DXF entity 3 of the model space has 1 vertex(es)")
    assert m.text("zh").startswith("DXF 模型空间第 3 个实体 有 1 个顶点")
    parts = Joined((msg("routing.part_eligible"), "ROAD_CROSSING"), ", ")
    line = msg("routing.part_verdict", i=0, length_m=12.0, outcome=parts)
    assert line.text("zh") == "第 0 段：12.0 米，可备案, ROAD_CROSSING"


def test_unknown_key_is_refused():
    with pytest.raises(KeyError):
        msg("no.such_key")


def test_store_refusals_in_both_languages():
    err = IllegalTransition("BA-1", "accept", "withdrawn", [])
    assert str(err) == "filing BA-1 is 'withdrawn': action 'accept' is not allowed (allowed: none)"
    assert err.text("zh") == "备案 BA-1 的状态为“withdrawn”：不允许执行“accept”（允许：无）"
    assert err.to_dict("zh")["allowed"] == []
    gone = NotFound(msg("store.no_filing", filing_id="BA-9"), filing_id="BA-9")
    assert (gone.message, gone.text("zh")) == ("no filing BA-9", "没有备案 BA-9")


# --- the raise sites (AST scan of onemap/ and web/) -------------------------------------------


def _sources() -> list[tuple[str, ast.Module]]:
    files = sorted((ROOT / "onemap").rglob("*.py")) + sorted((ROOT / "web").rglob("*.py"))
    return [(p.relative_to(ROOT).as_posix(), ast.parse(p.read_text("utf-8"))) for p in files]


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _error_classes(sources) -> set[str]:
    """The error classes and their subclasses, defined anywhere in onemap/ and web/."""
    names = set(ERRORS)
    classes = [n for _, tree in sources for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    grew = True
    while grew:
        new = {c.name for c in classes if {_name(b) for b in c.bases} & names} - names
        names |= new
        grew = bool(new)
    return names


def _is_text(node: ast.expr) -> bool:
    """Whether an expression writes its own text: a string, an f-string, "…" + x, "…".format."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in {"format", "join"} and _is_text(node.func.value)
    return False


def test_no_raise_site_writes_english():
    sources = _sources()
    errors = _error_classes(sources)
    assert {"RouteGapError", "NotFound", "IllegalTransition", "StoreUnavailable"} <= errors
    found, calls = set(), 0
    for path, tree in sources:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in errors and node.args:
                calls += 1
                first = node.args[0]
                if _is_text(first):
                    text = first.value if isinstance(first, ast.Constant) else ast.unparse(first)
                    found.add((path, text))
    assert calls > 150
    assert not found, sorted(found)


def test_every_msg_call_names_a_key_with_its_placeholders():
    entries, seen = catalogue(), 0
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) == "msg" and node.args):
                continue
            key = node.args[0]
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue  # onemap.errors builds "where.<part>" keys (checked above)
            seen += 1
            where = f"{path}:{node.lineno}"
            assert key.value in entries, f"{where}: no message '{key.value}'"
            if any(k.arg is None for k in node.keywords):
                continue  # **params: checked when rendered
            names = {k.arg for k in node.keywords}
            assert names == placeholders(entries[key.value]["en"]), where
    assert seen > 150


# --- the CLI, end to end ---------------------------------------------------------------------


def _preview(demo_map_path, *extra: str, env: dict[str, str] | None = None):
    args = ["preview", str(demo_map_path), "--at", DEMO_SITE, "--kw", "300"]
    args += ["--category", "lv_residential", *extra]
    return CliRunner().invoke(app, args, env=env)


def test_cli_error_is_chinese_by_default_and_english_on_request(demo_map_path, monkeypatch):
    monkeypatch.delenv("ONEMAP_LANG", raising=False)
    zh = _preview(demo_map_path)
    assert zh.exit_code == 2, zh.output
    assert "错误：" in zh.output and "字段“kw”" in zh.output
    assert "超过低压接入上限 160 kW（第8条）" in zh.output and "above" not in zh.output
    en = _preview(demo_map_path, "--lang", "en")
    assert en.exit_code == 2, en.output
    assert (
        "field 'kw'" in en.output and "above the low-voltage limit of 160 kW (item 8)" in en.output
    )
    assert not CJK.search(en.output)


def test_cli_language_from_the_environment(demo_map_path, tmp_path):
    en = _preview(demo_map_path, env={"ONEMAP_LANG": "en"})
    assert en.exit_code == 2 and "(item 8)" in en.output
    zh = _preview(demo_map_path, "--lang", "zh", env={"ONEMAP_LANG": "en"})  # --lang wins
    assert zh.exit_code == 2 and "（第8条）" in zh.output
    # A command without --lang (build) follows ONEMAP_LANG, else Chinese.
    missing = str(tmp_path / "nope.geojson")
    build = ["build", missing, "--out", str(tmp_path / "m.gpkg")]
    zh = CliRunner().invoke(app, build, env={"ONEMAP_LANG": ""})
    assert zh.exit_code == 2 and "找不到文件" in zh.output and "nope.geojson" in zh.output
    en = CliRunner().invoke(app, build, env={"ONEMAP_LANG": "en"})
    assert en.exit_code == 2 and "file not found" in en.output
