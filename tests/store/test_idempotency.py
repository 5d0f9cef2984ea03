"""Idempotency by client key, and a failed request stores nothing (both backends)."""

from __future__ import annotations

import pytest

from onemap.errors import OnemapInputError
from onemap.store import DuplicateProject, IdempotencyConflict

from .conftest import submit

PROJECT = {
    "project_id": "XM-2026-0001",
    "name": "港城小区",
    "requested_kw": 320.0,
    "category": "lv_residential",
    "location": {"lon": 119.21, "lat": 34.6},
    "submitted": "2026-03-02",
}


def count(store, table):
    with store.backend.transaction(write=False) as conn:
        return store.backend.execute(conn, f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_push_same_key_twice_one_row_same_answer(store):
    first, created = store.push_project(PROJECT, key="push-1", proposal={"readiness": "A"})
    again, created_again = store.push_project(dict(PROJECT), key="push-1", proposal={"x": 1})
    assert created and not created_again
    assert again == first and again.proposal == {"readiness": "A"}  # the stored answer
    assert count(store, "projects") == 1
    assert store.projects().total == 1


def test_push_key_reused_for_another_request(store):
    store.push_project(PROJECT, key="push-1")
    with pytest.raises(IdempotencyConflict) as err:
        store.push_project({**PROJECT, "requested_kw": 500.0}, key="push-1")
    assert err.value.status == 422
    assert count(store, "projects") == 1


def test_push_duplicate_project_without_key(store):
    store.push_project(PROJECT)
    with pytest.raises(DuplicateProject) as err:
        store.push_project(PROJECT, key="other")
    assert err.value.status == 409
    assert count(store, "projects") == 1
    # the failed push did not claim its key: the key is free for a correct request
    fixed, created = store.push_project({**PROJECT, "project_id": "XM-2"}, key="other")
    assert created and fixed.project_id == "XM-2"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"requested_kw": -5}, "requested_kw"),
        ({"project_id": ""}, "project_id"),
        ({"location": {"lon": 500, "lat": 34}}, "geometry"),
        ({"location": None, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
         "geometry"),
        ({"submitted": "2026-13-01"}, "submitted"),
        ({"extra": {1, 2}}, "properties"),
    ],
)  # fmt: skip
def test_bad_push_names_the_field_and_stores_nothing(store, change, field):
    row = {k: v for k, v in {**PROJECT, **change}.items() if v is not None}
    with pytest.raises(OnemapInputError) as err:
        store.push_project(row, key="bad")
    assert err.value.field == field
    assert count(store, "projects") == 0 and count(store, "idempotency_keys") == 0


def test_failure_inside_the_transaction_stores_nothing(store, people, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(type(store), "_settle", boom)  # fails after the rows were inserted
    with pytest.raises(RuntimeError):
        store.push_project(PROJECT, key="k")
    with pytest.raises(RuntimeError):
        submit(store, people["ann"], key="f")
    for table in ("projects", "filings", "filing_events", "idempotency_keys"):
        assert count(store, table) == 0, table
    monkeypatch.undo()
    # nothing half-done is left behind: the same keys now work, and the first number is 1
    assert store.push_project(PROJECT, key="k")[1]
    filing, created = submit(store, people["ann"], key="f")
    assert created and filing.number == "BA-2026-000001"
    assert store.integrity_check()


def test_filing_same_key_twice_one_filing(store, people):
    first, created = submit(store, people["ann"], eligible=False, key="desk-7")
    again, created_again = submit(store, people["ann"], eligible=False, key="desk-7")
    assert created and not created_again
    assert again == first
    assert count(store, "filings") == 1 and count(store, "filing_events") == 1
    # a different request under the same key, or the same key by another user, is refused
    with pytest.raises(IdempotencyConflict):
        submit(store, people["ann"], eligible=True, key="desk-7")
    with pytest.raises(IdempotencyConflict):
        submit(store, people["alf"], eligible=False, key="desk-7")
    # keys are per kind of request: a project may use the same text
    assert store.push_project(PROJECT, key="desk-7")[1]


def test_bad_filing_input_names_the_field(store, people):
    cases = [
        ({"route": {"type": "Point", "coordinates": [119.2, 34.6]}}, "route"),
        ({"voltage_kv": 0}, "voltage_kv"),
        ({"applicant": {"organisation": "x"}}, "applicant.name"),
        ({"verdict": {"length_m": 3}}, "verdict"),
        ({"submitted_date": "yesterday"}, "date"),
        ({"rules_version": "0.0-nope"}, "rules_version"),
    ]
    for change, field in cases:
        with pytest.raises(OnemapInputError) as err:
            submit(store, people["ann"], key="x", **change)
        assert err.value.field == field
    assert count(store, "filings") == 0 and count(store, "idempotency_keys") == 0


def test_same_key_concurrently_one_row(store, people):
    from concurrent.futures import ThreadPoolExecutor

    def push(_):
        return store.push_project(PROJECT, key="race")

    def file(_):
        return submit(store, people["ann"], key="race")

    with ThreadPoolExecutor(max_workers=8) as pool:
        pushes = list(pool.map(push, range(16)))
        filings = list(pool.map(file, range(16)))
    assert sum(created for _, created in pushes) == 1
    assert sum(created for _, created in filings) == 1
    assert len({p.id for p, _ in pushes}) == 1 and len({f.number for f, _ in filings}) == 1
    assert count(store, "projects") == 1 and count(store, "filings") == 1


@pytest.mark.parametrize("eligible", [True, False], ids=["filed", "referred"])
def test_a_new_filing_answers_what_a_read_gives(store, people, eligible):
    # The answer is built from the INSERT's RETURNING, not read again: it must be the row a
    # read gives (PostGIS writes the route back as ST_AsGeoJSON), submitter included.
    filing, created = submit(store, people["ann"], eligible=eligible, key=f"f-{eligible}")
    assert created
    assert filing == store.filing(filing.number)
    assert filing.submitted_by == "ann"


def test_a_new_project_answers_what_a_read_gives(store, people):
    polygon = {
        "type": "Polygon",
        "coordinates": [[[119.21, 34.6], [119.22, 34.6], [119.22, 34.61], [119.21, 34.6]]],
    }
    row = {k: v for k, v in PROJECT.items() if k != "location"}
    pushed, created = store.push_project(
        {**row, "geometry": polygon, "note": "x"}, user=people["ada"], proposal={"a": [1, 2]}
    )
    assert created
    assert pushed == store.project(PROJECT["project_id"])
    assert pushed.pushed_by == "ada" and pushed.properties == {"note": "x"}
