"""Reading OpenStreetMap tags: numbers with units, and a road's cross-section from its tags.

Pure functions over plain ``dict[str, str]`` tag mappings, so that every rule the OSM importer
(:mod:`onemap.geo.importers.osm`) claims can be tested on a single way. Widths that tags do not
give come
from the per-class table ``data/cross_sections.toml`` (CJJ 37 typical sections) and its ``[osm]``
lane widths; nothing here writes a width as a literal.

Each of the seven cross-section strips gets a source (its provenance):

- ``tagged``: the way's own tags state the strip (presence or absence; the width from a width
  tag when there is one, else from the class table);
- ``mapped_way``: the strip is a separately mapped way (``footway=sidewalk``, a cycle track)
  matched beside the road: the way is kept as a strip of its own along its real geometry and
  the road's side carries none (set in :mod:`onemap.geo.importers.osm`);
- ``derived``: worked out from other information: the motor width from ``lanes`` × lane width
  (plus tagged parking), from the offset of mapped sidewalks, or a carriageway ``width`` minus
  painted bike lanes; a median side of a one-way pair;
- ``default``: no tag says anything about the strip; the OSM defaults of
  ``data/cross_sections.toml`` ``[osm_defaults]`` apply — no bike lane, no green belt, a
  sidewalk only on classes that have them in practice and never on motorways or trunk roads.

Foot and cycle ways of their own (``highway=footway|path|cycleway|steps|pedestrian``) are one
strip of their whole width (:attr:`CrossSection.strip_kind`); :func:`grade` reads ``bridge``,
``tunnel``, ``layer`` and ``covered``.

Left and right are relative to the way's drawing direction, as in OSM.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from onemap.geo.layers import cross_section_table, road_class_of

TAGGED, MAPPED, DERIVED, DEFAULT = "tagged", "mapped_way", "derived", "default"
PROVENANCES = (TAGGED, MAPPED, DERIVED, DEFAULT)
SEPARATE = "separate"  # a side mapped as its own way; resolved by matching in osm.py
SIDES = ("left", "right")
STRIPS = (
    "sidewalk_left",
    "sidewalk_right",
    "bike_left",
    "bike_right",
    "motor_width",
    "green_left",
    "green_right",
)

# highway=* values that are ways for motor traffic (the rest of the class aliases are foot/cycle).
FOOT_CYCLE = frozenset({"footway", "path", "cycleway", "pedestrian", "steps"})
ONEWAY_YES = frozenset({"yes", "true", "1"})
IMPLIED_ONEWAY = frozenset({"motorway", "motorway_link"})

_NUMBER = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*([A-Za-z'\"]*)\s*$")
_FEET_INCHES = re.compile(r"^\s*(\d+)\s*'\s*(?:(\d+)\s*\")?\s*$")


def parse_number(text: object) -> tuple[float, str] | None:
    """A number and its unit suffix (lower-cased), or None: ``"7,5 m"`` → ``(7.5, "m")``."""
    if not isinstance(text, str):
        return None
    m = _NUMBER.match(text)
    if not m:
        return None
    return float(m.group(1).replace(",", ".")), m.group(2).lower()


def parse_width_m(text: object) -> float | None:
    """A width tag in metres: ``"7"``, ``"7.5 m"``, ``"3,5"``, ``"12'6\\""``, ``"80 cm"``.

    Values that are not a length (``"narrow"``, ``"2;3"``) give None: never a guess.
    """
    if not isinstance(text, str):
        return None
    feet = _FEET_INCHES.match(text)
    if feet:
        return round(int(feet.group(1)) * 0.3048 + int(feet.group(2) or 0) * 0.0254, 3)
    parsed = parse_number(text)
    if parsed is None:
        return None
    value, unit = parsed
    scale = {"": 1.0, "m": 1.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048}.get(unit)
    if scale is None or value < 0:
        return None
    return value * scale


def parse_voltage_kv(text: object) -> list[float]:
    """All voltages of a ``voltage`` tag in kV, highest first.

    OSM gives volts without a unit and separates circuits with ``;``: ``"10000;400"`` →
    ``[10.0, 0.4]``, ``"110000"`` → ``[110.0]``, ``"10 kV"`` → ``[10.0]``, ``"400 V"`` →
    ``[0.4]``. Parts that are not numbers (``"medium"``) are ignored.
    """
    if not isinstance(text, str) or not text:
        return []
    out = []
    for part in text.split(";"):
        parsed = parse_number(part)
        if parsed is None or parsed[0] <= 0:
            continue
        value, unit = parsed
        scale = {"": 1e-3, "v": 1e-3, "kv": 1.0, "mv": 1e3}.get(unit)
        if scale is not None:
            out.append(round(value * scale, 6))
    return sorted(set(out), reverse=True)


def parse_rating_kva(text: object) -> float | None:
    """A transformer ``rating`` in kVA: ``"630 kVA"``, ``"0.63 MVA"``, ``"40 MVA"``.

    A value without a unit is ambiguous (kVA or MVA) and gives None: capacities are never guessed.
    """
    parsed = parse_number(text)
    if parsed is None:
        return None
    value, unit = parsed
    scale = {"kva": 1.0, "mva": 1000.0, "va": 1e-3}.get(unit)
    return value * scale if scale is not None and value > 0 else None


def parse_count(text: object) -> int | None:
    """A lane count (``"2"``); None for anything else (``"2;3"``, ``"-1"``)."""
    if not isinstance(text, str) or not text.strip().isdigit():
        return None
    return int(text.strip())


@dataclass
class CrossSection:
    """A road's seven strip widths (m), the source of each, and its pending separate sides."""

    widths: dict[str, float]
    sources: dict[str, str]
    separate: dict[str, bool] = field(default_factory=dict)  # e.g. {"sidewalk_left": True}
    unknown_values: list[str] = field(default_factory=list)  # tag=value the rules do not know
    # "" for a road with a cross-section; the kind of a way that is one strip of its own
    # (footway, path, steps, pedestrian, cycleway, sidewalk, crossing)
    strip_kind: str = ""

    def xs_source(self) -> str:
        """Compact per-strip source: ``sidewalk_left=tagged;…;green_right=defaulted``."""
        return ";".join(f"{s}={self.sources[s]}" for s in STRIPS)


def _side_tag(tags: Mapping[str, str], key: str, side: str, suffix: str = "") -> str | None:
    return tags.get(f"{key}:{side}{suffix}") or tags.get(f"{key}:both{suffix}")


def is_oneway(tags: Mapping[str, str], highway: str) -> int:
    """+1 one-way along the drawing direction, -1 against it, 0 two-way."""
    value = tags.get("oneway", "")
    if value == "-1":
        return -1
    if value in ONEWAY_YES:
        return 1
    if value == "no":
        return 0
    if highway in IMPLIED_ONEWAY or tags.get("junction") in ("roundabout", "circular"):
        return 1
    return 0


BRIDGE_VALUES = frozenset(
    {"yes", "viaduct", "boardwalk", "cantilever", "covered", "movable", "trestle", "aqueduct"}
)
TUNNEL_VALUES = frozenset({"yes", "building_passage", "culvert", "avalanche_protector"})


def grade(tags: Mapping[str, str]) -> tuple[int, str]:
    """``(level, structure)`` of a way: its ``layer`` (default 1 on a bridge, -1 in a tunnel,
    else 0) and ``bridge`` / ``tunnel`` (also ``tunnel=building_passage``) / ``covered``
    (``covered=yes``) / ``steps`` / ``""``. Ways are noded only with ways of their level.

    >>> grade({"highway": "primary", "bridge": "yes"})
    (1, 'bridge')
    >>> grade({"highway": "footway", "tunnel": "building_passage"})
    (0, 'tunnel')
    """
    structure = ""
    if tags.get("bridge", "no") in BRIDGE_VALUES:
        structure = "bridge"
    elif tags.get("tunnel", "no") in TUNNEL_VALUES:
        structure = "tunnel"
    elif tags.get("covered", "no") == "yes":
        structure = "covered"
    elif tags.get("highway") == "steps":
        structure = "steps"
    try:
        layer: int | None = int(tags.get("layer", "").strip())
    except ValueError:
        layer = None
    if layer is None:
        passage = tags.get("tunnel") == "building_passage"
        layer = {"bridge": 1, "tunnel": 0 if passage else -1}.get(structure, 0)
    return int(layer), structure


def parking_width(tags: Mapping[str, str], side: str, table: Mapping[str, float]) -> float:
    """Width (m) a tagged parking lane adds to the carriageway on one side (0 if none)."""
    for key in (f"parking:lane:{side}", "parking:lane:both", f"parking:{side}:orientation"):
        value = tags.get(key)
        if value in table:
            return float(table[value])
    value = tags.get(f"parking:{side}") or tags.get("parking:both")
    if value in ("lane", "street_side"):
        return float(table[value])
    return 0.0


_SIDEWALK_BASE = {
    "both": ("yes", "yes"),
    "yes": ("yes", "yes"),  # ambiguous in OSM; read as both, as most data consumers do
    "left": ("yes", "no"),
    "right": ("no", "yes"),
    "no": ("no", "no"),
    "none": ("no", "no"),
    "separate": (SEPARATE, SEPARATE),
}
_SIDEWALK_SIDE = {"yes": "yes", "no": "no", "none": "no", SEPARATE: SEPARATE}
_CYCLE_SIDE = {
    "lane": "lane",
    "track": "track",
    "opposite_lane": "lane",
    "opposite_track": "track",
    "no": "no",
    "none": "no",
    "shared_lane": "no",  # cyclists share the motor lane: no strip of their own
    "share_busway": "no",
    "opposite": "no",  # contraflow cycling allowed, no lane
    SEPARATE: SEPARATE,
}


def sidewalk_sides(tags: Mapping[str, str], unknown: list[str]) -> dict[str, str | None]:
    """``{"left": yes|no|separate|None, "right": …}`` from ``sidewalk`` and ``sidewalk:*``."""
    sides: dict[str, str | None] = {"left": None, "right": None}
    base = tags.get("sidewalk")
    if base is not None:
        if base in _SIDEWALK_BASE:
            sides["left"], sides["right"] = _SIDEWALK_BASE[base]
        else:
            unknown.append(f"sidewalk={base}")
    for side in SIDES:
        for key in ("sidewalk:both", f"sidewalk:{side}"):  # the specific key wins
            value = tags.get(key)
            if value is None:
                continue
            if value in _SIDEWALK_SIDE:
                sides[side] = _SIDEWALK_SIDE[value]
            else:
                unknown.append(f"{key}={value}")
    return sides


def cycleway_sides(
    tags: Mapping[str, str], oneway: int, unknown: list[str]
) -> dict[str, str | None]:
    """``{"left": lane|track|no|separate|None, "right": …}`` from ``cycleway`` and its sides.

    ``cycleway=lane/track`` on a one-way road is one lane with the traffic (right of the travel
    direction); ``opposite_lane/opposite_track`` is the contraflow lane on the other side.
    """
    sides: dict[str, str | None] = {"left": None, "right": None}
    base = tags.get("cycleway")
    if base is not None:
        kind = _CYCLE_SIDE.get(base)
        if kind is None:
            unknown.append(f"cycleway={base}")
        elif base.startswith("opposite_"):
            # contraflow: left of a forward one-way, right of a reversed one
            sides["left"], sides["right"] = (kind, "no") if oneway >= 0 else ("no", kind)
        elif kind in ("lane", "track") and oneway:
            sides["left"], sides["right"] = ("no", kind) if oneway > 0 else (kind, "no")
        else:
            sides["left"] = sides["right"] = kind
    for side in SIDES:
        for key in ("cycleway:both", f"cycleway:{side}"):
            value = tags.get(key)
            if value is None:
                continue
            if value in _CYCLE_SIDE:
                sides[side] = _CYCLE_SIDE[value]
            else:
                unknown.append(f"{key}={value}")
    return sides


def infer_cross_section(tags: Mapping[str, str]) -> CrossSection:
    """The cross-section of one OSM highway way from its tags (see the module doc for sources).

    Motor ways: sidewalks and bike strips per side from ``sidewalk*``/``cycleway*`` tags and
    their ``:width`` tags; the carriageway from ``width`` (minus painted bike lanes), else
    ``lanes`` (or ``lanes:forward`` + ``lanes:backward``) × lane width, else half the class
    carriageway (``oneway_class_share``, at least one lane) for a one-way road, else the class
    default. Foot and cycle ways are one strip of their own (:func:`_foot_cycle_section`).
    """
    table = cross_section_table()
    highway = tags.get("highway", "")
    cls = road_class_of(highway)
    d = table["classes"][cls]
    osm = table["osm"]
    widths: dict[str, float] = {}
    sources: dict[str, str] = {}
    unknown: list[str] = []
    separate: dict[str, bool] = {}
    width = parse_width_m(tags.get("width"))

    if highway in FOOT_CYCLE:
        return _foot_cycle_section(tags, highway, d, osm, width)

    od = table["osm_defaults"]
    # Silent sides get a sidewalk only on classes that have them, never on motorways/trunks.
    walk_default = cls in od["sidewalk_classes"] and highway not in od["no_walk_highways"]
    oneway = is_oneway(tags, highway)
    walk = sidewalk_sides(tags, unknown)
    bike = cycleway_sides(tags, oneway, unknown)
    for side in SIDES:
        kind = walk[side]
        key = f"sidewalk_{side}"
        tagged_w = parse_width_m(
            _side_tag(tags, "sidewalk", side, ":width") or tags.get("sidewalk:width")
        )
        if kind is None:
            widths[key] = float(d["sidewalk_m"]) if walk_default else 0.0
            sources[key] = DEFAULT
        elif kind == "no":
            widths[key], sources[key] = 0.0, TAGGED
        else:
            widths[key] = tagged_w if tagged_w is not None else float(d["sidewalk_m"])
            sources[key] = TAGGED
            separate[key] = kind == SEPARATE
        kind = bike[side]
        key = f"bike_{side}"
        tagged_w = parse_width_m(
            _side_tag(tags, "cycleway", side, ":width") or tags.get("cycleway:width")
        )
        lane_default = float(d["bike_m"]) or float(osm["bike_lane_m"])
        if kind is None:
            widths[key] = float(d["bike_m"]) if od["silent_bike"] else 0.0
            sources[key] = DEFAULT
        elif kind == "no":
            widths[key], sources[key] = 0.0, TAGGED
        else:
            widths[key] = tagged_w if tagged_w is not None else lane_default
            sources[key] = TAGGED
            separate[key] = kind == SEPARATE
        widths[f"green_{side}"] = float(d["green_m"]) if od["silent_green"] else 0.0
        sources[f"green_{side}"] = DEFAULT

    lanes = parse_count(tags.get("lanes"))
    fwd, bwd = parse_count(tags.get("lanes:forward")), parse_count(tags.get("lanes:backward"))
    if lanes is None and fwd is not None and (bwd is not None or oneway):
        lanes = fwd + (bwd or 0) + (parse_count(tags.get("lanes:both_ways")) or 0)
    if width is not None:
        painted = sum(widths[f"bike_{s}"] for s in SIDES if bike[s] == "lane")
        if 0 < painted < width:
            widths["motor_width"], sources["motor_width"] = width - painted, DERIVED
        else:
            widths["motor_width"], sources["motor_width"] = width, TAGGED
    elif lanes is not None:
        parking = sum(parking_width(tags, side, od["parking_m"]) for side in SIDES)
        widths["motor_width"] = lanes * float(osm["lane_width_m"]) + parking
        sources["motor_width"] = DERIVED
    elif oneway:
        share = float(od["oneway_class_share"])
        widths["motor_width"] = max(share * float(d["motor_width_m"]), float(osm["lane_width_m"]))
        sources["motor_width"] = DERIVED
    else:
        widths["motor_width"], sources["motor_width"] = float(d["motor_width_m"]), DEFAULT
    return CrossSection(widths, sources, separate, unknown)


def _foot_cycle_section(tags, highway: str, d: dict, osm: dict, width: float | None):
    """A foot or cycle way as one strip of its own, its whole width centred on the line.

    The width is the ``width`` tag, else ``[osm_defaults]`` ``footway_m`` / ``cycleway_m`` /
    ``sidewalk_way_m``. The seven columns still describe it (two halves of the strip on the
    sidewalk or bike columns) so every reader of the layer sees a walkway or a cycle track;
    :attr:`CrossSection.strip_kind` tells the corridor model to make it one strip, so that
    passability is judged on the whole width.
    """
    od = cross_section_table()["osm_defaults"]
    shared = highway == "cycleway" and tags.get("foot") in ("designated", "yes")
    if tags.get("footway") == "sidewalk":
        kind, default = "sidewalk", od["sidewalk_way_m"]
    elif tags.get("footway") == "crossing" or tags.get("cycleway") == "crossing":
        kind, default = "crossing", od["footway_m"]
    elif highway == "cycleway" and not shared:
        kind, default = "cycleway", od["cycleway_m"]
    else:
        kind, default = ("path" if shared else highway), od["footway_m"]
    total = width if width is not None else float(default)
    src = TAGGED if width is not None else DEFAULT
    column = "bike" if kind == "cycleway" else "sidewalk"
    other = "sidewalk" if column == "bike" else "bike"
    widths: dict[str, float] = {"motor_width": 0.0}
    sources: dict[str, str] = {"motor_width": TAGGED}
    for side in SIDES:
        widths[f"{column}_{side}"], sources[f"{column}_{side}"] = total / 2, src
        widths[f"{other}_{side}"], sources[f"{other}_{side}"] = 0.0, TAGGED
        widths[f"green_{side}"], sources[f"green_{side}"] = 0.0, TAGGED
    return CrossSection(widths, sources, {}, [], strip_kind=kind)
