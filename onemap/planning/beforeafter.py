"""Before/after: the map with proposed substations added as hypothetical assets (DESIGN §5).

A proposed site becomes what a planner would draw: a new substation (``[substation]``
``new_substation_kv`` / ``new_substation_mva``), its 10 kV feeders along the corridor graph to
the parcels it serves (bundled up to ``new_feeder_mva`` each) and, at each served parcel's door,
the connection point the parcel's category uses — a distribution transformer of the smallest
standard size (``transformer_kva``) for low voltage, a ring main unit on the new feeder for
10/20 kV; ≥ 35 kV parcels connect at the substation itself. Nothing is loaded yet (peak 0): the
after-readiness asks, as the before-readiness does, whether each parcel's own forecast load fits.

Added rows carry ``status = "existing"`` — the after map is the map *as if built*, so that
readiness sees them exactly as it sees any asset — and ``plan_site``, the site they belong to
(empty on the original rows), so the plan stays recognisable in the written GeoPackage.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from onemap.connection.results import ReadinessResult
from onemap.geo.crs import STORAGE_CRS
from onemap.geo.mapfile import OneMap
from onemap.lang import CLASSES
from onemap.rules import Rules
from onemap.units import KVA_PER_MVA

PLAN_COLUMN = "plan_site"


@dataclass
class Allocation:
    """Parcels a site serves: ``parcel_id``, ``load_kw``, ``group`` (lv/hv/dual/ehv), ``door``
    (metric Point) and ``path`` (metric LineString from the site to the door) per row."""

    site_id: str
    substation_id: str
    point: shapely.Point  # metric
    parcels: pd.DataFrame


def transformer_size_kva(load_kva: float, rules: Rules) -> float:
    """Smallest standard transformer (``[substation].transformer_kva``) carrying ``load_kva``;
    a load above every standard size gets its own rating."""
    sizes = sorted(rules.substation.transformer_kva)
    fits = [s for s in sizes if s >= load_kva]
    return float(fits[0]) if fits else float(np.ceil(load_kva))


def feeder_bundles(load_kva: np.ndarray, limit_kva: float) -> np.ndarray:
    """Feeder number per load: first-fit decreasing into feeders of ``limit_kva``; a load above
    the limit gets a feeder of its own."""
    bundle = np.full(load_kva.size, -1)
    room: list[float] = []
    for i in np.argsort(-load_kva, kind="stable"):
        fit = next((b for b, r in enumerate(room) if load_kva[i] <= r), None)
        if fit is None:
            room.append(max(limit_kva - load_kva[i], 0.0))
            bundle[i] = len(room) - 1
        else:
            room[fit] -= load_kva[i]
            bundle[i] = fit
    return bundle


def hypothetical_layers(
    onemap: OneMap, allocations: list[Allocation], rules: Rules
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The substations, feeders and assets a plan adds (metric CRS)."""
    sub = rules.substation
    pf = rules.connection.power_factor
    crs = onemap.crs_metric
    subs, feeders, assets = [], [], []
    for alloc in allocations:
        subs.append(
            {
                "substation_id": alloc.substation_id,
                "voltage_kv": sub.new_substation_kv,
                "capacity_mva": sub.new_substation_mva,
                "peak_load_mva": 0.0,
                "name": f"规划变电站 {alloc.substation_id}（方案）",
                "status": "existing",
                PLAN_COLUMN: alloc.site_id,
                "geometry": alloc.point,
            }
        )
        served = alloc.parcels
        via_feeder = served[served["group"] != "ehv"].reset_index(drop=True)
        if not len(via_feeder):
            continue
        kva = via_feeder["load_kw"].to_numpy(dtype=float) / pf
        bundle = feeder_bundles(kva, sub.new_feeder_mva * KVA_PER_MVA)
        for b in range(int(bundle.max()) + 1):
            members = via_feeder[bundle == b]
            fid = f"{alloc.substation_id}-F{b + 1:02d}"
            geom = shapely.line_merge(shapely.union_all(members["path"].to_numpy()))
            feeders.append(
                {
                    "feeder_id": fid,
                    "substation_id": alloc.substation_id,
                    "voltage_kv": sub.new_feeder_kv,
                    "capacity_mva": max(sub.new_feeder_mva, kva[bundle == b].max() / KVA_PER_MVA),
                    "peak_load_mva": 0.0,
                    "name": f"规划10kV出线 {fid}（方案）",
                    "status": "existing",
                    PLAN_COLUMN: alloc.site_id,
                    "geometry": geom,
                }
            )
            for n, row in enumerate(members.itertuples(index=False), start=1):
                lv = row.group == "lv"
                assets.append(
                    {
                        "asset_id": f"{fid}-{'T' if lv else 'R'}{n:03d}",
                        "kind": "transformer" if lv else "ring_main_unit",
                        "voltage_kv": sub.new_feeder_kv,
                        "feeder_id": fid,
                        "capacity_kva": transformer_size_kva(row.load_kw / pf, rules)
                        if lv
                        else np.nan,
                        "peak_load_kva": 0.0 if lv else np.nan,
                        "name": f"规划{'配变' if lv else '环网柜'} → {row.parcel_id}（方案）",
                        "status": "existing",
                        PLAN_COLUMN: alloc.site_id,
                        "geometry": row.door,
                    }
                )

    def frame(rows, columns):
        if not rows:
            return gpd.GeoDataFrame(columns=[*columns, "geometry"], geometry="geometry", crs=crs)
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)

    return (
        frame(subs, ["substation_id", PLAN_COLUMN]),
        frame(feeders, ["feeder_id", PLAN_COLUMN]),
        frame(assets, ["asset_id", PLAN_COLUMN]),
    )


def with_sites(onemap: OneMap, allocations: list[Allocation], rules: Rules) -> OneMap:
    """A new :class:`OneMap`: ``onemap`` plus the plan's substations, feeders and points."""
    added = dict(
        zip(
            ("substations", "feeders", "assets"),
            hypothetical_layers(onemap, allocations, rules),
            strict=True,
        )
    )
    layers = dict(onemap.layers)
    for name, extra in added.items():
        base = onemap[name].copy()
        base[PLAN_COLUMN] = ""
        if len(extra):
            extra = extra.to_crs(STORAGE_CRS)
            columns = list(dict.fromkeys([*base.columns, *extra.columns]))
            # all-NA columns are left out of the concat (pandas dtype rules), then restored
            frames = [f.dropna(axis=1, how="all") for f in (base, extra) if len(f)]
            base = pd.concat(frames, ignore_index=True).reindex(columns=columns)
            base = gpd.GeoDataFrame(base, geometry="geometry", crs=STORAGE_CRS)
        layers[name] = base
    meta = {
        **onemap.meta,
        "plan": {
            "sites": [a.site_id for a in allocations],
            "substations": [a.substation_id for a in allocations],
            "rules": rules.meta.id,
        },
    }
    return OneMap(layers=layers, crs_metric=onemap.crs_metric, meta=meta)


def district_stats(result: ReadinessResult) -> pd.DataFrame:
    """Per district: parcels, count per class and the forecast load (kW) of class-D parcels."""
    layer = result.layer
    district = layer["district"].fillna("").astype(str).replace("", "—")
    counts = pd.crosstab(district, layer["readiness"]).reindex(columns=list(CLASSES), fill_value=0)
    d_load = layer["requested_kw"].where(layer["readiness"] == "D", 0.0).groupby(district).sum()
    out = counts.assign(parcels=counts.sum(axis=1), d_load_kw=d_load)
    out.index.name = "district"
    out.columns.name = None
    return out[["parcels", *CLASSES, "d_load_kw"]]


def compare(before: ReadinessResult, after: ReadinessResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Before/after tables: per district (``before_A`` … ``after_d_load_kw``, with a ``全部``
    total row) and per parcel (``parcel_id``, ``before``, ``after``, ``changed``)."""
    b, a = district_stats(before), district_stats(after)
    table = pd.concat([b.add_prefix("before_"), a.add_prefix("after_")], axis=1).fillna(0)
    table.loc["全部"] = table.sum()
    for col in table.columns:
        if not col.endswith("_kw"):
            table[col] = table[col].astype(int)
    parcels = pd.DataFrame(
        {
            "parcel_id": before.layer["parcel_id"].to_numpy(),
            "district": before.layer["district"].to_numpy(),
            "requested_kw": before.layer["requested_kw"].to_numpy(),
            "before": before.layer["readiness"].to_numpy(),
            "after": after.layer["readiness"].to_numpy(),
        }
    )
    parcels["changed"] = parcels["before"] != parcels["after"]
    return table.reset_index(), parcels
