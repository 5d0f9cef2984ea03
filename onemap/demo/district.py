"""The demo district's streets and land use: the street network, its cross-sections and the
parcels between the road reserves, with the knobs of the synthetic data (see
:mod:`onemap.demo`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from onemap.geo.crs import metric_crs_for
from onemap.geo.layers import landuse_info
from onemap.geo.schema import CROSS_SECTION
from onemap.rules import load_rules

SEED = 20211129  # 连政办传〔2021〕56号 was issued in late November 2021
SOURCE = "onemap.demo"
RULES_ID = "lianyungang-2021"
DEMO_NAME = "示范片区 (synthetic demo district)"
CENTRE_LONLAT = (119.20, 34.60)

# --- road network ------------------------------------------------------------------------------
# Nominal grid lines (m, local frame with the south-west node at 0,0); nodes are jittered.
GRID_X_M = (0.0, 330.0, 700.0, 1020.0, 1390.0, 1780.0)
GRID_Y_M = (0.0, 310.0, 660.0, 980.0, 1330.0)
NODE_JITTER_M = 22.0

# Cross-sections: (sidewalk_l, sidewalk_r, bike_l, bike_r, motor, green_l, green_r), metres,
# in the order of onemap.geo.schema.CROSS_SECTION.
XS: dict[str, tuple[float, ...]] = {
    "arterial": (4.0, 4.0, 3.5, 3.5, 15.0, 2.0, 2.0),
    "arterial_east": (4.0, 4.0, 3.0, 3.0, 15.0, 2.0, 2.0),
    "arterial_wide": (4.5, 4.5, 3.5, 3.5, 16.0, 3.0, 3.0),
    "secondary": (3.5, 3.5, 2.5, 2.5, 11.0, 1.5, 1.5),
    "secondary_asym": (3.5, 3.0, 2.5, 2.0, 11.0, 1.5, 0.0),
    "secondary_edge": (3.5, 2.5, 2.0, 2.0, 11.0, 1.5, 0.0),
    "secondary_narrow": (3.0, 3.0, 1.5, 1.5, 10.0, 0.0, 0.0),
    "branch": (3.0, 3.0, 0.0, 0.0, 7.0, 0.0, 0.0),
    "branch_wide": (3.5, 3.5, 0.0, 0.0, 8.0, 0.0, 0.0),
    "branch_asym": (2.5, 2.0, 0.0, 0.0, 7.0, 0.0, 0.0),
    "lane": (2.0, 2.0, 0.0, 0.0, 6.0, 0.0, 0.0),
}

# Street sections: (name, road class of data/cross_sections.toml, XS key, grid nodes (i, j)).
STREETS: tuple[tuple[str, str, str, tuple[tuple[int, int], ...]], ...] = (
    ("海昌路", "arterial", "arterial", ((0, 2), (1, 2), (2, 2))),
    ("海昌路", "arterial", "arterial_east", ((2, 2), (3, 2), (4, 2), (5, 2))),
    ("通灌路", "arterial", "arterial", ((2, 0), (2, 1), (2, 2), (2, 3), (2, 4))),
    ("郁洲路", "arterial", "arterial_wide", ((1, 4), (2, 3), (3, 2), (4, 1), (5, 0))),
    ("朝阳路", "secondary", "secondary", ((0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0))),
    ("盐河路", "secondary", "secondary_narrow", ((0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1))),
    ("凌州路", "secondary", "secondary", ((0, 4), (1, 4), (2, 4), (3, 4), (4, 4), (5, 4))),
    ("解放路", "secondary", "secondary_asym", ((0, 0), (0, 1), (0, 2), (0, 3), (0, 4))),
    ("振华路", "secondary", "secondary_asym", ((4, 0), (4, 1), (4, 2), (4, 3), (4, 4))),
    ("瀛洲路", "secondary", "secondary_edge", ((5, 0), (5, 1), (5, 2), (5, 3), (5, 4))),
    ("新浦路", "branch", "branch", ((0, 3), (1, 3), (2, 3), (3, 3), (4, 3), (5, 3))),
    ("苍梧路", "branch", "branch", ((1, 0), (1, 1), (1, 2), (1, 3))),
    ("港城路", "branch", "branch_asym", ((3, 0), (3, 1))),
    ("文昌路", "branch", "branch_wide", ((3, 2), (3, 3), (3, 4))),
)

# Dead-end lanes: (name, host edge from node, to node, position on the host edge 0–1,
# length m, side of the host edge +1 left / -1 right).
DEAD_ENDS: tuple[tuple[str, tuple[int, int], tuple[int, int], float, float, int], ...] = (
    ("学府巷", (0, 0), (1, 0), 0.5, 130.0, 1),
    ("工业一路", (3, 0), (4, 0), 0.45, 120.0, 1),
    ("新村巷", (0, 3), (0, 4), 0.5, 140.0, -1),
    ("花园巷", (3, 4), (4, 4), 0.5, 120.0, -1),
)
DEAD_END_ANGLE_JITTER_DEG = 8.0

# --- land use ----------------------------------------------------------------------------------
PARCEL_SETBACK_M = 1.0  # parcels stay this far outside the wider half of the cross-section
MIN_BLOCK_AREA_M2 = 2000.0
MIN_PARCEL_AREA_M2 = 1200.0
MIN_PARCEL_DEPTH_M = 60.0  # a block at least twice as deep is cut into two rows of parcels
CUT_JITTER = 0.15  # share of a parcel's frontage by which cut lines wander
CELL_PAD_M = 5.0

# Districts as grid rectangles (i0, j0, i1, j1), with area type, parcel frontage (m), share of
# parcels planned, share of existing parcels with outage statistics, and land-use mix.
DISTRICTS: tuple[tuple[str, str, str, tuple[int, int, int, int], float, float, float], ...] = (
    ("海州片区", "海州", "city_centre", (0, 0, 2, 4), 60.0, 0.10, 0.45),
    ("临港产业片区", "临港", "town", (2, 0, 5, 2), 100.0, 0.20, 0.40),
    ("新区片区", "新区", "urban", (2, 2, 5, 4), 70.0, 0.50, 0.35),
)
LANDUSE_MIX: dict[str, dict[str, float]] = {
    "海州片区": {
        "0701": 0.42,
        "0702": 0.08,
        "0804": 0.07,
        "0806": 0.05,
        "0901": 0.14,
        "0902": 0.12,
        "1401": 0.08,
    },
    "临港产业片区": {"1001": 0.50, "1101": 0.30, "0901": 0.06, "0702": 0.04, "1402": 0.10},
    "新区片区": {
        "0701": 0.55,
        "0702": 0.08,
        "0804": 0.08,
        "0806": 0.04,
        "0901": 0.10,
        "0902": 0.05,
        "1401": 0.10,
    },
}
# FAR range per code; codes absent here (green) are not built and carry no FAR.
FAR_RANGE: dict[str, tuple[float, float]] = {
    "0701": (1.8, 3.0),
    "0702": (1.0, 2.0),
    "0804": (0.8, 1.2),
    "0806": (1.2, 2.0),
    "0901": (1.5, 3.5),
    "0902": (2.5, 5.0),
    "1001": (0.8, 1.5),
    "1101": (0.6, 1.2),
    "1303": (0.4, 0.8),
}
OUTAGE_SHARE_OF_TARGET = (0.2, 0.9)
OUTAGE_OVER_TARGET = (1.15, 1.8)
OUTAGE_OVER_TARGET_COUNT = 5

# The corner left without any grid (a planned new area): grid rectangle (i0, j0, i1, j1).
GAP_RECT = (3, 2, 5, 4)
# Power-supply land (1303): parcels nearest these grid positions (i, j; fractions lie between
# grid lines). The first two host the substations, the other five are candidate sites (so a
# planner can try k = 1…5 new substations), two of them in the grid gap.
POWER_LAND_AT = (
    (1.0, 1.0),
    (4.0, 1.0),
    (4.5, 3.5),
    (1.0, 3.0),
    (3.5, 2.5),
    (2.5, 3.5),
    (3.0, 0.5),
)

# --- grid --------------------------------------------------------------------------------------
# (id, name, feeders, nameplate MVA, peak share of nameplate).
SUBSTATIONS = (
    ("SUB01", "海州110kV变电站", 5, 100.0, (0.55, 0.70)),  # 2 × 50 MVA
    ("SUB02", "临港110kV变电站", 4, 126.0, (0.60, 0.78)),  # 2 × 63 MVA
)
SUBSTATION_KV = 110.0
FEEDER_KV = 10.0
FEEDER_CAPACITY_MVA = (8.0, 8.7, 9.5, 10.0)
FEEDER_LOADING = {"heavy": (0.82, 0.95), "moderate": (0.55, 0.78), "light": (0.25, 0.50)}
FEEDER_HEAVY_SHARE = 0.3
FEEDER_LIGHT_SHARE = 0.3

ASSET_SPACING_M = 110.0  # transformer spacing along a street
END_CLEARANCE_M = 50.0  # no asset this close to an intersection (keeps out of crossing roads)
ASSET_SETBACK_M = 0.5  # assets sit this far outside the corridor, inside the parcel setback
BRANCH_BOX_EVERY = 3  # one branch box beside every n-th transformer
BRANCH_BOX_OFFSET_M = 18.0
TRANSFORMER_SIZE_P = (0.30, 0.45, 0.25)  # over the rule table's typical sizes
TRANSFORMER_LOADING = {"heavy": (0.92, 1.08), "moderate": (0.50, 0.85), "light": (0.15, 0.45)}
TRANSFORMER_HEAVY_SHARE = 0.15
TRANSFORMER_LIGHT_SHARE = 0.30
TRANSFORMER_UNKNOWN_SHARE = 0.08

# Ducts: (name, street name, grid nodes along it, side +1 left / -1 right of that order).
DUCTS = (
    ("海昌路电缆排管（过街）", "海昌路", ((0, 2), (1, 2), (2, 2)), 1),
    ("通灌路电缆排管", "通灌路", ((2, 0), (2, 1)), -1),
    ("盐河路电缆排管", "盐河路", ((3, 1), (4, 1)), 1),
    ("朝阳路电缆排管", "朝阳路", ((4, 0), (5, 0)), 1),
)
DUCT_END_TRIM_M = 45.0
ASSET_LABELS = {  # id prefix, name suffix
    "transformer": ("TX", "号配变"),
    "branch_box": ("BX", "号分支箱"),
    "ring_main_unit": ("RMU", "号环网柜"),
    "switching_station": ("KB", "号开闭所"),
}

# Projects pushed by the approval platform: (category, requested kW, land-use code, district,
# parcel status, project status, name). Accepted ones promise load on the nearest connection
# point with room for them.
PROJECTS = (
    ("lv_residential", 12.0, "0701", "海州片区", "existing", "accepted", "幸福里住户新装"),
    ("lv_small_micro", 60.0, "0901", "海州片区", "existing", "accepted", "便民超市增容"),
    ("lv_non_residential", 120.0, "0702", "临港产业片区", "existing", "pushed", "社区服务中心"),
    ("hv_single", 800.0, "1001", "临港产业片区", "existing", "accepted", "精密机械厂房"),
    ("hv_dual", 2400.0, "0701", "新区片区", "planned", "pushed", "新区安置小区"),
    ("hv_important", 1600.0, "0806", "海州片区", "existing", "pushed", "区人民医院新院区"),
    ("hv_35kv_plus", 12000.0, "1001", "临港产业片区", "planned", "pushed", "新材料产业园"),
)
PROJECT_SUBMITTED_DAYS_BEFORE = (2, 20)
# Pushed projects take their load in a later year (issue 17 item 5: ``expected_year``): the
# n-th pushed one this many years after the data date, cycling. They name the point they will
# load, so the map as of that year counts them; accepted ones load it already (no year).
PUSHED_EXPECTED_AFTER_YEARS = (1, 2, 3)


@dataclass
class _Network:
    """Road network in the local metric frame: nodes, street sections and their edges."""

    xy: np.ndarray  # (n_nodes, 2) metric coordinates
    grid_index: dict[tuple[int, int], int]  # grid node (i, j) -> node id
    roads: pd.DataFrame  # one row per street section: name, road_class, xs key, nodes
    edges: pd.DataFrame  # one row per segment: road, a, b, length, hw_left, hw_right
    boundary: shapely.Polygon
    origin: np.ndarray  # metric position of the nominal grid's (0, 0)

    def edge_id(self, a: int, b: int) -> int:
        """Id of the edge between nodes ``a`` and ``b`` (either direction)."""
        return self._edge_ids[frozenset((a, b))]

    def path_edges(self, path: list[int]) -> list[int]:
        """Edge ids along a node path."""
        return [self.edge_id(a, b) for a, b in pairwise(path)]

    def __post_init__(self) -> None:
        ab = zip(self.edges["a"], self.edges["b"], strict=True)
        self._edge_ids = {frozenset((int(a), int(b))): i for i, (a, b) in enumerate(ab)}


def built_at(seed: int) -> str:
    """The fixed build timestamp of the demo map for ``seed`` (never the wall clock).

    A seed that reads as a date (``20211129``) is that date; any other seed counts days on from
    2021-01-01, so the file is reproducible.
    """
    try:
        day = dt.datetime.strptime(str(seed), "%Y%m%d").date()
    except ValueError:
        day = dt.date(2021, 1, 1) + dt.timedelta(days=seed % 3653)
    return f"{day.isoformat()}T09:00:00+08:00"


def _rect_ring(rect: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """Grid nodes around the rectangle (i0, j0, i1, j1), counter-clockwise from (i0, j0)."""
    i0, j0, i1, j1 = rect
    return (
        [(i, j0) for i in range(i0, i1)]
        + [(i1, j) for j in range(j0, j1)]
        + [(i, j1) for i in range(i1, i0, -1)]
        + [(i0, j) for j in range(j1, j0, -1)]
    )


def _ring_polygon(
    net_xy: np.ndarray, index: dict, rect: tuple[int, int, int, int]
) -> shapely.Polygon:
    """The polygon through the (jittered) grid nodes around a grid rectangle."""
    return shapely.Polygon(net_xy[[index[n] for n in _rect_ring(rect)]])


def _half_widths(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right half widths (centre line to corridor edge) of cross-section rows."""
    sw_l, sw_r, bk_l, bk_r, motor, gr_l, gr_r = xs.T
    return motor / 2 + bk_l + sw_l + gr_l, motor / 2 + bk_r + sw_r + gr_r


def _roads(rng: np.random.Generator, origin: np.ndarray) -> _Network:
    """Jittered grid nodes, street sections through them and dead-end lanes off them."""
    nx_, ny_ = len(GRID_X_M), len(GRID_Y_M)
    gx, gy = np.meshgrid(GRID_X_M, GRID_Y_M)  # (ny, nx)
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(
        -NODE_JITTER_M, NODE_JITTER_M, (nx_ * ny_, 2)
    )
    grid_index = {(i, j): j * nx_ + i for j in range(ny_) for i in range(nx_)}
    paths = [[grid_index[n] for n in s[3]] for s in STREETS]
    names = [s[0] for s in STREETS]
    classes = [s[1] for s in STREETS]
    xs_keys = [s[2] for s in STREETS]

    new_xy = []
    angles = np.deg2rad(
        rng.uniform(-DEAD_END_ANGLE_JITTER_DEG, DEAD_END_ANGLE_JITTER_DEG, len(DEAD_ENDS))
    )
    for (name, a, b, t, length, side), turn in zip(DEAD_ENDS, angles, strict=True):
        ia, ib = grid_index[a], grid_index[b]
        mid = xy[ia] + t * (xy[ib] - xy[ia])
        mid_id = len(xy) + len(new_xy)
        _insert_on_edge(paths, ia, ib, mid_id)  # the lane and its host share the vertex
        u = (xy[ib] - xy[ia]) / np.linalg.norm(xy[ib] - xy[ia])
        normal = side * np.array([-u[1], u[0]])
        c, s = np.cos(turn), np.sin(turn)
        direction = np.array([c * normal[0] - s * normal[1], s * normal[0] + c * normal[1]])
        new_xy += [mid, mid + length * direction]
        paths.append([mid_id, mid_id + 1])
        names.append(name)
        classes.append("branch")
        xs_keys.append("lane")
    xy = np.vstack([xy, *new_xy]) + origin

    roads = pd.DataFrame({"name": names, "road_class": classes, "xs": xs_keys, "nodes": paths})
    xs = np.array([XS[k] for k in xs_keys])
    hw_l, hw_r = _half_widths(xs)
    road_of_edge = np.repeat(np.arange(len(paths)), [len(p) - 1 for p in paths])
    a = np.concatenate([p[:-1] for p in paths])
    b = np.concatenate([p[1:] for p in paths])
    edges = pd.DataFrame(
        {
            "road": road_of_edge,
            "a": a,
            "b": b,
            "length": np.linalg.norm(xy[b] - xy[a], axis=1),
            "hw_left": hw_l[road_of_edge],
            "hw_right": hw_r[road_of_edge],
        }
    )
    boundary = _ring_polygon(xy, grid_index, (0, 0, nx_ - 1, ny_ - 1))
    return _Network(xy, grid_index, roads, edges, boundary, origin)


def _insert_on_edge(paths: list[list[int]], a: int, b: int, node: int) -> None:
    """Insert ``node`` between ``a`` and ``b`` in the street path running from one to the other."""
    for path in paths:
        for k, (p, q) in enumerate(pairwise(path)):
            if {p, q} == {a, b}:
                path.insert(k + 1, node)
                return
    raise ValueError(f"no street runs from node {a} to node {b}")


def _road_lines(net: _Network) -> np.ndarray:
    nodes = net.roads["nodes"]
    coords = net.xy[np.concatenate(nodes.to_list())]
    index = np.repeat(np.arange(len(nodes)), nodes.map(len))
    return shapely.linestrings(coords, indices=index)


def _road_cross_sections(net: _Network) -> np.ndarray:
    return np.array([XS[k] for k in net.roads["xs"]])


def _reserve(net: _Network, lines: np.ndarray, extra_m: float) -> shapely.Geometry:
    """Union of the road corridors, each buffered by its wider half cross-section + ``extra_m``."""
    hw_l, hw_r = _half_widths(_road_cross_sections(net))
    return shapely.union_all(shapely.buffer(lines, np.maximum(hw_l, hw_r) + extra_m, quad_segs=4))


def _blocks(net: _Network, lines: np.ndarray) -> np.ndarray:
    """The blocks: the district minus the road reserves (with the parcel setback)."""
    rest = shapely.difference(net.boundary, _reserve(net, lines, PARCEL_SETBACK_M))
    parts = shapely.get_parts(rest)
    parts = parts[shapely.area(parts) >= MIN_BLOCK_AREA_M2]
    # Number blocks north to south, west to east, for readable parcel names.
    c = shapely.get_coordinates(shapely.centroid(parts))
    order = np.lexsort((c[:, 0], -np.round(c[:, 1] / 100.0)))
    return parts[order]


def _districts(net: _Network) -> np.ndarray:
    return np.array([_ring_polygon(net.xy, net.grid_index, d[3]) for d in DISTRICTS])


def _district_of(points: np.ndarray, district_polys: np.ndarray) -> np.ndarray:
    """Index of the district containing each point (blocks never straddle district roads)."""
    inside = shapely.contains(district_polys[None, :], points[:, None])
    return np.argmax(inside, axis=1)


def _subdivide(
    rng: np.random.Generator, blocks: np.ndarray, frontage: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut each block into parcels along its oriented envelope: one or two rows, so that
    every parcel fronts a road. Returns parcels, their block index and their number in it."""
    env = shapely.get_coordinates(shapely.oriented_envelope(blocks)).reshape(len(blocks), 5, 2)
    e1, e2 = env[:, 1] - env[:, 0], env[:, 3] - env[:, 0]
    l1, l2 = np.linalg.norm(e1, axis=1), np.linalg.norm(e2, axis=1)
    long_first = l1 >= l2
    u = np.where(long_first[:, None], e1, e2) / np.maximum(l1, l2)[:, None]
    v = np.where(long_first[:, None], e2, e1) / np.minimum(l1, l2)[:, None]
    length, depth = np.maximum(l1, l2), np.minimum(l1, l2)
    n_cols = np.maximum(1, np.round(length / frontage)).astype(int)
    n_rows = np.where(depth >= 2 * MIN_PARCEL_DEPTH_M, 2, 1)

    cells, cell_block = [], []
    for k in range(len(blocks)):
        su = _cuts(rng, length[k], n_cols[k])
        sv = _cuts(rng, depth[k], n_rows[k])
        s0, s1 = np.meshgrid(su[:-1], sv[:-1], indexing="ij")
        s2, s3 = np.meshgrid(su[1:], sv[1:], indexing="ij")
        local = np.stack(
            [
                np.stack([s0, s1], -1),
                np.stack([s2, s1], -1),
                np.stack([s2, s3], -1),
                np.stack([s0, s3], -1),
                np.stack([s0, s1], -1),
            ],
            axis=-2,
        ).reshape(-1, 5, 2)
        cells.append(env[k, 0] + local[..., :1] * u[k] + local[..., 1:] * v[k])
        cell_block.append(np.full(len(local), k))
    cells_arr = shapely.polygons(np.concatenate(cells))
    cell_block_arr = np.concatenate(cell_block)
    pieces = shapely.intersection(blocks[cell_block_arr], cells_arr)
    parts, src = shapely.get_parts(pieces, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= MIN_PARCEL_AREA_M2)
    parts, block_of = parts[keep], cell_block_arr[src[keep]]
    number = pd.Series(block_of).groupby(block_of).cumcount().to_numpy() + 1
    return parts, block_of, number


def _cuts(rng: np.random.Generator, extent: float, n: int) -> np.ndarray:
    """Cut positions 0..extent into ``n`` jittered parts, padded beyond both ends."""
    cuts = np.linspace(0.0, extent, n + 1)
    cuts[1:-1] += rng.uniform(-CUT_JITTER, CUT_JITTER, n - 1) * extent / n
    cuts[0], cuts[-1] = -CELL_PAD_M, extent + CELL_PAD_M
    return cuts


def _quota(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    """``n`` codes in the given shares (largest remainder), in random order."""
    codes = list(shares)
    p = np.array([shares[c] for c in codes])
    exact = p / p.sum() * n
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(codes, counts))


def _landuse(
    rng: np.random.Generator, net: _Network, lines: np.ndarray
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Parcels with land use, FAR, status, district, area type and outage hours.

    Returns the layer (metric CRS) and the parcel index of each power-supply site.
    """
    blocks = _blocks(net, lines)
    dpolys = _districts(net)
    block_district = _district_of(shapely.point_on_surface(blocks), dpolys)
    frontage = np.array([DISTRICTS[d][4] for d in block_district])
    parcels, block_of, number = _subdivide(rng, blocks, frontage)
    district = block_district[block_of]
    n = len(parcels)

    code = np.empty(n, dtype=object)
    for d, spec in enumerate(DISTRICTS):
        sel = np.flatnonzero(district == d)
        code[sel] = _quota(rng, LANDUSE_MIX[spec[0]], len(sel))
    at = np.array(POWER_LAND_AT)
    grid_xy = np.column_stack(
        [
            np.interp(at[:, 0], np.arange(len(GRID_X_M)), GRID_X_M),
            np.interp(at[:, 1], np.arange(len(GRID_Y_M)), GRID_Y_M),
        ]
    )
    site_pts = shapely.points(net.origin + grid_xy)
    power_sites = np.argmin(shapely.distance(parcels[None, :], site_pts[:, None]), axis=1)
    code[power_sites] = "1303"

    gap = shapely.covers(_gap_polygon(net), shapely.point_on_surface(parcels))
    planned_share = np.array([DISTRICTS[d][5] for d in district])
    planned = gap | (rng.random(n) < planned_share)
    planned[power_sites[:2]] = False  # the substations stand there
    planned[power_sites[2:]] = True  # candidate sites
    status = np.where(planned, "planned", "existing")

    lo = np.array([FAR_RANGE.get(c, (np.nan, np.nan))[0] for c in code])
    hi = np.array([FAR_RANGE.get(c, (np.nan, np.nan))[1] for c in code])
    far = np.round(lo + rng.random(n) * (hi - lo), 1)

    area_type = np.array([DISTRICTS[d][2] for d in district], dtype=object)
    outage = _outage_hours(rng, district, area_type, planned)
    names = [
        f"{DISTRICTS[d][1]}{b + 1:02d}-{k:02d}地块（{landuse_info(c)['zh']}）"
        for d, b, k, c in zip(district, block_of, number, code, strict=True)
    ]
    nan = np.full(n, np.nan)
    gdf = gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{i + 1:04d}" for i in range(n)],
            "landuse_code": code,
            "name": names,
            "far": far,
            "building_area_m2": nan,
            "planned_load_kw": nan,
            "status": status,
            "district": [DISTRICTS[d][0] for d in district],
            "outage_hours": outage,
            "area_type": area_type,
            "door_lon": nan,
            "door_lat": nan,
        },
        geometry=parcels,
        crs=_metric_crs(),
    )
    return gdf, power_sites


def _outage_hours(
    rng: np.random.Generator, district: np.ndarray, area_type: np.ndarray, planned: np.ndarray
) -> np.ndarray:
    """Annual outage hours on a share of existing parcels; a few above their target (item 13)."""
    targets = load_rules(RULES_ID).outage_target_hours
    target = np.array([float(targets[a]) for a in area_type])
    share = np.array([DISTRICTS[d][6] for d in district])
    has = ~planned & (rng.random(len(district)) < share)
    factor = rng.uniform(*OUTAGE_SHARE_OF_TARGET, len(district))
    over = rng.permutation(np.flatnonzero(has))[:OUTAGE_OVER_TARGET_COUNT]
    factor[over] = rng.uniform(*OUTAGE_OVER_TARGET, len(over))
    return np.where(has, np.round(target * factor, 1), np.nan)


def _gap_polygon(net: _Network) -> shapely.Polygon:
    return _ring_polygon(net.xy, net.grid_index, GAP_RECT)


def _metric_crs() -> str:
    return metric_crs_for(*CENTRE_LONLAT)


def _road_layer(net: _Network, lines: np.ndarray) -> gpd.GeoDataFrame:
    xs = _road_cross_sections(net)
    data = {"road_id": [f"R{i + 1:03d}" for i in range(len(lines))]}
    data |= {col: xs[:, k] for k, col in enumerate(CROSS_SECTION)}
    data |= {
        "name": net.roads["name"].to_list(),
        "road_class": net.roads["road_class"].to_list(),
        "xs_source": ["given"] * len(lines),
    }
    return gpd.GeoDataFrame(data, geometry=lines, crs=_metric_crs())
