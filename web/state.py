"""What every request reads: the served map, its layer indexes, the settings, derived results.

:class:`AppState` is created once by :func:`web.app.create_app` and stored on ``app.state``;
endpoints and pages get it with the :data:`State` dependency (:func:`get_state`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as _dist_version
from typing import Annotated, Any, TypeVar

import anyio
import pandas as pd
from fastapi import Depends, Request

from onemap.connection.results import ReadinessResult
from onemap.geo.mapfile import OneMap
from onemap.geo.schema import LAYER_NAMES, LAYERS
from web import services
from web.projects import merge_projects, neutral
from web.settings import WebSettings
from web.spatial import LayerIndex

# From the installed distribution: robust however the `onemap` package is found.
ONEMAP_VERSION = _dist_version("onemap")
# Threads of one process that run previews at once (tuning, not policy): a preview is ~all
# Python and numpy under the GIL, so a second thread only overlaps its few GIL-free moments,
# and sixteen interleave every request and stretch the slowest ones (p95) several times.
PREVIEW_THREADS = 2

T = TypeVar("T")
LOG = logging.getLogger("onemap.web")


@dataclass(frozen=True)
class Readiness:
    """A readiness result with bbox indexes of its zones, hexagons and parcels (lon/lat)."""

    result: ReadinessResult
    indexes: dict[str, LayerIndex]
    districts: pd.DataFrame


class AppState:
    """What every request reads: the map, its layer indexes and the settings.

    ``onemap`` and ``indexes`` are replaced (never mutated) when pushed projects are merged,
    under ``write_lock``, so a reader always sees one consistent map.

    Pushed projects are learnt of on every request (one cheap store query) but merged into
    the served map only when a request reads it (:attr:`onemap`, :attr:`indexes`): a burst of
    pushes costs one merge at the next read, not one per push in every worker. The writes
    themselves work on :attr:`base_map` (:meth:`write_map`, in their worker thread: no store
    query on the event loop), which the projects waiting to be merged leave
    unchanged in everything a write reads (they load no element and lie inside the map's
    extent, :func:`web.projects.neutral`; a record that does not is merged at once).
    """

    def __init__(
        self,
        onemap: OneMap,
        settings: WebSettings,
        indexes: dict[str, LayerIndex],
        store: Any = None,
    ) -> None:
        self._onemap = onemap
        self.settings = settings
        self._indexes = indexes
        self.write_lock = threading.Lock()
        # CPU-bound library calls hold the GIL: more threads than this only queue in a worse
        # order (see PREVIEW_THREADS); requests beyond it wait their turn first come, first
        # served.
        self.preview_limiter = anyio.CapacityLimiter(PREVIEW_THREADS)
        self._derived: dict[str, tuple[tuple[int, ...], Any]] = {}
        self._derive_lock = threading.Lock()
        # The store of what users write (onemap.store.Store; None for a map not in a file):
        # pushed projects are merged into the served map's ``projects`` layer, filings live
        # there.
        self.store = store
        self._map_file = onemap  # the map as read from its file
        self._store_revision = 0  # highest store project id read (merged or pending)
        self._pending: list = []  # store records read, not merged yet (all neutral)
        self._map_hash: str | None = None
        self._file_ids = _project_ids(onemap)
        self._served_ids = set(self._file_ids)  # project ids in the merged map

    @property
    def onemap(self) -> OneMap:
        """The served map, with every project pushed so far that this process has read."""
        if self._pending:
            self._try_materialise()
        return self._onemap

    @property
    def indexes(self) -> dict[str, LayerIndex]:
        """One :class:`~web.spatial.LayerIndex` per layer of :attr:`onemap`."""
        if self._pending:
            self._try_materialise()
        return self._indexes

    @property
    def base_map(self) -> OneMap:
        """The served map as a write reads it: :attr:`onemap` without the pushed projects not
        merged yet — equal to it in every layer but ``projects`` and in everything derived
        from the map as a whole (bounds, headroom, connection points, networks, readiness),
        so a write's checks, preview and verdict are those on :attr:`onemap`."""
        return self._onemap

    def write_map(self) -> OneMap:
        """:attr:`base_map` once the projects pushed since the last request are read (one cheap
        store query; a few rows when it moved): the map a write (a push, a filing) works on.

        Called by the write itself, in its worker thread, so the event loop runs no store
        query for it (with PostgreSQL each is a network round trip) and the merge a row that
        changes the map needs (:meth:`sync_store`) does not hold the loop up either.

        Returns
        -------
        OneMap
            The served map as a write reads it.
        """
        self.sync_store(merge=False)
        return self.base_map

    @property
    def map_file_project_ids(self) -> frozenset[str]:
        """Project ids stored in the map file itself (a push may not reuse them)."""
        return self._file_ids

    @property
    def pending(self) -> bool:
        """Whether projects read from the store wait to be merged into :attr:`onemap`."""
        return bool(self._pending)

    def map_hash(self) -> str:
        """Content hash of the map file's layers (what a filing's verdict was made on)."""
        if self._map_hash is None:
            self._map_hash = self._map_file.content_hash()
        return self._map_hash

    def sync_store(self, *, merge: bool = True) -> None:
        """Read projects pushed to the store (by any worker) and merge them into the served map.

        One cheap query (the store's highest project id) per call; when it moved, only the rows
        newer than those read are fetched. With ``merge`` they are appended to the map
        (:func:`web.projects.merge_projects`) and the map and its ``projects`` index replaced
        under ``write_lock``; pushed projects load no grid element, so the derived tables
        (forecast, headroom, connection points, networks, readiness) carry over unchanged.
        Without ``merge`` (a write: it reads :attr:`base_map`) they wait for the next read,
        unless one would change what the map derives (:func:`web.projects.neutral`): then
        every waiting row is merged now. A store that cannot be read leaves the served map as
        it is (logged).
        """
        if self.store is None:
            return
        try:
            revision = self.store.revision()
            if revision != self._store_revision:
                with self.write_lock:
                    if revision < self._store_revision:  # the store was replaced: start over
                        self._onemap = self._map_file
                        self._store_revision = 0
                        self._pending = []
                        self._served_ids = set(self._file_ids)
                        self._indexes = {
                            **self._indexes,
                            **build_indexes(self._onemap, ("projects",)),
                        }
                    records = self.store.all_projects(after=self._store_revision, proposals=False)
                    if records:
                        self._store_revision = max(r.id for r in records)
                        self._pending.extend(records)  # under write_lock, as every change
                        if not merge and not neutral(self._onemap, records):
                            merge = True
            if merge and self._pending:
                self._materialise()
        except Exception:  # a read of the map must not fail because the store is away
            LOG.warning("could not merge pushed projects from the store", exc_info=True)

    def store_moved(self) -> bool:
        """Whether :meth:`sync_store` has something to read: the store holds projects this
        process has not read yet (one cheap query), or could not be read (it logs that).
        False without a store."""
        if self.store is None:
            return False
        try:
            return self.store.revision() != self._store_revision
        except Exception:  # sync_store logs it
            return True

    def _try_materialise(self) -> None:
        try:
            self._materialise()
        except Exception:  # a read of the map must not fail because a stored row is odd
            LOG.warning("could not merge pushed projects from the store", exc_info=True)

    def _materialise(self) -> None:
        """Merge the waiting projects into the served map (one merge for all of them)."""
        with self.write_lock:
            if not self._pending:
                return
            merged = merge_projects(
                self._onemap, self._pending, self._served_ids, self._indexes.get("projects")
            )
            if merged is not None:
                self._onemap = merged.onemap
                self._indexes = {**self._indexes, "projects": merged.index}
                self._served_ids.update(merged.added)
            self._pending = []

    def derived(self, key: str, build: Callable[[OneMap], T]) -> T:
        """``build(onemap)`` computed once per content of the served map (its
        :meth:`~onemap.geo.mapfile.OneMap.tokens`: a pushed project, which loads no grid
        element, keeps the value; a replaced map or layer recomputes it).

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
        tokens = m.tokens()  # follows the map as a whole: a pushed project keeps the values
        with self._derive_lock:
            hit = self._derived.get(key)
            if hit is None or hit[0] != tokens:
                hit = (tokens, build(m))
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


def _project_ids(m: OneMap) -> frozenset[str]:
    projects = m["projects"]
    return frozenset(projects["project_id"].astype(str)) if len(projects) else frozenset()


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
    worker thread first. Projects pushed to the store since the last request (by this or another
    worker) are merged into the served map first (:meth:`AppState.sync_store`, in a worker
    thread, so the event loop is not held up by the merge).

    Parameters
    ----------
    request
        The request.

    Returns
    -------
    AppState
        The app's state.
    """
    state: AppState = request.app.state.onemap
    if state.store_moved() or state.pending:  # merged in a worker thread: the loop keeps serving
        await anyio.to_thread.run_sync(state.sync_store)
    return state


async def get_write_state(request: Request) -> AppState:
    """The app state for a write (a push, a filing): it reads :meth:`AppState.write_map`.

    Nothing is read from the store here, on the event loop: the write calls
    :meth:`AppState.write_map` in its worker thread, which reads the projects pushed since the
    last request (a few rows) but does not merge them: a burst of writes would otherwise merge
    after every one of them in every worker, and nothing a write reads depends on them
    (:func:`web.projects.neutral`; a row that would change the map is merged at once). The
    next read merges them all at once.

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
WriteState = Annotated[AppState, Depends(get_write_state)]
