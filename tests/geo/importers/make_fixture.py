"""Writes ``all_tags.osm``: the hand-made OSM fixture of the importer tests.

Run ``python tests/geo/importers/make_fixture.py`` after changing a line below. Every road is a
100 m way drawn west → east, 100 m north of the previous one, so that "left" is north; a
separately mapped sidewalk or cycleway runs 8 m beside it. Expected results are in
``test_osm_fixture.py``, written by hand from the OSM wiki, not from the importer.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

LON0, LAT0 = 8.0, 45.0
M_LAT = 1 / 111_320.0
M_LON = 1 / (111_320.0 * math.cos(math.radians(LAT0)))

# (way id, tags, [(offset_m, tags) of ways beside it: + left/north, - right/south])
ROADS: list[tuple[int, dict[str, str], list[tuple[float, dict[str, str]]]]] = [
    (101, {"highway": "residential", "sidewalk": "both"}, []),
    (102, {"highway": "residential", "sidewalk": "no"}, []),
    (103, {"highway": "residential", "sidewalk": "none"}, []),
    (104, {"highway": "residential", "sidewalk": "left"}, []),
    (105, {"highway": "residential", "sidewalk": "right"}, []),
    (106, {"highway": "residential", "sidewalk": "yes"}, []),
    (
        107,
        {"highway": "residential", "sidewalk": "separate"},
        [
            (8, {"highway": "footway", "footway": "sidewalk", "width": "2"}),
            (-8, {"highway": "footway", "footway": "sidewalk"}),
        ],
    ),
    (108, {"highway": "residential", "sidewalk": "separate"}, []),
    (109, {"highway": "residential"}, [(8, {"highway": "footway", "footway": "sidewalk"})]),
    (
        110,
        {
            "highway": "residential",
            "sidewalk:left": "yes",
            "sidewalk:right": "no",
            "sidewalk:left:width": "2.2",
        },
        [],
    ),
    (
        111,
        {"highway": "residential", "sidewalk:both": "yes", "sidewalk:both:width": "1.8"},
        [],
    ),
    (
        112,
        {"highway": "residential", "sidewalk:left": "separate", "sidewalk:right": "yes"},
        [(8, {"highway": "footway", "footway": "sidewalk", "width": "2.4"})],
    ),
    (113, {"highway": "residential", "sidewalk": "both", "sidewalk:right": "no"}, []),
    (
        114,
        {"highway": "residential", "sidewalk": "no"},
        [(-8, {"highway": "footway", "footway": "sidewalk"})],
    ),
    (115, {"highway": "residential", "cycleway": "lane"}, []),
    (116, {"highway": "residential", "cycleway": "track", "oneway": "yes"}, []),
    (117, {"highway": "residential", "cycleway": "lane", "oneway": "-1"}, []),
    (118, {"highway": "residential", "cycleway": "opposite", "oneway": "yes"}, []),
    (119, {"highway": "residential", "cycleway": "opposite_lane", "oneway": "yes"}, []),
    (
        120,
        {
            "highway": "residential",
            "cycleway": "opposite_track",
            "oneway": "yes",
            "cycleway:width": "1.6",
        },
        [],
    ),
    (
        121,
        {
            "highway": "residential",
            "cycleway:left": "lane",
            "cycleway:right": "track",
            "cycleway:right:width": "2.0",
        },
        [],
    ),
    (122, {"highway": "residential", "cycleway:both": "no"}, []),
    (123, {"highway": "residential", "cycleway": "shared_lane"}, []),
    (
        124,
        {"highway": "residential", "cycleway": "separate"},
        [(-8, {"highway": "cycleway", "width": "1.8"})],
    ),
    (125, {"highway": "residential"}, [(8, {"highway": "cycleway"})]),
    (126, {"highway": "residential", "cycleway": "no", "cycleway:right": "lane"}, []),
    (127, {"highway": "residential", "width": "9", "cycleway": "lane"}, []),
    (128, {"highway": "residential", "width": "7.5"}, []),
    (129, {"highway": "residential", "width": "8 m", "lanes": "2"}, []),
    (130, {"highway": "residential", "lanes": "3"}, []),
    (131, {"highway": "residential", "lanes:forward": "2", "lanes:backward": "1"}, []),
    (132, {"highway": "residential", "oneway": "yes"}, []),
    (133, {"highway": "primary", "oneway": "yes"}, []),
    (134, {"highway": "motorway"}, []),
    (135, {"highway": "residential", "junction": "roundabout"}, []),
    (136, {"highway": "tertiary", "name": "默认路"}, []),
    (137, {"highway": "residential", "lanes": "2;3", "width": "narrow"}, []),
    (138, {"highway": "footway", "width": "3"}, []),
    (139, {"highway": "path"}, []),
    (140, {"highway": "steps"}, []),
    (141, {"highway": "pedestrian"}, []),
    (142, {"highway": "cycleway"}, []),
    (143, {"highway": "cycleway", "foot": "designated", "width": "4"}, []),
    (144, {"highway": "footway", "footway": "crossing"}, []),
    (145, {"highway": "proposed"}, []),
    (146, {"highway": "residential", "sidewalk": "bogus"}, []),
]

# (node id, tags) for power points, placed along a row south of the roads
POWER_NODES = [
    (9001, {"power": "substation", "voltage": "110000;10000", "name": "北站"}),
    (9002, {"power": "substation", "substation": "minor_distribution"}),
    (9003, {"power": "substation", "voltage": "10000;400"}),
    (9004, {"power": "substation", "voltage": "20000"}),
    (9005, {"power": "substation"}),
    (9006, {"power": "transformer", "rating": "630 kVA", "voltage": "10 kV"}),
    (9007, {"power": "transformer", "rating": "0.4 MVA"}),
    (9008, {"power": "transformer", "rating": "630"}),
    (9009, {"power": "transformer", "voltage:primary": "110000"}),
    (9010, {"power": "pole", "voltage": "10000"}),
    (9011, {"power": "switch"}),
    (9012, {"power": "cable_distribution_cabinet"}),
    (9013, {"power": "cabinet"}),
    (9014, {"power": "box"}),
    (9015, {"power": "tower"}),
]
POWER_LINES = [
    (801, {"power": "line", "voltage": "110000"}),
    (802, {"power": "minor_line", "voltage": "10000;400"}),
    (803, {"power": "cable", "voltage": "20 kV"}),
    (804, {"power": "minor_line"}),
    (805, {"power": "line", "voltage": "400"}),
]
# closed ways: (way id, tags, (x0, y0, size) in metres), east of the roads
AREAS = [
    (701, {"landuse": "residential"}, (300, 0, 200)),
    (702, {"building": "yes"}, (320, 20, 20)),  # inside 701, unmapped value
    (703, {"building": "apartments"}, (360, 20, 20)),  # inside 701: not a parcel of its own
    (704, {"building": "school"}, (600, 0, 30)),
    (705, {"amenity": "school", "building": "yes"}, (700, 0, 30)),
    (706, {"leisure": "park"}, (800, 0, 50)),
    (707, {"landuse": "bogus"}, (900, 0, 30)),
    (708, {"power": "substation", "voltage": "35 kV", "name": "35kV站"}, (1000, 0, 40)),
    (709, {"building": "hospital", "area": "yes"}, (1100, 0, 30)),
    (710, {"highway": "pedestrian", "area": "yes"}, (1200, 0, 30)),
]
# a multipolygon relation: outer ring 711, inner ring 712
MULTIPOLYGON = (601, {"type": "multipolygon", "landuse": "industrial"}, (711, 712))


class Writer:
    def __init__(self) -> None:
        self.nodes: list[tuple[int, str]] = []
        self.ways: list[tuple[int, str]] = []
        self.next_node = 1

    def node(self, x: float, y: float, tags: dict[str, str] | None = None, nid=None) -> int:
        nid = nid or self.next_node
        self.next_node = max(self.next_node, nid) + 1
        lon, lat = LON0 + x * M_LON, LAT0 + y * M_LAT
        head = f'  <node id="{nid}" version="1" lat="{lat:.8f}" lon="{lon:.8f}"'
        if tags:
            self.nodes.append((nid, head + ">\n" + _tags(tags) + "  </node>"))
        else:
            self.nodes.append((nid, head + "/>"))
        return nid

    def way(self, wid: int, refs: list[int], tags: dict[str, str] | None) -> None:
        body = "".join(f'    <nd ref="{r}"/>\n' for r in refs) + _tags(tags or {})
        self.ways.append((wid, f'  <way id="{wid}" version="1">\n{body}  </way>'))

    def square(self, wid: int, x0: float, y0: float, size: float, tags) -> None:
        a = self.node(x0, y0)
        refs = [a, self.node(x0 + size, y0), self.node(x0 + size, y0 + size)]
        refs += [self.node(x0, y0 + size), a]
        self.way(wid, refs, tags)


def _tags(tags: dict[str, str]) -> str:
    return "".join(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>\n" for k, v in tags.items())


def build() -> str:
    w = Writer()
    side_id = 1001
    for i, (wid, tags, beside) in enumerate(ROADS):
        y = i * 100.0
        w.way(wid, [w.node(0, y), w.node(100, y)], tags)
        for offset, side_tags in beside:
            # the sidewalk is drawn slightly shorter, like a real one stopping before junctions
            w.way(side_id, [w.node(5, y + offset), w.node(95, y + offset)], side_tags)
            side_id += 1
    for j, (nid, tags) in enumerate(POWER_NODES):
        w.node(j * 20.0, -200.0, tags, nid=nid)
    for j, (wid, tags) in enumerate(POWER_LINES):
        y = -300.0 - j * 30.0
        w.way(wid, [w.node(0, y), w.node(50, y), w.node(100, y)], tags)
    for wid, tags, (x0, y0, size) in AREAS:
        w.square(wid, x0, y0, size, tags)
    rid, rtags, (outer, inner) = MULTIPOLYGON
    w.square(outer, 1300, 0, 100, None)
    w.square(inner, 1330, 30, 20, None)
    members = (
        f'    <member type="way" ref="{outer}" role="outer"/>\n'
        f'    <member type="way" ref="{inner}" role="inner"/>\n'
    )
    relation = f'  <relation id="{rid}" version="1">\n{members}{_tags(rtags)}  </relation>'
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<osm version="0.6" generator="onemap tests/importers/make_fixture.py">\n'
        # OSM files list nodes, then ways, then relations, each sorted by id
        + "\n".join([t for _, t in sorted(w.nodes)] + [t for _, t in sorted(w.ways)] + [relation])
        + "\n</osm>\n"
    )


if __name__ == "__main__":
    Path(__file__).with_name("all_tags.osm").write_text(build(), encoding="utf-8")
