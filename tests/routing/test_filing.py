"""Filing verdicts on hand-built streets, worked out by hand for every reason code and boundary.

Street layout (y is the lateral offset from the centre line, left = +y for eastbound roads):
motor lanes ±motor/2, then bike lane, sidewalk, green outward. Every street is 2 km long and
eastbound, streets lie 500 m apart so they never meet.
"""

from __future__ import annotations

import datetime as dt

import pytest

from onemap.errors import OnemapInputError
from onemap.routing import check_route
from onemap.rules import load_rules
from routing.streets import duct, line, make_map, road

# S1: motor 10, bike 2, sidewalk 3, green 2 → left sidewalk y 7..10 (centre 8.5), bike 5..7
# (centre 6), green 10..12 (centre 11); a duct crosses the whole road at x = 300.
# S2: sidewalk 0.6 (= the 0.4 kV trench), bike 2.
# S3/S4/S5: sidewalk 0.5 and bike 1.5 / 1.49 / 1.51: at 10 kV the 1.0 m trench spills 0.5 m onto
# the bike lane, leaving 1.0 (= minimum) / 0.99 / 1.01 m.
# S6: sidewalk 1.0, no bike lane, motor 7: a 1.0 m trench exactly fills the sidewalk.
# S7: sidewalk 0.9, no bike lane: at 10 kV 0.1 m of the trench reaches the motor lanes.
STREETS = {
    "S1": dict(motor=10.0, bike=2.0, sidewalk=3.0, green=2.0),
    "S2": dict(motor=10.0, bike=2.0, sidewalk=0.6),
    "S3": dict(motor=10.0, bike=1.5, sidewalk=0.5),
    "S4": dict(motor=10.0, bike=1.49, sidewalk=0.5),
    "S5": dict(motor=10.0, bike=1.51, sidewalk=0.5),
    "S6": dict(motor=7.0, bike=0.0, sidewalk=1.0),
    "S7": dict(motor=7.0, bike=0.0, sidewalk=0.9),
}
Y = {name: 500.0 * i for i, name in enumerate(STREETS)}


def sidewalk_y(name: str) -> float:
    s = STREETS[name]
    return Y[name] + s["motor"] / 2 + s["bike"] + s["sidewalk"] / 2


def bike_y(name: str) -> float:
    s = STREETS[name]
    return Y[name] + s["motor"] / 2 + s["bike"] / 2


@pytest.fixture(scope="module")
def streets():
    roads = [road(n, [(0, Y[n]), (2000, Y[n])], **kw) for n, kw in STREETS.items()]
    return make_map(roads, ducts=[duct("K1", [(300, -13), (300, 13)])])


def along(y: float, x0: float, length: float):
    return line((x0, y), (x0 + length, y))


# --- length (strict < 1000 m, item 2) ------------------------------------------------------


def test_999_9_m_on_the_sidewalk_is_filing_only(streets):
    v = check_route(streets, along(sidewalk_y("S1"), 500, 999.9), 0.4)
    assert v.eligible and v.procedure == "filing"
    assert v.reasons == [] and v.permits == []
    assert v.length_m == pytest.approx(999.9, abs=1e-6)
    assert [s.corridor for s in v.segments] == ["sidewalk"]
    assert v.segments[0].road_id == "S1" and v.segments[0].side == "left"


def test_1000_m_is_over_the_limit(streets):
    v = check_route(streets, along(sidewalk_y("S1"), 500, 1000.0), 0.4)
    assert not v.eligible and v.procedure == "permits"
    assert v.codes == ["LENGTH_OVER_LIMIT"]
    assert v.permits == ["road_excavation", "corridor_planning"]
    assert v.limit_m == 1000.0
    assert "1000" in v.reasons[0].message("zh") and "not below" in v.reasons[0].message("en")


# --- corridor strips -----------------------------------------------------------------------


def test_motor_lane_green_belt_and_right_side(streets):
    v = check_route(streets, along(Y["S1"] + 2.0, 500, 100), 0.4)
    assert v.codes == ["OCCUPIES_MOTOR_LANE"] and v.permits == ["road_excavation"]
    v = check_route(streets, along(Y["S1"] + 11.0, 500, 100), 0.4)
    assert v.codes == ["OCCUPIES_GREEN_BELT"] and v.permits == ["green_occupation"]
    right = check_route(streets, along(Y["S1"] - 8.5, 500, 100), 0.4)
    assert right.eligible and right.segments[0].side == "right"


def test_crossing_without_and_with_duct(streets):
    # perpendicular crossing from left sidewalk (8.5) to right sidewalk (-8.5) at x = 800:
    # 1.5 sidewalk + 2 bike + 10 carriageway + 2 bike + 1.5 sidewalk
    v = check_route(streets, line((800, 8.5), (800, -8.5)), 0.4)
    assert v.codes == ["OCCUPIES_MOTOR_LANE"]
    assert v.reasons[0].length_m == pytest.approx(10.0, abs=1e-6)
    assert [s.corridor for s in v.segments] == [
        "sidewalk",
        "bike_lane",
        "crossing",
        "bike_lane",
        "sidewalk",
    ]
    assert v.reasons[0].values["crossings"] == 1
    # the same crossing along the duct at x = 300 occupies nothing (ducts_unoccupied)
    v = check_route(streets, line((300, 8.5), (300, -8.5)), 0.4)
    assert v.eligible and [s.corridor for s in v.segments] == ["duct"]
    assert v.segments[0].occupied_width_m == 0.0


def test_off_corridor_in_the_middle_and_access_at_the_ends(streets):
    y = sidewalk_y("S1")
    # leaves the sidewalk at x=500 through the green (10..12) to y=60, runs 100 m, comes back
    detour = line((400, y), (500, y), (500, 60), (600, 60), (600, y), (700, y))
    v = check_route(streets, detour, 0.4)
    assert v.codes == ["OCCUPIES_GREEN_BELT", "OFF_CORRIDOR"]
    by_code = {r.code: r.length_m for r in v.reasons}
    assert by_code["OFF_CORRIDOR"] == pytest.approx(48 + 100 + 48, abs=1e-6)
    assert by_code["OCCUPIES_GREEN_BELT"] == pytest.approx(4.0, abs=1e-6)
    assert v.length_m == pytest.approx(100 + 51.5 + 100 + 51.5 + 100, abs=1e-6)
    # 5 m off the road at the start is the service connection, not OFF_CORRIDOR
    v = check_route(
        streets, line((450, Y["S2"] + 12.6), (450, sidewalk_y("S2")), (600, sidewalk_y("S2"))), 0.4
    )
    assert v.eligible and v.segments[0].corridor == "access"
    assert v.segments[0].length_m == pytest.approx(5.0, abs=1e-6)
    # 100 m off at the start is more than attach_max_m: OFF_CORRIDOR
    v = check_route(
        streets, line((450, Y["S2"] + 107.6), (450, sidewalk_y("S2")), (600, sidewalk_y("S2"))), 0.4
    )
    assert v.codes == ["OFF_CORRIDOR"]


# --- trench spill and passable bike lane ---------------------------------------------------


def test_trench_exactly_filling_the_sidewalk(streets):
    v = check_route(streets, along(sidewalk_y("S2"), 100, 200), 0.4)  # trench 0.6 = sidewalk
    assert v.eligible and v.segments[0].remaining_bike_m == pytest.approx(2.0)
    v = check_route(streets, along(sidewalk_y("S6"), 100, 200), 10.0)  # 1.0 = sidewalk 1.0
    assert v.eligible and v.segments[0].remaining_bike_m is None
    v = check_route(streets, along(sidewalk_y("S7"), 100, 200), 10.0)  # 0.1 m onto motor lanes
    assert v.codes == ["OCCUPIES_MOTOR_LANE"] and v.reasons[0].values["spill"]


@pytest.mark.parametrize(
    ("street", "remaining", "passable"),
    [("S3", 1.0, True), ("S4", 0.99, False), ("S5", 1.01, True)],
)
def test_remaining_bike_lane_at_the_minimum(streets, street, remaining, passable):
    """A route drawn on the sidewalk: the trench spills onto the bike lane beside it (DESIGN §3,
    ``bike − spill``); the same measure for the graph's placement of a route in the lane."""
    for y, placement in ((sidewalk_y(street), "drawn"), (bike_y(street), "sidewalk_first")):
        v = check_route(streets, along(y, 100, 200), 10.0, placement=placement)
        shown = v.segments[0].remaining_bike_m if v.segments[0].corridor == "bike_lane" else None
        if shown is not None:
            assert shown == pytest.approx(remaining, abs=1e-9)
        assert v.eligible is passable
        assert v.codes == ([] if passable else ["BIKE_LANE_NOT_PASSABLE"])
    # at 0.4 kV the 0.6 m trench spills 0.1 m only from the sidewalk: passable on all three
    assert check_route(streets, along(sidewalk_y(street), 100, 200), 0.4).eligible


@pytest.mark.parametrize(
    ("street", "voltage", "remaining", "passable"),
    # the trench drawn in the lane itself: lane − trench (issue 14: the trench is where drawn)
    [("S3", 10.0, 0.5, False), ("S3", 0.4, 0.9, False), ("S1", 0.4, 1.4, True)],
)
def test_a_route_drawn_in_the_bike_lane_occupies_the_lane(
    streets, street, voltage, remaining, passable
):
    v = check_route(streets, along(bike_y(street), 100, 200), voltage)
    seg = v.segments[0]
    assert seg.corridor == "bike_lane"
    assert seg.remaining_bike_m == pytest.approx(remaining, abs=1e-9)
    assert seg.occupied_width_m == pytest.approx(streets_trench(voltage))
    assert v.eligible is passable
    assert v.codes == ([] if passable else ["BIKE_LANE_NOT_PASSABLE"])
    assert v.to_dict("en")["trench_placement"] == "drawn"


def streets_trench(voltage: float) -> float:
    return {0.4: 0.6, 10.0: 1.0}[voltage]  # the shipped table's assumed trench widths


def test_bike_lane_message_has_the_numbers(streets):
    v = check_route(streets, along(bike_y("S4"), 100, 200), 10.0)
    msg = v.to_dict("zh")["reasons"][0]["message"]
    assert "0.49" in msg and "非机动车道" in msg  # 1.49 m lane − 1.0 m trench
    assert "0.49" in v.to_dict("en")["reasons"][0]["message"]


# --- tiers, approval deadline, bad input ---------------------------------------------------


def test_second_rule_table_gives_another_procedure(streets):
    county = load_rules("example-county-tiered")
    short = along(sidewalk_y("S1"), 500, 150)
    assert check_route(streets, short, 0.4).procedure == "filing"
    assert check_route(streets, short, 0.4, rules=county).procedure == "no_approval"
    assert check_route(streets, short, 10.0, rules=county).procedure == "filing"
    mid = along(sidewalk_y("S1"), 500, 600)
    v = check_route(streets, mid, 0.4, rules=county)
    assert v.procedure == "joint_review" and not v.eligible
    assert v.codes == ["LENGTH_OVER_LIMIT"] and v.limit_m == 500.0
    assert check_route(streets, mid, 0.4).procedure == "filing"
    on_motor = along(Y["S1"], 500, 150)
    assert check_route(streets, on_motor, 0.4, rules=county).procedure == "joint_review"


@pytest.mark.parametrize(
    ("submitted", "deadline"),
    [
        # National Day 2026: Oct 1–7 off, Sat Oct 10 a make-up working day
        # → Oct 8, 9, 10, 12, 13
        ("2026-09-30", "2026-10-13"),
        # Spring Festival 2026: Sat Feb 14 a make-up working day, Feb 15–23 off
        # → Feb 14, 24, 25, 26, 27
        ("2026-02-13", "2026-02-27"),
    ],
)
def test_approval_deadline_across_holidays(streets, submitted, deadline):
    v = check_route(streets, along(sidewalk_y("S1"), 500, 100), 10.0, date=submitted)
    d = v.to_dict()
    assert d["approval_workdays"] == 5
    assert d["approval_deadline"] == {"date": deadline, "workdays": 5, "provisional": False}


def test_deadline_in_an_unpublished_year_is_provisional(streets):
    v = check_route(streets, along(sidewalk_y("S1"), 500, 100), 0.4, date=dt.date(2035, 12, 28))
    assert v.approval_deadline.provisional


def test_bad_input(streets):
    ok = along(sidewalk_y("S1"), 500, 100)
    with pytest.raises(OnemapInputError, match="unknown voltage"):
        check_route(streets, ok, 35.0)
    with pytest.raises(OnemapInputError, match="YYYY-MM-DD"):
        check_route(streets, ok, 0.4, date="30/09/2026")
    with pytest.raises(OnemapInputError, match="outside"):
        check_route(streets, line((5000, 5000), (5100, 5000)), 0.4)
    with pytest.raises(OnemapInputError, match="degrees"):
        from shapely import LineString

        check_route(streets, LineString([(119.2, 34.6), (119.21, 34.6)]), 0.4)
    with pytest.raises(OnemapInputError, match="degenerate"):
        check_route(streets, line((500, 8.5), (500, 8.5)), 0.4)
    with pytest.raises(OnemapInputError, match="unknown language"):
        check_route(streets, ok, 0.4).to_dict("fr")
