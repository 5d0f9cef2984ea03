"""Typed request and response bodies of the JSON API (DESIGN §8), shown in the OpenAPI docs.

Response models allow extra keys: the library may add keys ("more keys are welcome") without
the API dropping them. Request models forbid unknown keys so typos are caught with a 422.

The OpenAPI document is part of the recorded contract (DESIGN §8, ``tests/contract``). Where a
field's real type is known but the recorded document says "any value", the field is typed and
validated as it is and keeps its recorded schema with :func:`as_recorded`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from onemap.geo.schema import CATEGORIES

Category = Literal[CATEGORIES]  # type: ignore[valid-type]


def as_recorded(schema: dict[str, Any]) -> WithJsonSchema:
    """The field's JSON schema as recorded in the contract, whatever its Python type.

    Parameters
    ----------
    schema
        The field's schema in the recorded ``/openapi.json`` (without the title pydantic adds).

    Returns
    -------
    WithJsonSchema
        An annotation for ``Annotated[type, as_recorded(...)]``.
    """
    return WithJsonSchema(schema)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(Open):
    """Every 4xx answer: ``message`` is one line a person can act on."""

    message: str = Field(examples=["field 'kw': Input should be greater than 0"])
    file: str | None = None
    layer: str | None = None
    row: int | str | None = None
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


class HealthOut(Open):
    status: Literal["ok"]
    version: str
    map: str | None = Field(description="file name of the served map")
    synthetic: bool
    crs_metric: str
    layers: dict[str, int]
    features: dict[str, bool] = Field(
        description="which services this server offers (library functions present)"
    )


class LayerInfo(Open):
    name: str
    count: int
    bounds: list[float] | None = Field(description="W,S,E,N in degrees, null when empty")
    id_column: str
    geometry: list[str]
    columns: list[str]


class Feature(Open):
    type: Literal["Feature"]
    id: str | int | None = None
    properties: dict[str, Any] | None
    geometry: dict[str, Any] | None


class FeatureCollection(Open):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int | None = Field(default=None, description="features in the bbox")
    numberReturned: int | None = Field(default=None, description="features in this answer")


class LonLat(Strict):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class ProjectIn(Strict):
    """A project pushed by the project approval platform (policy item 1)."""

    project_id: str = Field(min_length=1, max_length=100, examples=["XM-2024-0001"])
    name: str = Field(default="", max_length=200)
    requested_kw: float = Field(gt=0, description="requested capacity in kW")
    category: Category
    location: LonLat | None = Field(default=None, description="site point")
    geometry: dict[str, Any] | None = Field(
        default=None, description="site as GeoJSON Point or Polygon (instead of location)"
    )
    submitted: dt.date | None = Field(default=None, description="submission date, default today")

    @model_validator(mode="after")
    def _one_place(self) -> ProjectIn:
        if (self.location is None) == (self.geometry is None):
            raise ValueError("give exactly one of 'location' {lon, lat} or 'geometry' (GeoJSON)")
        return self


class ConnectionPoint(Open):
    asset_id: str
    kind: str
    headroom_kw: float | None = None
    distance_m: float | None = None


class Reason(Open):
    code: str
    message: str


class Segment(Open):
    corridor: str
    length_m: float
    road_id: str | None = None
    occupied_width_m: float | None = None
    remaining_bike_m: float | None = None


class FilingVerdict(Open):
    """The filing verdict of a route (DESIGN §3)."""

    # At a voltage the filing rule has no trench width for (≥ 35 kV) the verdict is NOT_COVERED:
    # never eligible, without limit_m and segments (library NotCovered.to_dict, issue 12).
    eligible: bool
    length_m: float
    limit_m: float | None = None
    reasons: list[Reason]
    permits: list[str]
    segments: list[Segment] | None = None
    approval_workdays: int | None = None
    # {date, workdays, provisional}: a typed model would add a component to the recorded document.
    approval_deadline: Any = None


class RouteOut(Open):
    length_m: float
    geometry: dict[str, Any] | None
    filing: FilingVerdict | None = None


class Timeline(Open):
    steps: Annotated[list[str], as_recorded({"items": {}, "type": "array"})]
    process_workdays: int | None = None
    works_workdays: int | None = None
    earliest_date: Annotated[dt.date | None, as_recorded({})] = None


class PreviewOut(Open):
    """Investor preview for a site (DESIGN §4, §8)."""

    readiness: Literal["A", "B", "C", "D"]
    category: str
    voltage_kv: float
    requested_kw: float
    connection_point: ConnectionPoint | None
    route: RouteOut | None
    timeline: Timeline
    documents: Annotated[list[str], as_recorded({"items": {}, "type": "array"})]
    payer: str
    tariff_hint: Annotated[str | None, as_recorded({})] = None


class ProjectOut(Open):
    project_id: str
    stored: bool = True
    proposal: PreviewOut | None = Field(
        description="readiness preview for the site, kW and category; null if this server "
        "has no readiness service"
    )


class CheckRouteIn(Strict):
    route: dict[str, Any] = Field(description="GeoJSON LineString geometry or Feature")
    voltage_kv: float = Field(gt=0, examples=[10.0])
    date: dt.date | None = Field(default=None, description="submission date for the deadline")


class ReadinessSummary(Open):
    parcels: int
    counts: dict[str, int]
