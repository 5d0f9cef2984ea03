"""Rule tables: the policy numbers as versioned data (TOML), validated into typed models.

* :mod:`onemap.rules.model` — the typed table (:class:`Rules`, :class:`Filing`, :class:`Tier`…)
  and :func:`load_rules`; the shared look-ups (tier match, trench width, supply radius);
* :mod:`onemap.rules.resolve` — :func:`resolve_rules`, the one way ``rules=None`` is resolved
  (the map's own table, else the default);
* ``*.toml`` — the tables, every number with its policy item or marked "assumed".
"""

from __future__ import annotations

from onemap.rules.model import (
    DEFAULT_RULES,
    RULES_DIR,
    Approval,
    CapacityMap,
    Category,
    Connection,
    Filing,
    Meta,
    Procedure,
    Rules,
    Tier,
    load_rules,
    shipped_rules,
)
from onemap.rules.resolve import resolve_rules

__all__ = [
    "DEFAULT_RULES",
    "RULES_DIR",
    "Approval",
    "CapacityMap",
    "Category",
    "Connection",
    "Filing",
    "Meta",
    "Procedure",
    "Rules",
    "Tier",
    "load_rules",
    "resolve_rules",
    "shipped_rules",
]
