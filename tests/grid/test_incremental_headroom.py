"""What lets a push skip the rebuild (issue 15, speed): projects that name no grid element load
nothing — the headroom, now and in every year, is exactly as without them — and
:meth:`OneMap.with_layer` keeps the map's derived values only when the caller vouches for that."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point

from onemap.geo.crs import STORAGE_CRS
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap, read_map
from onemap.grid.headroom import headroom, loads_elements
from onemap.grid.years import as_of

YEARS = (2021, 2022, 2023, 2024, 2030)


@pytest.fixture()
def demo(demo_map_path) -> OneMap:
    return read_map(demo_map_path)  # a private copy in memory: the test swaps layers


def _rows(m: OneMap, n: int, **columns) -> gpd.GeoDataFrame:
    """``n`` validated project rows at parcels of ``m`` (pushed, naming no element)."""
    sites = m["landuse"].geometry.iloc[:n].representative_point()
    frame = gpd.GeoDataFrame(
        {
            "project_id": [f"NEW-{i}" for i in range(n)],
            "requested_kw": [100.0 + i for i in range(n)],
            "category": ["lv_non_residential"] * n,
            "status": ["pushed"] * n,
            **columns,
        },
        geometry=list(sites),
        crs=STORAGE_CRS,
    )
    return validate_layer("projects", frame, source="test")[0]


def _plus(m: OneMap, rows: gpd.GeoDataFrame) -> OneMap:
    """``m`` with ``rows`` appended to ``projects``, every derived value rebuilt."""
    projects = gpd.GeoDataFrame(
        pd.concat([m["projects"], rows], ignore_index=True), crs=STORAGE_CRS
    )
    return m.with_layer("projects", projects)


def test_projects_naming_no_element_load_nothing_in_any_year(demo):
    rows = _rows(demo, 6, expected_year=[2022.0] * 6)  # due, but naming no element
    assert not loads_elements(rows)
    more = _plus(demo, rows)
    assert_geodataframe_equal(headroom(more), headroom(demo))
    for year in YEARS:
        assert_geodataframe_equal(headroom(as_of(more, year)), headroom(as_of(demo, year)))


@pytest.mark.parametrize(
    ("status", "year", "seen_in"),
    [("accepted", None, 2021), ("pushed", 2023.0, 2023)],
)
def test_a_project_naming_an_element_loads_it(demo, status, year, seen_in):
    element = str(demo["assets"].loc[demo["assets"]["kind"] == "transformer", "asset_id"].iloc[0])
    extra = {"status": [status], "asset_id": [element]}
    if year is not None:
        extra["expected_year"] = [year]
    rows = _rows(demo, 1)
    for col, values in extra.items():
        rows[col] = values
    assert loads_elements(rows)
    more = as_of(_plus(demo, rows), seen_in)
    got = headroom(more).set_index("asset_id").loc[element, "promised_kva"]
    base = headroom(as_of(demo, seen_in)).set_index("asset_id").loc[element, "promised_kva"]
    assert got > base


def test_with_layer_keeps_what_the_map_derived_only_when_vouched(demo):
    calls: list[str] = []

    def build(tag: str):
        def run():
            calls.append(tag)
            return object()

        return run

    whole = demo.cached("whole", build("whole"))
    named = demo.cached("named", build("named"), layers=("projects",))
    roads = demo.cached("roads", build("roads"), layers=("roads",))
    rows = _rows(demo, 2)
    projects = gpd.GeoDataFrame(
        pd.concat([demo["projects"], rows], ignore_index=True), crs=STORAGE_CRS
    )
    metric = projects.to_crs(demo.crs_metric)
    demo_roads = demo.metric("roads")  # projected before: shared, not projected again

    kept = demo.with_layer("projects", projects, metric=metric, derived_unchanged=True)
    assert kept["projects"] is projects and kept.metric("projects") is metric
    assert kept["roads"] is demo["roads"] and kept.metric("roads") is demo_roads
    assert kept.tokens() == demo.tokens()  # the map as a whole: unchanged
    assert kept.tokens(("projects",)) != demo.tokens(("projects",))
    assert kept.cached("whole", build("whole")) is whole
    assert kept.cached("roads", build("roads"), layers=("roads",)) is roads
    assert kept.cached("named", build("named"), layers=("projects",)) is not named
    assert calls == ["whole", "named", "roads", "named"]
    assert len(demo["projects"]) == len(projects) - 2  # the original map is untouched

    calls.clear()
    rebuilt = demo.with_layer("projects", projects)
    assert rebuilt.tokens() != demo.tokens()
    assert rebuilt.cached("whole", build("whole")) is not whole
    assert rebuilt.cached("roads", build("roads"), layers=("roads",)) is roads
    assert calls == ["whole"]


def test_covers_tells_rows_inside_the_extent(demo):
    inside = _rows(demo, 3)
    assert demo.covers(inside, inside.to_crs(demo.crs_metric))
    _, south, east, north = demo.bounds
    outside = inside.copy()
    outside.loc[0, "geometry"] = Point(east + 0.001, (south + north) / 2)
    assert not demo.covers(outside, outside.to_crs(demo.crs_metric))
    assert demo.covers(inside.iloc[:0], inside.iloc[:0])


def test_threads_asking_for_one_value_build_it_once(demo):
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow():
        calls.append(1)
        started.set()
        release.wait(30)
        return object()

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(demo.cached, "slow", slow)
        assert started.wait(30)
        others = [pool.submit(demo.cached, "slow", slow) for _ in range(3)]
        # Meanwhile other values are built and answered (only "slow" waits).
        assert pool.submit(demo.cached, "quick", object).result(timeout=30) is not None
        release.set()
        values = {id(f.result(timeout=30)) for f in [first, *others]}
    assert len(calls) == 1 and len(values) == 1
