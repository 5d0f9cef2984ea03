"""The catalogue of user-facing messages: one key, a Chinese and an English template each.

Raise sites name a key and its parameters instead of writing English text; the boundaries (the
CLI, the web app) render the message in the user's language::

    raise OnemapInputError(msg("connection.kw_above_lv", kw=300, limit=160, item=8), field="kw")

The templates live in ``onemap/data/messages.toml`` (``[section]`` tables, ``name.zh`` and
``name.en``), formatted with :meth:`str.format`. A parameter that is itself a :class:`Message`
(a phrase such as "DXF entity 3"), or a :class:`Joined` list of them, is rendered in the same
language.

:mod:`onemap.lang` says which languages exist; this module sits below it (beside
:mod:`onemap.errors`, which it must not import either) and takes a language as a plain string:
a language without a template of its own falls back to English. ``tests/test_messages.py``
checks that every entry has exactly the languages of ``onemap.lang.LANGS``.

>>> msg("lang.unknown", lang="fr").text("en")
"unknown language 'fr'; use zh or en"
>>> msg("lang.unknown", lang="fr").text("zh")
'未知的语言“fr”；请用 zh 或 en'
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

__all__ = [
    "CATALOGUE_PATH",
    "FALLBACK_LANG",
    "Joined",
    "Message",
    "catalogue",
    "msg",
    "placeholders",
    "render",
]

CATALOGUE_PATH = Path(__file__).parent / "data" / "messages.toml"
# The language of a template that is missing, of str(message) and of str(error): English, what
# developers read in tracebacks and logs.
FALLBACK_LANG = "en"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """All entries, ``{"section.name": {"zh": template, "en": template}}``."""
    data = tomllib.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for section, entries in data.items():
        for name, templates in entries.items():
            out[f"{section}.{name}"] = dict(templates)
    return out


def placeholders(template: str) -> set[str]:
    """The names of the placeholders of a template (``"{kw:g} kW"`` → ``{"kw"}``)."""
    names = (name for _, name, _, _ in string.Formatter().parse(template) if name is not None)
    return {name.split(".")[0].split("[")[0] for name in names}


@dataclass(frozen=True, eq=True)
class Message:
    """A catalogue key with its parameters, rendered in a language by :meth:`text`."""

    key: str
    params: dict[str, object] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """The message in ``lang`` (English when the entry has no template in it)."""
        templates = catalogue()[self.key]
        template = templates.get(lang) or templates[FALLBACK_LANG]
        return template.format(**{k: render(v, lang) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.text(FALLBACK_LANG)


@dataclass(frozen=True)
class Joined:
    """Several parameters shown as one, each rendered in the language, joined by ``sep``."""

    items: tuple[object, ...]
    sep: str = ", "

    def text(self, lang: str) -> str:
        """The items in ``lang``, joined."""
        return self.sep.join(str(render(item, lang)) for item in self.items)


def render(value: object, lang: str) -> object:
    """A parameter as the template gets it: a nested Message (or Joined) as text in ``lang``."""
    return value.text(lang) if isinstance(value, Message | Joined) else value


def msg(key: str, /, **params: object) -> Message:
    """The message ``key`` of the catalogue with ``params``; KeyError for an unknown key."""
    if key not in catalogue():
        raise KeyError(f"no message '{key}' in {CATALOGUE_PATH.name}")
    return Message(key, params)
