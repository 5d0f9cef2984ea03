"""Readiness zones: dissolved class polygons, H3 hexagon aggregates and district statistics.

All inputs are the ``readiness`` layer of
:class:`onemap.connection.results.ReadinessResult` (metric CRS).
Areas are measured in the metric CRS; H3 cells are built in lon/lat (h3 v4) and projected once.
Hexagon shares use two measures: the share of parcels (each parcel counted in the cell holding
its representative point) and the share of parcel area (parcels cut by the cells).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from onemap.geo.crs import STORAGE_CRS
from onemap.lang import CLASSES

DEFAULT_H3_RESOLUTION = 8  # ≈ 0.74 km² cells: a few blocks (an explicit choice only)
# Automatic resolution (issue 16 item 8), tuning, not policy: no cell larger than
# MAX_HEX_SHARE of the district's extent (the convex hull of its parcels; H3 cell areas vary a
# little across a district, hence the margin), and no finer than cells that hold about
# PARCELS_PER_HEX parcels on average.
MAX_HEX_SHARE = 0.1
HEX_AREA_MARGIN = 1.15
PARCELS_PER_HEX = 4.0
MAX_AUTO_RESOLUTION = 13


def zones(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One (multi)polygon per readiness class: the union of its parcels, with counts and area."""
    area = layer.geometry.area
    stats = (
        pd.DataFrame({"readiness": layer["readiness"], "area_m2": area})
        .groupby("readiness")
        .agg(parcels=("area_m2", "size"), area_m2=("area_m2", "sum"))
    )
    geoms = [
        shapely.union_all(layer.geometry.to_numpy()[layer["readiness"].to_numpy() == c])
        for c in stats.index
    ]  # one union per class (four at most), each vectorised inside GEOS
    out = gpd.GeoDataFrame(stats.reset_index(), geometry=geoms, crs=layer.crs)
    out["area_share"] = out["area_m2"] / area.sum() if area.sum() > 0 else np.nan
    return out


def _shares(frame: pd.DataFrame, key: str, weight: str | None) -> pd.DataFrame:
    values = frame[weight] if weight else pd.Series(1.0, index=frame.index)
    table = (
        pd.DataFrame({key: frame[key], "readiness": frame["readiness"], "w": values})
        .pivot_table(index=key, columns="readiness", values="w", aggfunc="sum", fill_value=0.0)
        .reindex(columns=list(CLASSES), fill_value=0.0)
    )
    total = table.sum(axis=1)
    return table.div(total.where(total > 0), axis=0), total


def _extent(layer: gpd.GeoDataFrame) -> shapely.Geometry:
    """The district's extent: the convex hull of every parcel (no union: one pass over the
    vertices, fast on a city)."""
    return shapely.convex_hull(shapely.geometrycollections(layer.geometry.to_numpy()))


def auto_resolution(layer: gpd.GeoDataFrame) -> int:
    """The H3 resolution whose cells fit the district of ``layer`` (metric CRS).

    The coarsest resolution whose cells are at most :data:`MAX_HEX_SHARE` of the district's
    extent (the convex hull of the parcels), refined while a cell still holds about
    :data:`PARCELS_PER_HEX` parcels on average (dense districts get finer cells).

    Parameters
    ----------
    layer
        Parcels (the readiness layer), metric CRS.

    Returns
    -------
    int
        H3 resolution (0–:data:`MAX_AUTO_RESOLUTION`).
    """
    if not len(layer):
        return DEFAULT_H3_RESOLUTION
    hull = _extent(layer)
    extent = float(hull.area)
    c = gpd.GeoSeries([hull.centroid], crs=layer.crs).to_crs(STORAGE_CRS).iloc[0]

    def cell_m2(res: int) -> float:
        return float(h3.cell_area(h3.latlng_to_cell(c.y, c.x, res), unit="m^2"))

    fits = next(
        (
            r
            for r in range(MAX_AUTO_RESOLUTION + 1)
            if cell_m2(r) * HEX_AREA_MARGIN <= MAX_HEX_SHARE * extent
        ),
        MAX_AUTO_RESOLUTION,
    )
    footprint = PARCELS_PER_HEX * extent / len(layer)
    dense = max(
        (r for r in range(MAX_AUTO_RESOLUTION + 1) if cell_m2(r) >= footprint), default=fits
    )
    return max(fits, dense)


def hexagons(layer: gpd.GeoDataFrame, resolution: int | None = None) -> gpd.GeoDataFrame:
    """H3 cells holding the parcels, with per-class shares of parcels and of parcel area.

    Only cells holding at least one parcel (its representative point) are kept, each clipped to
    the district's extent (the convex hull of the parcels), so no cell spills past the district.
    ``resolution`` None: :func:`auto_resolution` (cells small relative to the district).

    Columns ``h3``, ``resolution``, ``parcels``, ``area_m2`` (parcel area inside the cell),
    ``share_A`` … ``share_D`` (of parcels), ``area_share_A`` … ``area_share_D`` (of that area),
    ``majority`` (class with most area); CRS of the layer.
    """
    if not len(layer):
        return gpd.GeoDataFrame(columns=["h3", "geometry"], geometry="geometry", crs=layer.crs)
    if resolution is None:
        resolution = auto_resolution(layer)
    lonlat = layer.to_crs(STORAGE_CRS)
    west, south, east, north = lonlat.total_bounds
    pad = h3.average_hexagon_edge_length(resolution, unit="km") / 111.0 * 2
    box = h3.LatLngPoly(
        [
            (south - pad, west - pad),
            (south - pad, east + pad),
            (north + pad, east + pad),
            (north + pad, west - pad),
        ]
    )
    cells = sorted(h3.polygon_to_cells(box, resolution))
    rings = [[(lng, lat) for lat, lng in h3.cell_to_boundary(c)] for c in cells]
    hexes = gpd.GeoDataFrame(
        {"h3": cells}, geometry=shapely.polygons(rings), crs=STORAGE_CRS
    ).to_crs(layer.crs)

    points = gpd.GeoDataFrame(
        layer[["parcel_id", "readiness"]],
        geometry=layer.geometry.representative_point(),
        crs=layer.crs,
    )
    joined = gpd.sjoin(points, hexes, how="inner", predicate="intersects")
    joined = joined.drop_duplicates("parcel_id")  # a point on a shared edge counts once
    count_share, count_total = _shares(joined, "h3", None)

    parts = gpd.overlay(
        layer[["parcel_id", "readiness", "geometry"]],
        hexes,
        how="intersection",
        keep_geom_type=True,
    )
    parts["area_m2"] = parts.geometry.area
    # Cells without a parcel are dropped; a parcel's sliver in one counts in its own cell.
    hexes = hexes[hexes["h3"].isin(count_total.index)]
    own = pd.Series(joined["h3"].to_numpy(), index=joined["parcel_id"].to_numpy())
    stray = ~parts["h3"].isin(count_total.index)
    parts.loc[stray, "h3"] = own.reindex(parts.loc[stray, "parcel_id"]).to_numpy()
    parts = parts[parts["h3"].notna()]
    area_share, area_total = _shares(parts, "h3", "area_m2")

    hull = _extent(layer)
    out = hexes.set_index("h3").copy()
    out["geometry"] = shapely.intersection(out.geometry.to_numpy(), hull)
    out["resolution"] = resolution
    out["parcels"] = count_total.reindex(out.index).fillna(0).astype(int)
    out["area_m2"] = area_total.reindex(out.index).fillna(0.0)
    for c in CLASSES:
        out[f"share_{c}"] = count_share[c].reindex(out.index)
        out[f"area_share_{c}"] = area_share[c].reindex(out.index)
    out["majority"] = area_share.reindex(out.index)[list(CLASSES)].idxmax(axis=1)
    return out.reset_index()


def districts(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per district (``district``; '' for parcels without one): parcels and area per class and
    their shares."""
    frame = pd.DataFrame(
        {
            "district": layer["district"].fillna("").astype(str),
            "readiness": layer["readiness"],
            "area_m2": layer.geometry.area,
        }
    )
    counts = (
        frame.pivot_table(
            index="district", columns="readiness", values="area_m2", aggfunc="size", fill_value=0
        )
        .reindex(columns=list(CLASSES), fill_value=0)
        .astype(int)
    )
    areas = frame.pivot_table(
        index="district", columns="readiness", values="area_m2", aggfunc="sum", fill_value=0.0
    ).reindex(columns=list(CLASSES), fill_value=0.0)
    out = pd.DataFrame(index=counts.index)
    out["parcels"] = counts.sum(axis=1)
    out["area_m2"] = areas.sum(axis=1)
    for c in CLASSES:
        out[f"parcels_{c}"] = counts[c]
        out[f"share_{c}"] = counts[c] / out["parcels"]
        out[f"area_{c}_m2"] = areas[c]
        out[f"area_share_{c}"] = areas[c] / out["area_m2"].where(out["area_m2"] > 0)
    return out.reset_index()


def write_readiness(
    layer: gpd.GeoDataFrame, path: str | Path, resolution: int | None = None
) -> Path:
    """Write the ``readiness`` layer, ``readiness_zones``, ``readiness_h3`` and
    ``readiness_districts`` to a GeoPackage (EPSG:4326), atomically (temp file, then rename).
    ``resolution`` None: the H3 resolution fitted to the district (:func:`auto_resolution`)."""
    import pyogrio

    from onemap.geo.mapfile import atomic_gpkg

    with atomic_gpkg(path) as tmp:
        out = layer.drop(columns=[c for c in ("group",) if c in layer])
        pyogrio.write_dataframe(out.to_crs(STORAGE_CRS), tmp, layer="readiness", driver="GPKG")
        z = zones(layer)
        pyogrio.write_dataframe(
            z.to_crs(STORAGE_CRS),
            tmp,
            layer="readiness_zones",
            driver="GPKG",
            promote_to_multi=True,
        )
        hx = hexagons(layer, resolution)
        if len(hx):
            pyogrio.write_dataframe(
                hx.to_crs(STORAGE_CRS), tmp, layer="readiness_h3", driver="GPKG"
            )
        pyogrio.write_dataframe(districts(layer), tmp, layer="readiness_districts", driver="GPKG")
    return Path(path)
