"""The /planning page on the demo map: choose k, see sites, before/after table and chart."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web.app import create_app
from web.settings import WebSettings


@pytest.fixture(scope="module")
def client(demo_map_path):
    with TestClient(create_app(demo_map_path, WebSettings())) as c:
        yield c


def test_planning_page_in_navigation_and_form(client):
    r = client.get("/planning")
    assert r.status_code == 200
    assert 'href="/planning"' in r.text and 'data-testid="planning-form"' in r.text
    assert 'data-testid="planning-sites"' not in r.text  # nothing run yet
    assert 'href="/planning"' in client.get("/").text


def test_planning_run_shows_sites_table_and_chart(client):
    from onemap.geo.mapfile import read_map
    from onemap.planning.plan import plan

    r = client.get("/planning?k=2")
    assert r.status_code == 200
    for tid in ("planning-sites", "planning-chart", "planning-counts", "planning-districts"):
        assert f'data-testid="{tid}"' in r.text
    expected = plan(read_map(client.app.state.onemap.onemap.path), 2)
    for site in expected.sites["site_id"]:
        assert f"<td>{site}</td>" in r.text
    assert "Substation siting" in client.get("/planning?k=1&lang=en").text


def test_planning_bad_k_is_shown(client):
    r = client.get("/planning?k=99")
    assert r.status_code == 200
    assert 'data-testid="planning-error"' in r.text and "候选站址" in r.text
    r = client.get("/planning?k=99&lang=en")
    assert 'data-testid="planning-error"' in r.text and "candidate" in r.text
