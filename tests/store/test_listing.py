"""The register and the pushed projects: filters, search, paging; PostGIS geometry columns."""

from __future__ import annotations

import datetime as dt

import pytest

from onemap.errors import OnemapInputError

from .conftest import ROUTE, submit


def test_register_filters(store, people):
    a, _ = submit(store, people["ann"], eligible=True, note="东路")
    b, _ = submit(store, people["ann"], eligible=False, submitted_date="2026-03-02")
    c, _ = submit(store, people["alf"], eligible=False, submitted_date="2026-03-20",
                  applicant={"name": "Li Lei", "organisation": "Harbour 50%_Power"})  # fmt: skip
    store.act(c.number, "accept", people["rex"])
    page = store.filings()
    assert [f.number for f in page.items] == [c.number, b.number, a.number]  # newest first
    assert page.total == 3
    assert [f.number for f in store.filings(status="referred").items] == [b.number]
    assert store.filings(status=["filed", "accepted"]).total == 2
    # b's deadline is 2026-03-09: overdue from the 10th; c is accepted, so never overdue
    today = dt.date(2026, 3, 10)
    assert [f.number for f in store.filings(overdue=True, today=today).items] == [b.number]
    assert store.filings(overdue=True, today=dt.date(2026, 3, 9)).total == 0
    assert store.filings(overdue=False, today=today).total == 2
    assert b.to_dict(today=today)["deadline_state"] == "overdue"
    # search: number, applicant, organisation, note; LIKE wildcards are literal
    assert [f.number for f in store.filings(q="东路").items] == [a.number]
    assert [f.number for f in store.filings(q="li lei").items] == [c.number]
    assert [f.number for f in store.filings(q="50%_p").items] == [c.number]
    assert store.filings(q="5_%").total == 0
    assert [f.number for f in store.filings(q=b.number).items] == [b.number]
    assert store.filings(q="港城").total == 2
    # paging
    assert [f.number for f in store.filings(limit=1, offset=1).items] == [b.number]
    assert store.filings(limit=1, offset=1).to_dict()["total"] == 3
    for bad in ({"limit": 0}, {"limit": 5000}, {"offset": -1}, {"status": "lost"}):
        with pytest.raises(OnemapInputError):
            store.filings(**bad)


def test_filing_record_shape(store, people):
    filing, _ = submit(store, people["ann"], eligible=False, project_id="XM-1")
    d = store.filing(filing.number).to_dict()
    assert d["filing_id"] == filing.number and d["status"] == "referred"
    assert d["rules"]["id"] == "lianyungang-2021" and d["map"]["hash"] == "sha256:demo"
    assert d["verdict"]["reasons"][0]["code"] == "LENGTH_OVER_LIMIT"
    assert d["route"]["type"] == "LineString"
    assert [pytest.approx(c) for c in ROUTE["coordinates"]] == d["route"]["coordinates"]
    assert d["submitted"] == "2026-03-02" and d["submitted_by"] == "ann"
    assert d["allowed_actions"] == ["accept", "return", "withdraw"]
    assert d["applicant"] == {"name": "王工", "organisation": "港城电力", "phone": "0518"}


def test_projects_paging_and_revision(store):
    assert store.revision() == 0
    ring = [[119.2, 34.6], [119.201, 34.6], [119.201, 34.601], [119.2, 34.6]]
    for i in range(5):
        row = {"project_id": f"P{i}", "requested_kw": 10.0 * (i + 1), "category": "lv_residential"}
        store.push_project({**row, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    page = store.projects(limit=2, offset=1)
    assert [p.project_id for p in page.items] == ["P1", "P2"] and page.total == 5
    assert store.revision() == max(p.id for p in store.all_projects())
    assert [p.project_id for p in store.all_projects(after=page.items[-1].id)] == ["P3", "P4"]
    assert store.project("P4").requested_kw == 50.0
    assert store.project("P4").geometry["type"] == "Polygon"


def test_postgis_columns(store, people):
    if store.backend.name != "postgresql":
        return
    submit(store, people["ann"])
    store.push_project({"project_id": "P", "requested_kw": 5.0, "category": "lv_residential",
                        "location": {"lon": 119.2, "lat": 34.6}})  # fmt: skip
    with store.backend.transaction(write=False) as conn:
        ex = store.backend.execute
        assert ex(conn, "SELECT ST_SRID(route), GeometryType(route) FROM filings").fetchone() == (
            4326,
            "LINESTRING",
        )
        assert ex(conn, "SELECT ST_AsText(geometry) FROM projects").fetchone()[0] == (
            "POINT(119.2 34.6)"
        )
        kinds = ex(
            conn,
            "SELECT f_table_name, type, srid FROM geometry_columns ORDER BY f_table_name",
        ).fetchall()
    assert kinds == [("filings", "GEOMETRY", 4326), ("projects", "GEOMETRY", 4326)]
