"""The filing desk's API and the store behind POST /projects (issue 15): every endpoint, the
roles (401/403), idempotent repeats, illegal transitions (409), the map file untouched by
writes, and a second app on the same map and store (a second worker) seeing new projects."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from fastapi.testclient import TestClient
from web_fixtures import LAT0, LON0, TOKEN, XSS

from web.app import create_app

# Along the sidewalk of R1 (east of R2): filing only at 10 kV.
SIDEWALK = {
    "type": "LineString",
    "coordinates": [[LON0 + 0.0005, LAT0 + 0.0001], [LON0 + 0.0025, LAT0 + 0.0001]],
}
# Across R1's carriageway: needs permits (referred).
ACROSS = {
    "type": "LineString",
    "coordinates": [[LON0 + 0.0010, LAT0 + 0.0003], [LON0 + 0.0010, LAT0 - 0.0003]],
}
PROJECT = {
    "project_id": "XM-1",
    "name": "新建商业",
    "requested_kw": 120,
    "category": "lv_non_residential",
    "location": {"lon": LON0 + 0.001, "lat": LAT0 + 0.001},
    "submitted": "2026-09-30",
}


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def desk(tiny_map_path, settings):
    """A client, the map path and one token per role."""
    app = create_app(tiny_map_path, settings)
    store = app.state.onemap.store
    tokens = {role: store.add_user(f"u-{role}", role)[1] for role in ("applicant", "reviewer")}
    tokens["admin"] = store.add_user("u-admin", "admin")[1]
    tokens["applicant2"] = store.add_user("u-applicant2", "applicant")[1]
    with TestClient(app) as client:
        yield client, tiny_map_path, tokens


def filing_body(route=SIDEWALK, **extra):
    body = {
        "route": route,
        "voltage_kv": 10,
        "applicant": {"name": "王工", "organisation": XSS, "phone": "0518-1234567"},
        "date": "2026-09-30",
    }
    return {**body, **extra}


def submit(client, token, route=SIDEWALK, key=None, **extra):
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/v1/filings", json=filing_body(route, **extra), headers=headers)


# -- projects -------------------------------------------------------------------------------------


def test_push_goes_to_the_store_and_never_rewrites_the_map(desk):
    client, path, tokens = desk
    before = sha(path)
    r = client.post("/api/v1/projects", json=PROJECT, headers=bearer(TOKEN))
    assert r.status_code == 201, r.text
    assert r.json()["project_id"] == "XM-1" and r.json()["proposal"]
    assert sha(path) == before
    # Served map has it (readiness and previews count its load): the projects layer.
    layer = client.get("/api/v1/layers/projects").json()
    assert [f["properties"]["project_id"] for f in layer["features"]] == ["XM-1"]
    listed = client.get("/api/v1/projects", headers=bearer(TOKEN)).json()
    assert listed["total"] == 1 and listed["items"][0]["project_id"] == "XM-1"
    assert listed["items"][0]["proposal"] == r.json()["proposal"]
    # A user token of role applicant pushes too, recorded as the pusher.
    other = {**PROJECT, "project_id": "XM-2"}
    r2 = client.post("/api/v1/projects", json=other, headers=bearer(tokens["applicant"]))
    assert r2.status_code == 201
    page = client.get("/api/v1/projects?limit=1&offset=1", headers=bearer(TOKEN)).json()
    assert page["total"] == 2 and page["items"][0]["pushed_by"] == "u-applicant"
    assert sha(path) == before


def test_push_roles_and_duplicates(desk):
    client, _, tokens = desk
    assert client.post("/api/v1/projects", json=PROJECT).status_code == 401
    assert client.post("/api/v1/projects", json=PROJECT, headers=bearer("nope")).status_code == 401
    r = client.post("/api/v1/projects", json=PROJECT, headers=bearer(tokens["reviewer"]))
    assert r.status_code == 403
    assert client.get("/api/v1/projects").status_code == 401
    assert client.post("/api/v1/projects", json=PROJECT, headers=bearer(TOKEN)).status_code == 201
    again = client.post("/api/v1/projects", json=PROJECT, headers=bearer(TOKEN))
    assert again.status_code == 409


def test_push_with_the_same_key_answers_the_stored_result(desk):
    client, _, _ = desk
    headers = bearer(TOKEN) | {"Idempotency-Key": "push-1"}
    first = client.post("/api/v1/projects", json=PROJECT, headers=headers)
    second = client.post("/api/v1/projects", json=PROJECT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert client.get("/api/v1/projects", headers=bearer(TOKEN)).json()["total"] == 1
    changed = client.post("/api/v1/projects", json={**PROJECT, "requested_kw": 99}, headers=headers)
    assert changed.status_code == 422


def test_a_failed_push_stores_nothing(desk):
    client, _, _ = desk
    outside = {**PROJECT, "location": {"lon": 10.0, "lat": 10.0}}
    assert client.post("/api/v1/projects", json=outside, headers=bearer(TOKEN)).status_code == 422
    assert client.get("/api/v1/projects", headers=bearer(TOKEN)).json()["total"] == 0


def test_a_second_worker_sees_the_new_project_on_its_next_request(tiny_map_path, settings):
    """Two apps on the same map and store: what one stores, the other serves next."""
    one = TestClient(create_app(tiny_map_path, settings))
    two = TestClient(create_app(tiny_map_path, settings))
    summary = two.get("/api/v1/readiness/summary").json()
    assert two.get("/api/v1/layers/projects").json()["features"] == []
    assert one.post("/api/v1/projects", json=PROJECT, headers=bearer(TOKEN)).status_code == 201
    ids = [f["id"] for f in two.get("/api/v1/layers/projects").json()["features"]]
    assert ids == ["XM-1"]
    assert two.app.state.onemap.onemap["projects"]["project_id"].tolist() == ["XM-1"]
    # Its readiness is recomputed for the new map (a new OneMap object).
    assert two.get("/api/v1/readiness/summary").json()["parcels"] == summary["parcels"]
    # And a third, started later, has it from the start.
    three = create_app(tiny_map_path, settings)
    assert three.state.onemap.onemap["projects"]["project_id"].tolist() == ["XM-1"]


def test_store_env_wins(tiny_map_path, settings, tmp_path, monkeypatch):
    target = tmp_path / "elsewhere.sqlite"
    monkeypatch.setenv("ONEMAP_STORE", str(target))
    app = create_app(tiny_map_path, settings)
    assert str(target) in app.state.onemap.store.url
    assert not tiny_map_path.with_name("tiny.onemap-store.sqlite").exists()


# -- filings --------------------------------------------------------------------------------------


def test_submit_a_filing_only_route_is_filed(desk):
    client, path, tokens = desk
    before = sha(path)
    r = submit(client, tokens["applicant"], note="夜间施工")
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["filing_id"].startswith("BA-2026-") and len(f["filing_id"]) == 14
    assert f["status"] == "filed" and f["eligible"] is True
    assert f["verdict"]["eligible"] is True and f["verdict"]["segments"]
    assert f["rules"] == {"id": "lianyungang-2021", "version": "2021.1"}
    assert len(f["map"]["hash"]) == 64
    assert f["submitted"] == "2026-09-30" and f["approval_deadline"] is None
    assert f["submitted_by"] == "u-applicant" and f["applicant"]["organisation"] == XSS
    assert sha(path) == before


def test_a_route_that_needs_permits_is_referred_with_a_deadline(desk):
    client, _, tokens = desk
    f = submit(client, tokens["applicant"], route=ACROSS).json()
    assert f["status"] == "referred" and f["eligible"] is False
    assert f["permits"]
    deadline = f["approval_deadline"]
    # 2026-09-30 + 5 working days over the National Day holiday (10-01 … 10-07 off).
    assert deadline["workdays"] == 5 and deadline["date"] > "2026-10-07"
    assert f["allowed_actions"] == ["accept", "return", "withdraw"]


def test_filing_roles(desk):
    client, _, tokens = desk
    assert client.post("/api/v1/filings", json=filing_body()).status_code == 401
    assert submit(client, "bogus").status_code == 401
    assert submit(client, tokens["reviewer"]).status_code == 403
    assert submit(client, tokens["admin"]).status_code == 201
    fid = submit(client, tokens["applicant"]).json()["filing_id"]
    assert client.get("/api/v1/filings").status_code == 401
    assert client.get("/api/v1/filings", headers=bearer(tokens["applicant"])).status_code == 403
    assert client.get("/api/v1/filings.csv", headers=bearer(tokens["applicant"])).status_code == 403
    # The applicant reads their own filing, not another's.
    assert client.get(f"/api/v1/filings/{fid}", headers=bearer(tokens["applicant"])).is_success
    assert (
        client.get(f"/api/v1/filings/{fid}", headers=bearer(tokens["applicant2"])).status_code
        == 403
    )
    assert client.get(f"/api/v1/filings/{fid}").status_code == 401
    assert client.get(f"/api/v1/filings/{fid}/history").status_code == 401
    assert client.get(f"/api/v1/filings/{fid}/decision.pdf").status_code == 401
    event = {"action": "works_started", "note": ""}
    url = f"/api/v1/filings/{fid}/events"
    assert client.post(url, json=event).status_code == 401
    assert client.post(url, json=event, headers=bearer(tokens["applicant"])).status_code == 403
    # ... but may withdraw their own (and not someone else's).
    withdraw = {"action": "withdraw", "note": "改线"}
    assert client.post(url, json=withdraw, headers=bearer(tokens["applicant2"])).status_code == 403
    r = client.post(url, json=withdraw, headers=bearer(tokens["applicant"]))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_submit_twice_with_one_key_answers_the_stored_filing(desk):
    client, _, tokens = desk
    first = submit(client, tokens["applicant"], key="file-1")
    second = submit(client, tokens["applicant"], key="file-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/api/v1/filings", headers=bearer(tokens["reviewer"])).json()
    assert listed["total"] == 1
    other = submit(client, tokens["applicant"], key="file-1", note="另一条")
    assert other.status_code == 422


def test_reviewer_accepts_and_illegal_transitions_answer_409(desk):
    client, _, tokens = desk
    fid = submit(client, tokens["applicant"], route=ACROSS).json()["filing_id"]
    url = f"/api/v1/filings/{fid}/events"
    rev = bearer(tokens["reviewer"])
    illegal = client.post(url, json={"action": "works_completed"}, headers=rev)
    assert illegal.status_code == 409
    assert illegal.json()["allowed"] == ["accept", "return", "withdraw"]
    ok = client.post(url, json={"action": "accept", "note": "同意"}, headers=rev)
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    assert client.post(url, json={"action": "accept"}, headers=rev).status_code == 409
    assert client.post(url, json={"action": "works_started"}, headers=rev).json()["status"] == (
        "works_started"
    )
    assert client.post(url, json={"action": "withdraw"}, headers=rev).status_code == 409
    done = client.post(url, json={"action": "works_completed"}, headers=rev)
    assert done.json()["status"] == "completed" and done.json()["allowed_actions"] == []
    assert client.post(url, json={"action": "fly"}, headers=rev).status_code == 422
    history = client.get(f"/api/v1/filings/{fid}/history", headers=rev).json()
    assert [e["action"] for e in history["events"]] == [
        "submit",
        "accept",
        "works_started",
        "works_completed",
    ]
    assert history["events"][1] == {
        **history["events"][1],
        "actor": "u-reviewer",
        "role": "reviewer",
        "status_before": "referred",
        "status_after": "accepted",
        "note": "同意",
    }


def test_unknown_filing_is_404(desk):
    client, _, tokens = desk
    rev = bearer(tokens["reviewer"])
    assert client.get("/api/v1/filings/BA-2026-999999", headers=rev).status_code == 404
    assert client.get("/api/v1/filings/BA-2026-999999/history", headers=rev).status_code == 404
    r = client.post("/api/v1/filings/BA-2026-999999/events", json={"action": "accept"}, headers=rev)
    assert r.status_code == 404


def test_register_filters_search_and_paging(desk):
    client, _, tokens = desk
    app_t = tokens["applicant"]
    a = submit(client, app_t).json()["filing_id"]
    b = submit(client, app_t, route=ACROSS, project_id="XM-77").json()["filing_id"]
    rev = bearer(tokens["reviewer"])
    everything = client.get("/api/v1/filings", headers=rev).json()
    assert everything["total"] == 2 and [f["filing_id"] for f in everything["items"]] == [b, a]
    referred = client.get("/api/v1/filings?status=referred", headers=rev).json()
    assert [f["filing_id"] for f in referred["items"]] == [b]
    both = client.get("/api/v1/filings?status=filed,referred", headers=rev).json()
    assert both["total"] == 2
    assert client.get("/api/v1/filings?q=xm-77", headers=rev).json()["items"][0]["filing_id"] == b
    page = client.get("/api/v1/filings?limit=1&offset=1", headers=rev).json()
    assert page["total"] == 2 and page["items"][0]["filing_id"] == a
    # Deadline 2026-10-?? has long passed today: the referral is overdue.
    if dt.date.today() > dt.date(2026, 10, 15):
        overdue = client.get("/api/v1/filings?overdue=true", headers=rev).json()
        assert [f["filing_id"] for f in overdue["items"]] == [b]
        assert overdue["items"][0]["deadline_state"] == "overdue"
    assert client.get("/api/v1/filings?status=nope", headers=rev).status_code == 422


def test_csv_export_is_utf8_with_bom(desk):
    client, _, tokens = desk
    submit(client, tokens["applicant"], note="=HYPERLINK(1)")
    r = client.get("/api/v1/filings.csv", headers=bearer(tokens["reviewer"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "备案编号" and len(rows) == 2
    assert rows[1][5] == "王工" and rows[1][6] == XSS
    assert rows[1][-2] == "'=HYPERLINK(1)"  # a formula shows as text in a spreadsheet
    en = client.get("/api/v1/filings.csv?lang=en", headers=bearer(tokens["admin"]))
    assert en.content.decode("utf-8-sig").startswith("filing_id,status")


def test_decision_pdf(desk):
    client, _, tokens = desk
    fid = submit(client, tokens["applicant"], route=ACROSS).json()["filing_id"]
    r = client.get(f"/api/v1/filings/{fid}/decision.pdf", headers=bearer(tokens["reviewer"]))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert fid in r.headers["content-disposition"]
    mine = client.get(f"/api/v1/filings/{fid}/decision.pdf", headers=bearer(tokens["applicant"]))
    assert mine.status_code == 200


def test_bad_filing_input_is_422_and_stores_nothing(desk):
    client, _, tokens = desk
    bad_route = submit(client, tokens["applicant"], route={"type": "Point", "coordinates": [1, 2]})
    assert bad_route.status_code == 422
    no_name = filing_body()
    no_name["applicant"] = {"name": ""}
    r = client.post("/api/v1/filings", json=no_name, headers=bearer(tokens["applicant"]))
    assert r.status_code == 422
    listed = client.get("/api/v1/filings", headers=bearer(tokens["reviewer"])).json()
    assert listed["total"] == 0


def test_openapi_lists_the_filing_desk(desk):
    client, _, _ = desk
    paths = client.get("/openapi.json").json()["paths"]
    for p in (
        "/api/v1/filings",
        "/api/v1/filings.csv",
        "/api/v1/filings/{filing_id}",
        "/api/v1/filings/{filing_id}/events",
        "/api/v1/filings/{filing_id}/history",
        "/api/v1/filings/{filing_id}/decision.pdf",
    ):
        assert p in paths
    assert "get" in paths["/api/v1/projects"] and "post" in paths["/api/v1/projects"]


def test_register_page_renders_in_both_languages(desk):
    client, _, _ = desk
    zh = client.get("/filings")
    assert zh.status_code == 200 and "备案登记簿" in zh.text and "/static/filings.js" in zh.text
    en = client.get("/filings?lang=en")
    assert "Filing register" in en.text
    check = client.get("/check")
    assert 'id="file-form"' in check.text and "提交备案" in check.text
