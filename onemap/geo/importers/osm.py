"""OpenStreetMap import: roads with cross-sections, land use and power into one-map layers.

The reader is pyosmium (libosmium): it streams ``.osm.pbf``, ``.osm`` and ``.osm.bz2`` with
node locations kept in libosmium's own index (not Python objects) and assembles multipolygon
areas in C++; only tagged objects of interest reach Python, and their geometries arrive as WKB
that shapely turns into arrays in chunks. Memory thus grows with what is imported, not with the
extract. Geometry work after reading is vectorised (shapely 2, STRtree, numpy).

What is read (tags → layers, mapping tables in ``data/osm_import.toml``):

- ``highway=*`` ways → ``roads``; the cross-section from tags
  (:mod:`onemap.geo.importers.osm_tags`),
  separately mapped ``footway=sidewalk`` and ``highway=cycleway`` ways matched to the road
  they run beside (proximity and direction) and turned into that side's strip; foot and cycle
  ways that are not matched become corridors of their own (class ``path``). Crossings of a
  carriageway (``footway=crossing``) are not corridors and are skipped (DESIGN §2).
- ``landuse``/``amenity``/``leisure``/``power``/``building`` areas → ``landuse`` with
  用地用海 codes; values the table does not map are counted; a building inside a mapped
  parcel is not a parcel of its own (counted).
- ``power=*`` → ``substations`` (highest voltage ≥ ``hv_min_kv``), ``assets`` (MV/LV stations,
  transformers, poles, switches, cabinets) and ``feeders`` (10/20 kV lines and cables).
  Capacities come only from a ``rating`` tag; otherwise they stay NaN (unknown). OSM does not
  say which feeder an asset hangs on or which substation feeds a line: ``feeder_id`` of assets
  and ``substation_id`` of feeders are written as ``""`` (unknown).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import osmium.version
import pandas as pd
import shapely

from onemap.geo.crs import STORAGE_CRS, metric_crs_for_bounds
from onemap.geo.importers.osm_match import _apply_matches, _medians, _narrow_to_mapped, match_beside
from onemap.geo.importers.osm_read import (
    load_table,
    read_osm,
)
from onemap.geo.importers.osm_tags import (
    DEFAULT,
    MAPPED,
    PROVENANCES,
    SIDES,
    STRIPS,
    TAGGED,
    grade,
    infer_cross_section,
    parse_rating_kva,
    parse_voltage_kv,
)
from onemap.geo.importers.report import ImportReport, write_layers
from onemap.geo.layers import cross_section_table, road_class_of
from onemap.geo.schema import LAYERS
from onemap.units import KVA_PER_MVA


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series(None, index=df.index, dtype=object)


def build_roads(ways: gpd.GeoDataFrame, report: ImportReport, table: dict) -> gpd.GeoDataFrame:
    """The ``roads`` layer from ``highway=*`` ways (see the module doc)."""
    if ways.empty:
        return ways
    ways = ways.reset_index(drop=True)
    xs = cross_section_table()
    od = xs["osm_defaults"]
    known = set(xs["classes"]) | set(xs["aliases"])
    hw = _col(ways, "highway").astype(str)
    area = _col(ways, "area") == "yes"
    unknown = ~hw.isin(known - {"default"})
    service = _col(ways, "service")
    private = hw.eq("service") & (
        service.isin(od["private_service"]) | _col(ways, "access").isin(od["private_access"])
    )
    for value, n in hw[unknown].value_counts().items():
        report.skip(f"highway={value} is not a road corridor", int(n))
    report.skip("highway drawn as an area (area=yes)", int((area & ~unknown).sum()))
    report.skip(
        "private service road or parking aisle (access=private, service=parking_aisle): "
        "not a public corridor",
        int((private & ~area & ~unknown).sum()),
    )
    ways = ways[~(unknown | area | private)].reset_index(drop=True)
    hw = ways["highway"].astype(str)
    records = [_tags(r) for r in ways.drop(columns="geometry").to_dict("records")]
    sections = [infer_cross_section(t) for t in records]
    grades = [grade(t) for t in records]
    roads = pd.DataFrame({"road_id": "osm-" + ways["osm"], "highway": hw})
    for strip in STRIPS:
        roads[strip] = [s.widths[strip] for s in sections]
        roads[f"{strip}_src"] = [s.sources[strip] for s in sections]
        roads[f"{strip}_sep"] = [s.separate.get(strip, False) for s in sections]
    for sec in sections:
        for value in sec.unknown_values:
            report.unmapped[value] += 1
    roads["strip_kind"] = [s.strip_kind for s in sections]
    roads["level"] = [g[0] for g in grades]
    roads["structure"] = [g[1] for g in grades]
    roads["crossover"] = hw.eq("service") & _col(ways, "service").isin(od["crossover_service"])
    roads["road_class"] = hw.map(road_class_of)
    roads["name"] = _col(ways, "name").fillna("").to_numpy()
    roads = gpd.GeoDataFrame(roads, geometry=ways.geometry.values, crs=STORAGE_CRS)

    kind = roads["strip_kind"].to_numpy()
    motor = kind == ""
    metric = roads.to_crs(metric_crs_for_bounds(tuple(roads.total_bounds)))
    geoms = metric.geometry.values
    road_len = shapely.length(geoms[motor])
    params = table["matching"]
    motor_idx = np.flatnonzero(motor)
    motor_roads = roads.iloc[motor_idx].reset_index(drop=True)
    stats: dict[str, int] = {}
    stats["median_sides"] = _medians(motor_roads, geoms[motor], records, motor_idx, od)
    offsets = []
    cycle = hw.eq("cycleway").to_numpy() & (kind != "sidewalk")  # shared foot-cycle ways too
    for prefix, cand_mask in (("sidewalk", kind == "sidewalk"), ("bike", cycle)):
        allowed = np.stack(
            [
                ~(
                    (motor_roads[f"{prefix}_{s}_src"] == TAGGED)
                    & (motor_roads[f"{prefix}_{s}"] == 0)
                    & ~motor_roads[f"{prefix}_{s}_sep"]
                )
                for s in SIDES
            ],
            axis=1,
        )
        cand_idx = np.flatnonzero(cand_mask)
        pieces, share = match_beside(geoms[motor], allowed, geoms[cand_idx], params)
        took = share >= params["min_share"]
        pieces = pieces[took[pieces["cand"].to_numpy()]] if len(pieces) else pieces
        taken = _apply_matches(prefix, motor_roads, road_len, pieces, params)
        half = od["sidewalk_way_m" if prefix == "sidewalk" else "cycleway_m"] / 2
        offsets.append(taken.assign(half=half))
        name = "footway_sidewalk" if prefix == "sidewalk" else "cycleway"
        stats[f"{name}_ways"] = len(cand_idx)
        stats[f"{name}_matched"] = int(took.sum())
        stats[f"{name}_own_corridor"] = int((~took).sum())
        stats[f"{prefix}_sides_mapped"] = len(taken)
    both = pd.concat(offsets, ignore_index=True)
    stats["carriageways_narrowed_to_mapped_ways"] = _narrow_to_mapped(motor_roads, both)
    unmatched = 0
    for p in ("sidewalk", "bike"):
        for side in SIDES:
            sep = motor_roads[f"{p}_{side}_sep"].to_numpy(dtype=bool)
            # tagged "separate" but no way found beside it: nothing is invented there
            motor_roads.loc[sep, f"{p}_{side}"] = 0.0
            motor_roads.loc[sep, f"{p}_{side}_src"] = DEFAULT
            unmatched += int(sep.sum())
    stats["separate_sides_unmatched"] = unmatched
    for col in motor_roads.columns.drop("geometry"):
        roads.loc[roads.index[motor_idx], col] = motor_roads[col].to_numpy()
    # a way that is a strip of its own has its position mapped; its width tagged or default
    for strip in STRIPS:
        own = ~motor & (roads[f"{strip}_src"].to_numpy() == DEFAULT)
        roads.loc[own, f"{strip}_src"] = MAPPED
    report.matching.update(stats)
    report.notes.append(
        "cross-section defaults: data/cross_sections.toml [osm_defaults] "
        f"({od['source']}): silent sides get no bike lane and no green belt; default "
        f"sidewalks only on {', '.join(od['sidewalk_classes'])} roads"
    )

    sources = roads[[f"{s}_src" for s in STRIPS]].to_numpy()
    roads["xs_source"] = [
        ";".join(f"{s}={v}" for s, v in zip(STRIPS, row, strict=True)) for row in sources
    ]
    widths = roads[list(STRIPS)].to_numpy(dtype=float)
    for i, strip in enumerate(STRIPS):
        present = widths[:, i] > 0
        counts = pd.Series(sources[present, i]).value_counts()
        report.fills[strip] = {k: int(counts.get(k, 0)) for k in PROVENANCES}
    n_motor = max(int(motor.sum()), 1)
    tagged_any = ways.columns[ways.columns.str.startswith(("sidewalk", "cycleway"))]
    for label, cols in (
        ("roads_with_sidewalk_tags", [c for c in tagged_any if c.startswith("sidewalk")]),
        ("roads_with_cycleway_tags", [c for c in tagged_any if c.startswith("cycleway")]),
        ("roads_with_width", ["width"]),
        ("roads_with_lanes", [c for c in ways.columns if c.startswith("lanes")]),
    ):
        present = ways[[c for c in cols if c in ways.columns]].notna().any(axis=1).to_numpy()
        report.coverage[label] = float((present & motor).sum()) / n_motor
    keep = [c.name for c in LAYERS["roads"].columns] + ["highway", "geometry"]
    keep += [c for c in ("strip_kind", "level", "structure", "crossover") if c not in keep]
    roads = roads.rename(columns={f"{s}": f"{s}_m" for s in STRIPS if s != "motor_width"})
    roads = roads.rename(columns={"motor_width": "motor_width_m"})
    return roads[keep]


def _nan(value: float | None) -> float:
    return np.nan if value is None else value


def _tags(record: dict) -> dict[str, str]:
    return {k: v for k, v in record.items() if isinstance(v, str) and k != "osm"}


# --------------------------------------------------------------------------- land use


def build_landuse(areas: gpd.GeoDataFrame, report: ImportReport, table: dict) -> gpd.GeoDataFrame:
    """The ``landuse`` layer: areas whose tags map to a 用地用海 code (first key wins)."""
    mapping = table["landuse"]
    keys = [k for k in mapping["keys"] if k in areas.columns]
    if areas.empty or not keys:
        return gpd.GeoDataFrame(geometry=[], crs=STORAGE_CRS)
    # Chunks of the reader repeat index labels: align every Series on positions.
    areas = areas.reset_index(drop=True)
    code = pd.Series(None, index=areas.index, dtype=object)
    source = pd.Series(None, index=areas.index, dtype=object)
    first_tag = pd.Series(None, index=areas.index, dtype=object)
    for key in keys:
        values = areas[key]
        mapped = values.map(mapping.get(key, {}))
        take = code.isna() & mapped.notna()
        code[take] = mapped[take]
        source[take] = key
        tag = key + "=" + values.astype(str)
        first_tag = first_tag.where(first_tag.notna() | values.isna(), tag)
    unmapped = code.isna() & first_tag.notna()
    for tag, n in first_tag[unmapped].value_counts().items():
        report.unmapped[tag] += int(n)
    has = code.notna()
    # (an empty frame would adopt a whole Series' index on assignment: select first)
    parcels = areas[has].assign(landuse_code=code[has], mapped_by=source[has])
    parcels["osm_tag"] = [
        f"{k}={r[k]}" for k, r in zip(parcels["mapped_by"], parcels.to_dict("records"), strict=True)
    ]
    is_building = (parcels["mapped_by"] == "building").to_numpy()
    geoms = parcels.geometry.values
    if is_building.any() and (~is_building).any():
        tree = shapely.STRtree(geoms[~is_building])
        inside, _ = tree.query(shapely.point_on_surface(geoms[is_building]), predicate="within")
        drop = np.flatnonzero(is_building)[np.unique(inside)]
        report.skip("building inside a mapped land-use parcel (not a parcel of its own)", len(drop))
        parcels = parcels.drop(index=parcels.index[drop])
    out = gpd.GeoDataFrame(
        {
            "parcel_id": "osm-" + parcels["osm"],
            "landuse_code": parcels["landuse_code"],
            "name": _col(parcels, "name").fillna(""),
            "status": "existing",
            "osm_tag": parcels["osm_tag"],
        },
        geometry=parcels.geometry.values,
        crs=STORAGE_CRS,
    )
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- power


def _power_class(tags: dict, params: dict) -> tuple[str, str | None]:
    """(layer, asset kind) for one power feature, or ("skip", reason)."""
    power = tags.get("power")
    volts = parse_voltage_kv(tags.get("voltage"))
    if power == "substation":
        sub = tags.get("substation", "")
        if volts and volts[0] >= params["hv_min_kv"]:
            return "substations", None
        if volts:
            return "assets", "transformer" if volts[-1] <= params[
                "lv_max_kv"
            ] else "switching_station"
        if sub == "minor_distribution":
            return "assets", "transformer"
        return "substations", None
    if power == "transformer":
        primary = parse_voltage_kv(tags.get("voltage:primary")) or volts
        if primary and primary[0] >= params["hv_min_kv"]:
            return "skip", f"power=transformer at {primary[0]:g} kV belongs to a HV substation"
        return "assets", "transformer"
    if power in params["assets"]:
        return "assets", params["assets"][power]
    return "skip", f"power={power} is not a distribution asset"


def build_power(
    points: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    report: ImportReport,
    table: dict,
) -> dict[str, gpd.GeoDataFrame]:
    """``substations``, ``assets`` and ``feeders`` from power nodes, areas and lines."""
    params = table["power"]
    feats = [f for f in (points, areas) if not f.empty and "power" in f.columns]
    feats = [f[f["power"].notna()] for f in feats]
    allp = pd.concat(feats, ignore_index=True) if feats else pd.DataFrame()
    out: dict[str, gpd.GeoDataFrame] = {}
    if len(allp):
        allp = gpd.GeoDataFrame(allp, geometry="geometry", crs=STORAGE_CRS)
        records = allp.drop(columns="geometry").to_dict("records")
        klass = [_power_class(_tags(r), params) for r in records]
        layer = np.array([k[0] for k in klass])
        for reason in (k[1] for k in klass if k[0] == "skip"):
            report.skip(reason)
        volts = [parse_voltage_kv(r.get("voltage")) for r in records]
        vmax = np.array([v[0] if v else np.nan for v in volts])
        rating = np.array([parse_rating_kva(r.get("rating")) or np.nan for r in records])
        ids = "osm-" + allp["osm"]
        names = _col(allp, "name").fillna("")
        sel = layer == "substations"
        if sel.any():
            out["substations"] = gpd.GeoDataFrame(
                {
                    "substation_id": ids[sel].to_numpy(),
                    "voltage_kv": vmax[sel],
                    "capacity_mva": rating[sel] / KVA_PER_MVA,
                    "peak_load_mva": np.nan,
                    "name": names[sel].to_numpy(),
                    "status": "existing",
                },
                geometry=allp.geometry.values[sel],
                crs=STORAGE_CRS,
            )
        sel = layer == "assets"
        if sel.any():
            kinds = np.array([k[1] for k in klass], dtype=object)[sel]
            primary = [
                parse_voltage_kv(r.get("voltage:primary"))
                for r in np.array(records, dtype=object)[sel]
            ]
            v = np.array([p[0] if p else x for p, x in zip(primary, vmax[sel], strict=True)])
            out["assets"] = gpd.GeoDataFrame(
                {
                    "asset_id": ids[sel].to_numpy(),
                    "kind": kinds,
                    "voltage_kv": v,
                    "feeder_id": "",
                    "name": names[sel].to_numpy(),
                    "capacity_kva": np.where(kinds == "transformer", rating[sel], np.nan),
                    "peak_load_kva": np.nan,
                    "status": "existing",
                    "power": allp["power"].to_numpy()[sel],
                },
                geometry=shapely.point_on_surface(allp.geometry.values[sel]),
                crs=STORAGE_CRS,
            )
    if not lines.empty and "power" in lines.columns:
        is_feeder = lines["power"].isin(params["feeder_kinds"]).to_numpy()
        # closed non-feeder ways (substation outlines) are read as areas, not lines
        open_ways = ~shapely.is_closed(lines.geometry.values)
        for value, n in lines.loc[~is_feeder & open_ways, "power"].value_counts().items():
            report.skip(f"power={value} way is not a feeder", int(n))
        fl = lines[is_feeder]
        allowed = LAYERS["feeders"].column("voltage_kv").allowed
        volt_lists = [parse_voltage_kv(v) for v in _col(fl, "voltage")]
        fv = np.array(
            [
                max((x for x in v if x in allowed), default=np.nan) if v else np.nan
                for v in volt_lists
            ],
            dtype=float,
        )
        bad = np.array([bool(v) for v in volt_lists], dtype=bool) & np.isnan(fv)
        # low-voltage mains and cables (all voltages at or below lv_max_kv) are LV lines
        lv = bad & np.array(
            [bool(v) and max(v) <= params["lv_max_kv"] for v in volt_lists], dtype=bool
        )
        if lv.any():
            out["lines"] = _lv_lines(fl[lv], [volt_lists[i] for i in np.flatnonzero(lv)])
        for i in np.flatnonzero(bad & ~lv):
            v, kind = volt_lists[i], fl["power"].iloc[i]
            report.skip(
                f"power={kind} at {'/'.join(f'{x:g}' for x in v)} kV is not a 10/20 kV feeder"
            )
        fl, fv = fl[~bad], fv[~bad]
        if len(fl):
            out["feeders"] = gpd.GeoDataFrame(
                {
                    "feeder_id": ("osm-" + fl["osm"]).to_numpy(),
                    "substation_id": "",
                    "voltage_kv": fv,
                    "capacity_mva": np.nan,
                    "peak_load_mva": np.nan,
                    "name": _col(fl, "name").fillna("").to_numpy(),
                    "status": "existing",
                    "power": fl["power"].to_numpy(),
                },
                geometry=fl.geometry.values,
                crs=STORAGE_CRS,
            )
            report.notes.append(
                f"{int(np.isnan(fv).sum())} feeders without a voltage tag keep voltage_kv unknown"
            )
    return out


def _lv_lines(ways: gpd.GeoDataFrame, volts: list[list[float]]) -> gpd.GeoDataFrame:
    """The ``lines`` layer rows of OSM low-voltage power lines and cables (their own voltage,
    kind as ``type``; the LV network they belong to is not in OSM: ``transformer_id`` "")."""
    metric = ways.to_crs(metric_crs_for_bounds(tuple(ways.total_bounds)))
    return gpd.GeoDataFrame(
        {
            "line_id": ("osm-" + ways["osm"]).to_numpy(),
            "voltage_kv": [max(v) for v in volts],
            "transformer_id": "",
            "type": ways["power"].to_numpy(),
            "length_m": shapely.length(metric.geometry.values),
            "status": "existing",
            "name": _col(ways, "name").fillna("").to_numpy(),
        },
        geometry=ways.geometry.values,
        crs=STORAGE_CRS,
    )


# --------------------------------------------------------------------------- entry points


def osm_layers(
    path: str | Path,
    bbox: tuple[float, float, float, float] | None = None,
    *,
    table: str | None = None,
    node_index: str = "flex_mem",
) -> tuple[dict[str, gpd.GeoDataFrame], ImportReport]:
    """Read an OSM extract into one-map layers (not yet validated or written) and a report."""
    report = ImportReport(source=str(path), reader=f"pyosmium {osmium.version.pyosmium_release}")
    t = load_table(table)
    raw = read_osm(path, bbox, node_index=node_index)
    for reason, n in raw.skipped.items():
        report.skip(reason, n)
    if bbox:
        report.skip("outside --bbox", raw.outside_bbox)
    layers = {
        "roads": build_roads(raw.ways, report, t),
        "landuse": build_landuse(raw.areas, report, t),
        **build_power(raw.points, raw.areas, raw.lines, report, t),
    }
    return layers, report


def import_osm(
    path: str | Path,
    out: str | Path,
    bbox: tuple[float, float, float, float] | None = None,
    *,
    table: str | None = None,
    node_index: str = "flex_mem",
) -> ImportReport:
    """Import an OSM extract (``.osm.pbf``, ``.osm``, ``.osm.bz2``) into a layers GeoPackage.

    Every written layer passes :func:`~onemap.geo.layers.validate_layer`, so
    ``onemap build OUT --out MAP.gpkg`` turns it into a one map. ``bbox`` is (W, S, E, N) in
    degrees: features intersecting it are kept whole. Returns the :class:`ImportReport`.
    """
    start = time.perf_counter()
    layers, report = osm_layers(path, bbox, table=table, node_index=node_index)
    write_layers(layers, out, report)
    report.seconds = time.perf_counter() - start
    return report


def summary_rows(report: ImportReport) -> list[tuple[str, Any]]:
    """Rows for a human-readable summary of an import."""
    rows: list[tuple[str, Any]] = [(f"layer {k}", v) for k, v in report.counts.items()]
    rows += [(k, f"{v:.0%}") for k, v in report.coverage.items()]
    rows += list(report.matching.items())
    return rows
