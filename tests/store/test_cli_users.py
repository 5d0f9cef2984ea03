"""`onemap users add NAME --role ROLE [--map MAP | --store URL] [--json]`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from onemap.cli import app
from onemap.store import open_store

runner = CliRunner()


def test_users_add_json_beside_the_map(map_copy, monkeypatch):
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    result = runner.invoke(app, ["users", "add", "王审核", "--role", "reviewer",
                                 "--map", str(map_copy), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"name", "role", "token"}
    assert (out["name"], out["role"]) == ("王审核", "reviewer")
    store = open_store(map_copy)
    assert store.authenticate(out["token"]).name == "王审核"
    store.close()


def test_users_add_store_url_both_backends(store_url):
    result = runner.invoke(app, ["users", "add", "ada", "--role", "admin", "--store", store_url])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    store = open_store(url=store_url)
    assert store.authenticate(token).role == "admin"
    store.close()


def test_users_add_env_store(store_url, monkeypatch):
    monkeypatch.setenv("ONEMAP_STORE", store_url)
    result = runner.invoke(app, ["users", "add", "ann", "--role", "applicant", "--json"])
    assert result.exit_code == 0, result.output
    store = open_store()
    assert store.authenticate(json.loads(result.stdout)["token"]).name == "ann"
    store.close()


def test_bad_input_exits_2(map_copy, monkeypatch):
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    result = runner.invoke(app, ["users", "add", "bob", "--role", "boss", "--map", str(map_copy)])
    assert result.exit_code == 2
    assert "role" in result.stderr
    assert not (map_copy.parent / "city.onemap-store.sqlite").exists()  # nothing created
    args = ["users", "add", "bob", "--role", "admin", "--map", str(map_copy)]
    assert runner.invoke(app, args).exit_code == 0
    dup = runner.invoke(app, args)
    assert dup.exit_code == 2 and "name" in dup.stderr
    missing = runner.invoke(app, ["users", "add", "x", "--role", "admin", "--map", "nope.gpkg"])
    assert missing.exit_code == 2
    neither = runner.invoke(app, ["users", "add", "x", "--role", "admin"])
    assert neither.exit_code == 2
