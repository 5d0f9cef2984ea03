"""Connection points: where a category may connect, with the headroom usable there.

:func:`connection_points` reads the headroom table (:mod:`onemap.grid.headroom`) for the points
of a category's group (transformers and branch boxes for LV, ring main units and switching
stations for 10/20 kV, substations for ≥ 35 kV). Where the map has a ``lines`` layer, LV users
may also tee off an LV main: kind ``lv_main``, candidates sampled along the mains with the
headroom of :func:`onemap.grid.lines.lv_main_points` (transformer, main rating, voltage drop).
:class:`Sources` places them on the corridor graph as search sources (an ``lv_main`` sample at
the graph node nearest it within ``[lv_main].snap_m``); :class:`SourceIndex` is a KD-tree of
them for the preview; :class:`PointIndex` a KD-tree of a category's points for the reasons of a
preview (:func:`onemap.connection.why.explain`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from onemap.connection.groups import connection_group
from onemap.geo.mapfile import OneMap
from onemap.grid.headroom import headroom
from onemap.grid.lines import lv_main_points
from onemap.routing.network import Network
from onemap.rules import Rules, resolve_rules

__all__ = [
    "GAP_NEIGHBOURS",
    "PointIndex",
    "SourceIndex",
    "Sources",
    "asset_of_row",
    "connection_points",
    "point_index",
]


def connection_points(
    onemap: OneMap, category: str, rules: Rules | None = None, *, include_planned: bool = False
) -> pd.DataFrame:
    """Candidate connection points of a category with the headroom (kW) usable there.

    Columns ``asset_id``, ``kind``, ``headroom_kw`` (NaN unknown), ``label`` (independent-source
    group: substation, or substation/bus section where all its feeders' sections are known),
    ``feeder_id``, ``substation_id``, ``x``, ``y`` (metric).
    """
    rules = resolve_rules(onemap, rules)
    return onemap.cached(
        f"points:{category}:{include_planned}",
        lambda: _connection_points(onemap, category, rules, include_planned),
        rules=rules,
    )


class PointIndex:
    """The rows of a connection-points frame as a KD-tree, and their ids as a set: a preview's
    reasons look for the points within a radius of the site three times, and a city has tens
    of thousands of points (a scan of all of them and a set of all their ids each time was a
    third of a class-D preview's time over HTTP, issue 18).

    Parameters
    ----------
    frame
        :func:`connection_points` of a category (held, not copied).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        x, y = frame["x"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float)
        self.rows = np.flatnonzero(np.isfinite(x) & np.isfinite(y))  # a point without a place
        xy = np.column_stack([x[self.rows], y[self.rows]])
        self.tree = cKDTree(xy) if len(xy) else None
        self.ids = set(frame["asset_id"].tolist())

    def near(self, x: float, y: float, reach: float) -> np.ndarray:
        """Rows of the frame within ``reach`` metres of (x, y), ascending."""
        if self.tree is None:
            return np.empty(0, dtype=np.int64)
        found = np.asarray(self.tree.query_ball_point([x, y], reach), dtype=np.int64)
        return np.sort(self.rows[found])


def point_index(
    onemap: OneMap, category: str, rules: Rules | None = None, *, include_planned: bool = False
) -> PointIndex:
    """:class:`PointIndex` of :func:`connection_points` (cached with it)."""
    rules = resolve_rules(onemap, rules)
    return onemap.cached(
        f"points-index:{category}:{include_planned}",
        lambda: PointIndex(
            connection_points(onemap, category, rules, include_planned=include_planned)
        ),
        rules=rules,
    )


def _connection_points(
    onemap: OneMap, category: str, rules: Rules, include_planned: bool
) -> pd.DataFrame:
    group = connection_group(rules, category)
    table = onemap.cached("headroom", lambda: headroom(onemap, rules), rules=rules)
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
    if group == "lv" and len(onemap["lines"]):
        mains = lv_main_points(onemap, table, rules)
        if len(mains):
            mains = mains[[*out.columns.drop("label")]].copy()
            mains["label"] = _labels(onemap, mains)
            mains["snap_m"] = rules.lv_main.snap_m
            out = pd.concat([out, mains[[*out.columns, "snap_m"]]], ignore_index=True)
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


@dataclass
class Sources:
    """Connection points as graph sources: one entry per (row, point); points joined off the
    graph (substations) enter at both ends of their edge with an offset and a lead-in."""

    rows: np.ndarray
    point: np.ndarray
    offsets: dict[int, float]
    leads: dict[int, list]

    @classmethod
    def of(cls, net: Network, pts: pd.DataFrame, group: str, filing: bool) -> Sources:
        if group != "ehv":
            rows = net.asset_rows(pts["asset_id"].to_numpy())
            if "snap_m" in pts and pts["snap_m"].notna().any():
                return cls(*_tee_joints(net, pts, rows, filing))
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


def _tee_joints(net: Network, pts: pd.DataFrame, rows: np.ndarray, filing: bool):
    """Sources of assets (graph rows, offset 0) and of tee-joint samples on the mains.

    Each sample joins its nearest corridor edge within ``snap_m`` (its lead-in) and enters the
    graph at the edge's ends with the access plus along-edge offset, as substations do. A
    source row carries one offset, so a sample enters at an end only when it is the nearest
    sample to that end (others would read a distance too short): conservative — a farther
    sample on the same edge is reached only through its own nearest end.
    """
    tee = pts["snap_m"].notna().to_numpy()
    keep = np.flatnonzero(~tee)
    offsets = {int(r): 0.0 for r in rows[keep] if r >= 0}
    leads: dict[int, list] = {}
    pairs: list[tuple[int, int, float]] = []
    snap = pts["snap_m"].to_numpy(dtype=float)
    xs, ys = pts["x"].to_numpy(dtype=float), pts["y"].to_numpy(dtype=float)
    samples = np.flatnonzero(tee)
    located = net.locate_many(np.column_stack([xs[samples], ys[samples]]), filing)
    for k, (r, off, lead) in zip(samples.tolist(), located, strict=True):
        if not len(r) or math.dist(*lead) > snap[k]:
            continue
        for row, o in zip(r.tolist(), off.tolist(), strict=True):
            pairs.append((row, k, o))
            if o < offsets.get(row, np.inf):
                offsets[row], leads[row] = o, lead
    near = [(row, k) for row, k, o in pairs if o <= offsets[row] + TEE_TOLERANCE_M]
    out_rows = [*rows[keep].tolist(), *(row for row, _ in near)]
    out_point = [*keep.tolist(), *(k for _, k in near)]
    offsets = {r: o for r, o in offsets.items() if o > 0}
    return np.asarray(out_rows, np.int64), np.asarray(out_point, np.int64), offsets, leads


TEE_TOLERANCE_M = 1e-6  # samples this close to a row's nearest one share its offset


GAP_NEIGHBOURS = 32  # sources looked at first for the nearest feasible one (tuning)


@dataclass
class SourceIndex:
    """The entries of :class:`Sources` that are graph rows with a known headroom, in their
    order, with a KD-tree of their rows' coordinates: a preview reads only the entries near it."""

    entry: np.ndarray  # index into Sources.rows
    rows: np.ndarray
    point: np.ndarray
    h: np.ndarray  # headroom (kW) of the entry's point
    off: np.ndarray  # offset (m) of the entry
    xy: np.ndarray
    tree: cKDTree | None

    @classmethod
    def of(cls, net: Network, src: Sources, headroom_kw: np.ndarray) -> SourceIndex:
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


def asset_of_row(rows: np.ndarray, headroom_kw: np.ndarray, n_rows: int) -> np.ndarray:
    """Per graph row, the entry reported there: the one with most headroom."""
    out = np.full(n_rows, -1, dtype=np.int64)
    ok = np.flatnonzero(rows >= 0)
    h = np.nan_to_num(headroom_kw[ok], nan=-np.inf)
    order = ok[np.lexsort((h, rows[ok]))]  # ascending headroom: the last per row wins below
    out[rows[order]] = order
    return out
