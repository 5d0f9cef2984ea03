"""Shared fixtures: paths to the real data beside the checkout and to the demo map."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Tests import the benchmark helpers in bench/ (not an installed package).
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO_MAP = REPO / "data" / "demo.gpkg"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (real OSM and Xinwu extracts; never copied)."""
    if not SHARED_DATA.exists():
        pytest.fail(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_map_path() -> Path:
    """The shipped demo map ``data/demo.gpkg`` (read-only: copy it before writing)."""
    return DEMO_MAP


@pytest.fixture(scope="session")
def demo_map(demo_map_path):
    """The demo map loaded once per test session (do not mutate; copy layers first)."""
    from onemap.geo.mapfile import read_map

    return read_map(demo_map_path)
