"""The web app's bridge to the library: calling its services and shaping their JSON.

The routing, readiness and capacity functions live in onemap; the web layer never computes or
invents a verdict, a readiness class or a headroom itself. Every service is always offered: a
library function that fails to import is an error at start-up, not a vanished endpoint.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from onemap.connection.bulk import readiness
from onemap.connection.results import ReadinessResult
from onemap.connection.site_preview import preview
from onemap.connection.zones import districts, hexagons, zones
from onemap.geo.layers import landuse_info
from onemap.geo.mapfile import OneMap
from onemap.grid.capacity import capacity_csv as _capacity_csv
from onemap.grid.capacity import capacity_layer as _capacity_layer
from onemap.grid.capacity import data_date, public_capacity_csv, thresholds_text
from onemap.rules import resolve_rules
from web.projects import ProjectRow

# The services of ``/api/v1/health`` (``features``): all of them, always.
FEATURES: dict[str, bool] = {
    "capacity": True,
    "check_route": True,
    "preview": True,
    "readiness": True,
}


def preview_dict(
    onemap: OneMap,
    lon: float,
    lat: float,
    kw: float,
    category: str,
    date: dt.date | None,
    lang: str,
) -> dict[str, Any]:
    """The library preview of a site as its JSON (DESIGN §8 ``preview``).

    Parameters
    ----------
    onemap
        The served map.
    lon, lat
        The site in degrees.
    kw
        Requested capacity in kW.
    category
        Customer category.
    date
        Application date, or None.
    lang
        Language of messages (``zh`` or ``en``).

    Returns
    -------
    dict
        :meth:`onemap.connection.results.Preview.to_dict` of the preview.
    """
    return preview(onemap, lon, lat, kw, category, date, lang).to_dict(lang)


def proposal_for(onemap: OneMap, row: ProjectRow) -> dict[str, Any]:
    """The supply proposal for a pushed project row: the preview at its site (a point on it).

    Parameters
    ----------
    onemap
        The served map.
    row
        The project row of :func:`web.projects.project_row`.

    Returns
    -------
    dict
        The preview JSON in Chinese.
    """
    geom = row.geometry
    site = geom if geom.geom_type == "Point" else geom.representative_point()
    return preview_dict(
        onemap,
        float(site.x),
        float(site.y),
        float(row.requested_kw),
        str(row.category),
        dt.date.fromisoformat(row.submitted) if row.submitted else None,
        "zh",
    )


def capacity_layer(onemap: OneMap) -> gpd.GeoDataFrame:
    """Every element's headroom, status and colour (:func:`onemap.grid.headroom.capacity_layer`).

    Parameters
    ----------
    onemap
        The served map.

    Returns
    -------
    geopandas.GeoDataFrame
        The public capacity layer (lon/lat).
    """
    return _capacity_layer(onemap)


def capacity_csv(layer: gpd.GeoDataFrame) -> str:
    """A capacity layer as CSV (:func:`onemap.grid.headroom.capacity_csv`).

    Parameters
    ----------
    layer
        Rows of :func:`capacity_layer`.

    Returns
    -------
    str
        The CSV text with lon/lat columns.
    """
    return _capacity_csv(layer)


def capacity_voltage(index: Any, voltage_kv: float) -> float | None:
    """The voltage of the capacity layer that ``voltage_kv`` names (within 1 V), else None.

    Parameters
    ----------
    index
        The capacity layer's :class:`web.spatial.LayerIndex`.
    voltage_kv
        The voltage asked for (``?voltage_kv=``).

    Returns
    -------
    float or None
        The matching voltage as the layer carries it (a small, bounded set of cache keys).
    """
    kv = pd.to_numeric(index.gdf["voltage_kv"], errors="coerce").to_numpy(dtype=float)
    hit = kv[np.isclose(kv, voltage_kv, rtol=0.0, atol=1e-3)]
    return float(hit[0]) if len(hit) else None


def capacity_at_voltage(index: Any, voltage_kv: float | None) -> Any:
    """The capacity index cut to the elements of one voltage (the ``?voltage_kv=`` filter).

    Parameters
    ----------
    index
        The capacity layer's :class:`web.spatial.LayerIndex`.
    voltage_kv
        A voltage of the layer (:func:`capacity_voltage`); None gives an empty index.

    Returns
    -------
    web.spatial.LayerIndex
        The same kind of index over the matching rows only, in their order.
    """
    kv = pd.to_numeric(index.gdf["voltage_kv"], errors="coerce").to_numpy(dtype=float)
    keep = np.zeros(len(kv), dtype=bool) if voltage_kv is None else kv == voltage_kv
    gdf = index.gdf.iloc[np.flatnonzero(keep)]
    return type(index)(
        name=index.name,
        gdf=gdf,
        id_column=index.id_column,
        tree=shapely.STRtree(gdf.geometry.to_numpy()),
        bounds=index.bounds[keep],
        priority=index.priority[keep],
    )


def capacity_csv_public(onemap: OneMap, layer: gpd.GeoDataFrame, lang: str) -> tuple[str, str]:
    """The capacity download for people (:func:`onemap.grid.headroom.public_capacity_csv`)
    and its file name (with the data date).

    Parameters
    ----------
    onemap
        The served map (data date, rule table's thresholds).
    layer
        Rows of :func:`capacity_layer`.
    lang
        Language of the headers and values.

    Returns
    -------
    tuple
        The CSV text (with BOM) and the file name.
    """
    rules = resolve_rules(onemap)
    date = data_date(onemap)
    text = public_capacity_csv(layer, lang, date=date, thresholds=thresholds_text(rules, lang))
    return text, f"capacity-{date or 'undated'}-{lang}.csv"


def capacity_meta(onemap: OneMap, lang: str = "zh") -> dict[str, Any]:
    """Data date and colour thresholds of the capacity map (legend and downloads).

    Parameters
    ----------
    onemap
        The served map.
    lang
        Language of the thresholds text.

    Returns
    -------
    dict
        ``data_date``, ``thresholds`` (text), ``green_min_share``, ``amber_min_share``.
    """
    rules = resolve_rules(onemap)
    cm = rules.capacity_map
    return {
        "data_date": data_date(onemap),
        "thresholds": thresholds_text(rules, lang),
        "green_min_share": cm.green_min_share,
        "amber_min_share": cm.amber_min_share,
    }


def with_capacity_meta(onemap: OneMap, body: str | bytes) -> bytes:
    """A capacity FeatureCollection's JSON text with ``data_date`` and ``thresholds`` members
    (zh and en) added after its opening brace."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    head = raw.lstrip()
    if not head.startswith(b"{"):
        return raw
    import json as _json

    meta = capacity_meta(onemap, "zh")
    extra = {
        "data_date": meta["data_date"],
        "thresholds": {
            "green_min_share": meta["green_min_share"],
            "amber_min_share": meta["amber_min_share"],
            "zh": meta["thresholds"],
            "en": capacity_meta(onemap, "en")["thresholds"],
        },
    }
    members = _json.dumps(extra, ensure_ascii=False).encode("utf-8")[1:-1]
    rest = head[1:].lstrip()
    sep = b"," if not rest.startswith(b"}") else b""
    return b"{" + members + sep + rest


def capacity_colors(onemap: OneMap) -> dict[str, str]:
    """Status → colour of the public capacity map, from the map's rule table (item 11).

    Parameters
    ----------
    onemap
        The served map (its own rule table, else the default).

    Returns
    -------
    dict
        Status (green, amber, red, unknown) → CSS colour, in the table's order.
    """
    return dict(resolve_rules(onemap).capacity_map.colors)


def filing_voltages(onemap: OneMap) -> list[float]:
    """Voltages (kV) the map's filing rule table knows, for the check page's choice.

    Parameters
    ----------
    onemap
        The served map (its own rule table, else the default).

    Returns
    -------
    list of float
        The voltages in the table's order.
    """
    return list(resolve_rules(onemap).filing.voltages_kv)


# --- readiness (onemap.connection) -------------------------------------------------------------


def preview_with_point(
    onemap: OneMap,
    lon: float,
    lat: float,
    kw: float,
    category: str,
    date: dt.date | None,
    lang: str,
) -> dict[str, Any]:
    """The preview JSON plus the connection points' lon/lat (looked up in the map by id).

    Parameters
    ----------
    onemap, lon, lat, kw, category, date, lang
        As :func:`preview_dict`.

    Returns
    -------
    dict
        The preview JSON; each connection point found in the map gains ``lon`` and ``lat``.
    """
    out = preview_dict(onemap, lon, lat, kw, category, date, lang)
    out["parcel"] = parcel_info(onemap, out.get("parcel_id"), lang)
    rules = resolve_rules(onemap)
    out["rules"] = f"{rules.meta.id}@{rules.meta.version}"
    for key in ("connection_point", "second_connection_point"):
        cp = out.get(key)
        if cp:
            where = asset_positions(onemap).get(cp.get("asset_id"))
            if where is not None:
                cp["lon"], cp["lat"] = where
    return out


def parcel_info(onemap: OneMap, parcel_id: Any, lang: str) -> dict[str, Any] | None:
    """Id, name and land use (code and name in ``lang``) of a parcel, or None.

    Parameters
    ----------
    onemap
        The served map.
    parcel_id
        The preview's ``parcel_id`` (None: the site is not inside a parcel).
    lang
        Language of the land-use name.

    Returns
    -------
    dict or None
        ``parcel_id``, ``name``, ``landuse_code``, ``landuse_name``.
    """
    if parcel_id is None:
        return None
    table = onemap.cached(
        "web:parcel_rows",
        lambda: {str(pid): i for i, pid in enumerate(onemap["landuse"]["parcel_id"].tolist())},
        layers=("landuse",),
    )
    row = table.get(str(parcel_id))
    if row is None:
        return None
    lu = onemap["landuse"]
    name = lu["name"].iloc[row] if "name" in lu.columns else None
    code = str(lu["landuse_code"].iloc[row])
    info = landuse_info(code)
    return {
        "parcel_id": str(parcel_id),
        "name": None if name is None or pd.isna(name) else str(name),
        "landuse_code": code,
        "landuse_name": info[lang] if info else None,
    }


_POSITION_LAYERS = (("assets", "asset_id"), ("substations", "substation_id"))


def asset_positions(onemap: OneMap) -> dict[Any, tuple[float, float]]:
    """Id → lon/lat (a point on the feature) of every asset and substation.

    An asset wins over a substation of the same id, the first feature over a later one. Built
    once per set of layer objects (:meth:`OneMap.cached`; a stored project replaces only
    ``projects``), so a preview looks its point up in a dict instead of scanning the layers.

    Parameters
    ----------
    onemap
        The served map.

    Returns
    -------
    dict
        Asset or substation id → (lon, lat).
    """

    def build() -> dict[Any, tuple[float, float]]:
        out: dict[Any, tuple[float, float]] = {}
        for name, column in reversed(_POSITION_LAYERS):
            gdf = onemap[name]
            pts = shapely.point_on_surface(gdf.geometry.to_numpy())
            x, y = shapely.get_x(pts), shapely.get_y(pts)
            ok = np.isfinite(x) & np.isfinite(y)  # a missing geometry has no position
            rows = zip(
                gdf[column].to_numpy()[ok].tolist(),
                zip(x[ok].tolist(), y[ok].tolist(), strict=True),
                strict=True,
            )
            # Reversed, so the first feature of an id is written last and wins.
            out.update(reversed(list(rows)))
        return out

    return onemap.cached(
        "web:asset_positions", build, layers=tuple(name for name, _ in _POSITION_LAYERS)
    )


def readiness_result(
    onemap: OneMap, kw: float | None = None, category: str | None = None, year: int | None = None
) -> ReadinessResult:
    """Readiness of every parcel (:func:`onemap.connection.bulk.readiness`).

    Parameters
    ----------
    onemap
        The served map.
    kw, category
        One load and category for every parcel; None: each parcel's own.
    year
        Answer for the map as it stands that year (:func:`onemap.grid.years.as_of`).

    Returns
    -------
    ReadinessResult
        The library's result.
    """
    return readiness(onemap, kw, category, year=year)


READINESS_KINDS = {"zones": "readiness", "hexagons": "h3", "parcels": "parcel_id"}


def readiness_views(
    result: ReadinessResult,
) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """Zones, H3 hexagons and parcels of a readiness result, and its district statistics.

    Parameters
    ----------
    result
        A readiness result.

    Returns
    -------
    views : dict
        Metric-CRS frames keyed as :data:`READINESS_KINDS`: one dissolved polygon per class,
        the hexagons with their class shares, the parcels.
    districts : pandas.DataFrame
        Per-district counts.
    """
    layer = result.layer
    views = {"zones": zones(layer), "hexagons": hexagons(layer), "parcels": layer}
    return views, districts(layer)
