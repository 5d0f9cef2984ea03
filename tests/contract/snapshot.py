"""The public contract as recorded output: every query command's ``--json`` on the demo map,
``/openapi.json`` and a set of ``/api/v1`` bodies.

``python -m tests.contract.snapshot --write`` records them into ``recorded.json`` beside this
file; ``tests/contract/test_unchanged.py`` recomputes them and asserts they are byte-identical,
so a refactoring that changes what a script or a client reads fails the suite. Timings
(``seconds``, ``solver_seconds``) are left out and the temporary folder's name is replaced by
``<tmp>``: they differ run to run by nature.

Everything runs in-process (typer's CliRunner, FastAPI's TestClient) on a copy of
``data/demo.gpkg`` in a temporary folder, with fixed dates.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RECORDED = HERE / "recorded.json"
DEMO = REPO / "data" / "demo.gpkg"
DATE = "2026-09-30"
TOKEN = "contract-token"
VOLATILE = {"seconds", "solver_seconds"}

# A route of DESIGN-issue fame: along the demo's main east-west street.
ROUTE = {"type": "LineString", "coordinates": [[119.1952, 34.5999], [119.1975, 34.5999]]}
SITES = [
    ("119.1950,34.6000", "100", "lv_non_residential"),
    ("119.1950,34.6000", "8", "lv_residential"),
    ("119.2010,34.6030", "60", "lv_small_micro"),
    ("119.1950,34.6000", "800", "hv_single"),
    ("119.1990,34.6010", "2000", "hv_dual"),
    ("119.1950,34.6000", "3000", "hv_important"),
]


def _strip(value: Any, folder: str = "") -> Any:
    if isinstance(value, str) and folder:
        return value.replace(folder, "<tmp>")
    if isinstance(value, dict):
        return {k: _strip(v, folder) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v, folder) for v in value]
    return value


def _cli(folder: Path) -> dict[str, Any]:
    from typer.testing import CliRunner

    from onemap.cli import app

    runner = CliRunner()
    m = str(folder / "demo.gpkg")
    route = folder / "route.geojson"
    route.write_text(json.dumps(ROUTE), encoding="utf-8")
    commands: dict[str, list[str]] = {
        "info": ["info", m],
        "route": ["route", m, "--from", "119.1952,34.5999", "--to", "119.1975,34.5999"],
        "route_10kv": [
            "route",
            m,
            "--from",
            "119.1952,34.5999",
            "--to",
            "119.1975,34.6010",
            "--voltage",
            "10",
        ],
        "check_route": ["check-route", m, str(route), "--date", DATE],
        "check_route_10kv": ["check-route", m, str(route), "--voltage", "10", "--date", DATE],
        "readiness": ["readiness", m],
        "readiness_lv": ["readiness", m, "--kw", "50", "--category", "lv_non_residential"],
        "plan": ["plan", m, "--new-substations", "2"],
        "diagnose": ["diagnose", m],
    }
    for k, (at, kw, cat) in enumerate(SITES):
        commands[f"preview_{k}_{cat}"] = [
            "preview",
            m,
            "--at",
            at,
            "--kw",
            kw,
            "--category",
            cat,
            "--date",
            DATE,
        ]
    out: dict[str, Any] = {}
    for name, args in commands.items():
        res = runner.invoke(app, [*args, "--json"])
        body: Any
        try:
            body = _strip(json.loads(res.stdout), str(folder))
        except ValueError:
            body = res.stdout.replace(str(folder), "<tmp>")
        out[f"cli:{name}"] = {"exit": res.exit_code, "stdout": body}
    return out


def _http(folder: Path) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from web.app import create_app
    from web.settings import load_settings

    os.environ["ONEMAP_API_TOKEN"] = TOKEN
    app = create_app(folder / "demo.gpkg", load_settings())
    client = TestClient(app)
    gets = {
        "openapi": "/openapi.json",
        "health": "/api/v1/health",
        "layers": "/api/v1/layers",
        "layer_roads": "/api/v1/layers/roads?limit=3",
        "layer_assets_bbox": "/api/v1/layers/assets?bbox=119.19,34.59,119.20,34.60&limit=5",
        "readiness_summary": "/api/v1/readiness/summary",
        "readiness_zones": "/api/v1/readiness/zones",
        "capacity": "/api/v1/capacity?format=geojson",
        "capacity_csv": "/api/v1/capacity?format=csv",
        "preview_en": "/api/v1/preview?lon=119.195&lat=34.6&kw=100&category=lv_non_residential"
        f"&date={DATE}&lang=en",
        "preview_zh": f"/api/v1/preview?lon=119.195&lat=34.6&kw=800&category=hv_single&date={DATE}",
        "preview_bad": "/api/v1/preview?lon=119.195&lat=34.6&kw=300&category=lv_residential",
    }
    out: dict[str, Any] = {}
    for name, url in gets.items():
        r = client.get(url)
        out[f"http:{name}"] = {"status": r.status_code, "body": _body(r)}
    posts = {
        "check_route": ("/api/v1/check-route", {"route": ROUTE, "voltage_kv": 0.4, "date": DATE}),
        "check_route_en": (
            "/api/v1/check-route?lang=en",
            # the date is fixed: without one the deadline counts from today (a recording made
            # before midnight would fail after it)
            {
                "route": {"type": "Feature", "geometry": ROUTE, "properties": {}},
                "voltage_kv": 10,
                "date": DATE,
            },
        ),
        "project": (
            "/api/v1/projects",
            {
                "project_id": "CONTRACT-1",
                "requested_kw": 120,
                "category": "lv_non_residential",
                "geometry": {"type": "Point", "coordinates": [119.1950, 34.6000]},
                "submitted": DATE,
            },
        ),
    }
    for name, (url, body) in posts.items():
        r = client.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        out[f"http:post_{name}"] = {"status": r.status_code, "body": _body(r)}
    return out


def _body(response: Any) -> Any:
    if "json" in response.headers.get("content-type", ""):
        return _strip(response.json())
    return response.text


def record() -> dict[str, Any]:
    """The contract outputs of this checkout, as one JSON-able dict."""
    with tempfile.TemporaryDirectory(prefix="onemap-contract-") as tmp:
        folder = Path(tmp)
        shutil.copy(DEMO, folder / "demo.gpkg")
        env = os.environ.get("ONEMAP_GRAPH_CACHE")
        os.environ["ONEMAP_GRAPH_CACHE"] = "0"  # the graph itself is under test, not its cache
        try:
            return {**_cli(folder), **_http(folder)}
        finally:
            if env is None:
                os.environ.pop("ONEMAP_GRAPH_CACHE", None)
            else:
                os.environ["ONEMAP_GRAPH_CACHE"] = env


def dumps(snapshot: dict[str, Any]) -> str:
    """The recorded file's text: sorted keys, so a diff names the output that changed."""
    return json.dumps(snapshot, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record into recorded.json")
    args = parser.parse_args()
    text = dumps(record())
    if args.write:
        RECORDED.write_text(text, encoding="utf-8")
        print(f"recorded {RECORDED}")
    else:
        same = RECORDED.exists() and RECORDED.read_text(encoding="utf-8") == text
        print("unchanged" if same else "CHANGED")
        raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
