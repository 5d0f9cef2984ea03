"""The preview's bounded search (radius first, on the disc it can reach) answers exactly as one
search to the full supply radius over the whole graph: same class, point, distance and route.

The demo map is small, so the local search would not engage by itself (LOCAL_MIN_ROWS): the
tests force it, with a first radius short enough that most previews widen several times.
"""

from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import onemap.connection.points as points
import onemap.connection.site_preview as site_preview
import onemap.routing.network as network
from onemap.connection.site_preview import preview
from onemap.errors import OnemapInputError
from onemap.geo.crs import metric_to_lonlat
from onemap.rules import resolve_rules

CATEGORIES = {
    "lv_residential": 30.0,
    "lv_small_micro": 150.0,
    "lv_non_residential": 160.0,
    "hv_single": 6000.0,
    "hv_dual": 6000.0,
    "hv_important": 6000.0,
    "hv_35kv_plus": 60000.0,
}


@contextmanager
def whole_graph():
    """The reference: one search per graph to the limit over the whole graph, never skipped."""
    every_feasible = lambda self, origin_xy, radii, kw: np.flatnonzero(self.h >= kw)  # noqa: E731
    with (
        mock.patch.object(network, "LOCAL_MIN_ROWS", 10**12),
        mock.patch.object(points, "_straight_gap", lambda *a: 0.0),
        mock.patch.object(points.SourceIndex, "near", every_feasible),
    ):
        yield


@contextmanager
def local(first_m: float, share: float):
    """The local search on every graph, first radius ``first_m``, discs up to ``share``."""
    with (
        mock.patch.object(network, "LOCAL_MIN_ROWS", 0),
        mock.patch.object(site_preview, "PREVIEW_FIRST_M", first_m),
        mock.patch.object(site_preview, "PREVIEW_SLACK", 0.5),
        mock.patch.object(network, "LOCAL_MAX_SHARE", share),
        mock.patch.object(site_preview, "LOCAL_MAX_SHARE", share),
    ):
        yield


def answer(m, lon, lat, kw, category):
    try:
        return preview(m, lon, lat, kw, category).to_dict()
    except OnemapInputError as exc:
        return ("refused", str(exc))


@pytest.fixture(scope="module")
def sites(demo_map):
    """Lon/lat of a point on every parcel of the demo map."""
    pts = demo_map.metric("landuse").geometry.representative_point()
    lon, lat = metric_to_lonlat(pts.x.to_numpy(), pts.y.to_numpy(), demo_map.crs_metric)
    return np.column_stack([lon, lat])


def test_chords_bound_the_demo_graph(demo_map):
    """The disc argument needs every edge at least as long as its straight chord."""
    rules = resolve_rules(demo_map)
    for voltage in (0.4, 10.0):
        net = network.network_of(demo_map, voltage, rules)
        assert network.chord_bounded(net, False)


def test_every_category_on_many_parcels_equals_the_whole_graph_search(demo_map, sites):
    rng = np.random.default_rng(8)
    compared = widened = 0
    stages = site_preview._preview_stages

    def counting(net, limit, gap):
        nonlocal widened
        out = stages(net, limit, gap)
        widened += len(out) > 1
        return out

    for lon, lat in sites[rng.choice(len(sites), 25, replace=False)]:
        for category, top in CATEGORIES.items():
            kw = float(rng.uniform(1.0, top))
            with whole_graph():
                expected = answer(demo_map, lon, lat, kw, category)
            with local(25.0, 1.0), mock.patch.object(site_preview, "_preview_stages", counting):
                got = answer(demo_map, lon, lat, kw, category)
            assert got == expected, (lon, lat, kw, category)
            compared += isinstance(expected, dict) and expected["readiness"] != "D"
    assert compared >= 50 and widened >= 50  # the comparison saw real, widened searches


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fx=st.floats(0.0, 1.0),
    fy=st.floats(0.0, 1.0),
    category=st.sampled_from(sorted(CATEGORIES)),
    share_kw=st.floats(0.001, 1.0),
    first_m=st.sampled_from([10.0, 60.0, 300.0]),
    share=st.sampled_from([0.01, 0.25, 1.0]),
)
def test_random_points_equal_the_whole_graph_search(
    demo_map, fx, fy, category, share_kw, first_m, share
):
    """Any point of the map (on a parcel or joined to the nearest corridor), any kW."""
    west, south, east, north = demo_map.bounds
    lon, lat = west + fx * (east - west), south + fy * (north - south)
    kw = share_kw * CATEGORIES[category]
    with whole_graph():
        expected = answer(demo_map, lon, lat, kw, category)
    with local(first_m, share):
        assert answer(demo_map, lon, lat, kw, category) == expected
