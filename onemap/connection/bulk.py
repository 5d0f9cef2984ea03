"""Bulk readiness: the class A–D of every parcel of a map, never one search per parcel.

Per connection group (LV, 10/20 kV, dual-source 10/20 kV, ≥ 35 kV) it runs multi-source passes
over headroom slices of the connection points (:func:`onemap.routing.feasible.nearest_feasible`)
on the full corridor graph and on its filing-eligible subgraph — on their chain contractions
where the sources allow (exact) — and reads each door's distance to its nearest feasible point.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from onemap.connection.classify import classify
from onemap.connection.groups import (
    INITIAL_SLICES,
    capacity_bands,
    check_request,
    connection_group,
    require_grid,
)
from onemap.connection.points import Sources, asset_of_row, connection_points
from onemap.connection.results import GroupRun, ReadinessResult
from onemap.errors import OnemapInputError
from onemap.geo.mapfile import OneMap
from onemap.grid.forecast import forecast_load
from onemap.grid.years import as_of
from onemap.messages import msg
from onemap.parallel import collector_paused
from onemap.routing.feasible import Nearest, Pair, nearest_feasible, nearest_pair
from onemap.routing.network import Network, contracted_pass, network_of
from onemap.rules import Rules, resolve_rules

__all__ = ["Progress", "readiness"]

Progress = Callable[[str, int, int], None]  # (what, done, total)


@collector_paused()  # a result row and a search state per parcel (see collector_paused)
def readiness(
    onemap: OneMap,
    kw: float | None = None,
    category: str | None = None,
    *,
    rules: Rules | None = None,
    progress: Progress | None = None,
    year: int | None = None,
) -> ReadinessResult:
    """Readiness class of every parcel, for its own forecast load and default category (both
    ``kw`` and ``category`` None), or for the given ``kw`` and ``category``.

    Errors (OnemapInputError): only one of ``kw``/``category``, a bad request
    (:func:`check_request`), a map without parcels, or without assets (substations for ≥ 35 kV).
    ``year``: answer for the map as it stands that year (:func:`onemap.grid.years.as_of`).
    """
    if year is not None:
        onemap = as_of(onemap, year)
    rules = resolve_rules(onemap, rules)
    t0 = time.perf_counter()
    if (kw is None) != (category is None):
        raise OnemapInputError(
            msg("connection.kw_with_category"),
            field="kw" if kw is None else "category",
        )
    if category is not None:
        check_request(rules, kw, category)
    parcels = onemap.metric("landuse")
    if not len(parcels):
        raise OnemapInputError(msg("connection.no_parcels"), layer="landuse")
    fc = onemap.cached("forecast", lambda: forecast_load(onemap, rules), rules=rules)
    n = len(fc)
    cats = fc["category"].to_numpy(dtype=object) if category is None else np.full(n, category)
    load = fc["load_kw"].to_numpy(dtype=float) if kw is None else np.full(n, float(kw))
    group_of = {c: connection_group(rules, c) for c in set(cats)}
    groups = pd.Series(cats).map(group_of).to_numpy(dtype=object)
    for g in set(groups):
        require_grid(onemap, g)

    cols = {
        "readiness": np.full(n, "D", dtype=object),
        "asset_id": np.full(n, None, dtype=object),
        "kind": np.full(n, None, dtype=object),
        "headroom_kw": np.full(n, np.nan),
        "distance_m": np.full(n, np.nan),
        "route_length_m": np.full(n, np.nan),
        "filing_eligible": np.zeros(n, dtype=bool),
        "nearest_distance_m": np.full(n, np.nan),
        "second_asset_id": np.full(n, None, dtype=object),
        "second_distance_m": np.full(n, np.nan),
    }
    runs: dict[str, GroupRun] = {}
    passes = 0
    passes_by_group: dict[str, int] = {}
    order = [g for g in ("lv", "hv", "dual", "ehv") if g in set(groups)]
    for step, g in enumerate(order):
        if progress:
            progress(g, step, len(order))
        idx = np.flatnonzero(groups == g)
        run, n_passes = _bulk_group(
            onemap, rules, g, str(cats[idx[0]]), load[idx], fc.iloc[idx], cols, idx
        )
        passes += n_passes
        passes_by_group[g] = n_passes
        run.position = np.full(n, -1, dtype=np.int64)
        run.position[idx] = np.arange(len(idx))
        runs[g] = run
    if progress:
        progress("done", len(order), len(order))

    layer = gpd.GeoDataFrame(
        {
            "parcel_id": fc["parcel_id"].to_numpy(),
            "category": cats,
            "group": groups,
            "requested_kw": load,
            "supply_class": fc["supply_class"].to_numpy(),
            "district": fc["district"].to_numpy(),
            "supply_area": fc["supply_area"].to_numpy(),
            "landuse_code": parcels["landuse_code"].to_numpy(),
            **cols,
        },
        geometry=fc.geometry.values,
        crs=onemap.crs_metric,
    )
    return ReadinessResult(
        layer=layer,
        category=category,
        kw=kw,
        passes=passes,
        seconds=time.perf_counter() - t0,
        crs_metric=onemap.crs_metric,
        passes_by_group=passes_by_group,
        _runs=runs,
    )


def _bulk_group(onemap, rules, group, category, load, fc, cols, idx) -> tuple[GroupRun, int]:
    """Fill ``cols`` at ``idx`` for the parcels of one connection group."""
    voltage = rules.category(category).voltage_kv
    pts = connection_points(onemap, category, rules)
    net = network_of(onemap, voltage, rules)
    tgt_rows = net.parcel_rows(fc["parcel_id"].to_numpy())
    radius = rules.supply_radii(rules.radius_voltage(voltage), fc["supply_class"].to_numpy())
    limit = float(np.max(radius)) if len(radius) else 0.0
    bands = capacity_bands(rules, group)
    src_full = Sources.of(net, pts, group, filing=False)
    src_fil = Sources.of(net, pts, group, filing=True) if net.filing is not None else None

    def solve(src: Sources, filing: bool):
        lim = min(limit, rules.filing.limit_m(voltage)) if filing else limit
        con = _contraction(net, src, filing)
        h = src.headroom(pts)
        if con is None:
            rows, targets, n_rows, read = src.rows, tgt_rows, net.n_rows, None
            run = net.passer(filing, lim, src.offsets)

            def limited(rows: np.ndarray, cut: float):
                return net.passer(filing, min(cut, lim), src.offsets)(rows)

        else:
            # Sources are kept rows and doors attached to them: the same distances on a
            # fraction of the rows (onemap.routing.contract).
            rows, n_rows = con.rows_of(src.rows), con.n_rows
            ends, offsets = con.anchors(tgt_rows)
            targets = ends[:, 0]  # -1: the door reaches no kept node
            run = contracted_pass(con, lim)

            def limited(rows: np.ndarray, cut: float):
                return contracted_pass(con, min(cut, lim))(rows)

            def read(result, at: np.ndarray):
                d, s, _ = con.read(result[0], result[1], ends[at], offsets[at])
                past = d > result[3]
                return np.where(past, np.inf, d), np.where(past, -1, s)

        if group == "dual":
            labels = pts["label"].to_numpy(dtype=object)[src.point]
            res = nearest_pair(run, rows, h, labels, targets, load, n_rows, read=read)
        else:
            res = nearest_feasible(
                run,
                rows,
                h,
                targets,
                load,
                bands,
                n_rows,
                limit_pass=limited,
                initial_slices=INITIAL_SLICES[group],
                read=read,
            )
        if con is None:
            return res, None
        if isinstance(res, Pair):
            return Pair(_on_graph(res.first, con), _on_graph(res.second, con)), con
        return _on_graph(res, con), con

    full, con_full = solve(src_full, False)
    fil, con_fil = solve(src_fil, True) if src_fil is not None else (None, None)
    n_passes = _passes(full) + (_passes(fil) if fil is not None else 0)
    none = np.full(len(idx), np.inf)
    if group == "dual":
        f1, f2 = full.first, full.second
        g1, g2 = (fil.first, fil.second) if fil is not None else (None, None)
        d_full = np.maximum(f1.dist, f2.dist)
        d_fil = np.maximum(g1.dist, g2.dist) if g1 is not None else none
    else:
        f1, f2, g1, g2 = full, None, fil, None
        d_full = full.dist
        d_fil = fil.dist if fil is not None else none
    cls, filing_ok, _ = classify(rules, voltage, radius, d_full, d_fil)
    use_fil = cls == "B"
    cols["readiness"][idx] = cls
    first = _pick(pts, src_full, src_fil, f1, g1, use_fil, cls, net.n_rows)
    _fill(cols, idx, first, pts, ("asset_id", "kind", "headroom_kw", "distance_m"))
    cols["route_length_m"][idx] = np.where(cls == "D", np.nan, np.where(use_fil, d_fil, d_full))
    # The chosen route needs no permits when it is the filing route, or when the shortest route
    # is as short as the filing route to the same point (then it is a filing route itself).
    same = (
        (g1.source_row == f1.source_row) & np.isclose(d_fil, d_full)
        if g1 is not None
        else np.zeros(len(idx), dtype=bool)
    )
    cols["filing_eligible"][idx] = (cls != "D") & (use_fil | (filing_ok & same))
    cols["nearest_distance_m"][idx] = np.where(np.isfinite(f1.dist), f1.dist, np.nan)
    if group == "dual":
        second = _pick(pts, src_full, src_fil, f2, g2, use_fil, cls, net.n_rows)
        _fill(cols, idx, second, pts, ("second_asset_id", None, None, "second_distance_m"))
    run = GroupRun(
        net, f1, g1, src_full, src_fil, np.zeros(0, np.int64), tgt_rows, con_full, con_fil
    )
    return run, n_passes


def _contraction(net: Network, src: Sources, filing: bool):
    """The chain-contracted CSR for a group's passes, or None where a source joins the graph
    off its nodes (substations: an offset on an edge end that may lie inside a chain)."""
    if src.offsets or (filing and net.filing is None):
        return None
    con = net.cg.contracted(net.voltage_kv, filing)
    attached = src.rows >= 0
    if (con.rows_of(src.rows[attached]) < 0).any():
        return None
    return con


def _on_graph(res: Nearest, con) -> Nearest:
    """A result over contracted rows renamed to graph nodes (sources and pass source sets);
    ``pred_of`` still gives predecessors over contracted rows (see ``ReadinessResult.route``)."""
    return res.relabel(con.kept, con.row)


def _pick(pts, src_full, src_fil, full: Nearest, fil: Nearest | None, use_fil, cls, n_rows):
    """Point index and distance per target from the full or the filing result (-1: none)."""
    n = len(cls)
    point = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    for src, res, mask in ((src_full, full, ~use_fil), (src_fil, fil, use_fil)):
        if res is None or src is None:
            continue
        entry_of_row = asset_of_row(src.rows, src.headroom(pts), n_rows)
        sel = mask & (cls != "D") & (res.source_row >= 0)
        entry = entry_of_row[res.source_row[sel]]
        ok = entry >= 0
        where = np.flatnonzero(sel)[ok]
        point[where] = src.point[entry[ok]]
        dist[where] = res.dist[where]
    return point, dist


def _fill(cols, idx, picked, pts, names) -> None:
    point, dist = picked
    has = point >= 0
    aid_col, kind_col, h_col, d_col = names
    cols[aid_col][idx[has]] = pts["asset_id"].to_numpy()[point[has]]
    if kind_col:
        cols[kind_col][idx[has]] = pts["kind"].to_numpy()[point[has]]
    if h_col:
        cols[h_col][idx[has]] = pts["headroom_kw"].to_numpy(dtype=float)[point[has]]
    cols[d_col][idx[has]] = dist[has]


def _passes(res: Nearest | Pair) -> int:
    if isinstance(res, Pair):
        return res.first.passes + res.second.passes
    return res.passes
