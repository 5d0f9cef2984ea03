"""Cost estimate of a connection's works (item 7 "工程造价", item 9 "投资界面").

Pure functions over what a preview computed: the route length and its segments by corridor
kind, the voltage, whether new facilities are needed (the timeline) and who pays (item 9).
Every unit cost comes from the rule table's ``[cost]`` (each marked assumed, with its source).

Arithmetic (stated so a reader can redo it): quantity = metres rounded to 0.1 m, item yuan =
quantity × unit cost rounded to the whole yuan, total = the sum of the items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from onemap.lang import DEFAULT_LANG, check_lang, pick
from onemap.rules import Rules
from onemap.rules.model import CostRate

__all__ = ["CostEstimate", "CostItem", "RouteWorks", "cost_estimate"]

PAYERS = ("government", "grid_company", "customer")


@dataclass(frozen=True)
class RouteWorks:
    """One route as the estimate needs it: its length and (corridor kind, metres) runs."""

    length_m: float
    segments: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, length_m: float, segments: Iterable[object]) -> RouteWorks:
        """From a verdict's segments (objects or dicts with ``corridor`` and ``length_m``)."""
        runs = []
        for s in segments:
            if isinstance(s, dict):
                runs.append((str(s["corridor"]), float(s["length_m"])))
            else:
                runs.append((str(s.corridor), float(s.length_m)))  # type: ignore[attr-defined]
        return cls(float(length_m), tuple(runs))


@dataclass(frozen=True)
class CostItem:
    code: str
    name: str
    name_en: str
    quantity: float
    unit: str
    unit_yuan: float
    yuan: float
    payer: str
    assumed: bool
    source: str

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, object]:
        return {
            "code": self.code,
            "what": pick(lang, self.name, self.name_en or self.name),
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_yuan": self.unit_yuan,
            "yuan": self.yuan,
            "payer": self.payer,
            "assumed": self.assumed,
            "source": self.source,
        }


@dataclass(frozen=True)
class CostEstimate:
    items: list[CostItem]
    currency: str
    rules: str
    source: str
    notes: list[tuple[str, str]] = field(default_factory=list)  # (zh, en)

    @property
    def total_yuan(self) -> float:
        return float(sum(i.yuan for i in self.items))

    @property
    def by_payer(self) -> dict[str, float]:
        out = dict.fromkeys(PAYERS, 0.0)
        for i in self.items:
            out[i.payer] = out.get(i.payer, 0.0) + i.yuan
        return out

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, object]:
        check_lang(lang)
        basis = pick(
            lang,
            f"估算：单价均为假定值（{self.source}），可在规则表 [cost] 中覆盖；"
            f"规则表 {self.rules}；不含用户产权分界点以内的工程",
            f"estimate: every unit cost is assumed ({self.source}) and can be overridden in the "
            f"rule table's [cost]; rule table {self.rules}; works inside the customer's property "
            "boundary are not included",
        )
        notes = [pick(lang, zh, en) for zh, en in self.notes]
        return {
            "total_yuan": self.total_yuan,
            "currency": self.currency,
            "items": [i.to_dict(lang) for i in self.items],
            "by_payer": self.by_payer,
            "basis": " ".join([basis, *notes]),
        }


def _item(code: str, rate: CostRate, quantity: float, payer: str) -> CostItem:
    q = round(float(quantity), 1)
    return CostItem(
        code=code,
        name=rate.name or code,
        name_en=rate.name_en or rate.name or code,
        quantity=q,
        unit=rate.unit,
        unit_yuan=float(rate.yuan),
        yuan=float(round(q * rate.yuan)),
        payer=payer,
        assumed=rate.assumed,
        source=rate.source,
    )


def cost_estimate(
    rules: Rules,
    *,
    voltage_kv: float,
    group: str,
    routes: Sequence[RouteWorks],
    new_facilities: bool,
    payer_detail: dict[str, str],
) -> CostEstimate | None:
    """The estimate of the works from the connection point to the site (None: the rule table
    has no ``[cost]``, or there is no route — class D has no works to price yet).

    Cable: the route length at the voltage's rate. Trench: each segment's metres at the rate of
    its corridor kind's work (``[cost.corridor_works]``), the rest of the route at
    ``default_works``; works of the same kind are summed over all routes. A new branch box
    (LV) or ring main unit (10/20 kV) per route when ``new_facilities``. Cable and equipment are
    paid by ``payer_detail["electrical_works"]``, trenches by ``payer_detail["corridors"]``
    (item 9).
    """
    cost = rules.cost
    if cost is None or not routes:
        return None
    electrical = payer_detail.get("electrical_works", payer_detail.get("payer", "grid_company"))
    corridors = payer_detail.get("corridors", electrical)
    notes: list[tuple[str, str]] = []
    items: list[CostItem] = []
    cable = cost.cable_rate(voltage_kv)
    total_len = sum(r.length_m for r in routes)
    if cable is not None:
        items.append(_item(f"cable_{voltage_kv:g}kv", cable, total_len, electrical))
    else:
        notes.append(
            (f"规则表无 {voltage_kv:g} kV 电缆单价，电缆未计", f"no {voltage_kv:g} kV cable rate")
        )
    works: dict[str, float] = {}
    for r in routes:
        covered = 0.0
        for corridor, length in r.segments:
            kind = cost.corridor_works.get(corridor, cost.default_works)
            works[kind] = works.get(kind, 0.0) + length
            covered += length
        rest = r.length_m - covered
        if rest > 0.05:
            works[cost.default_works] = works.get(cost.default_works, 0.0) + rest
    for kind in cost.works:  # the table's order
        if kind in works and round(works[kind], 1) > 0:
            items.append(_item(kind, cost.works[kind], works[kind], corridors))
    fac_key = "lv" if group == "lv" else ("hv" if group in ("hv", "dual") else None)
    if new_facilities and fac_key and fac_key in cost.facilities:
        items.append(
            _item(f"facility_{fac_key}", cost.facilities[fac_key], len(routes), electrical)
        )
    return CostEstimate(
        items=items,
        currency=cost.currency,
        rules=f"{rules.meta.id}@{rules.meta.version}",
        source=cost.source,
        notes=notes,
    )


def preview_cost(rules: Rules, p: object, group: str) -> CostEstimate | None:
    """The estimate of a computed :class:`~onemap.connection.results.Preview` (its route(s),
    the timeline's new-facilities flag and the payer of item 9)."""
    routes = []
    for r in (getattr(p, "route", None), getattr(p, "second_route", None)):
        if r is None:
            continue
        routes.append(RouteWorks.of(r.length_m, getattr(r.filing, "segments", ()) or ()))
    if getattr(p, "readiness", "D") == "D" or not routes:
        return None
    return cost_estimate(
        rules,
        voltage_kv=p.voltage_kv,  # type: ignore[attr-defined]
        group=group,
        routes=routes,
        new_facilities=bool(p.timeline.new_facilities),  # type: ignore[attr-defined]
        payer_detail=dict(p.payer_detail),  # type: ignore[attr-defined]
    )
