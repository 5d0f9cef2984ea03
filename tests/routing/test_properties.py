"""Property tests (hypothesis) of the overlay verdict on a hand-built cross junction."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onemap.errors import OnemapInputError
from onemap.routing import check_route
from routing.streets import line, make_map, road

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def cross():
    return make_map(
        [
            road("A", [(-600, 0), (0, 0)], green=2.0),
            road("B", [(0, 0), (600, 0)], green=2.0),
            road("C", [(0, 0), (0, 600)]),
        ]
    )


# B's left sidewalk spans y 7..10 for x beyond the junction's reach
inside_sidewalk = st.lists(
    st.tuples(st.floats(40.0, 590.0), st.floats(7.01, 9.99)), min_size=2, max_size=8
)
anywhere = st.lists(
    st.tuples(st.floats(-200.0, 200.0), st.floats(-40.0, 200.0)), min_size=2, max_size=8
)


def _line(pts):
    return line(*pts)


@SETTINGS
@given(inside_sidewalk)
def test_route_inside_one_sidewalk_is_never_off_corridor(cross, pts):
    geom = _line(pts)
    if geom.length < 1e-3:
        return
    v = check_route(cross, geom, 0.4)
    assert "OFF_CORRIDOR" not in v.codes
    assert {s.corridor for s in v.segments} == {"sidewalk"}
    assert v.eligible == (v.length_m < 1000.0)


@SETTINGS
@given(anywhere, st.sampled_from([0.4, 10.0]))
def test_segments_add_up_and_reversal_keeps_the_verdict(cross, pts, kv):
    geom = _line(pts)
    try:
        v = check_route(cross, geom, kv)
    except OnemapInputError:
        return  # degenerate or entirely off the corridors: refused either way
    assert sum(s.length_m for s in v.segments) == pytest.approx(v.length_m, abs=1e-6)
    assert v.length_m == pytest.approx(geom.length, abs=1e-6)
    ends = [s.end_m for s in v.segments]
    assert ends == sorted(ends)
    back = check_route(cross, geom.reverse(), kv)
    assert back.same_decision(v)
    for a, b in zip(back.reasons, v.reasons, strict=True):
        assert a.code == b.code and a.length_m == pytest.approx(b.length_m, abs=1e-6)
