"""Working days on the official calendar: holidays, make-up days, unpublished years."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from hypothesis import given
from hypothesis import strategies as st

from onemap.procedure.workdays import add_workdays, is_workday, statutory_holidays

D = dt.date


def test_submission_day_does_not_count():
    # Monday 2026-11-23 + 1 working day = Tuesday.
    assert add_workdays(D(2026, 11, 23), 1).date == D(2026, 11, 24)
    assert add_workdays(D(2026, 11, 23), 0).date == D(2026, 11, 23)


def test_national_day_2026_with_make_up_saturday():
    # Oct 1-7 off; Sat Oct 10 is a make-up working day.
    assert chinese_calendar.is_workday(D(2026, 10, 10))
    result = add_workdays(D(2026, 9, 30), 5)
    assert result.date == D(2026, 10, 13) and not result.provisional


def test_spring_festival_2026():
    # 2026 Spring Festival holiday Feb 15–23; make-up days Feb 14 (Sat) and Feb 28 (Sat).
    result = add_workdays(D(2026, 2, 13), 5)
    worked = [
        d
        for d in (D(2026, 2, 14) + dt.timedelta(days=k) for k in range(14))
        if chinese_calendar.is_workday(d)
    ]
    assert result.date == worked[4]
    assert result.date > D(2026, 2, 23)


def test_unpublished_year_is_provisional_not_an_error():
    result = add_workdays(D(2026, 12, 28), 5)
    assert result.provisional
    assert result.date == D(2027, 1, 5)  # Dec 29, 30, 31, (Jan 1 off), Jan 4, 5
    assert D(2027, 2, 6) in statutory_holidays(2027)  # lunar new year 2027
    assert is_workday(D(2027, 10, 1)) == (False, True)


@given(st.dates(min_value=D(2020, 1, 1), max_value=D(2026, 10, 31)), st.integers(1, 30))
def test_count_matches_published_calendar(start, n):
    result = add_workdays(start, n)
    between = chinese_calendar.get_workdays(start + dt.timedelta(days=1), result.date)
    assert len(between) == n and chinese_calendar.is_workday(result.date)
