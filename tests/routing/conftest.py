"""Fixtures of the routing tests on real data."""

from __future__ import annotations

import pytest

from onemap.routing.corridors import road_pieces


@pytest.fixture(scope="session")
def xinwu_pieces(shared_data, tmp_path_factory):
    """The road pieces of the real Xinwu district (``../shared/data/jiangsu-xinwu``, EULUC
    land use), built once for the session."""
    from onemap.geo.build import build_map

    x = shared_data / "jiangsu-xinwu"
    m, _ = build_map(
        [f"landuse={x / 'xinwu_land_use.gpkg'}", f"roads={x / 'xinwu_road_centerlines.gpkg'}"],
        tmp_path_factory.mktemp("xinwu") / "xinwu.gpkg",
        landuse_mapping="euluc",
    )
    return road_pieces(m.metric("roads"))
