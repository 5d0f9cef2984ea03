"""JSON API: health, layers with bbox/limit, project push with token and atomic storage, errors."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from web_fixtures import LAT0, LON0, TOKEN, XSS

from onemap.geo.mapfile import read_map
from onemap.store import open_store
from web.app import create_app
from web.settings import WebSettings

AUTH = {"Authorization": f"Bearer {TOKEN}"}
BBOX_ALL = f"{LON0 - 0.01},{LAT0 - 0.01},{LON0 + 0.01},{LAT0 + 0.01}"


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def project(pid: str = "XM-1", **over) -> dict:
    body = {
        "project_id": pid,
        "name": "新厂房",
        "requested_kw": 120.0,
        "category": "lv_small_micro",
        "location": {"lon": LON0 + 0.001, "lat": LAT0 + 0.001},
    }
    return {**body, **over}


def test_health_reports_map_and_services(client):
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["map"] == "tiny.gpkg"
    assert body["synthetic"] is True
    assert body["layers"]["landuse"] == 4
    # Every service, always (no import probing): the contract of /api/v1/health.
    assert body["features"] == {
        "capacity": True,
        "check_route": True,
        "preview": True,
        "readiness": True,
    }


def test_layers_lists_every_layer(client):
    layers = {x["name"]: x for x in client.get("/api/v1/layers").json()}
    assert set(layers) == {
        "landuse",
        "roads",
        "substations",
        "feeders",
        "assets",
        "lines",
        "ducts",
        "projects",
    }
    assert layers["landuse"]["count"] == 4 and layers["projects"]["count"] == 0
    w, s, e, n = layers["landuse"]["bounds"]
    assert w < LON0 < e and s < LAT0 < n


def test_layer_bbox_selects_intersecting_features(client):
    # Only the north-east parcel P2 lies in this box.
    bbox = f"{LON0 + 0.001},{LAT0 + 0.001},{LON0 + 0.003},{LAT0 + 0.0015}"
    fc = client.get(f"/api/v1/layers/landuse?bbox={bbox}").json()
    assert fc["type"] == "FeatureCollection"
    assert [f["id"] for f in fc["features"]] == ["P2"]
    assert fc["numberMatched"] == 1
    assert client.get("/api/v1/layers/landuse").json()["numberMatched"] == 4


def test_layer_limit_and_offset_page_through(client):
    first = client.get(f"/api/v1/layers/landuse?bbox={BBOX_ALL}&limit=3").json()
    rest = client.get(f"/api/v1/layers/landuse?bbox={BBOX_ALL}&limit=3&offset=3").json()
    assert first["numberReturned"] == 3 and rest["numberReturned"] == 1
    ids = [f["id"] for f in first["features"] + rest["features"]]
    assert sorted(ids) == ["P1", "P2", "P3", "P4"]


def test_layer_values_are_data_not_markup(client):
    fc = client.get("/api/v1/layers/landuse").json()
    names = {f["id"]: f["properties"]["name"] for f in fc["features"]}
    assert names["P1"] == XSS  # the API returns the value; pages show it as text
    assert (
        client.get("/api/v1/layers/landuse")
        .headers["content-type"]
        .startswith("application/geo+json")
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=120,35,119,34", "bbox"),
        ("bbox=0,100,1,101", "bbox"),
        ("limit=0", "limit"),
        ("limit=999999", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_layer_bad_query_is_422_naming_the_field(client, query, field):
    r = client.get(f"/api/v1/layers/landuse?{query}")
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == field
    assert field in body["message"]


def test_unknown_layer_is_404_listing_layers(client):
    r = client.get("/api/v1/layers/parcels")
    assert r.status_code == 404
    assert "landuse" in r.json()["message"]


def test_push_project_needs_the_token(client, tiny_map_path):
    before = digest(tiny_map_path)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = client.post("/api/v1/projects", json=project(), headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
    assert digest(tiny_map_path) == before
    assert client.get("/api/v1/layers/projects").json()["numberMatched"] == 0


def test_push_refused_when_server_has_no_token(tiny_map_path):
    with TestClient(create_app(tiny_map_path, WebSettings())) as c:
        r = c.post("/api/v1/projects", json=project(), headers={"Authorization": "Bearer "})
        assert r.status_code == 401
        assert "ONEMAP_API_TOKEN" in r.json()["message"]


def test_token_from_environment(tiny_map_path, monkeypatch):
    from web.settings import load_settings

    monkeypatch.setenv("ONEMAP_API_TOKEN", "env-secret")
    with TestClient(create_app(tiny_map_path, load_settings())) as c:
        ok = c.post(
            "/api/v1/projects", json=project(), headers={"Authorization": "Bearer env-secret"}
        )
        assert ok.status_code == 201


def test_token_from_config_file(tiny_map_path, tmp_path, monkeypatch):
    from web.settings import load_settings

    monkeypatch.delenv("ONEMAP_API_TOKEN", raising=False)
    cfg = tmp_path / "web.toml"
    cfg.write_text('api_token = "file-secret"\nmax_upload_bytes = 5000\n')
    s = load_settings(cfg)
    assert s.api_token == "file-secret" and s.max_upload_bytes == 5000
    assert "file-secret" not in repr(s)


def test_push_project_stores_it_in_the_store(client, tiny_map_path):
    before = digest(tiny_map_path)
    r = client.post("/api/v1/projects", json=project("XM-7", name=XSS), headers=AUTH)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["project_id"] == "XM-7"
    # The supply proposal is the readiness preview of the site.
    assert body["proposal"]["readiness"] in ("A", "B", "C", "D")
    assert body["proposal"]["requested_kw"] == 120.0
    # One row in the store beside the map (issue 15); the map file is not rewritten.
    stored = open_store(tiny_map_path).project("XM-7")
    assert stored.name == XSS and stored.requested_kw == 120.0
    assert stored.geometry["coordinates"][0] == pytest.approx(LON0 + 0.001)
    assert digest(tiny_map_path) == before
    # The served map follows: the projects layer is queryable at once.
    fc = client.get("/api/v1/layers/projects").json()
    assert [f["id"] for f in fc["features"]] == ["XM-7"]
    # Other layers are kept.
    assert len(read_map(tiny_map_path)["landuse"]) == 4


def test_push_project_as_polygon_geometry(client, tiny_map_path):
    geom = {
        "type": "Polygon",
        "coordinates": [
            [
                [LON0 + 0.001, LAT0 + 0.001],
                [LON0 + 0.002, LAT0 + 0.001],
                [LON0 + 0.002, LAT0 + 0.0015],
                [LON0 + 0.001, LAT0 + 0.001],
            ]
        ],
    }
    body = project(
        "XM-P", location=None, geometry={"type": "Feature", "geometry": geom, "properties": {}}
    )
    r = client.post("/api/v1/projects", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    assert open_store(tiny_map_path).project("XM-P").geometry["type"] == "Polygon"


def test_duplicate_project_is_409_and_not_stored_twice(client, tiny_map_path):
    assert client.post("/api/v1/projects", json=project("XM-2"), headers=AUTH).status_code == 201
    before = digest(tiny_map_path)
    r = client.post("/api/v1/projects", json=project("XM-2"), headers=AUTH)
    assert r.status_code == 409
    assert digest(tiny_map_path) == before


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"requested_kw": 0}, "requested_kw"),
        ({"requested_kw": -5}, "requested_kw"),
        ({"category": "factory"}, "category"),
        ({"location": {"lon": 10.0, "lat": 10.0}}, "location"),
        ({"location": {"lon": LON0, "lat": 200}}, "location.lat"),
        (
            {"location": None, "geometry": {"type": "Point", "coordinates": [LAT0, LON0]}},
            "geometry",
        ),
        ({"location": None, "geometry": {"type": "Point"}}, "geometry"),
        (
            {
                "location": None,
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[LON0, LAT0], [LON0, LAT0 + 0.001]],
                },
            },
            "geometry",
        ),
        ({"location": None}, ""),
        ({"project_id": ""}, "project_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_project_is_422_and_nothing_stored(client, tiny_map_path, over, field):
    before = digest(tiny_map_path)
    r = client.post("/api/v1/projects", json=project(**over), headers=AUTH)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["message"]
    assert (body["field"] or "") == field
    assert digest(tiny_map_path) == before


def test_malformed_json_is_422_readable(client):
    r = client.post(
        "/api/v1/projects",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert "JSON" in r.json()["message"]


def test_oversized_body_is_413_and_nothing_stored(client, tiny_map_path):
    before = digest(tiny_map_path)
    big = project("XM-BIG", name="x" * 150, geometry=None)
    big["padding"] = "y" * 300_000
    r = client.post(
        "/api/v1/projects",
        content=json.dumps(big),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert "limit" in r.json()["message"]

    # Streamed without Content-Length: counted as it arrives.
    def chunks():
        yield b'{"project_id": "XM-S", "pad": "'
        for _ in range(40):
            yield b"z" * 10_000
        yield b'"}'

    r = client.post(
        "/api/v1/projects", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert digest(tiny_map_path) == before


def test_failed_write_leaves_map_untouched(client, tiny_map_path, monkeypatch):
    from onemap.store import Store

    before = digest(tiny_map_path)
    calls = {"n": 0}

    def failing(*args, **kwargs):  # fail inside the store's transaction, after the insert
        calls["n"] += 1
        raise OSError("disk full")

    monkeypatch.setattr(Store, "_settle", failing)
    with pytest.raises(OSError):
        client.post(
            "/api/v1/projects", json=project("XM-F"), headers={**AUTH, "Idempotency-Key": "k"}
        )
    assert calls["n"] == 1
    assert digest(tiny_map_path) == before
    assert client.get("/api/v1/layers/projects").json()["numberMatched"] == 0
    assert open_store(tiny_map_path).projects().total == 0
    # (the corridor-graph cache directory and the store beside the map are no leftovers)
    leftovers = [
        p
        for p in tiny_map_path.parent.iterdir()
        if p.name != tiny_map_path.name
        and not p.name.endswith(".onemap-cache")
        and ".onemap-store.sqlite" not in p.name
    ]
    assert leftovers == []


def test_openapi_documents_the_contract(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/health", "/api/v1/layers", "/api/v1/layers/{name}", "/api/v1/projects"):
        assert path in paths
    assert "ProjectIn" in spec["components"]["schemas"]
    assert "ProjectOut" in spec["components"]["schemas"]


def test_docs_use_local_swagger_assets(client):
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404


@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    x=st.floats(LON0 - 0.006, LON0 + 0.006),
    y=st.floats(LAT0 - 0.006, LAT0 + 0.006),
    w=st.floats(0.0001, 0.01),
    h=st.floats(0.0001, 0.01),
)
def test_bbox_answer_equals_geometric_intersection(client, x, y, w, h):
    from shapely.geometry import box, shape

    fc = client.get(f"/api/v1/layers/landuse?bbox={x},{y},{x + w},{y + h}").json()
    got = {f["id"] for f in fc["features"]}
    every = client.get("/api/v1/layers/landuse").json()["features"]
    want = {f["id"] for f in every if shape(f["geometry"]).intersects(box(x, y, x + w, y + h))}
    assert got == want
