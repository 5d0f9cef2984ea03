"""The JSON API under ``/api/v1`` (DESIGN §8).

GET endpoints are public (the capacity data is meant to be published, item 11). ``POST
/projects`` needs ``Authorization: Bearer <token>`` matching the server's configured token;
without a configured token it refuses every push. Endpoints backed by a library service
(check-route, preview, readiness, capacity) are registered only when that service exists
(:mod:`web.engine`).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import Response

from onemap.errors import OnemapInputError
from onemap.geo.schema import LAYER_NAMES, LAYERS
from web import engine
from web.app import ONEMAP_VERSION, AppState, get_state
from web.models import ErrorOut, FeatureCollection, HealthOut, LayerInfo, ProjectIn, ProjectOut
from web.projects import project_row, store_project
from web.spatial import parse_bbox

# Endpoints every server has; make_router adds those of the library services present.
router = APIRouter()
GEOJSON = "application/geo+json"
ERRORS = {422: {"model": ErrorOut, "description": "bad request, with a readable message"}}

State = Annotated[AppState, Depends(get_state)]


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
        features=state.services.to_dict(),
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
    expected = get_state(request).settings.api_token
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
    with state.write_lock:
        row = project_row(body, state.onemap)
        proposal = engine.proposal_for(state, row) if state.services.preview else None
        store_project(state, row)
    return ProjectOut(project_id=body.project_id, proposal=proposal)


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
        text = engine.capacity_csv(index.gdf.iloc[np.sort(rows)])
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


def make_router(services: engine.Services) -> APIRouter:
    """The ``/api/v1`` router: the base endpoints plus those of the services offered."""
    api = APIRouter(prefix="/api/v1", tags=["api"])
    api.include_router(router)
    if services.capacity:
        api.add_api_route(
            "/capacity",
            capacity,
            methods=["GET"],
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
    return api
