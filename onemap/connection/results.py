"""Result types of readiness: :class:`ReadinessResult` (every parcel) and :class:`Preview`
(one site) with its :class:`ConnectionPoint`, :class:`PreviewRoute` and
:class:`~onemap.procedure.timeline.Timeline`. ``to_dict(lang)`` is their one serialiser
(the JSON shapes of DESIGN §8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, mapping

from onemap.connection.points import Sources
from onemap.errors import OnemapInputError
from onemap.lang import CLASSES, DEFAULT_LANG, check_lang, class_label, pick
from onemap.messages import msg
from onemap.procedure.timeline import Timeline
from onemap.routing.contract import Contraction
from onemap.routing.feasible import Nearest
from onemap.routing.filing import FilingVerdict
from onemap.routing.network import Network

__all__ = [
    "ConnectionPoint",
    "GroupRun",
    "NotCovered",
    "Preview",
    "PreviewRoute",
    "ReadinessResult",
    "parcel_why",
    "route_rows",
]


@dataclass
class GroupRun:
    """What the bulk pass keeps of one connection group to materialise routes later."""

    net: Network
    full: Nearest
    filing: Nearest | None
    src_full: Sources
    src_filing: Sources | None
    position: np.ndarray  # parcel row -> index within the group
    door_rows: np.ndarray  # graph row of each parcel door of the group (-1: not attached)
    # The chain contractions the passes ran on (None: the plain CSR); predecessors of a pass are
    # over contracted rows, expanded back to graph nodes when a route is drawn.
    con_full: Contraction | None = None
    con_filing: Contraction | None = None


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
    _runs: dict[str, GroupRun] = field(default_factory=dict, repr=False)

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
            raise OnemapInputError(
                msg("connection.no_parcel", parcel_id=parcel_id), layer="landuse", field="parcel_id"
            )
        row = self.layer.iloc[int(hit[0])]
        if row["readiness"] == "D":
            return None
        run = self._runs[row["group"]]
        j = int(run.position[int(hit[0])])
        use_filing = row["readiness"] == "B"
        nearest = run.filing if use_filing else run.full
        src = run.src_filing if use_filing else run.src_full
        source_row = int(nearest.source_row[j])
        rows = route_rows(run, j, use_filing)
        return run.net.geometry(rows, head=src.leads.get(source_row))


def route_rows(run: GroupRun, j: int, use_filing: bool) -> list[int]:
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


@dataclass(frozen=True)
class ConnectionPoint:
    """The connection point chosen for a site: an asset (or substation) and its headroom."""

    asset_id: str
    kind: str
    headroom_kw: float
    distance_m: float  # route length from the site to the point

    def to_dict(self) -> dict[str, str | float]:
        """JSON of DESIGN §8 ``connection_point``."""
        return {
            "asset_id": self.asset_id,
            "kind": self.kind,
            "headroom_kw": round(self.headroom_kw, 3),
            "distance_m": round(self.distance_m, 2),
        }


@dataclass(frozen=True)
class NotCovered:
    """The verdict of a route at a voltage the filing rule (item 2) has no trench width for
    (≥ 35 kV): never filing, with the reason ``NOT_COVERED``."""

    voltage_kv: float
    length_m: float
    known_kv: tuple[float, ...]
    eligible: bool = False

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, object]:
        """The verdict's JSON (``eligible``, ``length_m``, ``reasons``, ``permits``)."""
        known = "、".join(f"{v:g}" for v in self.known_kv)
        message = pick(
            lang,
            f"备案规则不适用于 {self.voltage_kv:g} kV（规则表仅含 {known} kV）",
            f"the filing rule does not cover {self.voltage_kv:g} kV "
            f"(the rule table has {known} kV)",
        )
        return {
            "eligible": False,
            "length_m": round(self.length_m, 2),
            "reasons": [{"code": "NOT_COVERED", "message": message}],
            "permits": [],
        }


@dataclass(frozen=True)
class PreviewRoute:
    """The corridor route from a site to its connection point, with its filing verdict."""

    length_m: float
    line: LineString  # lon/lat (EPSG:4326)
    filing: FilingVerdict | NotCovered

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, object]:
        """JSON of DESIGN §8 ``route``: ``length_m``, ``geometry`` (GeoJSON), ``filing``."""
        return {
            "length_m": round(self.length_m, 2),
            "geometry": mapping(self.line),
            "filing": self.filing.to_dict(lang),
        }


@dataclass
class Preview:
    """What an investor sees for one site (DESIGN §8 ``preview``).

    Texts that depend on the language (steps, documents, tariff hint) are those of ``lang``,
    the language the preview was asked in.
    """

    readiness: str
    category: str
    voltage_kv: float
    requested_kw: float
    connection_point: ConnectionPoint | None
    route: PreviewRoute | None
    timeline: Timeline
    documents: list[str]
    documents_note: str
    payer: str
    payer_detail: dict[str, str]
    tariff_hint: str
    parcel_id: str | None
    supply_class: str
    supply_radius_m: float
    dual: bool = False
    second_connection_point: ConnectionPoint | None = None
    second_route: PreviewRoute | None = None
    lang: str = DEFAULT_LANG
    seconds: float = 0.0
    why: list = field(default_factory=list)  # onemap.connection.why.Why (issue 16 item 1)
    cost: object = None  # onemap.procedure.cost.CostEstimate or None (items 7, 9)
    # Maps with a lines layer only (issue 17): "nameplate" | "power_flow", and the load flow
    # (onemap.grid.powerflow.PowerFlowCheck) of the connection where it ran.
    headroom_basis: str | None = None
    power_flow: object = None

    def to_dict(self, lang: str | None = None) -> dict[str, object]:
        """JSON of DESIGN §8 ``preview`` plus labels, parcel, supply class and (dual) the second
        connection point and route. ``lang`` (default: the preview's) names the class label
        and the verdicts' messages."""
        lang = check_lang(lang or self.lang)
        out: dict[str, object] = {
            "readiness": self.readiness,
            "readiness_label": class_label(self.readiness, lang),
            "category": self.category,
            "voltage_kv": self.voltage_kv,
            "requested_kw": self.requested_kw,
            "connection_point": _opt(self.connection_point),
            "route": _opt(self.route, lang),
            "timeline": self.timeline.to_dict(),
            "documents": list(self.documents),
            "documents_note": self.documents_note,
            "payer": self.payer,
            "payer_detail": dict(self.payer_detail),
            "tariff_hint": self.tariff_hint,
            "parcel_id": self.parcel_id,
            "supply_class": self.supply_class,
            "supply_radius_m": self.supply_radius_m,
        }
        out["why"] = [w.to_dict(lang) for w in self.why]
        out["cost_estimate"] = self.cost.to_dict(lang) if self.cost is not None else None
        if self.headroom_basis is not None:
            out["headroom_basis"] = self.headroom_basis
            flow = self.power_flow
            out["power_flow"] = flow.to_dict() if flow is not None else None
        if self.dual:
            out["second_connection_point"] = _opt(self.second_connection_point)
            out["second_route"] = _opt(self.second_route, lang)
        return out


def _opt(value: ConnectionPoint | PreviewRoute | None, *lang: str) -> dict[str, object] | None:
    return None if value is None else value.to_dict(*lang)


def parcel_why(
    result: ReadinessResult,
    onemap: object,
    parcel_id: str,
    lang: str = DEFAULT_LANG,
    rules: object = None,
) -> dict[str, object]:
    """Why one parcel of a bulk result has its class: the same ``why`` codes and messages as a
    preview (:mod:`onemap.connection.why`), from the bulk row itself, so they always match the
    class the map shows.

    A/B/C: the chosen point, its headroom and route length, and the route's filing verdict
    (for a route that needs permits, the verdict's own reasons: the chosen route is
    materialised and judged). D: the binding constraint and what would change it, from the
    connection points around the parcel. No search is re-run for D; one pass at most for A–C.

    Parameters
    ----------
    result
        The bulk readiness of ``onemap`` (:func:`onemap.connection.bulk.readiness`).
    onemap
        The map the result was computed on (for a ``year``: the map as of that year).
    parcel_id
        The parcel.
    lang
        Language of the messages (``zh`` or ``en``).
    rules
        The rule table (default: the map's own).

    Returns
    -------
    dict
        ``parcel_id``, ``readiness``, ``readiness_label``, ``category``, ``requested_kw``,
        ``supply_class``, ``supply_radius_m`` and ``why`` (list of code, kind, message).
    """
    from types import SimpleNamespace

    from onemap.connection.points import connection_points
    from onemap.connection.why import explain, why_connected
    from onemap.routing.check import check_route
    from onemap.rules import resolve_rules

    lang = check_lang(lang)
    rules = resolve_rules(onemap, rules)
    hit = np.flatnonzero(result.layer["parcel_id"].astype(str).to_numpy() == str(parcel_id))
    if not len(hit):
        raise OnemapInputError(
            msg("connection.no_parcel", parcel_id=parcel_id), layer="landuse", field="parcel_id"
        )
    i = int(hit[0])
    row = result.layer.iloc[i]
    category, cls = str(row["category"]), str(row["readiness"])
    voltage = rules.category(category).voltage_kv
    supply_class = str(row["supply_class"])
    radius = rules.supply_radius(rules.radius_voltage(voltage), supply_class)
    kw = float(row["requested_kw"])
    if cls != "D" and isinstance(row["asset_id"], str):
        eligible = bool(row["filing_eligible"])
        covered = rules.filing.covers(voltage)
        verdict: dict = {}
        if not covered:  # ≥ 35 kV: never a filing (as the preview's NOT_COVERED)
            length = float(row["route_length_m"])
            known = tuple(rules.filing.voltages_kv)
            verdict = NotCovered(voltage, length, known).to_dict(lang)
        elif not eligible:
            run = result._runs[row["group"]]
            j = int(run.position[i])
            rows = route_rows(run, j, cls == "B")
            src = run.src_filing if cls == "B" else run.src_full
            near = run.filing if cls == "B" else run.full
            lead = src.leads.get(int(near.source_row[j]))
            if lead:  # joined off the graph: judge the drawn line (as the preview does)
                line = run.net.geometry(rows, head=lead)
                v = check_route(onemap, line, voltage, rules=rules, placement="sidewalk_first")
            else:
                v = run.net.verdict(rows, None)
            verdict = v.to_dict(lang)
        second = None
        if isinstance(row["second_asset_id"], str):
            pts = connection_points(onemap, category, rules)
            at = pts.index[pts["asset_id"] == row["second_asset_id"]]
            kind = str(pts.loc[at[0], "kind"]) if len(at) else "substation"
            head = float(pts.loc[at[0], "headroom_kw"]) if len(at) else math.nan
            second = (str(row["second_asset_id"]), kind, head, float(row["second_distance_m"]))
        why = why_connected(
            readiness=cls,
            asset_id=str(row["asset_id"]),
            kind=str(row["kind"]),
            headroom_kw=float(row["headroom_kw"]),
            distance_m=float(row["distance_m"]),
            kw=kw,
            radius_m=radius,
            supply_class=supply_class,
            door_m=rules.connection.door_m,
            filing_eligible=eligible,
            filing_reasons=verdict.get("reasons", []),
            filing_limit_m=verdict.get("limit_m")
            or (rules.filing.limit_m(voltage) if covered else None),
            second=second,
        )
    else:
        stub = SimpleNamespace(
            readiness="D",
            connection_point=None,
            power_flow=None,
            requested_kw=kw,
            category=category,
            voltage_kv=voltage,
            supply_radius_m=radius,
            supply_class=supply_class,
            lang=lang,
        )
        pts = connection_points(onemap, category, rules)
        why = explain(onemap, rules, stub, row.geometry, pts, str(row["group"]))
    return {
        "parcel_id": str(row["parcel_id"]),
        "readiness": cls,
        "readiness_label": class_label(cls, lang),
        "category": category,
        "requested_kw": kw,
        "supply_class": supply_class,
        "supply_radius_m": radius,
        "why": [w.to_dict(lang) for w in why],
    }
