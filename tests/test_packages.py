"""The house (issue 11): every subpackage imports, no exported name is a module, no import cycle,
no module over 600 lines, and ``onemap.readiness(m)`` / ``onemap.preview(...)`` keep working after
every submodule has been imported."""

from __future__ import annotations

import importlib
import pkgutil
import types
from pathlib import Path

import grimp
import pytest

import onemap
import web

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def _all_modules() -> list[str]:
    names = []
    for pkg in (onemap, web):
        names.append(pkg.__name__)
        # The package's own folder only (tests/web is on sys.path as well, under pytest).
        folder = [str(REPO / pkg.__name__)]
        for info in pkgutil.walk_packages(folder, prefix=f"{pkg.__name__}."):
            if not info.name.endswith(".__main__"):  # runs the CLI when imported
                names.append(info.name)
    return names


MODULES = _all_modules()


def test_every_module_imports():
    for name in MODULES:
        importlib.import_module(name)
    assert {"onemap.connection.bulk", "onemap.routing.network", "onemap.store"} <= set(MODULES)


def test_no_exported_name_resolves_to_a_module():
    for name in MODULES:  # import all first: a submodule import sets its parent's attribute
        importlib.import_module(name)
    offenders = []
    for name in MODULES:
        mod = importlib.import_module(name)
        if not hasattr(mod, "__path__"):
            continue  # only packages have submodules that could shadow an export
        exported = set(getattr(mod, "__all__", ())) | set(getattr(mod, "_EXPORTS", {}))
        for attr in exported:
            if isinstance(getattr(mod, attr), types.ModuleType):
                offenders.append(f"{name}.{attr}")
    assert not offenders, offenders


def test_readiness_and_preview_after_every_import(demo_map):
    for name in MODULES:
        importlib.import_module(name)
    result = onemap.readiness(demo_map)
    assert sum(result.counts.values()) == len(demo_map["landuse"])
    site = onemap.preview(demo_map, 119.195, 34.6, 100, "lv_non_residential")
    assert isinstance(site, onemap.Preview)
    assert site.connection_point is None or isinstance(
        site.connection_point, onemap.ConnectionPoint
    )


def test_no_import_cycle():
    """No module reaches itself through imports, function-level imports included."""
    graph = grimp.build_graph("onemap", "web")
    cycles = set()
    for importer in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported == importer:
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.add(" -> ".join((importer, *back)))
    assert not cycles, sorted(cycles)[:10]


@pytest.mark.parametrize("package", ["onemap", "web"])
def test_no_module_over_600_lines(package):
    long = {
        str(p.relative_to(REPO)): n
        for p in (REPO / package).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long
