"""What the readiness and planning pages and their API derive from the served map, computed
once per map (:meth:`web.state.AppState.derived`): the readiness of the map as it stands in a
year (issue 17 item 5), one parcel's ``why`` (issue 16 item 8), the years in which the map
changes, and the siting plan for k with bbox indexes of its layers — and the two endpoints
that serve them to the pages (``router``, mounted under ``/api/v1`` by :func:`web.api.make_router`):
``GET /readiness/parcels/{parcel_id}`` and ``GET /plan/layers/{name}``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response

from onemap.connection.results import parcel_why
from onemap.errors import OnemapInputError
from onemap.geo.crs import parse_bbox
from onemap.geo.mapfile import OneMap
from onemap.grid.years import ELEMENT_LAYERS, YEAR_MIN, as_of
from onemap.lang import check_lang
from onemap.messages import msg
from onemap.planning.plan import PlanResult, plan
from web import services
from web.models import ErrorOut, FeatureCollection
from web.spatial import LayerIndex
from web.state import AppState, Readiness, State

__all__ = [
    "PLAN_LAYERS",
    "YearQ",
    "map_years",
    "parcel_readiness",
    "plan_index",
    "plan_of",
    "readiness_of",
    "router",
]

router = APIRouter()
GEOJSON = "application/geo+json"
ERRORS = {422: {"model": ErrorOut, "description": "bad request, with a readable message"}}
YearQ = Annotated[
    int | None,
    Query(
        ge=1900,
        le=2200,
        description="answer for the map as it stands that year: assets enter service in their "
        "in_service year, projects take their load in their expected_year",
    ),
]


def readiness_of(state: AppState, year: int | None = None) -> Readiness:
    """The served readiness (:meth:`web.state.AppState.readiness`), or that of the map as it
    stands in ``year``, with its views and indexes; computed once per map and year.

    Parameters
    ----------
    state
        The app state.
    year
        None: the map as it is; else the year (assets' ``in_service``, projects'
        ``expected_year``).

    Returns
    -------
    web.state.Readiness
        Result, indexes per view and district statistics.
    """
    if year is None:
        return state.readiness()

    def build(m: OneMap) -> Readiness:
        result = services.readiness_result(as_of(m, year))
        views, table = services.readiness_views(result)
        indexes = {
            kind: LayerIndex.build(
                kind, gdf.to_crs("EPSG:4326"), gdf, services.READINESS_KINDS[kind]
            )
            for kind, gdf in views.items()
        }
        return Readiness(result=result, indexes=indexes, districts=table)

    return state.derived(f"readiness:{int(year)}", build)


def parcel_readiness(state: AppState, parcel_id: str, lang: str, year: int | None = None) -> dict:
    """One parcel's bulk readiness with its ``why`` (:func:`onemap.connection.results.parcel_why`)
    and its name and land use, for the readiness page's popup.

    Parameters
    ----------
    state
        The app state.
    parcel_id
        The parcel.
    lang
        Language of the messages.
    year
        As :func:`readiness_of`.

    Returns
    -------
    dict
        :func:`~onemap.connection.results.parcel_why` plus ``parcel`` (id, name, land use) and
        the bulk row's connection point and route length.
    """
    r = readiness_of(state, year)
    onemap = state.onemap if year is None else as_of(state.onemap, year)
    out = parcel_why(r.result, onemap, parcel_id, lang)
    out["parcel"] = services.parcel_info(onemap, parcel_id, lang)
    row = r.result.layer.iloc[int(np.flatnonzero(r.result.layer["parcel_id"] == parcel_id)[0])]
    out["year"] = year
    for key in ("asset_id", "kind", "headroom_kw", "distance_m", "route_length_m"):
        v = row[key]
        out[key] = None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v
    out["filing_eligible"] = bool(row["filing_eligible"])
    return out


def map_years(onemap: OneMap) -> list[int]:
    """The years in which the map changes: assets' ``in_service`` and projects'
    ``expected_year`` (issue 17 item 5), sorted.

    Parameters
    ----------
    onemap
        The served map.

    Returns
    -------
    list of int
        Distinct years (≥ 1000; smaller ``in_service`` values are flags).
    """
    found: set[int] = set()
    for name, column in (
        *((n, "in_service") for n in ELEMENT_LAYERS),
        ("projects", "expected_year"),
    ):
        layer = onemap[name]
        if column in layer.columns:
            y = pd.to_numeric(layer[column], errors="coerce").dropna()
            found.update(int(v) for v in y[y >= YEAR_MIN])
    return sorted(found)


PLAN_LAYERS = {
    "sites": "site_id",
    "feeders": "feeder_id",
    "points": "asset_id",
    "parcels": "parcel_id",
}


def plan_of(state: AppState, k: int) -> PlanResult:
    """The siting plan for ``k`` new substations on the served map
    (:func:`onemap.planning.plan.plan`), computed once per map and k."""
    return state.derived(f"plan:{k}", lambda m: plan(m, k))


def plan_index(state: AppState, k: int, name: str) -> LayerIndex:
    """A bbox index of one layer of the plan for ``k`` (:data:`PLAN_LAYERS`): the chosen
    sites, their new feeders and points, and the parcels with their class before and after."""
    result = plan_of(state, k)  # outside the build: derived() does not nest

    def build(m: OneMap) -> dict:
        layers = result.layers()
        return {
            n: LayerIndex.build(n, layers[f"plan_{n}"], layers[f"plan_{n}"].to_crs(m.crs_metric), c)
            for n, c in PLAN_LAYERS.items()
        }

    return state.derived(f"plan-index:{k}", build)[name]


@router.get("/readiness/parcels/{parcel_id}", responses={404: {"model": ErrorOut}, **ERRORS})
def readiness_parcel(
    state: State,
    parcel_id: Annotated[str, Path(max_length=200, description="the parcel's id")],
    lang: Annotated[str, Query(description="language of messages: zh or en")] = "zh",
    year: YearQ = None,
) -> dict:
    """Why one parcel has its readiness class (its own forecast load and category): the same
    ``why`` codes and messages as a preview, from the bulk result the readiness map shows, with
    the parcel's name and land use, the chosen point and route length."""
    ids = state.readiness().result.layer["parcel_id"].astype(str).to_numpy()
    if not (ids == parcel_id).any():
        raise HTTPException(status_code=404, detail=f"no parcel '{parcel_id}'")
    return parcel_readiness(state, parcel_id, check_lang(lang), year)


@router.get(
    "/plan/layers/{name}",
    response_class=Response,
    responses={200: {"model": FeatureCollection, "content": {GEOJSON: {}}}, **ERRORS},
)
def plan_layer(
    state: State,
    name: Annotated[
        Literal["sites", "feeders", "points", "parcels"],
        Path(description="sites, feeders, points (new transformers) or parcels (before/after)"),
    ],
    k: Annotated[int, Query(ge=1, le=50, description="number of new substations")],
    bbox: Annotated[str | None, Query(description="W,S,E,N in degrees")] = None,
    limit: Annotated[int | None, Query(gt=0)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    zoom: Annotated[float | None, Query(ge=0, le=24)] = None,
) -> Response:
    """One layer of the siting plan for ``k`` new substations (DESIGN §5) as GeoJSON: the
    chosen sites, their new feeders and transformers, or every parcel with its readiness
    ``before`` and ``after`` the sites (``changed``). Computed once per k (as ``/planning``)."""
    index = plan_index(state, k, name)
    if limit is not None and limit > state.settings.max_limit:
        raise OnemapInputError(
            msg("web.limit_over_max", limit=limit, max_limit=state.settings.max_limit),
            field="limit",
        )
    body = index.feature_collection(
        parse_bbox(bbox) if bbox else None,
        limit=limit or max(len(index), 1),
        offset=offset,
        zoom=zoom,
        simplify_below_zoom=state.settings.detail_zoom,
    )
    return Response(content=body, media_type=GEOJSON)
