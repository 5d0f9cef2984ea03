"""The province summary of a batch: ``province_summary.csv`` and ``province_summary.gpkg``.

Rows (CSV, and the GeoPackage's non-spatial ``province_districts`` table): one ``city`` row per
map (its totals, or its error) followed by one ``district`` row per district of the map; columns
``map, level, district, <counts>, parcels, status, error``. The district rows of a map add up to
its city row. The GeoPackage's ``province_maps`` layer has one point per map (the centre of the
map's lon/lat bounds; no geometry for a map that failed before it was read).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from onemap.batch.run import BatchResult

__all__ = ["SUMMARY_CSV", "SUMMARY_GPKG", "summary_frame", "write_summary"]

SUMMARY_CSV = "province_summary.csv"
SUMMARY_GPKG = "province_summary.gpkg"


def summary_frame(result: BatchResult) -> pd.DataFrame:
    """City and district rows of ``result`` (module docstring), in the order of the maps.

    Parameters
    ----------
    result
        A finished batch.

    Returns
    -------
    pandas.DataFrame
        Columns ``map, level, district, <count columns>, parcels, status, error``; counts are
        empty (NA) for a failed map.
    """
    cols = list(result.columns)
    rows: list[dict[str, object]] = []
    for o in result.outcomes:
        city = {"map": o.map, "level": "city", "district": ""}
        for c in cols:
            city[c] = o.counts.get(c) if o.ok else None
        city.update(parcels=o.parcels if o.ok else None, status=o.status, error=o.error or "")
        rows.append(city)
        for name, counts in o.districts.items():
            row = {"map": o.map, "level": "district", "district": name}
            row.update({c: counts.get(c, 0) for c in cols})
            row.update(parcels=counts.get("parcels", 0), status=o.status, error="")
            rows.append(row)
    names = ["map", "level", "district", *cols, "parcels", "status", "error"]
    frame = pd.DataFrame(rows, columns=names)
    for c in [*cols, "parcels"]:
        frame[c] = frame[c].astype("Int64")
    return frame


def write_summary(result: BatchResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``province_summary.csv`` (UTF-8 with BOM, for Excel) and ``province_summary.gpkg``.

    Parameters
    ----------
    result
        A finished batch.
    out_dir
        The batch's output folder.

    Returns
    -------
    tuple of Path
        The CSV and the GeoPackage.
    """
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Point

    from onemap.geo.crs import STORAGE_CRS
    from onemap.geo.mapfile import atomic_gpkg

    out = Path(out_dir)
    frame = summary_frame(result)
    csv_path = out / SUMMARY_CSV
    tmp_csv = csv_path.with_name(f".{csv_path.name}.tmp")
    frame.to_csv(tmp_csv, index=False, encoding="utf-8-sig")
    tmp_csv.replace(csv_path)
    city = frame[frame["level"] == "city"].drop(columns=["level", "district"])
    by_map = {o.map: o for o in result.outcomes}
    points = gpd.GeoDataFrame(
        city.assign(
            path=[by_map[m].path for m in city["map"]],
            out=[by_map[m].out or "" for m in city["map"]],
            seconds=[by_map[m].seconds for m in city["map"]],
        ),
        geometry=[Point(c) if (c := by_map[m].centroid) else None for m in city["map"]],
        crs=STORAGE_CRS,
    )
    gpkg_path = out / SUMMARY_GPKG
    with atomic_gpkg(gpkg_path) as tmp:
        pyogrio.write_dataframe(points, tmp, layer="province_maps", driver="GPKG")
        pyogrio.write_dataframe(frame, tmp, layer="province_districts", driver="GPKG")
    return csv_path, gpkg_path
