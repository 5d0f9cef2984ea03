"""Checking what callers hand the store: each problem is an OnemapInputError naming the field."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Any

from shapely.geometry import mapping, shape

from onemap.errors import OnemapInputError
from onemap.messages import msg

MAX_TEXT = 2000
MAX_KEY = 200
MAX_LIMIT = 1000


def text(value: Any, field: str, *, required: bool = True, max_len: int = MAX_TEXT) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise OnemapInputError(msg("input.text_empty"), field=field)
    if len(value) > max_len:
        raise OnemapInputError(msg("input.text_too_long", max_len=max_len), field=field)
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise OnemapInputError(msg("input.control_chars"), field=field)
    return value


def optional_text(value: Any, field: str, max_len: int = MAX_TEXT) -> str | None:
    return None if value is None else text(value, field, max_len=max_len)


def key(value: str | None) -> str | None:
    """A client idempotency key (1–200 printable characters) or None."""
    return None if value is None else text(value, "key", max_len=MAX_KEY)


def positive(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OnemapInputError(msg("input.not_number"), field=field)
    if not math.isfinite(value) or value <= 0:
        raise OnemapInputError(msg("input.not_positive", value=value), field=field)
    return float(value)


def date(value: Any, field: str) -> str:
    """An ISO date ``YYYY-MM-DD`` from a date or text; today when None."""
    if value is None:
        return dt.date.today().isoformat()
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise OnemapInputError(msg("routing.expected_date", date=value), field=field) from None


def geometry(value: Any, field: str, types: tuple[str, ...]) -> dict[str, Any]:
    """A GeoJSON geometry (or Feature, or anything with ``__geo_interface__``) in EPSG:4326
    lon/lat, of one of ``types``, as a plain GeoJSON dict."""
    if hasattr(value, "__geo_interface__"):
        value = value.__geo_interface__
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or "type" not in value:
        raise OnemapInputError(msg("input.not_geometry"), field=field)
    if value["type"] not in types:
        raise OnemapInputError(
            msg("input.geometry_type", expected=" or ".join(types), found=value["type"]),
            field=field,
        )
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise OnemapInputError(msg("input.invalid_geometry", exc=exc), field=field) from None
    if geom.is_empty:
        raise OnemapInputError(msg("geojson.empty"), field=field)
    west, south, east, north = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds):
        raise OnemapInputError(msg("input.coordinates_not_finite"), field=field)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise OnemapInputError(msg("input.coordinates_not_lonlat"), field=field)
    return json.loads(json.dumps(mapping(geom)))


def json_value(value: Any, field: str) -> Any:
    """``value`` if it is plain JSON (dicts, lists, text, numbers, bools, null)."""
    return json.loads(json_text(value, field))


def json_text(value: Any, field: str) -> str:
    """``value`` as the JSON text the store keeps (dates as ISO text); what :func:`dumps` gives
    for :func:`json_value` of it, in one pass (a proposal or a verdict is kilobytes, encoded
    on every write)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_date)
    except (TypeError, ValueError, RecursionError) as exc:
        raise OnemapInputError(msg("input.not_json", exc=exc), field=field) from None


def _date(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def digest(payload: Any) -> str:
    """SHA-256 of a canonical JSON form: the fingerprint of a request under a client key."""
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def page(limit: int, offset: int) -> tuple[int, int]:
    """Paging arguments: ``limit`` 1–1000, ``offset`` ≥ 0."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise OnemapInputError(
            msg("input.limit_range", max_limit=MAX_LIMIT, limit=limit), field="limit"
        )
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise OnemapInputError(msg("input.offset_negative", offset=offset), field="offset")
    return limit, offset
