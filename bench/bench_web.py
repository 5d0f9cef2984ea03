"""The web app's bbox layer API and page size on a city-size map (≥ 100k parcels).

Figures (each printed with a baseline measured in the same run):

* street-block viewport (~250 m square) at detail zoom: :class:`web.spatial.LayerIndex`
  (STRtree query + vectorised GeoJSON) against a geopandas full scan
  (``gdf[gdf.intersects(box)].to_json()``) — p50/p95 over random blocks;
* whole-city viewport at zoom 12 with ``limit`` (what a zoomed-out map asks): bytes and time
  against serialising the whole layer (what inlining it in the page would cost);
* the one-map page's size, against the size of the inlined land-use layer;
* app start (read map, build every layer's index).

    .venv/bin/python -m bench.bench_web [--side 317] [--samples 50]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from fastapi.testclient import TestClient

from bench._harness import Row, emit, percentiles, timed
from onemap.geo.mapfile import OneMap, write_map

LON0, LAT0, STEP = 119.22, 34.60, 0.0005  # ~50 m parcels on a grid, Lianyungang


def city_map(side: int, path: Path) -> Path:
    """``side``² square parcels plus a road and a transformer, written to ``path``."""
    from onemap.geo.layers import validate_layer

    i, j = np.meshgrid(np.arange(side), np.arange(side))
    x0 = LON0 - side * STEP / 2 + i.ravel() * STEP
    y0 = LAT0 - side * STEP / 2 + j.ravel() * STEP
    landuse = gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{k}" for k in range(side * side)],
            "landuse_code": np.array(["0701", "0901", "1001", "1401"])[(i + j).ravel() % 4],
            "name": "",
        },
        geometry=shapely.box(x0, y0, x0 + STEP * 0.9, y0 + STEP * 0.9),
        crs="EPSG:4326",
    )
    roads, _ = validate_layer(
        "roads",
        gpd.GeoDataFrame(
            {"road_id": ["R1"], "road_class": ["secondary"]},
            geometry=[shapely.LineString([(LON0 - 0.05, LAT0), (LON0 + 0.05, LAT0)])],
            crs="EPSG:4326",
        ),
    )
    m = OneMap(layers={"landuse": landuse, "roads": roads}, crs_metric="EPSG:4549")
    return write_map(m, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=317, help="parcels per side (317² ≈ 100k)")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()

    from web.app import create_app
    from web.settings import WebSettings

    with tempfile.TemporaryDirectory() as tmp:
        path = city_map(args.side, Path(tmp) / "city.gpkg")
        start_s, app = timed(lambda: create_app(path, WebSettings(max_limit=5000)))
        client = TestClient(app)
        index = app.state.onemap.indexes["landuse"]
        gdf = index.gdf
        n = len(gdf)
        print(f"city map: {n:,} parcels")
        emit(Row("app start (read + index)", start_s, "s", note=f"{n:,} parcels"))

        rng = np.random.default_rng(5)
        half = args.side * STEP / 2
        w = 0.0025  # ~250 m viewport
        ours, base = [], []
        for _ in range(args.samples):
            x = LON0 - half + rng.random() * (2 * half - w)
            y = LAT0 - half + rng.random() * (2 * half - w)
            bbox = (x, y, x + w, y + w)
            t, _ = timed(lambda b=bbox: index.feature_collection(b, limit=5000, zoom=17))
            ours.append(t)
            box = shapely.box(*bbox)
            tb, _ = timed(lambda b=box: gdf[gdf.intersects(b)].to_json())
            base.append(tb)
        p, pb = percentiles(ours), percentiles(base)
        emit(Row("block bbox p50", p[50], "ms", pb[50], "geopandas full scan + to_json"))
        emit(Row("block bbox p95", p[95], "ms", pb[95], "geopandas full scan + to_json"))

        whole = f"{LON0 - 0.2},{LAT0 - 0.2},{LON0 + 0.2},{LAT0 + 0.2}"
        t_city, r = timed(
            lambda: client.get(f"/api/v1/layers/landuse?bbox={whole}&limit=2000&zoom=12")
        )
        t_all, full = timed(lambda: gdf.to_json())
        emit(
            Row(
                "city viewport z12 limit 2000",
                t_city * 1000,
                "ms",
                t_all * 1000,
                "whole layer to_json",
            )
        )
        emit(
            Row(
                "city viewport z12 bytes",
                len(r.content),
                "B",
                len(full.encode()),
                "whole layer GeoJSON",
            )
        )
        page = client.get("/")
        emit(
            Row(
                "one-map page",
                len(page.content),
                "B",
                len(full.encode()),
                "page with the land-use layer inlined",
                target="< 2 MB",
                met=len(page.content) < 2_000_000,
            )
        )


if __name__ == "__main__":
    main()
