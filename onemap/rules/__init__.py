"""Rule tables: the policy numbers as versioned data (TOML), validated into typed models.

Pure functions elsewhere read a :class:`Rules` object; no policy number is written in code.
A second jurisdiction is a new TOML file (optionally ``extends`` another), not new code.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from onemap.errors import OnemapInputError

RULES_DIR = Path(__file__).parent
DEFAULT_RULES = "lianyungang-2021"

Procedure = Literal["no_approval", "commitment", "filing", "joint_review", "permits"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Meta(_Model):
    id: str
    version: str
    jurisdiction: str = ""
    policy: str = ""
    extends: str | None = None


class Tier(_Model):
    procedure: Procedure
    max_length_m: float
    inclusive: bool = False
    voltages_kv: list[float] = Field(default_factory=list)
    corridor_condition: bool = True
    eligible: bool = True
    policy_item: str = ""

    def admits(self, length_m: float, voltage_kv: float) -> bool:
        """Whether a route of this length and voltage falls in this tier's length band."""
        if self.voltages_kv and not any(abs(v - voltage_kv) < 1e-9 for v in self.voltages_kv):
            return False
        return length_m <= self.max_length_m if self.inclusive else length_m < self.max_length_m


class Filing(_Model):
    policy_item: str
    ducts_unoccupied: bool
    crossing_counts_as: Literal["motor_lane", "sidewalk"]
    min_passable_bike_m: float
    corridor_tolerance_m: float
    attach_max_m: float
    crossing_spacing_m: float
    route_search_factor: float
    trench_width_m: dict[str, float]
    tiers: list[Tier]
    permits: dict[str, list[str]]

    def trench_width(self, voltage_kv: float) -> float:
        """Trench width for a voltage; raises OnemapInputError for a voltage not in the table."""
        for key, width in self.trench_width_m.items():
            if abs(float(key) - voltage_kv) < 1e-9:
                return width
        known = ", ".join(sorted(self.trench_width_m, key=float))
        raise OnemapInputError(
            f"unknown voltage {voltage_kv} kV; the rule table knows {known} kV",
            field="voltage_kv",
        )

    @property
    def voltages_kv(self) -> list[float]:
        return sorted(float(k) for k in self.trench_width_m)

    def limit_m(self, voltage_kv: float) -> float:
        """The longest length that still qualifies for a lighter procedure than permits."""
        bounds = [
            t.max_length_m
            for t in self.tiers
            if t.eligible and (not t.voltages_kv or voltage_kv in t.voltages_kv)
        ]
        return max(bounds, default=0.0)


class Approval(_Model):
    policy_item: str
    max_voltage_kv: float
    workdays: int


class Connection(_Model):
    lv_max_kw: float
    lv_max_kw_item: str
    door_m: float
    lv_voltage_kv: float
    hv_voltage_kv: float
    power_factor: float = Field(gt=0, le=1)
    lv_point_kinds: list[str]
    hv_point_kinds: list[str]
    lv_capacity_bands_kw: list[float]
    hv_capacity_bands_kw: list[float]
    ehv_capacity_bands_kw: list[float]


class Category(_Model):
    voltage_kv: float
    steps: str
    process_workdays: int
    application_to_power_workdays: int
    sources: int = 1
    policy_item: str = ""
    max_kw: float | None = None  # None: bounded by Connection.lv_max_kw (LV)


class Works(_Model):
    policy_item: str
    lv_workdays: int
    lv_new_facilities_workdays: int
    hv_workdays: int


class Documents(_Model):
    policy_item: str
    lv: list[str]
    hv: list[str]
    lv_en: list[str]
    hv_en: list[str]
    online_note: str
    online_note_en: str


class Payer(_Model):
    policy_item: str
    new_residential: str
    other: str
    other_corridors: str


class SupplyClass(_Model):
    source: str
    order: list[str]
    min_density_mw_km2: dict[str, float]
    basis: Literal["district", "h3"] = "district"
    h3_resolution: int = Field(8, ge=0, le=15)

    def classify(self, density_mw_km2: float) -> str:
        """Supply-area class (A+ … E) of a load density in MW/km²."""
        for name in self.order:
            if density_mw_km2 >= self.min_density_mw_km2[name]:
                return name
        return self.order[-1]


class CapacityMap(_Model):
    policy_item: str
    green_min_share: float
    amber_min_share: float
    colors: dict[str, str]


class Diagnostics(_Model):
    policy_item: str
    heavy_loading_share: float


class LoadForecast(_Model):
    source: str
    demand_factor: float
    building_w_m2: dict[str, list[float]]
    land_kw_ha: dict[str, list[float]]
    categories: dict[str, list[str]]

    def category_for(self, load_class: str) -> tuple[str, str]:
        """(category at or below the LV limit, category above it) for a land-use load class."""
        low, high = self.categories.get(load_class, self.categories["default"])
        return low, high


class Tariff(_Model):
    policy_item: str
    residential: str
    general: str
    large_industry: str
    residential_en: str
    general_en: str
    large_industry_en: str
    large_industry_min_kva: float
    large_industry_load_classes: list[str]
    residential_load_classes: list[str]
    residential_categories: list[str]


class Substation(_Model):
    source: str
    transformer_kva: list[float]
    switching_station_mva: list[float]
    new_substation_mva: float
    new_substation_kv: float = 110.0
    new_feeder_kv: float = 10.0
    new_feeder_mva: float = Field(8.0, gt=0)
    candidate_landuse_codes: list[str] = Field(default_factory=lambda: ["1303"])
    siting_exact_max_pairs: int = Field(20000, ge=0)
    siting_time_limit_s: float = Field(60.0, gt=0)


class Rules(_Model):
    """A whole rule table. Load with :func:`load_rules`."""

    meta: Meta
    filing: Filing
    approval: Approval
    connection: Connection
    steps: dict[str, list[str] | str]
    steps_en: dict[str, list[str]]
    categories: dict[str, Category]
    works: Works
    documents: Documents
    payer: Payer
    supply_class: SupplyClass
    supply_radius_m: dict[str, dict[str, float] | str]
    capacity_map: CapacityMap
    diagnostics: Diagnostics
    outage_target_hours: dict[str, float | str]
    load_forecast: LoadForecast
    substation: Substation
    tariff: Tariff

    def supply_radius(self, voltage_kv: float, supply_class: str) -> float:
        """Supply radius limit (m) for a voltage and a supply-area class."""
        for key, table in self.supply_radius_m.items():
            if key != "source" and abs(float(key) - voltage_kv) < 1e-9:
                return table[supply_class]  # type: ignore[index]
        raise OnemapInputError(f"no supply radius for {voltage_kv} kV", field="voltage_kv")

    def category(self, name: str) -> Category:
        """The category named ``name``; an OnemapInputError listing the known ones otherwise."""
        try:
            return self.categories[name]
        except KeyError:
            known = ", ".join(self.categories)
            raise OnemapInputError(
                f"unknown category '{name}'; known: {known}", field="category"
            ) from None


def _deep_merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_table(source: str | Path, seen: tuple[str, ...] = ()) -> tuple[dict, Path]:
    path = Path(source)
    if not path.suffix:
        path = RULES_DIR / f"{source}.toml"
    if not path.exists():
        raise OnemapInputError("rule table not found", file=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise OnemapInputError(f"not valid TOML: {exc}", file=str(path)) from exc
    parent = data.get("meta", {}).get("extends")
    if parent:
        if parent in seen:
            raise OnemapInputError(f"rule tables extend each other in a loop: {parent}")
        base, _ = _read_table(parent, (*seen, parent))
        data = _deep_merge(base, data)
    return data, path


@lru_cache(maxsize=16)
def load_rules(source: str | Path = DEFAULT_RULES) -> Rules:
    """Load and validate a rule table by id (shipped tables) or by path.

    Errors name the file and the field, e.g. ``filing.min_passable_bike_m``.
    """
    data, path = _read_table(source)
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise OnemapInputError(first["msg"], file=str(path), field=field) from exc


def shipped_rules() -> list[str]:
    """Ids of the rule tables shipped with onemap."""
    return sorted(p.stem for p in RULES_DIR.glob("*.toml"))
