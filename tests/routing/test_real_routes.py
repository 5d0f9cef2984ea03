"""Real streets II (issue 14): routes drawn on the real geometry of named OSM ways, with the
verdict a person reads off the map. Each case draws 30 m along the middle of a way, at an
offset from its line (0: on the way itself), and prints way id, expectation and verdict."""

from __future__ import annotations

import pytest
import shapely
import shapely.ops

from onemap.geo.crs import metric_crs_for_bounds
from onemap.geo.importers.osm import osm_layers
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import OneMap
from onemap.routing import check_route

_MAPS: dict[str, OneMap] = {}


def _map(shared_data, name: str) -> OneMap:
    if name not in _MAPS:
        layers, _ = osm_layers(shared_data / "osm" / name)
        clean = {k: validate_layer(k, v)[0] for k, v in layers.items() if len(v)}
        crs = metric_crs_for_bounds(tuple(clean["roads"].total_bounds))
        _MAPS[name] = OneMap(layers=clean, crs_metric=crs)
    return _MAPS[name]


def _along(m: OneMap, road_id: str, offset: float):
    roads = m.metric("roads").set_index("road_id")
    line = roads.geometry[road_id]
    mid = line.length / 2
    piece = shapely.ops.substring(line, max(mid - 15, 0), min(mid + 15, line.length))
    return shapely.offset_curve(piece, offset) if offset else piece, roads.loc[road_id]


def _park_footway(m: OneMap) -> str:
    """A footway of its own lying inside a park (green land use) of the extract."""
    roads = m.metric("roads")
    parks = m.metric("landuse")
    parks = parks[parks["landuse_code"].isin(["1401", "1402", "1403"])]
    paths = roads[roads["strip_kind"].isin(["footway", "path"])]
    mids = shapely.line_interpolate_point(paths.geometry.values, 0.5, normalized=True)
    inside, _ = shapely.STRtree(parks.geometry.values).query(mids, predicate="within")
    long_enough = paths.geometry.length.to_numpy()[inside] > 40
    return str(paths["road_id"].to_numpy()[inside[long_enough][0]])


def _plain_motorway(m: OneMap) -> str:
    roads = m.metric("roads")
    sel = roads[(roads["highway"] == "motorway") & (roads["structure"] == "") & (roads.length > 60)]
    return str(sel["road_id"].iloc[0])


def _parking_road(m: OneMap) -> str:
    """A road whose carriageway includes a tagged parking lane (derived motor width)."""
    roads = m.metric("roads")
    sel = roads[
        (roads["strip_kind"] == "")
        & roads["xs_source"].str.contains("motor_width=derived")
        & (roads.length > 60)
        & (roads["motor_width_m"] > 9)
    ]
    return str(sel["road_id"].iloc[0])


CASES = [
    # (extract, way id or finder, offset from the way (m) or "shoulder"/"parking", eligible)
    ("streets/i5_exit_ramp.osm", "osm-w436921740", 0.0, True),  # a mapped sidewalk
    ("streets/roosevelt_cycletrack.osm", "osm-w475712746", 0.0, True),  # a mapped sidewalk
    ("helsinki.osm.pbf", "osm-w23254556", 0.0, True),  # a mapped sidewalk
    ("streets/i5_exit_ramp.osm", _plain_motorway, "shoulder", False),  # motorway shoulder
    ("streets/arizona_highways.osm", "osm-w97736474", 0.0, False),  # on a bridge deck
    ("helsinki.osm.pbf", _park_footway, 0.0, False),  # a footway through a park
    ("streets/quad_intersection.osm", _parking_road, "parking", False),  # in a parking lane
]


@pytest.mark.parametrize(("name", "way", "offset", "eligible"), CASES)
def test_real_route_verdicts(shared_data, name, way, offset, eligible):
    m = _map(shared_data, name)
    road_id = way(m) if callable(way) else way
    roads = m.metric("roads").set_index("road_id")
    half = float(roads.loc[road_id, "motor_width_m"]) / 2
    d = {"shoulder": half - 1.0, "parking": half - 1.1}.get(offset, offset)
    line, _ = _along(m, road_id, float(d))
    v = check_route(m, line, 0.4)
    print(f"{name} {road_id} offset {d:.1f} m: expected {eligible}, got {v.eligible} {v.codes}")
    assert v.eligible is eligible, v.to_dict("en")["reasons"]
    if not eligible:
        assert v.codes  # a reason a person can read
