"""User-facing strings of the web app in Chinese (default) and English.

The strings live in ``web/strings.toml`` (one table per language, same keys). Pages pick the
language from ``?lang=`` (``zh`` default, ``en``); the strings a page's script needs are passed to
it as JSON, so the browser never builds text of its own.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from onemap.lang import DEFAULT_LANG, LANGS, Lang

__all__ = ["DEFAULT_LANG", "LANGS", "Lang", "Translator", "lang_of", "strings"]

STRINGS_FILE = Path(__file__).with_name("strings.toml")


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    """All strings: ``{lang: {key: text}}``."""
    return tomllib.loads(STRINGS_FILE.read_text(encoding="utf-8"))


def lang_of(value: str | None) -> Lang:
    """The language for a ``?lang=`` value; anything unknown falls back to Chinese."""
    return value if value in LANGS else DEFAULT_LANG  # type: ignore[return-value]


class Translator:
    """``t("nav.map")`` → the text in one language; a missing key shows as the key itself."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._table = strings()[lang]

    def has(self, key: str) -> bool:
        """Whether the table has a text for ``key``."""
        return key in self._table

    def __call__(self, key: str, **fmt: object) -> str:
        text = self._table.get(key, key)
        return text.format(**fmt) if fmt else text

    def subset(self, prefix: str) -> dict[str, str]:
        """Strings whose key starts with ``prefix`` (given to a page's script)."""
        return {k: v for k, v in self._table.items() if k.startswith(prefix)}
