"""The FastAPI app: one loaded one map, its bbox indexes, the JSON API and the map pages.

:func:`create_app` reads the map once, builds an STRtree per layer and mounts the API
(``/api/v1``, :mod:`web.api`), the pages (:mod:`web.pages`), the vendored browser assets
(``/static``) and offline OpenAPI docs (``/docs``). Error policy: bad input (an
``OnemapInputError`` or a request that fails validation) answers 422 with a readable
``message``; a body over ``max_upload_bytes`` answers 413 before it is read in full.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onemap.connection.site_preview import warm_preview
from onemap.errors import OnemapInputError
from onemap.geo.mapfile import OneMap, read_map
from onemap.lang import pick
from onemap.messages import Message as Text
from onemap.messages import msg
from onemap.store import ENV_STORE, StoreError, open_store
from web import api, pages, services, validation
from web.i18n import lang_of
from web.lean import LeanFastAPI
from web.maps import STATIC_DIR, VENDOR_URL, missing_vendor_files
from web.settings import WebSettings, load_settings
from web.state import ONEMAP_VERSION, AppState, build_indexes


def create_app(map_path: str | Path | OneMap, settings: WebSettings | None = None) -> FastAPI:
    """The web app over the one map at ``map_path`` (or an already loaded :class:`OneMap`).

    ``settings`` default to :func:`web.settings.load_settings` (environment / config file).
    Raises OnemapInputError for a missing or invalid map, RuntimeError when the vendored
    browser assets are missing (run ``npm ci``).
    """
    settings = settings or load_settings()
    m = map_path if isinstance(map_path, OneMap) else read_map(map_path)
    missing = missing_vendor_files()
    if missing:
        raise RuntimeError(
            f"browser assets missing under web/static/vendor ({', '.join(missing[:3])}…): "
            "run `npm ci` in the repository root (make setup does)"
        )
    # FastAPI with the lean path of GET /api/v1/preview in front (web.lean).
    app = LeanFastAPI(
        title="onemap 一张图 API",
        version=ONEMAP_VERSION,
        description="Connection readiness, filing check and capacity map of the one map "
        "(DESIGN §8). Pages: / /readiness /preview /check /capacity /filings; `?lang=en` for "
        "English.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.onemap = AppState(onemap=m, settings=settings, indexes=build_indexes(m))
    # The store of what users write: $ONEMAP_STORE, else the SQLite file beside the map; one
    # per worker process. A map held only in memory has none unless $ONEMAP_STORE names one.
    if m.path is not None or os.environ.get(ENV_STORE):
        app.state.onemap.store = open_store(m.path)
        app.state.onemap.sync_store()
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    _error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.make_router())
    app.include_router(pages.make_router())

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
    cache beside the map), the preview's networks and connection points, the asset positions
    and, with a store, the map's content hash (a filing records it: hashing a city's layers
    takes a third of a second, which the first filing of each worker waited for)."""
    state: AppState = app.state.onemap
    warm_preview(state.onemap)
    services.asset_positions(state.onemap)
    if state.store is not None:
        state.map_hash()


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OnemapInputError)
    async def _bad_input(request: Request, exc: OnemapInputError) -> JSONResponse:
        # The whole line (location and message) in the request's language, Chinese unless
        # ?lang=en; file, layer, row and field stay machine-readable beside it.
        lang = lang_of(request.query_params.get("lang"))
        body = exc.to_dict(lang)
        body["message"] = exc.text(lang)
        body.pop("error", None)
        return JSONResponse(status_code=422, content=body)

    @app.exception_handler(StoreError)
    async def _store_refused(request: Request, exc: StoreError) -> JSONResponse:
        # NotFound 404, PermissionDenied 403, IllegalTransition / DuplicateProject 409,
        # IdempotencyConflict 422, StoreUnavailable 503 (onemap.store.errors).
        lang = lang_of(request.query_params.get("lang"))
        body = {k: v for k, v in exc.to_dict(lang).items() if k != "error"}
        return JSONResponse(status_code=exc.status, content={"message": exc.text(lang), **body})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # In the request's language (Chinese unless ?lang=en), like every other message.
        errors = exc.errors()
        lang = lang_of(request.query_params.get("lang"))
        said = [validation.message(e, lang) for e in errors]
        return JSONResponse(
            status_code=422,
            content={
                "message": "; ".join(said),
                "field": validation.field_of(errors[0]) if errors else None,
                "errors": [
                    {"field": validation.field_of(e), "message": m, "type": e.get("type")}
                    for e, m in zip(errors, said, strict=True)
                ],
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # Starlette/FastAPI answer a body they cannot parse (not UTF-8, nested too deeply,
            # broken multipart) with an undocumented 400: it is bad input, the documented 422.
            lang = lang_of(request.query_params.get("lang"))
            return JSONResponse(status_code=422, content={"message": _unparsable(exc).text(lang)})
        return JSONResponse(
            status_code=exc.status_code,
            content={"message": str(exc.detail)},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> JSONResponse:
        # Anything unexpected: a JSON 500 that closes the connection (the client must not reuse
        # a kept-alive connection after a server error). Starlette re-raises exc to be logged.
        lang = lang_of(request.query_params.get("lang"))
        message = pick(
            lang,
            "服务器内部错误，请求未完成（未保存任何内容）；请稍后重试或联系管理员",
            "internal server error: the request was not completed (nothing was stored); "
            "try again later or contact the administrator",
        )
        return JSONResponse(
            status_code=500, content={"message": message}, headers={"Connection": "close"}
        )


def _unparsable(exc: StarletteHTTPException) -> Text:
    """A readable message for a request body the server could not parse (a 400 of Starlette)."""
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        return msg("web.body_too_deep")
    if isinstance(cause, UnicodeDecodeError):
        return msg("web.body_not_utf8", reason=cause.reason, start=cause.start)
    detail = str(exc.detail)
    if (cause is None and "multipart" in detail.lower()) or "boundary" in detail.lower():
        return msg("web.body_not_multipart", detail=detail)
    return msg("web.body_unreadable", detail=detail)


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
