"""Why a preview answers as it does (issue 16 item 1): a list of reasons, each a code and a
message in Chinese and English.

Pure functions over what the preview computed. For classes A/B/C: which point was chosen and
why, and why its route is or is not a filing. For class D: the binding constraint (no point with
P kW within the supply radius — naming the nearest point and its headroom —, no grid within the
radius at all, or a category the map cannot serve) and what would change it (reinforcing the
point, a planned asset or substation, a smaller request, another category). Each reason has a
``kind``: ``cause`` (why) or ``fix`` (what would change it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from onemap.lang import DEFAULT_LANG, pick

__all__ = ["Candidate", "Why", "decisive", "why_connected", "why_gap"]

KIND_ZH = {
    "transformer": "配变",
    "branch_box": "分支箱",
    "ring_main_unit": "环网柜",
    "switching_station": "开闭所",
    "pole": "杆",
    "substation": "变电站",
}


# Category names for the messages (the web app's strings name them the same way).
CATEGORY_NAMES = {
    "lv_residential": ("低压居民", "LV residential"),
    "lv_small_micro": ("低压小微企业", "LV small and micro business"),
    "lv_non_residential": ("低压非居民", "LV non-residential"),
    "hv_single": ("高压单电源", "HV single source"),
    "hv_dual": ("高压双电源", "HV dual source"),
    "hv_important": ("高压重要用户", "HV important customer"),
    "hv_35kv_plus": ("35 千伏及以上", "35 kV and above"),
}


def _cat(category: str, lang: str) -> str:
    names = CATEGORY_NAMES.get(category)
    return category if names is None else names[0 if lang == "zh" else 1]


@dataclass(frozen=True)
class Why:
    code: str
    zh: str
    en: str
    kind: str = "cause"  # cause | fix

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, str]:
        return {"code": self.code, "kind": self.kind, "message": pick(lang, self.zh, self.en)}


@dataclass(frozen=True)
class Candidate:
    """A connection point near the site: its headroom (NaN: unknown) and straight-line
    distance from the site."""

    asset_id: str
    kind: str
    headroom_kw: float
    distance_m: float
    planned: bool = False


def _kind(kind: str, lang: str) -> str:
    return KIND_ZH.get(kind, kind) if lang == "zh" else kind.replace("_", " ")


def _kw(v: float) -> str:
    return "?" if v is None or not math.isfinite(v) else f"{v:,.0f}"


def _m(v: float) -> str:
    return f"{v:,.0f}"


def why_connected(
    *,
    readiness: str,
    asset_id: str,
    kind: str,
    headroom_kw: float,
    distance_m: float,
    kw: float,
    radius_m: float,
    supply_class: str,
    door_m: float,
    filing_eligible: bool | None,
    filing_reasons: Sequence[dict] = (),
    filing_limit_m: float | None = None,
    second: tuple[str, str, float, float] | None = None,
) -> list[Why]:
    """Reasons of a class A/B/C answer: the point, its headroom and distance; the route's
    filing verdict (with the verdict's own reasons when it needs permits)."""
    out = [
        Why(
            "POINT_CHOSEN",
            f"接入点 {asset_id}（{_kind(kind, 'zh')}）：余量 {_kw(headroom_kw)} kW ≥ 申请 "
            f"{_kw(kw)} kW，沿道路 {_m(distance_m)} 米，在供电半径 {_m(radius_m)} 米内"
            f"（供电区 {supply_class}），是满足条件的最近点",
            f"connection point {asset_id} ({_kind(kind, 'en')}): headroom {_kw(headroom_kw)} kW "
            f"≥ the requested {_kw(kw)} kW, {_m(distance_m)} m along the roads, within the "
            f"supply radius of {_m(radius_m)} m (supply class {supply_class}); the nearest point "
            "that qualifies",
        )
    ]
    if second is not None:
        sid, skind, sh, sd = second
        out.append(
            Why(
                "SECOND_SOURCE",
                f"第二电源 {sid}（{_kind(skind, 'zh')}）：余量 {_kw(sh)} kW，沿道路 {_m(sd)} 米，"
                "来自另一独立电源",
                f"second source {sid} ({_kind(skind, 'en')}): headroom {_kw(sh)} kW, "
                f"{_m(sd)} m along the roads, on another independent source",
            )
        )
    if readiness == "A":
        out.append(
            Why(
                "AT_DOOR",
                f"接入点距地块 {_m(distance_m)} 米 ≤ {_m(door_m)} 米：门口接电（A 类）",
                f"the point is {_m(distance_m)} m from the site ≤ {_m(door_m)} m: connect at "
                "the door (class A)",
            )
        )
    if filing_eligible is True:
        limit = f" < {_m(filing_limit_m)} 米" if filing_limit_m else ""
        limit_en = f"< {_m(filing_limit_m)} m" if filing_limit_m else ""
        out.append(
            Why(
                "ROUTE_FILING",
                f"路径 {_m(distance_m)} 米{limit}，只占人行道或保持通行的非机动车道：备案即可施工"
                "（第 2 条）",
                f"the route is {_m(distance_m)} m {limit_en} and uses only sidewalks or a "
                "non-motorised lane that stays passable: a filing is enough (item 2)",
            )
        )
    elif filing_eligible is False:
        detail = "；".join(str(r.get("message", r.get("code"))) for r in filing_reasons)
        out.append(
            Why(
                "ROUTE_PERMITS",
                "路径需办理许可" + (f"：{detail}" if detail else ""),
                "the route needs permits" + (f": {detail}" if detail else ""),
            )
        )
        if readiness == "C":
            out.append(
                Why(
                    "NO_FILING_ROUTE",
                    "没有只经备案走廊即可到达满足条件接入点的路径（C 类）",
                    "no route through filing corridors alone reaches a point that qualifies "
                    "(class C)",
                )
            )
    return out


def why_gap(
    *,
    kw: float,
    category: str,
    voltage_kv: float,
    radius_m: float,
    supply_class: str,
    near: Sequence[Candidate],
    planned: Sequence[Candidate] = (),
    planned_substations: Sequence[Candidate] = (),
    alternative: tuple[str, Candidate] | None = None,
    point_kinds: Sequence[str] = (),
    has_points: bool = True,
    nearest_outside: Candidate | None = None,
) -> list[Why]:
    """Reasons of a class D answer: the binding constraint and what would change it.

    ``near``: existing connection points of the category within the supply radius (straight
    line), any headroom; ``planned``: planned points within the radius; ``planned_substations``:
    planned substations near the site; ``alternative``: another category and a point within its
    radius that has the headroom; ``has_points``: whether the map has any point of this
    category's kinds at all; ``nearest_outside``: the nearest point beyond the radius.
    """
    out: list[Why] = []
    kinds_zh = "、".join(_kind(k, "zh") for k in point_kinds) or "接入点"
    kinds_en = ", ".join(_kind(k, "en") for k in point_kinds) or "connection points"
    if not has_points:
        out.append(
            Why(
                "CATEGORY_NOT_SERVED",
                f"地图上没有可供{_cat(category, 'zh')}（{voltage_kv:g} kV）用户接入的{kinds_zh}",
                f"the map has no {kinds_en} a {_cat(category, 'en')} ({voltage_kv:g} kV) "
                "customer can connect to",
            )
        )
    feasible = [c for c in near if math.isfinite(c.headroom_kw) and c.headroom_kw >= kw]
    if has_points and not near:
        out.append(
            Why(
                "NO_GRID_IN_RADIUS",
                f"供电半径 {_m(radius_m)} 米内（供电区 {supply_class}，{voltage_kv:g} kV）没有"
                f"{kinds_zh}",
                f"no {kinds_en} within the supply radius of {_m(radius_m)} m (supply class "
                f"{supply_class}, {voltage_kv:g} kV)",
            )
        )
        c = nearest_outside
        if c is not None:
            out.append(
                Why(
                    "NEAREST_OUTSIDE_RADIUS",
                    f"最近的 {c.asset_id}（{_kind(c.kind, 'zh')}）在直线 {_m(c.distance_m)} 米外，"
                    f"余量 {_kw(c.headroom_kw)} kW",
                    f"the nearest, {c.asset_id} ({_kind(c.kind, 'en')}), is "
                    f"{_m(c.distance_m)} m away in a straight line with "
                    f"{_kw(c.headroom_kw)} kW headroom",
                )
            )
        out.append(
            Why(
                "FIX_EXTEND_GRID",
                f"在供电半径 {_m(radius_m)} 米内新建{kinds_zh}（配电网延伸）",
                f"build a new {kinds_en.split(', ')[0]} within {_m(radius_m)} m of the site "
                "(extend the network)",
                "fix",
            )
        )
    elif feasible:
        c = min(feasible, key=lambda c: c.distance_m)
        out.append(
            Why(
                "NOT_REACHABLE_BY_ROAD",
                f"{c.asset_id}（{_kind(c.kind, 'zh')}）余量 {_kw(c.headroom_kw)} kW，直线距离 "
                f"{_m(c.distance_m)} 米，但沿道路走廊超出供电半径 {_m(radius_m)} 米（供电区 "
                f"{supply_class}）",
                f"{c.asset_id} ({_kind(c.kind, 'en')}) has {_kw(c.headroom_kw)} kW headroom "
                f"{_m(c.distance_m)} m away in a straight line, but along the road corridors it "
                f"is beyond the supply radius of {_m(radius_m)} m (supply class {supply_class})",
            )
        )
    elif near:
        known = [c for c in near if math.isfinite(c.headroom_kw)]
        c = min(known or near, key=lambda c: c.distance_m)
        out.append(
            Why(
                "NO_HEADROOM_IN_RADIUS",
                f"供电半径 {_m(radius_m)} 米内（供电区 {supply_class}）没有余量 ≥ {_kw(kw)} kW "
                f"的接入点：最近的 {c.asset_id}（{_kind(c.kind, 'zh')}，{_m(c.distance_m)} 米）"
                f"余量 {_kw(c.headroom_kw)} kW",
                f"no point with {_kw(kw)} kW headroom within the supply radius of "
                f"{_m(radius_m)} m (supply class {supply_class}): the nearest, {c.asset_id} "
                f"({_kind(c.kind, 'en')}, {_m(c.distance_m)} m), has {_kw(c.headroom_kw)} kW",
            )
        )
        if math.isfinite(c.headroom_kw):
            need = max(kw - c.headroom_kw, 0.0)
            out.append(
                Why(
                    "FIX_REINFORCE",
                    f"对 {c.asset_id} 扩容至少 {_kw(need)} kW（或新增配变/线路）",
                    f"reinforce {c.asset_id} by at least {_kw(need)} kW (or add a transformer "
                    "or feeder)",
                    "fix",
                )
            )
        else:
            out.append(
                Why(
                    "FIX_SURVEY",
                    f"补充 {c.asset_id} 的容量与负荷数据：余量未知",
                    f"survey {c.asset_id}: its headroom is unknown",
                    "fix",
                )
            )
        unknown = [u for u in near if not math.isfinite(u.headroom_kw)]
        if unknown and math.isfinite(c.headroom_kw):
            u = unknown[0]
            out.append(
                Why(
                    "FIX_SURVEY",
                    f"补充 {u.asset_id}（{_m(u.distance_m)} 米）的容量与负荷数据：余量未知",
                    f"survey {u.asset_id} ({_m(u.distance_m)} m): its headroom is unknown",
                    "fix",
                )
            )
        best = max(
            (c for c in near if math.isfinite(c.headroom_kw) and c.headroom_kw > 0),
            key=lambda c: c.headroom_kw,
            default=None,
        )
        if best is not None:
            out.append(
                Why(
                    "FIX_SMALLER_REQUEST",
                    f"申请不超过 {_kw(math.floor(best.headroom_kw))} kW 可在 {best.asset_id} 接入"
                    "（若沿道路在半径内）",
                    f"a request of at most {_kw(math.floor(best.headroom_kw))} kW could connect "
                    f"at {best.asset_id} (if within the radius along the roads)",
                    "fix",
                )
            )
    for c in planned:
        if math.isfinite(c.headroom_kw) and c.headroom_kw >= kw:
            out.append(
                Why(
                    "FIX_PLANNED_ASSET",
                    f"规划中的 {c.asset_id}（{_kind(c.kind, 'zh')}，{_m(c.distance_m)} 米，余量 "
                    f"{_kw(c.headroom_kw)} kW）建成后可接入",
                    f"the planned {c.asset_id} ({_kind(c.kind, 'en')}, {_m(c.distance_m)} m, "
                    f"{_kw(c.headroom_kw)} kW) would serve the site once built",
                    "fix",
                )
            )
            break
    for c in planned_substations[:1]:
        out.append(
            Why(
                "FIX_PLANNED_SUBSTATION",
                f"规划变电站 {c.asset_id}（{_m(c.distance_m)} 米）投运并出线后可改善供电",
                f"the planned substation {c.asset_id} ({_m(c.distance_m)} m) would help once "
                "built and its feeders run",
                "fix",
            )
        )
    if alternative is not None:
        cat, c = alternative
        out.append(
            Why(
                "FIX_OTHER_CATEGORY",
                f"改按{_cat(cat, 'zh')}申请：{c.asset_id}（{_kind(c.kind, 'zh')}，"
                f"直线 {_m(c.distance_m)} 米）余量 {_kw(c.headroom_kw)} kW",
                f"apply as {_cat(cat, 'en')} instead: {c.asset_id} ({_kind(c.kind, 'en')}, "
                f"{_m(c.distance_m)} m in a straight line) has {_kw(c.headroom_kw)} kW",
                "fix",
            )
        )
    if not any(w.kind == "fix" for w in out):
        out.append(
            Why(
                "FIX_NEW_SUPPLY",
                "需新建配电设施或变电站（见规划页）",
                "new distribution assets or a substation are needed (see the planning page)",
                "fix",
            )
        )
    return out


def decisive(headroom_kw, kw: float):
    """Positions (ascending) of the candidates :func:`why_gap` can pick from a list in distance
    order with these headrooms: the nearest, the nearest with ``kw`` of headroom, the nearest
    known, the first unknown and the first with the most headroom. Each pick is the first of
    its kind, so why_gap of the picked sublist is why_gap of the whole list.

    >>> decisive([5.0, float("nan"), 50.0, 80.0, 80.0, 10.0], 40.0).tolist()
    [0, 1, 2, 3]
    """
    import numpy as np

    room = np.asarray(headroom_kw, dtype=float)
    known = np.isfinite(room)
    picks = [np.arange(min(1, len(room)))]
    for mask in (known & (room >= kw), known, ~known):
        picks.append(np.flatnonzero(mask)[:1])
    spare = np.flatnonzero(known & (room > 0))
    if len(spare):
        picks.append(spare[[int(np.argmax(room[spare]))]])
    return np.unique(np.concatenate(picks)).astype(np.int64)


def explain(onemap, rules, p, site, pts, group: str) -> list[Why]:
    """The reasons of a computed preview ``p`` (gathers the candidates of :func:`why_gap` from
    the connection points ``pts`` around ``site``, a metric geometry)."""
    import numpy as np
    import shapely

    from onemap.connection.points import PointIndex, point_index

    cp = p.connection_point
    if p.readiness != "D" and cp is not None:
        verdict = p.route.filing.to_dict(p.lang) if p.route is not None else {}
        if p.second_route is not None and p.second_route.filing is not None:
            verdict2 = p.second_route.filing.to_dict(p.lang)
            verdict = {
                "eligible": bool(verdict.get("eligible")) and bool(verdict2.get("eligible")),
                "reasons": [*verdict.get("reasons", []), *verdict2.get("reasons", [])],
                "limit_m": verdict.get("limit_m"),
            }
        sc = p.second_connection_point
        return why_connected(
            readiness=p.readiness,
            asset_id=cp.asset_id,
            kind=cp.kind,
            headroom_kw=cp.headroom_kw,
            distance_m=cp.distance_m,
            kw=p.requested_kw,
            radius_m=p.supply_radius_m,
            supply_class=p.supply_class,
            door_m=rules.connection.door_m,
            filing_eligible=verdict.get("eligible") if verdict else None,
            filing_reasons=verdict.get("reasons", []),
            filing_limit_m=verdict.get("limit_m"),
            second=(sc.asset_id, sc.kind, sc.headroom_kw, sc.distance_m) if sc else None,
        )

    flow = getattr(p, "power_flow", None)
    if flow is not None and not getattr(flow, "ok", True):  # issue 17: load flow said no
        failed = "、".join(getattr(flow, "failed", ())) or "limits"
        tid = getattr(flow, "transformer_id", "") or "?"
        head = [
            Why(
                "POWER_FLOW_FAILS",
                f"按潮流计算，在 {tid} 接入 {_kw(p.requested_kw)} kW 后越限（{failed}）："
                f"最低电压 {flow.min_voltage_pu:.3f} pu，线路负载率 "
                f"{flow.max_line_loading_pct:.0f}%，配变负载率 {flow.max_trafo_loading_pct:.0f}%",
                f"the load flow with {_kw(p.requested_kw)} kW at {tid} breaks limits ({failed}): "
                f"lowest voltage {flow.min_voltage_pu:.3f} pu, line loading "
                f"{flow.max_line_loading_pct:.0f}%, transformer loading "
                f"{flow.max_trafo_loading_pct:.0f}%",
            ),
            Why(
                "FIX_REINFORCE_LV",
                "加大低压线路截面或就近新增配变",
                "reinforce the LV main or add a transformer near the site",
                "fix",
            ),
        ]
        return head

    def within(index, radius, kw=p.requested_kw, exclude=()):
        """The candidates within ``radius`` that :func:`why_gap` can pick (the nearest, the
        nearest feasible, the nearest known, the first unknown, the first with the most
        headroom), in distance order: a city's HV radius holds thousands of points, and
        every pick is the first of its kind in that order, so the rest change nothing."""
        frame = index.frame
        if not len(frame):
            return []
        x, y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
        c = site.centroid
        # the centroid's reach holds every point within the radius of the site (+1 m spare)
        reach = radius + math.sqrt(max(site.area, 0.0)) * 1.5 + 1.0
        cand = index.near(c.x, c.y, reach)
        if len(exclude) and len(cand):
            ids = frame["asset_id"].to_numpy()[cand].tolist()  # a set look-up each, not isin
            cand = cand[np.fromiter((i not in exclude for i in ids), bool, len(ids))]
        if not len(cand):
            return []
        d = shapely.distance(shapely.points(x[cand], y[cand]), site)
        keep = cand[d <= radius]
        dist = d[d <= radius]
        order = np.argsort(dist, kind="stable")
        keep, dist = keep[order], dist[order]
        room = frame["headroom_kw"].to_numpy(dtype=float)[keep]
        sel = decisive(room, kw)
        # columns taken once as arrays: one .iloc per candidate was most of a preview's time
        ids = frame["asset_id"].to_numpy()[keep[sel]]
        kinds = frame["kind"].to_numpy()[keep[sel]]
        return [
            Candidate(str(i), str(k), float(h), float(dd))
            for i, k, h, dd in zip(ids, kinds, room[sel], dist[sel].tolist(), strict=True)
        ]

    radius = p.supply_radius_m
    index = point_index(onemap, p.category, rules)
    near = within(index if index.frame is pts else PointIndex(pts), radius)
    nearest_outside = None
    if not near and len(pts):
        c0 = site.centroid
        gap = np.hypot(pts["x"].to_numpy(float) - c0.x, pts["y"].to_numpy(float) - c0.y)
        k = int(np.nanargmin(gap))
        nearest_outside = Candidate(
            str(pts["asset_id"].iloc[k]),
            str(pts["kind"].iloc[k]),
            float(pts["headroom_kw"].iloc[k]),
            float(site.distance(shapely.Point(pts["x"].iloc[k], pts["y"].iloc[k]))),
        )
    known = index.ids if index.frame is pts else set(pts["asset_id"].tolist())
    planned = within(
        point_index(onemap, p.category, rules, include_planned=True), radius, exclude=known
    )
    subs = onemap["substations"]
    planned_subs: list[Candidate] = []
    if len(subs) and "status" in subs.columns:
        msubs = onemap.metric("substations")
        mask = (msubs["status"] == "planned").to_numpy()
        mv_radius = rules.supply_radius(
            rules.radius_voltage(rules.connection.hv_voltage_kv), p.supply_class
        )
        for geom, sid in zip(msubs.geometry[mask], msubs["substation_id"][mask], strict=True):
            d = float(geom.distance(site))
            if d <= mv_radius:
                planned_subs.append(Candidate(str(sid), "substation", math.nan, d))
        planned_subs.sort(key=lambda c: c.distance_m)
    alternative = None
    other = None
    if group == "lv":
        other = "hv_single"
    elif group in ("hv", "dual") and p.requested_kw <= rules.connection.lv_max_kw:
        other = "lv_non_residential"
    if other is not None and other in rules.categories:
        try:
            ov = rules.category(other).voltage_kv
            orad = rules.supply_radius(rules.radius_voltage(ov), p.supply_class)
            ok = [
                c
                for c in within(point_index(onemap, other, rules), orad)
                if math.isfinite(c.headroom_kw) and c.headroom_kw >= p.requested_kw
            ]
            if ok:
                alternative = (other, ok[0])
        except Exception:
            alternative = None
    kinds = (
        rules.connection.lv_point_kinds
        if group == "lv"
        else ["substation"]
        if group == "ehv"
        else rules.connection.hv_point_kinds
    )
    return why_gap(
        kw=p.requested_kw,
        category=p.category,
        voltage_kv=p.voltage_kv,
        radius_m=radius,
        supply_class=p.supply_class,
        near=near,
        planned=planned,
        planned_substations=planned_subs,
        alternative=alternative,
        point_kinds=kinds,
        has_points=bool(len(pts)),
        nearest_outside=nearest_outside,
    )
