"""The JSON a write stores (a push's proposal, a filing's verdict) is encoded once: the record a
write answers is what a read gives, values that are not plain JSON are normalised as before, and
what cannot be stored is refused naming the field, with nothing stored (both backends)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from onemap.errors import OnemapInputError

from .conftest import submit, verdict
from .test_idempotency import PROJECT, count

# Not plain JSON, but storable: a date, a tuple, non-ASCII text, nesting, a float and an int.
ODD = {
    "date": dt.date(2026, 10, 8),
    "pair": (1, 2.5),
    "text": "开门接电 ✓",
    "nested": {"deep": [{"x": [None, True, 0.1]}]},
}
NORMALISED = {
    "date": "2026-10-08",
    "pair": [1, 2.5],
    "text": "开门接电 ✓",
    "nested": {"deep": [{"x": [None, True, 0.1]}]},
}


def deep(levels: int) -> list:
    out: list = []
    for _ in range(levels):
        out = [out]
    return out


def stored_text(store, sql: str) -> str:
    with store.backend.transaction(write=False) as conn:
        value = store.backend.execute(conn, sql).fetchone()[0]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def test_a_push_answers_the_proposal_a_read_gives(store):
    pushed, created = store.push_project(dict(PROJECT), key="k1", proposal=ODD)
    assert created
    assert pushed.proposal == NORMALISED
    assert pushed == store.project(PROJECT["project_id"])
    # The stored text is the normalised value's JSON, readable by anything that reads JSON.
    text = stored_text(store, "SELECT proposal FROM projects")
    assert json.loads(text) == NORMALISED
    # A replay answers the same proposal from the store.
    replayed, created = store.push_project(dict(PROJECT), key="k1", proposal=ODD)
    assert not created and replayed == pushed


def test_a_push_without_a_proposal_stores_none(store):
    pushed, _ = store.push_project(dict(PROJECT))
    assert pushed.proposal is None and store.project(PROJECT["project_id"]).proposal is None


@pytest.mark.parametrize(
    "proposal",
    [{"kw": float("nan")}, {"kw": float("inf")}, {"ids": {1, 2}}, {"deep": deep(100_000)}],
    ids=["nan", "inf", "set", "too-deep"],
)
def test_a_proposal_that_is_not_json_is_refused_and_nothing_stored(store, proposal):
    with pytest.raises(OnemapInputError) as err:
        store.push_project(dict(PROJECT), key="k-bad", proposal=proposal)
    assert err.value.field == "proposal"
    assert count(store, "projects") == 0 and count(store, "idempotency_keys") == 0


def test_a_filing_answers_the_verdict_a_read_gives(store, people):
    odd = {**verdict(False), "extra": ODD}
    filing, created = submit(store, people["ann"], eligible=False, verdict=odd, key="f1")
    assert created
    assert filing.verdict == {**verdict(False), "extra": NORMALISED}
    assert filing == store.filing(filing.number)
    assert filing.permits == ["road_excavation", "corridor_planning"]
    replayed, created = submit(store, people["ann"], eligible=False, verdict=odd, key="f1")
    assert not created and replayed == filing


@pytest.mark.parametrize(
    "bad", [float("nan"), {"a", "b"}, deep(100_000)], ids=["nan", "set", "too-deep"]
)
def test_a_verdict_that_is_not_json_is_refused_and_nothing_stored(store, people, bad):
    with pytest.raises(OnemapInputError) as err:
        submit(store, people["ann"], verdict={**verdict(True), "extra": bad}, key="f-bad")
    assert err.value.field == "verdict"
    assert count(store, "filings") == 0 and count(store, "filing_events") == 0
    assert count(store, "idempotency_keys") == 0
