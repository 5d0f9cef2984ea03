"""Guessed side strips on another road's carriageway are not modelled (onemap.routing.overlaps).

Hand-made pairs of ways check the rule's three conditions (a class default, on another
carriageway, from the outside in); a property test checks that ways far enough apart keep
every strip; on the real Xinwu roads (class defaults only) the points-based share is checked
against the exact length share of the band's centre line on the other carriageways.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from onemap.geo.schema import CROSS_SECTION
from onemap.routing.corridors import build_corridors
from onemap.routing.overlaps import trim_overlaps
from onemap.routing.sections import road_pieces
from onemap.rules import resolve_rules

CRS = "EPSG:4549"
# an arterial's class section: 15 m of motor lanes, 3.5 m bike, 4 m sidewalk, 2 m green a side
ARTERIAL = {
    "motor_width_m": 15.0,
    "bike_left_m": 3.5,
    "bike_right_m": 3.5,
    "sidewalk_left_m": 4.0,
    "sidewalk_right_m": 4.0,
    "green_left_m": 2.0,
    "green_right_m": 2.0,
}
DEFAULT = ";".join(f"{c.removesuffix('_m')}=default" for c in CROSS_SECTION)


def _roads(lines, source=DEFAULT, section=ARTERIAL) -> gpd.GeoDataFrame:
    n = len(lines)
    return gpd.GeoDataFrame(
        {
            "road_id": [f"r{i}" for i in range(n)],
            **{c: [section[c]] * n for c in CROSS_SECTION},
            "xs_source": [source] * n,
        },
        geometry=list(lines),
        crs=CRS,
    )


def _pair(gap: float, length: float = 300.0) -> list[shapely.LineString]:
    """Two parallel ways ``gap`` metres apart, both drawn west to east (the south one first)."""
    x0, y0 = 500_000.0, 3_800_000.0
    return [
        shapely.LineString([(x0, y0), (x0 + length, y0)]),
        shapely.LineString([(x0, y0 + gap), (x0 + length, y0 + gap)]),
    ]


def _trim(roads: gpd.GeoDataFrame, share: float = 0.5):
    return trim_overlaps(road_pieces(roads), share=share)


def test_dual_carriageway_loses_its_inner_side_and_keeps_the_outer_one():
    # 20 m apart: each way's carriageway reaches 7.5 m, so the other's inner sidewalk (11–15 m
    # out) and green (15–17 m) lie on it; its inner bike lane (7.5–11 m) is mostly median.
    out, dropped = _trim(_roads(_pair(20.0)))
    south, north = out.iloc[0], out.iloc[1]
    # the south way's left (north) side faces the north way; the north way's right side faces south
    assert south["green_left_m"] == 0 and south["sidewalk_left_m"] == 0
    assert north["green_right_m"] == 0 and north["sidewalk_right_m"] == 0
    assert south["bike_left_m"] == 3.5 and north["bike_right_m"] == 3.5  # median, not road
    for col in ("sidewalk_right_m", "bike_right_m", "green_right_m"):
        assert south[col] == ARTERIAL[col]  # the outer side is the street's
    assert dropped == 4


def test_surveyed_strips_are_kept_where_guessed_ones_go():
    tagged = DEFAULT.replace("sidewalk_left=default", "sidewalk_left=tagged")
    out, _ = _trim(_roads(_pair(20.0), source=tagged))
    assert out.iloc[0]["sidewalk_left_m"] == 4.0  # tagged: kept
    assert out.iloc[0]["green_left_m"] == 0.0  # outside it, a guess on a carriageway
    # a road without xs_source has its widths from the source (read as tagged): all kept
    plain = _roads(_pair(20.0)).drop(columns="xs_source")
    out, dropped = _trim(plain)
    assert dropped == 0


def test_a_kept_outer_band_keeps_the_bands_inside_it():
    # 22 m apart: the other carriageway covers 14.5–29.5 m, so the inner green (15–17 m) is
    # on it but the sidewalk (11–15 m) mostly not: green dropped, sidewalk and bike kept.
    out, dropped = _trim(_roads(_pair(22.0)))
    assert out.iloc[0]["green_left_m"] == 0.0
    assert out.iloc[0]["sidewalk_left_m"] == 4.0 and out.iloc[0]["bike_left_m"] == 3.5
    assert dropped == 2


def test_input_is_not_modified_and_share_above_one_keeps_everything():
    pieces = road_pieces(_roads(_pair(20.0)))
    before = pieces.copy()
    out, dropped = trim_overlaps(pieces, share=1.1)
    assert dropped == 0
    assert out.drop(columns="geometry").equals(before.drop(columns="geometry"))
    trim_overlaps(pieces, share=0.5)
    assert pieces.drop(columns="geometry").equals(before.drop(columns="geometry"))


def test_graph_lines_of_a_dual_carriageway_stay_off_the_other_carriageway():
    rules = resolve_rules()
    model = build_corridors(_roads(_pair(20.0)), None, rules.filing)
    carriageways = shapely.buffer(np.asarray(_pair(20.0), object), 7.5, cap_style="flat")
    inner = shapely.intersection(shapely.union_all(model.lines), shapely.union_all(carriageways[1]))
    # only the north way's own centre line runs there (untrimmed, the south way's inner
    # sidewalk and green lines would too: 900 m)
    assert shapely.length(inner) <= 300.0 + 1e-6
    untrimmed = rules.model_copy(
        update={"filing": rules.filing.model_copy(update={"overlap_trim_share": 1.1})}
    )
    full = build_corridors(_roads(_pair(20.0)), None, untrimmed.filing)
    assert len(full.lines) > len(model.lines)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=np.pi),
    st.floats(min_value=50.0, max_value=400.0),
    st.floats(min_value=24.0, max_value=200.0),
)
def test_ways_farther_apart_than_their_sections_keep_every_strip(angle, length, gap):
    # the outermost band's centre line is 16 m out and a carriageway reaches 7.5 m: beyond
    # 23.5 m apart no band of one way lies on the other's carriageway, whatever the direction
    d = np.array([np.cos(angle), np.sin(angle)])
    n = np.array([-d[1], d[0]])
    o = np.array([500_000.0, 3_800_000.0])
    lines = [
        shapely.LineString([o, o + length * d]),
        shapely.LineString([o + gap * n, o + gap * n + length * d]),
    ]
    out, dropped = _trim(_roads(lines))
    assert dropped == 0
    for c in CROSS_SECTION:
        assert (out[c].to_numpy() == ARTERIAL[c]).all()


def test_real_district_decisions_follow_the_exact_length_share(xinwu_pieces):
    """On Xinwu (every strip a class default) the outermost band of each road side is dropped
    when the exact share of its centre line on other carriageways is high, kept when low."""
    pieces = xinwu_pieces[xinwu_pieces["strip_kind"] == ""].reset_index(drop=True)
    out, dropped = trim_overlaps(pieces, share=0.5)
    assert dropped > 0.1 * len(pieces)  # dual carriageways everywhere: many guessed strips go
    lines = np.asarray(pieces.geometry.values, object)
    motor = pieces["motor_width_m"].to_numpy()
    roads = shapely.buffer(lines, motor / 2.0, quad_segs=4, cap_style="flat")
    tree = shapely.STRtree(roads)
    rng = np.random.default_rng(7)
    agree = checked = 0
    for p in rng.choice(len(pieces), size=300, replace=False):
        for side, sign in (("left", 1.0), ("right", -1.0)):
            widths = [pieces.at[p, f"{b}_{side}_m"] for b in ("bike", "sidewalk", "green")]
            if widths[-1] <= 0:
                continue
            centre = motor[p] / 2 + sum(widths) - widths[-1] / 2  # the green belt's middle
            band = shapely.offset_curve(lines[p], sign * centre)
            near = [j for j in tree.query(band) if j != p and motor[j] > 0]
            if not near or shapely.length(band) < 1.0:
                share = 0.0
            else:
                on = shapely.intersection(band, shapely.union_all(roads[near]))
                share = shapely.length(on) / shapely.length(band)
            was_dropped = out.at[p, f"green_{side}_m"] == 0
            if 0.35 < share < 0.65:
                continue  # sampling decides near the threshold
            checked += 1
            agree += was_dropped == (share >= 0.5)
    assert checked > 200
    assert agree >= 0.97 * checked
