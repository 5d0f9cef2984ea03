"""Classes A–D stay distinct for colour-blind readers (issue 16, item 8), and every map, page
and QGIS style uses the one palette of onemap.lang."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from onemap.lang import CLASS_COLORS, CLASSES

REPO = Path(__file__).resolve().parents[1]
# Machado, Oliveira & Fernandes (2009) simulation matrices, severity 1.0 (linear RGB)
SIMULATE = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}


def _linear(hex_colour: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(rgb_linear: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(rgb_linear, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_classes_stay_apart_for_colour_blind_readers():
    for name, matrix in {"normal": np.eye(3).tolist(), **SIMULATE}.items():
        labs = {c: _lab(np.array(matrix) @ _linear(CLASS_COLORS[c])) for c in CLASSES}
        for a, b in itertools.combinations(CLASSES, 2):
            delta = float(np.linalg.norm(labs[a] - labs[b]))
            assert delta >= 15, (name, a, b, round(delta, 1))  # CIE76 ΔE: clearly different


def test_pages_scripts_and_styles_use_the_one_palette():
    js = (REPO / "web" / "static" / "onemap.js").read_text(encoding="utf-8")
    css = (REPO / "web" / "static" / "onemap.css").read_text(encoding="utf-8")
    for c in CLASSES:
        hex_colour = CLASS_COLORS[c]
        assert re.search(rf"{c}: \"{hex_colour}\"", js), c
        assert re.search(rf"\.om-class-{c} {{ background: {hex_colour};", css), c
    from onemap.geo import styles
    from web.pages import common

    assert styles.READINESS_COLORS is CLASS_COLORS and common.READINESS_COLORS is CLASS_COLORS
