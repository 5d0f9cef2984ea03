"""Errors raised on bad input.

Every message names where the problem is: the file, the layer, the row and/or the field, so a
planner can fix the source data without reading code. The CLI maps these to exit code 2 and the
web app to HTTP 422, both in the user's language (Chinese unless English is asked for).

A message is a catalogue entry (:func:`onemap.messages.msg`), not English text::

    raise OnemapInputError(msg("geo.file_not_found"), file="roads.shp")

``err.text("zh")`` / ``err.text("en")`` give the whole readable line in a language;
``str(err)`` is the English line (what tracebacks, logs and the library's tests show).
"""

from __future__ import annotations

from onemap.messages import FALLBACK_LANG, Message, msg

__all__ = ["OnemapInputError", "text_of"]


def text_of(message: Message | str, lang: str) -> str:
    """A message in ``lang``; a plain string (not from the catalogue) as it is."""
    return message.text(lang) if isinstance(message, Message) else message


class OnemapInputError(ValueError):
    """Bad input from a user: a file, a layer, a request or a rule table.

    Parameters
    ----------
    message
        The catalogue message (``msg(key, **params)``); a plain string is shown as it is in
        every language, so library code passes a Message (tests/test_messages.py checks that).
    file, layer, row, field
        Where the problem is; :meth:`text` puts them before the message.
    """

    def __init__(
        self,
        message: Message | str,
        *,
        file: str | None = None,
        layer: str | None = None,
        row: int | str | None = None,
        field: str | None = None,
    ) -> None:
        self.msg = message
        self.file = file
        self.layer = layer
        self.row = row
        self.field = field
        super().__init__(self.text(FALLBACK_LANG))

    @property
    def message(self) -> str:
        """The message without its location, in English."""
        return self.message_text(FALLBACK_LANG)

    def message_text(self, lang: str) -> str:
        """The message without its location, in ``lang``."""
        return text_of(self.msg, lang)

    def location(self, lang: str = FALLBACK_LANG) -> str:
        """Where the problem is (``file x, layer 'roads', row 3, field 'width_m'``) in ``lang``."""
        parts = [
            msg(f"where.{name}", **{name: value}).text(lang)
            for name, value in (
                ("file", self.file),
                ("layer", self.layer),
                ("row", self.row),
                ("field", self.field),
            )
            if value is not None
        ]
        return msg("where.sep").text(lang).join(parts)

    def text(self, lang: str) -> str:
        """The whole readable line in ``lang``: the location, then the message."""
        where, message = self.location(lang), self.message_text(lang)
        return msg("where.line", where=where, message=message).text(lang) if where else message

    def __str__(self) -> str:
        return self.text(FALLBACK_LANG)

    def to_dict(self, lang: str = FALLBACK_LANG) -> dict[str, object]:
        """The message (in ``lang``) and its location as JSON-ready fields."""
        return {
            "error": self.message_text(lang),
            "file": self.file,
            "layer": self.layer,
            "row": self.row,
            "field": self.field,
        }
