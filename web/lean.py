"""The lean path of the hottest read, ``GET /api/v1/preview``: the same answer, less framework.

A preview is a few milliseconds of library work; FastAPI's generic path around it (routing
through the included routers, the middleware stack, a dependency and a pydantic pass per query
parameter, the request and response objects) cost 0.5–1 ms more per request on the event
loop (0.7 ms against 0.2 ms in-process with the library stubbed; 7.5 against 6.5 ms of CPU per
city preview), on the core the previews need. :class:`LeanPreview` answers the plain, valid
form of the request itself, in front of the app, and hands everything else to the app untouched:

* the request must be exactly ``GET /api/v1/preview`` without a body, its query string plain
  ``key=value`` pairs of the endpoint's parameters, each once, with nothing to unquote, and each
  value in the simplest form FastAPI would accept (decimal numbers within the endpoint's bounds,
  a known category, an ISO date, ``zh`` or ``en``): :func:`parse_preview_query`;
* the site must lie on the map and the library must answer: any error, the documented 422s
  included, is left to the app, which computes the request again and answers as it always has;
* the answer is validated and serialised by the endpoint's own response field (the same
  pydantic pass FastAPI makes, so the bytes are FastAPI's), with FastAPI's two headers.

The OpenAPI document is unchanged: the endpoint stays registered in :mod:`web.api` and answers
whatever this path hands on. ``tests/web/test_lean_preview.py`` holds the two paths to the same
bytes, headers and status.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

import anyio
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from onemap.geo.schema import CATEGORIES
from web import services
from web.state import AppState

__all__ = ["LeanFastAPI", "LeanPreview", "PreviewQuery", "parse_preview_query"]

PREVIEW_PATH = "/api/v1/preview"
# Plain decimals only (no sign but a leading minus, no exponent, no leading zeros, no blanks):
# the form every client writes, on which float() and pydantic agree to the last bit. Anything
# else goes to the app, which accepts or refuses it as it always has.
_DECIMAL = re.compile(rb"-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,20})?")
_ISO_DATE = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CATEGORIES = {c.encode("ascii"): c for c in CATEGORIES}
_LANGS = {b"zh": "zh", b"en": "en"}
_KEYS = frozenset((b"lon", b"lat", b"kw", b"category", b"date", b"lang"))
# Request headers after which the app may answer otherwise (a body: 413 over the upload limit).
_BODY_HEADERS = (b"content-length", b"transfer-encoding")
_JSON = b"application/json"


class PreviewQuery(NamedTuple):
    """The parameters of a preview request, as the endpoint receives them after validation."""

    lon: float
    lat: float
    kw: float
    category: str
    date: dt.date | None
    lang: str


def _decimal(raw: bytes | None, low: float, high: float, *, open_low: bool = False) -> float | None:
    if raw is None or _DECIMAL.fullmatch(raw) is None:
        return None
    value = float(raw)
    if value < low or value > high or (open_low and value == low):
        return None
    return value


def parse_preview_query(raw: bytes) -> PreviewQuery | None:
    """The preview parameters of a query string in its plain form, or None for any other.

    Parameters
    ----------
    raw
        The query string as received (ASGI ``query_string``).

    Returns
    -------
    PreviewQuery or None
        The values FastAPI's validation would give the endpoint; None when the query string is
        not plain (an unknown, repeated or percent-encoded key or value, an empty pair), a
        required parameter is missing or a value is not in its simplest valid form: the app
        then answers it (a 422 for an invalid one).
    """
    if not raw or b"%" in raw or b"+" in raw:
        return None
    values: dict[bytes, bytes] = {}
    for pair in raw.split(b"&"):
        key, eq, value = pair.partition(b"=")
        if not eq or key not in _KEYS or key in values:
            return None
        values[key] = value
    lon = _decimal(values.get(b"lon"), -180.0, 180.0)
    lat = _decimal(values.get(b"lat"), -90.0, 90.0)
    # kw > 0 (an upper bound only to keep the number finite; the library judges the size).
    kw = _decimal(values.get(b"kw"), 0.0, 1e15, open_low=True)
    category = _CATEGORIES.get(values.get(b"category", b""))
    lang = _LANGS.get(values.get(b"lang", b"zh"))
    if lon is None or lat is None or kw is None or category is None or lang is None:
        return None
    date = None
    raw_date = values.get(b"date")
    if raw_date is not None:
        if _ISO_DATE.fullmatch(raw_date) is None:
            return None
        try:
            date = dt.date.fromisoformat(raw_date.decode("ascii"))
        except ValueError:
            return None
    return PreviewQuery(lon, lat, kw, category, date, lang)


class LeanPreview:
    """ASGI app in front of ``app``: answers the plain valid preview requests, hands on the rest.

    Parameters
    ----------
    app
        The app's middleware stack (what answers every other request).
    owner
        The FastAPI app whose ``state.onemap`` (:class:`web.state.AppState`) is served.
    """

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner
        self._field: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == PREVIEW_PATH
            and scope["method"] == "GET"
            and not scope.get("root_path")
            and not any(name in _BODY_HEADERS for name, _ in scope["headers"])
        ):
            query = parse_preview_query(scope.get("query_string", b""))
            body = None if query is None else await self._answer(query)
            if body is not None:
                headers = [(b"content-length", str(len(body)).encode("latin-1"))]
                headers.append((b"content-type", _JSON))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _answer(self, query: PreviewQuery) -> bytes | None:
        """The JSON of the preview, or None when the app should answer (any error)."""
        try:
            state: AppState = self.owner.state.onemap
            # As the State dependency: projects pushed since the last request first.
            if state.store_moved() or state.pending:
                await anyio.to_thread.run_sync(state.sync_store)
            m = state.onemap
            west, south, east, north = m.bounds
            if not (west <= query.lon <= east and south <= query.lat <= north):
                return None  # the app's 422 names the map's extent
            return await anyio.to_thread.run_sync(
                self._body, m, query, limiter=state.preview_limiter
            )
        except Exception:  # the app computes it again and answers as it always has
            return None

    def _body(self, m: Any, query: PreviewQuery) -> bytes | None:
        out = services.preview_with_point(m, *query)
        field = self._response_field()
        value, errors = field.validate(out, {}, loc=("response",))
        if errors:
            return None  # the app's 500 (ResponseValidationError)
        return field.serialize_json(value)

    def _response_field(self) -> Any:
        """The preview endpoint's response field (FastAPI's validation and serialisation)."""
        if self._field is None:
            from web.api import router

            (route,) = (r for r in router.routes if getattr(r, "path", None) == "/preview")
            self._field = route.response_field  # type: ignore[attr-defined]
        return self._field


class LeanFastAPI(FastAPI):
    """FastAPI with :class:`LeanPreview` in front of its middleware stack."""

    def build_middleware_stack(self) -> ASGIApp:
        return LeanPreview(super().build_middleware_stack(), self)
