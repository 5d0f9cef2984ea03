"""Province scale: one Dask task per map (issue 19).

A province asks the same question of every city's map at once. :func:`run_batch` sends one task
per map to a ``dask.distributed`` cluster (a :class:`~distributed.LocalCluster` on this machine, or
an existing cluster by its scheduler address), writes each map's result as a GeoPackage in one
folder and collects a province summary (counts per city and district, CSV and GeoPackage).

Workers read the maps from paths they can reach (a shared folder) and use the graph cache beside
each map (``MAP.gpkg.onemap-cache/``), exactly as a single-map run does.
"""

from __future__ import annotations

from onemap.batch.run import KINDS, BatchResult, MapOutcome, run_batch
from onemap.batch.summary import SUMMARY_CSV, SUMMARY_GPKG, write_summary
from onemap.batch.tasks import diagnose_task, readiness_task

__all__ = [
    "KINDS",
    "SUMMARY_CSV",
    "SUMMARY_GPKG",
    "BatchResult",
    "MapOutcome",
    "diagnose_task",
    "readiness_task",
    "run_batch",
    "write_summary",
]
