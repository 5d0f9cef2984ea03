"""Substation siting on a one map, with before/after readiness (DESIGN §5, items 1 and 12).

:func:`plan` runs the whole planner's question "where do k new substations go?":

1. **demand** — readiness of every parcel for its own forecast load
   (:func:`onemap.connection.bulk.readiness`);
   class-D parcels (grid gaps) are the unserved demand, weighted by their forecast load;
2. **candidates** — power-supply land (``[substation].candidate_landuse_codes``, parcels that do
   not already hold a substation) and/or points from a file (:func:`candidate_sites`);
3. **distances** — corridor-graph distances (issue 3's CSR, 10 kV view) from every candidate to
   every demand door, one bounded Dijkstra per candidate row, never a per-parcel search;
4. **model** — the capacitated maximal-covering model of :mod:`onemap.planning.siting`: a site
   covers a parcel within the 10 kV supply radius of the parcel's supply class (35 kV row for
   ≥ 35 kV loads), up to the new substation's capacity; exact (PuLP + HiGHS) up to
   ``siting_exact_max_pairs``, greedy above, with the gap reported when both run;
5. **before/after** — readiness again on the map with the sites added as hypothetical assets
   (:mod:`onemap.planning.beforeafter`): counts, district statistics and per-parcel classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from onemap.connection.bulk import readiness
from onemap.connection.groups import connection_group
from onemap.connection.results import ReadinessResult
from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS, metric_to_lonlat
from onemap.geo.mapfile import OneMap, atomic_gpkg, write_map_layers
from onemap.messages import msg
from onemap.planning.beforeafter import Allocation, compare, with_sites
from onemap.planning.siting import Method, SitingProblem, SitingSolution, gap, solve
from onemap.rules import Rules, resolve_rules
from onemap.units import KVA_PER_MVA

Progress = Callable[[str, int, int], None]
# Candidate rows searched per Dijkstra call: bounds the (rows × nodes) distance block in memory.
_DIJKSTRA_CHUNK = 16
_ID_COLUMNS = ("site_id", "id", "name", "candidate_id")


# ------------------------------------------------------------------------------------------
# candidates


def candidate_sites(
    onemap: OneMap,
    candidates: str | Path | gpd.GeoDataFrame | None = None,
    *,
    rules: Rules | None = None,
    include_landuse: bool | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites in the map's metric CRS: ``site_id``, ``source`` (``landuse`` / ``file``),
    ``parcel_id`` (landuse sites) and a Point geometry.

    Landuse sites are parcels whose ``landuse_code`` starts with one of
    ``[substation].candidate_landuse_codes`` and that hold no substation yet, placed at a point on
    the parcel. ``candidates`` (a vector file — GeoJSON, GeoPackage, Shapefile — or CSV with
    ``lon``/``lat``, or a GeoDataFrame) adds points; by default a file replaces the landuse sites
    (``include_landuse=True`` keeps both). Errors (OnemapInputError): an unreadable file, a
    non-point geometry, a point outside the map, duplicate ids, no candidates at all.
    """
    rules = resolve_rules(onemap, rules)
    frames = []
    use_landuse = include_landuse if include_landuse is not None else candidates is None
    if use_landuse:
        frames.append(_landuse_sites(onemap, rules))
    if candidates is not None:
        frames.append(_file_sites(onemap, candidates))
    sites = pd.concat(frames, ignore_index=True) if frames else None
    if sites is None or not len(sites):
        codes = ", ".join(rules.substation.candidate_landuse_codes)
        raise OnemapInputError(
            msg("planning.no_candidates_on_map", codes=codes),
            field="candidates",
        )
    dup = sites["site_id"][sites["site_id"].duplicated()]
    if len(dup):
        raise OnemapInputError(
            msg("planning.duplicate_candidate", site_id=dup.iloc[0]), field="site_id"
        )
    return gpd.GeoDataFrame(sites, geometry="geometry", crs=onemap.crs_metric)


def _landuse_sites(onemap: OneMap, rules: Rules) -> gpd.GeoDataFrame:
    parcels = onemap.metric("landuse")
    codes = parcels["landuse_code"].fillna("").astype(str)
    is_power = np.zeros(len(parcels), dtype=bool)
    for code in rules.substation.candidate_landuse_codes:
        is_power |= codes.str.startswith(code).to_numpy()
    power = parcels[is_power]
    subs = onemap.metric("substations")
    if len(power) and len(subs):
        hit = power.sindex.query(subs.geometry.to_numpy(), predicate="intersects")[1]
        power = power.drop(power.index[np.unique(hit)])
    return gpd.GeoDataFrame(
        {
            "site_id": power["parcel_id"].astype(str).to_numpy(),
            "source": "landuse",
            "parcel_id": power["parcel_id"].astype(str).to_numpy(),
        },
        geometry=power.geometry.representative_point().to_numpy(),
        crs=onemap.crs_metric,
    )


def _file_sites(onemap: OneMap, candidates: str | Path | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    name = None
    if isinstance(candidates, gpd.GeoDataFrame):
        gdf = candidates
    else:
        path = Path(candidates)
        name = str(path)
        if not path.exists():
            raise OnemapInputError(msg("planning.candidate_file_not_found"), file=name)
        try:
            if path.suffix.lower() == ".csv":
                table = pd.read_csv(path)
                cols = {c.lower(): c for c in table.columns}
                lon, lat = cols.get("lon") or cols.get("x"), cols.get("lat") or cols.get("y")
                if lon is None or lat is None:
                    raise OnemapInputError(msg("planning.csv_no_lonlat"), file=name)
                gdf = gpd.GeoDataFrame(
                    table, geometry=gpd.points_from_xy(table[lon], table[lat]), crs=STORAGE_CRS
                )
            else:
                gdf = gpd.read_file(path)
        except OnemapInputError:
            raise
        except Exception as exc:  # GDAL/pandas raise many types for unreadable input
            raise OnemapInputError(
                msg("planning.candidates_unreadable", exc=exc), file=name
            ) from exc
    if not len(gdf):
        raise OnemapInputError(msg("planning.candidates_empty"), file=name, field="candidates")
    if gdf.crs is None:
        gdf = gdf.set_crs(STORAGE_CRS)
    types = gdf.geometry.geom_type.to_numpy()
    bad = np.flatnonzero((types != "Point") | gdf.geometry.is_empty.to_numpy())
    if len(bad):
        raise OnemapInputError(
            msg("planning.candidates_not_points", types=types[bad[0]]), file=name, row=int(bad[0])
        )
    lonlat = gdf.to_crs(STORAGE_CRS)
    west, south, east, north = onemap.bounds
    x, y = lonlat.geometry.x.to_numpy(), lonlat.geometry.y.to_numpy()
    outside = np.flatnonzero(~((x >= west) & (x <= east) & (y >= south) & (y <= north)))
    if len(outside):
        r = int(outside[0])
        raise OnemapInputError(
            msg(
                "planning.candidate_outside",
                x=x[r],
                y=y[r],
                west=west,
                south=south,
                east=east,
                north=north,
                n_outside=len(outside),
                n_total=len(gdf),
            ),
            file=name,
            row=r,
        )
    id_col = next((c for c in _ID_COLUMNS if c in gdf.columns), None)
    ids = (
        gdf[id_col].astype(str).to_numpy()
        if id_col
        else np.array([f"C{i + 1:03d}" for i in range(len(gdf))])
    )
    return gpd.GeoDataFrame(
        {"site_id": ids, "source": "file", "parcel_id": None},
        geometry=lonlat.to_crs(onemap.crs_metric).geometry.to_numpy(),
        crs=onemap.crs_metric,
    )


# ------------------------------------------------------------------------------------------
# distances on the corridor graph


@dataclass
class _Joins:
    """How each candidate joins the corridor graph: rows, offsets (m) per row."""

    rows: list[np.ndarray]
    offsets: list[np.ndarray]


def _join_sites(cg: Any, sites: gpd.GeoDataFrame) -> _Joins:
    rows, offsets = [], []
    for site in sites.itertuples(index=False):
        pid = site.parcel_id
        if pid is not None and pid in cg.parcel_node.index:
            rows.append(np.array([int(cg.parcel_node[pid])]))
            offsets.append(np.zeros(1))
            continue
        try:
            loc = cg.locate_xy(float(site.geometry.x), float(site.geometry.y))
        except OnemapInputError:  # no corridor within reach: the site serves nothing
            rows.append(np.zeros(0, dtype=np.int64))
            offsets.append(np.zeros(0))
            continue
        rows.append(np.array([loc.u, loc.v], dtype=np.int64))
        offsets.append(loc.access_m + np.array([loc.du, loc.dv]))
    return _Joins(rows, offsets)


def site_distances(csr: Any, joins: _Joins, target_rows: np.ndarray, limit: float) -> np.ndarray:
    """Corridor distance (m) from every candidate to every target row, ``inf`` beyond ``limit``.

    One bounded Dijkstra per distinct candidate row (in chunks of rows), keeping only the target
    columns; a candidate joined off the graph takes the smaller of its two entry offsets + path.
    """
    all_rows = np.unique(np.concatenate([*joins.rows, np.zeros(0, np.int64)]))
    per_row = np.full((all_rows.size, target_rows.size), np.inf)
    ok = target_rows >= 0
    for start in range(0, all_rows.size, _DIJKSTRA_CHUNK):
        chunk = all_rows[start : start + _DIJKSTRA_CHUNK]
        d = dijkstra(csr, directed=True, indices=chunk, limit=limit)
        per_row[start : start + chunk.size, ok] = d[:, target_rows[ok]]
    out = np.full((len(joins.rows), target_rows.size), np.inf)
    for j, (rows, off) in enumerate(zip(joins.rows, joins.offsets, strict=True)):
        if rows.size:
            pos = np.searchsorted(all_rows, rows)
            out[j] = np.min(per_row[pos] + off[:, None], axis=0)
    out[out > limit] = np.inf
    return out


# ------------------------------------------------------------------------------------------
# the plan


@dataclass
class PlanResult:
    """A siting plan for one k with its before/after readiness.

    ``sites`` (EPSG:4326): chosen sites with ``site_id``, ``substation_id``, ``source``,
    ``parcel_id``, ``lon``, ``lat``, ``served_kw``, ``served_parcels``. ``districts``: the
    before/after table per district (see :func:`~onemap.planning.beforeafter.compare`);
    ``parcels``: per-parcel before/after class. ``after_map`` is the map with the sites added.
    """

    k: int
    sites: gpd.GeoDataFrame
    solution: SitingSolution
    reference: SitingSolution | None
    before: ReadinessResult
    after: ReadinessResult
    after_map: OneMap
    districts: pd.DataFrame
    parcels: pd.DataFrame
    demand: dict[str, float]
    candidates: int
    capacity_kw: float
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        """Greedy heuristic's relative gap to the exact optimum (None when only greedy ran)."""
        if self.reference is None or self.solution.status != "optimal":
            return None
        return gap(self.solution, self.reference)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Map layers of the plan (EPSG:4326): sites, new feeders and points, parcels with
        their before/after class."""
        m = self.after_map
        plan_of = "plan_site"
        parcels = m["landuse"][["parcel_id", "geometry"]].merge(
            self.parcels.drop(columns="district"), on="parcel_id", how="left"
        )
        return {
            "plan_sites": self.sites,
            "plan_feeders": m["feeders"][m["feeders"][plan_of] != ""],
            "plan_points": m["assets"][m["assets"][plan_of] != ""],
            "plan_parcels": gpd.GeoDataFrame(parcels, geometry="geometry", crs=STORAGE_CRS),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON of DESIGN §8 ``plan``: ``sites``, ``before``, ``after`` plus the model report."""
        sites = [
            {
                "site_id": str(r.site_id),
                "substation_id": str(r.substation_id),
                "source": str(r.source),
                "parcel_id": None if r.parcel_id is None else str(r.parcel_id),
                "lon": round(float(r.lon), 7),
                "lat": round(float(r.lat), 7),
                "served_kw": round(float(r.served_kw), 3),
                "served_parcels": int(r.served_parcels),
            }
            for r in self.sites.itertuples(index=False)
        ]
        ref = self.reference
        return {
            "k": self.k,
            "sites": sites,
            "before": self.before.counts,
            "after": self.after.counts,
            "served_kw": round(self.solution.objective_kw, 3),
            "demand": self.demand,
            "candidates": self.candidates,
            "capacity_kw": self.capacity_kw,
            "method": self.solution.method,
            "status": self.solution.status,
            "solver_seconds": round(self.solution.seconds, 4),
            "greedy_kw": None if ref is None else round(ref.objective_kw, 3),
            "greedy_gap": None if self.gap is None else round(self.gap, 6),
            "districts": self.districts.to_dict(orient="records"),
            "changed_parcels": int(self.parcels["changed"].sum()),
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
        }

    def write(self, path: str | Path) -> Path:
        """Write the after map plus the plan layers and the district table to a GeoPackage."""
        return write_plan(self, path)


def plan(
    onemap: OneMap,
    k: int,
    candidates: str | Path | gpd.GeoDataFrame | None = None,
    *,
    rules: Rules | None = None,
    include_landuse: bool | None = None,
    method: Method = "auto",
    progress: Progress | None = None,
) -> PlanResult:
    """Site ``k`` new substations on ``onemap`` and report readiness before and after.

    Errors (OnemapInputError, CLI exit 2): k ≤ 0 or more than the candidates, no candidates,
    candidates outside the map or not points, a map without parcels or assets.
    """
    return plan_many(
        onemap,
        [k],
        candidates,
        rules=rules,
        include_landuse=include_landuse,
        method=method,
        progress=progress,
    )[0]


def plan_many(
    onemap: OneMap,
    ks: Sequence[int],
    candidates: str | Path | gpd.GeoDataFrame | None = None,
    *,
    rules: Rules | None = None,
    include_landuse: bool | None = None,
    method: Method = "auto",
    progress: Progress | None = None,
) -> list[PlanResult]:
    """:func:`plan` for several k on one set of demand, candidates and distances."""
    t0 = time.perf_counter()
    rules = resolve_rules(onemap, rules)
    ks = [int(k) for k in ks]
    if not ks:
        raise OnemapInputError(msg("planning.no_k"), field="k")
    bad = [k for k in ks if k <= 0]
    if bad:
        raise OnemapInputError(msg("planning.k_below_one", k=bad[0]), field="new_substations")
    step = _stepper(progress, 3 + 2 * len(ks))
    step("readiness before")
    before = readiness(onemap, rules=rules)
    sites = candidate_sites(onemap, candidates, rules=rules, include_landuse=include_landuse)
    too_many = [k for k in ks if k > len(sites)]
    if too_many:
        raise OnemapInputError(
            msg("planning.k_over_candidates", k=too_many[0], n_sites=len(sites)),
            field="new_substations",
        )
    step("distances")
    problem, demand, cg, joins, notes = _problem(onemap, before, sites, rules)
    results = []
    for k in ks:
        step(f"siting k={k}")
        sub = rules.substation
        solution, reference = solve(
            problem,
            k,
            method=method,
            exact_max_pairs=sub.siting_exact_max_pairs,
            time_limit_s=sub.siting_time_limit_s,
        )
        allocations, site_rows = _allocations(onemap, cg, joins, sites, demand, solution, rules)
        after_map = with_sites(onemap, allocations, rules)
        step(f"readiness after k={k}")
        after = readiness(after_map, rules=rules)
        districts, parcels = compare(before, after)
        results.append(
            PlanResult(
                k=k,
                sites=site_rows,
                solution=solution,
                reference=reference,
                before=before,
                after=after,
                after_map=after_map,
                districts=districts,
                parcels=parcels,
                demand={
                    "parcels": len(demand),
                    "kw": round(float(demand["load_kw"].sum()), 3),
                    "reachable_parcels": int(problem.coverage().any(axis=0).sum()),
                },
                candidates=len(sites),
                capacity_kw=float(problem.capacity_kw[0]) if problem.n_candidates else 0.0,
                seconds=time.perf_counter() - t0,
                notes=notes,
            )
        )
    step("done")
    return results


def _stepper(progress: Progress | None, total: int) -> Callable[[str], None]:
    done = [0]

    def step(what: str) -> None:
        if progress:
            progress(what, done[0], total)
        done[0] += 1

    return step


def _problem(onemap: OneMap, before: ReadinessResult, sites: gpd.GeoDataFrame, rules: Rules):
    """Demand (class-D parcels), the distance matrix and the SitingProblem."""
    from onemap.routing.build import corridor_graph

    sub = rules.substation
    layer = before.layer
    is_d = (layer["readiness"] == "D").to_numpy() & (layer["requested_kw"].to_numpy() > 0)
    demand = layer.loc[is_d, ["parcel_id", "requested_kw", "category", "group", "supply_class"]]
    demand = demand.rename(columns={"requested_kw": "load_kw"}).reset_index(drop=True)
    demand["radius_m"] = [
        rules.supply_radius(_radius_kv(rules, c), s)
        for c, s in zip(demand["category"], demand["supply_class"], strict=True)
    ]
    cg = corridor_graph(onemap, rules)
    csr, _ = cg.csr(sub.new_feeder_kv, False)
    joins = _join_sites(cg, sites)
    doors = cg.parcel_node.reindex(demand["parcel_id"].astype(str)).to_numpy(dtype=float)
    door_rows = np.where(np.isnan(doors), -1, doors).astype(np.int64)
    limit = float(demand["radius_m"].max()) if len(demand) else 0.0
    dist = site_distances(csr, joins, door_rows, limit)
    capacity_kw = sub.new_substation_mva * KVA_PER_MVA * rules.connection.power_factor
    problem = SitingProblem.build(
        dist, demand["load_kw"].to_numpy(), demand["radius_m"], capacity_kw
    )
    notes = []
    if not len(demand):
        notes.append("no class-D parcels: every parcel already has a feasible connection point")
    off_graph = [s for s, r in zip(sites["site_id"], joins.rows, strict=True) if not r.size]
    if off_graph:
        notes.append(f"candidates away from every corridor serve nothing: {', '.join(off_graph)}")
    demand["door_row"] = door_rows
    return problem, demand, cg, joins, notes


def _radius_kv(rules: Rules, category: str) -> float:
    """Supply-radius row for a parcel served from a new substation: its feeders' voltage for LV
    and 10/20 kV parcels; for ≥ 35 kV loads the largest row at or below the category voltage."""
    if connection_group(rules, category) != "ehv":
        return rules.substation.new_feeder_kv
    return rules.radius_voltage(rules.category(category).voltage_kv)


def _allocations(onemap, cg, joins, sites, demand, solution: SitingSolution, rules: Rules):
    """Per chosen site: the parcels it serves with the corridor path to each door; and the
    ``sites`` table of the result."""
    from onemap.routing.bulk import NO_PATH, path_from_predecessors

    csr, _ = cg.csr(rules.substation.new_feeder_kv, False)
    existing = set(onemap["substations"]["substation_id"].astype(str))
    allocations, rows = [], []
    n = 0
    for j in solution.sites:
        n += 1
        sub_id = f"PLAN-{n:02d}"
        while sub_id in existing:
            n += 1
            sub_id = f"PLAN-{n:02d}"
        site = sites.iloc[int(j)]
        served = demand.iloc[solution.served_by(int(j))].reset_index(drop=True)
        point = site.geometry
        paths, doors = [], []
        if len(served):
            _, pred, _ = dijkstra(
                csr,
                directed=True,
                indices=joins.rows[int(j)],
                min_only=True,
                return_predecessors=True,
            )
            for door in served["door_row"].to_numpy():
                way = path_from_predecessors(pred, int(door)) if pred[door] != NO_PATH else [door]
                coords = [tuple(point.coords[0]), *map(tuple, cg.xy[np.asarray(way)])]
                paths.append(shapely.LineString(coords))
                doors.append(shapely.Point(cg.xy[int(door)]))
        served = served.assign(path=paths, door=doors) if len(served) else served
        allocations.append(Allocation(str(site.site_id), sub_id, point, served))
        lon, lat = metric_to_lonlat(point.x, point.y, onemap.crs_metric)
        rows.append(
            {
                "site_id": str(site.site_id),
                "substation_id": sub_id,
                "source": site.source,
                "parcel_id": site.parcel_id,
                "lon": float(lon),
                "lat": float(lat),
                "served_kw": solution.served_kw.get(int(j), 0.0),
                "served_parcels": len(served),
                "geometry": shapely.Point(float(lon), float(lat)),
            }
        )
    return allocations, gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


def write_plan(result: PlanResult, path: str | Path) -> Path:
    """Write ``result`` to a GeoPackage: the after map (readable by ``onemap`` commands), the plan
    layers and the ``plan_districts`` table; atomic like :func:`write_map`."""
    import pyogrio

    path = Path(path)
    with atomic_gpkg(path) as tmp:
        write_map_layers(result.after_map, tmp)
        for name, gdf in result.layers().items():
            if len(gdf):
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=False)
        pyogrio.write_dataframe(result.districts, tmp, layer="plan_districts", driver="GPKG")
    result.after_map.path = path
    return path
