"""Graph cache: the corridor graph, its CSR matrices (plain and chain-contracted) and corridor
model saved beside the map.

Building the corridor graph of a city takes minutes; loading it takes a fraction of a second.
The cache lives in a directory next to the map file, one file per map content::

    city.gpkg
    city.gpkg.onemap-cache/<content-hash>-<rules-hash>-<code-hash>/   (manifest.json, *.npy)

The key is :meth:`OneMap.content_hash` of the graph's layers (roads, ducts, landuse, assets: their
attributes and geometry), a digest of the rule table (the filing rules shape the graph) and a
digest of the routing code that builds it, so an edited map, another rule table or a changed
builder never reads a stale graph: the key differs and the graph is rebuilt and saved under it.
A few recent entries are kept per map; older ones are removed when a new one is saved.

An entry is a directory of plain ``.npy`` arrays read with ``allow_pickle=False`` — numeric
arrays as they are, geometries as one pool of WKB (each distinct geometry once, however many
arrays share it), strings factorised into codes and a UTF-8 pool — and a JSON manifest that says
how the graph's dataclasses, frames and CSR matrices are put back together. A cache copied along
with a map therefore cannot run code, and a corrupt or foreign entry is ignored (the graph is
rebuilt). Entries are written to a temporary directory and renamed into place, so a reader never
sees half an entry. A cold start writes its entry behind the first answers, in a thread of low
CPU priority (:func:`load_or_build`); :func:`flush` waits for it, and a process exits only once
it is written.

The caller names the layers the graph is built from (``layers=``), so this module knows nothing
of how the graph is made. Environment: ``ONEMAP_GRAPH_CACHE=0`` turns the disk cache off (the
in-memory cache, :meth:`OneMap.cached`, still applies).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from shapely import STRtree

from onemap.parallel import collector_paused, release_memory

FORMAT = 1
SUFFIX = ".onemap-cache"
KEEP = 3  # entries kept per map (e.g. the map before and after an edit, two rule tables)
ENV = "ONEMAP_GRAPH_CACHE"
# Every module whose code shapes the cached arrays: a change in any of them is a new key.
_CODE = (
    "onemap.routing.corridors",
    "onemap.routing.sections",
    "onemap.routing.overlaps",
    "onemap.routing.overlay",
    "onemap.routing.noding",
    "onemap.routing.graph",
    "onemap.routing.build",
    "onemap.routing.filing",
    "onemap.routing.verdict_segments",
    "onemap.routing.nearest",
    "onemap.routing.doors",
    "onemap.routing.contract",
    "onemap.routing.store",
    "onemap.rules.model",
    "onemap.geo.schema",
    "onemap.units",
)
# Private per-object caches of the graph that are rebuilt on demand rather than stored (the
# pair index is stored: the CSRs and every route's edge look-up read it, and it is a sort).
_TRANSIENT = ("_nx", "_trees", "_length", "_locks")
WRITER_NICE = 10  # nice value of the cache-writer thread (speed only)
_MANIFEST = "manifest.json"
_log = logging.getLogger(__name__)
_DEDUP_BYTES = 1 << 20
_SAFE_MODULES = "onemap."


class Uncacheable(TypeError):
    """The graph holds a value the cache format does not store (the graph is then not cached)."""


def enabled() -> bool:
    """Whether the disk cache is on (``ONEMAP_GRAPH_CACHE`` unset or not ``0``/``off``)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def cache_dir(map_path: str | Path) -> Path:
    """The cache directory of a map file: ``MAP.gpkg.onemap-cache`` beside it."""
    path = Path(map_path)
    return path.with_name(path.name + SUFFIX)


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    h = hashlib.sha256(str(FORMAT).encode())
    for name in _CODE:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"graph cache: module {name} not found")  # a renamed module
        h.update(name.encode())
        h.update(Path(spec.origin).read_bytes())
    return h.hexdigest()


def content_hash(onemap: Any, layers: tuple[str, ...]) -> str:
    """Hash of the layers the corridor graph is built from, computed once per set of layers.

    Only those layers count, so a pushed project or an edited feeder load keeps the cached
    graph. Like the in-memory caches, this follows :meth:`OneMap.replace_layer` (layer tokens);
    a layer edited in place is not noticed until the map is written and read again.
    """
    return onemap.cached(
        f"content_hash:{','.join(layers)}", lambda: onemap.content_hash(layers), layers=layers
    )


def cache_key(onemap: Any, rules: Any, layers: tuple[str, ...]) -> str:
    """File stem of the cache entry of this map content, rule table and routing code."""
    return f"{content_hash(onemap, layers)[:24]}-{rules.digest[:12]}-{_code_digest()[:12]}"


def cache_path(onemap: Any, rules: Any, layers: tuple[str, ...]) -> Path | None:
    """Where the graph of this map would be cached; None for a map without a file."""
    path = getattr(onemap, "path", None)
    if path is None or not enabled():
        return None
    return cache_dir(path) / cache_key(onemap, rules, layers)


# ---------------------------------------------------------------------------------------------
# load / save


def load_graph(onemap: Any, rules: Any, layers: tuple[str, ...]) -> Any | None:
    """The cached corridor graph of ``onemap`` under ``rules``, or None on a miss. A graph read
    once is kept in the map's cache (:meth:`OneMap.cached`): the model and graph read it once."""
    target = cache_path(onemap, rules, layers)
    if target is None:
        return None
    memo = onemap.cached("stored_graph", dict, layers=layers, rules=rules)
    if target.name in memo:
        return memo[target.name]
    if not target.exists():
        return None
    try:
        graph = read_graph(target, rules)
    except (OSError, ValueError, KeyError, TypeError, IndexError, Uncacheable):
        # A damaged or foreign entry is not an error for the user: rebuild and overwrite it.
        return None
    memo[target.name] = graph
    return graph


@collector_paused()  # it makes and reads geometries by the million (see collector_paused)
def save_graph(onemap: Any, rules: Any, layers: tuple[str, ...], graph: Any) -> Path | None:
    """Save ``graph`` beside the map (atomically); None when the map has no file or the
    directory is not writable. CSR matrices of the connection voltages are built first, so a
    bulk pass after a cached start needs none."""
    target = cache_path(onemap, rules, layers)
    if target is None:
        return None
    _prepare(graph, rules)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Only a miss leads here, so an entry already under this key could not be read: replace it.
        shutil.rmtree(target, ignore_errors=True)
        write_graph(graph, target)
    except (OSError, Uncacheable):
        # Caching is an optimisation: a read-only directory or an odd value only costs speed.
        return None
    finally:
        release_memory()  # the encoder's WKB and byte copies
    _prune(target.parent, keep=target.name)
    onemap.cached("stored_graph", dict, layers=layers, rules=rules)[target.name] = graph
    return target


def load_or_build(
    onemap: Any,
    rules: Any,
    layers: tuple[str, ...],
    build: Callable[[Any, Any], Any],
    *,
    behind: bool = True,
) -> Any:
    """The cached graph if there is one, else ``build(onemap, rules)``, saved to the cache.

    Parameters
    ----------
    onemap, rules, layers
        The map, its rule table and the layers the graph is built from (the cache key).
    build
        ``build(onemap, rules)`` makes the graph on a miss.
    behind
        Save in a background thread (the default): the graph is returned as soon as it is
        built, and the matrices and the file follow while the first answers are computed —
        a cold start's first route waited two seconds for a file only the next start reads
        (issue 18). A route or bulk pass that needs a matrix the writer is building waits
        for it rather than building it twice (``CorridorGraph._once``). The thread is not a
        daemon: a one-shot command exits once the file is written. :func:`flush` waits for
        it. False: save before returning.

    Returns
    -------
    CorridorGraph
        The graph (from the cache or just built).
    """
    graph = load_graph(onemap, rules, layers)
    if graph is None:
        graph = build(onemap, rules)
        if behind and cache_path(onemap, rules, layers) is not None:
            _write_behind(onemap, rules, layers, graph)
        else:
            save_graph(onemap, rules, layers, graph)
    return graph


_WRITERS: list[threading.Thread] = []


def _write_behind(onemap: Any, rules: Any, layers: tuple[str, ...], graph: Any) -> None:
    def run() -> None:
        _lower_priority()
        try:
            save_graph(onemap, rules, layers, graph)
        except Exception:  # caching is an optimisation: never an error for the user
            _log.warning("the corridor graph was not cached", exc_info=True)

    writer = threading.Thread(target=run, name="onemap-graph-cache", daemon=False)
    _WRITERS[:] = [w for w in _WRITERS if w.is_alive()] + [writer]
    writer.start()


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux gives each thread a nice value of its
    own): the cache writer then takes the cores the first answers leave idle instead of
    sharing them half and half. Where that is not possible it runs at normal priority."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)


def flush(timeout: float | None = None) -> bool:
    """Wait for the graphs being saved in the background; whether all are on disk now."""
    for writer in list(_WRITERS):
        writer.join(timeout)
    return not any(w.is_alive() for w in _WRITERS)


def load_model(onemap: Any, rules: Any, layers: tuple[str, ...]) -> tuple[Any, Any] | None:
    """``(model, overlay)`` of the cached graph, or None on a miss (the model is then built)."""
    graph = load_graph(onemap, rules, layers)
    return None if graph is None else (graph.model, graph.overlay)


def _prepare(graph: Any, rules: Any) -> None:
    voltages = {rules.connection.lv_voltage_kv, rules.connection.hv_voltage_kv}
    voltages.update(float(v) for v in rules.filing.voltages_kv)
    voltages = sorted(voltages)
    graph.csr_cost(voltages[0])  # what a single route searches first (one for every voltage)
    for v in voltages:  # filing-only routes; voltages of one trench width share a matrix
        graph.csr(v, True)
    graph.contracted(voltages[0], False)  # the whole graph: one matrix for every voltage
    release_memory()  # a contraction's temporaries are ~8x what it keeps
    # One after another: in the cache writer they run beside the first answers, and the
    # voltages that share a matrix share its contraction (built once).
    for v in voltages:
        graph.contracted(v, True)
        release_memory()


def _prune(directory: Path, keep: str) -> None:
    entries = [p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")]
    entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for path in [p for p in entries if p.name != keep][KEEP - 1 :]:
        shutil.rmtree(path, ignore_errors=True)


def write_graph(graph: Any, path: Path) -> None:
    """Write a graph to the entry directory ``path``, atomically (temporary dir, then rename)."""
    enc = _Encoder()
    manifest = {"format": FORMAT, "root": enc.encode(graph), "geometries": enc.pool_node()}
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
    try:
        for key, arr in enc.arrays.items():
            np.save(tmp / f"{key}.npy", arr, allow_pickle=False)
        (tmp / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        try:
            os.replace(tmp, path)
        except OSError:
            # Another process saved the same entry first (same key, same content): keep theirs.
            if not (path / _MANIFEST).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@collector_paused()  # a cached start makes every polygon of the model (see collector_paused)
def read_graph(path: Path, rules: Any) -> Any:
    """Read a graph written by :func:`write_graph`; ``rules`` is the rule table it is used with."""
    manifest = json.loads((path / _MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError("cache format differs")
    dec = _Decoder(path, rules)
    dec.load_pool(manifest["geometries"])
    return dec.decode(manifest["root"])


# ---------------------------------------------------------------------------------------------
# codec: dataclasses, frames, arrays and matrices to flat arrays plus a JSON manifest


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.pool: list[np.ndarray] = []  # geometry arrays in pool order
        self.pool_ids: dict[int, int] = {}  # id(geometry) -> pool index
        self.pool_size = 0
        self.digests: dict[tuple, str] = {}  # content of large arrays -> key

    def _put(self, arr: np.ndarray) -> str:
        arr = np.ascontiguousarray(arr)
        digest = None
        if arr.nbytes >= _DEDUP_BYTES:
            # The full-graph CSR is the same matrix at every voltage, and the filing CSRs of
            # voltages with the same trench width coincide: store equal arrays once.
            h = hashlib.blake2b(memoryview(arr).cast("B"), digest_size=16).hexdigest()
            digest = (arr.dtype.str, arr.shape, h)
            if digest in self.digests:
                return self.digests[digest]
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        if digest is not None:
            self.digests[digest] = key
        return key

    def encode(self, obj: Any) -> dict:
        if obj is None or isinstance(obj, bool | int | float | str):
            return {"t": "v", "v": obj}
        if isinstance(obj, np.generic):
            return {"t": "v", "v": obj.item()}
        if type(obj).__name__ == "Rules":
            return {"t": "rules"}
        if isinstance(obj, np.ndarray):
            return self._array(obj)
        if isinstance(obj, gpd.GeoDataFrame | pd.DataFrame):
            return self._frame(obj)
        if isinstance(obj, pd.Series):
            return {
                "t": "series",
                "name": obj.name,
                "values": self._array(obj.to_numpy()),
                "index": self._index(obj.index),
            }
        if sp.issparse(obj):
            csr = sp.csr_matrix(obj)
            return {
                "t": "csr",
                "shape": list(csr.shape),
                "data": self._put(csr.data),
                "indices": self._put(csr.indices),
                "indptr": self._put(csr.indptr),
            }
        if isinstance(obj, STRtree):
            # Rebuilt from its geometries on load (fast); they are pooled with the arrays that
            # hold the same geometry objects, so they are stored once.
            return {"t": "strtree", "of": self._array(np.asarray(obj.geometries, dtype=object))}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            cls = type(obj)
            if not cls.__module__.startswith(_SAFE_MODULES):
                raise Uncacheable(f"dataclass {cls.__qualname__} outside onemap")
            fields = {
                f.name: self.encode(getattr(obj, f.name))
                for f in dataclasses.fields(obj)
                if f.name not in _TRANSIENT
            }
            return {"t": "dc", "cls": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
        if isinstance(obj, dict):
            # a snapshot: the graph's caches may gain a matrix meanwhile (a route on the
            # main thread while this encodes in the cache writer)
            items = [[self.encode(k), self.encode(v)] for k, v in list(obj.items())]
            return {"t": "dict", "items": items}
        if isinstance(obj, list | tuple):
            return {"t": type(obj).__name__, "items": [self.encode(v) for v in obj]}
        raise Uncacheable(f"cannot cache a {type(obj).__name__}")

    def _array(self, arr: np.ndarray) -> dict:
        if arr.dtype != object:
            return {"t": "a", "k": self._put(arr)}
        flat = arr.reshape(-1)
        present = ~pd.isna(flat) if len(flat) else np.zeros(0, bool)
        values = flat[present]
        if len(values) and shapely.is_geometry(values).all():
            return {"t": "geom", "shape": list(arr.shape), "k": self._put(self._pooled(flat))}
        if all(isinstance(v, str) for v in values):
            codes, uniques = pd.factorize(flat, use_na_sentinel=True)
            return {
                "t": "str",
                "shape": list(arr.shape),
                "codes": self._put(codes.astype(np.int32)),
                **self._texts(list(uniques)),
            }
        if all(isinstance(v, bool | int | float | np.number) for v in values):
            out = np.full(len(flat), np.nan)
            out[present] = np.asarray(values.tolist(), dtype=float)
            return {"t": "num", "shape": list(arr.shape), "k": self._put(out)}
        raise Uncacheable("object array of mixed values")

    def _pooled(self, flat: np.ndarray) -> np.ndarray:
        """Pool indices of the geometries of ``flat`` (-1 for None), adding new ones."""
        index = np.full(len(flat), -1, dtype=np.int64)
        fresh = []
        for i, geom in enumerate(flat.tolist()):
            if geom is None:
                continue
            j = self.pool_ids.get(id(geom))
            if j is None:
                j = self.pool_ids[id(geom)] = self.pool_size + len(fresh)
                fresh.append(geom)
            index[i] = j
        if fresh:
            self.pool.append(np.asarray(fresh, dtype=object))
            self.pool_size += len(fresh)
        return index

    def pool_node(self) -> dict:
        """The geometry pool as one WKB blob and the byte size of each geometry."""
        geoms = np.concatenate(self.pool) if self.pool else np.empty(0, object)
        wkb = shapely.to_wkb(geoms) if len(geoms) else np.empty(0, object)
        return {
            "blob": self._put(np.frombuffer(b"".join(wkb), dtype=np.uint8)),
            "sizes": self._put(np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb))),
        }

    def _texts(self, texts: list[str]) -> dict:
        data = [t.encode("utf-8") for t in texts]
        return {
            "blob": self._put(np.frombuffer(b"".join(data), dtype=np.uint8)),
            "sizes": self._put(np.fromiter(map(len, data), dtype=np.int64, count=len(data))),
        }

    def _index(self, index: pd.Index) -> dict:
        if isinstance(index, pd.RangeIndex):
            return {"t": "range", "start": index.start, "stop": index.stop, "step": index.step}
        if isinstance(index, pd.MultiIndex):
            raise Uncacheable("multi-index")
        return {"t": "index", "name": index.name, "values": self._array(index.to_numpy())}

    def _frame(self, frame: pd.DataFrame) -> dict:
        geo = isinstance(frame, gpd.GeoDataFrame)
        geometry = frame.geometry.name if geo and frame._geometry_column_name in frame else None
        columns = []
        for name in frame.columns:
            col = frame[name]
            values = np.asarray(col.values, dtype=object) if name == geometry else col.to_numpy()
            columns.append([str(name), str(col.dtype), self._array(values)])
        return {
            "t": "gdf" if geo else "df",
            "columns": columns,
            "index": self._index(frame.index),
            "geometry": geometry,
            "crs": frame.crs.to_string() if geo and frame.crs is not None else None,
        }


def _split(blob: np.ndarray, sizes: np.ndarray) -> list[bytes]:
    raw = blob.tobytes()
    ends = np.cumsum(sizes).tolist()
    starts = [0, *ends[:-1]] if ends else []  # no texts (a map without assets): no pieces
    return [raw[a:b] for a, b in zip(starts, ends, strict=True)]


class _Decoder:
    def __init__(self, path: Path, rules: Any) -> None:
        self.path = path
        self.rules = rules
        self.pool = np.empty(0, object)
        self.loaded: dict[str, np.ndarray] = {}

    def arr(self, key: str) -> np.ndarray:
        # Copy-on-write maps: nothing is read up front, pages come from the OS cache when used,
        # and the arrays stay writable (some compiled routines refuse read-only buffers).
        if key not in self.loaded:
            self.loaded[key] = np.load(self.path / f"{key}.npy", mmap_mode="c", allow_pickle=False)
        return self.loaded[key]

    def load_pool(self, node: dict) -> None:
        blobs = _split(self.arr(node["blob"]), self.arr(node["sizes"]))
        geoms = shapely.from_wkb(np.array(blobs, dtype=object)) if blobs else []
        # index -1 (None) reads the extra last slot
        self.pool = np.append(np.asarray(geoms, dtype=object), None)

    def decode(self, node: dict) -> Any:
        t = node["t"]
        if t == "v":
            return node["v"]
        if t == "rules":
            return self.rules
        if t in ("a", "geom", "str", "num"):
            return self._array(node)
        if t in ("gdf", "df"):
            return self._frame(node)
        if t == "series":
            return pd.Series(
                self._array(node["values"]), index=self._index(node["index"]), name=node["name"]
            )
        if t == "csr":
            data, indices, indptr = (self.arr(node[k]) for k in ("data", "indices", "indptr"))
            return sp.csr_matrix((data, indices, indptr), shape=tuple(node["shape"]))
        if t == "strtree":
            return STRtree(self._array(node["of"]))
        if t == "dc":
            return self._dataclass(node)
        if t == "dict":
            return {_hashable(self.decode(k)): self.decode(v) for k, v in node["items"]}
        if t == "list":
            return [self.decode(v) for v in node["items"]]
        if t == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        raise ValueError(f"unknown cache node {t!r}")

    def _dataclass(self, node: dict) -> Any:
        module, qualname = node["cls"].split(":")
        if not module.startswith(_SAFE_MODULES):
            raise ValueError(f"refusing to build {node['cls']} from a cache file")
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"{node['cls']} is not a dataclass")
        obj = object.__new__(cls)
        stored = node["fields"]
        for f in dataclasses.fields(cls):
            if f.name in stored:
                value = self.decode(stored[f.name])
            elif f.default is not dataclasses.MISSING:
                value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                raise KeyError(f"cache lacks field {f.name} of {qualname}")
            object.__setattr__(obj, f.name, value)
        return obj

    def _array(self, node: dict) -> np.ndarray:
        t = node["t"]
        if t == "a":
            return self.arr(node["k"])
        if t == "geom":
            out = self.pool[self.arr(node["k"])]
        elif t == "str":
            texts = [
                b.decode("utf-8") for b in _split(self.arr(node["blob"]), self.arr(node["sizes"]))
            ]
            out = np.append(np.asarray(texts, dtype=object), None)[self.arr(node["codes"])]
        else:
            num = self.arr(node["k"])
            out = num.astype(object)
            out[np.isnan(num)] = None
        return out.reshape(node["shape"])

    def _index(self, node: dict) -> pd.Index:
        if node["t"] == "range":
            return pd.RangeIndex(node["start"], node["stop"], node["step"])
        return pd.Index(self._array(node["values"]), name=node["name"])

    def _frame(self, node: dict) -> pd.DataFrame:
        data = {}
        for name, dtype, col in node["columns"]:
            values = self._array(col)
            if name == node["geometry"]:
                data[name] = gpd.GeoSeries(values, crs=node["crs"])
            elif dtype == "object":
                data[name] = pd.Series(values, dtype=object)
            else:
                data[name] = pd.Series(values, dtype=dtype)
        frame = pd.DataFrame(data)
        frame.index = self._index(node["index"])
        if node["t"] == "gdf":
            frame = gpd.GeoDataFrame(frame, geometry=node["geometry"], crs=node["crs"])
        return frame


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
