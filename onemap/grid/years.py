"""Headroom over the years (issue 17 item 5): the map as it will stand in a given year.

Two optional columns of the layer schemas carry the years (:data:`onemap.geo.schema.YEAR_LAYERS`;
the validator refuses a value that is not a whole year within
:data:`~onemap.geo.schema.YEAR_RANGE`, naming layer, row and field):

- ``in_service`` on ``substations``, ``feeders``, ``assets`` and ``lines``: the year the element
  enters service. In year Y an element with ``in_service`` ≤ Y is in service (a ``planned`` one
  counts as ``existing``); one with ``in_service`` > Y is not there yet. Elements without a year
  keep their status (planned ones stay out of the connection points, as today). ``lines`` use
  ``in_service`` 0/1 as an in-service flag (pandapower import): only values ≥ 1000 are years.
- ``expected_year`` on ``projects``: the year the project takes its load. In year Y a project
  with ``expected_year`` ≤ Y loads the element it names (``asset_id``) even when only
  ``pushed``; accepted projects without a year load it always (as today); projects expected
  after Y do not (yet) — an accepted one still keeps its promise.

:func:`as_of` returns a new :class:`OneMap` (cached on the original per year), so every
cache (graph, headroom, connection points) answers for that year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from onemap.geo.mapfile import OneMap
from onemap.geo.schema import EXPECTED_YEAR, IN_SERVICE, YEAR_LAYERS

__all__ = ["ELEMENT_LAYERS", "YEAR_MIN", "as_of"]

YEAR_MIN = 1000  # smaller in_service values are flags (0/1, lines), not years
# The layers whose elements enter service in a year (lines: in_service is a year or a flag).
ELEMENT_LAYERS = (*(n for n, c in YEAR_LAYERS.items() if c == IN_SERVICE), "lines")


def _years(layer: pd.DataFrame, column: str) -> np.ndarray:
    if column not in layer:
        return np.full(len(layer), np.nan)
    y = pd.to_numeric(layer[column], errors="coerce").to_numpy(dtype=float)
    return np.where(y >= YEAR_MIN, y, np.nan)


def _elements(layer: pd.DataFrame, year: int) -> pd.DataFrame:
    y = _years(layer, IN_SERVICE)
    out = layer[~(y > year)].copy()
    built = ~np.isnan(y[~(y > year)])
    if "status" in out and built.any():
        status = out["status"].astype(object).to_numpy()
        out["status"] = np.where(built, "existing", status)
    return out


def _projects(layer: pd.DataFrame, year: int) -> pd.DataFrame:
    if not len(layer):
        return layer
    y = _years(layer, EXPECTED_YEAR)
    out = layer.copy()
    status = out["status"].fillna("pushed").astype(str).to_numpy() if "status" in out else None
    if status is None:
        return out
    due = y <= year
    # a project due by then takes its load (counted like an accepted one)
    out["status"] = np.where(due & (status == "pushed"), "accepted", status)
    return out


def as_of(onemap: OneMap, year: int) -> OneMap:
    """The map as it stands in ``year`` (cached per year on ``onemap``)."""
    year = int(year)

    def build() -> OneMap:
        layers = dict(onemap.layers)
        for name in ELEMENT_LAYERS:
            layers[name] = _elements(onemap[name], year)
        layers["projects"] = _projects(onemap["projects"], year)
        meta = {**onemap.meta, "year": year}
        return OneMap(layers=layers, crs_metric=onemap.crs_metric, meta=meta)

    return onemap.cached(f"grid:as_of:{year}", build)
