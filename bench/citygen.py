"""A deterministic synthetic city with the one-map schema, for benchmarks at three sizes.

The city lies around Lianyungang (metric CRS EPSG:4549, CGCS2000 GK CM 120°E) and is built with
vectorised numpy/shapely calls only, so the 100k-parcel city takes seconds, not minutes:

- **roads**: a jittered grid of intersections joined by straight or slightly bent segments, with
  arterials every fifth line, secondaries between them, an expressway every twentieth line,
  diagonals across some blocks and a few missing links; cross-sections vary per segment (narrow
  bike lanes, missing green belts, asymmetric sidewalks) around the class defaults.
- **landuse**: every block split into 1–6 parcels (two triangles where a diagonal crosses it),
  set back from the road corridors, with land-use codes drawn from spatially coherent zones.
- **assets** at the corridor edge (in the outermost strip of a road side), **substations** on a
  coarse grid inside power-supply parcels, **feeders** radiating from each substation through the
  assets nearest to it, so every asset names a feeder and every feeder a substation; feeder and
  substation loads are sums of what they carry.
- **ducts** along the sidewalks of some arterials, **projects** at a few parcels.

Every layer passes :func:`onemap.geo.layers.validate_layer`; the same size and seed always give
the same content hash. Generated maps are cached under ``bench/cache/<size>-<seed>.gpkg``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from onemap.geo.crs import lonlat_to_metric
from onemap.geo.layers import cross_section_table, validate_layer
from onemap.geo.mapfile import OneMap, read_map, write_map

CRS_METRIC = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E: covers Lianyungang
CENTRE_LONLAT = (119.17, 34.60)  # west of the Lianyungang coast, so the city stays on land
CACHE_DIR = Path(__file__).resolve().parent / "cache"

SPACING_M = 240.0  # distance between neighbouring intersections (a block between 支路)
JITTER_M = 25.0  # random shift of each intersection
BEND_M = 6.0  # largest sideways bend of a branch road's midpoint
SETBACK_M = 3.0  # gap between a corridor's outer edge and the parcels beside it
PARCEL_GAP_M = 4.0  # gap between parcels of one block
DROP_SHARE = 0.04  # share of branch links missing from the grid
DIAGONAL_SHARE = 0.08  # share of blocks crossed by a diagonal road
ASSETS_PER_PARCEL = 0.2
FEEDER_ASSETS = 24  # assets per feeder, typical for a 10 kV cable feeder with ring main units
SUBSTATION_EVERY = 10  # one 110 kV substation per 10 x 10 blocks (about 2.4 km apart)
PROJECT_SHARE = 0.005

STRIPS = ("green", "sidewalk", "bike")  # side strips, outermost first

# Land-use zones: each zone is a distribution over 用地用海 codes (with FAR ranges).
ZONE_CODES: dict[str, tuple[tuple[str, float], ...]] = {
    "residential": (("0701", 0.70), ("0702", 0.08), ("0804", 0.06), ("0901", 0.08), ("1401", 0.08)),
    "commercial": (("0901", 0.40), ("0902", 0.25), ("0701", 0.15), ("0801", 0.08), ("1403", 0.12)),
    "industrial": (("1001", 0.70), ("1101", 0.15), ("1208", 0.05), ("1402", 0.10)),
    "public": (("0801", 0.20), ("0804", 0.25), ("0806", 0.20), ("0805", 0.15), ("1401", 0.20)),
}
ZONE_SHARE = {"residential": 0.5, "commercial": 0.15, "industrial": 0.25, "public": 0.10}
FAR_RANGE = {
    "07": (1.5, 3.0),
    "09": (2.0, 5.0),
    "08": (0.8, 2.0),
    "10": (0.8, 1.6),
    "11": (0.6, 1.2),
}
ASSET_KINDS = (
    ("transformer", 0.55),
    ("branch_box", 0.20),
    ("ring_main_unit", 0.15),
    ("switching_station", 0.03),
    ("pole", 0.07),
)
DISTRICTS = ("海州区", "连云区", "赣榆区", "灌云县")


@dataclass(frozen=True)
class CitySize:
    """How big a generated city is: a grid of ``nx`` × ``ny`` intersections."""

    name: str
    nx: int
    ny: int


SIZES: dict[str, CitySize] = {
    s.name: s
    for s in (
        CitySize("district", 8, 8),
        CitySize("town", 22, 22),
        CitySize("city", 80, 80),
    )
}


def generate_city(size: str | CitySize = "district", seed: int = 0) -> OneMap:
    """Generate the synthetic city ``size`` (a name of :data:`SIZES` or a :class:`CitySize`).

    The result is a validated, in-memory :class:`OneMap` in the storage CRS with metric CRS
    EPSG:4549; equal arguments give equal content (and :meth:`OneMap.content_hash`).
    """
    spec = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng([seed, spec.nx, spec.ny])
    cx, cy = lonlat_to_metric(*CENTRE_LONLAT, CRS_METRIC)
    grid = _grid(spec, rng, float(cx), float(cy))
    roads, widths = _roads(grid, rng)
    parcels = _parcels(grid, widths, rng)
    substations = _substations(grid, parcels)
    assets = _assets(roads, len(parcels["geometry"]), rng)
    feeders = _feeders(assets, substations, rng)
    ducts = _ducts(roads, rng)
    projects = _projects(parcels, rng)
    layers = {}
    for name, frame in (
        ("roads", roads),
        ("landuse", parcels),
        ("substations", substations),
        ("feeders", feeders),
        ("assets", assets),
        ("ducts", ducts),
        ("projects", projects),
    ):
        columns = {k: v for k, v in frame.items() if not k.startswith("_")}
        gdf = gpd.GeoDataFrame(columns, geometry="geometry", crs=CRS_METRIC)
        layers[name], _ = validate_layer(name, gdf, source=f"citygen:{spec.name}")
    meta = {
        "synthetic": True,
        "generator": "bench.citygen",
        "size": spec.name,
        "grid": [spec.nx, spec.ny],
        "seed": seed,
        "rules": "lianyungang-2021",
    }
    return OneMap(layers=layers, crs_metric=CRS_METRIC, meta=meta)


def city_map_path(size: str = "district", seed: int = 0, cache_dir: Path | None = None) -> Path:
    """Path of the generated map for ``size``/``seed``, generating and caching it on first use."""
    spec = SIZES[size]
    cache = cache_dir or CACHE_DIR
    path = cache / f"{spec.name}-{spec.nx}x{spec.ny}-{seed}.gpkg"
    if not path.exists():
        write_map(generate_city(spec, seed), path)
    return path


def load_city(size: str = "district", seed: int = 0, cache_dir: Path | None = None) -> OneMap:
    """The generated map for ``size``/``seed`` read from the cache (generated on first use)."""
    return read_map(city_map_path(size, seed, cache_dir))


# --- roads ---------------------------------------------------------------------------------------


@dataclass
class _Grid:
    x: np.ndarray  # (nx, ny) intersection x
    y: np.ndarray
    cls_v: np.ndarray  # road class of each grid column (vertical roads), by column index
    cls_h: np.ndarray  # road class of each grid row (horizontal roads)
    keep_v: np.ndarray  # (nx, ny-1) vertical link (i,j)-(i,j+1) exists
    keep_h: np.ndarray  # (nx-1, ny) horizontal link (i,j)-(i+1,j) exists
    diagonal: np.ndarray  # (nx-1, ny-1) block crossed by a diagonal (i,j)-(i+1,j+1)
    zone: np.ndarray  # (nx-1, ny-1) zone name index per block


def _line_classes(n: int, offset: int) -> np.ndarray:
    idx = np.arange(n) + offset
    cls = np.full(n, "branch", dtype=object)
    cls[idx % 5 == 2] = "secondary"
    cls[idx % 5 == 0] = "arterial"
    cls[idx % 20 == 10] = "expressway"
    return cls


def _grid(spec: CitySize, rng: np.random.Generator, cx: float, cy: float) -> _Grid:
    nx, ny = spec.nx, spec.ny
    gx = (np.arange(nx) - (nx - 1) / 2) * SPACING_M + cx
    gy = (np.arange(ny) - (ny - 1) / 2) * SPACING_M + cy
    x = gx[:, None] + rng.uniform(-JITTER_M, JITTER_M, (nx, ny))
    y = gy[None, :] + rng.uniform(-JITTER_M, JITTER_M, (nx, ny))
    # A gentle large-scale warp keeps the grid from looking ruled (roads drift, blocks skew).
    x += 40.0 * np.sin((y - cy) / 1700.0)
    y += 40.0 * np.sin((x - cx) / 2300.0)
    cls_v = _line_classes(nx, 3)
    cls_h = _line_classes(ny, 1)
    keep_v = (rng.random((nx, ny - 1)) >= DROP_SHARE) | (cls_v[:, None] != "branch")
    keep_h = (rng.random((nx - 1, ny)) >= DROP_SHARE) | (cls_h[None, :] != "branch")
    diagonal = rng.random((nx - 1, ny - 1)) < DIAGONAL_SHARE
    # Zones are 6 x 6-block patches so land use is spatially coherent.
    names = list(ZONE_SHARE)
    zx, zy = (nx - 2) // 6 + 1, (ny - 2) // 6 + 1
    patch = rng.choice(len(names), size=(zx, zy), p=list(ZONE_SHARE.values()))
    zone = np.repeat(np.repeat(patch, 6, axis=0), 6, axis=1)[: nx - 1, : ny - 1]
    return _Grid(x, y, cls_v, cls_h, keep_v, keep_h, diagonal, zone)


def _cross_sections(cls: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Varied cross-sections around the class defaults, rounded to 0.5 m."""
    table = cross_section_table()["classes"]
    n = len(cls)

    classes, inverse = np.unique(cls.astype(str), return_inverse=True)

    def base(key: str) -> np.ndarray:
        return np.array([float(table[c][key]) for c in classes])[inverse]

    def vary(values: np.ndarray, spread: float) -> np.ndarray:
        return np.maximum(0.0, np.round(values * rng.uniform(1 - spread, 1 + spread, n) * 2) / 2)

    motor = vary(base("motor_width_m"), 0.15)
    out = {"motor_width_m": motor}
    for strip in ("sidewalk", "bike", "green"):
        default = base(f"{strip}_m")
        for side in ("left", "right"):
            out[f"{strip}_{side}_m"] = vary(default, 0.3)
    # Realistic irregularities: narrow bike lanes (not passable after a trench), branch roads
    # with a painted bike lane, roads without green belts, a cramped sidewalk here and there.
    narrow = rng.random(n) < 0.15
    for side in ("left", "right"):
        bike = out[f"bike_{side}_m"]
        bike[narrow & (bike > 0)] = 1.5
        painted = (cls == "branch") & (rng.random(n) < 0.2)
        bike[painted] = rng.choice([1.5, 2.0, 2.5], size=int(painted.sum()))
        out[f"green_{side}_m"][rng.random(n) < 0.25] = 0.0
        walk = out[f"sidewalk_{side}_m"]
        cramped = rng.random(n) < 0.05
        walk[cramped] = 1.0
        walk[:] = np.maximum(walk, 1.0)
    return out


def _half_widths(xs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distance from centre line to the outer corridor edge, left and right."""
    half = xs["motor_width_m"] / 2
    left = half + sum(xs[f"{s}_left_m"] for s in STRIPS)
    right = half + sum(xs[f"{s}_right_m"] for s in STRIPS)
    return left, right


def _roads(grid: _Grid, rng: np.random.Generator) -> tuple[dict, dict[str, np.ndarray]]:
    nx, ny = grid.x.shape
    iv, jv = np.nonzero(grid.keep_v)
    ih, jh = np.nonzero(grid.keep_h)
    idg, jdg = np.nonzero(grid.diagonal)
    start = np.concatenate(
        [
            np.stack([grid.x[iv, jv], grid.y[iv, jv]], 1),
            np.stack([grid.x[ih, jh], grid.y[ih, jh]], 1),
            np.stack([grid.x[idg, jdg], grid.y[idg, jdg]], 1),
        ]
    )
    end = np.concatenate(
        [
            np.stack([grid.x[iv, jv + 1], grid.y[iv, jv + 1]], 1),
            np.stack([grid.x[ih + 1, jh], grid.y[ih + 1, jh]], 1),
            np.stack([grid.x[idg + 1, jdg + 1], grid.y[idg + 1, jdg + 1]], 1),
        ]
    )
    n_diag = len(idg)
    cls_diag = np.where(rng.random(n_diag) < 0.3, "path", "branch").astype(object)
    cls = np.concatenate([grid.cls_v[iv], grid.cls_h[jh], cls_diag])
    kind = np.concatenate([np.zeros(len(iv), int), np.ones(len(ih), int), np.full(n_diag, 2, int)])
    n = len(cls)
    xs = _cross_sections(cls, rng)
    # Branch roads get a bent midpoint; other classes stay straight.
    bend = np.where(cls == "branch", rng.uniform(-BEND_M, BEND_M, n), 0.0)
    d = end - start
    normal = np.stack([-d[:, 1], d[:, 0]], 1) / np.linalg.norm(d, axis=1)[:, None]
    mid = (start + end) / 2 + normal * bend[:, None]
    coords = np.stack([start, mid, end], 1)
    geometry = shapely.linestrings(coords)
    suffix = {
        "expressway": "快速路",
        "arterial": "大道",
        "secondary": "路",
        "branch": "巷",
        "path": "步道",
    }
    classes, inverse = np.unique(cls.astype(str), return_inverse=True)
    line_no = np.concatenate([iv, jh, idg * 1000 + jdg]).astype(str)
    name = np.char.add(
        np.char.add("合成", line_no), np.array([suffix[c] for c in classes])[inverse]
    )
    road = {
        "road_id": _ids("R", n, 7),
        "name": name.astype(object),
        "road_class": cls,
        **xs,
        "xs_source": np.full(n, "citygen", dtype=object),
        "geometry": geometry,
    }
    left, right = _half_widths(xs)
    half = np.maximum(left, right) + np.abs(bend)
    # Half widths of the corridor beside each block side, by grid position (0 where no road).
    hv = np.zeros((nx, ny - 1))
    hh = np.zeros((nx - 1, ny))
    hd = np.zeros((nx - 1, ny - 1))
    hv[iv, jv] = half[kind == 0]
    hh[ih, jh] = half[kind == 1]
    hd[idg, jdg] = half[kind == 2]
    return road, {"v": hv, "h": hh, "d": hd}


# --- parcels -------------------------------------------------------------------------------------


# Parcels across x, y of a block: two rows at most, so every parcel fronts a road (its door is
# within reach of the corridors); large single parcels for factories and schools, narrow lots
# for shops and housing.
LAYOUTS = ((1, 1), (2, 2), (6, 2), (2, 6), (8, 2), (2, 8), (12, 2), (2, 12))
LAYOUT_SHARE = (0.03, 0.05, 0.07, 0.07, 0.14, 0.14, 0.25, 0.25)


def _parcels(grid: _Grid, widths: dict[str, np.ndarray], rng: np.random.Generator) -> dict:
    x, y = grid.x, grid.y
    p00 = np.stack([x[:-1, :-1], y[:-1, :-1]], -1).reshape(-1, 2)
    p10 = np.stack([x[1:, :-1], y[1:, :-1]], -1).reshape(-1, 2)
    p11 = np.stack([x[1:, 1:], y[1:, 1:]], -1).reshape(-1, 2)
    p01 = np.stack([x[:-1, 1:], y[:-1, 1:]], -1).reshape(-1, 2)
    width = (np.linalg.norm(p10 - p00, axis=1) + np.linalg.norm(p11 - p01, axis=1)) / 2
    height = (np.linalg.norm(p01 - p00, axis=1) + np.linalg.norm(p11 - p10, axis=1)) / 2
    # Inset of each block side, as a fraction of the block, from the corridor beside it.
    left = (widths["v"][:-1, :].reshape(-1) + SETBACK_M) / width
    right = (widths["v"][1:, :].reshape(-1) + SETBACK_M) / width
    bottom = (widths["h"][:, :-1].reshape(-1) + SETBACK_M) / height
    top = (widths["h"][:, 1:].reshape(-1) + SETBACK_M) / height
    diag = grid.diagonal.reshape(-1)
    zone = grid.zone.reshape(-1)
    block = np.arange(len(diag))
    layout = rng.choice(len(LAYOUTS), size=len(diag), p=LAYOUT_SHARE)

    rings, blocks = [], []
    for k, (nu, nv) in enumerate(LAYOUTS):
        sel = np.flatnonzero((layout == k) & ~diag)
        if not len(sel):
            continue
        gap_u = PARCEL_GAP_M / 2 / width[sel]
        gap_v = PARCEL_GAP_M / 2 / height[sel]
        u_cuts = np.linspace(left[sel], 1 - right[sel], nu + 1, axis=1)
        v_cuts = np.linspace(bottom[sel], 1 - top[sel], nv + 1, axis=1)
        for a in range(nu):
            for b in range(nv):
                u0 = u_cuts[:, a] + (gap_u if a > 0 else 0)
                u1 = u_cuts[:, a + 1] - (gap_u if a < nu - 1 else 0)
                v0 = v_cuts[:, b] + (gap_v if b > 0 else 0)
                v1 = v_cuts[:, b + 1] - (gap_v if b < nv - 1 else 0)
                corners = [(u0, v0), (u1, v0), (u1, v1), (u0, v1), (u0, v0)]
                ring = np.stack(
                    [_bilinear(p00[sel], p10[sel], p11[sel], p01[sel], u, v) for u, v in corners],
                    1,
                )
                rings.append(ring)
                blocks.append(block[sel])
    # Blocks with a diagonal: two triangles shrunk towards their incentres, clear of all roads.
    sel = np.flatnonzero(diag)
    if len(sel):
        for tri in ((p00, p10, p11), (p00, p11, p01)):
            a, b, c = (t[sel] for t in tri)
            la = np.linalg.norm(b - c, axis=1)
            lb = np.linalg.norm(c - a, axis=1)
            lc = np.linalg.norm(a - b, axis=1)
            per = la + lb + lc
            incentre = (a * la[:, None] + b * lb[:, None] + c * lc[:, None]) / per[:, None]
            sp = per / 2
            inradius = np.sqrt(np.maximum((sp - la) * (sp - lb) * (sp - lc) / sp, 0))
            inset = (
                np.maximum.reduce(
                    [
                        widths["d"].reshape(-1)[sel],
                        widths["v"][:-1, :].reshape(-1)[sel],
                        widths["v"][1:, :].reshape(-1)[sel],
                        widths["h"][:, :-1].reshape(-1)[sel],
                        widths["h"][:, 1:].reshape(-1)[sel],
                    ]
                )
                + SETBACK_M
            )
            scale = np.clip(1 - inset / inradius, 0.05, 1)[:, None, None]
            tri_pts = np.stack([a, b, c, a], 1)
            rings.append(incentre[:, None, :] + (tri_pts - incentre[:, None, :]) * scale)
            blocks.append(block[sel])
    geometry = np.concatenate([shapely.polygons(r) for r in rings])
    block_of = np.concatenate(blocks)
    order = np.argsort(block_of, kind="stable")
    geometry, block_of = geometry[order], block_of[order]
    n = len(geometry)

    zone_names = list(ZONE_SHARE)
    codes = np.empty(n, dtype=object)
    parcel_zone = zone[block_of]
    for z, name in enumerate(zone_names):
        mask = parcel_zone == z
        options, weights = zip(*ZONE_CODES[name], strict=True)
        codes[mask] = rng.choice(np.array(options, dtype=object), size=int(mask.sum()), p=weights)
    far = np.full(n, np.nan)
    for prefix, (lo, hi) in FAR_RANGE.items():
        mask = np.char.startswith(codes.astype(str), prefix)
        far[mask] = np.round(rng.uniform(lo, hi, int(mask.sum())), 2)
    # A tenth of the FARs are unknown, so the forecast falls back to land area there.
    far[rng.random(n) < 0.1] = np.nan
    centroid = shapely.get_coordinates(shapely.centroid(geometry))
    centre = centroid.mean(axis=0)
    dist = np.linalg.norm(centroid - centre, axis=1)
    area_type = np.where(dist < 4000, "city_centre", np.where(dist < 12000, "urban", "town"))
    quadrant = (centroid[:, 0] > centre[0]).astype(int) + 2 * (centroid[:, 1] > centre[1])
    # Around the annual outage targets of DESIGN §5 (city centre 1.5 h, urban 4 h, town 8 h).
    target = np.select([area_type == "city_centre", area_type == "urban"], [1.5, 4.0], 8.0)
    outage = target * rng.uniform(0.3, 1.6, n)
    return {
        "parcel_id": _ids("P", n, 7),
        "landuse_code": codes,
        "name": np.full(n, "", dtype=object),
        "far": far,
        "status": np.where(rng.random(n) < 0.12, "planned", "existing").astype(object),
        "district": np.array(DISTRICTS, dtype=object)[quadrant],
        "area_type": area_type.astype(object),
        "outage_hours": np.round(outage, 2),
        "geometry": geometry,
        "_block": block_of,
    }


def _ids(prefix: str, n: int, digits: int) -> np.ndarray:
    """``prefix`` + zero-padded 1..n, as an object array (``P0000001``…)."""
    if n == 0:
        return np.empty(0, dtype=object)
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), digits)).astype(
        object
    )


def _bilinear(p00, p10, p11, p01, u, v) -> np.ndarray:
    u, v = u[:, None], v[:, None]
    return (1 - u) * (1 - v) * p00 + u * (1 - v) * p10 + u * v * p11 + (1 - u) * v * p01


# --- grid: substations, assets, feeders -----------------------------------------------------------


def _substations(grid: _Grid, parcels: dict) -> dict:
    nbx, nby = grid.diagonal.shape
    half = SUBSTATION_EVERY // 2
    bi = np.arange(min(half, nbx - 1), nbx, SUBSTATION_EVERY)
    bj = np.arange(min(half, nby - 1), nby, SUBSTATION_EVERY)
    bi, bj = (a.reshape(-1) for a in np.meshgrid(bi, bj, indexing="ij"))
    # The substation stands on the block's first parcel, which becomes power-supply land (1303).
    first = np.searchsorted(parcels["_block"], bi * nby + bj)
    parcels["landuse_code"][first] = "1303"
    parcels["far"][first] = np.nan
    points = shapely.point_on_surface(parcels["geometry"][first])
    n = len(points)
    return {
        "substation_id": _ids("S", n, 4),
        "name": np.char.add(
            np.char.add("合成", np.arange(1, n + 1).astype(str)), "号变电站"
        ).astype(object),
        "voltage_kv": np.full(n, 110.0),
        "capacity_mva": np.where(np.arange(n) % 3 == 0, 189.0, 100.0),
        "peak_load_mva": np.zeros(n),  # filled from the feeders
        "status": np.full(n, "existing", dtype=object),
        "geometry": points,
    }


def _assets(roads: dict, n_parcels: int, rng: np.random.Generator) -> dict:
    n = int(n_parcels * ASSETS_PER_PARCEL)
    lines = roads["geometry"]
    pick = rng.integers(0, len(lines), n)
    # Paths carry no cables in this city: move their assets to the next road.
    is_path = roads["road_class"][pick] == "path"
    pick[is_path] = (pick[is_path] + 1) % len(lines)
    t = rng.uniform(0.15, 0.85, n)
    here = shapely.line_interpolate_point(lines[pick], t, normalized=True)
    ahead = shapely.line_interpolate_point(lines[pick], t + 0.01, normalized=True)
    p, q = shapely.get_coordinates(here), shapely.get_coordinates(ahead)
    d = q - p
    normal = np.stack([-d[:, 1], d[:, 0]], 1) / np.linalg.norm(d, axis=1)[:, None]
    side_left = rng.random(n) < 0.5
    half = roads["motor_width_m"][pick] / 2
    edge = np.where(
        side_left,
        half + sum(roads[f"{s}_left_m"][pick] for s in STRIPS),
        -(half + sum(roads[f"{s}_right_m"][pick] for s in STRIPS)),
    )
    # Just inside the corridor's outer edge, in the outermost strip of that side.
    offset = edge - np.sign(edge) * 0.3
    xy = p + normal * offset[:, None]
    names, weights = zip(*ASSET_KINDS, strict=True)
    kind = rng.choice(np.array(names, dtype=object), size=n, p=weights)
    is_tx = kind == "transformer"
    capacity = np.where(is_tx, rng.choice([400.0, 630.0, 800.0], size=n), np.nan)
    peak = capacity * rng.beta(2.2, 2.0, n)
    # Unknown loads, shown as "unknown" headroom, on 3% of the transformers.
    peak[is_tx & (rng.random(n) < 0.03)] = np.nan
    voltage = np.where(kind == "branch_box", 0.4, 10.0)
    return {
        "asset_id": _ids("A", n, 6),
        "kind": kind,
        "voltage_kv": voltage,
        "feeder_id": np.empty(n, dtype=object),  # filled by _feeders
        "capacity_kva": capacity,
        "peak_load_kva": np.round(peak, 1),
        "status": np.where(rng.random(n) < 0.05, "planned", "existing").astype(object),
        "geometry": shapely.points(xy),
    }


def _feeders(assets: dict, substations: dict, rng: np.random.Generator) -> dict:
    sxy = shapely.get_coordinates(substations["geometry"])
    axy = shapely.get_coordinates(assets["geometry"])
    _, sub = cKDTree(sxy).query(axy)
    rel = axy - sxy[sub]
    angle = np.arctan2(rel[:, 1], rel[:, 0])
    dist = np.hypot(rel[:, 0], rel[:, 1])
    # Assets of one substation, taken by angle, form the feeders (sectors radiating outwards).
    order = np.lexsort((angle, sub))
    rank = np.empty(len(sub), int)
    starts = np.r_[0, np.flatnonzero(np.diff(sub[order])) + 1]
    counts = np.diff(np.r_[starts, len(order)])
    rank[order] = np.arange(len(order)) - np.repeat(starts, counts)
    sector = rank // FEEDER_ASSETS
    feeder_key = sub * 10_000 + sector
    keys, feeder = np.unique(feeder_key, return_inverse=True)
    nf = len(keys)
    feeder_ids = _ids("F", nf, 5)
    assets["feeder_id"] = feeder_ids[feeder]
    # Each feeder's line runs from its substation through its assets, nearest first.
    walk = np.lexsort((dist, feeder))
    feeder_sub = sub[walk][np.r_[0, np.flatnonzero(np.diff(feeder[walk])) + 1]]
    coords = np.concatenate([sxy[feeder_sub], axy[walk]])
    index = np.concatenate([np.arange(nf), feeder[walk]])
    by_line = np.argsort(index, kind="stable")
    # The substation's point sorts first in each line (stable sort, substations come first).
    geometry = shapely.linestrings(coords[by_line], indices=index[by_line])
    load_kva = np.nan_to_num(assets["peak_load_kva"])
    feeder_load = np.bincount(feeder, weights=load_kva, minlength=nf) / 1000 * 0.8
    capacity = rng.choice([8.0, 8.66, 10.0], size=nf)
    substations["peak_load_mva"] = np.round(
        np.bincount(feeder_sub, weights=feeder_load, minlength=len(sxy)) * 0.7, 2
    )
    return {
        "feeder_id": feeder_ids,
        "substation_id": substations["substation_id"][feeder_sub],
        "voltage_kv": np.full(nf, 10.0),
        "capacity_mva": capacity,
        "peak_load_mva": np.round(feeder_load, 2),
        "status": np.full(nf, "existing", dtype=object),
        "geometry": geometry,
    }


def _ducts(roads: dict, rng: np.random.Generator) -> dict:
    arterial = np.flatnonzero(np.isin(roads["road_class"], ["arterial", "expressway"]))
    pick = arterial[rng.random(len(arterial)) < 0.3]
    if not len(pick):  # a small map still gets one duct to route along
        pick = arterial[:1]
    xs = {k: roads[k][pick] for k in ("motor_width_m", "bike_left_m", "sidewalk_left_m")}
    # Along the middle of the left sidewalk.
    offset = xs["motor_width_m"] / 2 + xs["bike_left_m"] + xs["sidewalk_left_m"] / 2
    geometry = shapely.offset_curve(roads["geometry"][pick], offset)
    n = len(pick)
    return {
        "duct_id": _ids("D", n, 6),
        "name": np.full(n, "", dtype=object),
        "geometry": geometry,
    }


def _projects(parcels: dict, rng: np.random.Generator) -> dict:
    n_parcels = len(parcels["geometry"])
    pick = np.flatnonzero(rng.random(n_parcels) < PROJECT_SHARE)
    if not len(pick):  # a small map still gets one pushed project
        pick = rng.integers(0, n_parcels, 1)
    n = len(pick)
    category = rng.choice(
        np.array(["lv_small_micro", "lv_non_residential", "hv_single", "hv_dual"], dtype=object),
        size=n,
        p=[0.35, 0.25, 0.3, 0.1],
    )
    kw = np.where(
        np.char.startswith(category.astype(str), "lv"),
        rng.choice([30.0, 50.0, 100.0, 150.0], size=n),
        rng.choice([400.0, 800.0, 1600.0, 3000.0], size=n),
    )
    return {
        "project_id": _ids("J", n, 5),
        "requested_kw": kw,
        "category": category,
        "name": np.full(n, "", dtype=object),
        "status": np.full(n, "pushed", dtype=object),
        "geometry": shapely.point_on_surface(parcels["geometry"][pick]),
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.citygen [SIZE ...] [--seed N]``: generate and cache, print counts."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for size in args.sizes:
        t0 = time.perf_counter()
        path = city_map_path(size, args.seed)
        onemap = read_map(path)
        print(f"{size}: {path} {onemap.counts()} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
