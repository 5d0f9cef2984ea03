"""Connection groups and request checks (DESIGN §4, item 8).

Categories that share connection points and search passes form a group: ``lv`` (0.4 kV),
``hv`` (10/20 kV), ``dual`` (10/20 kV from two independent sources) and ``ehv`` (≥ 35 kV,
connected at substations). A request is checked once, here, for every entry point.
"""

from __future__ import annotations

import numpy as np

from onemap.errors import OnemapInputError
from onemap.geo.mapfile import OneMap
from onemap.messages import msg
from onemap.rules import Rules

__all__ = [
    "INITIAL_SLICES",
    "capacity_bands",
    "check_request",
    "connection_group",
    "require_grid",
]


# Quantile slices of the first round of bulk passes per group (tuning, not policy): an LV pass is
# short (radius ≤ 500 m), so many slices are cheap and spare refinement; a 10 kV pass reaches
# kilometres and costs about a whole-graph search, so few slices and cut-off refinement win
# (measured on the 1.2M-node synthetic city: LV 32 / HV 4 beats 8–64 / 0–2).
INITIAL_SLICES = {"lv": 32, "hv": 4, "dual": 4, "ehv": 4}


def connection_group(rules: Rules, category: str) -> str:
    """``lv``, ``hv``, ``dual`` or ``ehv``: categories sharing connection points and passes."""
    cat = rules.category(category)
    if cat.voltage_kv <= rules.connection.lv_voltage_kv:
        return "lv"
    if cat.voltage_kv > rules.approval.max_voltage_kv:
        return "ehv"
    return "dual" if cat.sources > 1 else "hv"


def check_request(rules: Rules, kw: float | None, category: str) -> None:
    """Refuse a request that cannot be planned: unknown category, kW ≤ 0, LV above the LV limit
    (item 8) or above the category's credible maximum."""
    cat = rules.category(category)
    if kw is None or not np.isfinite(kw) or kw <= 0:
        raise OnemapInputError(msg("connection.kw_not_positive", kw=kw), field="kw")
    conn = rules.connection
    if connection_group(rules, category) == "lv" and kw > conn.lv_max_kw:
        raise OnemapInputError(
            msg("connection.kw_above_lv", kw=kw, limit=conn.lv_max_kw, item=conn.lv_max_kw_item),
            field="kw",
        )
    if cat.max_kw is not None and kw > cat.max_kw:
        raise OnemapInputError(
            msg("connection.kw_not_credible", kw=kw, category=category, max_kw=cat.max_kw),
            field="kw",
        )


def require_grid(onemap: OneMap, group: str) -> None:
    """Refuse a map without anything a group can connect to (assets; ≥ 35 kV: substations)."""
    if group == "ehv":
        if not len(onemap["substations"]):
            raise OnemapInputError(msg("connection.no_substations"), layer="substations")
    elif not len(onemap["assets"]):
        raise OnemapInputError(
            msg("connection.no_assets"),
            layer="assets",
        )


def capacity_bands(rules: Rules, group: str) -> list[float]:
    """The headroom bands (kW) of a group's first round of bulk passes (rule table)."""
    conn = rules.connection
    return {
        "lv": conn.lv_capacity_bands_kw,
        "hv": conn.hv_capacity_bands_kw,
        "dual": conn.hv_capacity_bands_kw,
        "ehv": conn.ehv_capacity_bands_kw,
    }[group]
