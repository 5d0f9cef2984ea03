"""What every request reads: the served map, its layer indexes, the settings, derived results.

:class:`AppState` is created once by :func:`web.app.create_app` and stored on ``app.state``;
endpoints and pages get it with the :data:`State` dependency (:func:`get_state`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version as _dist_version
from typing import Annotated, Any, TypeVar

import anyio
import pandas as pd
from fastapi import Depends, Request

from onemap.connection.results import ReadinessResult
from onemap.geo.mapfile import OneMap
from onemap.geo.schema import LAYER_NAMES, LAYERS
from web import services
from web.settings import WebSettings
from web.spatial import LayerIndex

# From the installed distribution: robust however the `onemap` package is found.
ONEMAP_VERSION = _dist_version("onemap")
# Threads of one process that run previews at once (tuning, not policy): a preview is ~all
# Python and numpy under the GIL, so a second thread only overlaps its few GIL-free moments,
# and sixteen interleave every request and stretch the slowest ones (p95) several times.
PREVIEW_THREADS = 2

T = TypeVar("T")


@dataclass(frozen=True)
class Readiness:
    """A readiness result with bbox indexes of its zones, hexagons and parcels (lon/lat)."""

    result: ReadinessResult
    indexes: dict[str, LayerIndex]
    districts: pd.DataFrame


@dataclass
class AppState:
    """What every request reads: the map, its layer indexes and the settings.

    ``onemap`` and ``indexes`` are replaced (never mutated) when a project is stored, under
    ``write_lock``, so a reader always sees one consistent map.
    """

    onemap: OneMap
    settings: WebSettings
    indexes: dict[str, LayerIndex]
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    # CPU-bound library calls hold the GIL: more threads than this only queue in a worse order
    # (see PREVIEW_THREADS); requests beyond it wait their turn first come, first served.
    preview_limiter: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(PREVIEW_THREADS)
    )
    _derived: dict[str, tuple[OneMap, Any]] = field(default_factory=dict, repr=False)
    _derive_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def derived(self, key: str, build: Callable[[OneMap], T]) -> T:
        """``build(onemap)`` computed once per served map (recomputed after a project push).

        Parameters
        ----------
        key
            What is computed (``"capacity"``, ``"plan:3"``…).
        build
            Computes it from the served map; one computation runs at a time (they can take
            seconds), so concurrent requests wait for the first instead of repeating it.

        Returns
        -------
        The value for the map served now.
        """
        m = self.onemap
        with self._derive_lock:
            hit = self._derived.get(key)
            if hit is None or hit[0] is not m:
                hit = (m, build(m))
                self._derived[key] = hit
        return hit[1]

    def capacity_index(self) -> LayerIndex:
        """The public capacity layer (item 11) with its bbox index.

        Returns
        -------
        LayerIndex
            The capacity layer keyed by ``asset_id``.
        """

        def build(m: OneMap) -> LayerIndex:
            layer = services.capacity_layer(m)
            return LayerIndex.build("capacity", layer, layer.to_crs(m.crs_metric), "asset_id")

        return self.derived("capacity", build)

    def readiness(self) -> Readiness:
        """Readiness of every parcel for its own load and category, its views and indexes.

        Returns
        -------
        Readiness
            The result, an index per view (zones, hexagons, parcels) and district statistics.
        """

        def build(m: OneMap) -> Readiness:
            result = services.readiness_result(m)
            views, districts = services.readiness_views(result)
            indexes = {
                kind: LayerIndex.build(
                    kind, gdf.to_crs("EPSG:4326"), gdf, services.READINESS_KINDS[kind]
                )
                for kind, gdf in views.items()
            }
            return Readiness(result=result, indexes=indexes, districts=districts)

        return self.derived("readiness", build)


def build_indexes(m: OneMap, names: tuple[str, ...] = LAYER_NAMES) -> dict[str, LayerIndex]:
    """One :class:`LayerIndex` per layer of ``m``.

    Parameters
    ----------
    m
        The map.
    names
        The layers to index (default: all).

    Returns
    -------
    dict
        Layer name → its index.
    """
    return {
        name: LayerIndex.build(name, m[name], m.metric(name), LAYERS[name].id_column)
        for name in names
    }


def state_of(request: Request) -> AppState:
    """The app state of a request.

    Parameters
    ----------
    request
        A request to an app of :func:`web.app.create_app`.

    Returns
    -------
    AppState
        The app's state.
    """
    return request.app.state.onemap


async def get_state(request: Request) -> AppState:
    """The app state as a dependency.

    Async, so FastAPI resolves it on the event loop instead of sending every request through a
    worker thread first.

    Parameters
    ----------
    request
        The request.

    Returns
    -------
    AppState
        The app's state.
    """
    return request.app.state.onemap


State = Annotated[AppState, Depends(get_state)]
