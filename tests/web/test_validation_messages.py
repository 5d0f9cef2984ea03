"""Requests FastAPI refuses before an endpoint runs answer 422 in the request's language:
Chinese by default, English with ?lang=en, naming the field and what is wrong with it."""

from __future__ import annotations

import doctest
import re

from web_fixtures import TOKEN

import web.validation

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_doctests():
    assert doctest.testmod(web.validation).failed == 0


def test_an_out_of_range_query_value_is_explained_in_chinese_then_english(client):
    zh = client.get("/api/v1/readiness/summary", params={"year": 1800})
    assert zh.status_code == 422
    body = zh.json()
    assert body["field"] == "year"
    assert CJK.search(body["message"]) and "year" in body["message"] and "1900" in body["message"]
    en = client.get("/api/v1/readiness/summary", params={"year": 1800, "lang": "en"}).json()
    assert not CJK.search(en["message"])
    assert "year" in en["message"] and "at least 1900" in en["message"]


def test_a_missing_and_a_malformed_field_of_a_body_are_both_named(client):
    r = client.post(
        "/api/v1/projects",
        json={"requested_kw": "lots", "category": "lv_residential"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 422
    body = r.json()
    fields = {e["field"] for e in body["errors"]}
    assert {"project_id", "requested_kw"} <= fields
    by_field = {e["field"]: e["message"] for e in body["errors"]}
    assert "缺少" in by_field["project_id"]
    assert "数字" in by_field["requested_kw"]
    assert all(CJK.search(m) for m in by_field.values())


def test_a_body_that_is_not_json_is_said_so_in_the_page_language(client):
    r = client.post(
        "/api/v1/projects",
        content=b"{not json",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert "JSON" in r.json()["message"] and CJK.search(r.json()["message"])
