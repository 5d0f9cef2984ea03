"""The lean path of ``GET /api/v1/preview`` (web.lean) answers byte for byte as FastAPI's own.

Every request is answered twice: by the app (the lean path in front) and by the app's middleware
stack behind it (FastAPI's validation, dependency and serialisation path, as before the lean
path existed). Status, headers and body must be identical, for previews in both languages, for
every documented error (422 in Chinese and English) and for query strings of every odd shape,
which the lean path must hand on untouched.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_fixtures import TOKEN

from web import lean
from web.app import create_app
from web.lean import PreviewQuery, parse_preview_query
from web.settings import WebSettings

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo.gpkg"
SITE = "lon=119.195&lat=34.6"

PLAIN = [
    f"{SITE}&kw=100&category=lv_non_residential",
    f"{SITE}&kw=8&category=lv_residential",
    f"{SITE}&kw=100&category=lv_non_residential&date=2026-09-30&lang=en",
    f"{SITE}&kw=800&category=hv_single&date=2026-09-30",
    "lon=119.199&lat=34.601&kw=2000&category=hv_dual&lang=zh",
    "lon=119.201&lat=34.603&kw=60&category=lv_small_micro&lang=en",
    f"{SITE}&kw=3000&category=hv_important",
    f"{SITE}&kw=5000&category=hv_35kv_plus",
    "category=lv_small_micro&kw=50.5&lat=34.6&lon=119.195",  # any order
]
# Answered 422 by the library (the lean path hands them on after trying), either language.
LIBRARY_ERRORS = [
    f"{SITE}&kw=300&category=lv_residential",
    f"{SITE}&kw=300&category=lv_residential&lang=en",
    "lon=0&lat=0&kw=100&category=lv_non_residential",  # outside the map
    "lon=0&lat=0&kw=100&category=lv_non_residential&lang=en",
]
# Refused by the lean path's parser: FastAPI validates them (422 or 200) as it always has.
HANDED_ON = [
    f"{SITE}&kw=0&category=lv_residential",
    f"{SITE}&kw=-5&category=lv_residential&lang=en",
    f"{SITE}&kw=abc&category=lv_residential",
    f"{SITE}&kw=10&category=nope",
    f"{SITE}&kw=10&category=nope&lang=en",
    f"{SITE}&kw=10",
    "lat=34.6&kw=10&category=lv_residential",
    f"{SITE}&kw=10&category=lv_residential&lang=fr",
    f"{SITE}&kw=10&category=lv_residential&date=2026-02-30",
    f"{SITE}&kw=10&category=lv_residential&date=20260930",
    f"{SITE}&kw=10&category=lv_residential&date=",
    f"{SITE}&kw=1e2&category=lv_residential",
    f"{SITE}&kw=+10&category=lv_residential",
    f"{SITE}&kw=%2010&category=lv_residential",
    f"{SITE}&kw=010&category=lv_residential",
    f"{SITE}&kw=10.&category=lv_residential",
    f"{SITE}&kw=inf&category=lv_residential",
    f"{SITE}&kw=nan&category=lv_residential",
    f"{SITE}&kw=10&kw=20&category=lv_residential",
    f"{SITE}&kw=10&category=lv_residential&extra=1",
    f"{SITE}&kw=10&category=lv_residential&",
    "lon=119%2E195&lat=34.6&kw=10&category=lv_residential",
    "lon=181&lat=34.6&kw=10&category=lv_residential",
    "lon=119.195&lat=-91&kw=10&category=lv_residential&lang=en",
    "",
]


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    path = Path(shutil.copy(DEMO, tmp_path_factory.mktemp("lean") / "demo.gpkg"))
    return create_app(path, WebSettings(api_token=TOKEN))


@pytest.fixture(scope="module")
def clients(demo_app):
    """(lean, full): the app, and FastAPI's path behind the lean one (the same app state)."""
    stack = demo_app.build_middleware_stack()
    assert isinstance(stack, lean.LeanPreview)

    async def full(scope, receive, send):
        scope["app"] = demo_app
        await stack.app(scope, receive, send)

    with TestClient(demo_app) as a, TestClient(full) as b:
        yield a, b


@pytest.fixture()
def lean_calls(monkeypatch):
    """The previews the lean path answered itself."""
    answered: list[PreviewQuery] = []
    body = lean.LeanPreview._body

    def counted(self, m, query):
        out = body(self, m, query)
        if out is not None:
            answered.append(query)
        return out

    monkeypatch.setattr(lean.LeanPreview, "_body", counted)
    return answered


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def same_answer(clients, query: str):
    """Both paths' answers to ``GET /api/v1/preview?query``, asserted identical."""
    lean_client, full_client = clients
    url = f"/api/v1/preview?{query}" if query else "/api/v1/preview"
    a, b = lean_client.get(url), full_client.get(url)
    assert a.status_code == b.status_code, (query, a.text, b.text)
    assert a.headers.raw == b.headers.raw, query
    assert a.content == b.content, query
    return a


@pytest.mark.parametrize("query", PLAIN)
def test_plain_previews_are_answered_by_the_lean_path_as_by_fastapi(clients, lean_calls, query):
    r = same_answer(clients, query)
    assert r.status_code == 200
    assert len(lean_calls) == 1  # the lean path answered it
    body = r.json()
    # model defaults filled as FastAPI's validation fills them
    assert "tariff_hint" in body and "approval_deadline" in (body["route"] or {}).get(
        "filing", {"approval_deadline": None}
    )


@pytest.mark.parametrize("query", LIBRARY_ERRORS)
def test_library_errors_are_the_apps_422_in_both_languages(clients, lean_calls, query):
    r = same_answer(clients, query)
    assert r.status_code == 422
    assert not lean_calls
    assert r.json()["message"]
    if "lang=en" in query:
        assert not has_chinese(r.json()["message"])


@pytest.mark.parametrize("query", HANDED_ON)
def test_requests_not_in_plain_form_are_handed_on(clients, lean_calls, query):
    r = same_answer(clients, query)
    assert not lean_calls
    assert r.status_code in (200, 422)


def test_validation_errors_keep_their_language(clients):
    zh = same_answer(clients, f"{SITE}&kw=0&category=lv_residential").json()
    en = same_answer(clients, f"{SITE}&kw=0&category=lv_residential&lang=en").json()
    assert zh["field"] == en["field"] == "kw"
    assert zh["message"] != en["message"]
    assert has_chinese(zh["message"]) and not has_chinese(en["message"])


def test_other_methods_and_paths_are_handed_on(clients, lean_calls):
    lean_client, full_client = clients
    for method in ("HEAD", "POST"):
        a = lean_client.request(method, f"/api/v1/preview?{PLAIN[0]}")
        b = full_client.request(method, f"/api/v1/preview?{PLAIN[0]}")
        assert (a.status_code, a.headers.raw, a.content) == (
            b.status_code,
            b.headers.raw,
            b.content,
        )
    # a body (even on a GET) is the app's to judge: 413 over the upload limit
    over = b"x" * (lean_client.app.state.onemap.settings.max_upload_bytes + 1)
    big = lean_client.request("GET", f"/api/v1/preview?{PLAIN[0]}", content=over)
    assert big.status_code == 413
    small = lean_client.request("GET", f"/api/v1/preview?{PLAIN[0]}", content=b"{}")
    assert small.content == full_client.request("GET", f"/api/v1/preview?{PLAIN[0]}").content
    assert not lean_calls
    # another path: FastAPI redirects /preview/ to /preview, which the lean path answers
    a = lean_client.get(f"/api/v1/preview/?{PLAIN[0]}", follow_redirects=False)
    b = full_client.get(f"/api/v1/preview/?{PLAIN[0]}", follow_redirects=False)
    assert (a.status_code, a.headers.raw) == (b.status_code, b.headers.raw)
    assert not lean_calls


def test_a_library_failure_is_the_apps_500(demo_app, monkeypatch):
    from web import services

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "preview_with_point", boom)
    with TestClient(demo_app, raise_server_exceptions=False) as c:
        r = c.get(f"/api/v1/preview?{PLAIN[0]}&lang=en")
    assert r.status_code == 500
    assert r.headers["connection"] == "close"
    assert "server error" in r.json()["message"]


def test_projects_pushed_by_another_worker_are_read_first(demo_app, clients, monkeypatch):
    state = demo_app.state.onemap
    synced: list[bool] = []
    monkeypatch.setattr(state, "store_moved", lambda: True)
    monkeypatch.setattr(state, "sync_store", lambda: synced.append(True))
    same_answer(clients, PLAIN[1])
    assert len(synced) == 2  # once on each path


# --- the parser ----------------------------------------------------------------------------------


def test_parse_plain_query():
    q = parse_preview_query(b"lon=119.195&lat=-34.6&kw=0.5&category=hv_single&date=2026-09-30")
    assert q == PreviewQuery(119.195, -34.6, 0.5, "hv_single", dt.date(2026, 9, 30), "zh")
    assert parse_preview_query(b"lon=0&lat=0&kw=1&category=lv_residential&lang=en").lang == "en"


@pytest.mark.parametrize(
    "raw",
    [q.encode() for q in HANDED_ON] + [b"lon=1&lat=1&kw=1&category=lv_residential;lang=en"],
)
def test_parse_refuses_what_is_not_plain(raw):
    assert parse_preview_query(raw) is None


# Values of every shape FastAPI might read differently from float(): the lean path must either
# refuse them or read them as FastAPI does (the same answer, byte for byte).
NUMBERS = st.one_of(
    st.sampled_from(
        [
            "0",
            "-0",
            "0.0",
            "1",
            "1e2",
            "1E2",
            "1.",
            ".5",
            "+1",
            "01",
            " 1",
            "1 ",
            "inf",
            "nan",
            "-inf",
            "180",
            "180.0000000001",
            "-180",
            "90",
            "-90.5",
            "1_0",
            "１",
            "0x10",
            "",
            "-",
        ]
    ),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.decimals(min_value=-200, max_value=200, allow_nan=False, places=8).map(str),
)
SITES = st.tuples(
    st.floats(119.19, 119.205).map(lambda v: f"{v:.6f}"),
    st.floats(34.595, 34.605).map(lambda v: f"{v:.6f}"),
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    site=SITES,
    kw=st.one_of(NUMBERS, st.sampled_from(["10", "100", "800", "4000"])),
    odd_lon=st.one_of(st.none(), NUMBERS),
    category=st.sampled_from(["lv_residential", "lv_non_residential", "hv_single", "x", ""]),
    date=st.sampled_from([None, "2026-09-30", "2026-9-30", "2026-13-01", "0001-01-01"]),
    lang=st.sampled_from([None, "zh", "en", "EN", ""]),
)
def test_any_query_is_answered_as_fastapi_answers_it(
    clients, site, kw, odd_lon, category, date, lang
):
    lon = odd_lon if odd_lon is not None else site[0]
    parts = [f"lon={lon}", f"lat={site[1]}", f"kw={kw}", f"category={category}"]
    if date is not None:
        parts.append(f"date={date}")
    if lang is not None:
        parts.append(f"lang={lang}")
    same_answer(clients, "&".join(parts))
