"""The JSON API under ``/api/v1`` (DESIGN §8).

GET endpoints are public (the capacity data is meant to be published, item 11). ``POST
/projects`` needs ``Authorization: Bearer <token>`` matching the server's configured token;
without a configured token it refuses every push. The library services (check-route, preview,
readiness, capacity) are called through :mod:`web.services`; every endpoint is always registered.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from functools import partial
from typing import Annotated, Literal

import anyio
import numpy as np
from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import Response
from shapely.geometry import Point

from onemap.errors import OnemapInputError
from onemap.geo.crs import parse_bbox
from onemap.geo.schema import LAYER_NAMES, LAYERS
from onemap.lang import check_lang
from web import services
from web.geojson import require_inside
from web.models import (
    Category,
    CheckRouteIn,
    ErrorOut,
    FeatureCollection,
    FilingVerdict,
    HealthOut,
    LayerInfo,
    PreviewOut,
    ProjectIn,
    ProjectOut,
    ReadinessSummary,
)
from web.projects import project_row, store_project
from web.state import ONEMAP_VERSION, AppState, State, state_of

# The endpoints under /api/v1 (make_router mounts them).
router = APIRouter()
GEOJSON = "application/geo+json"
ERRORS = {422: {"model": ErrorOut, "description": "bad request, with a readable message"}}


@router.get("/health", response_model=HealthOut)
def health(state: State) -> HealthOut:
    """Liveness and what this server offers."""
    m = state.onemap
    return HealthOut(
        status="ok",
        version=ONEMAP_VERSION,
        map=m.path.name if m.path else None,
        synthetic=m.synthetic,
        crs_metric=m.crs_metric,
        layers=m.counts(),
        features=dict(services.FEATURES),
    )


@router.get("/layers", response_model=list[LayerInfo])
def layers(state: State) -> list[LayerInfo]:
    """The layers of the map with their counts, bounds and columns."""
    out = []
    for name in LAYER_NAMES:
        idx = state.indexes[name]
        schema = LAYERS[name]
        out.append(
            LayerInfo(
                name=name,
                count=len(idx),
                bounds=[float(v) for v in idx.gdf.total_bounds] if len(idx) else None,
                id_column=schema.id_column,
                geometry=list(schema.geometry),
                columns=[c for c in idx.gdf.columns if c != idx.gdf.geometry.name],
            )
        )
    return out


@router.get(
    "/layers/{name}",
    response_class=Response,
    responses={
        200: {"model": FeatureCollection, "content": {GEOJSON: {}}},
        404: {"model": ErrorOut},
        **ERRORS,
    },
)
def layer_features(
    state: State,
    name: Annotated[str, Path(description="layer name: " + ", ".join(LAYER_NAMES))],
    bbox: Annotated[str | None, Query(description="W,S,E,N in degrees")] = None,
    limit: Annotated[int | None, Query(gt=0, description="most features to return")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    zoom: Annotated[
        float | None,
        Query(ge=0, le=24, description="map zoom: skip sub-pixel features, simplify below detail"),
    ] = None,
) -> Response:
    """Features of one layer in ``bbox`` as a GeoJSON FeatureCollection, largest first.

    ``numberMatched`` counts all features in the bbox, ``numberReturned`` this page
    (page on with ``offset``).
    """
    if name not in state.indexes:
        raise HTTPException(
            status_code=404, detail=f"no layer '{name}'; layers: {', '.join(LAYER_NAMES)}"
        )
    limit = _limit(state, limit)
    box = parse_bbox(bbox) if bbox else None
    body = state.indexes[name].feature_collection(
        box,
        limit=limit,
        offset=offset,
        zoom=zoom,
        simplify_below_zoom=state.settings.detail_zoom,
    )
    return Response(content=body, media_type=GEOJSON)


def _limit(state: AppState, limit: int | None) -> int:
    limit = limit or state.settings.default_limit
    if limit > state.settings.max_limit:
        raise OnemapInputError(
            f"limit {limit} over this server's maximum {state.settings.max_limit}", field="limit"
        )
    return limit


def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """401 unless the request carries the configured bearer token."""
    expected = state_of(request).settings.api_token
    scheme, _, given = (authorization or "").partition(" ")
    ok = (
        expected is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), expected.encode())
    )
    if not ok:
        detail = (
            "this server has no API token configured (ONEMAP_API_TOKEN); pushes are refused"
            if expected is None
            else "missing or wrong bearer token (Authorization: Bearer <token>)"
        )
        raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


@router.post(
    "/projects",
    response_model=ProjectOut,
    status_code=201,
    dependencies=[Depends(require_token)],
    responses={
        401: {"model": ErrorOut},
        409: {"model": ErrorOut},
        413: {"model": ErrorOut},
        **ERRORS,
    },
)
def push_project(state: State, body: ProjectIn) -> ProjectOut:
    """Store a project pushed by the project approval platform (item 1) and answer with its
    supply proposal (the readiness preview for its site, kW and category).

    The map file is rewritten atomically: on any failure nothing is stored.
    """
    # The proposal is computed and the answer validated before the write (issue 12): a request
    # that fails stores nothing.
    with state.write_lock:
        row = project_row(body, state.onemap)
        proposal = services.proposal_for(state.onemap, row)
        out = ProjectOut.model_validate({"project_id": body.project_id, "proposal": proposal})
        store_project(state, row)
    return out


@router.get(
    "/capacity",
    response_class=Response,
    responses={
        200: {
            "model": FeatureCollection,
            "content": {GEOJSON: {}, "text/csv": {}},
            "description": "GeoJSON FeatureCollection or CSV",
        },
        **ERRORS,
    },
)
def capacity(
    state: State,
    format: Annotated[Literal["geojson", "csv"], Query(description="geojson or csv")] = "geojson",
    bbox: Annotated[str | None, Query(description="W,S,E,N in degrees")] = None,
    limit: Annotated[int | None, Query(gt=0)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    zoom: Annotated[float | None, Query(ge=0, le=24)] = None,
) -> Response:
    """The public capacity map (item 11, 三公开): substations, feeders and transformers with
    nameplate, peak, promised load, headroom and a status green/amber/red/unknown.

    Without ``bbox``/``limit`` the whole layer (a download); ``format=csv`` adds lon/lat columns.
    """
    index = state.capacity_index()
    if format == "csv":
        rows = index.select(parse_bbox(bbox) if bbox else None)
        text = services.capacity_csv(index.gdf.iloc[np.sort(rows)])
        return Response(
            content=text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="capacity.csv"'},
        )
    body = index.feature_collection(
        parse_bbox(bbox) if bbox else None,
        limit=_limit(state, limit) if limit else max(len(index), 1),
        offset=offset,
        zoom=zoom,
        simplify_below_zoom=state.settings.detail_zoom,
    )
    return Response(
        content=body,
        media_type=GEOJSON,
        headers={"Content-Disposition": 'inline; filename="capacity.geojson"'},
    )


def make_router() -> APIRouter:
    """The ``/api/v1`` router with every endpoint.

    Returns
    -------
    APIRouter
        The endpoints of this module under ``/api/v1``, tagged ``api``.
    """
    api = APIRouter(prefix="/api/v1", tags=["api"])
    api.include_router(router)
    return api


LangParam = Annotated[str, Query(description="language of messages: zh or en")]


@router.post(
    "/check-route", response_model=FilingVerdict, responses={413: {"model": ErrorOut}, **ERRORS}
)
def check_route(state: State, body: CheckRouteIn, lang: LangParam = "zh") -> dict:
    """Filing verdict of a drawn route (DESIGN §3): does it need only a filing (item 2)?

    Answers the verdict with reasons, permits, segments by corridor (each with its geometry),
    the approval working days and, with ``date``, the deadline.
    """
    return services.check_route_dict(
        state.onemap,
        body.route,
        body.voltage_kv,
        body.date,
        check_lang(lang),
        state.settings.max_route_vertices,
    )


@router.post(
    "/check-route/file",
    response_model=FilingVerdict,
    responses={413: {"model": ErrorOut}, **ERRORS},
)
def check_route_file(
    state: State,
    file: Annotated[UploadFile, File(description="route as .geojson/.json, .kml or .dxf")],
    voltage_kv: Annotated[float, Form(gt=0)],
    date: Annotated[dt.date | None, Form()] = None,
    lang: LangParam = "zh",
) -> dict:
    """Filing verdict of an uploaded route file (413 over the upload limit)."""
    data = file.file.read()
    return services.check_route_file(
        state.onemap,
        data,
        file.filename or "route",
        voltage_kv,
        date,
        check_lang(lang),
        state.settings.max_route_vertices,
    )


@router.get("/preview", response_model=PreviewOut, responses=ERRORS)
async def preview(
    state: State,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    kw: Annotated[float, Query(gt=0, description="requested capacity in kW")],
    category: Annotated[Category, Query(description="customer category")],
    date: Annotated[dt.date | None, Query(description="application date")] = None,
    lang: LangParam = "zh",
) -> dict:
    """Investor preview for a site: readiness class, connection point, route, steps, working
    days, earliest date, documents and payer (DESIGN §4)."""
    require_inside(Point(lon, lat), state.onemap.bounds, field="lon,lat")
    call = partial(services.preview_with_point, state.onemap, lon, lat, kw, category, date)
    return await anyio.to_thread.run_sync(call, check_lang(lang), limiter=state.preview_limiter)


@router.get("/readiness/summary", response_model=ReadinessSummary)
def readiness_summary(state: State) -> dict:
    """Readiness counts of every parcel (its own forecast load and category) and per-district
    statistics."""
    r = state.readiness()
    out = r.result.to_dict()
    out["districts"] = json.loads(r.districts.to_json(orient="records", force_ascii=False))
    return out


@router.get(
    "/readiness/zones",
    response_class=Response,
    responses={200: {"model": FeatureCollection, "content": {GEOJSON: {}}}, **ERRORS},
)
def readiness_zones(
    state: State,
    kind: Annotated[
        Literal["zones", "hexagons", "parcels"],
        Query(description="zones: one polygon per class; hexagons: H3 shares; parcels"),
    ] = "zones",
    bbox: Annotated[str | None, Query(description="W,S,E,N in degrees")] = None,
    limit: Annotated[int | None, Query(gt=0)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    zoom: Annotated[float | None, Query(ge=0, le=24)] = None,
) -> Response:
    """Readiness zones as a GeoJSON FeatureCollection (A/B/C/D in ``readiness``)."""
    index = state.readiness().indexes[kind]
    body = index.feature_collection(
        parse_bbox(bbox) if bbox else None,
        limit=_limit(state, limit) if limit else max(len(index), 1),
        offset=offset,
        zoom=zoom,
        simplify_below_zoom=state.settings.detail_zoom,
    )
    return Response(content=body, media_type=GEOJSON)
