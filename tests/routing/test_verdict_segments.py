"""The verdict's segments built as columns (issue 18) against straightforward references:
Python's ``round`` value by value, a piece-by-piece grouping loop, the per-row ``Segment``
JSON and the parcel lookup of every piece of a route."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from onemap.errors import OnemapInputError
from onemap.routing import check_route
from onemap.routing.build import corridor_model
from onemap.routing.check import _foreign, label_runs, line_pieces
from onemap.routing.filing import REASONS, PieceRule, piece_reasons
from onemap.routing.overlay import CORRIDORS, SIDES, Pieces
from onemap.routing.verdict_segments import (
    MIN_SEGMENT_M,
    Segment,
    SegmentTable,
    round_like_python,
    segment_table,
)
from onemap.rules import resolve_rules
from routing.streets import duct, line, make_map, parcel, road

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DEFAULT = "sidewalk_left=default;sidewalk_right=default;bike_left=default;bike_right=default;"
MAPPED = "sidewalk_left=mapped_way;sidewalk_right=mapped_way;bike_left=tagged;bike_right=tagged;"


@pytest.fixture(scope="module")
def mixed():
    """Strips of every kind and provenance: a guessed avenue with a narrow bike lane and a
    green belt, a surveyed side street without one, a duct and two parcels by the avenue."""
    avenue = {
        **road("A", [(-100, 0), (400, 0)], motor=10, bike=1.1, sidewalk=0.8, green=2.0),
        "name": "大道",
        "xs_source": DEFAULT + "motor_width=default;green_left=default;green_right=default",
    }
    side = {
        **road("B", [(0, 0), (0, 300)], motor=7, bike=0, sidewalk=1.0),
        "xs_source": MAPPED + "motor_width=tagged;green_left=tagged;green_right=tagged",
    }
    return make_map(
        [avenue, side],
        ducts=[duct("D1", [(60, -9.5), (160, -9.5)])],
        parcels=[parcel("HOME", 100, 16, 140, 60), parcel("FARM", 140, 16, 180, 60, "0101")],
    )


def zigzag(n: int, x0: float, x1: float, amp: float) -> list[tuple[float, float]]:
    x = np.linspace(x0, x1, n)
    return list(zip(x.tolist(), np.where(np.arange(n) % 2, amp, -amp).tolist(), strict=True))


routes = st.lists(
    st.tuples(st.floats(-40.0, 200.0), st.floats(-30.0, 60.0)), min_size=2, max_size=10
)
ZIGZAG = zigzag(60, -20.0, 180.0, 14.0)
FROM_HOME = [(120.0, 40.0), (120.0, 8.0), (300.0, 8.0), (300.0, -8.0)]
# a short zig-zag in the home parcel, then many pieces along the sidewalk: the home's pieces
# are the first of the route's, judged against the parcel the route starts in
HOME_ZIGZAG = [
    *[(118.0 + 3.0 * (i % 2), 20.0 - i // 2) for i in range(6)],
    *[(120.0 + 9.0 * k, 6.5) for k in range(20)],
]


def _verdict(m, pts, kv=10.0, placement="drawn"):
    geom = line(*pts)
    try:
        return geom, check_route(m, geom, kv, "2026-09-30", placement=placement)
    except OnemapInputError:
        return geom, None  # degenerate, or outside the map: no verdict to compare


# -- round ------------------------------------------------------------------------------------


def _near_ties(draw_int: int, ndigits: int) -> list[float]:
    tie = (draw_int + 0.5) / 10.0**ndigits
    return [tie, float(np.nextafter(tie, -np.inf)), float(np.nextafter(tie, np.inf)), -tie]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20),
    st.integers(-(10**9), 10**9),
    st.integers(0, 6),
)
@example([2.675, 0.0625, 1.0005, -0.0005, 1e300, 5e-324, -0.0, 0.0], 0, 3)
def test_round_like_python_is_round_value_by_value(values, k, ndigits):
    values = [*values, *_near_ties(k, ndigits)]
    got = round_like_python(np.array(values, dtype=float), ndigits)
    want = [round(v, ndigits) for v in values]
    assert [repr(v) for v in got] == [repr(v) for v in want]  # repr: -0.0 and nan alike
    assert all(type(v) is float for v in got)


# -- grouping ---------------------------------------------------------------------------------


def reference_segments(pieces, pr, names: dict[str, str]) -> list[Segment]:
    """The segments one piece at a time: a new row where corridor, road, side or reason
    changes; the widest occupied width, the least remaining bike-lane width and the least
    surveyed provenance of the row's pieces."""
    rank = {"": 0, "mapped_way": 1, "tagged": 2, "derived": 3, "default": 4}
    length = pieces.length.tolist()
    rows: list[dict] = []
    done = 0.0
    for i in range(len(pieces)):
        road = pieces.road_id[i] if pieces.road_id[i] is not None else ""
        key = (int(pieces.corridor[i]), road, int(pieces.side[i]), int(pr.reason[i]))
        if not rows or rows[-1]["key"] != key:
            rows.append({"key": key, "pieces": [], "start": done})
        rows[-1]["pieces"].append(i)
        done += length[i]
        rows[-1]["end"] = done
    out = []
    for r in rows:
        idx = r["pieces"]
        corridor, road, side, reason = r["key"]
        remaining = [float(pr.remaining_bike_m[i]) for i in idx]
        remaining = [v for v in remaining if not math.isnan(v)]
        worst = max(rank.get(str(pieces.provenance[i]), 0) for i in idx)
        seg_len = sum(length[i] for i in idx)
        if seg_len < MIN_SEGMENT_M:
            continue
        out.append(
            Segment(
                corridor=CORRIDORS[corridor],
                length_m=seg_len,
                road_id=road or None,
                side=SIDES[side],
                occupied_width_m=max(float(pr.occupied_m[i]) for i in idx),
                remaining_bike_m=min(remaining) if remaining else None,
                reason=REASONS[reason] if reason >= 0 else None,
                start_m=r["end"] - seg_len,
                end_m=r["end"],
                provenance=next(k for k, v in rank.items() if v == worst),
                road_name=names.get(road) or None,
            )
        )
    return out


def _same_rows(got: list[Segment], want: list[Segment]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for name in ("length_m", "start_m", "end_m"):  # sums: equal up to the adding order
            assert getattr(g, name) == pytest.approx(getattr(w, name), rel=1e-12, abs=1e-9)
        same = ("corridor", "road_id", "side", "occupied_width_m", "remaining_bike_m", "reason")
        assert [getattr(g, k) for k in same] == [getattr(w, k) for k in same]
        assert (g.provenance, g.road_name) == (w.provenance, w.road_name)


@SETTINGS
@given(routes, st.sampled_from([0.4, 10.0]), st.sampled_from(["drawn", "sidewalk_first"]))
@example(ZIGZAG, 10.0, "drawn")
@example(FROM_HOME, 0.4, "drawn")
def test_segment_table_groups_the_pieces_like_a_piece_by_piece_loop(mixed, pts, kv, placement):
    geom = line(*pts)
    if geom.length < 1e-3:
        return
    rules = resolve_rules(mixed, None)
    _, overlay = corridor_model(mixed, rules)
    pieces = label_runs(line_pieces(overlay, geom), rules.filing.attach_max_m)
    if not len(pieces):
        return
    pr = piece_reasons(
        pieces.corridor, pieces.sidewalk_m, pieces.bike_m, pieces.motor_m, kv, rules, placement
    )
    names = {"A": "大道", "B": "B"}
    road = np.array([r if r is not None else "" for r in pieces.road_id], dtype=object)
    table = segment_table(pieces, pr, pieces.length, road, names, REASONS)
    _same_rows(list(table), reference_segments(pieces, pr, names))


# -- JSON -------------------------------------------------------------------------------------


def reference_rows_json(rows: list[Segment], length_m: float, lang: str) -> tuple:
    """A verdict's segment rows, assumptions and basis made row by row."""
    total = max(length_m, 1e-9)
    judged = [s for s in rows if s.provenance]
    judged_m = sum(s.length_m for s in judged)
    default_m = sum(s.length_m for s in judged if s.provenance == "default")
    if judged_m <= 0:
        basis = "assumed"
    elif default_m <= 1e-9:
        basis = "surveyed" if all(s.provenance == "mapped_way" for s in judged) else "tagged"
    else:
        basis = "assumed" if default_m >= judged_m - 1e-9 else "partly_assumed"
    assumptions = [
        {
            "corridor": s.corridor,
            "road_id": s.road_id,
            "road_name": s.road_name,
            "length_m": round(s.length_m, 3),
            "share": round(s.length_m / total, 4),
            "start_m": round(s.start_m, 3),
            "end_m": round(s.end_m, 3),
        }
        for s in rows
        if s.provenance == "default"
    ]
    return [s.to_dict(lang) for s in rows], assumptions, basis


def reference_json(v, lang: str) -> dict:
    """The verdict's JSON with its segment rows, assumptions and basis made row by row."""
    out = v.to_dict(lang)
    out["segments"], out["assumptions"], out["basis"] = reference_rows_json(
        list(v.segments), v.length_m, lang
    )
    return out


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 80), st.integers(0, 2**32 - 1), st.sampled_from(["zh", "en"]))
def test_segment_table_of_any_pieces_is_the_reference(n, seed, lang):
    """Made-up pieces in runs: widths changing inside a run, zero-length pieces, NaN bike
    lanes, pieces of every provenance (and none), ties of the rounding."""
    rng = np.random.default_rng(seed)

    def runs(values, dtype=None):  # a value kept for a few pieces, then another
        keep = rng.random(n) < 0.7
        out = np.array([values[rng.integers(len(values))] for _ in range(n)], dtype=dtype)
        for i in range(1, n):
            if keep[i]:
                out[i] = out[i - 1]
        return out

    step = rng.choice([0.0, 1e-12, 0.0625, 0.0005, 1.25, 3.0], size=n) * rng.integers(1, 9, n)
    a = np.column_stack([np.r_[0.0, np.cumsum(step)[:-1]], np.zeros(n)])
    b = np.column_stack([np.cumsum(step), np.zeros(n)])
    pieces = Pieces(
        a=a,
        b=b,
        parent=np.arange(n),
        poly=np.zeros(n, dtype=np.int64),
        corridor=runs(list(range(len(CORRIDORS))), np.int8),
        road_id=runs(["A", "B", None], object),
        side=runs(list(range(len(SIDES))), np.int8),
        sidewalk_m=np.zeros(n),
        bike_m=np.zeros(n),
        motor_m=np.zeros(n),
        provenance=runs(["", "tagged", "mapped_way", "derived", "default", None], object),
    )
    pr = PieceRule(
        reason=runs(list(range(-1, len(REASONS))), np.int8),
        occupied_m=rng.choice([0.0, 0.6, 1.0, 1.0005], size=n),
        remaining_bike_m=rng.choice([np.nan, 0.0, 0.35, 0.0625, 1.2], size=n),
    )
    names = {"A": "大道"}
    road = np.array([r if r is not None else "" for r in pieces.road_id], dtype=object)
    table = segment_table(pieces, pr, pieces.length, road, names, REASONS)
    want = reference_segments(pieces, pr, names)
    _same_rows(list(table), want)
    length_m = float(pieces.length.sum())
    got = (table.to_dicts(lang), table.assumptions(length_m), table.basis())
    assert _dumps(got) == _dumps(reference_rows_json(list(table), length_m, lang))


@SETTINGS
@given(routes, st.sampled_from([0.4, 10.0]), st.sampled_from(["zh", "en"]))
@example(ZIGZAG, 10.0, "zh")
@example(FROM_HOME, 0.4, "en")
def test_verdict_json_is_the_row_by_row_json(mixed, pts, kv, lang):
    _, v = _verdict(mixed, pts, kv)
    if v is None:
        return
    assert isinstance(v.segments, SegmentTable)
    assert _dumps(v.to_dict(lang)) == _dumps(reference_json(v, lang))


def test_the_examples_cover_every_kind_of_row(mixed):
    """The fixed examples above reach the rows the fast path treats apart: bike lanes (their
    remaining width shown), a failing bike lane, default and surveyed strips, no side."""
    rows = [s for pts in (ZIGZAG, FROM_HOME) for s in _verdict(mixed, pts, 10.0)[1].segments]
    assert {"sidewalk", "bike_lane", "motor_lane", "green_belt", "off_corridor"} <= {
        s.corridor for s in rows
    }
    assert "BIKE_LANE_NOT_PASSABLE" in {s.reason for s in rows}
    assert {"default", "mapped_way", ""} <= {s.provenance for s in rows}
    assert any(s.remaining_bike_m is not None for s in rows)


def test_a_table_is_a_sequence_of_its_rows():
    rows = [
        Segment("sidewalk", 2.5, "A", "left", 0.6, None, None, 0.0, 2.5, "tagged", "大道"),
        Segment("bike_lane", 1.0, "A", "left", 0.6, 0.4, "BIKE_LANE_NOT_PASSABLE", 2.5, 3.5),
    ]
    table = SegmentTable.from_rows(rows)
    assert len(table) == 2 and table == rows and list(table) == rows
    assert table[1] == rows[1] and table[-1:] == rows[-1:]
    assert table.to_dicts("en") == [s.to_dict("en") for s in rows]
    # the rows made from the columns are the rows the columns were made of
    columns = ("corridor", "length_m", "road_id", "side", "occupied_width_m")
    columns += ("remaining_bike_m", "reason", "start_m", "end_m", "provenance", "road_name")
    again = SegmentTable(**{k: getattr(table, k) for k in columns})
    assert again == rows and again.to_dicts("zh") == [s.to_dict("zh") for s in rows]
    assert SegmentTable.from_rows([]) == [] and SegmentTable.from_rows([]).to_dicts() == []


# -- the parcels of the end runs --------------------------------------------------------------


def reference_foreign(m, pieces) -> np.ndarray:
    """Every piece placed in its parcel one at a time: in another parcel than the route's
    start (first half of the pieces) or end (second half)."""
    parcels = list(m.metric("landuse").geometry)
    start = {j for j, p in enumerate(parcels) if p.intersects(shapely.Point(pieces.a[0]))}
    end = {j for j, p in enumerate(parcels) if p.intersects(shapely.Point(pieces.b[-1]))}
    out = np.zeros(len(pieces), dtype=bool)
    for i in range(len(pieces)):
        mid = shapely.Point((pieces.a[i] + pieces.b[i]) / 2.0)
        inside = {j for j, p in enumerate(parcels) if mid.within(p)}
        own = start if i < len(pieces) / 2 else end
        out[i] = bool(inside) and not (inside & own)
    return out


@SETTINGS
@given(routes)
@example(FROM_HOME)
@example(HOME_ZIGZAG)
@example([(60.0, 6.5), (160.0, 6.5), (160.0, 30.0), (130.0, 30.0)])  # home across the farm
@example([(150.0, 40.0), (150.0, 8.0), (60.0, 8.0), (120.0, 30.0)])
def test_end_runs_are_judged_as_with_every_piece_in_its_parcel(mixed, pts):
    geom = line(*pts)
    if geom.length < 1e-3:
        return
    rules = resolve_rules(mixed, None)
    _, overlay = corridor_model(mixed, rules)
    pieces = line_pieces(overlay, geom)
    if not len(pieces):
        return
    reach = rules.filing.attach_max_m
    got = label_runs(pieces, reach, _foreign(mixed, pieces))
    want = label_runs(pieces, reach, reference_foreign(mixed, pieces))
    assert got.corridor.tolist() == want.corridor.tolist()
