"""Connection readiness (开门接电, DESIGN §4): classes A–D per parcel, and the investor preview.

For a site, a requested capacity P (kW) and a category, the nearest *feasible* connection point
(headroom ≥ P, :mod:`onemap.feasibility`) by corridor-graph distance decides the class:

* **A** — a feasible point within ``door_m`` of the door (route length from the parcel's door);
* **B** — a feasible point reached by a filing-eligible route (item 2) within the supply radius;
* **C** — a feasible point within the supply radius, only by a route that needs permits;
* **D** — no feasible point within the supply radius of the area's supply class: a grid gap.

The bulk pass (:func:`readiness`) never searches per parcel: per connection group (LV, 10/20 kV,
dual-source 10/20 kV, ≥ 35 kV) it runs multi-source passes over headroom slices of the connection
points (:func:`onemap.feasibility.nearest_feasible`) on the full corridor graph and on its
filing-eligible subgraph, reading each door's distance to the nearest feasible source. The
preview (:func:`preview`) runs a bounded search from the site on each graph (limit = the supply
radius), radius first (a short cut-off, widened only while it does not settle the answer) and on
the disc of the graph the cut-off can reach: exact, and a few milliseconds on a city.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, mapping

from onemap.errors import OnemapInputError
from onemap.feasibility import Nearest, Pair, nearest_feasible, nearest_pair
from onemap.forecast import forecast_load
from onemap.geo.crs import lonlat_to_metric, metric_to_lonlat
from onemap.geo.mapfile import OneMap
from onemap.headroom import headroom
from onemap.rules import Rules
from onemap.timeline import documents, online_note, payer, tariff_hint, timeline

CLASSES = ("A", "B", "C", "D")
# Quantile slices of the first round of bulk passes per group (tuning, not policy): an LV pass is
# short (radius ≤ 500 m), so many slices are cheap and spare refinement; a 10 kV pass reaches
# kilometres and costs about a whole-graph search, so few slices and cut-off refinement win
# (measured on the 1.2M-node synthetic city: LV 32 / HV 4 beats 8–64 / 0–2).
INITIAL_SLICES = {"lv": 32, "hv": 4, "dual": 4, "ehv": 4}
Progress = Callable[[str, int, int], None]  # (what, done, total)


# ------------------------------------------------------------------------------------------
# validation and groups


def map_rules(onemap: OneMap) -> Rules:
    """The rule table a map was built with (``meta.rules``), else the default table — the same
    object the corridor graph is cached under, so readiness reuses the map's graph."""
    from onemap.routing.graph import rules_for

    return rules_for(onemap)


def connection_group(rules: Rules, category: str) -> str:
    """``lv``, ``hv``, ``dual`` or ``ehv``: categories sharing connection points and passes."""
    cat = rules.category(category)
    if cat.voltage_kv <= rules.connection.lv_voltage_kv:
        return "lv"
    if cat.voltage_kv > rules.approval.max_voltage_kv:
        return "ehv"
    return "dual" if cat.sources > 1 else "hv"


def check_request(rules: Rules, kw: float, category: str) -> None:
    """Refuse a request that cannot be planned: unknown category, kW ≤ 0, LV above the LV limit
    (item 8) or above the category's credible maximum."""
    cat = rules.category(category)
    if kw is None or not np.isfinite(kw) or kw <= 0:
        raise OnemapInputError(f"requested kW must be a positive number, got {kw}", field="kw")
    conn = rules.connection
    if connection_group(rules, category) == "lv" and kw > conn.lv_max_kw:
        raise OnemapInputError(
            f"{kw:g} kW is above the low-voltage limit of {conn.lv_max_kw:g} kW "
            f"(item {conn.lv_max_kw_item}); ask for a 10/20 kV category such as hv_single",
            field="kw",
        )
    if cat.max_kw is not None and kw > cat.max_kw:
        raise OnemapInputError(
            f"{kw:g} kW is not credible for {category} (at most {cat.max_kw:g} kW)", field="kw"
        )


def _require_grid(onemap: OneMap, group: str) -> None:
    if group == "ehv":
        if not len(onemap["substations"]):
            raise OnemapInputError("the map has no substations to connect to", layer="substations")
    elif not len(onemap["assets"]):
        raise OnemapInputError(
            "the map has no assets (transformers, ring main units …) to connect to",
            layer="assets",
        )


# ------------------------------------------------------------------------------------------
# connection points


def connection_points(
    onemap: OneMap, category: str, rules: Rules | None = None, *, include_planned: bool = False
) -> pd.DataFrame:
    """Candidate connection points of a category with the headroom (kW) usable there.

    Columns ``asset_id``, ``kind``, ``headroom_kw`` (NaN unknown), ``label`` (independent-source
    group: substation, or substation/bus section where all its feeders' sections are known),
    ``feeder_id``, ``substation_id``, ``x``, ``y`` (metric).
    """
    rules = rules or map_rules(onemap)
    return _cached(
        onemap,
        f"points:{category}:{include_planned}:{id(rules)}",
        lambda: _connection_points(onemap, category, rules, include_planned),
    )


def _connection_points(
    onemap: OneMap, category: str, rules: Rules, include_planned: bool
) -> pd.DataFrame:
    group = connection_group(rules, category)
    table = _cached(onemap, f"headroom:{id(rules)}", lambda: headroom(onemap, rules))
    if not include_planned:
        table = table[table["asset_status"] != "planned"]
    conn = rules.connection
    if group == "lv":
        pts = table[(table["layer"] == "assets") & table["kind"].isin(conn.lv_point_kinds)]
        kw = pts["lv_headroom_kw"]
    elif group == "ehv":
        volt = rules.category(category).voltage_kv
        pts = table[(table["layer"] == "substations") & (table["voltage_kv"] >= volt)]
        kw = pts["hv_headroom_kw"]
    else:
        pts = table[(table["layer"] == "assets") & table["kind"].isin(conn.hv_point_kinds)]
        kw = pts["hv_headroom_kw"]
    out = pd.DataFrame(
        {
            "asset_id": pts["asset_id"].to_numpy(),
            "kind": pts["kind"].to_numpy(),
            "headroom_kw": kw.to_numpy(dtype=float),
            "label": _labels(onemap, pts),
            "feeder_id": pts["feeder_id"].to_numpy(),
            "substation_id": pts["substation_id"].to_numpy(),
        }
    )
    centre = shapely.point_on_surface(pts.geometry.to_numpy())
    out["x"], out["y"] = shapely.get_x(centre), shapely.get_y(centre)
    return out.reset_index(drop=True)


def _labels(onemap: OneMap, pts: pd.DataFrame) -> np.ndarray:
    feeders = onemap["feeders"]
    sub = pts["substation_id"].fillna("").astype(str).to_numpy(dtype=object)
    if not len(feeders) or "bus_section" not in feeders:
        return sub
    sections = feeders["bus_section"].fillna("").astype(str)
    complete = (sections != "").groupby(feeders["substation_id"]).all()
    by_feeder = pd.Series(sections.to_numpy(), index=feeders["feeder_id"].to_numpy())
    sec = pts["feeder_id"].map(by_feeder).fillna("").to_numpy(dtype=object)
    use = pd.Series(sub).map(complete).fillna(False).to_numpy(dtype=bool) & (sec != "")
    return np.where(use, sub + "/" + sec, sub).astype(object)


# ------------------------------------------------------------------------------------------
# caches per map (follow the layers: replace_layer() gives a layer a new token)


def _cache_key(onemap: OneMap) -> tuple[int, ...]:
    return onemap.tokens()


def _cached(onemap: OneMap, name: str, build: Callable[[], Any]) -> Any:
    store = onemap.__dict__.setdefault("_readiness_cache", {})
    key = (name, _cache_key(onemap))
    if key not in store:
        store[key] = build()
    return store[key]


# ------------------------------------------------------------------------------------------
# the corridor graph (issue 3) behind a narrow adapter


@dataclass
class _Network:
    """The corridor graph's CSR views for one voltage: full graph and filing-eligible subgraph.

    Node ids of :class:`~onemap.routing.graph.CorridorGraph` are CSR rows. Sources and origins
    that are not graph nodes (substations, a queried point) join through
    :meth:`~onemap.routing.graph.CorridorGraph.locate_xy` without changing the graph: they reach
    the two end nodes of their edge at a known offset, and :meth:`passer` adds the offset.
    """

    cg: Any
    voltage_kv: float
    full: Any
    filing: Any | None  # None where the filing rule has no trench width for the voltage
    n_rows: int
    eligible: np.ndarray | None  # edges a filing route may use (None: no filing at the voltage)

    @classmethod
    def of(cls, onemap: OneMap, voltage_kv: float, rules: Rules) -> _Network:
        from onemap.routing.graph import corridor_graph

        cg = corridor_graph(onemap, rules)
        full, _ = cg.csr(voltage_kv, False)
        filing = eligible = None
        if any(abs(v - voltage_kv) < 1e-9 for v in rules.filing.voltages_kv):
            filing, _ = cg.csr(voltage_kv, True)
            eligible = cg.eligible(voltage_kv)
        return cls(cg, voltage_kv, full, filing, full.shape[0], eligible)

    def _rows(self, index: pd.Series, ids: np.ndarray) -> np.ndarray:
        rows = index.reindex(pd.Index(ids).astype(str)).to_numpy(dtype=float)
        return np.where(np.isnan(rows), -1, rows).astype(np.int64)

    def asset_rows(self, asset_ids: np.ndarray) -> np.ndarray:
        """Graph rows of assets; -1 where an asset is not attached."""
        return self._rows(self.cg.asset_node, asset_ids)

    def parcel_rows(self, parcel_ids: np.ndarray) -> np.ndarray:
        """Graph rows of parcel doors; -1 where a parcel is not attached."""
        return self._rows(self.cg.parcel_node, parcel_ids)

    def locate(self, x: float, y: float, filing: bool) -> tuple[np.ndarray, np.ndarray, list]:
        """Rows and offsets (m) through which a point joins the graph, and its lead-in
        coordinates ``[q, p]``. On the filing subgraph only through a filing-eligible edge."""
        try:
            loc = self.cg.locate_xy(x, y)
        except OnemapInputError:
            return np.zeros(0, np.int64), np.zeros(0), []
        if filing and not self._filing_access(loc):
            return np.zeros(0, np.int64), np.zeros(0), []
        rows = np.array([loc.u, loc.v], dtype=np.int64)
        offsets = loc.access_m + np.array([loc.du, loc.dv])
        return rows, offsets, [tuple(loc.q), tuple(loc.p)]

    def _filing_access(self, loc: Any) -> bool:
        """A located point may start a filing route: its edge and its access are eligible."""
        from onemap.routing.filing import piece_reasons

        if self.eligible is None or not self.eligible[loc.edge]:
            return False
        a = loc.access
        if not len(a):
            return True
        rules = self.cg.rules
        reasons = piece_reasons(
            a.corridor, a.sidewalk_m, a.bike_m, a.motor_m, self.voltage_kv, rules
        )
        return bool((reasons.reason < 0).all())

    def verdict(self, path_rows: list[int], date: dt.date | None) -> Any:
        """Filing verdict of a path of graph nodes, from the graph's own classified pieces."""
        from onemap.routing.filing import evaluate

        pieces = self.cg.segments(path_rows)
        return evaluate(pieces, self.voltage_kv, self.cg.rules, date)

    def passer(
        self, filing: bool, limit: float, offsets: dict[int, float] | None = None
    ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """A multi-source pass on the full or filing graph, cut off at ``limit`` metres.

        Rows with an offset (sources joined off the graph) are searched one by one and combined
        by the smallest ``offset + distance``, so the pass stays exact; plain rows share one
        multi-source pass. Returns ``run(rows) -> (dist, source_row, pred)``.
        """
        from onemap.routing.bulk import nearest_sources

        csr = self.filing if filing else self.full
        offsets = offsets or {}

        def run(rows: np.ndarray):
            rows = np.asarray(rows, dtype=np.int64)
            off = np.array([offsets.get(int(r), 0.0) for r in rows]) if offsets else None
            if off is None or not off.any():
                dist, src, pred = nearest_sources(csr, rows, limit=limit)
                return dist, np.asarray(src), pred
            best = np.full(self.n_rows, np.inf)
            best_src = np.full(self.n_rows, -1, dtype=np.int64)
            best_pred = np.full(self.n_rows, -9999, dtype=np.int64)
            for r, o in zip(rows, off, strict=True):
                dist, _, pred = nearest_sources(csr, np.array([r]), limit=max(limit - o, 0.0))
                total = dist + o
                better = total < best
                best[better], best_src[better] = total[better], r
                best_pred[better] = np.asarray(pred)[better]
            return best, best_src, best_pred

        return run

    def path_rows(self, pred: np.ndarray, row: int) -> list[int]:
        """Rows from the pass's source to ``row`` (the source first)."""
        from onemap.routing.bulk import path_from_predecessors

        return [int(r) for r in path_from_predecessors(pred, int(row))]

    def geometry(self, path_rows: list[int], head: list | None = None, tail: list | None = None):
        """Metric LineString of a path, with lead-in/lead-out coordinates of points joined off
        the graph."""
        coords = [tuple(c) for c in self.cg.xy[np.asarray(path_rows, dtype=np.int64)]]
        coords = [*(head or []), *coords, *(tail or [])]
        dedup = [c for k, c in enumerate(coords) if k == 0 or c != coords[k - 1]]
        if len(dedup) == 1:
            dedup = dedup * 2
        return LineString(dedup)


@dataclass
class _LocalPass:
    """A bounded search from a site on the nodes ``nodes`` (sorted graph rows; None: the whole
    graph), with ``pred`` indexed like ``nodes``, and the distance of the rows it was asked for."""

    nodes: np.ndarray | None
    pred: np.ndarray
    wanted: np.ndarray

    def path(self, row: int) -> list[int]:
        """Graph rows from the search's origin to ``row`` (the origin first)."""
        from onemap.routing.bulk import path_from_predecessors

        local = row if self.nodes is None else int(np.searchsorted(self.nodes, row))
        path = np.asarray(path_from_predecessors(self.pred, local), dtype=np.int64)
        return [int(r) for r in (path if self.nodes is None else self.nodes[path])]


class _Scratch:
    """Graph row -> position in a node subset, for one subset at a time (a lock guards it).

    One int32 array over the whole graph, set for a subset and cleared after, makes the
    look-up O(subset) instead of a search per row; the lock costs nothing, as the work it
    guards holds the GIL anyway.
    """

    def __init__(self, n: int) -> None:
        self.index = np.full(n, -1, dtype=np.int32)
        self.lock = threading.Lock()


def _scratch(net: _Network) -> _Scratch:
    store = net.__dict__
    if "_scratch" not in store:
        store.setdefault("_scratch", _Scratch(net.n_rows))
    return store["_scratch"]


def _induced(csr: Any, nodes: np.ndarray, at: np.ndarray) -> Any:
    """The subgraph of ``csr`` on the sorted rows ``nodes`` (``at``: graph row -> position, -1
    outside), every row keeping its neighbours in the graph's order, so that a search on it
    visits and breaks ties exactly as on the whole graph."""
    import scipy.sparse as sp

    start = csr.indptr[nodes]
    counts = csr.indptr[nodes + 1] - start
    first = np.cumsum(counts) - counts
    pos = np.repeat(start - first, counts) + np.arange(int(counts.sum()))
    k = at[csr.indices[pos]]
    keep = k >= 0
    per_row = np.bincount(np.repeat(np.arange(len(nodes)), counts)[keep], minlength=len(nodes))
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    n = len(nodes)
    return sp.csr_matrix((csr.data[pos][keep], k[keep], indptr), shape=(n, n))


# Above this share of the graph's nodes a bounded search runs on the whole graph: cutting the
# subgraph out would cost more than the whole graph's set-up it saves (tuning, not policy).
LOCAL_MAX_SHARE = 0.25


def _local_pass(
    net: _Network,
    filing: bool,
    limit: float,
    rows: np.ndarray,
    offsets: dict[int, float],
    want: np.ndarray,
) -> _LocalPass:
    """:meth:`_Network.passer` from ``rows`` cut off at ``limit``, on the nodes it can reach;
    ``wanted`` holds the distance of the graph rows ``want`` (inf where not reached).

    A node within ``limit`` of an origin row lies within ``limit`` of it in a straight line as
    well, because no edge is shorter than the segment between its ends (checked once per graph;
    where it fails the whole graph is searched). Searching the induced subgraph of that disc
    therefore gives the same distances and predecessors as the whole graph, without the whole
    graph's per-search set-up (arrays and heap nodes for every one of its rows).
    """
    nodes = None
    reach = max((limit - offsets.get(r, 0.0) for r in rows.tolist()), default=0.0)
    if _disc_nodes(net, reach) <= LOCAL_MAX_SHARE * net.n_rows and _chord_bounded(net, filing):
        xy = net.cg.xy
        # A hair of slack: the straight-line test must never drop a node the search reaches.
        balls = [
            net.cg.nodes_within(xy[r], max(limit - offsets.get(r, 0.0), 0.0) * (1 + 1e-9) + 1e-6)
            for r in rows.tolist()
        ]
        nodes = balls[0] if len(balls) == 1 else np.unique(np.concatenate(balls))
        if len(nodes) > LOCAL_MAX_SHARE * net.n_rows:
            nodes = None
    if nodes is None:
        dist, _, pred = net.passer(filing, limit, offsets)(rows)
        return _LocalPass(None, pred, dist[want])
    scratch = _scratch(net)
    with scratch.lock:
        scratch.index[nodes] = np.arange(len(nodes), dtype=np.int32)
        try:
            sub = _induced(net.filing if filing else net.full, nodes, scratch.index)
            local_rows = scratch.index[rows].astype(np.int64)
            want_at = scratch.index[want]
        finally:
            scratch.index[nodes] = -1
    local_off = {
        int(k): offsets[r] for k, r in zip(local_rows, rows.tolist(), strict=True) if r in offsets
    }
    local = _Network(net.cg, net.voltage_kv, sub, sub, len(nodes), None)
    dist, _, pred = local.passer(filing, limit, local_off)(local_rows)
    wanted = np.where(want_at >= 0, dist[np.maximum(want_at, 0)], np.inf)
    return _LocalPass(nodes, np.asarray(pred), wanted)


def _disc_nodes(net: _Network, radius: float) -> float:
    """About how many nodes a disc of ``radius`` m holds (mean density over the graph's
    bounding box); inf on graphs too small for a local search to pay (LOCAL_MIN_ROWS)."""
    if net.n_rows < LOCAL_MIN_ROWS:
        return np.inf
    if "_xy_box" not in net.__dict__:
        net.__dict__["_xy_box"] = net.cg.xy.min(axis=0), net.cg.xy.max(axis=0)
    lo, hi = net.__dict__["_xy_box"]
    return np.pi * radius * radius * net.n_rows / max(float(np.prod(hi - lo)), 1.0)


def _chord_bounded(net: _Network, filing: bool) -> bool:
    """Whether no edge of the (full or filing) CSR is shorter than its straight chord."""
    store = net.__dict__.setdefault("_chord_bounded", {})
    if filing not in store:
        coo = (net.filing if filing else net.full).tocoo()
        chord = np.hypot(*(net.cg.xy[coo.row] - net.cg.xy[coo.col]).T)
        store[filing] = bool((coo.data >= chord - 1e-6 * np.maximum(chord, 1.0)).all())
    return store[filing]


def _network(onemap: OneMap, voltage_kv: float, rules: Rules) -> _Network:
    """The cached :class:`_Network` of a map for a voltage and rule table."""
    key = f"net:{voltage_kv}:{id(rules)}"
    return _cached(onemap, key, lambda: _Network.of(onemap, voltage_kv, rules))


# ------------------------------------------------------------------------------------------
# classification shared by the bulk pass and the preview


def _filing_admits(rules: Rules, length: np.ndarray, voltage_kv: float) -> np.ndarray:
    """Whether route lengths fall in a tier that needs no permits (item 2; tiers in the table)."""
    ok = np.zeros(len(length), dtype=bool)
    for tier in rules.filing.tiers:
        if not tier.eligible:
            continue
        if tier.voltages_kv and not any(abs(v - voltage_kv) < 1e-9 for v in tier.voltages_kv):
            continue
        ok |= length <= tier.max_length_m if tier.inclusive else length < tier.max_length_m
    return ok


def _classify(
    rules: Rules, voltage_kv: float, radius: np.ndarray, d_full: np.ndarray, d_filing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class per target, and masks of a filing route / a route within radius."""
    within = np.isfinite(d_full) & (d_full <= radius)
    filing_ok = (
        np.isfinite(d_filing) & (d_filing <= radius) & _filing_admits(rules, d_filing, voltage_kv)
    )
    door = within & (d_full <= rules.connection.door_m)
    cls = np.select([door, filing_ok, within], ["A", "B", "C"], default="D").astype(object)
    return cls, filing_ok, within


def _radius(rules: Rules, voltage_kv: float, supply_class: np.ndarray) -> np.ndarray:
    uniq = {c: rules.supply_radius(voltage_kv, c) for c in set(supply_class)}
    return pd.Series(supply_class).map(uniq).to_numpy(dtype=float)


def _radius_voltage(rules: Rules, voltage_kv: float) -> float:
    """The supply-radius table entry for a voltage (≥ 35 kV categories use the 35 kV row)."""
    keys = sorted(float(k) for k in rules.supply_radius_m if k != "source")
    fits = [k for k in keys if k <= voltage_kv + 1e-9]
    return fits[-1] if fits else keys[0]


# ------------------------------------------------------------------------------------------
# bulk readiness


@dataclass
class _Sources:
    """Connection points as graph sources: one entry per (row, point); points joined off the
    graph (substations) enter at both ends of their edge with an offset and a lead-in."""

    rows: np.ndarray
    point: np.ndarray
    offsets: dict[int, float]
    leads: dict[int, list]

    @classmethod
    def of(cls, net: _Network, pts: pd.DataFrame, group: str, filing: bool) -> _Sources:
        if group != "ehv":
            rows = net.asset_rows(pts["asset_id"].to_numpy())
            return cls(rows, np.arange(len(pts)), {}, {})
        rows, point, offsets, leads = [], [], {}, {}
        # Substations are few (tens in a city): joined one by one, without changing the graph.
        for k, (x, y) in enumerate(zip(pts["x"], pts["y"], strict=True)):
            r, off, lead = net.locate(float(x), float(y), filing)
            for row, o in zip(r.tolist(), off.tolist(), strict=True):
                if o < offsets.get(row, np.inf):
                    offsets[row], leads[row] = o, lead
                rows.append(row)
                point.append(k)
        return cls(np.asarray(rows, np.int64), np.asarray(point, np.int64), offsets, leads)

    def headroom(self, pts: pd.DataFrame) -> np.ndarray:
        return pts["headroom_kw"].to_numpy(dtype=float)[self.point]

    def offset_array(self) -> np.ndarray:
        """Offset (m) of every entry: 0 for graph nodes."""
        if not self.offsets:
            return np.zeros(len(self.rows))
        return pd.Series(self.rows).map(self.offsets).fillna(0.0).to_numpy(dtype=float)


@dataclass
class _GroupRun:
    """What the bulk pass keeps of one connection group to materialise routes later."""

    net: _Network
    full: Nearest
    filing: Nearest | None
    src_full: _Sources
    src_filing: _Sources | None
    position: np.ndarray  # parcel row -> index within the group
    door_rows: np.ndarray  # graph row of each parcel door of the group (-1: not attached)
    # The chain contractions the passes ran on (None: the plain CSR); predecessors of a pass are
    # over contracted rows, expanded back to graph nodes when a route is drawn.
    con_full: Any = None
    con_filing: Any = None


@dataclass
class ReadinessResult:
    """Readiness of every parcel. ``layer`` is the ``readiness`` layer (metric CRS)."""

    layer: gpd.GeoDataFrame
    category: str | None
    kw: float | None
    passes: int
    seconds: float
    crs_metric: str
    passes_by_group: dict[str, int] = field(default_factory=dict)
    _runs: dict[str, _GroupRun] = field(default_factory=dict, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        vc = self.layer["readiness"].value_counts()
        return {c: int(vc.get(c, 0)) for c in CLASSES}

    def to_dict(self) -> dict[str, object]:
        """The JSON of DESIGN §8 (``parcels``, ``counts``) plus the request and pass statistics."""
        by_cat = pd.crosstab(self.layer["category"], self.layer["readiness"])
        return {
            "parcels": len(self.layer),
            "counts": self.counts,
            "category": self.category,
            "kw": self.kw,
            "by_category": {
                str(cat): {c: int(row.get(c, 0)) for c in CLASSES} for cat, row in by_cat.iterrows()
            },
            "passes": self.passes,
            "passes_by_group": self.passes_by_group,
            "seconds": round(self.seconds, 3),
        }

    def route(self, parcel_id: str) -> LineString | None:
        """The chosen route of one parcel (metric CRS), materialised on demand; None for D."""
        hit = np.flatnonzero(self.layer["parcel_id"].to_numpy() == parcel_id)
        if not len(hit):
            raise OnemapInputError(f"no parcel '{parcel_id}'", layer="landuse", field="parcel_id")
        row = self.layer.iloc[int(hit[0])]
        if row["readiness"] == "D":
            return None
        run = self._runs[row["group"]]
        j = int(run.position[int(hit[0])])
        use_filing = row["readiness"] == "B"
        nearest = run.filing if use_filing else run.full
        src = run.src_filing if use_filing else run.src_full
        source_row = int(nearest.source_row[j])
        rows = _route_rows(run, j, use_filing)
        return run.net.geometry(rows, head=src.leads.get(source_row))


def readiness(
    onemap: OneMap,
    kw: float | None = None,
    category: str | None = None,
    *,
    rules: Rules | None = None,
    progress: Progress | None = None,
) -> ReadinessResult:
    """Readiness class of every parcel, for its own forecast load and default category (both
    ``kw`` and ``category`` None), or for the given ``kw`` and ``category``.

    Errors (OnemapInputError): only one of ``kw``/``category``, a bad request
    (:func:`check_request`), a map without parcels, or without assets (substations for ≥ 35 kV).
    """
    rules = rules or map_rules(onemap)
    t0 = time.perf_counter()
    if (kw is None) != (category is None):
        raise OnemapInputError(
            "give both kW and category, or neither (each parcel's own forecast)",
            field="kw" if kw is None else "category",
        )
    if category is not None:
        check_request(rules, kw, category)
    parcels = onemap.metric("landuse")
    if not len(parcels):
        raise OnemapInputError("the map has no parcels", layer="landuse")
    fc = _cached(onemap, f"forecast:{id(rules)}", lambda: forecast_load(onemap, rules))
    n = len(fc)
    cats = fc["category"].to_numpy(dtype=object) if category is None else np.full(n, category)
    load = fc["load_kw"].to_numpy(dtype=float) if kw is None else np.full(n, float(kw))
    group_of = {c: connection_group(rules, c) for c in set(cats)}
    groups = pd.Series(cats).map(group_of).to_numpy(dtype=object)
    for g in set(groups):
        _require_grid(onemap, g)

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
    runs: dict[str, _GroupRun] = {}
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


def _bulk_group(onemap, rules, group, category, load, fc, cols, idx) -> tuple[_GroupRun, int]:
    """Fill ``cols`` at ``idx`` for the parcels of one connection group."""
    voltage = rules.category(category).voltage_kv
    pts = connection_points(onemap, category, rules)
    net = _network(onemap, voltage, rules)
    tgt_rows = net.parcel_rows(fc["parcel_id"].to_numpy())
    radius = _radius(rules, _radius_voltage(rules, voltage), fc["supply_class"].to_numpy())
    limit = float(np.max(radius)) if len(radius) else 0.0
    bands = _bands(rules, group)
    src_full = _Sources.of(net, pts, group, filing=False)
    src_fil = _Sources.of(net, pts, group, filing=True) if net.filing is not None else None

    def solve(src: _Sources, filing: bool):
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
            run = _contracted_pass(con, lim)

            def limited(rows: np.ndarray, cut: float):
                return _contracted_pass(con, min(cut, lim))(rows)

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
    cls, filing_ok, _ = _classify(rules, voltage, radius, d_full, d_fil)
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
    run = _GroupRun(
        net, f1, g1, src_full, src_fil, np.zeros(0, np.int64), tgt_rows, con_full, con_fil
    )
    return run, n_passes


def _route_rows(run: _GroupRun, j: int, use_filing: bool) -> list[int]:
    """Graph nodes of the chosen route of target ``j`` of a group, from its connection point
    to the door (re-runs the one pass that answered it)."""
    nearest = run.filing if use_filing else run.full
    con = run.con_filing if use_filing else run.con_full
    door = int(run.door_rows[j])
    if con is None:
        return run.net.path_rows(nearest.pred_of(j), door)
    dist, source, pred, _ = nearest.run_pass(nearest.pass_rows[int(nearest.pass_key[j])])
    ends, offsets = con.anchors(np.array([door]))
    end = int(con.read(dist, source, ends, offsets)[2][0])
    csr = run.net.filing if use_filing else run.net.full
    return con.expand_to(run.net.path_rows(pred, end), door, csr)


def _contraction(net: _Network, src: _Sources, filing: bool):
    """The chain-contracted CSR for a group's passes, or None where a source joins the graph
    off its nodes (substations: an offset on an edge end that may lie inside a chain)."""
    if src.offsets or (filing and net.filing is None):
        return None
    con = net.cg.contracted(net.voltage_kv, filing)
    attached = src.rows >= 0
    if (con.rows_of(src.rows[attached]) < 0).any():
        return None
    return con


def _contracted_pass(con, limit: float):
    """``run(rows)`` over contracted rows: one multi-source pass cut off at ``limit``."""
    from onemap.routing.bulk import nearest_sources

    def run(rows: np.ndarray):
        dist, src, pred = nearest_sources(con.csr, rows, limit=limit)
        return dist, np.asarray(src), pred, limit  # an attached door may lie past the limit

    return run


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
        entry_of_row = _asset_of_row(src.rows, src.headroom(pts), n_rows)
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


def _bands(rules: Rules, group: str) -> list[float]:
    conn = rules.connection
    return {
        "lv": conn.lv_capacity_bands_kw,
        "hv": conn.hv_capacity_bands_kw,
        "dual": conn.hv_capacity_bands_kw,
        "ehv": conn.ehv_capacity_bands_kw,
    }[group]


def _asset_of_row(rows: np.ndarray, headroom_kw: np.ndarray, n_rows: int) -> np.ndarray:
    """Per graph row, the entry reported there: the one with most headroom."""
    out = np.full(n_rows, -1, dtype=np.int64)
    ok = np.flatnonzero(rows >= 0)
    h = np.nan_to_num(headroom_kw[ok], nan=-np.inf)
    order = ok[np.lexsort((h, rows[ok]))]  # ascending headroom: the last per row wins below
    out[rows[order]] = order
    return out


# ------------------------------------------------------------------------------------------
# preview


CLASS_LABELS = {
    "zh": {"A": "开门接电", "B": "备案施工", "C": "许可施工", "D": "电网缺口"},
    "en": {"A": "connect at the door", "B": "filing works", "C": "permit works", "D": "grid gap"},
}


@dataclass
class Preview:
    """What an investor sees for one site (DESIGN §8 ``preview``)."""

    readiness: str
    category: str
    voltage_kv: float
    requested_kw: float
    connection_point: dict[str, Any] | None
    route: dict[str, Any] | None
    timeline: dict[str, Any]
    documents: list[str]
    documents_note: str
    payer: str
    payer_detail: dict[str, str]
    tariff_hint: str
    parcel_id: str | None
    supply_class: str
    supply_radius_m: float
    dual: bool = False
    second_connection_point: dict[str, Any] | None = None
    second_route: dict[str, Any] | None = None
    lang: str = "zh"
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON of DESIGN §8 ``preview`` plus labels, parcel, supply class and (dual) the second
        connection point and route."""
        out = {
            "readiness": self.readiness,
            "readiness_label": CLASS_LABELS[self.lang][self.readiness],
            "category": self.category,
            "voltage_kv": self.voltage_kv,
            "requested_kw": self.requested_kw,
            "connection_point": self.connection_point,
            "route": self.route,
            "timeline": self.timeline,
            "documents": self.documents,
            "documents_note": self.documents_note,
            "payer": self.payer,
            "payer_detail": self.payer_detail,
            "tariff_hint": self.tariff_hint,
            "parcel_id": self.parcel_id,
            "supply_class": self.supply_class,
            "supply_radius_m": self.supply_radius_m,
        }
        if self.dual:
            out["second_connection_point"] = self.second_connection_point
            out["second_route"] = self.second_route
        return out


def _site(onemap: OneMap, lon: float, lat: float) -> tuple[int | None, float, float]:
    """The parcel under a point (row of landuse) or None, and the point in metres."""
    west, south, east, north = onemap.bounds
    if not (west <= lon <= east and south <= lat <= north):
        raise OnemapInputError(
            f"the point {lon:.6f},{lat:.6f} is outside the map "
            f"({west:.4f},{south:.4f} – {east:.4f},{north:.4f})",
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
    lang: str = "zh",
    *,
    rules: Rules | None = None,
) -> Preview:
    """Readiness, connection point, route, timeline and paperwork for one site.

    The site is the parcel under ``(lon, lat)`` (routes start at its door), or the point itself
    when no parcel is there (it joins the nearest corridor). One bounded search per graph from the
    site (limit: the supply radius) — the same answer as the bulk pass for that parcel. Errors
    (exit 2 / HTTP 422): unknown category, kW ≤ 0, LV above the LV limit or absurd for the
    category, a point outside the map or away from every corridor, a map without assets.
    """
    t0 = time.perf_counter()
    rules = rules or map_rules(onemap)
    if lang not in CLASS_LABELS:
        raise OnemapInputError(f"unknown language '{lang}'; use zh or en", field="lang")
    check_request(rules, kw, category)
    group = connection_group(rules, category)
    _require_grid(onemap, group)
    voltage = rules.category(category).voltage_kv
    i, x, y = _site(onemap, lon, lat)
    fc = _cached(onemap, f"forecast:{id(rules)}", lambda: forecast_load(onemap, rules))
    net = _network(onemap, voltage, rules)
    # The forecast's columns as arrays (once per map): a row read costs a pandas Series.
    cols = _cached(
        onemap,
        f"forecast_cols:{id(rules)}",
        lambda: {c: fc[c].to_numpy() for c in FORECAST_COLUMNS},
    )
    fc_row = {c: v[i] for c, v in cols.items()} if i is not None else _nearest_row(fc, x, y)
    supply_class = (
        str(fc_row["supply_class"]) if fc_row is not None else rules.supply_class.order[-1]
    )
    radius = rules.supply_radius(_radius_voltage(rules, voltage), supply_class)
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
                f"no road corridor within {rules.filing.attach_max_m:g} m of the point",
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
        src = _cached(
            onemap,
            f"src:{category}:{filing}:{id(rules)}",
            lambda: _Sources.of(net, pts, group, filing),
        )
        sidx = _cached(
            onemap,
            f"src_index:{category}:{filing}:{id(rules)}",
            lambda: _SourceIndex.of(net, src, h),
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
            lp = _local_pass(net, filing, stage, rows, offsets, sidx.rows[cand])
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
    cls = _classify(rules, voltage, np.array([radius]), np.array([d_full]), np.array([d_fil]))[0]
    cls_s = str(cls[0])
    use_fil = cls_s == "B"
    a, b = (a_fil, b_fil) if use_fil else (a_full, b_full)
    res = fil if use_fil else full
    if cls_s == "D":
        a = b = None
    route = second_route = None
    route_filing = False
    if a is not None:
        route = _route_json(onemap, net, res, a, voltage, date, rules, lang)
        route_filing = bool(route["filing"]["eligible"])
    if b is not None:
        second_route = _route_json(onemap, net, res, b, voltage, date, rules, lang)
        route_filing &= bool(second_route["filing"]["eligible"])
    tl = _timeline_json(onemap, rules, category, cls_s, route_filing, date, lang)
    load_class = str(fc_row["load_class"]) if i is not None else None
    new_res = bool(fc_row["new_residential"]) if i is not None else False
    who = payer(rules, new_res)
    return Preview(
        readiness=cls_s,
        category=category,
        voltage_kv=voltage,
        requested_kw=float(kw),
        connection_point=_point_json(pts, a, res),
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
        second_connection_point=_point_json(pts, b, res),
        second_route=second_route,
        lang=lang,
        seconds=time.perf_counter() - t0,
    )


# Radius-first preview search (tuning, not policy): the first cut-off is the straight-line gap
# to the nearest feasible point times PREVIEW_SLACK (road paths are rarely longer), at least
# PREVIEW_FIRST_M; each further stage is PREVIEW_WIDEN times longer. Graphs under
# LOCAL_MIN_ROWS nodes are searched once, to the limit, on the whole graph.
PREVIEW_FIRST_M = 300.0
PREVIEW_SLACK = 1.5
PREVIEW_WIDEN = 2.0
LOCAL_MIN_ROWS = 50_000


GAP_NEIGHBOURS = 32  # sources looked at first for the nearest feasible one (tuning)


@dataclass
class _SourceIndex:
    """The entries of :class:`_Sources` that are graph rows with a known headroom, in their
    order, with a KD-tree of their rows' coordinates: a preview reads only the entries near it."""

    entry: np.ndarray  # index into _Sources.rows
    rows: np.ndarray
    point: np.ndarray
    h: np.ndarray  # headroom (kW) of the entry's point
    off: np.ndarray  # offset (m) of the entry
    xy: np.ndarray
    tree: Any

    @classmethod
    def of(cls, net: _Network, src: _Sources, headroom_kw: np.ndarray) -> _SourceIndex:
        from scipy.spatial import cKDTree

        h = headroom_kw[src.point]
        entry = np.flatnonzero((src.rows >= 0) & ~np.isnan(h))
        xy = np.asarray(net.cg.xy[src.rows[entry]], dtype=float).reshape(-1, 2)
        tree = cKDTree(xy) if len(entry) else None
        off = src.offset_array()[entry]
        return cls(entry, src.rows[entry], src.point[entry], h[entry], off, xy, tree)

    def gap(self, origin_xy: np.ndarray, kw: float) -> float:
        """Shortest straight line (m) from an origin to a feasible entry (inf: none)."""
        if self.tree is None:
            return np.inf
        k = min(GAP_NEIGHBOURS, len(self.entry))
        d, j = self.tree.query(origin_xy, k=k)
        d, j = d.reshape(len(origin_xy), -1), j.reshape(len(origin_xy), -1)
        ok = self.h[j] >= kw
        if ok.any(axis=1).all():  # every origin's nearest feasible entry is among its k
            return _straight_gap(d[ok])
        feasible = self.xy[self.h >= kw]
        if not len(feasible):
            return np.inf
        return _straight_gap(np.concatenate([np.hypot(*(feasible - p).T) for p in origin_xy]))

    def near(self, origin_xy: np.ndarray, radii: list[float], kw: float) -> np.ndarray:
        """Positions (ascending) of the feasible entries within ``radii`` of the origins."""
        if self.tree is None:
            return np.zeros(0, np.int64)
        # The same hair of slack as the node discs: never drop an entry the search reaches.
        found = [
            np.asarray(self.tree.query_ball_point(p, r * (1 + 1e-9) + 1e-6), dtype=np.int64)
            for p, r in zip(origin_xy, radii, strict=True)
        ]
        idx = found[0] if len(found) == 1 else np.concatenate(found)
        idx = np.unique(idx)
        return idx[self.h[idx] >= kw]


def _straight_gap(distances: np.ndarray) -> float:
    """The shortest of some straight-line distances (m)."""
    return float(distances.min()) if len(distances) else np.inf


def _preview_stages(net: _Network, limit: float, gap: float) -> list[float]:
    """Cut-offs of the radius-first preview search, ending at ``limit``.

    A stage before the last is kept only when it settles the answer, so the stages change the
    speed, never the answer. Stages whose disc would hold more than LOCAL_MAX_SHARE of the graph
    give way to the limit itself (a whole-graph search).
    """
    stages, r = [], max(PREVIEW_FIRST_M, PREVIEW_SLACK * gap)
    while r < limit and _disc_nodes(net, r) <= LOCAL_MAX_SHARE * net.n_rows:
        stages.append(r)
        r *= PREVIEW_WIDEN
    return [*stages, limit]


def warm_preview(onemap: OneMap, rules: Rules | None = None) -> int:
    """Build what a first preview of each category would (graph and its CSRs from the cache,
    forecast, connection points, node index), so a server answers its first requests as fast
    as the rest. One preview per category at the first parcel; returns how many answered."""
    rules = rules or map_rules(onemap)
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
        net = _network(onemap, cat.voltage_kv, rules)
        if _disc_nodes(net, 0.0) < np.inf:  # the local search's indexes
            for filing in (False, True) if net.filing is not None else (False,):
                _chord_bounded(net, filing)
            net.cg.nodes_within(net.cg.xy[0], 1.0)
            _scratch(net)
    return answered


TIMELINE_CACHE_SIZE = 4096  # distinct (category, class, filing, date, language) answers kept


def _timeline_json(onemap, rules, category, cls, filing, date, lang) -> dict[str, Any]:
    """:func:`onemap.timeline.timeline` as JSON, computed once per distinct question: counting
    working days on the official calendar costs a preview more than its graph search."""
    start = date or dt.date.today()
    store = _cached(onemap, f"timeline:{id(rules)}", dict)
    key = (category, cls, filing, start, lang)
    hit = store.get(key)
    if hit is None:
        if len(store) >= TIMELINE_CACHE_SIZE:
            store.clear()
        tl = timeline(rules, category, cls, filing_eligible=filing, date=start, lang=lang)
        hit = store[key] = tl.to_dict()
    return copy.deepcopy(hit)  # the caller owns its answer


FORECAST_COLUMNS = ("supply_class", "parcel_id", "load_class", "new_residential")


def _nearest_row(fc: gpd.GeoDataFrame, x: float, y: float):
    if not len(fc):
        return None
    near = fc.sindex.nearest(Point(x, y), return_all=False)[1][0]
    return fc.iloc[int(near)]


def _argmin_headroom(d: np.ndarray, h: np.ndarray) -> int:
    """Nearest point; among equally near ones the one with most headroom (as the bulk pass)."""
    best = np.flatnonzero(d == d.min())
    return int(best[np.argmax(np.nan_to_num(h[best], nan=-np.inf))])


def _point_json(pts: pd.DataFrame, a: int | None, res) -> dict[str, Any] | None:
    if a is None or res is None:
        return None
    return {
        "asset_id": str(pts["asset_id"].iloc[a]),
        "kind": str(pts["kind"].iloc[a]),
        "headroom_kw": round(float(pts["headroom_kw"].iloc[a]), 3),
        "distance_m": round(float(res[0][a]), 2),
    }


def _check_route():
    try:
        from onemap.routing.check import check_route
    except ImportError:  # the routing package keeps it in filing on some versions
        from onemap.routing.filing import check_route  # type: ignore[no-redef]
    return check_route


def _route_json(onemap, net: _Network, res, a: int, voltage, date, rules, lang):
    """Route to point ``a`` as GeoJSON (lon/lat) with its filing verdict."""
    _, best_entry, src, search, lead = res
    entry = int(best_entry[a])
    target = int(src.rows[entry])
    rows = search.path(target)  # from the site to the point
    tail = list(reversed(src.leads.get(target, [])))
    line = net.geometry(rows, head=lead, tail=tail)
    try:
        if lead or tail:  # joined off the graph: judge the drawn line by the overlay
            verdict = _check_route()(onemap, line, voltage, date=date).to_dict(lang)
        else:
            verdict = net.verdict(rows, date).to_dict(lang)
    except OnemapInputError:  # ≥ 35 kV: the filing rule (item 2) has no trench width for it
        known = "、".join(f"{v:g}" for v in rules.filing.voltages_kv)
        message = (
            f"备案规则不适用于 {voltage:g} kV（规则表仅含 {known} kV）"
            if lang == "zh"
            else f"the filing rule does not cover {voltage:g} kV (the rule table has {known} kV)"
        )
        verdict = {
            "eligible": False,
            "length_m": round(float(line.length), 2),
            "reasons": [{"code": "NOT_COVERED", "message": message}],
            "permits": [],
        }
    lon, lat = metric_to_lonlat(*np.asarray(line.coords).T, onemap.crs_metric)
    return {
        "length_m": round(float(line.length), 2),
        "geometry": mapping(LineString(np.column_stack([lon, lat]))),
        "filing": verdict,
    }


__all__ = [
    "CLASSES",
    "Preview",
    "ReadinessResult",
    "check_request",
    "connection_group",
    "connection_points",
    "preview",
    "readiness",
]
