"""Fixtures of the web tests: a tiny hand-built map, a city-size synthetic map, app clients."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import BROWSER_ARGS, CHROMIUM, TOKEN, city_landuse, tiny_layers, write_tiny_map

from onemap.geo.mapfile import OneMap, write_map
from web.app import create_app
from web.settings import WebSettings


@pytest.fixture(scope="session")
def tiny_map_master(tmp_path_factory):
    return write_tiny_map(tmp_path_factory.mktemp("tiny") / "tiny.gpkg")


@pytest.fixture()
def tiny_map_path(tiny_map_master, tmp_path):
    """A private copy of the tiny map (each test may write to it)."""
    return Path(shutil.copy(tiny_map_master, tmp_path / "tiny.gpkg"))


@pytest.fixture()
def settings() -> WebSettings:
    return WebSettings(api_token=TOKEN, max_upload_bytes=200_000)


@pytest.fixture()
def client(tiny_map_path, settings):
    with TestClient(create_app(tiny_map_path, settings)) as c:
        yield c


@pytest.fixture(scope="session")
def city_map_path(tmp_path_factory):
    """A synthetic city-size map: 100 489 parcels (317²) plus the tiny map's network."""
    layers = tiny_layers()
    layers["landuse"] = city_landuse(317)
    m = OneMap(layers=layers, crs_metric="EPSG:4549", meta={"synthetic": True})
    return write_map(m, tmp_path_factory.mktemp("city") / "city.gpkg")


@pytest.fixture(scope="module")
def browser():
    """One headless Debian chromium per test module (the browser tests share it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield b
        b.close()
