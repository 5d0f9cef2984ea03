"""The rule table's typed model and its loader.

Pure functions elsewhere read a :class:`Rules` object; no policy number is written in code.
A second jurisdiction is a new TOML file (optionally ``extends`` another), not new code.
The look-ups every layer shares live here, once: the length-tier match
(:meth:`Filing.admits`, :meth:`Filing.tier_for`), the trench width and the supply radius
(:meth:`Rules.supply_radius`, :meth:`Rules.radius_voltage`).
"""

from __future__ import annotations

import hashlib
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from onemap.errors import OnemapInputError
from onemap.messages import msg
from onemap.units import KV_TOLERANCE, kv_in, kv_key

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

    def applies(self, voltage_kv: float) -> bool:
        """Whether this tier covers a voltage (a tier without voltages covers all)."""
        return not self.voltages_kv or kv_in(voltage_kv, self.voltages_kv)

    def admits(self, length_m: float | np.ndarray, voltage_kv: float) -> bool | np.ndarray:
        """Whether routes of these lengths (a number or an array) and this voltage fall in the
        tier's length band: the one length match of onemap (exact at the bound, as the policy
        text reads: "小于1000米" is strict unless the table says ``inclusive``)."""
        length = np.asarray(length_m, dtype=float)
        if not self.applies(voltage_kv):
            out = np.zeros(length.shape, dtype=bool)
        else:
            out = length <= self.max_length_m if self.inclusive else length < self.max_length_m
        return bool(out) if out.ndim == 0 else out


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
    # Strips on these structures are not filing-eligible (ON_STRUCTURE); see the table.
    structures: list[str] = Field(default_factory=lambda: ["bridge", "tunnel", "covered", "steps"])
    # Cost per metre of a route's corridor relative to a walkway, for the route search only
    # (lengths are reported as they are). Assumed; see the table.
    route_cost: dict[str, float] = Field(
        default_factory=lambda: {"motor_lane": 5.0, "crossing": 2.0, "green_belt": 2.0}
    )
    # A guessed side strip (class default) with this share of its length on another road's
    # carriageway is not the street's (a dual carriageway's inner side). Assumed; see the table.
    overlap_trim_share: float = 0.5
    # Land-use codes of green space: a route through such a parcel occupies green (item 2).
    green_landuse_codes: list[str] = Field(default_factory=lambda: ["1401", "1402", "1403"])

    def trench_width(self, voltage_kv: float) -> float:
        """Trench width for a voltage; raises OnemapInputError for a voltage not in the table."""
        key = kv_key(self.trench_width_m, voltage_kv)
        if key is not None:
            return self.trench_width_m[key]
        known = ", ".join(sorted(self.trench_width_m, key=float))
        raise OnemapInputError(
            msg("rules.unknown_voltage", voltage_kv=voltage_kv, known=known),
            field="voltage_kv",
        )

    @property
    def voltages_kv(self) -> list[float]:
        return sorted(float(k) for k in self.trench_width_m)

    def covers(self, voltage_kv: float) -> bool:
        """Whether the filing rule has a trench width (so a verdict) for a voltage."""
        return kv_in(voltage_kv, self.voltages_kv)

    def limit_tier(self, voltage_kv: float) -> Tier | None:
        """The eligible tier with the longest length band at a voltage (None: none applies)."""
        tiers = [t for t in self.tiers if t.eligible and t.applies(voltage_kv)]
        return max(tiers, key=lambda t: t.max_length_m, default=None)

    def limit_m(self, voltage_kv: float) -> float:
        """The longest length that still qualifies for a lighter procedure than permits."""
        tier = self.limit_tier(voltage_kv)
        return tier.max_length_m if tier is not None else 0.0

    def admits(self, length_m: float | np.ndarray, voltage_kv: float) -> bool | np.ndarray:
        """Whether route lengths fall in a tier that needs no permits (item 2)."""
        length = np.asarray(length_m, dtype=float)
        ok = np.zeros(length.shape, dtype=bool)
        for tier in self.tiers:
            if tier.eligible:
                ok |= tier.admits(length, voltage_kv)
        return bool(ok) if ok.ndim == 0 else ok

    def tier_for(self, length_m: float, voltage_kv: float, corridor_ok: bool) -> Tier | None:
        """The first tier whose length band and voltage admit the route and whose corridor
        condition (if it has one) holds; None when no tier does (the route needs permits)."""
        for tier in self.tiers:
            if tier.admits(length_m, voltage_kv) and (corridor_ok or not tier.corridor_condition):
                return tier
        return None


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


class CostRate(_Model):
    """One unit cost of the cost estimate (item 7): yuan per unit, marked assumed, with source."""

    yuan: float = Field(ge=0)
    unit: str
    assumed: bool = True
    source: str
    name: str = ""
    name_en: str = ""


class Cost(_Model):
    """Unit costs of the connection works (items 7, 9); every rate names its source."""

    policy_item: str = "7, 9"
    currency: str = "CNY"
    source: str = ""
    default_works: str
    corridor_works: dict[str, str]
    cable: dict[str, CostRate]
    works: dict[str, CostRate]
    facilities: dict[str, CostRate] = Field(default_factory=dict)

    def cable_rate(self, voltage_kv: float) -> CostRate | None:
        """The cable rate of a voltage (None: the table has no rate for it)."""
        key = kv_key(self.cable, voltage_kv)
        return self.cable[key] if key is not None else None


class LvMain(_Model):
    """Tee joints on LV mains (connection point kind ``lv_main``); see the rule table."""

    source: str = ""
    enabled: bool = True
    sample_m: float = Field(20.0, gt=0)
    snap_m: float = Field(15.0, ge=0)
    service_max_m: float = Field(40.0, ge=0)
    voltage_deviation: float = Field(0.07, gt=0, lt=1)
    voltage_deviation_source: str = "GB/T 12325-2008"
    r_ohm_per_km: float = Field(0.208, gt=0)
    x_ohm_per_km: float = Field(0.08, ge=0)


class PowerFlow(_Model):
    """Limits and assumptions of the power-flow-verified headroom (pandapower)."""

    source: str = "GB/T 12325-2008"
    min_voltage_pu: float = Field(0.93, gt=0)
    max_voltage_pu: float = Field(1.07, gt=0)
    max_line_loading_pct: float = Field(100.0, gt=0)
    max_trafo_loading_pct: float = Field(100.0, gt=0)
    source_vm_pu: float = Field(1.0, gt=0)
    trafo_vk_percent: float = Field(4.0, gt=0)
    trafo_vkr_percent: float = Field(1.0, ge=0)
    max_buses: int = Field(20000, gt=0)


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
    cost: Cost | None = None  # unit costs of the cost estimate (None: no estimate)
    lv_main: LvMain = Field(default_factory=LvMain)
    power_flow: PowerFlow = Field(default_factory=PowerFlow)

    _digest: str | None = PrivateAttr(default=None)

    @property
    def digest(self) -> str:
        """SHA-256 of the whole validated table: caches key on it (never on ``id()``)."""
        if self._digest is None:
            self._digest = hashlib.sha256(self.model_dump_json().encode()).hexdigest()
        return self._digest

    def supply_radius(self, voltage_kv: float, supply_class: str) -> float:
        """Supply radius limit (m) for a voltage row of the table and a supply-area class."""
        key = kv_key(self.supply_radius_m, voltage_kv)
        if key is None:
            raise OnemapInputError(
                msg("rules.no_radius", voltage_kv=voltage_kv), field="voltage_kv"
            )
        return self.supply_radius_m[key][supply_class]  # type: ignore[index]

    def supply_radii(self, voltage_kv: float, supply_class: np.ndarray) -> np.ndarray:
        """:meth:`supply_radius` for an array of supply-area classes (one look-up per class)."""
        classes = np.asarray(supply_class, dtype=object)
        table = {c: self.supply_radius(voltage_kv, c) for c in set(classes.tolist())}
        return np.array([table[c] for c in classes.tolist()], dtype=float)

    def radius_voltage(self, voltage_kv: float) -> float:
        """The supply-radius row that applies to a voltage: the largest row at or below it
        (≥ 35 kV categories use the 35 kV row), else the smallest row."""
        rows = sorted(float(k) for k in self.supply_radius_m if k != "source")
        fits = [r for r in rows if r <= voltage_kv + KV_TOLERANCE]
        return fits[-1] if fits else rows[0]

    def category(self, name: str) -> Category:
        """The category named ``name``; an OnemapInputError listing the known ones otherwise."""
        try:
            return self.categories[name]
        except KeyError:
            known = ", ".join(self.categories)
            raise OnemapInputError(
                msg("rules.unknown_category", name=name, known=known), field="category"
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
        raise OnemapInputError(msg("rules.not_found"), file=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise OnemapInputError(msg("common.invalid_toml", exc=exc), file=str(path)) from exc
    parent = data.get("meta", {}).get("extends")
    if parent:
        if parent in seen:
            raise OnemapInputError(msg("rules.extend_loop", parent=parent))
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
        raise OnemapInputError(
            msg("common.invalid_value", detail=first["msg"]), file=str(path), field=field
        ) from exc


def shipped_rules() -> list[str]:
    """Ids of the rule tables shipped with onemap."""
    return sorted(p.stem for p in RULES_DIR.glob("*.toml"))
