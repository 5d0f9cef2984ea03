"""Map pages: layout, navigation, languages, offline assets, escaping, and size on a city map."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from web_fixtures import LAT0, LON0, XSS

from web.app import create_app
from web.i18n import strings
from web.maps import REQUIRED_VENDOR_FILES, external_links
from web.pages import NAV
from web.settings import WebSettings, load_settings

PAGES = ["/", "/capacity"]


def nav_links(html: str) -> list[str]:
    nav = html.split('<nav class="topnav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'data-page="([a-z]+)"', nav)


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_offline_in_both_languages(client, path):
    zh = client.get(path)
    en = client.get(f"{path}?lang=en")
    assert zh.status_code == en.status_code == 200
    assert '<html lang="zh-CN">' in zh.text and '<html lang="en">' in en.text
    assert external_links(zh.text) == [] and external_links(en.text) == []
    assert "cdn" not in zh.text.lower()
    # Folium is configured with the vendored Leaflet.
    assert '<script src="/static/vendor/leaflet/leaflet.js"></script>' in zh.text
    assert strings()["en"]["nav.map"] in en.text and strings()["zh"]["nav.map"] in zh.text
    # The language switch keeps the page.
    assert f'href="{path}?lang=en"' in zh.text and f'id="lang-switch" href="{path}"' in en.text


def test_every_linked_asset_is_served(client):
    html = "".join(client.get(p).text for p in PAGES)
    links = sorted(set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html)))
    assert any("leaflet.markercluster" in x for x in links)
    for url in links:
        assert client.get(url).status_code == 200, url
    for rel in REQUIRED_VENDOR_FILES:
        assert client.get(f"/static/vendor/{rel}").status_code == 200, rel


def test_navigation_offers_every_page(client):
    links = nav_links(client.get("/").text)
    assert links == [n.page for n in NAV]
    assert links == ["map", "readiness", "preview", "check", "capacity", "planning", "filings"]
    for n in NAV:
        assert client.get(n.href).status_code == 200, n.href


def test_pages_do_not_inline_layers(client):
    html = client.get("/").text
    # Data comes from the API: no feature id or attribute value is in the page.
    for value in ("P1", "P2", "东西路", "alert(1)"):
        assert value not in html
    assert "/api/v1/layers/landuse" in html


def test_legend_lists_land_use_classes_of_the_map(client):
    html = client.get("/").text
    legend = html.split('id="om-legend"', 1)[1].split("</div>\n</div>", 1)[0]
    assert "城镇住宅用地" in legend and "供电用地" in legend and "0901" in legend
    assert "林地" not in legend  # not in this map
    assert "urban residential" in client.get("/?lang=en").text


def test_synthetic_banner_and_gcj02_note(client):
    html = client.get("/").text
    assert 'data-testid="synthetic"' in html
    assert "GCJ-02" in html
    assert "GCJ-02" in client.get("/?lang=en").text


def test_unknown_language_falls_back_to_chinese(client):
    assert '<html lang="zh-CN">' in client.get("/?lang=fr").text


def test_basemap_none_by_default_osm_and_tianditu_when_configured(tiny_map_path):
    html = TestClient(create_app(tiny_map_path, WebSettings())).get("/").text
    assert "tileLayer" not in html
    osm = TestClient(create_app(tiny_map_path, WebSettings(tiles="osm"))).get("/").text
    assert "tile.openstreetmap.org" in osm
    tdt = WebSettings(tiles="tianditu", tianditu_key="KEY123")
    html = TestClient(create_app(tiny_map_path, tdt)).get("/").text
    assert "tianditu.gov.cn/vec_w" in html and "tk=KEY123" in html


def test_tianditu_without_key_is_refused(monkeypatch):
    from onemap.errors import OnemapInputError

    monkeypatch.setenv("ONEMAP_TILES", "tianditu")
    monkeypatch.delenv("ONEMAP_TIANDITU_KEY", raising=False)
    with pytest.raises(OnemapInputError, match="tianditu_key"):
        load_settings()


def test_capacity_downloads(client):
    csv = client.get("/api/v1/capacity?format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    header = csv.text.splitlines()[0].split(",")
    assert {"asset_id", "headroom_kva", "status", "lon", "lat"} <= set(header)
    rows = csv.text.strip().splitlines()[1:]
    fc = client.get("/api/v1/capacity?format=geojson").json()
    assert len(rows) == fc["numberMatched"] == len(fc["features"])
    statuses = {f["properties"]["status"] for f in fc["features"]}
    assert statuses <= {"green", "amber", "red", "unknown"}
    # T2 has 10 of 400 kVA left: red on the public map.
    t2 = next(f for f in fc["features"] if f["id"] == "T2")
    assert t2["properties"]["status"] == "red"
    html = client.get("/capacity").text
    assert 'href="/api/v1/capacity?format=csv"' in html
    assert client.get("/api/v1/capacity?format=xml").status_code == 422
    bbox = f"{LON0},{LAT0},{LON0 + 0.0002},{LAT0 + 0.001}"
    near = client.get(f"/api/v1/capacity?bbox={bbox}").json()
    assert [f["id"] for f in near["features"] if f["properties"]["layer"] == "assets"] == ["T1"]


def test_escaping_in_server_rendered_pages(client):
    # Values from data never reach a page unescaped (here: the page shows no data at all;
    # readiness statistics, which do, are checked in test_services).
    assert XSS not in client.get("/").text


# --- a city-size map ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def city_client(city_map_path):
    t0 = time.perf_counter()
    app = create_app(city_map_path, WebSettings(default_limit=2000, max_limit=5000))
    start_seconds = time.perf_counter() - t0
    with TestClient(app) as c:
        c.start_seconds = start_seconds
        yield c


def test_city_page_stays_small(city_client):
    assert city_client.get("/api/v1/health").json()["layers"]["landuse"] >= 100_000
    for path in PAGES:
        size = len(city_client.get(path).content)
        assert size < 2_000_000, (path, size)
        assert size < 100_000  # in fact tiny: layers are fetched by bbox


def test_city_layers_respect_bbox_and_limit(city_client):
    # The whole city at low zoom: capped by limit, biggest first, sub-pixel parcels skipped.
    whole = "119.0,34.4,119.4,34.8"
    r = city_client.get(f"/api/v1/layers/landuse?bbox={whole}&limit=500")
    fc = r.json()
    assert fc["numberReturned"] == 500 and len(fc["features"]) == 500
    assert fc["numberMatched"] > 100_000
    assert len(r.content) < 2_000_000
    low = city_client.get(f"/api/v1/layers/landuse?bbox={whole}&limit=500&zoom=8").json()
    assert low["numberMatched"] == 0  # ~50 m parcels are far below a pixel at zoom 8
    # A street block at detail zoom: exactly the parcels in the box.
    x, y, w = LON0 + 0.01, LAT0 + 0.01, 0.0021
    block = city_client.get(
        f"/api/v1/layers/landuse?bbox={x},{y},{x + w},{y + w}&limit=5000&zoom=17"
    ).json()
    assert 16 <= block["numberMatched"] <= 36 and block["numberReturned"] == block["numberMatched"]
    for f in block["features"]:
        xs = [p[0] for p in f["geometry"]["coordinates"][0]]
        ys = [p[1] for p in f["geometry"]["coordinates"][0]]
        assert min(xs) <= x + w and max(xs) >= x and min(ys) <= y + w and max(ys) >= y
    assert city_client.get("/api/v1/layers/landuse?limit=6000").status_code == 422


def test_both_languages_have_every_string():
    table = strings()
    assert set(table["zh"]) == set(table["en"])
    assert all(table["zh"][k] and table["en"][k] for k in table["zh"])


def test_serve_command_prints_the_url_and_runs_the_app(tiny_map_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from onemap.cli import app

    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda a, host, port, **kw: ran.update(app=a, port=port))
    monkeypatch.delenv("ONEMAP_API_TOKEN", raising=False)
    result = CliRunner().invoke(
        app, ["serve", str(tiny_map_path), "--port", "8123", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.stdout
    assert ran["port"] == 8123
    assert TestClient(ran["app"]).get("/api/v1/health").json()["map"] == "tiny.gpkg"
    missing = CliRunner().invoke(app, ["serve", str(tiny_map_path.parent / "nope.gpkg")])
    assert missing.exit_code == 2
