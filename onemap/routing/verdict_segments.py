"""The segments of a filing verdict: runs of pieces on one strip, held as columns (issue 18).

A verdict lists the route as segments — consecutive pieces on the same corridor strip of the
same road and side with the same reason. A zig-zag route has about six a vertex, so a 50k-vertex
route has some 300k: one Python object or dict built field by field a segment was most of its
check. :func:`segment_table` groups the pieces with numpy, and :class:`SegmentTable` keeps the
segments as columns: a :class:`Segment` row is made only when it is read, and the JSON rows
(:meth:`SegmentTable.to_dicts`) are built from the columns in one pass, their numbers rounded
as Python's ``round`` does (:func:`round_like_python`).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from onemap.parallel import collector_paused
from onemap.routing.overlay import CORRIDORS, SIDES

if TYPE_CHECKING:
    from onemap.routing.overlay import Pieces

CORRIDOR_NAMES = {
    "zh": {
        "sidewalk": "人行道",
        "bike_lane": "非机动车道",
        "motor_lane": "机动车道",
        "green_belt": "绿化带",
        "duct": "既有电缆通道",
        "crossing": "横穿车行道",
        "access": "接户段",
        "off_corridor": "道路通道外",
        "structure": "桥梁/隧道等构筑物",
        "green_space": "绿地",
    },
    "en": {
        "sidewalk": "sidewalk",
        "bike_lane": "bike lane",
        "motor_lane": "motor lanes",
        "green_belt": "green belt",
        "duct": "existing duct",
        "crossing": "carriageway crossing",
        "access": "service connection",
        "off_corridor": "off the corridors",
        "structure": "bridge / tunnel / structure",
        "green_space": "green space",
    },
}
GUESS = {"": 0, "mapped_way": 1, "tagged": 2, "derived": 3, "default": 4}  # least surveyed last
MIN_SEGMENT_M = 1e-9  # zero-length rows (a piece between two coincident cuts) are not shown
_BY_RANK = tuple(GUESS)  # rank → provenance (GUESS's values are 0, 1, 2… in order)
_BIKE_LANE_NOT_PASSABLE = "BIKE_LANE_NOT_PASSABLE"


@dataclass
class Segment:
    """A run of consecutive pieces on the same corridor strip of the same road."""

    corridor: str
    length_m: float
    road_id: str | None
    side: str
    occupied_width_m: float
    remaining_bike_m: float | None
    reason: str | None
    start_m: float
    end_m: float
    provenance: str = ""  # where the strip came from (the least surveyed piece of the run)
    road_name: str | None = None

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        # the remaining bike-lane width belongs to bike-lane rows (and to the rows it fails on)
        show_bike = self.corridor == "bike_lane" or self.reason == _BIKE_LANE_NOT_PASSABLE
        return {
            "corridor": self.corridor,
            "corridor_name": CORRIDOR_NAMES[lang][self.corridor],
            "length_m": round(self.length_m, 3),
            "road_id": self.road_id,
            "road_name": self.road_name,
            "side": self.side or None,
            "occupied_width_m": round(self.occupied_width_m, 3),
            "remaining_bike_m": None
            if self.remaining_bike_m is None or not show_bike
            else round(self.remaining_bike_m, 3),
            "reason": self.reason,
            "start_m": round(self.start_m, 3),
            "end_m": round(self.end_m, 3),
            "provenance": self.provenance or None,
        }


def round_like_python(values: np.ndarray, ndigits: int) -> list[float]:
    """``[round(v, ndigits) for v in values.tolist()]``, vectorised.

    Python rounds the exact binary value to ``ndigits`` decimals (half to even) and returns the
    double nearest that decimal; ``rint(v·10ⁿ) / 10ⁿ`` gives the same double (the division of
    two exact numbers is correctly rounded) except where the product's own rounding error may
    have moved it across a half — the values within a few ulps of one, and the non-finite or
    huge ones, which are rounded by Python itself.

    Parameters
    ----------
    values
        Floats (1-d).
    ndigits
        Decimals to keep (0 to 15).

    Returns
    -------
    list of float
        The rounded values as Python floats.
    """
    v = np.asarray(values, dtype=float)
    scale = 10.0**ndigits
    with np.errstate(over="ignore", invalid="ignore"):
        y = v * scale
        out = np.rint(y) / scale
        frac = np.abs(y - np.floor(y) - 0.5)
        # finite ``y`` below 2^52 only (beyond it every double is an integer or a half)
        doubt = ~(np.abs(y) < 2.0**52) | (frac <= 8.0 * np.spacing(np.abs(y)))
    rounded = out.tolist()
    for i in np.flatnonzero(doubt).tolist():
        rounded[i] = round(float(v[i]), ndigits)
    return rounded


class SegmentTable(Sequence[Segment]):
    """The segments of a verdict as columns, in order along the route; a sequence of
    :class:`Segment` (each made on first read).

    Parameters
    ----------
    corridor, road_id, side, reason, provenance, road_name
        Per segment: the corridor name, the road id (None off the roads), the side (``""``
        none), the reason code (None: the segment may be filed), where its strip came from
        (``""`` unknown) and the road's name (None unknown).
    length_m, occupied_width_m, remaining_bike_m, start_m, end_m
        Per segment (float arrays): the length, the trench's occupied width, the bike lane's
        remaining width (NaN: no bike lane) and where it starts and ends along the route.
    """

    __slots__ = (
        "_rows",
        "corridor",
        "end_m",
        "length_m",
        "occupied_width_m",
        "provenance",
        "reason",
        "remaining_bike_m",
        "road_id",
        "road_name",
        "side",
        "start_m",
    )

    def __init__(
        self,
        *,
        corridor: list[str],
        length_m: np.ndarray,
        road_id: list[str | None],
        side: list[str],
        occupied_width_m: np.ndarray,
        remaining_bike_m: np.ndarray,
        reason: list[str | None],
        start_m: np.ndarray,
        end_m: np.ndarray,
        provenance: list[str],
        road_name: list[str | None],
    ) -> None:
        self.corridor = corridor
        self.length_m = np.asarray(length_m, dtype=float)
        self.road_id = road_id
        self.side = side
        self.occupied_width_m = np.asarray(occupied_width_m, dtype=float)
        self.remaining_bike_m = np.asarray(remaining_bike_m, dtype=float)
        self.reason = reason
        self.start_m = np.asarray(start_m, dtype=float)
        self.end_m = np.asarray(end_m, dtype=float)
        self.provenance = provenance
        self.road_name = road_name
        self._rows: list[Segment] | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Segment]) -> SegmentTable:
        """The table of a list of segments (the rows read back are equal to them).

        Parameters
        ----------
        rows
            Segments in order along the route.

        Returns
        -------
        SegmentTable
        """
        rows = list(rows)
        columns = {f.name: [getattr(r, f.name) for r in rows] for f in fields(Segment)}
        remaining = columns["remaining_bike_m"]
        columns["remaining_bike_m"] = [np.nan if r is None else r for r in remaining]
        table = cls(**columns)
        table._rows = rows
        return table

    # -- the sequence of Segment rows -----------------------------------------------------------

    def rows(self) -> list[Segment]:
        """The segments as :class:`Segment` objects (made once, then kept).

        Returns
        -------
        list of Segment
        """
        if self._rows is None:
            columns = [getattr(self, f.name) for f in fields(Segment)]
            columns = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns]
            at = [f.name for f in fields(Segment)].index("remaining_bike_m")
            columns[at] = [None if r != r else r for r in columns[at]]  # NaN: no bike lane
            self._rows = [Segment(*values) for values in zip(*columns, strict=True)]
        return self._rows

    def __len__(self) -> int:
        return len(self.corridor)

    @overload
    def __getitem__(self, index: int) -> Segment: ...

    @overload
    def __getitem__(self, index: slice) -> list[Segment]: ...

    def __getitem__(self, index: int | slice) -> Segment | list[Segment]:
        return self.rows()[index]

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.rows())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return self.rows() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable rows, like a list

    def __repr__(self) -> str:
        return f"SegmentTable({self.rows()!r})"

    # -- answers from the columns ---------------------------------------------------------------

    def to_dicts(self, lang: str = "zh") -> list[dict[str, Any]]:
        """``[s.to_dict(lang) for s in self]``, built from the columns.

        Parameters
        ----------
        lang
            Language of the corridor names (``zh`` or ``en``).

        Returns
        -------
        list of dict
            One JSON row a segment (see :meth:`Segment.to_dict`).
        """
        if not len(self):
            return []
        names = CORRIDOR_NAMES[lang]
        corridor_name = [names[c] for c in self.corridor]
        remaining = self.remaining_bike_m
        # the remaining width is shown on bike-lane rows and on the rows it fails on
        shown = [
            i
            for i in np.flatnonzero(~np.isnan(remaining)).tolist()
            if self.corridor[i] == "bike_lane" or self.reason[i] == _BIKE_LANE_NOT_PASSABLE
        ]
        remaining_l: list[float | None] = [None] * len(self)
        for i, r in zip(shown, round_like_python(remaining[shown], 3), strict=True):
            remaining_l[i] = r
        with collector_paused():  # a large, acyclic result (see collector_paused)
            return [
                {
                    "corridor": c,
                    "corridor_name": cn,
                    "length_m": ln,
                    "road_id": rid,
                    "road_name": rn,
                    "side": sd or None,
                    "occupied_width_m": occ,
                    "remaining_bike_m": rem,
                    "reason": rs,
                    "start_m": s,
                    "end_m": e,
                    "provenance": pv or None,
                }
                for c, cn, ln, rid, rn, sd, occ, rem, rs, s, e, pv in zip(
                    self.corridor,
                    corridor_name,
                    round_like_python(self.length_m, 3),
                    self.road_id,
                    self.road_name,
                    self.side,
                    round_like_python(self.occupied_width_m, 3),
                    remaining_l,
                    self.reason,
                    round_like_python(self.start_m, 3),
                    round_like_python(self.end_m, 3),
                    self.provenance,
                    strict=True,
                )
            ]

    def assumptions(self, length_m: float) -> list[dict[str, Any]]:
        """The segments whose strips are class defaults (guesses), with length and share.

        Parameters
        ----------
        length_m
            The route's length (the share's denominator).

        Returns
        -------
        list of dict
            ``corridor``, ``road_id``, ``road_name``, ``length_m``, ``share``, ``start_m`` and
            ``end_m`` of each such segment, in order along the route.
        """
        total = max(length_m, 1e-9)
        rows = [i for i, p in enumerate(self.provenance) if p == "default"]
        if not rows:
            return []
        idx = np.asarray(rows)
        length = self.length_m[idx]
        return [
            {
                "corridor": self.corridor[i],
                "road_id": self.road_id[i],
                "road_name": self.road_name[i],
                "length_m": ln,
                "share": sh,
                "start_m": s,
                "end_m": e,
            }
            for i, ln, sh, s, e in zip(
                rows,
                round_like_python(length, 3),
                round_like_python(length / total, 4),
                round_like_python(self.start_m[idx], 3),
                round_like_python(self.end_m[idx], 3),
                strict=True,
            )
        ]

    def basis(self) -> str:
        """What the verdict rests on (see :attr:`onemap.routing.filing.FilingVerdict.basis`).

        Returns
        -------
        str
            ``surveyed``, ``tagged``, ``partly_assumed`` or ``assumed``.
        """
        lengths = self.length_m.tolist()
        # Python's sum, in order: the same floats as summing the rows one by one
        total = sum(itertools.compress(lengths, map(bool, self.provenance)))
        if total <= 0:
            return "assumed"
        is_default = map(operator.eq, self.provenance, itertools.repeat("default"))
        default = sum(itertools.compress(lengths, is_default))
        if default <= 1e-9:
            mapped = all(p == "mapped_way" for p in set(self.provenance) if p)
            return "surveyed" if mapped else "tagged"
        return "assumed" if default >= total - 1e-9 else "partly_assumed"


def as_table(segments: Sequence[Segment]) -> SegmentTable:
    """``segments`` as a :class:`SegmentTable` (itself when it is one).

    Parameters
    ----------
    segments
        A verdict's segments.

    Returns
    -------
    SegmentTable
    """
    return segments if isinstance(segments, SegmentTable) else SegmentTable.from_rows(segments)


def segment_table(
    pieces: Pieces,
    pr: Any,  # onemap.routing.filing.PieceRule (not imported: filing imports this module)
    length: np.ndarray,
    road: np.ndarray,
    names: dict[str, str],
    reason_codes: Sequence[str],
) -> SegmentTable:
    """Group classified pieces into the segments of their verdict.

    A segment begins where the corridor, the road, the side or the reason changes; it takes the
    widest occupied width, the least remaining bike-lane width and the least surveyed
    provenance of its pieces. Segments shorter than :data:`MIN_SEGMENT_M` are left out.

    Parameters
    ----------
    pieces
        The route's pieces in order along it.
    pr
        Their reasons and widths (:func:`onemap.routing.filing.piece_reasons`).
    length
        Their lengths.
    road
        Their road ids (object; ``""`` off the roads).
    names
        Road id → road name.
    reason_codes
        The reason code of each reason number (``pr.reason``; -1: no reason).

    Returns
    -------
    SegmentTable
    """
    n = len(pieces)
    if not n:
        return SegmentTable.from_rows([])
    changed = np.zeros(n, dtype=bool)
    changed[0] = True
    for key in (pieces.corridor, road, pieces.side, pr.reason):
        changed[1:] |= key[1:] != key[:-1]
    start = np.flatnonzero(changed)
    end_m = np.cumsum(length)
    seg_len = np.add.reduceat(length, start)
    last = np.r_[start[1:], n] - 1
    ends = end_m[last]
    # what GUESS does not name ranks 0
    prov = np.fromiter(map(GUESS.get, pieces.provenance.tolist(), itertools.repeat(0)), np.int64, n)
    keep = seg_len >= MIN_SEGMENT_M
    first = start[keep]
    roads = road[first].tolist()
    reason_of = np.array([*reason_codes, None], dtype=object)  # -1 → None
    rank_of = np.array(_BY_RANK, dtype=object)
    return SegmentTable(
        corridor=np.array(CORRIDORS, dtype=object)[pieces.corridor[first]].tolist(),
        length_m=seg_len[keep],
        road_id=[r or None for r in roads],
        side=np.array(SIDES, dtype=object)[pieces.side[first]].tolist(),
        occupied_width_m=np.maximum.reduceat(pr.occupied_m, start)[keep],
        remaining_bike_m=np.fmin.reduceat(pr.remaining_bike_m, start)[keep],
        reason=reason_of[pr.reason[first]].tolist(),
        start_m=(ends - seg_len)[keep],
        end_m=ends[keep],
        provenance=rank_of[np.maximum.reduceat(prov, start)[keep]].tolist(),
        road_name=list(map({r: names.get(r) or None for r in set(roads)}.__getitem__, roads)),
    )


__all__ = [
    "CORRIDOR_NAMES",
    "MIN_SEGMENT_M",
    "Segment",
    "SegmentTable",
    "as_table",
    "round_like_python",
    "segment_table",
]
