"""Maps and a live server for the web tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, Point, box

from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap, write_map

# A small district at Lianyungang coordinates (synthetic): two streets crossing, parcels beside.
LON0, LAT0 = 119.22, 34.60
XSS = "<script>alert(1)</script>"
TOKEN = "test-token-5b2e"
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium(*, module: bool = False) -> None:
    """Skip a browser test when Debian chromium is missing — but FAIL under CI (``$CI`` set):
    the browser tests are the only check of JS escaping, so on CI they must run (issue 12)."""
    import pytest

    if CHROMIUM.exists():
        return
    message = f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; $CI is set, so the browser tests must run", pytrace=False)
    pytest.skip(message, allow_module_level=module)


def _gdf(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def tiny_layers() -> dict[str, gpd.GeoDataFrame]:
    d = 0.002  # about 200 m
    parcels = [
        (
            {"parcel_id": "P1", "landuse_code": "0701", "name": XSS, "district": XSS},
            box(LON0 - 2 * d, LAT0 + 0.0002, LON0 - 0.0002, LAT0 + d),
        ),
        (
            {"parcel_id": "P2", "landuse_code": "0901", "name": "商业 A", "district": "海州区"},
            box(LON0 + 0.0002, LAT0 + 0.0002, LON0 + 2 * d, LAT0 + d),
        ),
        (
            {"parcel_id": "P3", "landuse_code": "1001", "name": "工业", "district": "海州区"},
            box(LON0 - 2 * d, LAT0 - d, LON0 - 0.0002, LAT0 - 0.0002),
        ),
        (
            {"parcel_id": "P4", "landuse_code": "1303", "name": "供电", "district": "连云区"},
            box(LON0 + 0.0002, LAT0 - d, LON0 + 2 * d, LAT0 - 0.0002),
        ),
    ]
    roads = [
        (
            {"road_id": "R1", "name": "东西路", "road_class": "secondary"},
            LineString([(LON0 - 3 * d, LAT0), (LON0 + 3 * d, LAT0)]),
        ),
        (
            {"road_id": "R2", "name": "南北路", "road_class": "tertiary"},
            LineString([(LON0, LAT0 - 3 * d), (LON0, LAT0 + 3 * d)]),
        ),
    ]
    subs = [
        (
            {
                "substation_id": "S1",
                "voltage_kv": 110.0,
                "capacity_mva": 100.0,
                "peak_load_mva": 60.0,
                "name": "110kV 新浦变",
            },
            Point(LON0 + 2.5 * d, LAT0 - 2.5 * d),
        )
    ]
    feeders = [
        (
            {
                "feeder_id": "F1",
                "substation_id": "S1",
                "voltage_kv": 10.0,
                "capacity_mva": 8.0,
                "peak_load_mva": 5.0,
            },
            LineString(
                [
                    (LON0 + 2.5 * d, LAT0 - 2.5 * d),
                    (LON0 + 0.0001, LAT0 - 2.5 * d),
                    (LON0 + 0.0001, LAT0 + 2 * d),
                ]
            ),
        )
    ]
    assets = [
        (
            {
                "asset_id": "T1",
                "kind": "transformer",
                "voltage_kv": 10.0,
                "feeder_id": "F1",
                "capacity_kva": 630.0,
                "peak_load_kva": 300.0,
            },
            Point(LON0 + 0.0001, LAT0 + 0.0005),
        ),
        (
            {
                "asset_id": "T2",
                "kind": "transformer",
                "voltage_kv": 10.0,
                "feeder_id": "F1",
                "capacity_kva": 400.0,
                "peak_load_kva": 390.0,
            },
            Point(LON0 + 0.0001, LAT0 - 0.0015),
        ),
        (
            {"asset_id": "RMU1", "kind": "ring_main_unit", "voltage_kv": 10.0, "feeder_id": "F1"},
            Point(LON0 + 0.0001, LAT0 - 0.001),
        ),
    ]
    ducts = [
        (
            {"duct_id": "D1"},
            LineString([(LON0 + 0.0001, LAT0 - 0.002), (LON0 + 0.0001, LAT0 + 0.002)]),
        )
    ]
    out = {}
    for name, items in (
        ("landuse", parcels),
        ("roads", roads),
        ("substations", subs),
        ("feeders", feeders),
        ("assets", assets),
        ("ducts", ducts),
    ):
        gdf = _gdf([r for r, _ in items], [g for _, g in items])
        out[name], _ = validate_layer(name, gdf, source=f"fixture:{name}")
    return out


def write_tiny_map(path: Path) -> Path:
    """Write the tiny map (synthetic, metric CRS EPSG:4549) to ``path``."""
    m = OneMap(layers=tiny_layers(), crs_metric="EPSG:4549", meta={"synthetic": True})
    return write_map(m, path)


def city_landuse(n_side: int) -> gpd.GeoDataFrame:
    """``n_side``² square parcels of about 50 m on a grid (cheap, vectorised)."""
    step = 0.0005
    i, j = np.meshgrid(np.arange(n_side), np.arange(n_side))
    x0 = LON0 - n_side * step / 2 + i.ravel() * step
    y0 = LAT0 - n_side * step / 2 + j.ravel() * step
    geoms = shapely.box(x0, y0, x0 + step * 0.9, y0 + step * 0.9)
    codes = np.array(["0701", "0901", "1001", "1401"])[(i.ravel() + j.ravel()) % 4]
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{k}" for k in range(len(geoms))],
            "landuse_code": codes,
            "name": "",
            "far": np.nan,
            "building_area_m2": np.nan,
            "planned_load_kw": np.nan,
            "status": "existing",
            "district": "",
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


class LiveServer:
    """uvicorn serving an app in a background thread on a free local port."""

    def __init__(self, app) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
