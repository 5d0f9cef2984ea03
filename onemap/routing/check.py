"""``check_route``: the filing verdict of a drawn or uploaded route (DESIGN §3, §8).

The route is overlaid on the corridor polygons (:mod:`onemap.routing.overlay`); its pieces are
labelled, then judged by :func:`onemap.routing.filing.evaluate`:

* the run off the corridors or on a green belt at either end of the route (from a parcel door
  or an asset standing in the green belt to the walkable strips), if no longer than
  ``filing.attach_max_m``, is the service connection (``access``) — the rule the corridor graph
  applies to its access edges (:func:`~onemap.routing.overlay.access_prefix`);
* a run on the carriageway entered from one side of a road and left on the other side of the
  same road is a ``crossing`` (motor-lane occupation unless the rule table says otherwise; a
  crossing along a duct is classified ``duct`` by the overlay already).

A MultiLineString is checked as one route when its parts join (within the corridor tolerance);
otherwise :class:`RouteGapError` reports each gap and each part's own verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from onemap.errors import OnemapInputError
from onemap.messages import Joined, Message, msg
from onemap.routing.build import corridor_model
from onemap.routing.corridors import EPS
from onemap.routing.filing import FilingVerdict, Placement, Reason, evaluate, parse_date
from onemap.routing.overlay import CODE, SIDE_CODE, Overlay, Pieces, access_prefix
from onemap.routing.routefile import as_metric_line
from onemap.rules import Rules, resolve_rules


class RouteGapError(OnemapInputError):
    """A MultiLineString route whose parts do not join. ``parts`` holds each part's verdict and
    ``gaps`` each gap: {after_part, distance_m, at: [x, y] metric}."""

    def __init__(
        self, message: Message | str, *, parts: list[FilingVerdict], gaps: list[dict[str, Any]]
    ):
        super().__init__(message, field="route")
        self.parts = parts
        self.gaps = gaps


def line_pieces(overlay: Overlay, line: shapely.LineString) -> Pieces:
    """Overlay one LineString (metric) on the corridor polygons: pieces in order along it."""
    coords = shapely.get_coordinates(line)
    a, b = coords[:-1], coords[1:]
    keep = np.hypot(*(b - a).T) > EPS
    return overlay.pieces(a[keep], b[keep])


def label_runs(pieces: Pieces, access_max_m: float, foreign: np.ndarray | None = None) -> Pieces:
    """Label the access runs at both ends and the carriageway crossings (see module doc).

    ``foreign`` (per piece): the piece lies in a parcel other than the one the route's end is
    in — a neighbour's land, a park, a farm. The service-connection exemption at a route's
    ends covers the customer's own parcel, the connection asset's plot and the green belt or
    verge beside them; a foreign piece is judged like the rest of the route (issue 14).
    """
    c = pieces.corridor.copy()
    length = pieces.length
    lead, trail = _end_runs(c)
    if len(c) and not lead.all():  # a route that never reaches a walkable strip stays as is
        for run in (lead, trail):
            if run.any() and length[run].sum() <= access_max_m:
                own = run if foreign is None else run & ~foreign
                c[own] = CODE["access"]
    motor = c == CODE["motor_lane"]
    if motor.any():
        edges = np.diff(np.r_[0, motor.astype(np.int8), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        for s, e in zip(starts, ends, strict=True):
            if s == 0 or e == len(c):
                continue
            before, after = s - 1, e
            sides = {int(pieces.side[before]), int(pieces.side[after])}
            if (
                sides == {SIDE_CODE["left"], SIDE_CODE["right"]}
                and pieces.road_id[before] == pieces.road_id[after]
            ):
                c[s:e] = CODE["crossing"]
    out = pieces.select(slice(None))
    out.corridor = c
    return out


def _end_runs(corridor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the leading and the trailing run of pieces a service connection may pass."""
    one = np.zeros(len(corridor), dtype=np.int64)
    return access_prefix(corridor, one), access_prefix(corridor[::-1], one)[::-1]


def _parts(geom) -> list[shapely.LineString]:
    parts = [g for g in shapely.get_parts(geom) if shapely.length(g) > EPS]
    if not parts:
        raise OnemapInputError(msg("routing.zero_length"), field="route")
    return parts


def _stitch(
    parts: list[shapely.LineString], tol: float
) -> tuple[list[shapely.LineString], list[dict[str, Any]]]:
    """Join parts that meet (in any order); list the gaps between the parts that remain."""
    if len(parts) == 1:
        return parts, []
    merged = shapely.line_merge(shapely.multilinestrings(parts))
    if shapely.get_type_id(merged) == 1:
        return [merged], []
    # keep the drawing order: join each part to the previous one where they touch
    joined = [shapely.get_coordinates(parts[0])]
    gaps = []
    for part in parts[1:]:
        coords = shapely.get_coordinates(part)
        d = float(np.hypot(*(coords[0] - joined[-1][-1])))
        if d <= tol:
            joined[-1] = np.vstack([joined[-1], coords[1:]])
        else:
            gaps.append(
                {
                    "after_part": len(joined) - 1,
                    "distance_m": round(d, 3),
                    "at": [round(float(v), 3) for v in joined[-1][-1]],
                }
            )
            joined.append(coords)
    return [shapely.LineString(c) for c in joined], gaps


def check_route(
    onemap: Any,
    line: Any,
    voltage_kv: float = 0.4,
    date: dt.date | str | None = None,
    *,
    crs: str | None = None,
    rules: Rules | str | None = None,
    placement: Placement = "drawn",
) -> FilingVerdict:
    """The filing verdict of a route.

    Parameters
    ----------
    onemap
        The one map (:class:`~onemap.geo.mapfile.OneMap`).
    line
        A shapely LineString/MultiLineString in the map's metric CRS (``crs=None``) or in
        ``crs``; or a GeoJSON geometry/Feature (dict or text; lon/lat unless it declares a CRS).
    voltage_kv
        The cable's voltage (selects the trench width and the filing tiers).
    date
        Submission date; without one the deadline counts from today and says so.
    crs
        The CRS of a shapely ``line`` when it is not the map's metric CRS.
    rules
        The rule table (default: the map's own).
    placement
        Where the trench lies: ``drawn`` (where the route is drawn: a piece in a bike lane
        occupies the lane) or ``sidewalk_first`` (how :func:`best_route` places it).

    Returns
    -------
    FilingVerdict
        Eligibility, reasons, permits, segments (with provenance and road names), the
        assumptions the verdict rests on and the approval deadline. A route wholly off the
        corridors but inside the map is a verdict (``OFF_CORRIDOR``), not an error.

    Raises
    ------
    OnemapInputError
        An unknown voltage, a degenerate line, a route outside the map's extent or whose
        coordinates look like another CRS; :class:`RouteGapError` for parts that do not join.
    """
    rules = resolve_rules(onemap, rules)
    rules.filing.trench_width(voltage_kv)  # unknown voltage: clear error before any work
    date = parse_date(date)
    assumed = date is None
    date = date or dt.date.today()
    # the entry points (CLI read_route, web app) bound the vertex count; a library caller's own
    geom = as_metric_line(line, onemap.crs_metric, crs=crs, max_vertices=None)
    _, overlay = corridor_model(onemap, rules)
    tol = max(rules.filing.corridor_tolerance_m, EPS)
    parts, gaps = _stitch(_parts(geom), tol)
    access_max = rules.filing.attach_max_m
    ctx = _Context(
        onemap, overlay, voltage_kv, rules, date, access_max, placement, _road_names(onemap)
    )
    _inside_map(onemap, parts, ctx)
    if gaps:
        verdicts = [_verdict(ctx, [p]) for p in parts]
        max_gap = max(g["distance_m"] for g in gaps)
        raise RouteGapError(
            msg(
                "routing.route_gaps",
                n_gaps=len(gaps),
                max_gap=max_gap,
                listing=Joined(
                    tuple(
                        msg(
                            "routing.gap_part",
                            a=g["after_part"],
                            b=g["after_part"] + 1,
                            distance_m=g["distance_m"],
                        )
                        for g in gaps
                    ),
                    "; ",
                ),
                verdict_list=Joined(
                    tuple(
                        msg(
                            "routing.part_verdict",
                            i=i,
                            length_m=v.length_m,
                            outcome=msg("routing.part_eligible")
                            if v.eligible
                            else ",".join(v.codes),
                        )
                        for i, v in enumerate(verdicts)
                    ),
                    ", ",
                ),
            ),
            parts=verdicts,
            gaps=gaps,
        )
    verdict = _verdict(ctx, parts)
    verdict.date_assumed = assumed
    return verdict


@dataclass(frozen=True)
class _Context:
    onemap: Any
    overlay: Overlay
    voltage_kv: float
    rules: Rules
    date: dt.date | None
    access_max: float
    placement: Placement
    road_names: dict[str, str]


def _road_names(onemap: Any) -> dict[str, str]:
    """Road id → name of the map's roads (once per roads layer)."""

    def build() -> dict[str, str]:
        roads = onemap["roads"]
        if not len(roads) or "name" not in roads:
            return {}
        names = roads["name"].fillna("").astype(str)
        return {str(r): n for r, n in zip(roads["road_id"], names, strict=True) if n}

    return onemap.cached("road_names", build, layers=("roads",))


def _inside_map(onemap: Any, parts: list[shapely.LineString], ctx: _Context) -> None:
    """A route outside the map's extent (its layers and corridor strips, plus the service
    connection reach) is bad input — degrees given as metres look like this; one inside it but
    off every corridor is judged (OFF_CORRIDOR)."""
    bounds = shapely.bounds(shapely.multilinestrings(parts))

    def extent() -> np.ndarray:
        boxes = [onemap.metric(n).total_bounds for n in onemap.layers if len(onemap[n])]
        if len(ctx.overlay.geoms):
            boxes.append(shapely.total_bounds(ctx.overlay.geoms))
        return np.asarray(boxes)

    boxes = onemap.cached("metric_extent", extent, rules=ctx.rules)
    if not len(boxes):
        return
    pad = ctx.access_max
    west, south = boxes[:, 0].min() - pad, boxes[:, 1].min() - pad
    east, north = boxes[:, 2].max() + pad, boxes[:, 3].max() + pad
    outside = bounds[2] < west or bounds[0] > east or bounds[3] < south or bounds[1] > north
    if outside:
        hint = (
            msg("routing.outside_map_hint")
            if abs(bounds[0]) <= 180 and abs(bounds[1]) <= 90
            else ""
        )
        raise OnemapInputError(msg("routing.outside_map", hint=hint), field="route")


def _foreign(onemap: Any, pieces: Pieces) -> np.ndarray | None:
    """Per piece: whether it lies in a parcel other than the one holding the route's start
    (for the leading run) or end (for the trailing run); None on a map without parcels.

    Only the pieces of the leading and the trailing access run are looked up (the only ones
    :func:`label_runs` reads); every other piece is False — a long route's hundreds of
    thousands of pieces are not each placed in a parcel.
    """
    landuse = onemap.metric("landuse")
    if not len(landuse) or not len(pieces):
        return None
    lead, trail = _end_runs(pieces.corridor)
    idx = np.flatnonzero(lead | trail)
    out = np.zeros(len(pieces), dtype=bool)
    if not len(idx):
        return out
    tree = onemap.cached(
        "parcel_tree", lambda: shapely.STRtree(landuse.geometry.values), layers=("landuse",)
    )
    mid = shapely.points((pieces.a[idx] + pieces.b[idx]) / 2.0)
    pi, pj = tree.query(mid, predicate="within")
    parcel = np.full(len(idx), -1, dtype=np.int64)
    parcel[pi] = pj
    ends = shapely.points(np.vstack([pieces.a[:1], pieces.b[-1:]]))
    ei, ej = tree.query(ends, predicate="intersects")
    start = set(ej[ei == 0].tolist())
    end = set(ej[ei == 1].tolist())
    in_parcel = parcel >= 0
    half = idx < len(pieces) / 2  # leading pieces judge against the start
    own = np.where(half, np.isin(parcel, list(start)), np.isin(parcel, list(end)))
    out[idx] = in_parcel & ~own
    return out


def _verdict(ctx: _Context, parts: list[shapely.LineString]) -> FilingVerdict:
    pieces = Pieces.concat([line_pieces(ctx.overlay, p) for p in parts])
    return evaluate(
        label_runs(pieces, ctx.access_max, _foreign(ctx.onemap, pieces)),
        ctx.voltage_kv,
        ctx.rules,
        ctx.date,
        placement=ctx.placement,
        road_names=ctx.road_names,
    )


__all__ = ["Reason", "RouteGapError", "check_route", "label_runs", "line_pieces"]
