"""Run one task per map on a Dask cluster and collect the outcomes (issue 19).

:func:`run_batch` starts a :class:`distributed.LocalCluster` (worker processes, one thread each:
the map work is NumPy/SciPy/GEOS heavy and holds the GIL in places) or connects to an existing
scheduler, submits one task per map with ``retries=1``, and gathers the outcomes as they complete.
A map whose task fails is an outcome with ``status="failed"`` and its error; the others finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from onemap.batch.tasks import diagnose_task, failed, readiness_task
from onemap.errors import OnemapInputError
from onemap.lang import CLASSES
from onemap.messages import msg

__all__ = ["KINDS", "BatchResult", "MapOutcome", "check_inputs", "cluster_client", "run_batch"]

# kind -> (task, the count columns of its summary)
KINDS: dict[str, tuple[Callable[[str, str], dict[str, Any]], tuple[str, ...]]] = {
    "readiness": (readiness_task, CLASSES),
    "diagnose": (diagnose_task, ("supply_radius", "heavy_loading", "outage_over_target")),
}

Progress = Callable[[str, int, int], None]


@dataclass
class MapOutcome:
    """What one map's task gave back (see :mod:`onemap.batch.tasks`)."""

    map: str
    path: str
    status: str
    parcels: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    districts: dict[str, dict[str, int]] = field(default_factory=dict)
    centroid: tuple[float, float] | None = None
    out: str | None = None
    seconds: float = 0.0
    error: str | None = None
    worker: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class BatchResult:
    """Outcomes of a batch in the order the maps were given, and how it ran."""

    kind: str
    columns: tuple[str, ...]
    outcomes: list[MapOutcome]
    workers: int
    seconds: float
    scheduler: str | None = None
    dashboard: str | None = None

    @property
    def totals(self) -> dict[str, int]:
        """Counts summed over the maps that finished, and how many maps finished or failed."""
        done = [o for o in self.outcomes if o.ok]
        totals = {c: sum(o.counts.get(c, 0) for o in done) for c in self.columns}
        totals["parcels"] = sum(o.parcels for o in done)
        totals["maps"] = len(self.outcomes)
        totals["ok"] = len(done)
        totals["failed"] = len(self.outcomes) - len(done)
        return totals

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` object: ``maps``, ``totals``, ``workers``, ``seconds`` (and the kind)."""
        return {
            "kind": self.kind,
            "maps": [asdict(o) for o in self.outcomes],
            "totals": self.totals,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "scheduler": self.scheduler,
        }


def check_inputs(
    paths: Sequence[str | Path], out_dir: str | Path, *, local: bool = True
) -> list[Path]:
    """Absolute map paths, checked: at least one, distinct names, the output folder creatable.

    With ``local`` (a cluster on this machine) every map must exist here; on a remote cluster the
    workers read them, so a map they cannot reach is reported by its task instead.
    """
    if not paths:
        raise OnemapInputError(msg("batch.no_maps"), field="maps")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OnemapInputError(msg("batch.output_is_file"), file=str(out))
    if not out.exists() and not out.parent.is_dir():
        raise OnemapInputError(msg("batch.output_parent_missing"), file=str(out))
    resolved: list[Path] = []
    seen: dict[str, Path] = {}
    for p in paths:
        path = Path(p).expanduser().absolute()
        if path in resolved:
            continue  # the same map twice is run once
        if local and not path.is_file():
            raise OnemapInputError(msg("geo.map_file_not_found"), file=str(p))
        if path.stem in seen:
            raise OnemapInputError(
                msg("batch.duplicate_map_name", name=path.stem, first=seen[path.stem], second=path),
                file=str(p),
            )
        seen[path.stem] = path
        resolved.append(path)
    return resolved


@contextlib.contextmanager
def cluster_client(
    scheduler: str | None = None, workers: int | None = None, retries: int = 1
) -> Iterator[Any]:
    """A ``distributed.Client``: on an existing cluster (``scheduler`` address) or on a new
    ``LocalCluster`` of ``workers`` processes with one thread each (closed on exit)."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise OnemapInputError(
                msg("batch.scheduler_unreachable", exc=exc), field="scheduler"
            ) from exc
        with client:
            yield client
        return
    n = workers or max(1, os.cpu_count() or 1)
    if n < 1:
        raise OnemapInputError(msg("batch.workers_below_one"), field="workers")
    # A worker that dies (out of memory, killed) has its map rescheduled `retries` times.
    with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            # One core a worker: a map's own work stays on one thread (onemap.parallel), or
            # the worker processes would each spread over every core.
            env={"ONEMAP_THREADS": "1"},
        )
    with cluster, Client(cluster) as client:
        yield client


def _dashboard(client: Any) -> str | None:
    try:
        services = client.scheduler_info().get("services", {})
        return client.dashboard_link if "dashboard" in services else None
    except Exception:  # no dashboard (bokeh missing) is not an error
        return None


def run_batch(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    kind: str = "readiness",
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    retries: int = 1,
    progress: Progress | None = None,
    on_start: Callable[[Any], None] | None = None,
) -> BatchResult:
    """Run ``kind`` (``"readiness"`` or ``"diagnose"``) on every map, one Dask task per map.

    Parameters
    ----------
    paths
        The maps (.gpkg). Workers read them, so on a cluster they must be paths every worker can
        reach (a shared folder mounted at the same place).
    out_dir
        Folder for the per-map GeoPackages (``<map stem>.<kind>.gpkg``), written by the workers.
    kind
        Which task: ``"readiness"`` (classes A–D overall and per district) or ``"diagnose"``.
    scheduler
        Address of an existing scheduler (``tcp://host:8786``); None starts a ``LocalCluster``.
    workers
        Worker processes of the ``LocalCluster`` (default: the CPU count, at most one per map).
    client
        An existing ``distributed.Client`` to use instead (it is not closed).
    retries
        How many times a map whose task raised (or whose worker died) is run again.
    progress
        Called as ``progress(map, done, total)`` after each map completes.
    on_start
        Called with the client once the cluster is up (e.g. to print the dashboard link).

    Returns
    -------
    BatchResult
        Outcomes in the order of ``paths``; failed maps carry their error.

    Raises
    ------
    OnemapInputError
        No maps, a map missing (local cluster), two maps with one name, an output folder that
        cannot be made, an unknown kind or an unreachable scheduler.
    """
    if kind not in KINDS:
        raise OnemapInputError(
            msg("batch.unknown_kind", kind=kind, kinds=", ".join(KINDS)), field="kind"
        )
    task, columns = KINDS[kind]
    local = scheduler is None and client is None
    maps = check_inputs(paths, out_dir, local=local)
    if workers is not None and workers < 1:
        raise OnemapInputError(msg("batch.workers_below_one"), field="workers")
    out = Path(out_dir).expanduser().absolute()
    out.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    if client is not None:
        outcomes = _run(client, task, maps, out, retries, progress, on_start)
        info = (_n_workers(client), _address(client), _dashboard(client))
        return BatchResult(kind, columns, outcomes, info[0], time.perf_counter() - t0, *info[1:])
    n = min(workers or (os.cpu_count() or 1), len(maps))
    with cluster_client(scheduler, n, retries) as c:
        outcomes = _run(c, task, maps, out, retries, progress, on_start)
        n_workers, address, link = _n_workers(c), _address(c), _dashboard(c)
    return BatchResult(kind, columns, outcomes, n_workers, time.perf_counter() - t0, address, link)


def _address(client: Any) -> str | None:
    try:
        return str(client.scheduler_info().get("address"))
    except Exception:
        return None


def _n_workers(client: Any) -> int:
    return len(client.scheduler_info().get("workers", {}))


def _run(
    client: Any,
    task: Callable[[str, str], dict[str, Any]],
    maps: list[Path],
    out: Path,
    retries: int,
    progress: Progress | None,
    on_start: Callable[[Any], None] | None,
) -> list[MapOutcome]:
    from distributed import as_completed

    if on_start is not None:
        on_start(client)
    tag = uuid.uuid4().hex[:8]
    futures = {
        client.submit(
            task, str(path), str(out), key=f"{path.stem}-{tag}", retries=retries, pure=False
        ): path
        for path in maps
    }
    results: dict[Path, MapOutcome] = {}
    for done, future in enumerate(as_completed(futures), start=1):
        path = futures[future]
        try:
            raw = future.result()
        except (Exception, asyncio.CancelledError) as exc:  # the map failed after its retries
            raw = failed(path, f"{type(exc).__name__}: {exc}")
            raw["worker"] = None
        results[path] = MapOutcome(**raw)
        if progress is not None:
            progress(path.stem, done, len(maps))
    return [results[p] for p in maps]
