"""Readiness classes A–D from route distances (DESIGN §4), shared by the bulk pass and the preview.

* **A** — a feasible point within ``door_m`` of the door (route length from the parcel's door);
* **B** — a feasible point reached by a filing-eligible route (item 2) within the supply radius;
* **C** — a feasible point within the supply radius, only by a route that needs permits;
* **D** — no feasible point within the supply radius of the area's supply class: a grid gap.
"""

from __future__ import annotations

import numpy as np

from onemap.rules import Rules

__all__ = [
    "classify",
]


def classify(
    rules: Rules, voltage_kv: float, radius: np.ndarray, d_full: np.ndarray, d_filing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class per target, and masks of a filing route / a route within radius.

    Parameters
    ----------
    rules
        The rule table (``door_m``, the filing tiers).
    voltage_kv
        The connection voltage (selects the filing tiers).
    radius
        Supply radius (m) per target.
    d_full, d_filing
        Route length (m) per target to its nearest feasible point on the full graph and on
        the filing-eligible subgraph (inf: none).

    Returns
    -------
    (classes, filing_ok, within)
        Object array of ``"A"``…``"D"``; whether a filing route qualifies; whether any route
        lies within the radius.
    """
    within = np.isfinite(d_full) & (d_full <= radius)
    filing_ok = (
        np.isfinite(d_filing) & (d_filing <= radius) & rules.filing.admits(d_filing, voltage_kv)
    )
    door = within & (d_full <= rules.connection.door_m)
    cls = np.select([door, filing_ok, within], ["A", "B", "C"], default="D").astype(object)
    return cls, filing_ok, within
