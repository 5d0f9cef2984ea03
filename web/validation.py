"""Readable 422 messages for requests FastAPI refuses before an endpoint runs, in the request's
language (``?lang=``, Chinese by default): the field, and what is wrong with it in words.

Pydantic names each problem by a type (``missing``, ``less_than_equal``…) with its limits in
``ctx``; the texts live in ``web/strings.toml`` under ``validation.<type>`` (both languages),
filled from ``ctx``. A type without a text of its own says that the value is invalid and gives
pydantic's message as the detail.

>>> too_late = {"type": "less_than_equal", "loc": ("query", "year"), "ctx": {"le": 2200}}
>>> message(too_late, "zh")
'字段“year”：应不大于 2200'
>>> message({"type": "missing", "loc": ("query", "lon"), "msg": "Field required"}, "en")
"field 'lon': field required"
"""

from __future__ import annotations

from typing import Any

from web.i18n import Translator

__all__ = ["field_of", "message"]

_WHERE = ("body", "query", "path", "header")


def field_of(error: dict[str, Any]) -> str:
    """The dotted name of the field an error is about (``""`` for the whole request)."""
    return ".".join(str(p) for p in error.get("loc", ()) if p not in _WHERE)


def message(error: dict[str, Any], lang: str) -> str:
    """One pydantic error as a sentence in ``lang``.

    Parameters
    ----------
    error
        An item of ``RequestValidationError.errors()``.
    lang
        ``zh`` or ``en``.

    Returns
    -------
    str
        The field and what is wrong with it.
    """
    t = Translator(lang)  # type: ignore[arg-type]
    kind = str(error.get("type", ""))
    where = field_of(error)
    ctx = {k: _text(v) for k, v in (error.get("ctx") or {}).items()}
    key = f"validation.{kind}"
    try:
        text = t(key, **ctx) if t.has(key) else None
    except (KeyError, IndexError):  # a text that wants a limit this error does not give
        text = None
    if text is None:
        text = t("validation.other", detail=error.get("msg", ""))
    if kind == "json_invalid":
        return text
    return t("validation.field", field=where, message=text) if where else text


def _text(value: Any) -> str:
    """A ``ctx`` value as the message shows it (a limit, a list of allowed values)."""
    return value if isinstance(value, str) else str(value)
