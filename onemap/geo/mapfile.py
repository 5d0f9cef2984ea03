"""The one map: all layers of a city in one GeoPackage, and the in-memory :class:`OneMap`.

Layers are stored in EPSG:4326 under the names of DESIGN §1, with a non-spatial table
``onemap_meta`` (key/value, JSON values) holding the metric CRS, source files, build time,
the rule table id and whether the map is synthetic. Writes are atomic: a new file is written
beside the target and moved over it, so a failed write never damages a stored map.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
import pyogrio

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS
from onemap.geo.schema import LAYER_NAMES, LAYERS
from onemap.messages import msg

META_TABLE = "onemap_meta"
# Layer tokens: a process-wide counter, so a token is never reused (unlike id() of a freed frame).
_LAYER_TOKENS = itertools.count(1)
T = TypeVar("T")


def empty_layer(name: str) -> gpd.GeoDataFrame:
    """An empty layer with the schema's columns, in the storage CRS."""
    cols = [c.name for c in LAYERS[name].columns]
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in cols}, geometry=[], crs=STORAGE_CRS
    )


@dataclass
class OneMap:
    """A loaded one map: layers in EPSG:4326 plus the metric CRS used for all measurement.

    ``map["roads"]`` gives a layer in storage CRS; ``map.metric("roads")`` the same rows projected
    (cached). Every schema layer is present, possibly empty.
    """

    layers: dict[str, gpd.GeoDataFrame]
    crs_metric: str
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    _metric: dict[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)
    # One token per layer object; caches key on tokens, so replace_layer() invalidates them.
    _tokens: dict[str, int] = field(default_factory=dict, repr=False)
    # The token of each layer as the map as a whole sees it (caches of ``layers=None`` key on
    # these): the layer's own token, except after a with_layer(..., derived_unchanged=True).
    _map_tokens: dict[str, int] = field(default_factory=dict, repr=False)
    # The one cache of things derived from the map (see cached()).
    _cache: dict[tuple, tuple[tuple[int, ...], Any]] = field(default_factory=dict, repr=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # One lock per cache entry being built: concurrent askers wait for the first build.
    _build_locks: dict[tuple, threading.RLock] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name in LAYER_NAMES:
            if name not in self.layers:  # not setdefault: an empty frame costs ~5 ms to make
                self.layers[name] = empty_layer(name)
        for name in self.layers:
            token = self._tokens.setdefault(name, next(_LAYER_TOKENS))
            self._map_tokens.setdefault(name, token)

    def tokens(self, names: tuple[str, ...] | None = None) -> tuple[int, ...]:
        """Tokens of the given layers, or of the map as a whole (``names`` None or empty).

        Caches key on these. A layer's token changes when :meth:`replace_layer` swaps it and is
        never reused: equal tokens mean the same layer objects. The tokens of the whole map
        follow every swap too, except one :meth:`with_layer` makes with ``derived_unchanged``
        (what is derived from the map as a whole stays valid). Edits made in place to a
        layer's frame are not noticed.
        """
        if not names:
            return tuple(self._map_tokens[n] for n in sorted(self.layers))
        return tuple(self._tokens[n] for n in names)

    def cached(
        self,
        name: str,
        build: Callable[[], T],
        *,
        layers: tuple[str, ...] | None = None,
        rules: Any = None,
    ) -> T:
        """``build()`` computed once per map content and rule table: the one cache of onemap.

        Parameters
        ----------
        name
            What is cached (``"graph"``, ``"points:lv_residential:False"``…).
        build
            Computes the value, once: a thread asking for a value another thread is building
            waits for it instead of building it too (builds of other values go on meanwhile).
        layers
            The layers the value is derived from (default: the map as a whole, keyed by
            :meth:`tokens`); a :meth:`replace_layer` of one of them gives it a new token and so
            a rebuild.
        rules
            The rule table the value depends on (keyed by its content digest), or None.

        Returns
        -------
        The cached or newly built value.
        """
        key = (name, getattr(rules, "digest", None))
        tokens = self.tokens(layers)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == tokens:
                return hit[1]
            building = self._build_locks.setdefault(key, threading.RLock())
        # Re-entrant: a build may ask for other values (never, without recursing, for its own).
        with building:
            with self._cache_lock:
                hit = self._cache.get(key)
            if hit is not None and hit[0] == tokens:  # built while this thread waited
                return hit[1]
            value = build()
            with self._cache_lock:
                self._cache[key] = (tokens, value)  # replaces what older layers gave
        return value

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        if name not in self.layers:
            raise KeyError(f"no layer '{name}'; layers: {', '.join(self.layers)}")
        return self.layers[name]

    def metric(self, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` projected to the map's metric CRS (computed once, then cached)."""
        if name not in self._metric:
            self._metric[name] = self[name].to_crs(self.crs_metric)
        return self._metric[name]

    def replace_layer(self, name: str, gdf: gpd.GeoDataFrame) -> None:
        """Swap a layer in memory and drop its cached projection."""
        self.layers[name] = gdf
        self._metric.pop(name, None)
        self._tokens[name] = self._map_tokens[name] = next(_LAYER_TOKENS)

    def with_layer(
        self,
        name: str,
        gdf: gpd.GeoDataFrame,
        *,
        metric: gpd.GeoDataFrame | None = None,
        derived_unchanged: bool = False,
    ) -> OneMap:
        """A new map equal to this one with layer ``name`` swapped for ``gdf`` (this one untouched).

        The new map shares the other layers, their projections and the cache: every value
        derived from layers other than ``name`` stays valid without a rebuild.

        Parameters
        ----------
        name
            The layer swapped.
        gdf
            Its new rows (EPSG:4326).
        metric
            ``gdf`` already projected to the metric CRS (row for row), or None to project it
            when first asked for.
        derived_unchanged
            The caller vouches that nothing derived from the map as a whole changes with the
            swap — e.g. projects appended that load no grid element and lie inside the map's
            extent (:meth:`covers`): caches of ``layers=None`` keep their values; those naming
            ``name`` in ``layers`` rebuild. False (the default): every cache that depends on the
            layer, named or as part of the whole map, rebuilds.

        Returns
        -------
        OneMap
            The new map.
        """
        token = next(_LAYER_TOKENS)
        projections = {k: v for k, v in self._metric.items() if k != name}
        if metric is not None:
            projections[name] = metric
        return OneMap(
            layers={**self.layers, name: gdf},
            crs_metric=self.crs_metric,
            meta=self.meta,
            path=self.path,
            _metric=projections,
            _tokens={**self._tokens, name: token},
            _map_tokens={**self._map_tokens, name: self._map_tokens[name]}
            if derived_unchanged
            else {**self._map_tokens, name: token},
            _cache=self._cache,  # keys carry the tokens: the two maps never mix their values
            _cache_lock=self._cache_lock,
            _build_locks=self._build_locks,
        )

    def covers(self, gdf: gpd.GeoDataFrame, metric: gpd.GeoDataFrame) -> bool:
        """Whether the map's extent already covers these rows, so adding them to a layer changes
        no extent: their lon/lat box lies inside :attr:`bounds` and their metric box inside the
        box around the metric boxes of the layers.

        Parameters
        ----------
        gdf
            Rows in EPSG:4326.
        metric
            The same rows in the map's metric CRS.

        Returns
        -------
        bool
            True when every extent of the map stays as it is (empty rows: True).
        """
        if not len(gdf):
            return True
        if not any(len(g) for g in self.layers.values()):
            return False  # an empty map has no extent to cover anything

        def metric_box() -> tuple[float, float, float, float]:
            boxes = pd.DataFrame([self.metric(n).total_bounds for n in self.layers if len(self[n])])
            return (boxes[0].min(), boxes[1].min(), boxes[2].max(), boxes[3].max())

        for (west, south, east, north), frame in (
            (self.bounds, gdf),
            (self.cached("metric_box", metric_box), metric),
        ):
            w, s, e, n = frame.total_bounds
            if not (west <= w and e <= east and south <= s and n <= north):
                return False
        return True

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Lon/lat bounds over all non-empty layers.

        Computed once per set of layer objects (every preview asks; on a city it costs ~7 ms):
        like the projections, it follows :meth:`replace_layer` (layer tokens), not in-place edits.
        """

        def build() -> tuple[float, float, float, float]:
            frames = [g for g in self.layers.values() if len(g)]
            b = pd.DataFrame([g.total_bounds for g in frames])
            return (b[0].min(), b[1].min(), b[2].max(), b[3].max())

        return self.cached("bounds", build)

    def counts(self) -> dict[str, int]:
        return {name: len(gdf) for name, gdf in self.layers.items()}

    def content_hash(self, names: tuple[str, ...] = LAYER_NAMES) -> str:
        """A hash of the map's layers (all, or ``names``), to key caches that follow content."""
        h = hashlib.sha256(self.crs_metric.encode())
        for name in names:
            gdf = self.layers[name]
            h.update(name.encode())
            h.update(pd.util.hash_pandas_object(gdf.drop(columns="geometry"), index=False).values)
            h.update(b"".join(gdf.geometry.to_wkb()))
        return h.hexdigest()


def read_map(path: str | Path) -> OneMap:
    """Read a one map written by :func:`write_map` (``onemap build``)."""
    path = Path(path)
    if not path.exists():
        raise OnemapInputError(msg("geo.map_file_not_found"), file=str(path))
    try:
        listed = {str(row[0]) for row in pyogrio.list_layers(path)}
    except Exception as exc:  # GDAL raises many types for a non-GeoPackage
        raise OnemapInputError(msg("geo.not_geopackage", exc=exc), file=str(path)) from exc
    if META_TABLE not in listed:
        raise OnemapInputError(
            msg("geo.not_onemap", table=META_TABLE),
            file=str(path),
        )
    meta_df = pyogrio.read_dataframe(path, layer=META_TABLE)
    meta = {k: json.loads(v) for k, v in zip(meta_df["key"], meta_df["value"], strict=True)}
    layers = {
        name: pyogrio.read_dataframe(path, layer=name) for name in LAYER_NAMES if name in listed
    }
    for name, gdf in layers.items():
        layers[name] = _restore_types(name, gdf)
    return OneMap(layers=layers, crs_metric=meta["crs_metric"], meta=meta, path=path)


def _restore_types(name: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    # GeoPackage keeps ids as TEXT but an all-null text column may come back as float.
    for col in LAYERS[name].columns:
        if col.name in gdf and col.kind == "str":
            gdf[col.name] = gdf[col.name].astype(object).where(gdf[col.name].notna(), None)
    return gdf


@contextlib.contextmanager
def atomic_gpkg(path: str | Path) -> Iterator[str]:
    """Yield a temporary GeoPackage path beside ``path``; move it over ``path`` on success.

    On any failure the temporary file is removed and ``path`` is left exactly as it was, so a
    failed write never damages a stored map (DESIGN §1: nothing already stored is lost). The
    temporary file is fsynced before the rename and the folder after it, so an acknowledged
    write survives a power cut; orphans of a killed writer are removed (:func:`remove_orphans`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(path)
    fd, tmp = tempfile.mkstemp(suffix=".gpkg", prefix=f".{path.stem}-", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # GDAL creates the file itself
    try:
        yield tmp
        _write_styles(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_styles(tmp: str) -> None:
    """QGIS styles (``layer_styles``) of the layers just written (issue 16 item 12)."""
    if os.path.exists(tmp):
        from onemap.geo.styles import write_styles

        write_styles(tmp)


#: A temporary map file untouched for this long belongs to no live writer (GDAL writes a map
#: in seconds and touches the file all along): a writer killed with ``kill -9`` left it.
ORPHAN_AGE_S = 300.0


def _fsync(path: str | Path) -> None:
    """Flush a file (or a folder's entries) to the disk; folders cannot be opened on Windows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(fd)


def orphan_pattern(path: str | Path) -> re.Pattern[str]:
    """File names of :func:`atomic_gpkg` temporaries of the map ``path`` (and SQLite side files):
    ``.<stem>-XXXXXXXX.gpkg`` with mkstemp's 8 random characters, so the temporaries of a map
    named ``<stem>-2`` never match."""
    return re.compile(
        rf"^\.{re.escape(Path(path).stem)}-[a-z0-9_]{{8}}\.gpkg(-journal|-wal|-shm)?$"
    )


def remove_orphans(path: str | Path, max_age_s: float = ORPHAN_AGE_S) -> list[Path]:
    """Remove the temporary files of map ``path`` older than ``max_age_s`` (see
    :data:`ORPHAN_AGE_S`); returns those removed. Called before each atomic write and when
    ``onemap serve`` starts."""
    path = Path(path)
    pattern = orphan_pattern(path)
    now = time.time()
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for f in path.parent.iterdir():
            if not pattern.match(f.name):
                continue
            with contextlib.suppress(FileNotFoundError):
                if now - f.stat().st_mtime >= max_age_s:
                    f.unlink()
                    removed.append(f)
    return removed


def write_map(onemap: OneMap, path: str | Path) -> Path:
    """Write ``onemap`` atomically to ``path`` (a GeoPackage). Returns the path."""
    path = Path(path)
    with atomic_gpkg(path) as tmp:
        write_map_layers(onemap, tmp)
    onemap.path = path
    return path


def write_map_layers(onemap: OneMap, target: str) -> None:
    """Write the map's layers and its meta table into ``target`` (no atomicity of its own)."""
    for name in LAYER_NAMES:
        gdf = onemap.layers[name]
        if len(gdf):
            pyogrio.write_dataframe(gdf.to_crs(STORAGE_CRS), target, layer=name, driver="GPKG")
    meta = {**onemap.meta, "crs_metric": onemap.crs_metric}
    table = pd.DataFrame(
        {"key": list(meta), "value": [json.dumps(v, ensure_ascii=False) for v in meta.values()]}
    )
    pyogrio.write_dataframe(table, target, layer=META_TABLE, driver="GPKG")
