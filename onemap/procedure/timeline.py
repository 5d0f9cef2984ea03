"""Timeline and paperwork of a connection: steps, working days, documents, payer, tariff hint.

All numbers and texts come from the rule table: process steps (item 4), process and
application-to-power working days (item 3), supporting works (item 3), approval of permit
routes (item 2), documents (item 5), payer (item 9) and the tariff hint (item 7). Dates are
counted on the Chinese official calendar by :func:`onemap.procedure.workdays.add_workdays`,
which keeps
the ``provisional`` flag for years whose holidays are not yet published.

The earliest energising date adds the process days, the works days and (for a route that needs
permits) the approval days, then applies the category's application-to-power limit where the
policy sets one (item 3: LV residential 5, LV small/micro 15 working days) — the policy's
commitment caps the sum. A grid gap (class D) has no date: the grid must be reinforced first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from onemap.lang import check_lang
from onemap.procedure.workdays import add_workdays
from onemap.rules import Rules, resolve_rules


def _policy_days(value: int) -> int | None:
    return None if value < 0 else value


@dataclass(frozen=True)
class Timeline:
    """Steps and working days of one connection, and the earliest energising date."""

    steps: list[str]
    process_workdays: int | None
    works_workdays: int | None
    approval_workdays: int | None
    application_to_power_workdays: int | None
    total_workdays: int | None
    start_date: dt.date
    earliest_date: dt.date | None
    provisional: bool
    new_facilities: bool

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["start_date"] = self.start_date.isoformat()
        out["earliest_date"] = self.earliest_date.isoformat() if self.earliest_date else None
        return out


def is_lv(rules: Rules, category: str) -> bool:
    """Whether a category connects at the LV voltage."""
    return rules.category(category).voltage_kv <= rules.connection.lv_voltage_kv


def works_workdays(rules: Rules, category: str, new_facilities: bool) -> int | None:
    """Supporting works (item 3): LV 5, or 10 with new poles/boxes/trenches; 10/20 kV 30."""
    works = rules.works
    if is_lv(rules, category):
        return works.lv_new_facilities_workdays if new_facilities else works.lv_workdays
    if rules.category(category).voltage_kv <= rules.approval.max_voltage_kv:
        return works.hv_workdays
    return None  # ≥ 35 kV: the policy sets no works deadline


def approval_workdays(rules: Rules, category: str, filing_eligible: bool) -> int | None:
    """Administrative approval of the route (item 2): none when filing suffices."""
    if filing_eligible:
        return 0
    if rules.category(category).voltage_kv <= rules.approval.max_voltage_kv:
        return rules.approval.workdays
    return None


def timeline(
    rules: Rules | None,
    category: str,
    readiness: str,
    *,
    filing_eligible: bool,
    date: dt.date | None = None,
    lang: str = "zh",
) -> Timeline:
    """The timeline of a connection of ``category`` whose site has readiness class ``readiness``.

    Works need new facilities unless the site is class A (a feasible point at the door).
    """
    rules = resolve_rules(rules=rules)
    check_lang(lang)
    cat = rules.category(category)
    steps_table = rules.steps if lang == "zh" else rules.steps_en
    steps = list(steps_table[cat.steps])
    start = date or dt.date.today()
    new_facilities = readiness != "A"
    process = _policy_days(cat.process_workdays)
    limit = _policy_days(cat.application_to_power_workdays)
    if readiness == "D":
        works = approval = total = None
    else:
        works = works_workdays(rules, category, new_facilities)
        approval = approval_workdays(rules, category, filing_eligible)
        parts = (process, works, approval)
        total = None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]
        if total is not None and limit is not None:
            total = min(total, limit)
    deadline = add_workdays(start, total) if total is not None else None
    return Timeline(
        steps=steps,
        process_workdays=process,
        works_workdays=works,
        approval_workdays=approval,
        application_to_power_workdays=limit,
        total_workdays=total,
        start_date=start,
        earliest_date=deadline.date if deadline else None,
        provisional=deadline.provisional if deadline else False,
        new_facilities=new_facilities,
    )


def documents(rules: Rules | None, category: str, lang: str = "zh") -> list[str]:
    """Documents to bring (item 5): LV identity + property; ≥ 10 kV plus the project approval."""
    rules = resolve_rules(rules=rules)
    check_lang(lang)
    d = rules.documents
    if is_lv(rules, category):
        docs = d.lv if lang == "zh" else d.lv_en
    else:
        docs = d.hv if lang == "zh" else d.hv_en
    return list(docs)


def online_note(rules: Rules | None, lang: str = "zh") -> str:
    """The note that no paper is needed for documents shared online (item 5)."""
    rules = resolve_rules(rules=rules)
    return rules.documents.online_note if lang == "zh" else rules.documents.online_note_en


def payer(rules: Rules | None, new_residential: bool) -> dict[str, str]:
    """Who pays (item 9): the government for new residential areas; otherwise the grid company
    for the electrical works and the government for corridors and trenches."""
    rules = resolve_rules(rules=rules)
    p = rules.payer
    if new_residential:
        return {
            "payer": p.new_residential,
            "electrical_works": p.new_residential,
            "corridors": p.new_residential,
        }
    return {"payer": p.other, "electrical_works": p.other, "corridors": p.other_corridors}


def tariff_hint(
    rules: Rules | None,
    category: str,
    kw: float,
    load_class: str | None = None,
    lang: str = "zh",
) -> str:
    """Tariff category hint (item 7): residential, large industry (industrial ≥ the kVA
    threshold) or general industrial and commercial. ``load_class`` is the parcel's land-use
    load class when known; unknown use with a large request hints large industry."""
    rules = resolve_rules(rules=rules)
    check_lang(lang)
    t = rules.tariff
    en = lang == "en"
    # A residential category is residential; a residential parcel is so only when the request
    # does not say otherwise (an LV non-residential or small-business request on a residential
    # parcel — a shop on the ground floor — pays the general tariff).
    lv_other = category.startswith("lv_") and category not in t.residential_categories
    if category in t.residential_categories or (
        load_class in t.residential_load_classes and not lv_other
    ):
        return t.residential_en if en else t.residential
    kva = kw / rules.connection.power_factor
    industrial = load_class is None or load_class in t.large_industry_load_classes
    if industrial and kva >= t.large_industry_min_kva:
        return t.large_industry_en if en else t.large_industry
    return t.general_en if en else t.general
