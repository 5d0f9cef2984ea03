"""The investor preview of one site (DESIGN §4, §8 ``preview``).

:func:`preview` runs a bounded search from the site on each graph (limit = the supply radius),
radius first (a short cut-off, widened only while it does not settle the answer) and on the disc
of the graph the cut-off can reach: exact — the same answer as the bulk pass for that parcel —
and a few milliseconds on a city. :func:`warm_preview` builds what a first preview needs.
"""

from __future__ import annotations

import datetime as dt
import time

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point

from onemap.connection.classify import classify
from onemap.connection.groups import check_request, connection_group, require_grid
from onemap.connection.points import SourceIndex, Sources, connection_points
from onemap.connection.results import ConnectionPoint, NotCovered, Preview, PreviewRoute
from onemap.connection.why import Why, explain
from onemap.errors import OnemapInputError
from onemap.geo.crs import lonlat_to_metric, metric_to_lonlat
from onemap.geo.mapfile import OneMap
from onemap.grid.forecast import forecast_load
from onemap.grid.powerflow import headroom_basis
from onemap.grid.years import as_of
from onemap.lang import DEFAULT_LANG, check_lang
from onemap.messages import msg
from onemap.procedure.cost import preview_cost
from onemap.procedure.timeline import Timeline, documents, online_note, payer, tariff_hint, timeline
from onemap.routing.check import check_route
from onemap.routing.filing import FilingVerdict
from onemap.routing.network import (
    LOCAL_MAX_SHARE,
    Network,
    chord_bounded,
    disc_nodes,
    local_pass,
    network_of,
    scratch,
)
from onemap.rules import Rules, resolve_rules

__all__ = ["preview", "warm_preview"]

FORECAST_COLUMNS = ("supply_class", "parcel_id", "load_class", "new_residential")


# Radius-first preview search (tuning, not policy): the first cut-off is the straight-line gap
# to the nearest feasible point times PREVIEW_SLACK (road paths are rarely longer), at least
# PREVIEW_FIRST_M; each further stage is PREVIEW_WIDEN times longer. Graphs under
# LOCAL_MIN_ROWS nodes are searched once, to the limit, on the whole graph.
PREVIEW_FIRST_M = 300.0
PREVIEW_SLACK = 1.5
PREVIEW_WIDEN = 2.0


def _site(onemap: OneMap, lon: float, lat: float) -> tuple[int | None, float, float]:
    """The parcel under a point (row of landuse) or None, and the point in metres."""
    west, south, east, north = onemap.bounds
    if not (west <= lon <= east and south <= lat <= north):
        raise OnemapInputError(
            msg(
                "connection.point_outside_map",
                lon=lon,
                lat=lat,
                west=west,
                south=south,
                east=east,
                north=north,
            ),
            field="at",
        )
    x, y = lonlat_to_metric(lon, lat, onemap.crs_metric)
    parcels = onemap.metric("landuse")
    hit = parcels.sindex.query(Point(x, y), predicate="intersects") if len(parcels) else []
    return (int(np.min(hit)) if len(hit) else None), float(x), float(y)


def preview(
    onemap: OneMap,
    lon: float,
    lat: float,
    kw: float,
    category: str,
    date: dt.date | None = None,
    lang: str = DEFAULT_LANG,
    *,
    rules: Rules | None = None,
    year: int | None = None,
) -> Preview:
    """Readiness, connection point, route, timeline and paperwork for one site.

    The site is the parcel under ``(lon, lat)`` (routes start at its door), or the point itself
    when no parcel is there (it joins the nearest corridor). One bounded search per graph from the
    site (limit: the supply radius) — the same answer as the bulk pass for that parcel. Errors
    (exit 2 / HTTP 422): unknown category, kW ≤ 0, LV above the LV limit or absurd for the
    category, a point outside the map or away from every corridor, a map without assets.
    """
    t0 = time.perf_counter()
    if year is not None:  # the map as it stands that year (onemap.grid.years)
        onemap = as_of(onemap, year)
    rules = resolve_rules(onemap, rules)
    check_lang(lang)
    check_request(rules, kw, category)
    group = connection_group(rules, category)
    require_grid(onemap, group)
    voltage = rules.category(category).voltage_kv
    i, x, y = _site(onemap, lon, lat)
    fc = onemap.cached("forecast", lambda: forecast_load(onemap, rules), rules=rules)
    net = network_of(onemap, voltage, rules)
    # The forecast's columns as arrays (once per map): a row read costs a pandas Series.
    cols = onemap.cached(
        "forecast_cols", lambda: {c: fc[c].to_numpy() for c in FORECAST_COLUMNS}, rules=rules
    )
    fc_row = {c: v[i] for c, v in cols.items()} if i is not None else _nearest_row(fc, x, y)
    supply_class = (
        str(fc_row["supply_class"]) if fc_row is not None else rules.supply_class.order[-1]
    )
    radius = rules.supply_radius(rules.radius_voltage(voltage), supply_class)
    pts = connection_points(onemap, category, rules)
    labels = pts["label"].to_numpy(dtype=object)
    h = pts["headroom_kw"].to_numpy(dtype=float)
    parcel_id = str(fc_row["parcel_id"]) if i is not None else None

    def origin(filing: bool):
        if i is not None:
            row = net.cg.parcel_node.get(parcel_id)  # a hash look-up, not a reindex
            if row is None or pd.isna(row):
                return np.zeros(0, np.int64), {}, None
            return np.array([int(row)]), {}, None
        rows, off, lead = net.locate(x, y, filing)
        if not len(rows) and not filing:
            raise OnemapInputError(
                msg("connection.no_corridor_near", attach_max_m=rules.filing.attach_max_m),
                field="at",
            )
        return rows, dict(zip(rows.tolist(), off.tolist(), strict=True)), lead

    def search(filing: bool):
        """Per point: distance, and what is needed to draw the route (None: no search).

        Radius first: a search cut off at ``r`` gives exact distances up to ``r``, so when the
        nearest feasible point (dual: and the nearest on another source) lies within ``r`` it is
        the answer of the search to the full limit; otherwise the search widens.
        """
        if filing and net.filing is None:
            return None
        rows, offsets, lead = origin(filing)
        if not len(rows):
            return None
        lim = min(radius, rules.filing.limit_m(voltage)) if filing else radius
        src = onemap.cached(
            f"src:{category}:{filing}", lambda: Sources.of(net, pts, group, filing), rules=rules
        )
        sidx = onemap.cached(
            f"src_index:{category}:{filing}", lambda: SourceIndex.of(net, src, h), rules=rules
        )
        oxy = np.asarray(net.cg.xy[rows], dtype=float)
        gap = sidx.gap(oxy, kw)
        if not gap <= lim * (1 + 1e-9) + 1e-6:
            # No feasible point within the limit even in a straight line: none by road either.
            return np.full(len(pts), np.inf), np.full(len(pts), -1, np.int64), src, None, lead
        for stage in _preview_stages(net, lim, gap):
            # Only feasible entries within the cut-off in a straight line can be reached.
            reach = [max(stage - offsets.get(r, 0.0), 0.0) for r in rows.tolist()]
            cand = sidx.near(oxy, reach, kw)
            lp = local_pass(net, filing, stage, rows, offsets, sidx.rows[cand])
            entry_d = lp.wanted + sidx.off[cand]
            per_point = np.full(len(pts), np.inf)
            best_entry = np.full(len(pts), -1, dtype=np.int64)
            hit = np.flatnonzero(np.isfinite(entry_d))
            order = hit[np.argsort(entry_d[hit], kind="stable")[::-1]]  # nearest written last
            per_point[sidx.point[cand[order]]] = entry_d[order]
            best_entry[sidx.point[cand[order]]] = sidx.entry[cand[order]]
            res = per_point, best_entry, src, lp, lead
            if stage >= lim or pick(res)[2] <= stage:
                return res
        raise AssertionError("unreachable: the last stage is the limit")

    def pick(res):
        """Nearest feasible point (dual: and the nearest on another source), over the points
        reached only: the same choice as over every point, at the cost of the few reached."""
        if res is None:
            return None, None, np.inf
        d = res[0]
        reached = np.flatnonzero(np.isfinite(d))
        if not len(reached):
            return None, None, np.inf
        a = int(reached[_argmin_headroom(d[reached], h[reached])])
        if group != "dual":
            return a, None, float(d[a])
        other = reached[labels[reached] != labels[a]]
        if not len(other):
            return a, None, np.inf
        b = int(other[_argmin_headroom(d[other], h[other])])
        return a, b, float(max(d[a], d[b]))

    full, fil = search(False), search(True)
    a_full, b_full, d_full = pick(full)
    a_fil, b_fil, d_fil = pick(fil)
    cls = classify(rules, voltage, np.array([radius]), np.array([d_full]), np.array([d_fil]))[0]
    cls_s = str(cls[0])
    use_fil = cls_s == "B"
    a, b = (a_fil, b_fil) if use_fil else (a_full, b_full)
    res = fil if use_fil else full
    if cls_s == "D":
        a = b = None
    # Maps with LV lines (issue 17): verify the connection by load flow where the LV network is
    # complete; nameplate yes but load flow no is not feasible.
    basis, flow = None, None
    if group == "lv" and len(onemap["lines"]):
        basis = "nameplate"
        if a is not None:
            aid, kind = str(pts["asset_id"].iloc[a]), str(pts["kind"].iloc[a])
            basis, flow = headroom_basis(onemap, aid, kind, kw, rules)
            if flow is not None and not flow.ok:
                cls_s, a, b = "D", None, None
    route = second_route = None
    route_filing = False
    if a is not None:
        route = _route(onemap, net, res, a, voltage, date, rules)
        route_filing = bool(route.filing.eligible)
    if b is not None:
        second_route = _route(onemap, net, res, b, voltage, date, rules)
        route_filing &= bool(second_route.filing.eligible)
    tl = _timeline(onemap, rules, category, cls_s, route_filing, date, lang)
    load_class = str(fc_row["load_class"]) if i is not None else None
    new_res = bool(fc_row["new_residential"]) if i is not None else False
    who = payer(rules, new_res)
    out = Preview(
        readiness=cls_s,
        category=category,
        voltage_kv=voltage,
        requested_kw=float(kw),
        connection_point=_point(pts, a, res),
        route=route,
        timeline=tl,
        documents=documents(rules, category, lang),
        documents_note=online_note(rules, lang),
        payer=who["payer"],
        payer_detail=who,
        tariff_hint=tariff_hint(rules, category, kw, load_class, lang),
        parcel_id=parcel_id,
        supply_class=supply_class,
        supply_radius_m=radius,
        dual=group == "dual",
        second_connection_point=_point(pts, b, res),
        second_route=second_route,
        lang=lang,
        seconds=time.perf_counter() - t0,
    )
    out.headroom_basis, out.power_flow = basis, flow
    # Why and how much (issue 16 items 1, 2): pure functions over what was computed above.
    site = onemap.metric("landuse").geometry.iloc[i] if i is not None else Point(x, y)
    out.why = explain(onemap, rules, out, site, pts, group)
    if flow is not None and not flow.ok:  # issue 17: which load-flow limit failed
        failed = "; ".join(flow.failed)
        out.why.insert(
            0,
            Why(
                "POWER_FLOW_LIMIT",
                f"潮流校核未通过（{flow.transformer_id}，{flow.limit['source']}）：{failed}",
                f"the load flow fails ({flow.transformer_id}, {flow.limit['source']}): {failed}",
            ),
        )
    out.cost = preview_cost(rules, out, group)
    out.seconds = time.perf_counter() - t0
    return out


def _preview_stages(net: Network, limit: float, gap: float) -> list[float]:
    """Cut-offs of the radius-first preview search, ending at ``limit``.

    A stage before the last is kept only when it settles the answer, so the stages change the
    speed, never the answer. Stages whose disc would hold more than LOCAL_MAX_SHARE of the graph
    give way to the limit itself (a whole-graph search).
    """
    stages, r = [], max(PREVIEW_FIRST_M, PREVIEW_SLACK * gap)
    while r < limit and disc_nodes(net, r) <= LOCAL_MAX_SHARE * net.n_rows:
        stages.append(r)
        r *= PREVIEW_WIDEN
    return [*stages, limit]


def warm_preview(onemap: OneMap, rules: Rules | None = None) -> int:
    """Build what a first preview of each category would (graph and its CSRs from the cache,
    forecast, connection points, node index), so a server answers its first requests as fast
    as the rest. One preview per category at the first parcel; returns how many answered."""
    rules = resolve_rules(onemap, rules)
    parcels = onemap["landuse"]
    if len(parcels):
        site = parcels.geometry.iloc[0].representative_point()
        lon, lat = float(site.x), float(site.y)
    else:
        west, south, east, north = onemap.bounds
        lon, lat = (west + east) / 2, (south + north) / 2
    answered = 0
    for name, cat in rules.categories.items():
        kw = min(1.0, cat.max_kw or 1.0)
        try:
            preview(onemap, lon, lat, kw, name, rules=rules)
            answered += 1
        except OnemapInputError:  # a map without the assets of this group: nothing to warm
            continue
        net = network_of(onemap, cat.voltage_kv, rules)
        if disc_nodes(net, 0.0) < np.inf:  # the local search's indexes
            for filing in (False, True) if net.filing is not None else (False,):
                chord_bounded(net, filing)
            net.cg.nodes_within(net.cg.xy[0], 1.0)
            scratch(net)
    return answered


TIMELINE_CACHE_SIZE = 4096  # distinct (category, class, filing, date, language) answers kept


def _timeline(onemap, rules, category, cls, filing, date, lang) -> Timeline:
    """:func:`onemap.procedure.timeline.timeline`, computed once per distinct question:
    counting working days on the official calendar costs a preview more than its graph search.
    A :class:`Timeline` is frozen and serialised afresh by each caller."""
    start = date or dt.date.today()
    store = onemap.cached("timeline", dict, rules=rules)
    key = (category, cls, filing, start, lang)
    hit = store.get(key)
    if hit is None:
        if len(store) >= TIMELINE_CACHE_SIZE:
            store.clear()
        hit = store[key] = timeline(
            rules, category, cls, filing_eligible=filing, date=start, lang=lang
        )
    return hit


def _nearest_row(fc: gpd.GeoDataFrame, x: float, y: float):
    if not len(fc):
        return None
    near = fc.sindex.nearest(Point(x, y), return_all=False)[1][0]
    return fc.iloc[int(near)]


def _argmin_headroom(d: np.ndarray, h: np.ndarray) -> int:
    """Nearest point; among equally near ones the one with most headroom (as the bulk pass)."""
    best = np.flatnonzero(d == d.min())
    return int(best[np.argmax(np.nan_to_num(h[best], nan=-np.inf))])


def _point(pts: pd.DataFrame, a: int | None, res) -> ConnectionPoint | None:
    if a is None or res is None:
        return None
    return ConnectionPoint(
        asset_id=str(pts["asset_id"].iloc[a]),
        kind=str(pts["kind"].iloc[a]),
        headroom_kw=float(pts["headroom_kw"].iloc[a]),
        distance_m=float(res[0][a]),
    )


def _route(onemap, net: Network, res, a: int, voltage, date, rules) -> PreviewRoute:
    """Route to point ``a`` (lon/lat) with its filing verdict."""
    _, best_entry, src, search, lead = res
    entry = int(best_entry[a])
    target = int(src.rows[entry])
    rows = search.path(target)  # from the site to the point
    tail = list(reversed(src.leads.get(target, [])))
    line = net.geometry(rows, head=lead, tail=tail)
    verdict: FilingVerdict | NotCovered
    if not rules.filing.covers(voltage):  # ≥ 35 kV: the filing rule (item 2) has no trench
        verdict = NotCovered(voltage, float(line.length), tuple(rules.filing.voltages_kv))
    elif lead or tail:  # joined off the graph: judge the drawn line by the overlay
        verdict = check_route(
            onemap, line, voltage, date=date, rules=rules, placement="sidewalk_first"
        )
    else:
        verdict = net.verdict(rows, date)
    lon, lat = metric_to_lonlat(*np.asarray(line.coords).T, onemap.crs_metric)
    return PreviewRoute(float(line.length), LineString(np.column_stack([lon, lat])), verdict)
