"""Search of the served map (parcel ids and names, road names, asset and project ids, lon/lat in
either order) and its corridor strips as GeoJSON for a bbox (issue 16 items 4, 5)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS
from onemap.geo.mapfile import OneMap
from onemap.messages import msg

SEARCH_LAYERS = (
    ("landuse", "parcel_id", "parcel"),
    ("roads", "road_id", "road"),
    ("assets", "asset_id", "asset"),
    ("substations", "substation_id", "substation"),
    ("projects", "project_id", "project"),
)


SEARCH_MAX = 50


CORRIDOR_MAX_SPAN_DEG = 0.05  # a corridor bbox at most about 5 km a side (strips are detail)


CORRIDOR_MAX_FEATURES = 5000


def _search_index(onemap: OneMap) -> list[dict[str, Any]]:
    def build() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for layer, column, kind in SEARCH_LAYERS:
            gdf = onemap[layer]
            if not len(gdf):
                continue
            geoms = gdf.geometry.to_numpy()
            ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
            pts = np.empty(len(geoms), dtype=object)
            pts[ok] = shapely.point_on_surface(geoms[ok])
            bounds = shapely.bounds(geoms)
            ids = gdf[column].astype(str).tolist()
            names = gdf["name"].tolist() if "name" in gdf.columns else [None] * len(gdf)
            for k in np.flatnonzero(ok).tolist():
                name = names[k]
                name = (
                    None
                    if name is None or (isinstance(name, float) and np.isnan(name))
                    else str(name)
                )
                out.append(
                    {
                        "kind": kind,
                        "id": ids[k],
                        "name": name or None,
                        "lon": float(pts[k].x),
                        "lat": float(pts[k].y),
                        "bbox": [round(float(v), 7) for v in bounds[k]],
                        "_text": f"{ids[k]} {name or ''}".lower(),
                    }
                )
        return out

    return onemap.cached("web:search", build, layers=tuple(x[0] for x in SEARCH_LAYERS))


def _lonlat_query(q: str, bounds: tuple[float, float, float, float]) -> dict[str, Any] | None:
    """ "lon,lat" (or "lat,lon", told apart by the map's bounds, then by the ranges)."""
    parts = [p for p in q.replace("，", ",").replace(" ", ",").split(",") if p]
    if len(parts) != 2:
        return None
    try:
        a, b = (float(p) for p in parts)
    except ValueError:
        return None
    w, s, e, n = (float(v) for v in bounds)
    inside = lambda lon, lat: w <= lon <= e and s <= lat <= n  # noqa: E731
    if inside(a, b):
        lon, lat = a, b
    elif inside(b, a):
        lon, lat = b, a
    elif abs(a) <= 180 and abs(b) <= 90:
        lon, lat = a, b
    elif abs(b) <= 180 and abs(a) <= 90:
        lon, lat = b, a
    else:
        return None
    return {
        "kind": "point",
        "id": f"{lon:.6f},{lat:.6f}",
        "name": None,
        "lon": lon,
        "lat": lat,
        "bbox": [lon, lat, lon, lat],
        "inside": bool(inside(lon, lat)),
    }


def search(onemap: OneMap, q: str, limit: int = 10) -> dict[str, Any]:
    """Matches of ``q`` among parcel ids and names, road ids and names, asset, substation and
    project ids (and names), plus a "lon,lat" in either order. Exact ids first, then ids and
    names starting with ``q``, then those containing it.

    Parameters
    ----------
    onemap
        The served map (the index is built from it: offline).
    q
        The text typed.
    limit
        Most results.

    Returns
    -------
    dict
        ``query`` and ``results`` [{``kind``, ``id``, ``name``, ``lon``, ``lat``, ``bbox``}].
    """
    text = q.strip()
    if not text:
        raise OnemapInputError(msg("web.search_empty"), field="q")
    results: list[dict[str, Any]] = []
    point = _lonlat_query(text, onemap.bounds)
    if point is not None:
        results.append(point)
    needle = text.lower()
    ranked = []
    for entry in _search_index(onemap):
        hay = entry["_text"]
        if needle not in hay:
            continue
        ident = entry["id"].lower()
        name = (entry["name"] or "").lower()
        rank = (
            0
            if ident == needle or name == needle
            else (1 if ident.startswith(needle) or name.startswith(needle) else 2)
        )
        ranked.append((rank, len(hay), entry))
    ranked.sort(key=lambda r: (r[0], r[1]))
    seen_roads: set[str] = set()
    for _, _, entry in ranked:
        if len(results) >= limit:
            break
        if entry["kind"] == "road":  # a road of many pieces: its first piece only
            if entry["id"] in seen_roads:
                continue
            seen_roads.add(entry["id"])
        results.append({k: v for k, v in entry.items() if not k.startswith("_")})
    return {"query": text, "results": results[:limit]}


def corridors_geojson(onemap: OneMap, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    """The corridor strips (sidewalk, bike lane, carriageway, green belt, duct …) in ``bbox``
    as a FeatureCollection in EPSG:4326, from the routing core's corridor model.

    Parameters
    ----------
    onemap
        The served map.
    bbox
        W, S, E, N in degrees; at most :data:`CORRIDOR_MAX_SPAN_DEG` a side.

    Returns
    -------
    dict
        FeatureCollection; each strip has ``kind``, ``road_id``, ``road_name``, ``side``,
        ``width_m``, ``provenance``.
    """
    from onemap.routing.build import corridor_model

    w, s, e, n = bbox
    if e - w > CORRIDOR_MAX_SPAN_DEG or n - s > CORRIDOR_MAX_SPAN_DEG:
        raise OnemapInputError(
            msg("web.bbox_too_large", max_deg=CORRIDOR_MAX_SPAN_DEG),
            field="bbox",
        )

    model = corridor_model(onemap)[0]

    def build() -> gpd.GeoDataFrame:
        strips = model.polygons
        roads = onemap["roads"]
        names = {}
        if "name" in roads.columns:
            for rid, name in zip(roads["road_id"].astype(str), roads["name"], strict=True):
                if isinstance(name, str) and name and rid not in names:
                    names[rid] = name
        out = strips[["road_id", "corridor", "side", "width_m", "provenance"]].copy()
        out["road_name"] = out["road_id"].astype(str).map(names)
        return gpd.GeoDataFrame(
            out, geometry=strips.geometry.to_crs(STORAGE_CRS).to_numpy(), crs=STORAGE_CRS
        )

    gdf = onemap.cached("web:corridor_strips", build, layers=("roads", "ducts", "landuse"))
    rows = gdf.sindex.query(shapely.box(w, s, e, n), predicate="intersects")
    matched = len(rows)
    rows = np.sort(rows)[:CORRIDOR_MAX_FEATURES]
    # The strips overlap as built; the page draws who owns the ground (the partition).
    owned = model.partitioned(rows).geometry.to_crs(STORAGE_CRS)
    feats = []
    for k in owned.index.tolist():
        r = gdf.iloc[k]
        feats.append(
            {
                "type": "Feature",
                "geometry": mapping(owned.loc[k]),
                "properties": {
                    "kind": str(r["corridor"]),
                    "road_id": None if pd.isna(r["road_id"]) else str(r["road_id"]),
                    "road_name": r["road_name"] if isinstance(r["road_name"], str) else None,
                    "side": None if pd.isna(r["side"]) else str(r["side"]),
                    "width_m": None if pd.isna(r["width_m"]) else round(float(r["width_m"]), 2),
                    "provenance": None if pd.isna(r["provenance"]) else str(r["provenance"]),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": feats,
        "numberMatched": matched,
        "numberReturned": len(feats),
    }
