"""The CSR search engine over a map's corridor graph for one voltage (full and filing graphs).

:class:`Network` holds the corridor graph's CSR views for a voltage and answers multi-source
passes (:meth:`Network.passer`), with points joined off the graph at an offset (substations, a
queried site) kept exact. :func:`local_pass` runs a bounded search on the induced subgraph of
the disc the cut-off can reach (exact: no edge is shorter than its chord, checked once per
graph by :func:`chord_bounded`). :func:`contracted_pass` is the pass on the chain-contracted
CSR (:mod:`onemap.routing.contract`). Readiness (:mod:`onemap.connection`) builds on these.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from shapely.geometry import LineString

from onemap.errors import OnemapInputError
from onemap.routing.build import corridor_graph
from onemap.routing.bulk import nearest_sources, nearest_sources_offset, path_from_predecessors
from onemap.routing.filing import FilingVerdict, evaluate, piece_reasons
from onemap.routing.graph import CorridorGraph, Located
from onemap.rules import Rules

__all__ = [
    "LOCAL_MAX_SHARE",
    "LOCAL_MIN_ROWS",
    "LocalPass",
    "Network",
    "chord_bounded",
    "contracted_pass",
    "disc_nodes",
    "local_pass",
    "network_of",
    "scratch",
]

# Above this share of the graph's nodes a bounded search runs on the whole graph: cutting the
# subgraph out would cost more than the whole graph's set-up it saves (tuning, not policy).
LOCAL_MAX_SHARE = 0.25


LOCAL_MIN_ROWS = 50_000


@dataclass
class Network:
    """The corridor graph's CSR views for one voltage: full graph and filing-eligible subgraph.

    Node ids of :class:`~onemap.routing.graph.CorridorGraph` are CSR rows. Sources and origins
    that are not graph nodes (substations, a queried point) join through
    :meth:`~onemap.routing.graph.CorridorGraph.locate_xy` without changing the graph: they reach
    the two end nodes of their edge at a known offset, and :meth:`passer` adds the offset.
    """

    cg: CorridorGraph
    voltage_kv: float
    full: Any
    filing: Any | None  # None where the filing rule has no trench width for the voltage
    n_rows: int
    eligible: np.ndarray | None  # edges a filing route may use (None: no filing at the voltage)

    @classmethod
    def of(cls, onemap: Any, voltage_kv: float, rules: Rules) -> Network:
        cg = corridor_graph(onemap, rules)
        full, _ = cg.csr(voltage_kv, False)
        filing = eligible = None
        if rules.filing.covers(voltage_kv):
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

    def locate_many(
        self, xy: np.ndarray, filing: bool
    ) -> list[tuple[np.ndarray, np.ndarray, list]]:
        """:meth:`locate` of many metric points, the graph search vectorised (same answers)."""
        _, located = self.cg.locate_many(xy)
        none = (np.zeros(0, np.int64), np.zeros(0), [])
        out = []
        for loc in located:
            if loc is None or (filing and not self._filing_access(loc)):
                out.append(none)
                continue
            rows = np.array([loc.u, loc.v], dtype=np.int64)
            offsets = loc.access_m + np.array([loc.du, loc.dv])
            out.append((rows, offsets, [tuple(loc.q), tuple(loc.p)]))
        return out

    def _filing_access(self, loc: Located) -> bool:
        """A located point may start a filing route: its edge and its access are eligible."""
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

    def verdict(self, path_rows: list[int], date: dt.date | None) -> FilingVerdict:
        """Filing verdict of a path of graph nodes, from the graph's own classified pieces."""
        pieces = self.cg.segments(path_rows)
        return evaluate(pieces, self.voltage_kv, self.cg.rules, date)

    def passer(
        self, filing: bool, limit: float, offsets: dict[int, float] | None = None
    ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """A multi-source pass on the full or filing graph, cut off at ``limit`` metres.

        Rows with an offset (sources joined off the graph) start that far out: one pass from a
        super-source (:func:`~onemap.routing.bulk.nearest_sources_offset`), exact; plain rows
        share one multi-source pass. Returns ``run(rows) -> (dist, source_row, pred)``.
        """
        csr = self.filing if filing else self.full
        offsets = offsets or {}

        def run(rows: np.ndarray):
            rows = np.asarray(rows, dtype=np.int64)
            off = np.array([offsets.get(int(r), 0.0) for r in rows]) if offsets else None
            if off is None or not off.any():
                dist, src, pred = nearest_sources(csr, rows, limit=limit)
                return dist, np.asarray(src), pred
            return nearest_sources_offset(csr, rows, off, limit=limit)

        return run

    def path_rows(self, pred: np.ndarray, row: int) -> list[int]:
        """Rows from the pass's source to ``row`` (the source first)."""
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
class LocalPass:
    """A bounded search from a site on the nodes ``nodes`` (sorted graph rows; None: the whole
    graph), with ``pred`` indexed like ``nodes``, and the distance of the rows it was asked for."""

    nodes: np.ndarray | None
    pred: np.ndarray
    wanted: np.ndarray

    def path(self, row: int) -> list[int]:
        """Graph rows from the search's origin to ``row`` (the origin first)."""
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


def scratch(net: Network) -> _Scratch:
    store = net.__dict__
    if "scratch" not in store:
        store.setdefault("scratch", _Scratch(net.n_rows))
    return store["scratch"]


def _induced(csr: Any, nodes: np.ndarray, at: np.ndarray) -> Any:
    """The subgraph of ``csr`` on the sorted rows ``nodes`` (``at``: graph row -> position, -1
    outside), every row keeping its neighbours in the graph's order, so that a search on it
    visits and breaks ties exactly as on the whole graph."""
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


def local_pass(
    net: Network,
    filing: bool,
    limit: float,
    rows: np.ndarray,
    offsets: dict[int, float],
    want: np.ndarray,
) -> LocalPass:
    """:meth:`Network.passer` from ``rows`` cut off at ``limit``, on the nodes it can reach;
    ``wanted`` holds the distance of the graph rows ``want`` (inf where not reached).

    A node within ``limit`` of an origin row lies within ``limit`` of it in a straight line as
    well, because no edge is shorter than the segment between its ends (checked once per graph;
    where it fails the whole graph is searched). Searching the induced subgraph of that disc
    therefore gives the same distances and predecessors as the whole graph, without the whole
    graph's per-search set-up (arrays and heap nodes for every one of its rows).
    """
    nodes = None
    reach = max((limit - offsets.get(r, 0.0) for r in rows.tolist()), default=0.0)
    if disc_nodes(net, reach) <= LOCAL_MAX_SHARE * net.n_rows and chord_bounded(net, filing):
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
        return LocalPass(None, pred, dist[want])
    at = scratch(net)
    with at.lock:
        at.index[nodes] = np.arange(len(nodes), dtype=np.int32)
        try:
            sub = _induced(net.filing if filing else net.full, nodes, at.index)
            local_rows = at.index[rows].astype(np.int64)
            want_at = at.index[want]
        finally:
            at.index[nodes] = -1
    local_off = {
        int(k): offsets[r] for k, r in zip(local_rows, rows.tolist(), strict=True) if r in offsets
    }
    local = Network(net.cg, net.voltage_kv, sub, sub, len(nodes), None)
    dist, _, pred = local.passer(filing, limit, local_off)(local_rows)
    wanted = np.where(want_at >= 0, dist[np.maximum(want_at, 0)], np.inf)
    return LocalPass(nodes, np.asarray(pred), wanted)


def disc_nodes(net: Network, radius: float) -> float:
    """About how many nodes a disc of ``radius`` m holds (mean density over the graph's
    bounding box); inf on graphs too small for a local search to pay (LOCAL_MIN_ROWS)."""
    if net.n_rows < LOCAL_MIN_ROWS:
        return np.inf
    if "_xy_box" not in net.__dict__:
        net.__dict__["_xy_box"] = net.cg.xy.min(axis=0), net.cg.xy.max(axis=0)
    lo, hi = net.__dict__["_xy_box"]
    return np.pi * radius * radius * net.n_rows / max(float(np.prod(hi - lo)), 1.0)


def chord_bounded(net: Network, filing: bool) -> bool:
    """Whether no edge of the (full or filing) CSR is shorter than its straight chord."""
    store = net.__dict__.setdefault("chord_bounded", {})
    if filing not in store:
        coo = (net.filing if filing else net.full).tocoo()
        chord = np.hypot(*(net.cg.xy[coo.row] - net.cg.xy[coo.col]).T)
        store[filing] = bool((coo.data >= chord - 1e-6 * np.maximum(chord, 1.0)).all())
    return store[filing]


def contracted_pass(con, limit: float):
    """``run(rows)`` over contracted rows: one multi-source pass cut off at ``limit``."""

    def run(rows: np.ndarray):
        dist, src, pred = nearest_sources(con.csr, rows, limit=limit)
        return dist, np.asarray(src), pred, limit  # an attached door may lie past the limit

    return run


def network_of(onemap: Any, voltage_kv: float, rules: Rules) -> Network:
    """The cached :class:`Network` of a map for a voltage and rule table."""
    return onemap.cached(
        f"network:{voltage_kv}", lambda: Network.of(onemap, voltage_kv, rules), rules=rules
    )
