"""The web package's shape: no import cycle among its modules, every page and endpoint present."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def _modules() -> dict[str, Path]:
    out = {}
    for path in WEB.rglob("*.py"):
        parts = path.relative_to(WEB.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module → web modules it imports, at module level or inside functions."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                subs = [s for s in subs if s in mods]
                targets = subs if len(subs) == len(node.names) else [node.module, *subs]
            else:
                continue
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def test_web_modules_import_no_cycle():
    graph = _imports(_modules())
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []
    assert "web.state" not in {t for m in ("web.services",) for t in graph[m]}


def test_every_page_and_endpoint_is_registered(client):
    for page in ("/", "/readiness", "/preview", "/check", "/capacity", "/planning", "/filings"):
        assert client.get(page).status_code == 200, page
    api = {"/preview", "/check-route", "/check-route/file", "/readiness/summary"}
    api |= {"/readiness/zones", "/capacity", "/health", "/layers", "/layers/{name}", "/projects"}
    api |= {"/filings", "/filings.csv", "/filings/{filing_id}", "/filings/{filing_id}/events"}
    api |= {"/filings/{filing_id}/history", "/filings/{filing_id}/decision.pdf"}
    api |= {"/search", "/corridors"}  # issue 16 items 4, 5
    api |= {"/readiness/parcels/{parcel_id}", "/plan/layers/{name}"}  # issue 16 item 8
    assert set(client.get("/openapi.json").json()["paths"]) == {f"/api/v1{p}" for p in api}
