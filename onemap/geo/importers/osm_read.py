"""Reading an OpenStreetMap extract with pyosmium: the tagged ways, areas and power objects
onemap imports, as GeoDataFrames (see :mod:`onemap.geo.importers.osm` for what becomes which
layer). Node locations stay in libosmium's own index; geometries arrive as WKB in chunks."""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import osmium.version
import pandas as pd
import shapely
from osmium.filter import KeyFilter

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS
from onemap.geo.layers import DATA_DIR
from onemap.messages import msg

SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
AREA_KEYS = ("landuse", "amenity", "leisure", "building", "power")
_ROAD_KEYS = frozenset(
    {
        "highway",
        "name",
        "width",
        "lanes",
        "oneway",
        "junction",
        "foot",
        "area",
        "footway",
        # grade separation and access (issue 13)
        "bridge",
        "tunnel",
        "layer",
        "covered",
        "service",
        "access",
        "dual_carriageway",
    }
)
_ROAD_PREFIXES = ("sidewalk", "cycleway", "lanes:", "parking:")
_POWER_KEYS = ("power", "voltage", "voltage:primary", "rating", "substation", "name", "ref")
# A power street cabinet as the OSM wiki tags it (man_made=street_cabinet + street_cabinet=power)
# is read as the power object power=street_cabinet.
STREET_CABINET = "street_cabinet"
CHUNK = 50_000  # features converted and bbox-filtered at a time


@lru_cache(maxsize=4)
def load_table(path: str | None = None) -> dict:
    """The OSM import table (``data/osm_import.toml`` unless ``path``)."""
    p = Path(path) if path else DATA_DIR / "osm_import.toml"
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OnemapInputError(msg("geo.osm_table_unreadable", exc=exc), file=str(p)) from exc


# --------------------------------------------------------------------------- reading


class _Bucket:
    """Features of one kind collected while streaming; WKB becomes shapely arrays per chunk."""

    def __init__(self, bbox: shapely.Geometry | None) -> None:
        self.bbox = bbox
        self._wkb: list[str] = []
        self._rows: list[dict] = []
        self.geoms: list[np.ndarray] = []
        self.rows: list[dict] = []
        self.outside = 0

    def add(self, wkb: str, row: dict) -> None:
        self._wkb.append(wkb)
        self._rows.append(row)
        if len(self._wkb) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self._wkb:
            return
        geoms = shapely.from_wkb(self._wkb)
        keep = (
            np.ones(len(geoms), bool) if self.bbox is None else shapely.intersects(geoms, self.bbox)
        )
        self.outside += int((~keep).sum())
        self.geoms.append(geoms[keep])
        self.rows.extend(r for r, k in zip(self._rows, keep, strict=True) if k)
        self._wkb, self._rows = [], []

    def frame(self) -> gpd.GeoDataFrame:
        self.flush()
        geoms = np.concatenate(self.geoms) if self.geoms else np.array([], dtype=object)
        return gpd.GeoDataFrame(pd.DataFrame(self.rows), geometry=geoms, crs=STORAGE_CRS)


@dataclass
class OsmRaw:
    """What the streaming pass keeps: tagged features of interest with their geometry."""

    ways: gpd.GeoDataFrame  # highway=* lines
    lines: gpd.GeoDataFrame  # power lines / cables
    points: gpd.GeoDataFrame  # power nodes
    areas: gpd.GeoDataFrame  # closed ways and multipolygons with area keys
    skipped: Counter = field(default_factory=Counter)
    outside_bbox: int = 0


def _subset(tags, keys) -> dict[str, str]:
    return {k: tags[k] for k in keys if k in tags}


def read_osm(
    path: str | Path,
    bbox: tuple[float, float, float, float] | None = None,
    *,
    node_index: str = "flex_mem",
) -> OsmRaw:
    """Stream an OSM file once (twice for multipolygons) and keep the features of interest.

    ``node_index`` is libosmium's location index; ``"flex_mem"`` suits extracts up to country
    size, ``"sparse_file_array,FILE"`` keeps the index on disk for larger ones. Features that
    do not intersect ``bbox`` (W, S, E, N in degrees) are dropped chunk by chunk.
    """
    path = Path(path)
    if not path.exists():
        raise OnemapInputError(msg("geo.osm_not_found"), file=str(path))
    if not path.name.lower().endswith(SUFFIXES):
        raise OnemapInputError(msg("geo.not_osm", suffixes=", ".join(SUFFIXES)), file=str(path))
    box = shapely.box(*bbox) if bbox else None
    ways, lines, points, areas = (_Bucket(box) for _ in range(4))
    skipped: Counter = Counter()
    fab = osmium.geom.WKBFactory()
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations(node_index)
        .with_areas(KeyFilter(*AREA_KEYS))
        .with_filter(KeyFilter("highway", STREET_CABINET, *AREA_KEYS))
    )
    try:
        for obj in processor:
            tags = obj.tags
            if obj.is_node():
                if "power" in tags or _is_street_cabinet(tags):
                    points.add(fab.create_point(obj.location), _power_row("n", obj.id, tags))
            elif obj.is_way():
                if "highway" in tags:
                    row = {"osm": f"w{obj.id}"}
                    row.update((t.k, t.v) for t in tags if _road_key(t.k))
                    _add_line(ways, fab, obj, row, skipped, "highway")
                if "power" in tags:
                    _add_line(lines, fab, obj, _power_row("w", obj.id, tags), skipped, "power")
            elif obj.is_area():
                kind = "w" if obj.from_way() else "r"
                try:
                    wkb = fab.create_multipolygon(obj)
                except (RuntimeError, osmium.InvalidLocationError):
                    skipped["area with a broken outline or missing nodes"] += 1
                    continue
                row = _power_row(kind, obj.orig_id(), tags)
                row.update(_subset(tags, AREA_KEYS))
                areas.add(wkb, row)
    except RuntimeError as exc:  # libosmium: truncated or corrupt file
        raise OnemapInputError(msg("geo.osm_unreadable", exc=exc), file=str(path)) from exc
    buckets = (ways, lines, points, areas)
    frames = [b.frame() for b in buckets]
    frames[3] = _single_polygons(frames[3])
    return OsmRaw(*frames, skipped=skipped, outside_bbox=sum(b.outside for b in buckets))


def _single_polygons(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """libosmium builds every area as a MultiPolygon: one-part ones become Polygons."""
    geoms = gdf.geometry.values.copy()
    single = shapely.get_num_geometries(geoms) == 1
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))


def _road_key(key: str) -> bool:
    return key in _ROAD_KEYS or key.startswith(_ROAD_PREFIXES)


def _is_street_cabinet(tags) -> bool:
    return tags.get("man_made") == STREET_CABINET and tags.get(STREET_CABINET) == "power"


def _power_row(kind: str, osm_id: int, tags) -> dict:
    row = {"osm": f"{kind}{osm_id}"}
    row.update(_subset(tags, _POWER_KEYS))
    if "power" not in row and _is_street_cabinet(tags):
        row["power"] = STREET_CABINET
    return row


def _add_line(bucket: _Bucket, fab, way, row: dict, skipped: Counter, what: str) -> None:
    try:
        bucket.add(fab.create_linestring(way), row)
    except (RuntimeError, osmium.InvalidLocationError):
        skipped[f"{what} way with missing nodes or fewer than 2 points"] += 1


# --------------------------------------------------------------------------- roads
