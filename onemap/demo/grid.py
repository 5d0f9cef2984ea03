"""The demo district's grid and demand: substations, feeders, assets, ducts and pushed projects
laid on the streets of :mod:`onemap.demo.district` (see :mod:`onemap.demo`)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from onemap.demo.district import (
    ASSET_LABELS,
    ASSET_SETBACK_M,
    ASSET_SPACING_M,
    BRANCH_BOX_EVERY,
    BRANCH_BOX_OFFSET_M,
    DUCT_END_TRIM_M,
    DUCTS,
    END_CLEARANCE_M,
    FEEDER_CAPACITY_MVA,
    FEEDER_HEAVY_SHARE,
    FEEDER_KV,
    FEEDER_LIGHT_SHARE,
    FEEDER_LOADING,
    PROJECT_SUBMITTED_DAYS_BEFORE,
    PROJECTS,
    PUSHED_EXPECTED_AFTER_YEARS,
    RULES_ID,
    SUBSTATION_KV,
    SUBSTATIONS,
    TRANSFORMER_HEAVY_SHARE,
    TRANSFORMER_LIGHT_SHARE,
    TRANSFORMER_LOADING,
    TRANSFORMER_SIZE_P,
    TRANSFORMER_UNKNOWN_SHARE,
    XS,
    _gap_polygon,
    _metric_crs,
    _Network,
    _reserve,
    built_at,
)
from onemap.rules import load_rules


def _edge_points(net: _Network, edge: np.ndarray, s: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Points ``s`` metres along edges, just outside the wider side of the corridor.

    ``side`` is +1 (left of the street's direction) or -1; on the district's edge a point is
    turned inwards, so that no asset stands outside the district.
    """
    e = net.edges.iloc[edge]
    a, b = net.xy[e["a"].to_numpy()], net.xy[e["b"].to_numpy()]
    u = (b - a) / e["length"].to_numpy()[:, None]
    left = np.column_stack([-u[:, 1], u[:, 0]])
    offset = (np.maximum(e["hw_left"], e["hw_right"]).to_numpy() + ASSET_SETBACK_M) * side
    base = a + u * s[:, None]
    pts = base + left * offset[:, None]
    outside = ~shapely.contains_xy(net.boundary, pts[:, 0], pts[:, 1])
    pts[outside] = (base - left * offset[:, None])[outside]
    return pts


def _substations(
    rng: np.random.Generator, parcels: gpd.GeoDataFrame, sites: np.ndarray
) -> gpd.GeoDataFrame:
    """The 110 kV substations, each inside its power-supply parcel."""
    points = shapely.point_on_surface(parcels.geometry.to_numpy()[sites[: len(SUBSTATIONS)]])
    return gpd.GeoDataFrame(
        {
            "substation_id": [s[0] for s in SUBSTATIONS],
            "voltage_kv": SUBSTATION_KV,
            "capacity_mva": [s[3] for s in SUBSTATIONS],
            "peak_load_mva": [round(s[3] * rng.uniform(*s[4]), 1) for s in SUBSTATIONS],
            "name": [s[1] for s in SUBSTATIONS],
            "status": "existing",
            "in_service": np.nan,  # in service already (no year: nothing planned here)
        },
        geometry=points,
        crs=_metric_crs(),
    )


def _feeder_paths(net: _Network, sub_pts: np.ndarray) -> tuple[nx.Graph, list, np.ndarray]:
    """Street paths of the feeders, outside the grid gap.

    Each substation serves the nodes nearer to it than to the other one. Its feeders follow the
    shortest street paths from its nearest node; each next feeder goes to the service-area node
    whose path adds the most street length not yet covered (greedy coverage of the shortest-path
    tree), so the feeders share trunks and fan out. Returns the gridded street graph, the node
    paths and each feeder's substation index.
    """
    gap = shapely.covers(_gap_polygon(net), shapely.points(net.xy))
    graph = nx.Graph()
    for e in net.edges.itertuples():
        if not (gap[e.a] or gap[e.b]):
            graph.add_edge(int(e.a), int(e.b), length=float(e.length))
    nodes = np.array(sorted(graph.nodes))
    sub_xy = shapely.get_coordinates(sub_pts)
    d = np.linalg.norm(net.xy[nodes][:, None, :] - sub_xy[None, :, :], axis=2)
    nearest_sub = np.argmin(d, axis=1)
    length = net.edges["length"].to_numpy()
    paths, feeder_sub = [], []
    for k, spec in enumerate(SUBSTATIONS):
        start = int(nodes[np.argmin(d[:, k])])
        routes = nx.single_source_dijkstra_path(graph, start, weight="length")
        area = [int(n) for n in nodes[nearest_sub == k] if n != start]
        edges = {n: net.path_edges(routes[n]) for n in area}
        covered: set[int] = set()
        for _ in range(spec[2]):
            gain = [length[[e for e in edges[n] if e not in covered]].sum() for n in area]
            if max(gain, default=0.0) <= 0.0:
                break
            best = area[int(np.argmax(gain))]
            covered.update(edges[best])
            paths.append(routes[best])
            feeder_sub.append(k)
    return graph, paths, np.array(feeder_sub)


def _bands(rng: np.random.Generator, n: int, heavy: float, light: float) -> np.ndarray:
    """Loading bands for ``n`` items: the given shares heavy and light, the rest moderate."""
    n_heavy, n_light = round(n * heavy), round(n * light)
    return rng.permutation(
        ["heavy"] * n_heavy + ["light"] * n_light + ["moderate"] * (n - n_heavy - n_light)
    )


def _feeders(
    rng: np.random.Generator, net: _Network, sub_pts: np.ndarray, paths: list, feeder_sub
) -> gpd.GeoDataFrame:
    """Feeder lines (substation, then along the street centre lines) with capacity and load."""
    n = len(paths)
    coords = [
        np.vstack([shapely.get_coordinates(sub_pts[k]), net.xy[p]])
        for p, k in zip(paths, feeder_sub, strict=True)
    ]
    lines = shapely.linestrings(
        np.concatenate(coords), indices=np.repeat(np.arange(n), [len(c) for c in coords])
    )
    bands = _bands(rng, n, FEEDER_HEAVY_SHARE, FEEDER_LIGHT_SHARE)
    capacity = rng.choice(FEEDER_CAPACITY_MVA, n)
    loading = np.array([rng.uniform(*FEEDER_LOADING[b]) for b in bands])
    number = pd.Series(feeder_sub).groupby(feeder_sub).cumcount().to_numpy() + 1
    sub_ids = [SUBSTATIONS[k][0] for k in feeder_sub]
    short = [SUBSTATIONS[k][1][:2] for k in feeder_sub]
    return gpd.GeoDataFrame(
        {
            "feeder_id": [f"{s}-F{m:02d}" for s, m in zip(sub_ids, number, strict=True)],
            "substation_id": sub_ids,
            "voltage_kv": FEEDER_KV,
            "capacity_mva": capacity,
            "peak_load_mva": np.round(capacity * loading, 2),
            "name": [f"{s}{m:02d}线" for s, m in zip(short, number, strict=True)],
            "bus_section": np.where(number % 2 == 1, "I", "II"),
            "status": "existing",
            "in_service": np.nan,
        },
        geometry=lines,
        crs=_metric_crs(),
    )


def _edge_owner(net: _Network, graph: nx.Graph, paths: list, feeder_lines) -> pd.Series:
    """Feeder serving each gridded street edge (index: edge id): the first feeder running along
    it, else the feeder line nearest to the edge's middle (a lateral off that feeder)."""
    owner: dict[int, int] = {}
    for f, path in enumerate(paths):
        for e in net.path_edges(path):
            owner.setdefault(e, f)
    gridded = np.array(sorted(net.edge_id(a, b) for a, b in graph.edges))
    e = net.edges.iloc[gridded]
    mid = shapely.points((net.xy[e["a"].to_numpy()] + net.xy[e["b"].to_numpy()]) / 2)
    nearest = np.argmin(shapely.distance(mid[:, None], feeder_lines[None, :]), axis=1)
    return pd.Series([owner.get(g, f) for g, f in zip(gridded, nearest, strict=True)], gridded)


def _asset_sites(
    rng: np.random.Generator, net: _Network, owner: pd.Series, paths: list, feeder_sub
) -> dict[str, tuple[np.ndarray, ...]]:
    """Where each kind of asset goes, as (edge, metres along it, side, feeder index) arrays.

    Transformers every ``ASSET_SPACING_M`` along every gridded edge, clear of the
    intersections, alternating sides; a branch box beside every ``BRANCH_BOX_EVERY``-th
    transformer; a ring main unit in the middle of the last edge each feeder serves; a
    switching station in the middle of the first edge of each substation's first feeder.
    """
    edges = owner.index.to_numpy()
    length = net.edges["length"].to_numpy()
    usable = length[edges] - 2 * END_CLEARANCE_M
    count = np.where(usable > 0, usable // ASSET_SPACING_M + 1, 0).astype(int)
    tx_edge = np.repeat(edges, count)
    k = np.concatenate([np.arange(c) for c in count])
    tx_s = END_CLEARANCE_M + (k + 0.5) * np.repeat(usable / np.maximum(count, 1), count)
    first_side = np.repeat(rng.choice([-1, 1], len(edges)), count)
    tx_side = np.where(k % 2 == 0, first_side, -first_side)
    tx_feeder = owner.loc[tx_edge].to_numpy()
    bb = np.arange(len(tx_edge)) % BRANCH_BOX_EVERY == 0

    rmu_edge = np.array(
        [[e for e in net.path_edges(p) if owner[e] == f][-1] for f, p in enumerate(paths)]
    )
    first = [int(np.flatnonzero(feeder_sub == k)[0]) for k in range(len(SUBSTATIONS))]
    ss_edge = np.array([net.path_edges(paths[f])[0] for f in first])
    return {
        "transformer": (tx_edge, tx_s, tx_side, tx_feeder),
        "branch_box": (tx_edge[bb], tx_s[bb] + BRANCH_BOX_OFFSET_M, tx_side[bb], tx_feeder[bb]),
        "ring_main_unit": (
            rmu_edge,
            length[rmu_edge] / 2,
            np.ones(len(paths), int),
            np.arange(len(paths)),
        ),
        "switching_station": (
            ss_edge,
            length[ss_edge] / 2,
            -np.ones(len(first), int),
            np.array(first),
        ),
    }


def _assets(
    rng: np.random.Generator,
    net: _Network,
    lines: np.ndarray,
    sites: dict[str, tuple[np.ndarray, ...]],
    feeders: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """The asset layer: points beside the corridors, with ids, names, capacities and loads.

    Transformer loading is drawn in bands (some heavy, some light, the rest moderate) and a
    share is left unknown (no capacity or no peak), as in real asset registers.
    """
    rules = load_rules(RULES_ID)
    corridor = _reserve(net, lines, 0.0)
    gap = _gap_polygon(net)
    frames = []
    for kind, (edge, s, side, feeder) in sites.items():
        pts = shapely.points(_edge_points(net, edge, s, side))
        ok = ~shapely.intersects(corridor, pts) & ~shapely.intersects(gap, pts)
        frames.append(
            pd.DataFrame({"kind": kind, "edge": edge[ok], "feeder": feeder[ok], "geom": pts[ok]})
        )
    table = pd.concat(frames, ignore_index=True)
    kind = table["kind"].to_numpy()
    n = len(table)
    capacity, peak = np.full(n, np.nan), np.full(n, np.nan)

    tx = np.flatnonzero(kind == "transformer")
    sizes = np.array(rules.substation.transformer_kva, dtype=float)
    capacity[tx] = rng.choice(sizes, len(tx), p=TRANSFORMER_SIZE_P)
    bands = _bands(rng, len(tx), TRANSFORMER_HEAVY_SHARE, TRANSFORMER_LIGHT_SHARE)
    loading = np.array([rng.uniform(*TRANSFORMER_LOADING[b]) for b in bands])
    peak[tx] = np.round(capacity[tx] * loading, 1)
    unknown = rng.permutation(tx)[: round(len(tx) * TRANSFORMER_UNKNOWN_SHARE)]
    capacity[unknown[::2]] = np.nan
    peak[unknown[1::2]] = np.nan

    ss = np.flatnonzero(kind == "switching_station")
    capacity[ss] = rules.substation.switching_station_mva[0] * 1000.0
    peak[ss] = np.round(capacity[ss] * rng.uniform(*TRANSFORMER_LOADING["moderate"], len(ss)), 1)

    number = table.groupby("kind").cumcount().to_numpy() + 1
    table["street"] = net.roads["name"].to_numpy()[net.edges["road"].to_numpy()[table["edge"]]]
    on_street = table.groupby(["kind", "street"], sort=False).cumcount().to_numpy() + 1
    prefix = {k: ASSET_LABELS[k][0] for k in sites}
    label = {k: ASSET_LABELS[k][1] for k in sites}
    voltage = {
        "transformer": FEEDER_KV,
        "branch_box": rules.connection.lv_voltage_kv,
        "ring_main_unit": FEEDER_KV,
        "switching_station": FEEDER_KV,
    }
    assets = gpd.GeoDataFrame(
        {
            "asset_id": [f"{prefix[k]}-{m:03d}" for k, m in zip(kind, number, strict=True)],
            "kind": kind,
            "voltage_kv": [voltage[k] for k in kind],
            "feeder_id": feeders["feeder_id"].to_numpy()[table["feeder"].to_numpy()],
            "name": [
                f"{s}{m}{label[k]}"
                for s, m, k in zip(table["street"], on_street, kind, strict=True)
            ],
            "capacity_kva": capacity,
            "peak_load_kva": peak,
            "promised_kva": np.full(n, np.nan),
            "status": "existing",
            "in_service": np.full(n, np.nan),
        },
        geometry=table["geom"].to_numpy(),
        crs=_metric_crs(),
    )
    assets["transformer_id"] = _branch_box_transformers(assets)
    return assets


def _branch_box_transformers(assets: gpd.GeoDataFrame) -> pd.Series:
    """The transformer feeding each branch box: the nearest transformer on the same feeder
    (a branch box hangs off the LV side of a nearby transformer); empty for other kinds."""
    out = pd.Series("", index=assets.index, dtype=object)
    boxes = assets[assets["kind"] == "branch_box"]
    transformers = assets[assets["kind"] == "transformer"]
    for feeder, group in boxes.groupby("feeder_id"):
        candidates = transformers[transformers["feeder_id"] == feeder]
        if len(candidates):
            nearest = candidates.sindex.nearest(group.geometry.values, return_all=False)[1]
            out.loc[group.index] = candidates["asset_id"].to_numpy()[nearest]
    return out


def _ducts(net: _Network) -> gpd.GeoDataFrame:
    """Cable ducts in the middle of a sidewalk, trimmed short of the intersections at both
    ends; a duct running on across an intersection crosses that road's carriageway."""
    coords, index, offset = [], [], []
    for k, (_, street, nodes, side) in enumerate(DUCTS):
        ids = [net.grid_index[n] for n in nodes]
        road = net.edges["road"].to_numpy()[net.edge_id(ids[0], ids[1])]
        if net.roads["name"].iloc[road] != street:
            raise ValueError(f"duct {nodes} does not run along {street}")
        sw_l, sw_r, bk_l, bk_r, motor, _, _ = XS[net.roads["xs"].iloc[road]]
        xy = net.xy[ids].copy()
        xy[0] += DUCT_END_TRIM_M * _unit(xy[1] - xy[0])
        xy[-1] += DUCT_END_TRIM_M * _unit(xy[-2] - xy[-1])
        coords.append(xy)
        index += [k] * len(xy)
        offset.append(side * (motor / 2 + (bk_l + sw_l / 2 if side > 0 else bk_r + sw_r / 2)))
    centre = shapely.linestrings(np.concatenate(coords), indices=index)
    return gpd.GeoDataFrame(
        {"duct_id": [f"DUCT{k + 1:02d}" for k in range(len(DUCTS))], "name": [d[0] for d in DUCTS]},
        geometry=shapely.offset_curve(centre, np.array(offset), join_style="mitre"),
        crs=_metric_crs(),
    )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _projects(
    rng: np.random.Generator,
    parcels: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame,
    feeders: gpd.GeoDataFrame,
    seed: int,
    substations: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """One project per connection category on a fitting parcel; accepted ones name the nearest
    connection point with room for them (transformers for LV, ring main units for HV), pushed
    ones the point they will load and the year they take it (``expected_year``; ≥ 35 kV: the
    nearest substation)."""
    rules = load_rules(RULES_ID)
    pf = rules.connection.power_factor
    feeder_room = (feeders["capacity_mva"] - feeders["peak_load_mva"]).to_numpy() * 1000.0 * pf
    room = pd.Series(feeder_room, index=feeders["feeder_id"].to_numpy())
    kind = assets["kind"].to_numpy()
    tx_room = (assets["capacity_kva"] - assets["peak_load_kva"]).to_numpy() * pf
    rmu_room = room.reindex(assets["feeder_id"]).to_numpy()
    day = dt.date.fromisoformat(built_at(seed)[:10])

    used: set[int] = set()
    rows, points = [], []
    pushed = 0
    for k, (cat, kw, code, district, parcel_status, status, name) in enumerate(PROJECTS):
        free = ~parcels.index.isin(list(used))
        # The wanted parcel, relaxing status, then district, then land use if a seed has none.
        wanted = [
            parcels["landuse_code"].to_numpy() == code,
            parcels["district"].to_numpy() == district,
            parcels["status"].to_numpy() == parcel_status,
        ]
        fits = next(
            f for f in (np.logical_and.reduce([free, *wanted[:n]]) for n in (3, 2, 1, 0)) if f.any()
        )
        choice = int(rng.choice(np.flatnonzero(fits)))
        used.add(choice)
        point = shapely.point_on_surface(parcels.geometry.to_numpy()[choice])
        asset_id, year = "", np.nan
        voltage = rules.category(cat).voltage_kv
        if voltage > FEEDER_KV and substations is not None and len(substations):
            # ≥ 35 kV: the load goes on the nearest substation
            near = shapely.distance(substations.geometry.to_numpy(), point)
            asset_id = str(substations["substation_id"].iloc[int(np.argmin(near))])
        else:
            lv = voltage <= rules.connection.lv_voltage_kv
            ok = (
                (kind == "transformer") & (tx_room >= kw)
                if lv
                else ((kind == "ring_main_unit") & (rmu_room >= kw))
            )
            if ok.any():
                dist = np.where(ok, shapely.distance(assets.geometry.to_numpy(), point), np.inf)
                asset_id = assets["asset_id"].iloc[int(np.argmin(dist))]
            elif status == "accepted":  # nowhere to promise the load: the project stays pushed
                status = "pushed"
        if status == "pushed":
            after = PUSHED_EXPECTED_AFTER_YEARS[pushed % len(PUSHED_EXPECTED_AFTER_YEARS)]
            year, pushed = day.year + after, pushed + 1
        submitted = day - dt.timedelta(days=int(rng.integers(*PROJECT_SUBMITTED_DAYS_BEFORE)))
        rows.append(
            {
                "project_id": f"PRJ-{day.year}-{k + 1:03d}",
                "requested_kw": kw,
                "category": cat,
                "name": name,
                "status": status,
                "asset_id": asset_id,
                "submitted": submitted.isoformat(),
                "expected_year": year,
            }
        )
        points.append(point)
    return gpd.GeoDataFrame(rows, geometry=points, crs=_metric_crs())
