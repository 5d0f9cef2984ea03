"""Languages of messages and labels, and the readiness classes A–D with their names.

Chinese is the default language of every page, message and error; English is available.
This module is the one place that says which languages exist and what the classes are called.

>>> check_lang("en")
'en'
>>> class_label("A", "zh")
'开门接电'
>>> CLASSES
('A', 'B', 'C', 'D')
"""

from __future__ import annotations

from typing import Literal

from onemap.errors import OnemapInputError
from onemap.messages import msg

__all__ = [
    "CLASSES",
    "CLASS_COLORS",
    "CLASS_LABELS",
    "DEFAULT_LANG",
    "LANGS",
    "Lang",
    "check_lang",
    "class_label",
    "pick",
]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"

# Readiness classes (DESIGN §4): at the door, filing works, permit works, grid gap.
CLASSES: tuple[str, ...] = ("A", "B", "C", "D")
# Colours of the classes on every map, page and QGIS style: ColorBrewer RdYlBu (4 classes), a
# palette that stays distinct for colour-blind readers (tests/test_palette.py checks it under
# simulated deuteranopia, protanopia and tritanopia). A good (blue) … D grid gap (red).
CLASS_COLORS: dict[str, str] = {"A": "#2c7bb6", "B": "#abd9e9", "C": "#fdae61", "D": "#d7191c"}
CLASS_LABELS: dict[str, dict[str, str]] = {
    "zh": {"A": "开门接电", "B": "备案施工", "C": "许可施工", "D": "电网缺口"},
    "en": {"A": "connect at the door", "B": "filing works", "C": "permit works", "D": "grid gap"},
}


def check_lang(lang: str) -> Lang:
    """``lang`` if it is a known language; an OnemapInputError naming the field otherwise."""
    if lang not in LANGS:
        raise OnemapInputError(msg("lang.unknown", lang=lang), field="lang")
    return lang  # type: ignore[return-value]


def class_label(cls: str, lang: str = DEFAULT_LANG) -> str:
    """The name of a readiness class in a language."""
    return CLASS_LABELS[check_lang(lang)][cls]


def pick(lang: str, zh: str, en: str) -> str:
    """The Chinese or the English text, by ``lang``."""
    return en if lang == "en" else zh
