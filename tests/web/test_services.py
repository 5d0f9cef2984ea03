"""API and pages of the library services: filing check, preview, readiness, project proposals.

Every answer is compared with the library function it wraps, so the web layer is shown to add
geometry and language but never a result of its own.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from web_fixtures import LAT0, LON0, TOKEN, XSS

from onemap.geo.mapfile import read_map
from onemap.store import open_store

AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Along the north sidewalk of the east-west street R1 (sidewalk 3.5 m, carriageway 11 m).
SIDEWALK = {
    "type": "LineString",
    "coordinates": [[LON0 + 0.0005, LAT0 + 0.0001], [LON0 + 0.0025, LAT0 + 0.0001]],
}
# Across R1 from north to south sidewalk: a carriageway crossing.
CROSSING = {
    "type": "LineString",
    "coordinates": [[LON0 + 0.001, LAT0 + 0.0001], [LON0 + 0.001, LAT0 - 0.0001]],
}
KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>r</name>
<LineString><coordinates>{a},{b},0 {c},{b},0</coordinates></LineString>
</Placemark></Document></kml>"""


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_check_route_is_the_library_verdict_with_geometry(client, tiny_map_path):
    from onemap.routing import check_route

    r = client.post(
        "/api/v1/check-route",
        json={"route": SIDEWALK, "voltage_kv": 0.4, "date": "2024-09-27"},
    )
    assert r.status_code == 200, r.text
    v = r.json()
    lib = check_route(read_map(tiny_map_path), SIDEWALK, 0.4, "2024-09-27").to_dict()
    for key in ("eligible", "length_m", "limit_m", "reasons", "permits", "approval_workdays"):
        assert v[key] == lib[key], key
    assert v["approval_deadline"] == lib["approval_deadline"]
    assert [s["corridor"] for s in v["segments"]] == [s["corridor"] for s in lib["segments"]]
    assert v["geometry"]["type"] == "LineString"
    # Each segment carries the part of the route it covers, end to end.
    first, last = v["segments"][0]["geometry"], v["segments"][-1]["geometry"]
    assert first["coordinates"][0] == pytest.approx(SIDEWALK["coordinates"][0], abs=1e-7)
    assert last["coordinates"][-1] == pytest.approx(SIDEWALK["coordinates"][-1], abs=1e-7)


def test_check_route_crossing_needs_permits_in_both_languages(client):
    zh = client.post("/api/v1/check-route", json={"route": CROSSING, "voltage_kv": 10}).json()
    assert zh["eligible"] is False
    assert "OCCUPIES_MOTOR_LANE" in [r["code"] for r in zh["reasons"]]
    assert "road_excavation" in zh["permits"]
    en = client.post(
        "/api/v1/check-route?lang=en", json={"route": CROSSING, "voltage_kv": 10}
    ).json()
    assert en["reasons"][0]["code"] == zh["reasons"][0]["code"]
    assert en["reasons"][0]["message"] != zh["reasons"][0]["message"]
    assert en["reasons"][0]["message"].isascii()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"route": {"type": "LineString"}, "voltage_kv": 0.4}, None),
        (
            {
                "route": {
                    "type": "Polygon",
                    "coordinates": [
                        [[LON0, LAT0], [LON0 + 0.001, LAT0], [LON0, LAT0 + 0.001], [LON0, LAT0]]
                    ],
                },
                "voltage_kv": 0.4,
            },
            None,
        ),
        (
            {
                "route": {
                    "type": "LineString",
                    "coordinates": [[LAT0, LON0], [LAT0 + 0.001, LON0]],
                },
                "voltage_kv": 0.4,
            },
            None,
        ),
        (
            {
                "route": {"type": "LineString", "coordinates": [[10.0, 10.0], [10.001, 10.0]]},
                "voltage_kv": 0.4,
            },
            None,
        ),
        ({"route": SIDEWALK, "voltage_kv": 7.5}, "voltage_kv"),
        ({"route": SIDEWALK, "voltage_kv": -1}, "voltage_kv"),
        ({"route": SIDEWALK}, "voltage_kv"),
        ({"route": SIDEWALK, "voltage_kv": 0.4, "date": "2024-13-40"}, "date"),
    ],
)
def test_check_route_bad_input_is_422(client, body, field):
    r = client.post("/api/v1/check-route", json=body)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["message"]
    if field:
        assert err["field"] == field


def test_check_route_file_geojson_and_kml_match_the_drawn_route(client):
    drawn = client.post("/api/v1/check-route", json={"route": SIDEWALK, "voltage_kv": 0.4}).json()
    feature = json.dumps({"type": "Feature", "properties": {}, "geometry": SIDEWALK})
    (a, b), (c, _) = SIDEWALK["coordinates"]
    for name, content in (("r.geojson", feature), ("r.kml", KML.format(a=a, b=b, c=c))):
        r = client.post(
            "/api/v1/check-route/file",
            files={"file": (name, content.encode(), "application/octet-stream")},
            data={"voltage_kv": "0.4"},
        )
        assert r.status_code == 200, (name, r.text)
        v = r.json()
        assert v["eligible"] == drawn["eligible"]
        assert v["length_m"] == pytest.approx(drawn["length_m"], abs=0.01)


def test_check_route_file_errors(client, settings):
    bad = client.post(
        "/api/v1/check-route/file",
        files={"file": ("r.txt", b"hello", "text/plain")},
        data={"voltage_kv": "0.4"},
    )
    assert bad.status_code == 422 and bad.json()["message"]
    broken = client.post(
        "/api/v1/check-route/file",
        files={"file": ("mine.geojson", b"{oops", "application/geo+json")},
        data={"voltage_kv": "0.4"},
    )
    assert broken.status_code == 422
    assert broken.json()["file"] == "mine.geojson"  # the user's name, not a temp path
    big = client.post(
        "/api/v1/check-route/file",
        files={"file": ("big.geojson", b" " * (settings.max_upload_bytes + 1), "text/plain")},
        data={"voltage_kv": "0.4"},
    )
    assert big.status_code == 413


def test_preview_is_the_library_preview_plus_point(client, tiny_map_path):
    from onemap.connection.site_preview import preview

    lon, lat = LON0 + 0.002, LAT0 + 0.001
    r = client.get(f"/api/v1/preview?lon={lon}&lat={lat}&kw=50&category=lv_small_micro")
    assert r.status_code == 200, r.text
    p = r.json()
    lib = preview(read_map(tiny_map_path), lon, lat, 50, "lv_small_micro").to_dict()
    for key in ("readiness", "category", "voltage_kv", "requested_kw", "documents", "payer"):
        assert p[key] == lib[key], key
    assert p["timeline"] == lib["timeline"]
    if lib["connection_point"]:
        cp = p["connection_point"]
        assert cp["asset_id"] == lib["connection_point"]["asset_id"]
        assets = read_map(tiny_map_path)["assets"].set_index("asset_id")
        assert (cp["lon"], cp["lat"]) == pytest.approx(
            (assets.geometry[cp["asset_id"]].x, assets.geometry[cp["asset_id"]].y)
        )
    en = client.get(f"/api/v1/preview?lon={lon}&lat={lat}&kw=50&category=lv_small_micro&lang=en")
    assert en.json()["readiness"] == p["readiness"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lon={lon}&lat={lat}&kw=0&category=lv_small_micro", "kw"),
        ("lon={lon}&lat={lat}&kw=-3&category=lv_small_micro", "kw"),
        ("lon={lon}&lat={lat}&kw=50&category=factory", "category"),
        ("lon=10&lat=10&kw=50&category=lv_small_micro", "lon,lat"),
        ("lon={lon}&lat=95&kw=50&category=lv_small_micro", "lat"),
        ("lon={lon}&kw=50&category=lv_small_micro", "lat"),
        ("lon={lon}&lat={lat}&kw=50&category=lv_small_micro&lang=fr", "lang"),
    ],
)
def test_preview_bad_input_is_422(client, query, field):
    q = query.format(lon=LON0 + 0.002, lat=LAT0 + 0.001)
    r = client.get(f"/api/v1/preview?{q}")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert r.json()["message"]


def test_pushed_project_gets_its_preview_as_proposal(client, tiny_map_path):
    lon, lat = LON0 + 0.002, LAT0 + 0.001
    body = {
        "project_id": "XM-9",
        "requested_kw": 80,
        "category": "lv_non_residential",
        "location": {"lon": lon, "lat": lat},
        "submitted": "2024-09-27",
    }
    r = client.post("/api/v1/projects", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    proposal = r.json()["proposal"]
    direct = client.get(
        f"/api/v1/preview?lon={lon}&lat={lat}&kw=80&category=lv_non_residential&date=2024-09-27"
    ).json()
    assert proposal["readiness"] == direct["readiness"]
    assert proposal["timeline"] == direct["timeline"]
    assert open_store(tiny_map_path).project("XM-9").requested_kw == 80  # stored (issue 15)


def test_project_the_library_refuses_is_422_and_not_stored(client, tiny_map_path):
    before = digest(tiny_map_path)
    body = {
        "project_id": "XM-HUGE",
        "requested_kw": 5000,  # far above the LV limit for an LV category
        "category": "lv_residential",
        "location": {"lon": LON0 + 0.002, "lat": LAT0 + 0.001},
    }
    r = client.post("/api/v1/projects", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert digest(tiny_map_path) == before


def test_readiness_summary_and_zones(client, tiny_map_path):
    from onemap.connection.bulk import readiness

    s = client.get("/api/v1/readiness/summary").json()
    lib = readiness(read_map(tiny_map_path)).to_dict()
    assert s["parcels"] == lib["parcels"] == 4
    assert s["counts"] == lib["counts"]
    assert sum(d["parcels"] for d in s["districts"]) == 4
    assert XSS in {d["district"] for d in s["districts"]}
    zones = client.get("/api/v1/readiness/zones").json()
    assert {f["properties"]["readiness"] for f in zones["features"]} == {
        c for c, n in lib["counts"].items() if n
    }
    parcels = client.get("/api/v1/readiness/zones?kind=parcels").json()
    assert parcels["numberMatched"] == 4
    bbox = f"{LON0 + 0.001},{LAT0 + 0.001},{LON0 + 0.003},{LAT0 + 0.0015}"
    one = client.get(f"/api/v1/readiness/zones?kind=parcels&bbox={bbox}").json()
    assert [f["id"] for f in one["features"]] == ["P2"]
    hexes = client.get("/api/v1/readiness/zones?kind=hexagons").json()
    assert hexes["features"] and "majority" in hexes["features"][0]["properties"]
    assert client.get("/api/v1/readiness/zones?kind=blocks").status_code == 422


def test_readiness_page_escapes_district_names(client):
    html = client.get("/readiness").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html
    assert 'data-testid="readiness-chart"' in html and 'data-testid="district-table"' in html
    en = client.get("/readiness?lang=en").text
    assert "grid gap" in en


@pytest.mark.parametrize("page", ["/preview", "/check"])
def test_service_pages_render_offline(client, page):
    r = client.get(page)
    assert r.status_code == 200
    from web.maps import external_links

    assert external_links(r.text) == []
    if page == "/check":
        assert "/static/vendor/leaflet-draw/leaflet.draw.js" in r.text
        assert 'name="file"' in r.text
    else:
        assert 'id="preview-form"' in r.text and "lv_small_micro" in r.text
