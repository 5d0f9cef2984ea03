"""Tag parsing of the OSM importer: units, lists, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onemap.geo.importers.osm_tags import (
    infer_cross_section,
    parse_count,
    parse_rating_kva,
    parse_voltage_kv,
    parse_width_m,
)


@pytest.mark.parametrize(
    ("text", "kv"),
    [
        ("10000;400", [10.0, 0.4]),
        ("10 kV", [10.0]),
        ("10kV", [10.0]),
        ("110000", [110.0]),
        ("400 V", [0.4]),
        ("20000;20000", [20.0]),
        ("medium", []),
        ("", []),
        (None, []),
        (float("nan"), []),
    ],
)
def test_voltage_parsed_to_kv(text, kv):
    assert parse_voltage_kv(text) == kv


@given(st.lists(st.integers(min_value=1, max_value=800_000), min_size=1, max_size=4))
def test_voltage_list_in_volts_round_trips(volts):
    assert parse_voltage_kv(";".join(map(str, volts))) == sorted(
        {round(v / 1000, 6) for v in volts}, reverse=True
    )


@pytest.mark.parametrize(
    ("text", "m"),
    [("7", 7.0), ("7.5 m", 7.5), ("3,5", 3.5), ("80 cm", 0.8), ("12'6\"", 3.81), ("10'", 3.048)],
)
def test_width_units(text, m):
    assert parse_width_m(text) == pytest.approx(m)


@pytest.mark.parametrize("text", ["narrow", "2;3", "-1", "7 km/h", None])
def test_width_refuses_non_lengths(text):
    assert parse_width_m(text) is None


@given(st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda x: round(x, 2)))
def test_width_in_metres_round_trips(x):
    assert parse_width_m(f"{x} m") == pytest.approx(x)
    assert parse_width_m(str(x)) == pytest.approx(x)


def test_rating_needs_a_unit():
    assert parse_rating_kva("630 kVA") == 630
    assert parse_rating_kva("0.63 MVA") == pytest.approx(630)
    assert parse_rating_kva("630") is None  # kVA or MVA? never guessed


def test_lane_count():
    assert parse_count("3") == 3
    assert parse_count("2;3") is None


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "sidewalk",
                "sidewalk:left",
                "sidewalk:right",
                "sidewalk:both",
                "cycleway",
                "cycleway:left",
                "cycleway:right",
                "cycleway:both",
                "oneway",
            ]
        ),
        st.sampled_from(
            [
                "yes",
                "no",
                "both",
                "left",
                "right",
                "separate",
                "lane",
                "track",
                "opposite_lane",
                "-1",
                "none",
            ]
        ),
    ),
    st.sampled_from(["residential", "primary", "service", "motorway", "footway", "cycleway"]),
)
def test_every_strip_has_a_nonnegative_width_and_a_source(tags, highway):
    xs = infer_cross_section({"highway": highway, **tags})
    assert set(xs.widths) == set(xs.sources)
    assert len(xs.widths) == 7
    assert all(w >= 0 for w in xs.widths.values())
    assert set(xs.sources.values()) <= {"tagged", "mapped_way", "derived", "default"}
    for side in ("left", "right"):
        if tags.get(f"sidewalk:{side}") == "no" and highway not in ("footway", "cycleway"):
            assert xs.widths[f"sidewalk_{side}"] == 0
            assert xs.sources[f"sidewalk_{side}"] == "tagged"
