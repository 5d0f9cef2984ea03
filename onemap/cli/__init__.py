"""The ``onemap`` command line (DESIGN §8).

One Typer app; each area registers its sub-commands from its own module so that the CLI layer
stays thin: parse arguments, call a library function, print a report or one JSON object.
Exit codes: 0 success, 2 bad input (message on stderr naming file, layer, row or field),
1 internal error.
"""

from __future__ import annotations

import importlib

from onemap.cli._app import app, main

# Sub-command modules; each registers its commands on `app` when imported.
_COMMAND_MODULES = (
    "onemap.cli.build",
    "onemap.cli.demo",
    "onemap.cli.routing",
    "onemap.cli.readiness",
    "onemap.cli.importers",
    "onemap.cli.planning",
    "onemap.cli.serve",
    "onemap.cli.users",
    "onemap.cli.batch",
)

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # an area not built yet
        if _exc.name != _name:
            raise

__all__ = ["app", "main"]
