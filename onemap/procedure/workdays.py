"""Working days on the Chinese official calendar.

Deadlines in the policy (items 2, 3) are counted in working days: weekends and public holidays
are skipped, make-up working days (调休) count. Published years come from ``chinese_calendar``.
The State Council publishes a year's arrangement late in the year before, so a deadline that
reaches an unpublished year is computed on weekends plus the fixed statutory holidays of the
2024 《全国年节及纪念日放假办法》 and marked ``provisional`` — never an error, never silent.
That covers every year the published calendar lacks, before or after it. The lunar festivals can
be placed only for the years of the lunar table (``LUNAR_YEARS``, 1900–2099); for a later year
the provisional count uses weekends plus the solar-dated holidays (New Year, Qingming, Labour
Day, National Day) alone. A date before 1900, or a count that runs past 9999-12-31, cannot be
computed and is an :class:`~onemap.errors.OnemapInputError` naming the field ``date``.
The day of submission does not count (Civil Code art. 201): counting starts the next day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
from lunardate import LunarDate

from onemap.errors import OnemapInputError
from onemap.messages import msg

# Years LunarDate can convert (its table runs 1900–2099); before it nothing is computed.
LUNAR_YEARS = range(1900, 2100)


@dataclass(frozen=True)
class Deadline:
    """A date reached by counting working days, and whether any counted day was provisional."""

    date: dt.date
    workdays: int
    provisional: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat(),
            "workdays": self.workdays,
            "provisional": self.provisional,
        }


@lru_cache(maxsize=1)
def _published_years() -> frozenset[int]:
    return frozenset(d.year for d in chinese_calendar.holidays)


def _published(year: int) -> bool:
    return year in _published_years()


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[dt.date]:
    """Statutory public holidays of a year without the yearly make-up arrangement.

    New Year 1 day, Spring Festival 4 days (eve to 3rd day), Qingming 1, Labour Day 2 (May 1–2),
    Dragon Boat 1, Mid-Autumn 1, National Day 3 (Oct 1–3).
    """
    days = {dt.date(year, 1, 1), dt.date(year, 5, 1), dt.date(year, 5, 2)}
    days |= {dt.date(year, 10, d) for d in (1, 2, 3)}
    if year < LUNAR_YEARS.start:
        raise OnemapInputError(
            msg("procedure.year_too_early", year=year, start=LUNAR_YEARS.start),
            field="date",
        )
    if year in LUNAR_YEARS:
        new_year = LunarDate(year, 1, 1).to_solar_date()
        days |= {new_year + dt.timedelta(days=k) for k in (-1, 0, 1, 2)}
        days.add(LunarDate(year, 5, 5).to_solar_date())
        days.add(LunarDate(year, 8, 15).to_solar_date())
    try:
        qingming = chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 10))
    except (ValueError, OverflowError, IndexError, NotImplementedError):
        qingming = []  # beyond the solar-term formula: weekends and fixed holidays only
    days |= {d for d, name in qingming if name == "清明"}
    return frozenset(d for d in days if d.year == year)


@lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> tuple[bool, bool]:
    """Return ``(is_workday, provisional)`` for a date (kept: chinese_calendar checks its
    range on every call, and every referral counts the same few days ahead)."""
    if _published(day.year):
        return chinese_calendar.is_workday(day), False
    return day.weekday() < 5 and day not in statutory_holidays(day.year), True


def add_workdays(submitted: dt.date, workdays: int) -> Deadline:
    """The date on which ``workdays`` working days have passed after ``submitted``.

    The submission day itself does not count; the result is the last working day of the period.
    ``workdays = 0`` returns the submission date.
    """
    if workdays < 0:
        raise ValueError("workdays must be >= 0")
    if submitted.year < LUNAR_YEARS.start:
        raise OnemapInputError(
            msg(
                "procedure.date_too_early", submitted=submitted.isoformat(), start=LUNAR_YEARS.start
            ),
            field="date",
        )
    day, counted, provisional = submitted, 0, False
    while counted < workdays:
        try:
            day += dt.timedelta(days=1)
        except OverflowError:
            raise OnemapInputError(
                msg(
                    "procedure.date_too_late",
                    workdays=workdays,
                    submitted=submitted.isoformat(),
                    last=dt.date.max.isoformat(),
                ),
                field="date",
            ) from None
        working, guessed = is_workday(day)
        provisional |= guessed
        counted += working
    return Deadline(date=day, workdays=workdays, provisional=provisional)
