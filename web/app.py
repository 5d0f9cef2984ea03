"""The FastAPI app: one loaded one map, its bbox indexes, the JSON API and the map pages.

:func:`create_app` reads the map once, builds an STRtree per layer and mounts the API
(``/api/v1``, :mod:`web.api`), the pages (:mod:`web.pages`), the vendored browser assets
(``/static``) and offline OpenAPI docs (``/docs``). Error policy: bad input (an
``OnemapInputError`` or a request that fails validation) answers 422 with a readable
``message``; a body over ``max_upload_bytes`` answers 413 before it is read in full.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

import anyio
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onemap.errors import OnemapInputError
from onemap.geo.mapfile import OneMap, read_map
from onemap.geo.schema import LAYER_NAMES, LAYERS
from web import engine
from web.maps import STATIC_DIR, VENDOR_URL, missing_vendor_files
from web.settings import WebSettings, load_settings
from web.spatial import LayerIndex

# From the installed distribution: robust however the `onemap` package is found.
ONEMAP_VERSION = _dist_version("onemap")
# Threads of one process that run previews at once (tuning, not policy): a preview is ~all
# Python and numpy under the GIL, so a second thread only overlaps its few GIL-free moments,
# and sixteen interleave every request and stretch the slowest ones (p95) several times.
PREVIEW_THREADS = 2


@dataclass
class AppState:
    """What every request reads: the map, its layer indexes and the settings.

    ``onemap`` and ``indexes`` are replaced (never mutated) when a project is stored, under
    ``write_lock``, so a reader always sees one consistent map.
    """

    onemap: OneMap
    settings: WebSettings
    indexes: dict[str, LayerIndex]
    services: engine.Services
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    # CPU-bound library calls hold the GIL: more threads than this only queue in a worse order
    # (see PREVIEW_THREADS); requests beyond it wait their turn first come, first served.
    preview_limiter: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(PREVIEW_THREADS)
    )
    _derived: dict[str, tuple[OneMap, Any]] = field(default_factory=dict, repr=False)
    _derive_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def derived(self, key: str, build: Callable[[OneMap], Any]) -> Any:
        """``build(onemap)`` computed once per served map (recomputed after a project push)."""
        m = self.onemap
        with self._derive_lock:  # one computation at a time: they can be seconds long
            hit = self._derived.get(key)
            if hit is None or hit[0] is not m:
                hit = (m, build(m))
                self._derived[key] = hit
        return hit[1]

    def capacity_index(self) -> LayerIndex:
        """The public capacity layer (item 11) with its bbox index."""

        def build(m: OneMap) -> LayerIndex:
            layer = engine.capacity_layer(m)
            return LayerIndex.build("capacity", layer, layer.to_crs(m.crs_metric), "asset_id")

        return self.derived("capacity", build)

    def readiness(self) -> Readiness:
        """Readiness of every parcel for its own load and category, its views and indexes."""

        def build(m: OneMap) -> Readiness:
            result = engine.readiness_result(m)
            views, districts = engine.readiness_views(result)
            indexes = {
                kind: LayerIndex.build(
                    kind, gdf.to_crs("EPSG:4326"), gdf, engine.READINESS_KINDS[kind]
                )
                for kind, gdf in views.items()
            }
            return Readiness(result=result, indexes=indexes, districts=districts)

        return self.derived("readiness", build)


@dataclass(frozen=True)
class Readiness:
    """A readiness result with bbox indexes of its zones, hexagons and parcels (lon/lat)."""

    result: Any
    indexes: dict[str, LayerIndex]
    districts: pd.DataFrame

    @property
    def map_path(self) -> Path | None:
        return self.onemap.path


def build_indexes(m: OneMap, names: tuple[str, ...] = LAYER_NAMES) -> dict[str, LayerIndex]:
    """One :class:`LayerIndex` per layer of ``m``."""
    return {
        name: LayerIndex.build(name, m[name], m.metric(name), LAYERS[name].id_column)
        for name in names
    }


def state_of(request: Request) -> AppState:
    """The app state of a request."""
    return request.app.state.onemap


async def get_state(request: Request) -> AppState:
    """The app state as a dependency: async, so FastAPI resolves it on the event loop instead of
    sending every request through a worker thread first."""
    return request.app.state.onemap


def create_app(map_path: str | Path | OneMap, settings: WebSettings | None = None) -> FastAPI:
    """The web app over the one map at ``map_path`` (or an already loaded :class:`OneMap`).

    ``settings`` default to :func:`web.settings.load_settings` (environment / config file).
    Raises OnemapInputError for a missing or invalid map, RuntimeError when the vendored
    browser assets are missing (run ``npm ci``).
    """
    from web import api, pages  # late: they import AppState from here

    settings = settings or load_settings()
    m = map_path if isinstance(map_path, OneMap) else read_map(map_path)
    missing = missing_vendor_files()
    if missing:
        raise RuntimeError(
            f"browser assets missing under web/static/vendor ({', '.join(missing[:3])}…): "
            "run `npm ci` in the repository root (make setup does)"
        )
    app = FastAPI(
        title="onemap 一张图 API",
        version=ONEMAP_VERSION,
        description="Connection readiness, filing check and capacity map of the one map "
        "(DESIGN §8). Pages: / /readiness /preview /check /capacity; `?lang=en` for English.",
        docs_url=None,
        redoc_url=None,
    )
    services = engine.services()
    app.state.onemap = AppState(
        onemap=m, settings=settings, indexes=build_indexes(m), services=services
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    _error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.make_router(services))
    app.include_router(pages.make_router(services))

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="onemap API",
            swagger_js_url=f"{VENDOR_URL}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR_URL}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{VENDOR_URL}/swagger-ui/favicon-32x32.png",
            # The default online validator badge would call validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    return app


SERVE_MAP_ENV = "ONEMAP_SERVE_MAP"


def app_from_env() -> FastAPI:
    """The app factory of ``onemap serve --workers N``: uvicorn calls it in every worker process.

    Serves the map named by ``$ONEMAP_SERVE_MAP`` with the settings of the environment
    (``$ONEMAP_WEB_CONFIG`` …), warmed up (:func:`warm`) before the worker accepts requests.
    """
    path = os.environ.get(SERVE_MAP_ENV)
    if not path:
        raise RuntimeError(f"${SERVE_MAP_ENV} is not set: start the server with `onemap serve`")
    app = create_app(path, load_settings())
    warm(app)
    return app


def warm(app: FastAPI) -> None:
    """Build what the first requests would otherwise wait for: the corridor graph (from its
    cache beside the map), the preview's networks and connection points, the asset positions."""
    state: AppState = app.state.onemap
    if state.services.preview:
        from onemap.readiness import warm_preview

        warm_preview(state.onemap)
        engine.asset_positions(state.onemap)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OnemapInputError)
    async def _bad_input(request: Request, exc: OnemapInputError) -> JSONResponse:
        body = exc.to_dict()
        body["message"] = str(exc)
        body.pop("error", None)
        return JSONResponse(status_code=422, content=body)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(
            status_code=422,
            content={
                "message": "; ".join(_readable(e) for e in errors),
                "field": _field(errors[0]) if errors else None,
                "errors": [
                    {"field": _field(e), "message": e.get("msg", ""), "type": e.get("type")}
                    for e in errors
                ],
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"message": str(exc.detail)},
            headers=getattr(exc, "headers", None),
        )


def _field(error: dict) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
    return ".".join(loc)


def _readable(error: dict) -> str:
    where = _field(error)
    msg = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        return f"the request body is not valid JSON ({error.get('ctx', {}).get('error', '')})"
    return f"field '{where}': {msg}" if where else msg


class PayloadTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=413, detail=f"request body over the upload limit of {limit} bytes"
        )


class BodyLimit:
    """Answer 413 for request bodies over ``max_bytes`` (by Content-Length or as streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            exc = PayloadTooLarge(self.max_bytes)
            response = JSONResponse(status_code=413, content={"message": exc.detail})
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTPException passes FastAPI's body parsing untouched → our 413 handler.
                    raise PayloadTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)
