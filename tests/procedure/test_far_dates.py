"""Dates the official calendar lacks (issue 12 item 3): provisional, or exit 2 naming ``date``.

* ``2099-12-31`` and ``2100-01-01``: the deadline is computable (weekends plus the statutory
  holidays that can be placed) but no calendar is published → exit 0, ``provisional``.
* ``9999-12-31``: counting working days runs past the last representable date → exit 2.
* ``0001-01-01``: before 1900 the statutory holidays (lunar festivals) cannot be placed → exit 2.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from onemap.cli import app
from onemap.errors import OnemapInputError
from onemap.procedure.workdays import add_workdays

runner = CliRunner()
ROUTE = {"type": "LineString", "coordinates": [[119.1952, 34.5999], [119.1975, 34.5999]]}
PROVISIONAL = ["2099-12-31", "2100-01-01"]
REFUSED = ["9999-12-31", "0001-01-01"]


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def route_file(tmp_path):
    path = tmp_path / "r.geojson"
    path.write_text(json.dumps(ROUTE))
    return path


@pytest.mark.parametrize("date", PROVISIONAL)
def test_check_route_far_future_is_provisional(demo_map_path, route_file, date):
    res = _run("check-route", demo_map_path, route_file, "--date", date, "--json")
    assert res.exit_code == 0, res.output
    deadline = json.loads(res.stdout)["approval_deadline"]
    assert deadline["provisional"] is True
    assert deadline["date"] > date


@pytest.mark.parametrize("date", REFUSED)
def test_check_route_unrepresentable_date_exit_2(demo_map_path, route_file, date):
    res = _run("check-route", demo_map_path, route_file, "--date", date)
    assert res.exit_code == 2, res.output
    assert "字段“date”" in res.output  # Chinese by default


PREVIEW = ["--at", "119.195,34.6", "--kw", "50", "--category", "lv_small_micro"]


@pytest.mark.parametrize("date", PROVISIONAL + REFUSED)
def test_preview_far_dates(demo_map_path, date):
    res = _run("preview", demo_map_path, *PREVIEW, "--date", date, "--json")
    if date in PROVISIONAL:
        assert res.exit_code == 0, res.output
    else:
        assert res.exit_code == 2, res.output
        assert "字段“date”" in res.output  # Chinese by default


def test_library_far_dates():
    assert add_workdays(dt.date(2100, 1, 1), 5).provisional
    assert add_workdays(dt.date(2150, 6, 1), 5).date == dt.date(2150, 6, 8)
    with pytest.raises(OnemapInputError) as err:
        add_workdays(dt.date(9999, 12, 31), 1)
    assert err.value.field == "date"
    with pytest.raises(OnemapInputError) as err:
        add_workdays(dt.date(1, 1, 1), 1)
    assert err.value.field == "date"
