"""Which rule table applies: the one way every ``rules=None`` is resolved.

A map names the table it was built with in its meta (``meta["rules"]``); a function given
``rules=None`` applies that table, else the default (:data:`DEFAULT_RULES`). Passing a table
id or path loads it; passing a :class:`Rules` uses it as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onemap.rules.model import DEFAULT_RULES, Rules, load_rules

__all__ = ["resolve_rules"]


def resolve_rules(onemap: Any = None, rules: Rules | str | Path | None = None) -> Rules:
    """The rule table to apply.

    Parameters
    ----------
    onemap
        A :class:`~onemap.geo.mapfile.OneMap` (anything with a ``meta`` mapping), or None.
    rules
        A table, a shipped table's id, a path to a TOML table, or None for the map's own.

    Returns
    -------
    Rules
        ``rules`` itself if it is a table; else the table it names; else the map's own
        (``meta["rules"]``); else the default table.
    """
    if isinstance(rules, Rules):
        return rules
    if rules is None:
        rules = (getattr(onemap, "meta", None) or {}).get("rules") or DEFAULT_RULES
    return load_rules(rules)
