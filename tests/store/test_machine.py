"""The filing state machine: every legal transition, 409-type errors for every illegal one,
roles (403-type errors), deadlines on the official calendar, and the history of each step."""

from __future__ import annotations

import datetime as dt

import pytest

from onemap.errors import OnemapInputError
from onemap.store import IllegalTransition, NotFound, PermissionDenied
from onemap.store.machine import STATUSES, TRANSITIONS, allowed_actions

from .conftest import RULES, submit

# How to bring a new filing to each status: (eligible at submission, actions after it).
PATHS = {
    "filed": (True, []),
    "referred": (False, []),
    "accepted": (False, ["accept"]),
    "returned": (True, ["return"]),
    "withdrawn": (True, ["withdraw"]),
    "works_started": (True, ["works_started"]),
    "completed": (True, ["works_started", "works_completed"]),
}
LEGAL = [(a, s) for a, (sources, _) in TRANSITIONS.items() for s in sources]
ILLEGAL = [(a, s) for a in TRANSITIONS for s in STATUSES if (a, s) not in LEGAL]


def at_status(store, people, status):
    eligible, actions = PATHS[status]
    filing, _ = submit(store, people["ann"], eligible=eligible)
    for action in actions:
        filing = store.act(filing.number, action, people["rex"])
    assert filing.status == status
    return filing


def test_submit_eligible_is_filed_without_deadline(store, people):
    filing, created = submit(store, people["ann"], eligible=True)
    assert created and filing.status == "filed"
    assert filing.approval_deadline is None and filing.permits == []
    assert filing.deadline_state() is None


def test_submit_needing_permits_is_referred_with_five_workday_deadline(store, people):
    # Submitted Thursday 2026-04-30: May 1–5 is the Labour Day holiday, Saturday 9 May a make-up
    # working day. Counting from the day after: May 6, 7, 8, 9, 11 -> 2026-05-11.
    filing, _ = submit(store, people["ann"], eligible=False, submitted_date="2026-04-30")
    assert filing.status == "referred"
    assert RULES.approval.workdays == 5
    assert filing.approval_workdays == 5
    assert filing.approval_deadline == "2026-05-11"
    assert not filing.deadline_provisional
    assert filing.permits == ["road_excavation", "corridor_planning"]
    d = filing.to_dict(today=dt.date(2026, 5, 12))
    assert d["approval_deadline"] == {"date": "2026-05-11", "workdays": 5, "provisional": False}
    assert d["deadline_state"] == "overdue"
    assert filing.deadline_state(dt.date(2026, 5, 11)) == "due_soon"  # the last day
    assert filing.deadline_state(dt.date(2026, 5, 9)) == "due_soon"  # a make-up Saturday
    assert filing.deadline_state(dt.date(2026, 5, 8)) == "on_time"  # 2 working days left


def test_deadline_matches_check_route(store, people):
    from onemap.procedure.workdays import add_workdays

    filing, _ = submit(store, people["ann"], eligible=False, submitted_date="2031-09-30")
    expected = add_workdays(dt.date(2031, 9, 30), RULES.approval.workdays)
    assert filing.approval_deadline == expected.date.isoformat()
    assert filing.deadline_provisional == expected.provisional


def test_above_approval_voltage_no_statutory_deadline(store, people):
    filing, _ = submit(store, people["ann"], eligible=False, voltage_kv=35.0)
    assert filing.status == "referred" and filing.approval_deadline is None


@pytest.mark.parametrize(("action", "status"), LEGAL, ids=[f"{a}-from-{s}" for a, s in LEGAL])
def test_every_legal_transition(store, people, action, status):
    filing = at_status(store, people, status)
    after = store.act(filing.number, action, people["rex"], note=f"{action} ok")
    assert after.status == TRANSITIONS[action][1]
    last = store.history(filing.number)[-1]
    assert (last.action, last.actor, last.role) == (action, "rex", "reviewer")
    assert (last.status_before, last.status_after) == (status, after.status)
    assert last.note == f"{action} ok"
    assert dt.datetime.fromisoformat(last.at).utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(("action", "status"), ILLEGAL, ids=[f"{a}-from-{s}" for a, s in ILLEGAL])
def test_every_illegal_transition_is_a_conflict(store, people, action, status):
    filing = at_status(store, people, status)
    before = store.history(filing.number)
    with pytest.raises(IllegalTransition) as err:
        store.act(filing.number, action, people["ada"])
    assert err.value.status == 409
    assert err.value.to_dict()["allowed"] == allowed_actions(status)
    assert store.filing(filing.number).status == status
    assert store.history(filing.number) == before  # nothing recorded


def test_roles(store, people):
    filing, _ = submit(store, people["ann"], eligible=False)
    for action in ("accept", "return", "works_started", "works_completed"):
        with pytest.raises(PermissionDenied) as err:
            store.act(filing.number, action, people["ann"])
        assert err.value.status == 403
    with pytest.raises(PermissionDenied):
        submit(store, people["rex"])
    with pytest.raises(PermissionDenied):  # an applicant withdraws only their own filing
        store.act(filing.number, "withdraw", people["alf"])
    assert store.act(filing.number, "withdraw", people["ann"]).status == "withdrawn"
    # admin may do everything
    other, _ = submit(store, people["ada"], eligible=False)
    assert store.act(other.number, "accept", people["ada"]).status == "accepted"
    assert store.history(other.number)[-1].role == "admin"


def test_full_life_and_history(store, people):
    filing, _ = submit(store, people["ann"], eligible=False, note="南路人行道")
    store.act(filing.number, "accept", people["rex"], "同意")
    store.act(filing.number, "works_started", people["rex"])
    store.act(filing.number, "works_completed", people["rex"], "竣工")
    rows = [e.to_dict() for e in store.history(filing.number)]
    assert [(r["action"], r["status_before"], r["status_after"]) for r in rows] == [
        ("submit", None, "referred"),
        ("accept", "referred", "accepted"),
        ("works_started", "accepted", "works_started"),
        ("works_completed", "works_started", "completed"),
    ]
    assert rows[0]["actor"] == "ann" and rows[0]["note"] == "南路人行道"
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    assert store.integrity_check()


def test_bad_actions_and_ids(store, people):
    filing, _ = submit(store, people["ann"])
    with pytest.raises(OnemapInputError) as err:
        store.act(filing.number, "approve", people["rex"])
    assert err.value.field == "action"
    with pytest.raises(NotFound):
        store.act("BA-2026-999999", "accept", people["rex"])
    with pytest.raises(NotFound):
        store.filing("BA-2026-999999")
    with pytest.raises(NotFound):
        store.history("nope")
