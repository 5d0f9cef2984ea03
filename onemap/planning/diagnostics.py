"""Grid diagnostics: where the grid fails the plan (DESIGN §5, items 12 and 13).

Three checks, one ``diagnostics`` layer (one row per finding) and its table:

* ``supply_radius`` (item 12, 供电半径过长) — each parcel is supplied, as today's grid stands,
  from its nearest connection point by corridor distance, whatever that point's headroom: a
  transformer (or branch box) for low-voltage parcels, a ring main unit / switching station /
  transformer for 10/20 kV parcels. The low-voltage path (point → door) is compared with the
  0.4 kV supply radius of the parcel's supply class, and the 10 kV path (along the feeder from
  its substation to the point, plus point → door for 10/20 kV parcels) with the 10/20 kV radius.
  A finding names the transformer or feeder whose parcels lie beyond the radius.
* ``heavy_loading`` (item 12, 线路重载) — feeders and transformers whose peak load exceeds
  ``[diagnostics].heavy_loading_share`` of their nameplate.
* ``outage_over_target`` (item 13) — where parcels report ``outage_hours`` and ``area_type``,
  the mean per district and area type against ``[outage_target_hours]`` (city centre 1.5 h,
  urban 4 h, town 8 h, rural 12 h).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from onemap.connection.groups import connection_group
from onemap.geo.crs import STORAGE_CRS
from onemap.geo.mapfile import OneMap
from onemap.grid.forecast import forecast_load
from onemap.rules import Rules, resolve_rules

KINDS = ("supply_radius", "heavy_loading", "outage_over_target")
COLUMNS = [
    "kind",
    "layer",
    "subject_id",
    "voltage_kv",
    "district",
    "area_type",
    "value",
    "limit",
    "unit",
    "parcels",
    "policy_item",
    "message",
    "message_en",
]
_LABELS = {
    "feeder": "线路",
    "transformer": "配变",
    "branch_box": "分支箱",
    "ring_main_unit": "环网柜",
    "switching_station": "开闭所",
}


@dataclass
class Diagnostics:
    """The ``diagnostics`` layer (EPSG:4326) and what was checked."""

    layer: gpd.GeoDataFrame
    checked: dict[str, int]
    notes: list[str]

    @property
    def table(self) -> pd.DataFrame:
        """The layer without geometry."""
        return pd.DataFrame(self.layer.drop(columns="geometry"))

    @property
    def counts(self) -> dict[str, int]:
        vc = self.layer["kind"].value_counts()
        return {k: int(vc.get(k, 0)) for k in KINDS}

    def to_dict(self) -> dict[str, object]:
        rows = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {
            "counts": self.counts,
            "checked": self.checked,
            "findings": rows,
            "notes": self.notes,
        }


def diagnose(onemap: OneMap, rules: Rules | None = None) -> Diagnostics:
    """Run the three checks on ``onemap``; empty layers simply give no findings."""
    rules = resolve_rules(onemap, rules)
    fc = forecast_load(onemap, rules)
    notes: list[str] = []
    frames = [
        _heavy_loading(onemap, rules),
        _supply_radius(onemap, rules, fc, notes),
        _outage(onemap, rules, fc, notes),
    ]
    frames = [f for f in frames if len(f)]
    crs = onemap.crs_metric
    if frames:
        layer = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    else:
        layer = gpd.GeoDataFrame(columns=[*COLUMNS, "geometry"], geometry="geometry", crs=crs)
    layer = layer[[*COLUMNS, "geometry"]].to_crs(STORAGE_CRS)
    assets = onemap["assets"]
    checked = {
        "feeders": len(onemap["feeders"]),
        "transformers": int((assets["kind"] == "transformer").sum()) if len(assets) else 0,
        "parcels": len(fc),
        "parcels_with_outage_hours": int(
            pd.to_numeric(onemap["landuse"].get("outage_hours"), errors="coerce").notna().sum()
        )
        if "outage_hours" in onemap["landuse"]
        else 0,
    }
    return Diagnostics(layer.reset_index(drop=True), checked, notes)


# ------------------------------------------------------------------------------------------
# heavy loading


def _heavy_loading(onemap: OneMap, rules: Rules) -> pd.DataFrame:
    share = rules.diagnostics.heavy_loading_share
    item = rules.diagnostics.policy_item
    rows = []
    feeders = onemap.metric("feeders")
    if len(feeders):
        load = _ratio(feeders, "peak_load_mva", "capacity_mva")
        for r, ratio in zip(feeders.itertuples(index=False), load, strict=True):
            if ratio > share:
                rows.append(
                    _heavy_row(
                        "feeders",
                        r.feeder_id,
                        r.voltage_kv,
                        ratio,
                        share,
                        item,
                        r.geometry,
                        "线路",
                        "feeder",
                    )
                )
    assets = onemap.metric("assets")
    if len(assets):
        tx = assets[assets["kind"] == "transformer"]
        load = _ratio(tx, "peak_load_kva", "capacity_kva")
        for r, ratio in zip(tx.itertuples(index=False), load, strict=True):
            if ratio > share:
                rows.append(
                    _heavy_row(
                        "assets",
                        r.asset_id,
                        r.voltage_kv,
                        ratio,
                        share,
                        item,
                        r.geometry,
                        "配变",
                        "transformer",
                    )
                )
    return pd.DataFrame(rows)


def _ratio(frame: pd.DataFrame, peak: str, cap: str) -> np.ndarray:
    p = pd.to_numeric(frame.get(peak), errors="coerce").to_numpy(dtype=float)
    c = pd.to_numeric(frame.get(cap), errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(c > 0, p / c, np.nan)
    return np.nan_to_num(out, nan=-np.inf)  # unknown loading is never reported as heavy


def _heavy_row(layer, sid, volt, ratio, share, item, geom, zh, en) -> dict:
    return {
        "kind": "heavy_loading",
        "layer": layer,
        "subject_id": str(sid),
        "voltage_kv": float(volt),
        "district": "",
        "area_type": "",
        "value": round(float(ratio), 4),
        "limit": share,
        "unit": "share",
        "parcels": 0,
        "policy_item": item,
        "message": f"{zh} {sid} 负载率 {ratio:.0%}，超过重载阈值 {share:.0%}",
        "message_en": f"{en} {sid} loaded {ratio:.0%}, above the heavy-loading threshold "
        f"{share:.0%}",
        "geometry": geom,
    }


# ------------------------------------------------------------------------------------------
# supply radius


def _supply_radius(
    onemap: OneMap, rules: Rules, fc: gpd.GeoDataFrame, notes: list[str]
) -> pd.DataFrame:
    """Findings per transformer (0.4 kV path) and per feeder (10/20 kV path)."""
    from onemap.grid.headroom import headroom
    from onemap.routing.build import corridor_graph
    from onemap.routing.bulk import nearest_sources

    assets = onemap.metric("assets")
    if not len(assets) or not len(fc) or not len(onemap["roads"]):
        return pd.DataFrame()
    cg = corridor_graph(onemap, rules)
    table = headroom(onemap, rules)
    pts = table[table["layer"] == "assets"].reset_index(drop=True)
    along = _along_feeder(onemap, pts)
    groups = pd.Series(fc["category"]).map(lambda c: connection_group(rules, c)).to_numpy()
    doors = cg.parcel_node.reindex(fc["parcel_id"].astype(str)).to_numpy(dtype=float)
    door_rows = np.where(np.isnan(doors), -1, doors).astype(np.int64)
    conn = rules.connection
    item = rules.diagnostics.policy_item
    rows: list[dict] = []
    for volt, kinds, which in (
        (conn.lv_voltage_kv, conn.lv_point_kinds, "lv"),
        (conn.hv_voltage_kv, conn.hv_point_kinds, "hv"),
    ):
        members = np.flatnonzero(
            (groups == "lv") if which == "lv" else np.isin(groups, ["hv", "dual"])
        )
        members = members[door_rows[members] >= 0]
        cand = pts[pts["kind"].isin(kinds)]
        src = cg.asset_node.reindex(cand["asset_id"].astype(str)).to_numpy(dtype=float)
        keep = ~np.isnan(src)
        if not len(members) or not keep.any():
            continue
        src_rows = src[keep].astype(np.int64)
        cand_idx = cand.index.to_numpy()[keep]
        csr, _ = cg.csr(volt, False)
        dist, source, _ = nearest_sources(csr, src_rows)
        point_of_row = pd.Series(cand_idx, index=src_rows).groupby(level=0).first()
        d = dist[door_rows[members]]
        reached = np.isfinite(d)
        members, d = members[reached], d[reached]
        point = point_of_row.reindex(source[door_rows[members]]).to_numpy()
        sclass = fc["supply_class"].to_numpy()[members]
        if which == "lv":
            radius = _radii(rules, conn.lv_voltage_kv, sclass)
            rows += _radius_rows(
                pts,
                point,
                d,
                radius,
                members,
                fc,
                "assets",
                "asset_id",
                conn.lv_voltage_kv,
                item,
                onemap,
            )
            # the 10 kV part of an LV parcel's supply: substation → its transformer
            path = along[point]
        else:
            path = along[point] + d
        radius10 = _radii(rules, conn.hv_voltage_kv, sclass)
        rows += _radius_rows(
            pts,
            point,
            path,
            radius10,
            members,
            fc,
            "feeders",
            "feeder_id",
            conn.hv_voltage_kv,
            item,
            onemap,
        )
    if not rows:
        return pd.DataFrame()
    # one finding per subject (a feeder flagged by LV and HV parcels alike counts once)
    out = pd.DataFrame(rows)
    out = (
        out.sort_values("value", ascending=False)
        .groupby(["layer", "subject_id"])
        .agg(
            {
                **{c: "first" for c in out.columns if c not in ("layer", "subject_id", "parcels")},
                "parcels": "sum",
            }
        )
    )
    return out.reset_index()


def _radii(rules: Rules, volt: float, sclass: np.ndarray) -> np.ndarray:
    return rules.supply_radii(volt, sclass)


def _along_feeder(onemap: OneMap, pts: pd.DataFrame) -> np.ndarray:
    """Distance (m) along each point's feeder from its substation to the point (0 unknown)."""
    feeders = onemap.metric("feeders")
    subs = onemap.metric("substations")
    out = np.zeros(len(pts))
    if not len(feeders):
        return out
    line = pd.Series(feeders.geometry.to_numpy(), index=feeders["feeder_id"].astype(str))
    line = line[~line.index.duplicated()]
    sub_geom = pd.Series(subs.geometry.to_numpy(), index=subs["substation_id"].astype(str))
    sub_of = pd.Series(
        feeders["substation_id"].astype(str).to_numpy(),
        index=feeders["feeder_id"].astype(str).to_numpy(),
    )
    sub_of = sub_of[~sub_of.index.duplicated()]
    geoms = line.reindex(pts["feeder_id"].astype(str)).to_numpy()
    has = np.array([g is not None and not (isinstance(g, float)) for g in geoms])
    if not has.any():
        return out
    g = geoms[has]
    merged = shapely.line_merge(g)
    length = shapely.length(merged)
    pos = shapely.line_locate_point(merged, pts.geometry.to_numpy()[has])
    # measure from the end nearer the substation
    sub = sub_geom.reindex(sub_of.reindex(pts["feeder_id"].astype(str)).to_numpy()[has]).to_numpy()
    start = shapely.get_point(merged, 0)
    end = shapely.get_point(merged, -1)
    valid = np.array([s is not None and not isinstance(s, float) for s in sub])
    flip = np.zeros(len(g), dtype=bool)
    if valid.any():
        flip[valid] = shapely.distance(end[valid], sub[valid]) < shapely.distance(
            start[valid], sub[valid]
        )
    along = np.where(flip, length - pos, pos)
    out[has] = np.nan_to_num(along, nan=0.0)
    return out


def _radius_rows(pts, point, path, radius, members, fc, layer, id_col, volt, item, onemap):
    over = path > radius
    if not over.any():
        return []
    subj = pts[id_col].to_numpy(dtype=object)[point[over]]
    frame = pd.DataFrame(
        {
            "subject": subj,
            "path": path[over],
            "radius": radius[over],
            "district": fc["supply_area"].to_numpy()[members[over]],
        }
    )
    frame = frame[frame["subject"].astype(str) != ""]
    geoms = (
        pd.Series(
            onemap.metric("feeders").geometry.to_numpy(),
            index=onemap["feeders"]["feeder_id"].astype(str),
        )
        if layer == "feeders"
        else pd.Series(pts.geometry.to_numpy(), index=pts["asset_id"].astype(str))
    )
    geoms = geoms[~geoms.index.duplicated()]
    kind_of = pd.Series(pts["kind"].to_numpy(), index=pts["asset_id"].astype(str))
    kind_of = kind_of[~kind_of.index.duplicated()]
    rows = []
    for subject, grp in frame.groupby("subject"):
        worst = grp.loc[grp["path"].idxmax()]
        kind = "feeder" if layer == "feeders" else str(kind_of.get(str(subject), "transformer"))
        what_zh, what_en = _LABELS.get(kind, (kind, kind)), kind.replace("_", " ")
        rows.append(
            {
                "kind": "supply_radius",
                "layer": layer,
                "subject_id": str(subject),
                "voltage_kv": volt,
                "district": str(worst["district"]),
                "area_type": "",
                "value": round(float(worst["path"]), 1),
                "limit": float(worst["radius"]),
                "unit": "m",
                "parcels": len(grp),
                "policy_item": item,
                "message": f"{what_zh} {subject} 有 {len(grp)} 个地块超出 {volt:g} kV 供电半径 "
                f"{worst['radius']:.0f} m（最远 {worst['path']:.0f} m）",
                "message_en": f"{what_en} {subject}: {len(grp)} parcels beyond the {volt:g} kV "
                f"supply radius of {worst['radius']:.0f} m (farthest {worst['path']:.0f} m)",
                "geometry": geoms.get(str(subject)),
            }
        )
    return rows


# ------------------------------------------------------------------------------------------
# outage targets


def _outage(onemap: OneMap, rules: Rules, fc: gpd.GeoDataFrame, notes: list[str]) -> pd.DataFrame:
    parcels = onemap.metric("landuse")
    if "outage_hours" not in parcels or "area_type" not in parcels:
        return pd.DataFrame()
    hours = pd.to_numeric(parcels["outage_hours"], errors="coerce")
    area_type = parcels["area_type"].fillna("").astype(str)
    targets = {k: float(v) for k, v in rules.outage_target_hours.items() if k != "policy_item"}
    item = str(rules.outage_target_hours.get("policy_item", ""))
    known = hours.notna() & area_type.isin(list(targets))
    untyped = int((hours.notna() & ~area_type.isin(list(targets))).sum())
    if untyped:
        notes.append(f"{untyped} parcels report outage hours without a known area_type: skipped")
    if not known.any():
        return pd.DataFrame()
    frame = gpd.GeoDataFrame(
        {
            "district": fc["supply_area"].to_numpy()[known.to_numpy()],
            "area_type": area_type[known].to_numpy(),
            "hours": hours[known].to_numpy(),
        },
        geometry=parcels.geometry[known].to_numpy(),
        crs=parcels.crs,
    )
    rows = []
    labels = {"city_centre": "城市中心区", "urban": "市区", "town": "城镇", "rural": "农村"}
    for (district, atype), grp in frame.groupby(["district", "area_type"]):
        mean = float(grp["hours"].mean())
        target = targets[atype]
        if mean <= target:
            continue
        where = district or "—"
        rows.append(
            {
                "kind": "outage_over_target",
                "layer": "landuse",
                "subject_id": f"{where}/{atype}",
                "voltage_kv": np.nan,
                "district": district,
                "area_type": atype,
                "value": round(mean, 3),
                "limit": target,
                "unit": "h/year",
                "parcels": len(grp),
                "policy_item": item,
                "message": f"{where}（{labels.get(atype, atype)}）户均年停电 {mean:.2f} h，"
                f"超过目标 {target:g} h",
                "message_en": f"{where} ({atype}): mean annual outage {mean:.2f} h, above the "
                f"target of {target:g} h",
                "geometry": shapely.union_all(grp.geometry.to_numpy()),
            }
        )
    return pd.DataFrame(rows)
