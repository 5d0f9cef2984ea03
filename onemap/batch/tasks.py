"""The per-map tasks a worker runs: read one map, compute, write its GeoPackage, return counts.

A task returns a plain, picklable ``dict`` (the worker sends it back to the client):

``map``, ``path``, ``status`` (``"ok"`` or ``"failed"``), ``parcels``, ``counts`` (class or kind →
number), ``districts`` (district → counts and ``parcels``; empty where the result has none),
``centroid`` (lon, lat of the map's bounds), ``out`` (the written GeoPackage), ``seconds``,
``error`` and ``worker`` (host:pid that ran it).

Bad input (:class:`~onemap.errors.OnemapInputError`: a corrupt or missing file, a map without
parcels…) is returned as ``status="failed"``: running it again would fail the same way. Any other
exception propagates, so that Dask retries the map (``retries=1``) before reporting it.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from onemap.errors import OnemapInputError
from onemap.lang import CLASSES

__all__ = ["diagnose_task", "failed", "out_path", "readiness_task"]


def out_path(out_dir: str | Path, map_path: str | Path, kind: str) -> Path:
    """Where the result of ``kind`` for ``map_path`` goes: ``DIR/<map stem>.<kind>.gpkg``."""
    return Path(out_dir) / f"{Path(map_path).stem}.{kind}.gpkg"


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def failed(map_path: str | Path, error: str, seconds: float = 0.0) -> dict[str, Any]:
    """The outcome of a map that could not be processed, with its error."""
    return {
        "map": Path(map_path).stem,
        "path": str(map_path),
        "status": "failed",
        "parcels": 0,
        "counts": {},
        "districts": {},
        "centroid": None,
        "out": None,
        "seconds": round(seconds, 3),
        "error": error,
        "worker": _worker(),
    }


def _centroid(onemap: Any) -> tuple[float, float] | None:
    try:
        w, s, e, n = onemap.bounds
    except Exception:  # an empty map has no bounds; the summary row simply has no point
        return None
    return (float(w + e) / 2, float(s + n) / 2)


def readiness_task(map_path: str, out_dir: str) -> dict[str, Any]:
    """Readiness A–D of every parcel of one map (its own rule table and forecast loads).

    Parameters
    ----------
    map_path
        The one map (.gpkg), as a path the worker can read.
    out_dir
        Folder the worker writes ``<map stem>.readiness.gpkg`` into (the layers of
        ``onemap readiness --out``).

    Returns
    -------
    dict
        The outcome (module docstring); counts overall and per district (``layer["district"]``).
    """
    from onemap.connection.bulk import readiness
    from onemap.connection.zones import write_readiness
    from onemap.geo.mapfile import read_map

    t0 = time.perf_counter()
    try:
        onemap = read_map(map_path)
        result = readiness(onemap)
    except OnemapInputError as exc:
        return failed(map_path, str(exc), time.perf_counter() - t0)
    layer = result.layer
    out = write_readiness(layer, out_path(out_dir, map_path, "readiness"))
    district = layer["district"].fillna("").astype(str) if "district" in layer else None
    districts: dict[str, dict[str, int]] = {}
    if district is not None:
        for name, part in layer.groupby(district, sort=True):
            vc = part["readiness"].value_counts()
            districts[str(name)] = {c: int(vc.get(c, 0)) for c in CLASSES}
            districts[str(name)]["parcels"] = len(part)
    return {
        "map": Path(map_path).stem,
        "path": str(map_path),
        "status": "ok",
        "parcels": len(layer),
        "counts": result.counts,
        "districts": districts,
        "centroid": _centroid(onemap),
        "out": str(out),
        "seconds": round(time.perf_counter() - t0, 3),
        "error": None,
        "worker": _worker(),
    }


def diagnose_task(map_path: str, out_dir: str) -> dict[str, Any]:
    """Grid diagnostics (items 12, 13) of one map: findings by kind, layer written to ``out_dir``.

    Parameters
    ----------
    map_path
        The one map (.gpkg), as a path the worker can read.
    out_dir
        Folder the worker writes ``<map stem>.diagnose.gpkg`` (layer ``diagnostics``) into.

    Returns
    -------
    dict
        The outcome (module docstring); ``counts`` by finding kind, ``parcels`` checked, no
        districts.
    """
    import pyogrio

    from onemap.geo.mapfile import atomic_gpkg, read_map
    from onemap.planning.diagnostics import diagnose

    t0 = time.perf_counter()
    try:
        onemap = read_map(map_path)
        result = diagnose(onemap)
    except OnemapInputError as exc:
        return failed(map_path, str(exc), time.perf_counter() - t0)
    out = out_path(out_dir, map_path, "diagnose")
    with atomic_gpkg(out) as tmp:
        pyogrio.write_dataframe(result.layer, tmp, layer="diagnostics", driver="GPKG")
    return {
        "map": Path(map_path).stem,
        "path": str(map_path),
        "status": "ok",
        "parcels": int(result.checked.get("parcels", 0)),
        "counts": result.counts,
        "districts": {},
        "centroid": _centroid(onemap),
        "out": str(out),
        "seconds": round(time.perf_counter() - t0, 3),
        "error": None,
        "worker": _worker(),
    }
