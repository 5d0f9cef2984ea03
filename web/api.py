"""The JSON API under ``/api/v1`` (DESIGN §8).

GET endpoints are public (the capacity data is meant to be published, item 11). ``POST
/projects`` needs ``Authorization: Bearer <token>``: the server's configured token
(``ONEMAP_API_TOKEN``) or a store user's token of role applicant or admin. The filing desk
(``/filings``, role-checked) is :mod:`web.filings`. The library services (check-route, preview,
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
from onemap.messages import msg
from onemap.store import User
from web import filings, services, verdicts
from web import search as map_search
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
from web.pages import derived
from web.projects import project_row
from web.state import ONEMAP_VERSION, AppState, State, WriteState, state_of

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
            msg("web.limit_over_max", limit=limit, max_limit=state.settings.max_limit),
            field="limit",
        )
    return limit


PUSH_ROLES = ("applicant", "admin")


async def require_token(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> User | None:
    """The pusher of a project: None for the platform's shared ``ONEMAP_API_TOKEN``, else the
    store user whose token it is (role applicant or admin). 401 without a known token, 403 for
    a user of another role. Async: a known token costs no trip through a worker thread."""
    state = state_of(request)
    expected = state.settings.api_token
    given = filings.bearer_token(authorization)
    if given and expected is not None and hmac.compare_digest(given.encode(), expected.encode()):
        return None
    user = None
    if given and state.store is not None:
        user = await filings.authenticate(state.store, given)
    if user is not None:
        if user.role not in PUSH_ROLES:
            raise HTTPException(status_code=403, detail=f"role '{user.role}' may not push projects")
        return user
    detail = (
        "this server has no API token configured (ONEMAP_API_TOKEN) and the token is no "
        "user's; pushes are refused"
        if expected is None
        else "missing or wrong bearer token (Authorization: Bearer <token>)"
    )
    raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


Pusher = Annotated[User | None, Depends(require_token)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="client key: a repeated request with the same key answers the stored result",
    ),
]


@router.post(
    "/projects",
    response_model=ProjectOut,
    status_code=201,
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        409: {"model": ErrorOut},
        413: {"model": ErrorOut},
        **ERRORS,
    },
)
async def push_project(
    state: WriteState, body: ProjectIn, pusher: Pusher, idempotency_key: IdempotencyKey = None
) -> ProjectOut:
    """Store a project pushed by the project approval platform (item 1) and answer with its
    supply proposal (the readiness preview for its site, kW and category).

    The project is one row in the store (one transaction; the map file is never rewritten);
    every server process merges it into its map on its next request, so readiness and
    previews count its promised load. The same ``Idempotency-Key`` again answers the stored
    result; on any failure nothing is stored.
    """
    if state.store is None:
        raise OnemapInputError(msg("web.no_store"))
    # One trip to a worker thread for the proposal and the write, among the CPU-bound calls
    # that share the process's few threads first come, first served (PREVIEW_THREADS).
    call = partial(_push, state, body, pusher, idempotency_key)
    return await anyio.to_thread.run_sync(call, limiter=state.preview_limiter)


def _push(state: AppState, body: ProjectIn, pusher: User | None, key: str | None) -> ProjectOut:
    # The proposal is computed and the answer validated before the write (issue 12): a request
    # that fails stores nothing. Both read the map as a write does (AppState.write_map).
    m = state.write_map()
    row = project_row(body, m)
    if body.project_id in state.map_file_project_ids:
        raise HTTPException(
            status_code=409, detail=f"project_id '{body.project_id}' is already stored"
        )
    proposal = services.proposal_for(m, row)
    out = ProjectOut.model_validate({"project_id": body.project_id, "proposal": proposal})
    record, created = state.store.push_project(
        row.store_row(),
        key=key,
        user=pusher,
        proposal=out.model_dump(mode="json")["proposal"],
    )
    if not created:
        out = ProjectOut.model_validate(
            {"project_id": record.project_id, "proposal": record.proposal}
        )
    # Not merged here: the next request merges it, with whatever else was pushed meanwhile
    # (one merge for a burst of pushes, AppState.sync_store).
    return out


@router.get(
    "/projects",
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, **ERRORS},
)
def list_projects(
    state: State,
    pusher: Pusher,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """The projects pushed to this server, oldest first, paged: {items, total, limit, offset}
    (so the approval platform can read back what it pushed). Same tokens as the push."""
    if state.store is None:
        return {"items": [], "total": 0, "limit": limit, "offset": offset}
    return state.store.projects(limit=limit, offset=offset).to_dict()


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
    # Not in the OpenAPI document: the recorded contract (tests/contract) keeps it unchanged.
    voltage_kv: Annotated[
        float | None,
        Query(gt=0, le=1000, include_in_schema=False, description="only elements of this kV"),
    ] = None,
    lang: Annotated[
        Literal["zh", "en"] | None,
        Query(
            description="with format=csv: the download for people (UTF-8 with BOM for Excel, "
            "kVA to 1 decimal, shares to 3, headers in this language, data date and colour "
            "thresholds); without it the machine CSV of the layer's columns. The GeoJSON "
            "always carries data_date (the map's build date) and thresholds"
        ),
    ] = None,
) -> Response:
    """The public capacity map (item 11, 三公开): substations, feeders and transformers with
    nameplate, peak, promised load, headroom and a status green/amber/red/unknown.

    Without ``bbox``/``limit`` the whole layer (a download); ``format=csv`` adds lon/lat columns.
    """
    # Where the map has lines, their segments come too (LineStrings, layer "lines", with
    # hosting_kva); ?voltage_kv= keeps only the elements of that voltage (e.g. 0.4). Said here,
    # not in the docstring: the docstring is the OpenAPI text of the recorded contract.
    index = state.capacity_index()
    if voltage_kv is not None:
        full, kv = index, services.capacity_voltage(index, voltage_kv)
        index = state.derived(
            f"capacity:kv:{kv!r}", lambda _m: services.capacity_at_voltage(full, kv)
        )
    if format == "csv":
        rows = index.select(parse_bbox(bbox) if bbox else None)
        if lang is not None:
            text, name = services.capacity_csv_public(
                state.onemap, index.gdf.iloc[np.sort(rows)], lang
            )
            return Response(
                content=text.encode("utf-8"),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
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
        content=services.with_capacity_meta(state.onemap, body),
        media_type=GEOJSON,
        headers={"Content-Disposition": 'inline; filename="capacity.geojson"'},
    )


# HEAD on the downloads answers as GET without the body (link checkers, download managers).
router.add_api_route("/capacity", capacity, methods=["HEAD"], include_in_schema=False)


def make_router() -> APIRouter:
    """The ``/api/v1`` router with every endpoint.

    Returns
    -------
    APIRouter
        The endpoints of this module under ``/api/v1``, tagged ``api``.
    """
    api = APIRouter(prefix="/api/v1", tags=["api"])
    api.include_router(router)
    api.include_router(derived.router)  # one parcel's why, the plan's layers
    api.include_router(filings.router)
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
    return verdicts.check_route_dict(
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
    return verdicts.check_route_file(
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


YearQ = derived.YearQ


@router.get("/readiness/summary", response_model=ReadinessSummary)
def readiness_summary(state: State, year: YearQ = None) -> dict:
    """Readiness counts of every parcel (its own forecast load and category) and per-district
    statistics (``year``: for the map as it stands that year)."""
    r = derived.readiness_of(state, year)
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
    year: YearQ = None,
) -> Response:
    """Readiness zones as a GeoJSON FeatureCollection (A/B/C/D in ``readiness``; ``year``: for
    the map as it stands that year)."""
    index = derived.readiness_of(state, year).indexes[kind]
    body = index.feature_collection(
        parse_bbox(bbox) if bbox else None,
        limit=_limit(state, limit) if limit else max(len(index), 1),
        offset=offset,
        zoom=zoom,
        simplify_below_zoom=state.settings.detail_zoom,
    )
    return Response(content=body, media_type=GEOJSON)


@router.get("/search", responses=ERRORS)
def search(
    state: State,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            description="parcel id or name, road name, asset / substation / project id, or "
            '"lon,lat" (either order)',
        ),
    ],
    limit: Annotated[int, Query(gt=0, le=map_search.SEARCH_MAX)] = 10,
) -> dict:
    """Search the map (built from the map itself: works offline). Each result has ``kind``
    (parcel, road, asset, substation, project, point), ``id``, ``name``, ``lon``, ``lat`` and
    ``bbox`` (W,S,E,N) to fly to."""
    return map_search.search(state.onemap, q, limit)


@router.get(
    "/corridors",
    response_class=Response,
    responses={200: {"model": FeatureCollection, "content": {GEOJSON: {}}}, **ERRORS},
)
def corridors(
    state: State,
    bbox: Annotated[
        str,
        Query(
            description="W,S,E,N in degrees (required; at most "
            f"{map_search.CORRIDOR_MAX_SPAN_DEG}° a side)"
        ),
    ],
) -> Response:
    """Corridor strips (sidewalk, bike lane, carriageway, green belt, duct, crossing) in
    ``bbox`` as a GeoJSON FeatureCollection: ``kind``, ``road_id``, ``road_name``, ``side``,
    ``width_m``, ``provenance`` — where a route may be drawn (DESIGN §2)."""
    body = map_search.corridors_geojson(state.onemap, parse_bbox(bbox))
    return Response(content=json.dumps(body, ensure_ascii=False), media_type=GEOJSON)
