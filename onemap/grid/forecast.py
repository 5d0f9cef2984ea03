"""Per-parcel load forecast, supply-area class and default connection category (DESIGN §5).

The load-density method of GB/T 50293-2014 (tables 4.3.3/4.3.4, mid-points of the cited ranges,
rule table ``[load_forecast]``): building area × W/m² where the building area is known
(``building_area_m2``, or land area × ``far``) and the load class has a building density, land
area × kW/ha otherwise, times the demand (simultaneity) factor. A parcel's own
``planned_load_kw`` overrides the estimate. The supply-area class (A+ … E, ``[supply_class]``)
comes from the load density σ of the parcel's supply area (its ``district``, or its H3 hexagon
with ``[supply_class].basis = "h3"``), and the default
category from the load class and the load (item 8: LV up to ``lv_max_kw``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from onemap.geo.layers import landuse_info
from onemap.geo.mapfile import OneMap
from onemap.rules import Rules, resolve_rules
from onemap.units import KW_M2_TO_MW_KM2, M2_PER_HA, W_PER_KW


def load_class_of(codes: pd.Series) -> pd.Series:
    """Load class (residential, commercial, …) of each 用地用海 code, '' where unknown."""
    unique = {c: (landuse_info(str(c)) or {}).get("load", "") for c in codes.dropna().unique()}
    return codes.map(unique).fillna("")


def _density_mid(table: dict[str, list[float]], classes: pd.Series) -> np.ndarray:
    mids = {k: float(np.mean(v)) for k, v in table.items()}
    return classes.map(mids).to_numpy(dtype=float)


def forecast_load(onemap: OneMap, rules: Rules | None = None) -> gpd.GeoDataFrame:
    """Forecast load, supply class and default category of every parcel.

    Returns a GeoDataFrame in the map's metric CRS, one row per ``landuse`` row (same order) with
    ``parcel_id``, ``load_class``, ``area_m2``, ``building_area_m2`` (used, NaN when the land area
    was used), ``basis`` (``planned`` / ``building`` / ``land`` / ``none``), ``density`` (W/m² or
    kW/ha used), ``load_kw``, ``district``, ``supply_area`` (district or H3 cell),
    ``density_mw_km2`` (σ of the supply area), ``supply_class``, ``category``, ``residential``
    (bool), ``new_residential`` (residential and planned: item 9) and ``status``.
    ``attrs["source"]`` names the density table.
    """
    rules = resolve_rules(onemap, rules)
    lf = rules.load_forecast
    parcels = onemap.metric("landuse")
    out = gpd.GeoDataFrame(
        {"parcel_id": parcels["parcel_id"].to_numpy()}, geometry=parcels.geometry.values
    ).set_crs(parcels.crs, allow_override=True)
    load_class = load_class_of(parcels["landuse_code"]).reset_index(drop=True)
    out["load_class"] = load_class.to_numpy()
    area = parcels.geometry.area.to_numpy()
    out["area_m2"] = area

    bldg = _column(parcels, "building_area_m2")
    far = _column(parcels, "far")
    bldg = np.where(np.isnan(bldg), area * far, bldg)
    w_m2 = _density_mid(lf.building_w_m2, load_class)
    kw_ha = _density_mid(lf.land_kw_ha, load_class)
    use_building = ~np.isnan(bldg) & ~np.isnan(w_m2)
    by_building = bldg * w_m2 / W_PER_KW * lf.demand_factor
    by_land = area / M2_PER_HA * kw_ha * lf.demand_factor
    planned = _column(parcels, "planned_load_kw")
    has_planned = ~np.isnan(planned)
    load = np.where(has_planned, planned, np.where(use_building, by_building, by_land))
    basis = np.where(
        has_planned,
        "planned",
        np.where(use_building, "building", np.where(np.isnan(kw_ha), "none", "land")),
    )
    load = np.nan_to_num(load, nan=0.0)
    out["building_area_m2"] = np.where(use_building & ~has_planned, bldg, np.nan)
    out["basis"] = basis
    out["density"] = np.where(use_building, w_m2, kw_ha)
    out["load_kw"] = load

    district = (
        parcels["district"].fillna("").astype(str).to_numpy()
        if "district" in parcels
        else np.full(len(parcels), "")
    )
    out["district"] = district
    out["supply_area"] = supply_areas(parcels, district, rules)
    sums = out.groupby("supply_area")[["load_kw", "area_m2"]].sum()
    sigma = (sums["load_kw"] / sums["area_m2"].where(sums["area_m2"] > 0)).fillna(0.0)
    sigma = sigma * KW_M2_TO_MW_KM2
    out["density_mw_km2"] = out["supply_area"].map(sigma).to_numpy()
    classes = {a: rules.supply_class.classify(float(s)) for a, s in sigma.items()}
    out["supply_class"] = out["supply_area"].map(classes).to_numpy()

    out["category"] = default_categories(load_class, load, rules)
    residential = load_class.isin(rules.tariff.residential_load_classes).to_numpy()
    status = (
        parcels["status"].fillna("existing").astype(str).to_numpy()
        if "status" in parcels
        else np.full(len(parcels), "existing")
    )
    out["status"] = status
    out["residential"] = residential
    out["new_residential"] = residential & (status == "planned")
    out.attrs["source"] = lf.source
    return out


def supply_areas(parcels: gpd.GeoDataFrame, district: np.ndarray, rules: Rules) -> np.ndarray:
    """The supply area of each parcel whose load density σ decides its supply class.

    ``[supply_class].basis = "district"``: the parcel's ``district`` (parcels without one form
    one area). ``"h3"``: the H3 hexagon (``h3_resolution``) holding a point on the parcel, so a
    district mixing a dense core and open land is classed cell by cell.
    """
    sc = rules.supply_class
    if sc.basis == "district" or not len(parcels):
        return district
    import h3

    pts = gpd.GeoSeries(parcels.geometry.representative_point(), crs=parcels.crs).to_crs(4326)
    # h3 4.x indexes one point per call (no array API in the plain binding)
    cells = zip(pts.x.to_numpy(), pts.y.to_numpy(), strict=True)
    return np.array(
        [h3.latlng_to_cell(lat, lon, sc.h3_resolution) for lon, lat in cells],
        dtype=object,
    )


def default_categories(load_class: pd.Series, load_kw: np.ndarray, rules: Rules) -> np.ndarray:
    """The category each parcel asks for by default (rule table ``[load_forecast.categories]``).

    At or below ``lv_max_kw`` (item 8) the class's LV category, above it the class's HV category,
    and above ``hv_single``'s ``max_kw`` ``hv_35kv_plus``.
    """
    lf = rules.load_forecast
    pairs = {c: lf.category_for(c) for c in load_class.unique()}
    low = load_class.map({c: pair[0] for c, pair in pairs.items()}).to_numpy(dtype=object)
    high = load_class.map({c: pair[1] for c, pair in pairs.items()}).to_numpy(dtype=object)
    cat = np.where(load_kw <= rules.connection.lv_max_kw, low, high)
    limits = {c: rules.category(str(c)).max_kw or np.inf for c in set(cat)}
    above = pd.Series(cat).map(limits).to_numpy(dtype=float)
    return np.where(load_kw > above, "hv_35kv_plus", cat).astype(object)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
