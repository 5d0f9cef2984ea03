"""Overlay of straight segments on the corridor polygons: the one classifier graph and check share.

A line (a submitted route, or a corridor-graph edge) is taken as straight segments. Each segment
is cut where it crosses a polygon boundary, and each piece takes the class of the polygon that
contains its midpoint; where several do (a piece on a shared boundary), the highest-ranked one
(duct > junction > motor lane > bike lane > sidewalk > green belt). A piece in no polygon but
within ``corridor_tolerance_m`` of one takes the nearest polygon's class; otherwise it is off the
mapped corridors. Because the corridor graph's edges are classified by this same function, a
route found on the graph and the same route checked as a drawn line get identical pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import STRtree

from onemap.parallel import chunk_size, map_chunks
from onemap.routing.corridors import EPS, CorridorModel
from onemap.routing.noding import cut_segments, interior_cuts, segment_hits

CORRIDORS = (
    "sidewalk",
    "bike_lane",
    "motor_lane",
    "green_belt",
    "duct",
    "crossing",
    "access",
    "off_corridor",
    "structure",  # a bridge deck, tunnel, covered way or steps (not filing-eligible)
    "green_space",  # green land: parks, protective green, planted squares
)
CODE = {name: i for i, name in enumerate(CORRIDORS)}
OFF = CODE["off_corridor"]
# What a service connection may pass between a door or an asset and the road's walkable strips:
# off the corridors (private land, setbacks) and the green belt the equipment stands in.
ACCESS_PASSES = (CODE["off_corridor"], CODE["green_belt"], CODE["green_space"])
DUCT_RANK = 60  # above every strip (corridors.RANK)
SIDES = ("left", "right", "both", "junction", "")
INVERT_AT = 2048  # points from which classify queries polygons against the points (speed only)
POINT_CHUNK = 65_536  # points per chunk of that query (bounds memory; speed only)
CROSSING_CHUNK = 16_384  # segments per boundary-crossing query (bounds memory; speed only)
SIDE_CODE = {name: i for i, name in enumerate(SIDES)}


@dataclass
class Overlay:
    """Corridor polygons (plus duct polygons when ducts count as unoccupied) ready to classify.

    Arrays are aligned with ``geoms``; ``poly`` indexes returned by :meth:`classify` refer to them.
    """

    geoms: np.ndarray
    tree: STRtree
    corridor: np.ndarray  # int codes into CORRIDORS
    road_id: np.ndarray  # object
    side: np.ndarray  # int codes into SIDES
    rank: np.ndarray
    sidewalk_m: np.ndarray
    bike_m: np.ndarray
    motor_m: np.ndarray
    tolerance_m: float
    level: np.ndarray | None = None  # level of each polygon (grade separation); None: all 0
    provenance: np.ndarray | None = None  # where each strip's position and width came from
    _trees: dict = field(default_factory=dict, repr=False)  # rebuilt on demand, not stored

    @classmethod
    def build(cls, model: CorridorModel, *, ducts_unoccupied: bool, tolerance_m: float) -> Overlay:
        polys = model.polygons
        geoms = np.asarray(polys.geometry.values, dtype=object)
        corridor = polys["corridor"].map(CODE).to_numpy()
        road_id = polys["road_id"].to_numpy(dtype=object)
        side = polys["side"].map(SIDE_CODE).to_numpy()
        rank = polys["rank"].to_numpy()
        sidewalk = polys["sidewalk_m"].to_numpy(dtype=float)
        bike = polys["bike_m"].to_numpy(dtype=float)
        motor = polys["motor_m"].to_numpy(dtype=float)
        n_polys = len(polys)
        level = (
            polys["level"].to_numpy(dtype=np.int64)
            if "level" in polys
            else np.zeros(n_polys, np.int64)
        )
        prov = (
            polys["provenance"].to_numpy(dtype=object)
            if "provenance" in polys
            else np.full(n_polys, "tagged", dtype=object)
        )
        if ducts_unoccupied and len(model.ducts):
            # a route following a duct, within the corridor tolerance of it, uses the duct
            d = shapely.buffer(model.ducts, max(tolerance_m, EPS), quad_segs=2, cap_style="flat")
            n = len(d)
            geoms = np.concatenate([geoms, d])
            corridor = np.concatenate([corridor, np.full(n, CODE["duct"])])
            road_id = np.concatenate([road_id, np.full(n, None, dtype=object)])
            side = np.concatenate([side, np.full(n, SIDE_CODE[""])])
            rank = np.concatenate([rank, np.full(n, DUCT_RANK)])
            sidewalk = np.concatenate([sidewalk, np.zeros(n)])
            bike = np.concatenate([bike, np.zeros(n)])
            motor = np.concatenate([motor, np.zeros(n)])
            level = np.concatenate([level, np.zeros(n, np.int64)])
            prov = np.concatenate([prov, np.full(n, "tagged", dtype=object)])
        return cls(
            geoms=geoms,
            tree=STRtree(geoms),
            corridor=corridor.astype(np.int8),
            road_id=road_id,
            side=side.astype(np.int8),
            rank=rank.astype(np.int16),
            sidewalk_m=sidewalk,
            bike_m=bike,
            motor_m=motor,
            tolerance_m=tolerance_m,
            level=level,
            provenance=prov,
        )

    @property
    def levelled(self) -> bool:
        """Whether the polygons lie on more than one level (bridges, tunnels): known once, not
        counted again for every drawn route."""
        if "levelled" not in self._trees:
            self._trees["levelled"] = self.level is not None and len(np.unique(self.level)) > 1
        return self._trees["levelled"]

    # -----------------------------------------------------------------------------------------

    def cuts(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where segments ``a[i]→b[i]`` cross polygon boundaries: (segment index, parameter t).

        Parameters strictly inside (0, 1) only, sorted by segment then t, without duplicates.
        """
        return self.cuts_and_contacts(a, b)[:2]

    def cuts_and_contacts(
        self, a: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`cuts`, and two masks over the segments: ``ends`` (n, 2), a boundary meets
        the segment at its start / its end; ``along``, a boundary runs along it. A segment
        with neither, and the next one it continues into, lie in the same polygons on either
        side of the node they share (:meth:`classify`'s ``runs``)."""
        seg, t, at_start, at_end, along_seg = self._crossings(a, b)
        ends = np.zeros((len(a), 2), dtype=bool)
        along = np.zeros(len(a), dtype=bool)
        ends[at_start, 0] = True
        ends[at_end, 1] = True
        along[along_seg] = True
        # each chunk's cuts are in order along each of its segments: put the segments in order
        order = np.argsort(seg, kind="stable")
        return seg[order], t[order], ends, along

    def _crossings(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """Where segments a→b meet a boundary segment (:func:`segment_hits`), as
        :func:`~onemap.routing.noding.interior_cuts` gives them a chunk: the cuts (segment
        index, parameter t: one a position, in order along each segment), the segments a
        boundary meets at their start, at their end, and those a boundary runs along.

        The segments go in spatially compact chunks (Z-order of their middles), and each chunk
        meets only the boundaries of the polygons over its bounding box, cut into two-point
        segments and indexed on the spot — the segments a boundary segment can meet all lie in
        such a polygon, so the crossings are those of an index of every boundary of the map,
        without holding one (a quarter GiB of GEOS segments on a district, issue 18). A few
        segments (a drawn route, a door's access line) are one chunk.
        """
        none = np.empty(0, dtype=np.int64)
        if not len(a):
            return none, np.empty(0), none, none, none
        # a chunk a core even for a drawn route's few thousand segments (a segment's cuts are
        # its own chunk's, so they do not depend on the chunking)
        size = chunk_size(len(a), most=CROSSING_CHUNK)
        order = z_order((a + b) / 2.0) if len(a) > size else np.arange(len(a))

        def chunk(lo: int, hi: int) -> tuple[np.ndarray, ...]:
            idx = order[lo:hi]
            ca, cb = a[idx], b[idx]
            box = shapely.linestrings(np.stack([ca, cb], axis=1))
            bounds = (*np.minimum(ca, cb).min(axis=0), *np.maximum(ca, cb).max(axis=0))
            polys = self.geoms[np.unique(self.tree.query(box)[1])]
            p, q, tree = _segments_of(polys, bounds)
            if not len(p):
                return none, np.empty(0), none, none, none
            # bounding boxes only: the exact test below is vectorised, not one GEOS call a pair
            si, ej = tree.query(box)
            seg, t, along = segment_hits(ca, cb, p, q, si, ej, along=True)
            # sorted and deduplicated here, on every core, not for the whole map at the end
            cut, t, at_start, at_end = interior_cuts(ca, cb, seg, t)
            return idx[cut], t, idx[at_start], idx[at_end], idx[along]

        parts = map_chunks(chunk, len(a), size)
        return tuple(np.concatenate([part[k] for part in parts]) for k in range(5))

    def _containing(
        self, xy: np.ndarray, level: np.ndarray | None = None, *, best: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(point, polygon) pairs where a polygon intersects a point (rows of ``xy``), sorted
        by point; with ``level`` (one per point) only polygons of the point's level; with
        ``best`` only the highest-ranked polygon of each point (see :meth:`_ranked`).

        Many points (a graph's pieces) are queried the other way round: each polygon,
        prepared by the query, against a tree of the points — a long strip's bounding box
        holds many points, and a prepared polygon answers them far faster than one test per
        pair. The points go in spatially compact chunks (Z-order), each against the polygons
        over its bounding box, on every core (:func:`onemap.parallel.map_chunks`); a chunk
        keeps only the pairs asked for, so memory stays bounded by a chunk. The polygons are
        not prepared in place: a GEOS prepared geometry builds its index on first use and is
        not safe to share between threads.
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)

        def kept(pt_i: np.ndarray, poly_j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if level is not None and self.level is not None and len(pt_i):
                same = self.level[poly_j] == np.asarray(level)[pt_i]
                pt_i, poly_j = pt_i[same], poly_j[same]
            return self._ranked(pt_i, poly_j) if best else (pt_i, poly_j)

        if len(xy) < INVERT_AT:
            return kept(*self.tree.query(shapely.points(xy), predicate="intersects"))
        order = z_order(xy)

        def chunk(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
            idx = order[lo:hi]
            (x0, y0), (x1, y1) = xy[idx].min(axis=0), xy[idx].max(axis=0)
            near = self.tree.query(shapely.box(x0, y0, x1, y1))
            tree = STRtree(shapely.points(xy[idx]))
            poly_j, pt_i = tree.query(self.geoms[near], predicate="intersects")
            return kept(idx[pt_i], near[poly_j])

        # a drawn route's few thousand points in a chunk a core too (the pairs of a point are
        # its chunk's, and each point's best pair does not depend on the chunking)
        parts = map_chunks(chunk, len(xy), chunk_size(len(xy), most=POINT_CHUNK, least=INVERT_AT))
        pt_i = np.concatenate([i for i, _ in parts])
        poly_j = np.concatenate([j for _, j in parts])
        order = np.argsort(pt_i, kind="stable")
        return pt_i[order], poly_j[order]

    def _ranked(self, pt_i: np.ndarray, poly_j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Of (point, polygon) pairs, the one pair of each point whose polygon ranks highest
        (equal ranks: the lower polygon index), sorted by point."""
        if not len(pt_i):
            return pt_i, poly_j
        order = np.lexsort((poly_j, -self.rank[poly_j], pt_i))
        pt_i, poly_j = pt_i[order], poly_j[order]
        first = np.r_[True, pt_i[1:] != pt_i[:-1]]
        return pt_i[first], poly_j[first]

    def classify(
        self,
        points: np.ndarray,
        level: np.ndarray | None = None,
        *,
        runs: np.ndarray | None = None,
    ) -> np.ndarray:
        """Polygon index containing each point (highest rank first), or -1 when off corridor.

        ``level`` (one per point): consider only polygons of that level (a corridor-graph edge
        belongs to its way's level); None: every level (a drawn route has no level, so where a
        bridge passes over a road the bridge deck, a structure, ranks first).

        ``runs`` (one flag per point, True where a run begins): consecutive points of a run
        are the middles of pieces that no polygon boundary separates (a line's pieces
        between two boundary crossings, across the vertices no boundary meets), so they lie
        in the same polygons and the first one's answer is theirs: a graph classifies one
        point a run instead of one a piece (issue 18). Points in no polygon are classified
        one by one (the nearest polygon within the tolerance varies along a run).
        """
        if runs is not None and len(runs) and not runs.all():
            level = None if level is None else np.asarray(level)
            first = np.flatnonzero(runs)
            per_run = np.full(len(first), -1, dtype=np.int64)
            pt_i, poly_j = self._containing(
                np.asarray(points, dtype=float).reshape(-1, 2)[first],
                None if level is None else level[first],
                best=True,
            )
            per_run[pt_i] = poly_j
            out = per_run[np.cumsum(runs) - 1]
            miss = np.flatnonzero(out < 0)
            if len(miss):
                out[miss] = self.classify(points[miss], None if level is None else level[miss])
            return out
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        out = np.full(len(points), -1, dtype=np.int64)
        pt_i, poly_j = self._containing(points, level, best=True)
        out[pt_i] = poly_j
        miss = np.flatnonzero(out < 0)
        if len(miss) and self.tolerance_m > 0:
            near_i, near_j = self._nearest_within(points[miss], self.tolerance_m)
            if level is not None and self.level is not None and len(near_i):
                same = self.level[near_j] == np.asarray(level)[miss][near_i]
                near_i, near_j = near_i[same], near_j[same]
            near_i, near_j = self._ranked(near_i, near_j)
            out[miss[near_i]] = near_j
        return out

    def _nearest_within(self, xy: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray]:
        """(point, polygon) pairs of the polygons nearest each point, where within
        ``distance``; ties all kept, sorted by point — what ``STRtree.query_nearest(...,
        max_distance=distance, all_matches=True)`` gives. GEOS's nearest search does not
        prune by the maximum distance: the access lines' pieces inside parcels, within no
        tolerance of any strip, cost a city's graph a second that way (issue 18); the
        candidates within the distance, then their distances, cost half of it."""

        def chunk(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
            pt_i, poly_j = self.tree.query(
                shapely.points(xy[lo:hi]), predicate="dwithin", distance=distance
            )
            if not len(pt_i):
                return pt_i + lo, poly_j
            d = shapely.distance(shapely.points(xy[lo:hi][pt_i]), self.geoms[poly_j])
            order = np.lexsort((poly_j, d, pt_i))
            pt_i, poly_j, d = pt_i[order], poly_j[order], d[order]
            first = np.r_[True, pt_i[1:] != pt_i[:-1]]
            least = d[np.flatnonzero(first)[np.cumsum(first) - 1]]
            nearest = d == least
            return pt_i[nearest] + lo, poly_j[nearest]

        parts = map_chunks(chunk, len(xy), chunk_size(len(xy), most=POINT_CHUNK))
        if not parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate([i for i, _ in parts]), np.concatenate([j for _, j in parts])

    def classified_pieces(
        self,
        a: np.ndarray,
        b: np.ndarray,
        *,
        level: np.ndarray | None = None,
        chained: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Segments cut at the boundaries and every piece classified: starts, ends, parent
        segment and polygon (before :func:`merge_runs`).

        ``level``: per segment (see :meth:`classify`). ``chained`` (one flag per pair of
        consecutive segments): segment k+1 begins at the node where segment k ends. Where it
        does, no boundary meets that node and none runs along either segment, the two pieces
        either side of the node lie in the same polygons, and one point classifies both
        (``runs``): a graph's lines have about two pieces a classified point.
        """
        seg, t, ends, along = self.cuts_and_contacts(a, b)
        pa, pb, parent = cut_segments(a, b, seg, t)
        runs = None
        if chained is not None and len(a) > 1:
            joined = chained & ~ends[:-1, 1] & ~ends[1:, 0] & ~along[:-1] & ~along[1:]
            if level is not None:
                joined &= level[:-1] == level[1:]
            begins = np.r_[True, parent[1:] != parent[:-1]]
            runs = np.ones(len(parent), dtype=bool)  # a segment's pieces: a run each
            runs[begins] = np.r_[True, ~joined][parent[begins]]
        mid = (pa + pb) / 2.0
        poly = self.classify(mid, None if level is None else level[parent], runs=runs)
        return pa, pb, parent, poly

    def pieces(self, a: np.ndarray, b: np.ndarray, level: np.ndarray | None = None) -> Pieces:
        """Cut segments at polygon boundaries and classify every piece (``level``: per
        segment, see :meth:`classify`)."""
        seg, t = self.cuts(a, b)
        pa, pb, parent = cut_segments(a, b, seg, t)
        mid = (pa + pb) / 2.0
        drawn = level is None
        poly = self._classify_drawn(mid) if drawn else self.classify(mid, level[parent])
        pa, pb, parent, poly = merge_runs(pa, pb, parent, poly)
        return Pieces.from_polys(self, pa, pb, parent, poly)

    def _classify_drawn(self, mid: np.ndarray) -> np.ndarray:
        """Classify the pieces of a drawn route, which has no level of its own: where strips of
        several levels overlap (a footbridge over a street), the piece keeps the level of the
        route around it (the nearest piece before it, else after it, that lies on one level
        only), so a route along the street under a bridge stays on the street and one over
        the bridge stays on the deck."""
        if not self.levelled or not len(mid):
            return self.classify(mid)
        pt_i, poly_j = self._containing(mid)
        big = np.iinfo(np.int64).max
        lo = np.full(len(mid), big)
        hi = np.full(len(mid), -big)
        np.minimum.at(lo, pt_i, self.level[poly_j])
        np.maximum.at(hi, pt_i, self.level[poly_j])
        sure = (lo == hi) & (lo != big)
        if sure.all() or not sure.any():
            return self.classify(mid)
        idx = np.where(sure, np.arange(len(mid)), -1)
        before = np.maximum.accumulate(idx)
        after = np.minimum.accumulate(np.where(sure, np.arange(len(mid)), len(mid))[::-1])[::-1]
        source = np.where(before >= 0, before, after)
        route_level = lo[np.clip(source, 0, len(mid) - 1)]
        poly = self.classify(mid, route_level)
        fallback = poly < 0
        if fallback.any():
            poly[fallback] = self.classify(mid[fallback])
        return poly


@dataclass
class Pieces:
    """Classified straight pieces of a line, in order along it."""

    a: np.ndarray  # (n, 2) start points
    b: np.ndarray  # (n, 2) end points
    parent: np.ndarray  # index of the segment each piece comes from
    poly: np.ndarray  # overlay polygon index, -1 off corridor
    corridor: np.ndarray  # int codes into CORRIDORS
    road_id: np.ndarray
    side: np.ndarray
    sidewalk_m: np.ndarray
    bike_m: np.ndarray
    motor_m: np.ndarray
    provenance: np.ndarray  # object: tagged, mapped_way, derived, default ("" off corridor)

    @property
    def length(self) -> np.ndarray:
        d = self.b - self.a
        return np.hypot(d[:, 0], d[:, 1])

    def __len__(self) -> int:
        return len(self.a)

    @classmethod
    def from_polys(cls, ov: Overlay, a, b, parent, poly) -> Pieces:
        on = poly >= 0
        safe = np.where(on, poly, 0)

        def take(values, fill, dtype=None):
            if not len(values):
                return np.full(len(poly), fill, dtype=dtype)
            return (
                np.where(on, values[safe], fill).astype(dtype)
                if dtype
                else np.where(on, values[safe], fill)
            )

        return cls(
            a=a,
            b=b,
            parent=parent,
            poly=poly,
            corridor=take(ov.corridor, OFF, np.int8),
            road_id=take(ov.road_id, None, object),
            side=take(ov.side, SIDE_CODE[""], np.int8),
            sidewalk_m=take(ov.sidewalk_m, 0.0, float),
            bike_m=take(ov.bike_m, 0.0, float),
            motor_m=take(ov.motor_m, 0.0, float),
            provenance=take(
                ov.provenance if ov.provenance is not None else np.full(len(ov.geoms), "tagged"),
                "",
                object,
            ),
        )

    def select(self, idx) -> Pieces:
        return Pieces(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})

    @staticmethod
    def concat(parts: list[Pieces]) -> Pieces:
        return Pieces(
            **{
                k: np.concatenate([getattr(p, k) for p in parts])
                for k in Pieces.__dataclass_fields__
            }
        )

    def reversed(self) -> Pieces:
        out = self.select(slice(None, None, -1))
        out.a, out.b = out.b.copy(), out.a.copy()
        return out


def access_prefix(corridor: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Mask of the leading pieces of each line (grouped by ``parent``, in order) that lie off
    the corridors or on a green belt: the service-connection (``access``) part of the line."""
    if not len(corridor):
        return np.zeros(0, dtype=bool)
    blocked = ~np.isin(corridor, ACCESS_PASSES)
    seen = np.cumsum(blocked)
    start = np.r_[True, parent[1:] != parent[:-1]]
    before_group = np.maximum.accumulate(np.where(start, seen - blocked, 0))
    return (seen - before_group) == 0


def merge_runs(
    pa: np.ndarray, pb: np.ndarray, parent: np.ndarray, poly: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Join consecutive pieces of one segment that took the same polygon.

    The overlay's polygons overlap (the rank decides, see :meth:`Overlay.classify`), so a
    segment is also cut where it crosses a boundary hidden under a higher-ranked polygon; the
    pieces either side of such a cut take the same polygon and become one again here. The
    result is the pieces of the overlap-free partition: a cut remains only where the class
    changes.
    """
    if len(parent) < 2:
        return pa, pb, parent, poly
    joined = (parent[1:] == parent[:-1]) & (poly[1:] == poly[:-1])
    if not joined.any():
        return pa, pb, parent, poly
    start = np.r_[True, ~joined]  # pieces that begin a run
    end = np.r_[~joined, True]  # pieces that end one
    return pa[start], pb[end], parent[start], poly[start]


def _segments_of(
    polygons: np.ndarray, bounds: tuple[float, float, float, float] | None = None
) -> tuple[np.ndarray, np.ndarray, STRtree]:
    """Polygon boundaries as two-point segments (starts, ends) and an STRtree over them; the
    rings are read on the spot (a stored copy of every boundary is a district's tens of MiB).
    With ``bounds`` (xmin, ymin, xmax, ymax) only the segments whose box meets them: a park's
    ring crosses many chunks of a graph, and each needs only its own stretch of it."""
    rings = shapely.get_rings(shapely.get_parts(polygons))
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    same = idx[1:] == idx[:-1]
    p, q = coords[:-1][same], coords[1:][same]
    keep = np.any(p != q, axis=1)
    if bounds is not None:
        lo, hi = np.minimum(p, q), np.maximum(p, q)
        keep &= (hi[:, 0] >= bounds[0]) & (hi[:, 1] >= bounds[1])
        keep &= (lo[:, 0] <= bounds[2]) & (lo[:, 1] <= bounds[3])
    p, q = p[keep], q[keep]
    return p, q, STRtree(shapely.linestrings(np.stack([p, q], axis=1)))


def z_order(xy: np.ndarray) -> np.ndarray:
    """Indices that sort points along a Z-order (Morton) curve of 1 m cells: consecutive
    points are near each other, so a run of them has a small bounding box.

    >>> z_order(np.array([[9.0, 9.0], [0.0, 0.0], [9.0, 0.0], [0.0, 9.0]])).tolist()
    [1, 2, 3, 0]
    """
    if not len(xy):
        return np.zeros(0, dtype=np.int64)
    # 31 bits a coordinate (2000 km at 1 m), interleaved x0 y0 x1 y1 …
    cell = np.floor(xy - xy.min(axis=0)).astype(np.uint64) & np.uint64((1 << 31) - 1)
    code = _spread_bits(cell[:, 0]) | (_spread_bits(cell[:, 1]) << np.uint64(1))
    return np.argsort(code, kind="stable")


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """The low 32 bits of ``v`` moved to the even bit positions (bit k to bit 2k), by the
    usual five shift-and-mask steps rather than one step a bit.

    >>> _spread_bits(np.array([0b1011], dtype=np.uint64)).tolist() == [0b1000101]
    True
    """
    v = v.astype(np.uint64)
    for shift, mask in (
        (16, 0x0000FFFF0000FFFF),
        (8, 0x00FF00FF00FF00FF),
        (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333),
        (1, 0x5555555555555555),
    ):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v
