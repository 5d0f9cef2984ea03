"""``onemap build``: read sources, map foreign land-use codes, validate, merge into one map.

Nothing is written until every layer has validated, and the output is written atomically, so a
failed build leaves an existing map file untouched.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from onemap.errors import OnemapInputError
from onemap.geo.crs import metric_crs_for_bounds
from onemap.geo.layers import LayerReport, validate_layer
from onemap.geo.mapfile import OneMap, write_map
from onemap.geo.schema import LAYERS
from onemap.geo.sources import Source, parse_specs, read_source
from onemap.messages import msg

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "data" / "mappings"


@dataclass
class LanduseMapping:
    """A table turning a source's land-use codes into 用地用海 codes."""

    name: str
    path: str
    code_column: str
    id_column: str
    codes: dict[str, str]


@dataclass
class BuildReport:
    """What a build read, repaired and filled, and the CRS it chose."""

    out: str
    crs_metric: str
    layers: dict[str, list[LayerReport]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    landuse_mapping: str | None = None
    warnings: list[str] = field(default_factory=list)
    # strips by provenance (roads with an ``xs_source``: tagged, mapped_way, derived, default)
    strip_provenance: dict[str, int] = field(default_factory=dict)

    @property
    def repaired_geometries(self) -> dict[str, int]:
        return {k: sum(r.repaired_geometries for r in v) for k, v in self.layers.items()}

    @property
    def filled_cross_sections(self) -> int:
        return sum(r.filled.get("roads", 0) for r in self.layers.get("roads", []))

    def to_dict(self) -> dict[str, object]:
        return {
            "out": self.out,
            "crs_metric": self.crs_metric,
            "layers": self.counts,
            "repaired_geometries": self.repaired_geometries,
            "filled_cross_sections": self.filled_cross_sections,
            "landuse_mapping": self.landuse_mapping,
            "sources": {k: [r.to_dict() for r in v] for k, v in self.layers.items()},
            "strip_provenance": self.strip_provenance,
            "warnings": self.warnings,
        }


def load_landuse_mapping(source: str | Path) -> LanduseMapping:
    """Load a land-use mapping table by path or by shipped name (e.g. ``euluc``)."""
    path = Path(source)
    if not path.exists() and (MAPPINGS_DIR / f"{source}.toml").exists():
        path = MAPPINGS_DIR / f"{source}.toml"
    if not path.exists():
        raise OnemapInputError(msg("geo.mapping_not_found"), file=str(source))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return LanduseMapping(
            name=str(data.get("name", path.stem)),
            path=str(path),
            code_column=str(data["code_column"]),
            id_column=str(data.get("id_column", "")),
            codes=_codes_table(data["codes"], str(path)),
        )
    except (tomllib.TOMLDecodeError, KeyError, UnicodeDecodeError) as exc:
        raise OnemapInputError(msg("geo.bad_mapping", exc=exc), file=str(path)) from exc


def _codes_table(codes: object, path: str) -> dict[str, str]:
    if not isinstance(codes, dict):
        raise OnemapInputError(
            msg("geo.mapping_codes_not_table", kind=type(codes).__name__),
            file=path,
            field="codes",
        )
    bad = next((k for k, v in codes.items() if not isinstance(v, str | int)), None)
    if bad is not None:
        raise OnemapInputError(
            msg("geo.mapping_bad_target", bad=bad, target=codes[bad]),
            file=path,
            field="codes",
        )
    return {str(k): str(v) for k, v in codes.items()}


def apply_landuse_mapping(
    gdf: gpd.GeoDataFrame, mapping: LanduseMapping, source: str
) -> gpd.GeoDataFrame:
    """Add ``landuse_code`` (and generated ``parcel_id`` if asked) from a mapping table."""
    if mapping.code_column not in gdf.columns:
        raise OnemapInputError(
            msg("geo.mapping_column_missing", code_column=mapping.code_column, path=mapping.path),
            file=source,
            layer="landuse",
            field=mapping.code_column,
        )
    raw = gdf[mapping.code_column].map(_code_text)
    mapped = raw.map(mapping.codes)
    unmapped = mapped.isna()
    if unmapped.any():
        row = int(unmapped.to_numpy().nonzero()[0][0])
        values = sorted(set(raw[unmapped].astype(str)))[:10]
        raise OnemapInputError(
            msg("geo.unmapped_landuse_code", code=raw.iloc[row], values=values, path=mapping.path),
            file=source,
            layer="landuse",
            row=row,
            field=mapping.code_column,
        )
    gdf = gdf.copy()
    gdf["landuse_code"] = mapped
    if mapping.id_column:
        gdf["parcel_id"] = gdf[mapping.id_column].map(_code_text)
    elif "parcel_id" not in gdf.columns:
        gdf["parcel_id"] = [f"P{i + 1:06d}" for i in range(len(gdf))]
    return gdf


def _code_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def build_map(
    files: list[str],
    out: str | Path,
    *,
    landuse_mapping: str | Path | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    meta: dict | None = None,
) -> tuple[OneMap, BuildReport]:
    """Build a one map from source files and write it atomically to ``out``.

    ``files`` are specs as on the command line (see :mod:`onemap.geo.sources`); ``crs`` is assigned
    to sources that declare none; ``encoding`` overrides Shapefile DBF detection.
    """
    if Path(out).is_dir():
        raise OnemapInputError(msg("geo.output_is_dir"), file=str(out), field="--out")
    if crs is not None:
        _check_crs_name(crs)
    mapping = load_landuse_mapping(landuse_mapping) if landuse_mapping else None
    sources = parse_specs(files)
    if not sources:
        raise OnemapInputError(msg("geo.no_inputs"))
    frames: dict[str, list[gpd.GeoDataFrame]] = {}
    reports: dict[str, list[LayerReport]] = {}
    for src in sources:
        gdf = read_source(src, encoding)
        if src.layer == "landuse" and mapping is not None:
            gdf = apply_landuse_mapping(gdf, mapping, src.label)
        clean, report = validate_layer(src.layer, gdf, source=src.label, crs=crs)
        frames.setdefault(src.layer, []).append(clean)
        reports.setdefault(src.layer, []).append(report)
    layers = {name: _merge(name, parts, sources) for name, parts in frames.items()}
    bounds = pd.DataFrame([g.total_bounds for g in layers.values()])
    crs_metric = metric_crs_for_bounds(
        (bounds[0].min(), bounds[1].min(), bounds[2].max(), bounds[3].max())
    )
    report = BuildReport(
        out=str(out),
        crs_metric=crs_metric,
        layers=reports,
        counts={k: len(v) for k, v in layers.items()},
        landuse_mapping=mapping.path if mapping else None,
        warnings=far_apart(layers),
        strip_provenance=strip_provenance(layers.get("roads")),
    )
    map_meta = {
        "synthetic": False,
        "sources": [s.label for s in sources],
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "landuse_mapping": report.landuse_mapping,
        "repaired_geometries": report.repaired_geometries,
        "filled_cross_sections": report.filled_cross_sections,
        "rules": "lianyungang-2021",
        **(meta or {}),
    }
    onemap = OneMap(layers=layers, crs_metric=crs_metric, meta=map_meta)
    write_map(onemap, out)
    return onemap, report


# Layers of one city lie within a few tens of kilometres of each other; farther apart they are
# probably different places (a Manhattan street network with a German grid). Assumed.
FAR_APART_KM = 100.0


def far_apart(layers: dict[str, gpd.GeoDataFrame]) -> list[str]:
    """Warnings for pairs of layers whose extents lie more than FAR_APART_KM apart."""
    boxes = {n: g.total_bounds for n, g in layers.items() if len(g)}
    out = []
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes[a], boxes[b]
            dx = max(bx0 - ax1, ax0 - bx1, 0.0)
            dy = max(by0 - ay1, ay0 - by1, 0.0)
            mid = np.radians((ay0 + ay1 + by0 + by1) / 4)
            km = float(np.hypot(dx * np.cos(mid), dy)) * 111.32
            if km > FAR_APART_KM:
                out.append(
                    f"layers '{a}' and '{b}' lie {km:.0f} km apart: different places? "
                    f"(图层相距 {km:.0f} 公里，请确认是同一地区)"
                )
    return out


def strip_provenance(roads: gpd.GeoDataFrame | None) -> dict[str, int]:
    """Road strips (of non-zero width) counted by where they came from, read from
    ``xs_source``; a road without one counts its widths as given by the source (``tagged``)
    or filled from the class table (``default``)."""
    if roads is None or not len(roads) or "xs_source" not in roads:
        return {}
    parts = roads["xs_source"].fillna("").str.findall(r"([a-z_]+)=([a-z_]+)")
    counts: dict[str, int] = {}
    for row, pairs in zip(roads.itertuples(index=False), parts, strict=True):
        for strip, prov in pairs:
            column = "motor_width_m" if strip == "motor_width" else f"{strip}_m"
            if float(getattr(row, column, 0) or 0) > 0:
                counts[prov] = counts.get(prov, 0) + 1
    return counts


def _check_crs_name(crs: str) -> None:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(crs)
    except CRSError:
        raise OnemapInputError(msg("geo.unknown_crs", crs=crs), field="crs") from None


def _merge(name: str, parts: list[gpd.GeoDataFrame], sources: list[Source]) -> gpd.GeoDataFrame:
    if len(parts) == 1:
        return parts[0]
    merged = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
    id_col = LAYERS[name].id_column
    dup = merged[id_col].duplicated(keep=False)
    if dup.any():
        value = merged.loc[dup, id_col].iloc[0]
        files = ", ".join(s.label for s in sources if s.layer == name)
        raise OnemapInputError(
            msg("geo.duplicate_id_across_sources", value=value, files=files),
            layer=name,
            field=id_col,
        )
    return merged
