"""The audit log is append-only and a submitted filing is frozen, whatever SQL is sent."""

from __future__ import annotations

import pytest

from .conftest import submit


def raw(store, sql, params=()):
    with store.backend.transaction() as conn:
        return store.backend.execute(conn, sql, params)


@pytest.fixture
def filed(store, people):
    filing, _ = submit(store, people["ann"], eligible=False)
    store.act(filing.number, "accept", people["rex"], "同意")
    return filing


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE filing_events SET note = 'rewritten'",
        "UPDATE filing_events SET actor_name = 'someone else' WHERE action = 'accept'",
        "DELETE FROM filing_events",
        "DELETE FROM filing_events WHERE action = 'accept'",
    ],
)
def test_events_cannot_be_changed(store, filed, sql):
    before = store.history(filed.number)
    with pytest.raises(Exception, match="append-only"):
        raw(store, sql)
    assert store.history(filed.number) == before


def test_events_cannot_be_truncated_on_postgresql(store, filed):
    if store.backend.name != "postgresql":
        return  # SQLite has no TRUNCATE: DELETE is refused above
    with pytest.raises(Exception, match="append-only"):
        raw(store, "TRUNCATE filing_events CASCADE")
    assert len(store.history(filed.number)) == 2


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("DELETE FROM filings", "never deleted"),
        ("UPDATE filings SET verdict = ?", "frozen"),
        ("UPDATE filings SET number = 'BA-2026-000099'", "frozen"),
        ("UPDATE filings SET approval_deadline = '2099-01-01'", "frozen"),
    ],
)
def test_filings_are_frozen_and_never_deleted(store, filed, sql, match):
    params = ('{"eligible": true}',) if "?" in sql else ()
    if "?" in sql and store.backend.name == "postgresql":
        sql = sql.replace("?", "CAST(? AS json)")
    with pytest.raises(Exception, match=match):
        raw(store, sql, params)
    assert store.filing(filed.number) == store.filing(filed.number)
    assert store.filing(filed.number).verdict["eligible"] is False
    assert store.integrity_check()


def test_history_records_who_did_what(store, people, filed):
    rows = [e.to_dict() for e in store.history(filed.number)]
    assert [(r["actor"], r["role"], r["action"]) for r in rows] == [
        ("ann", "applicant", "submit"),
        ("rex", "reviewer", "accept"),
    ]
    assert rows[1]["note"] == "同意" and rows[1]["filing_id"] == filed.number
