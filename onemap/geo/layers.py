"""Validation of one layer against its schema (DESIGN §1).

:func:`validate_layer` takes a GeoDataFrame as read from a source and returns a clean copy in
the storage CRS with canonical column names and types, plus a :class:`LayerReport` of what was
repaired, renamed or filled. Bad input raises :class:`~onemap.errors.OnemapInputError` naming the
file, layer, row and field; invalid geometries are repaired (``make_valid``) and counted, never
dropped silently.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS, looks_geographic, looks_like_degrees_in, looks_swapped
from onemap.geo.schema import CROSS_SECTION, LAYERS, YEAR_NOTE, YEAR_RANGE, LayerSchema
from onemap.messages import Message, msg

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass
class LayerReport:
    """What validation did to one layer."""

    layer: str
    source: str
    features: int = 0
    repaired_geometries: int = 0
    renamed_columns: dict[str, str] = field(default_factory=dict)
    filled: dict[str, int] = field(default_factory=dict)  # column -> rows filled by default
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "layer": self.layer,
            "source": self.source,
            "features": self.features,
            "repaired_geometries": self.repaired_geometries,
            "renamed_columns": self.renamed_columns,
            "filled": self.filled,
            "notes": self.notes,
        }


@lru_cache(maxsize=1)
def cross_section_table() -> dict:
    """The per-class default cross-sections (``data/cross_sections.toml``)."""
    return tomllib.loads((DATA_DIR / "cross_sections.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def landuse_codes() -> dict[str, dict]:
    """The 用地用海 code table (``data/landuse_codes.toml``): code -> {zh, en, load, color}."""
    data = tomllib.loads((DATA_DIR / "landuse_codes.toml").read_text(encoding="utf-8"))
    return data["codes"]


def landuse_info(code: str) -> dict | None:
    """Entry for a 用地用海 code, falling back from 4 or 6 digits to its 2-digit class."""
    table = landuse_codes()
    for n in (len(code), 4, 2):
        if code[:n] in table:
            return table[code[:n]]
    return None


def road_class_of(value: object) -> str:
    """Normalise a source's road class (OSM ``highway``, Chinese name) to a table class."""
    table = cross_section_table()
    aliases, classes = table["aliases"], table["classes"]
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    if text in classes:
        return text
    return aliases.get(text, aliases["default"])


def _err(message: Message, report: LayerReport, row=None, fieldname=None) -> OnemapInputError:
    return OnemapInputError(
        message, file=report.source, layer=report.layer, row=row, field=fieldname
    )


def check_crs(gdf: gpd.GeoDataFrame, report: LayerReport, crs: str | None) -> gpd.GeoDataFrame:
    """Assign ``crs`` where the source has none; refuse a missing CRS, swapped or wrong axes."""
    if gdf.crs is None:
        if crs is None:
            raise _err(msg("geo.no_crs"), report)
        gdf = gdf.set_crs(crs)
        report.notes.append(f"CRS {crs} assigned (--crs)")
    if gdf.crs.is_projected and len(gdf):
        bounds = tuple(gdf.total_bounds)
        if looks_like_degrees_in(bounds, gdf.crs):
            raise _err(
                msg("geo.degrees_in_projected_crs", bounds=bounds, crs=gdf.crs.to_string()),
                report,
            )
    if gdf.crs.is_geographic and len(gdf):
        bounds = tuple(gdf.total_bounds)
        if looks_swapped(bounds):
            raise _err(
                msg("geo.axes_swapped", bounds=bounds),
                report,
            )
        if not looks_geographic(bounds):
            raise _err(
                msg("geo.geographic_not_degrees", crs=gdf.crs.to_string(), bounds=bounds),
                report,
            )
    return gdf


def _rename_aliases(gdf: gpd.GeoDataFrame, schema: LayerSchema, report: LayerReport):
    lower = {c.lower(): c for c in gdf.columns}
    for col in schema.columns:
        if col.name in gdf.columns:
            continue
        # Shapefile (dBASE) truncates field names to 10 characters: landuse_code -> landuse_co.
        for alias in (*col.aliases, col.name[:10]):
            if alias.lower() in lower:
                src = lower[alias.lower()]
                gdf = gdf.rename(columns={src: col.name})
                report.renamed_columns[src] = col.name
                break
    return gdf


def _check_present_and_finite(gdf: gpd.GeoDataFrame, report: LayerReport) -> None:
    """Refuse empty/missing geometries and NaN/infinite coordinates, naming the first row."""
    geom = gdf.geometry.values
    missing = shapely.is_missing(geom) | shapely.is_empty(geom)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise _err(msg("geo.geometry_missing"), report, row=row, fieldname="geometry")
    coords, index = shapely.get_coordinates(geom, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        row = int(index[np.flatnonzero(bad)[0]])
        raise _err(msg("geo.coordinate_not_finite"), report, row=row, fieldname="geometry")


def _repair_geometries(gdf: gpd.GeoDataFrame, schema: LayerSchema, report: LayerReport):
    geom = gdf.geometry.values
    invalid = ~shapely.is_valid(geom)
    if invalid.any():
        fixed = shapely.make_valid(geom[invalid])
        if schema.geometry[0] in ("Polygon", "MultiPolygon"):
            # make_valid may return a collection with slivers of lower dimension: keep the areas.
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        geom = geom.copy()
        geom[invalid] = fixed
        report.repaired_geometries = int(invalid.sum())
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
    types = gdf.geom_type.to_numpy()
    bad = ~np.isin(types, schema.geometry)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _err(
            msg("geo.geometry_type", found=types[row], expected="/".join(schema.geometry)),
            report,
            row=row,
            fieldname="geometry",
        )
    return gdf


def _polygonal(g):
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else g


def _coerce(gdf: gpd.GeoDataFrame, schema: LayerSchema, report: LayerReport):
    for col in schema.columns:
        if col.name not in gdf.columns:
            continue
        series = gdf[col.name]
        if col.kind == "float":
            num = pd.to_numeric(series, errors="coerce")
            bad = num.isna() & series.notna() & (series.astype(str).str.strip() != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise _err(msg("geo.not_number", value=series.iloc[row]), report, row, col.name)
            gdf[col.name] = num = num.astype(float)
            infinite = num.notna() & ~np.isfinite(num)
            if infinite.any():
                row = int(np.flatnonzero(infinite.to_numpy())[0])
                raise _err(
                    msg("geo.not_finite_number", value=series.iloc[row]), report, row, col.name
                )
            if col.maximum is not None:
                over = num > col.maximum
                if over.any():
                    row = int(np.flatnonzero(over.to_numpy())[0])
                    raise _err(
                        msg(
                            "geo.over_maximum",
                            value=num.iloc[row],
                            maximum=col.maximum,
                            note=col.maximum_note,
                        ),
                        report,
                        row,
                        col.name,
                    )
        elif col.kind == "int":
            num = pd.to_numeric(series, errors="coerce")
            bad = (num.isna() & series.notna()) | (num.notna() & (num % 1 != 0))
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise _err(
                    msg("geo.not_whole_number", value=series.iloc[row]), report, row, col.name
                )
            fill = col.default if col.default is not None else 0
            gdf[col.name] = num.fillna(fill).astype(np.int64)
        elif col.kind == "year":
            gdf[col.name] = _years(series, report, col.name)
        elif col.kind == "str":
            gdf[col.name] = series.map(_as_text).astype(object)
        if col.allowed:
            values = gdf[col.name]
            ok = values.isna() | values.isin(col.allowed)
            if not ok.all():
                row = int(np.flatnonzero(~ok.to_numpy())[0])
                allowed = ", ".join(str(a) for a in col.allowed)
                raise _err(
                    msg("geo.value_not_allowed", value=values.iloc[row], allowed=allowed),
                    report,
                    row,
                    col.name,
                )
    return gdf


def _years(series: pd.Series, report: LayerReport, name: str) -> pd.Series:
    """A year column as float (NaN: none); refuse text, fractions and implausible years."""
    num = pd.to_numeric(series, errors="coerce")
    blank = series.isna() | (series.astype(str).str.strip() == "")
    first, last = YEAR_RANGE
    checks = (
        (num.isna() & ~blank, msg("geo.not_year")),
        (num.notna() & ~np.isfinite(num.fillna(0.0)), msg("geo.not_year")),
        (
            num.notna() & ((num < first) | (num > last)),
            msg("geo.not_year_in_range", note=YEAR_NOTE),
        ),
        (num.notna() & (num % 1 != 0), msg("geo.not_whole_year")),
    )
    for bad, what in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _err(
                msg("geo.bad_year", value=series.iloc[row], what=what, name=name),
                report,
                row,
                name,
            )
    return num.astype(float)


def _check_ids(ids: pd.Series, report: LayerReport, column: str) -> None:
    """Refuse ids with control characters (NUL truncates them in files) or only whitespace."""
    for row, value in enumerate(ids):
        if value is None:
            continue
        bad = next((ch for ch in value if unicodedata.category(ch) == "Cc"), None)
        if bad is not None:
            raise _err(msg("geo.id_control_char", value=value, code=ord(bad)), report, row, column)
        if not value.strip():
            raise _err(msg("geo.id_whitespace", value=value), report, row, column)


def _as_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # ids read as 12.0 from DBF/GeoJSON numbers
    return str(value)


def fill_cross_sections(roads: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    """Fill missing cross-section widths from the per-class table; count every fill."""
    table = cross_section_table()["classes"]
    if "road_class" not in roads.columns:
        roads["road_class"] = None
    cls = roads["road_class"].map(road_class_of)
    unknown = roads["road_class"].notna() & ~roads["road_class"].isin(
        list(table) + list(cross_section_table()["aliases"])
    )
    if unknown.any():
        values = sorted(set(roads.loc[unknown, "road_class"].astype(str)))[:10]
        report.notes.append(
            f"{int(unknown.sum())} roads of unknown class {values} take the default class"
        )
    roads["road_class"] = cls
    for col in CROSS_SECTION:
        if col not in roads.columns:
            roads[col] = np.nan
    any_missing = roads[list(CROSS_SECTION)].isna().any(axis=1)
    # Provenance of every strip where the source says nothing of it (issue 13): a width the
    # source gives is "tagged", one filled from the class table "default".
    if "xs_source" not in roads.columns:
        roads["xs_source"] = ""
    unsourced = roads["xs_source"].fillna("").astype(str).str.strip() == ""
    if unsourced.any():
        missing_cols = roads.loc[unsourced, list(CROSS_SECTION)].isna()
        roads.loc[unsourced, "xs_source"] = [
            ";".join(
                f"{c.removesuffix('_m')}={'default' if row[c] else 'tagged'}" for c in CROSS_SECTION
            )
            for row in missing_cols.to_dict("records")
        ]
    for col in CROSS_SECTION:
        # sidewalk_left_m -> sidewalk_m; motor_width_m is its own key
        key = col if col == "motor_width_m" else col.split("_")[0] + "_m"
        missing = roads[col].isna()
        if missing.any():
            roads.loc[missing, col] = cls[missing].map(lambda c, k=key: float(table[c][k]))
            report.filled[col] = int(missing.sum())
        negative = roads[col] < 0
        if negative.any():
            row = int(np.flatnonzero(negative.to_numpy())[0])
            raise _err(msg("geo.width_negative"), report, row, col)
    report.filled["roads"] = int(any_missing.sum())
    return roads


def validate_layer(
    name: str,
    gdf: gpd.GeoDataFrame,
    *,
    source: str = "<memory>",
    crs: str | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Validate one layer; return it cleaned in EPSG:4326 and a report.

    Raises OnemapInputError naming ``source``, the layer, and the first offending row/field for:
    an unknown layer, an empty layer, a missing CRS (unless ``crs``), swapped lat/lon, missing
    required columns, non-numeric values, disallowed values, empty geometries, wrong geometry
    types and duplicate ids. Invalid geometries are repaired and counted.
    """
    if name not in LAYERS:
        raise OnemapInputError(
            msg("geo.unknown_layer", layers=", ".join(LAYERS)), file=source, layer=name
        )
    schema = LAYERS[name]
    report = LayerReport(layer=name, source=source)
    if len(gdf) == 0:
        raise _err(msg("geo.layer_empty"), report)
    gdf = gdf.reset_index(drop=True)
    _check_present_and_finite(gdf, report)
    gdf = check_crs(gdf.copy(), report, crs)
    gdf = _rename_aliases(gdf, schema, report)
    missing = [c.name for c in schema.required if c.name not in gdf.columns]
    if missing:
        have = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise _err(
            msg("geo.columns_missing", missing=", ".join(missing), have=have),
            report,
            fieldname=missing[0],
        )
    gdf = gdf.reset_index(drop=True)
    gdf = _repair_geometries(gdf, schema, report)
    gdf = _coerce(gdf, schema, report)
    ids = gdf[schema.id_column]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise _err(msg("geo.id_missing"), report, row, schema.id_column)
    _check_ids(ids, report, schema.id_column)
    dup = ids.duplicated(keep=False)
    if dup.any() and schema.id_column in report.renamed_columns.values():
        # A foreign id (e.g. OSM's osm_id on ways split into segments) is not unique by design:
        # keep it recognisable and make it unique, and say so. Our own id columns must be unique.
        rank = ids.groupby(ids).cumcount()
        gdf[schema.id_column] = ids.where(~dup, ids + "-" + (rank + 1).astype(str))
        report.notes.append(
            f"{int(dup.sum())} rows share a foreign {schema.id_column}; suffixed -1, -2, …"
        )
        ids = gdf[schema.id_column]
        dup = ids.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())[:5].tolist()
        raise _err(
            msg("geo.duplicate_id", value=ids.iloc[rows[0]], rows=rows),
            report,
            rows[0],
            schema.id_column,
        )
    if name == "roads":
        gdf = fill_cross_sections(gdf, report)
    if name == "landuse":
        _check_landuse_codes(gdf, report)
    for col in schema.optional:
        # A year column the source lacks stays absent: no year is the map as before.
        if col.name not in gdf.columns and col.kind != "year":
            gdf[col.name] = col.default
    if gdf.crs.to_string() != STORAGE_CRS:
        gdf = gdf.to_crs(STORAGE_CRS)
    report.features = len(gdf)
    return gdf, report


def _check_landuse_codes(gdf: gpd.GeoDataFrame, report: LayerReport) -> None:
    codes = gdf["landuse_code"]
    known = codes.map(lambda c: c is not None and landuse_info(str(c)) is not None)
    if not known.all():
        row = int(np.flatnonzero(~known.to_numpy())[0])
        raise _err(
            msg(
                "geo.unknown_landuse_code",
                code=codes.iloc[row],
                table=DATA_DIR / "landuse_codes.toml",
            ),
            report,
            row,
            "landuse_code",
        )
