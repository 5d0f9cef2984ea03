"""The layers of the one map (DESIGN §1) as declarative schemas.

A schema lists each layer's geometry types, id column, required and optional columns with their
kinds, allowed values, and aliases under which foreign data commonly carries a column. The
validator in :mod:`onemap.geo.layers` reads these; nothing else hard-codes column names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from onemap.messages import Message, msg

# "year": a whole calendar year within YEAR_RANGE, stored as float (NaN: no year).
Kind = Literal["str", "float", "int", "year"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    allowed: tuple[object, ...] = ()
    aliases: tuple[str, ...] = ()
    default: object = None  # value used when an optional column is absent
    # Plausibility bound of a float column (inclusive); every float must also be finite.
    maximum: float | None = None
    maximum_note: Message | str = ""  # where the bound comes from (or why it is assumed)


@dataclass(frozen=True)
class LayerSchema:
    name: str
    geometry: tuple[str, ...]
    id_column: str
    required: tuple[Column, ...]
    optional: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.required + self.optional

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point",)
STATUS = ("existing", "planned")

CROSS_SECTION = (
    "sidewalk_left_m",
    "sidewalk_right_m",
    "bike_left_m",
    "bike_right_m",
    "motor_width_m",
    "green_left_m",
    "green_right_m",
)

# Widest plausible single cross-section strip (one sidewalk, bike lane, green belt or the whole
# carriageway), in metres. Assumed, not from a standard: CJJ 37-2012 typical sections stay far
# below it (a 10-lane expressway carriageway with median is ~45 m); 100 m catches unit errors
# (cm or mm entered as m) and overflow values (inf, 1e308) that break the geometry code.
MAX_STRIP_WIDTH_M = 100.0
MAX_STRIP_WIDTH_NOTE = msg("geo.max_strip_width_note")

# Years of the map over time (issue 17 item 5): the year an element enters service, the year a
# project takes its load. Assumed plausibility bound, not from a standard: catches in-service
# flags (0/1), two-digit years and unit slips.
YEAR_RANGE = (1900, 2200)
YEAR_NOTE = msg("geo.year_note", first=YEAR_RANGE[0], last=YEAR_RANGE[1])
IN_SERVICE = "in_service"  # substations, feeders, assets: the year it enters service
EXPECTED_YEAR = "expected_year"  # projects: the year it takes its load
YEAR_LAYERS: dict[str, str] = {
    "substations": IN_SERVICE,
    "feeders": IN_SERVICE,
    "assets": IN_SERVICE,
    "projects": EXPECTED_YEAR,
}

# street_cabinet: an OSM power street cabinet (man_made=street_cabinet + street_cabinet=power);
# not a connection point (DESIGN §4 names transformers and branch boxes).
ASSET_KINDS = (
    "transformer",
    "ring_main_unit",
    "branch_box",
    "switching_station",
    "pole",
    "street_cabinet",
)
CATEGORIES = (
    "lv_residential",
    "lv_small_micro",
    "lv_non_residential",
    "hv_single",
    "hv_dual",
    "hv_important",
    "hv_35kv_plus",
)

LAYERS: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        LayerSchema(
            "landuse",
            POLYGON,
            "parcel_id",
            (
                Column("parcel_id", "str", aliases=("id", "fid", "objectid", "地块编号")),
                Column("landuse_code", "str", aliases=("code", "ydyhfl", "用地代码", "dldm")),
            ),
            (
                Column("name", "str", default=""),
                Column("far", "float", aliases=("rjl", "容积率")),
                Column("building_area_m2", "float"),
                Column("planned_load_kw", "float"),
                Column("status", "str", allowed=STATUS, default="existing"),
                Column("district", "str", default=""),
                Column("outage_hours", "float"),
                Column("area_type", "str", allowed=("city_centre", "urban", "town", "rural")),
                Column("door_lon", "float"),
                Column("door_lat", "float"),
            ),
        ),
        LayerSchema(
            "roads",
            LINE,
            "road_id",
            (Column("road_id", "str", aliases=("osm_id", "id", "fid", "objectid")),),
            # Cross-section widths are required in the stored map, but a source may omit them:
            # the build fills them per road class from data/cross_sections.toml and reports it.
            (
                *(
                    Column(c, "float", maximum=MAX_STRIP_WIDTH_M, maximum_note=MAX_STRIP_WIDTH_NOTE)
                    for c in CROSS_SECTION
                ),
                Column("name", "str", default=""),
                Column("road_class", "str", aliases=("highway", "class", "fclass", "道路等级")),
                Column("xs_source", "str", default=""),
                # A way that is one strip of its own (footway, path, steps, pedestrian,
                # cycleway, sidewalk, crossing), else "": a road with a cross-section.
                Column("strip_kind", "str", default=""),
                # Grade separation: ways are noded only with ways of their level (OSM layer);
                # structure: "", bridge, tunnel, covered, steps.
                Column("level", "int", default=0),
                Column("structure", "str", default=""),
                # 1: a driveway crossover, the sidewalk it crosses stays continuous.
                Column("crossover", "int", default=0),
            ),
        ),
        LayerSchema(
            "substations",
            POINT + POLYGON,
            "substation_id",
            (
                Column("substation_id", "str"),
                Column("voltage_kv", "float"),
                Column("capacity_mva", "float"),
                Column("peak_load_mva", "float"),
            ),
            (
                Column("name", "str", default=""),
                Column("status", "str", allowed=STATUS, default="existing"),
                Column(IN_SERVICE, "year", aliases=("投运年份",)),
            ),
        ),
        LayerSchema(
            "feeders",
            LINE,
            "feeder_id",
            (
                Column("feeder_id", "str"),
                Column("substation_id", "str"),
                Column("voltage_kv", "float", allowed=(10.0, 20.0)),
                Column("capacity_mva", "float"),
                Column("peak_load_mva", "float"),
            ),
            (
                Column("name", "str", default=""),
                Column("bus_section", "str", default=""),
                Column("status", "str", allowed=STATUS, default="existing"),
                Column(IN_SERVICE, "year", aliases=("投运年份",)),
            ),
        ),
        LayerSchema(
            "assets",
            POINT,
            "asset_id",
            (
                Column("asset_id", "str"),
                Column("kind", "str", allowed=ASSET_KINDS),
                Column("voltage_kv", "float"),
                Column("feeder_id", "str"),
            ),
            (
                Column("name", "str", default=""),
                Column("capacity_kva", "float"),
                Column("peak_load_kva", "float"),
                Column("promised_kva", "float"),
                # The transformer a branch box hangs off (its LV headroom comes from there).
                Column("transformer_id", "str", default=""),
                Column("status", "str", allowed=STATUS, default="existing"),
                Column(IN_SERVICE, "year", aliases=("投运年份",)),
            ),
        ),
        LayerSchema(
            "lines",
            LINE,
            "line_id",
            (Column("line_id", "str"), Column("voltage_kv", "float")),
            (
                Column("name", "str", default=""),
                # Topology: bus or asset ids at the line's ends (an MV/LV transformer's LV
                # busbar is named by the transformer's asset_id).
                Column("from_id", "str", default=""),
                Column("to_id", "str", default=""),
                # The LV network (transformer) or MV feeder the line belongs to.
                Column("transformer_id", "str", default=""),
                Column("feeder_id", "str", default=""),
                Column("rated_a", "float"),
                Column("capacity_kva", "float"),
                Column("length_m", "float"),
                # Cable or conductor type, e.g. "NAYY 4x150 SE", "YJV22-8.7/15 3×300".
                Column("type", "str", default=""),
                Column("status", "str", allowed=STATUS, default="existing"),
            ),
        ),
        LayerSchema(
            "ducts",
            LINE,
            "duct_id",
            (Column("duct_id", "str"),),
            (Column("name", "str", default=""),),
        ),
        LayerSchema(
            "projects",
            POINT + POLYGON,
            "project_id",
            (
                Column("project_id", "str"),
                Column("requested_kw", "float"),
                Column("category", "str", allowed=CATEGORIES),
            ),
            (
                Column("name", "str", default=""),
                Column(
                    "status", "str", allowed=("pushed", "accepted", "connected"), default="pushed"
                ),
                Column("asset_id", "str", default=""),
                Column("submitted", "str", default=""),
                Column(EXPECTED_YEAR, "year", aliases=("投产年份",)),
            ),
        ),
    )
}

LAYER_NAMES: tuple[str, ...] = tuple(LAYERS)
# Layers a map may lack altogether (the demo district and the synthetic cities have none).
OPTIONAL_LAYERS: tuple[str, ...] = ("lines",)
# The layers every full map (demo, synthetic city) carries.
CORE_LAYERS: tuple[str, ...] = tuple(n for n in LAYER_NAMES if n not in OPTIONAL_LAYERS)
