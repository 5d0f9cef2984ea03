"""Real streets II (issue 14, first part), on hand-built streets: a route on a bridge deck is
not filing-eligible (ON_STRUCTURE, the structure's consent), a route along the street under a
footbridge stays on the street, and a route through green land occupies green space
(OCCUPIES_GREEN_BELT, green_occupation) whether or not a footway crosses it."""

from __future__ import annotations

from onemap.routing import check_route
from routing.streets import line, make_map, parcel, road


def _bridge_map():
    street = road("S", [(0, 0), (400, 0)], motor=10, bike=0, sidewalk=3)
    # a footbridge (level 1) across the street, and a way of its own along the bridge
    bridge = {
        **road("B", [(200, -60), (200, 60)], motor=0, bike=0, sidewalk=1.5),
        "strip_kind": "footway",
        "level": 1,
        "structure": "bridge",
    }
    return make_map([street, bridge])


def test_route_over_a_bridge_deck_needs_the_structures_consent():
    m = _bridge_map()
    over = line((200, -40), (200, 40))  # along the footbridge, over the street
    v = check_route(m, over, 0.4).to_dict("en")
    codes = {r["code"] for r in v["reasons"]}
    assert v["eligible"] is False and "ON_STRUCTURE" in codes
    assert "structure_consent" in v["permits"]
    # the street underneath is never reported as crossed
    assert "OCCUPIES_MOTOR_LANE" not in codes


def test_route_along_the_sidewalk_under_a_footbridge_stays_on_the_street():
    m = _bridge_map()
    along = line((150, 6.5), (250, 6.5))  # middle of the left sidewalk (5 + 3/2 m)
    v = check_route(m, along, 0.4).to_dict("en")
    assert v["eligible"] is True, v["reasons"]
    assert {s["corridor"] for s in v["segments"]} == {"sidewalk"}


def test_route_through_a_park_occupies_green_space():
    street = road("S", [(0, 0), (400, 0)], motor=10, bike=0, sidewalk=3)
    path = {
        **road("P", [(100, 60), (300, 60)], motor=0, bike=0, sidewalk=1.0),
        "strip_kind": "footway",
    }
    park = parcel("PARK", 80, 20, 320, 120, code="1401")
    m = make_map([street, path], parcels=[park])
    v = check_route(m, line((120, 60), (280, 60)), 0.4).to_dict("en")
    assert v["eligible"] is False
    assert {r["code"] for r in v["reasons"]} == {"OCCUPIES_GREEN_BELT"}
    assert "green_occupation" in v["permits"]
    # the same footway outside green land is a walkway (the land use decides, not the path)
    plain = make_map([street, path], parcels=[parcel("HOME", 80, 20, 320, 120, code="0701")])
    assert check_route(plain, line((120, 60), (280, 60)), 0.4).eligible is True


def test_a_route_off_every_corridor_inside_the_map_is_a_verdict():
    street = road("S", [(0, 0), (400, 0)], motor=10, bike=0, sidewalk=3)
    farm = parcel("FARM", 0, 100, 400, 300, code="0101")
    m = make_map([street], parcels=[farm])
    v = check_route(m, line((100, 200), (300, 200)), 0.4)
    assert v.eligible is False and v.codes == ["OFF_CORRIDOR"]
    assert v.permits == ["corridor_planning"]
    # far outside the map's extent it is bad input, not a verdict
    import pytest

    from onemap.errors import OnemapInputError

    with pytest.raises(OnemapInputError, match="outside the map"):
        check_route(m, line((10_000, 10_000), (10_200, 10_000)), 0.4)


def test_verdict_lists_the_assumptions_it_rests_on():
    guessed = {
        **road("G", [(0, 0), (400, 0)], motor=10, bike=0, sidewalk=3),
        "name": "默认路",
        "xs_source": "sidewalk_left=default;sidewalk_right=default;bike_left=default;"
        "bike_right=default;motor_width=default;green_left=default;green_right=default",
    }
    surveyed = {
        **road("W", [(0, 100), (400, 100)], motor=0, bike=0, sidewalk=1.0),
        "strip_kind": "sidewalk",
        "xs_source": "sidewalk_left=mapped_way;sidewalk_right=mapped_way;bike_left=tagged;"
        "bike_right=tagged;motor_width=tagged;green_left=tagged;green_right=tagged",
    }
    m = make_map([guessed, surveyed])
    on_guess = check_route(m, line((100, 6.5), (300, 6.5)), 0.4).to_dict("zh")
    assert on_guess["basis"] == "assumed"
    assert on_guess["assumptions"][0]["share"] == 1.0
    assert on_guess["assumptions"][0]["road_name"] == "默认路"
    assert on_guess["segments"][0]["provenance"] == "default"
    on_way = check_route(m, line((100, 100), (300, 100)), 0.4).to_dict("zh")
    assert on_way["basis"] == "surveyed" and on_way["assumptions"] == []


def test_without_a_date_the_deadline_counts_from_today_and_says_so():
    import datetime as dt

    street = road("S", [(0, 0), (400, 0)], motor=10, bike=0, sidewalk=3)
    m = make_map([street])
    v = check_route(m, line((0, 0), (300, 0)), 0.4).to_dict("en")  # across motor lanes
    deadline = v["approval_deadline"]
    assert deadline["date_assumed"] is True and "today" in deadline["note"]
    assert dt.date.fromisoformat(deadline["date"]) > dt.date.today()


def test_a_point_beside_an_isolated_fragment_joins_the_connected_network():
    """A door nearest to a stair that connects nowhere joins the street that reaches the
    assets instead, and says so (issue 14, item 10)."""
    from onemap.routing import best_route
    from onemap.routing.build import corridor_graph
    from routing.streets import asset

    street = road("S", [(0, 0), (400, 0)], motor=10, bike=0, sidewalk=3)
    stair = {  # a path fragment connected to nothing (e.g. a platform of a subway stair)
        **road("STAIR", [(190, 30), (210, 30)], motor=0, bike=0, sidewalk=2),
        "strip_kind": "footway",
    }
    m = make_map([street, stair], assets=[asset("T1", 350, 9)])
    g = corridor_graph(m)
    loc = g.locate_xy(*at_xy(200, 33))  # 3 m from the stair, 25 m from the sidewalk
    assert loc.isolated_nearest is True
    assert g.reaching()[loc.u]
    from onemap.geo.crs import metric_to_lonlat

    a = metric_to_lonlat(*at_xy(200, 33), m.crs_metric)
    b = metric_to_lonlat(*at_xy(350, 9), m.crs_metric)
    result = best_route(m, a, b, 0.4)
    assert result.shortest_route is not None  # a route, not "no route"


def at_xy(x: float, y: float) -> tuple[float, float]:
    from routing.streets import at

    return at(x, y)


def test_a_route_across_the_street_crosses_where_a_designer_would():
    """Issue 14, item 8: from a door to a transformer straight across a 10 m carriageway, the
    route overall crosses at the door (within 1.3× the straight line), not at the setback
    crossing 150 m away; its verdict names the crossing (motor-lane occupation)."""
    from onemap.geo.crs import metric_to_lonlat
    from onemap.routing import best_route
    from routing.streets import asset

    street = road("S", [(0, 0), (600, 0)], motor=10, bike=0, sidewalk=3)
    home = parcel("HOME", 280, 9, 320, 60)
    m = make_map([street], parcels=[home], assets=[asset("T1", 300, -9)])
    a = metric_to_lonlat(*at_xy(300, 9.5), m.crs_metric)
    b = metric_to_lonlat(*at_xy(300, -9), m.crs_metric)
    r = best_route(m, a, b, 0.4)
    straight = 18.5
    assert r.shortest_route is not None
    assert r.shortest_route.length_m <= 1.3 * straight
    assert "OCCUPIES_MOTOR_LANE" in r.shortest_route.filing.codes


def test_the_service_connection_covers_only_the_customers_own_parcel():
    """Issue 14, item 4: a route from inside the customer's parcel to the sidewalk is a service
    connection at its end; the same short run through a neighbour's farm or a park is judged
    (before, any end run up to attach_max_m = 60 m was free)."""
    street = road("S", [(0, 0), (400, 0)], motor=10, bike=0, sidewalk=3)
    home = parcel("HOME", 100, 30, 140, 60)  # the customer's parcel, behind the farm's row
    farm = parcel("FARM", 140, 9, 180, 60, code="0101")  # a neighbour's farm up to the road
    park = parcel("PARK", 60, 9, 100, 60, code="1401")
    m = make_map([street], parcels=[home, farm, park])
    # 10 m in the home, 10 + 33 m across the farm, then the sidewalk: ~54 m < 60 m
    via_farm = check_route(m, line((130, 40), (150, 40), (150, 6.5), (200, 6.5)), 0.4)
    assert "OFF_CORRIDOR" in via_farm.codes
    via_park = check_route(m, line((110, 40), (90, 40), (90, 6.5), (40, 6.5)), 0.4)
    assert "OCCUPIES_GREEN_BELT" in via_park.codes
    # from the farmer's own parcel the same run is the farm's service connection
    own = check_route(m, line((160, 40), (160, 6.5), (200, 6.5)), 0.4)
    assert own.eligible and own.segments[0].corridor == "access"
