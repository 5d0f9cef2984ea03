"""The filing rule (policy item 2, DESIGN §3): per-piece reasons and the verdict of a route.

A route qualifies for filing only (备案制) when its length falls in an eligible length tier of
the rule table (Lianyungang: strictly below 1000 m) and every part of it lies on the sidewalk,
or on the non-motorized lane where the lane keeps a passable width after the trench:
``bike_width − spill ≥ min_passable_bike_m`` with ``spill = max(0, trench − sidewalk width)`` on
that side of that road. Motor lanes (and carriageway crossings, unless along a duct), green belts
and anything off the mapped corridors disqualify it, each with a stable reason code and the
permits it then needs. Every number comes from the rule table (:class:`onemap.rules.Rules`).

The same vectorised :func:`piece_reasons` decides which corridor-graph edges a filing route may
use, so graph search and overlay check cannot disagree about a piece.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from onemap.errors import OnemapInputError
from onemap.lang import check_lang
from onemap.messages import msg
from onemap.procedure.workdays import Deadline, add_workdays
from onemap.routing.overlay import CODE, Pieces
from onemap.routing.verdict_segments import Segment, as_table, segment_table
from onemap.rules import Rules

REASONS = (
    "LENGTH_OVER_LIMIT",
    "OCCUPIES_MOTOR_LANE",
    "OCCUPIES_GREEN_BELT",
    "BIKE_LANE_NOT_PASSABLE",
    "OFF_CORRIDOR",
    "ON_STRUCTURE",  # a bridge deck, tunnel, covered way or steps (the structure's consent)
)
_R = {code: i for i, code in enumerate(REASONS)}
NO_REASON = -1
_FLOAT_TOL = 1e-9  # widths are compared up to floating-point noise, not a rule number

PROCEDURE_NAMES = {
    "zh": {
        "no_approval": "免审批",
        "commitment": "告知承诺",
        "filing": "备案",
        "joint_review": "联合审查",
        "permits": "行政许可",
    },
    "en": {
        "no_approval": "no approval",
        "commitment": "commitment",
        "filing": "filing",
        "joint_review": "joint review",
        "permits": "permits",
    },
}
PERMIT_NAMES = {
    "zh": {
        "road_excavation": "道路挖掘",
        "corridor_planning": "通道规划",
        "green_occupation": "绿化占用",
        "structure_consent": "桥梁隧道等构筑物管理单位同意",
    },
    "en": {
        "road_excavation": "road excavation",
        "corridor_planning": "corridor planning",
        "green_occupation": "green occupation",
        "structure_consent": "consent of the structure's owner",
    },
}


# ---------------------------------------------------------------------------------------------
# Per piece


@dataclass(frozen=True)
class PieceRule:
    """Per-piece reason code (-1 = none), occupied width and remaining bike-lane width."""

    reason: np.ndarray
    occupied_m: np.ndarray
    remaining_bike_m: np.ndarray  # NaN where the road side has no bike lane


Placement = Literal["drawn", "sidewalk_first"]


def piece_reasons(
    corridor: np.ndarray,
    sidewalk_m: np.ndarray,
    bike_m: np.ndarray,
    motor_m: np.ndarray,
    voltage_kv: float,
    rules: Rules,
    placement: Placement = "sidewalk_first",
) -> PieceRule:
    """Reason code of every piece for a voltage (vectorised; -1 = the piece may be filed).

    ``placement`` says where the trench lies. ``sidewalk_first`` (a route the graph finds, and
    DESIGN §3's rule for a trench on the sidewalk edge): the trench takes the sidewalk first;
    what does not fit (``spill``) goes onto the bike lane of that side, which must keep
    ``min_passable_bike_m``; without a bike lane it reaches the motor lanes. ``drawn`` (a route
    a person drew): the trench is where the route is — a piece in a bike lane occupies the lane
    itself, which keeps ``bike_width − trench``; a piece on a sidewalk spills as above.
    Raises OnemapInputError for a voltage the rule table has no trench width for.
    """
    f = rules.filing
    trench = f.trench_width(voltage_kv)
    spill = np.maximum(trench - sidewalk_m, 0.0)
    if placement == "drawn":
        in_lane = corridor == CODE["bike_lane"]
        spill = np.where(in_lane, np.minimum(trench, bike_m), spill)
    has_bike = bike_m > _FLOAT_TOL
    remaining = np.where(has_bike, bike_m - spill, np.nan)
    walk = (corridor == CODE["sidewalk"]) | (corridor == CODE["bike_lane"])
    reason = np.full(len(corridor), NO_REASON, dtype=np.int8)
    blocked = walk & has_bike & (remaining < f.min_passable_bike_m - _FLOAT_TOL)
    reason[blocked] = _R["BIKE_LANE_NOT_PASSABLE"]
    spills_on_motor = walk & ~has_bike & (spill > _FLOAT_TOL) & (motor_m > _FLOAT_TOL)
    reason[spills_on_motor] = _R["OCCUPIES_MOTOR_LANE"]
    reason[corridor == CODE["motor_lane"]] = _R["OCCUPIES_MOTOR_LANE"]
    if f.crossing_counts_as == "motor_lane":
        reason[corridor == CODE["crossing"]] = _R["OCCUPIES_MOTOR_LANE"]
    reason[corridor == CODE["green_belt"]] = _R["OCCUPIES_GREEN_BELT"]
    reason[corridor == CODE["green_space"]] = _R["OCCUPIES_GREEN_BELT"]
    reason[corridor == CODE["off_corridor"]] = _R["OFF_CORRIDOR"]
    reason[corridor == CODE["structure"]] = _R["ON_STRUCTURE"]
    free = (corridor == CODE["duct"]) | (corridor == CODE["access"])
    occupied = np.where(free, 0.0, trench)
    return PieceRule(reason, occupied, np.where(walk, np.maximum(remaining, 0.0), np.nan))


def eligible_mask(
    corridor: np.ndarray,
    sidewalk_m: np.ndarray,
    bike_m: np.ndarray,
    motor_m: np.ndarray,
    voltage_kv: float,
    rules: Rules,
) -> np.ndarray:
    """Pieces (or graph edges) a filing-eligible route may use at this voltage."""
    return piece_reasons(corridor, sidewalk_m, bike_m, motor_m, voltage_kv, rules).reason < 0


# ---------------------------------------------------------------------------------------------
# Verdict


@dataclass
class Reason:
    """One reason a route does not qualify, with the figures its message is made of."""

    code: str
    length_m: float = 0.0
    road_ids: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        v = self.values
        roads = "、".join(self.road_ids) if lang == "zh" else ", ".join(self.road_ids)
        on_roads = (f"（道路 {roads}）" if lang == "zh" else f" (road {roads})") if roads else ""
        if self.code == "LENGTH_OVER_LIMIT":
            if lang == "zh":
                cmp = "超过" if v["inclusive"] else "不小于"
                return (
                    f"线路长度 {self.length_m:.1f} 米，{cmp}限值 {v['limit_m']:g} 米"
                    f"（政策第 {v['policy_item']} 条）"
                )
            cmp = "exceeds" if v["inclusive"] else "is not below"
            return (
                f"route length {self.length_m:.1f} m {cmp} the {v['limit_m']:g} m limit "
                f"(policy item {v['policy_item']})"
            )
        if self.code == "OCCUPIES_MOTOR_LANE":
            n = v.get("crossings", 0)
            if lang == "zh":
                extra = f"，含横穿车行道 {n} 处" if n else ""
                spill = "（沟槽超出人行道）" if v.get("spill") else ""
                return f"占用机动车道 {self.length_m:.1f} 米{extra}{spill}{on_roads}"
            extra = f", including {n} carriageway crossing(s)" if n else ""
            spill = " (the trench does not fit on the sidewalk)" if v.get("spill") else ""
            return f"occupies the motor lanes for {self.length_m:.1f} m{extra}{spill}{on_roads}"
        if self.code == "OCCUPIES_GREEN_BELT":
            if lang == "zh":
                return f"占用绿化带 {self.length_m:.1f} 米{on_roads}"
            return f"occupies the green belt for {self.length_m:.1f} m{on_roads}"
        if self.code == "BIKE_LANE_NOT_PASSABLE":
            if lang == "zh":
                return (
                    f"沟宽 {v['trench_m']:g} 米，非机动车道剩余 {v['remaining_m']:.2f} 米，"
                    f"小于可通行宽度 {v['min_m']:g} 米，共 {self.length_m:.1f} 米{on_roads}"
                )
            return (
                f"with a {v['trench_m']:g} m trench the bike lane keeps {v['remaining_m']:.2f} m, "
                f"less than the passable {v['min_m']:g} m, over {self.length_m:.1f} m{on_roads}"
            )
        if self.code == "OFF_CORRIDOR":
            if lang == "zh":
                return f"{self.length_m:.1f} 米不在已测绘的道路通道内"
            return f"{self.length_m:.1f} m lie off the mapped road corridors"
        if self.code == "ON_STRUCTURE":
            if lang == "zh":
                return (
                    f"{self.length_m:.1f} 米位于桥梁、隧道、风雨廊或台阶上，"
                    f"需构筑物管理单位同意{on_roads}"
                )
            return (
                f"{self.length_m:.1f} m lie on a bridge deck, in a tunnel, on a covered way or "
                f"on steps: the structure's owner must consent{on_roads}"
            )
        if self.code == "ROUTE_HAS_GAPS":
            if lang == "zh":
                return f"线路有 {v['gaps']} 处断开，最大 {v['max_gap_m']:.1f} 米"
            return f"the route has {v['gaps']} gap(s), the largest {v['max_gap_m']:.1f} m"
        return self.code

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message(lang),
            "length_m": round(self.length_m, 3),
            "road_ids": self.road_ids,
        }


@dataclass
class FilingVerdict:
    """The verdict of DESIGN §3/§8 for one route: does it need only a filing, and if not why."""

    eligible: bool
    length_m: float
    limit_m: float
    procedure: str
    reasons: list[Reason]
    permits: list[str]
    segments: Sequence[Segment]  # a SegmentTable from evaluate (columns, rows on demand)
    approval_workdays: int | None
    approval_deadline: Deadline | None
    voltage_kv: float
    trench_width_m: float
    min_passable_bike_m: float
    rules_id: str
    policy_item: str
    gaps: list[dict[str, Any]] = field(default_factory=list)
    parts: list[FilingVerdict] = field(default_factory=list)
    placement: Placement = "sidewalk_first"
    date_assumed: bool = False  # no date given: the deadline counts from today

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def assumptions(self) -> list[dict[str, Any]]:
        """The segments whose strips are class defaults (guesses), with length and share."""
        return as_table(self.segments).assumptions(self.length_m)

    @property
    def basis(self) -> str:
        """What the verdict rests on: ``surveyed`` (every strip a mapped way), ``tagged``
        (no default strip), ``partly_assumed`` or ``assumed`` (every strip a default)."""
        return as_table(self.segments).basis()

    def same_decision(self, other: FilingVerdict, tol_m: float = 1e-6) -> bool:
        """Same eligibility, procedure, reason codes, permits and length (within tol_m)."""
        return (
            self.eligible == other.eligible
            and self.procedure == other.procedure
            and self.codes == other.codes
            and self.permits == other.permits
            and abs(self.length_m - other.length_m) <= tol_m
        )

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        lang = check_lang(lang)
        out: dict[str, Any] = {
            "eligible": self.eligible,
            "length_m": round(self.length_m, 3),
            "limit_m": self.limit_m,
            "procedure": self.procedure,
            "procedure_name": PROCEDURE_NAMES[lang].get(self.procedure, self.procedure),
            "reasons": [r.to_dict(lang) for r in self.reasons],
            "permits": self.permits,
            "permit_names": [PERMIT_NAMES[lang].get(p, p) for p in self.permits],
            "segments": as_table(self.segments).to_dicts(lang),
            "approval_workdays": self.approval_workdays,
            "voltage_kv": self.voltage_kv,
            "trench_width_m": self.trench_width_m,
            "min_passable_bike_m": self.min_passable_bike_m,
            "rules": self.rules_id,
            "policy_item": self.policy_item,
        }
        out["trench_placement"] = self.placement
        out["assumptions"] = self.assumptions()
        out["basis"] = self.basis
        if self.approval_deadline is not None:
            out["approval_deadline"] = self.approval_deadline.to_dict()
            if self.date_assumed:
                out["approval_deadline"]["date_assumed"] = True
                out["approval_deadline"]["note"] = msg("routing.date_assumed").text(lang)
        if self.gaps:
            out["gaps"] = self.gaps
            out["parts"] = [p.to_dict(lang) for p in self.parts]
        return out


def parse_date(date: dt.date | str | None) -> dt.date | None:
    """A submission date from a date or 'YYYY-MM-DD'; OnemapInputError otherwise."""
    if date is None or isinstance(date, dt.date):
        return date
    try:
        return dt.date.fromisoformat(str(date))
    except ValueError:
        raise OnemapInputError(msg("routing.expected_date", date=date), field="date") from None


def procedure_for(length_m: float, voltage_kv: float, corridor_ok: bool, rules: Rules):
    """The first tier whose length band and voltage admit the route and whose corridor
    condition (if it has one) holds; ``None`` when no tier does (the route needs permits)."""
    return rules.filing.tier_for(length_m, voltage_kv, corridor_ok)


def evaluate(
    pieces: Pieces,
    voltage_kv: float,
    rules: Rules,
    date: dt.date | str | None = None,
    *,
    placement: Placement = "sidewalk_first",
    road_names: dict[str, str] | None = None,
) -> FilingVerdict:
    """The verdict for a route given as classified pieces in order along it.

    ``placement``: where the trench lies (:func:`piece_reasons`); ``road_names``: road id →
    name, shown next to the ids in the segment table.
    """
    f = rules.filing
    date = parse_date(date)
    pr = piece_reasons(
        pieces.corridor,
        pieces.sidewalk_m,
        pieces.bike_m,
        pieces.motor_m,
        voltage_kv,
        rules,
        placement,
    )
    length = pieces.length
    total = float(length.sum())
    corridor_ok = bool((pr.reason < 0).all())
    length_ok = bool(f.admits(total, voltage_kv))
    tier = procedure_for(total, voltage_kv, corridor_ok, rules)
    reasons: list[Reason] = []
    if not length_ok:
        limit_tier = f.limit_tier(voltage_kv)
        reasons.append(
            Reason(
                "LENGTH_OVER_LIMIT",
                total,
                values={
                    "limit_m": f.limit_m(voltage_kv),
                    "inclusive": bool(limit_tier.inclusive) if limit_tier else False,
                    "policy_item": limit_tier.policy_item if limit_tier else f.policy_item,
                },
            )
        )
    road = np.where(np.equal(pieces.road_id, None), "", pieces.road_id).astype(object)
    for code in REASONS[1:]:
        sel = pr.reason == _R[code]
        if not sel.any():
            continue
        roads = sorted(r for r in set(road[sel].tolist()) if r)
        values: dict[str, Any] = {}
        if code == "OCCUPIES_MOTOR_LANE":
            cross = pieces.corridor == CODE["crossing"]
            values["crossings"] = int(np.sum(cross & ~np.r_[False, cross[:-1]]))
            values["spill"] = bool(
                np.any(
                    sel
                    & (
                        (pieces.corridor == CODE["sidewalk"])
                        | (pieces.corridor == CODE["bike_lane"])
                    )
                )
            )
        if code == "BIKE_LANE_NOT_PASSABLE":
            values = {
                "trench_m": f.trench_width(voltage_kv),
                "remaining_m": float(np.nanmin(pr.remaining_bike_m[sel])),
                "min_m": f.min_passable_bike_m,
            }
        reasons.append(Reason(code, float(length[sel].sum()), roads, values))
    permits: list[str] = []
    for r in reasons:
        for p in f.permits.get(r.code, []):
            if p not in permits:
                permits.append(p)
    eligible = tier is not None and tier.eligible
    workdays = rules.approval.workdays if voltage_kv <= rules.approval.max_voltage_kv else None
    deadline = add_workdays(date, workdays) if (date is not None and workdays is not None) else None
    return FilingVerdict(
        eligible=bool(eligible),
        length_m=total,
        limit_m=f.limit_m(voltage_kv),
        procedure=tier.procedure if tier is not None else "permits",
        reasons=reasons,
        permits=[] if eligible else permits,
        segments=segment_table(pieces, pr, length, road, road_names or {}, REASONS),
        approval_workdays=workdays,
        approval_deadline=deadline,
        voltage_kv=voltage_kv,
        trench_width_m=f.trench_width(voltage_kv),
        min_passable_bike_m=f.min_passable_bike_m,
        rules_id=f"{rules.meta.id}@{rules.meta.version}",
        policy_item=f.policy_item,
        placement=placement,
    )
