"""Reading source files: GeoPackage, GeoJSON and Shapefile (DBF often GBK-encoded in China).

A source spec on the command line is one of:

- ``MAP_LAYERS.gpkg``: a GeoPackage whose layers carry the one-map layer names (others ignored);
- ``roads.geojson`` / ``landuse.shp``: a single-layer file named after its layer;
- ``NAME=FILE`` or ``NAME=FILE:SOURCE_LAYER``: any file read as layer NAME.
"""

from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio

from onemap.errors import OnemapInputError
from onemap.geo.schema import LAYER_NAMES
from onemap.messages import msg

# Tried in order when a Shapefile has no .cpg: UTF-8, then GB18030 (a superset of GBK/GB2312).
_FALLBACK_ENCODINGS = ("utf-8", "gb18030")


@dataclass(frozen=True)
class Source:
    """One layer to read: which one-map layer, from which file and source layer."""

    layer: str
    path: Path
    source_layer: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path}" + (f":{self.source_layer}" if self.source_layer else "")


def parse_specs(specs: list[str]) -> list[Source]:
    """Turn command-line file specs into :class:`Source` entries (see module docstring)."""
    sources: list[Source] = []
    for spec in specs:
        name, sep, rest = spec.partition("=")
        if sep:
            path_text, _, src_layer = rest.partition(":")
            if name not in LAYER_NAMES:
                raise OnemapInputError(
                    msg("geo.unknown_layer_name", name=name, layers=", ".join(LAYER_NAMES)),
                    file=spec,
                )
            path = _existing(path_text)
            sources.append(Source(name, path, src_layer or _single_layer(path)))
            continue
        path = _existing(spec)
        if path.stem in LAYER_NAMES:
            sources.append(Source(path.stem, path, _single_layer(path)))
            continue
        present = [str(row[0]) for row in _list_layers(path)]
        matched = [n for n in present if n in LAYER_NAMES]
        if not matched:
            raise OnemapInputError(
                msg(
                    "geo.no_layer_named", layers=", ".join(LAYER_NAMES), present=", ".join(present)
                ),
                file=str(path),
            )
        sources.extend(Source(n, path, n) for n in matched)
    return sources


def _existing(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise OnemapInputError(msg("geo.file_not_found"), file=text)
    if path.is_dir():
        raise OnemapInputError(msg("geo.is_directory"), file=text)
    return path


def _list_layers(path: Path):
    try:
        return pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise OnemapInputError(msg("geo.not_vector", exc=exc), file=str(path)) from exc


def _single_layer(path: Path) -> str | None:
    layers = _list_layers(path)
    if len(layers) == 1:
        return str(layers[0][0])
    spatial = [str(r[0]) for r in layers if r[1] is not None]
    if len(spatial) == 1:
        return spatial[0]
    raise OnemapInputError(
        msg("geo.several_layers", layers=", ".join(str(r[0]) for r in layers)),
        file=str(path),
    )


def read_source(source: Source, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read one source layer; Shapefiles get their DBF encoding checked or detected."""
    kwargs: dict[str, object] = {}
    if source.path.suffix.lower() == ".shp":
        kwargs["encoding"] = shapefile_encoding(source.path, encoding)
    try:
        return pyogrio.read_dataframe(source.path, layer=source.source_layer, **kwargs)
    except Exception as exc:
        raise OnemapInputError(
            msg("geo.unreadable", exc=exc), file=source.label, layer=source.layer
        ) from exc


def shapefile_encoding(shp: Path, encoding: str | None = None) -> str:
    """The encoding of a Shapefile's DBF: the given one (verified), its .cpg, or detected.

    Raises OnemapInputError naming the row and field of the first text that does not decode.
    """
    dbf = shp.with_suffix(".dbf")
    if not dbf.exists():
        dbf = shp.with_suffix(".DBF")
    if not dbf.exists():
        raise OnemapInputError(msg("geo.no_dbf"), file=str(shp))
    cpg = shp.with_suffix(".cpg")
    if encoding:
        _known_codec(encoding, file=None, field="encoding")
        declared = encoding
    elif cpg.exists():
        declared = cpg.read_text(encoding="ascii", errors="replace").strip() or None
        if declared:
            _known_codec(declared, file=str(cpg), field=None)
    else:
        declared = None
    fields = list(_dbf_text_fields(dbf))
    if declared:
        bad = _first_undecodable(fields, declared)
        if bad:
            row, name = bad
            hint = next((e for e in _FALLBACK_ENCODINGS if not _first_undecodable(fields, e)), None)
            tip = msg("geo.encoding_tip", encoding=hint.upper()) if hint else ""
            raise OnemapInputError(
                msg("geo.text_not_encoding", declared=declared, tip=tip),
                file=str(dbf),
                row=row,
                field=name,
            )
        _refuse_cjk_as_latin(fields, declared, dbf)
        return declared
    for candidate in _FALLBACK_ENCODINGS:
        if not _first_undecodable(fields, candidate):
            return candidate
    row, name = _first_undecodable(fields, _FALLBACK_ENCODINGS[-1]) or (None, None)
    raise OnemapInputError(msg("geo.encoding_unknown"), file=str(dbf), row=row, field=name)


def _known_codec(name: str, *, file: str | None, field: str | None) -> None:
    try:
        codecs.lookup(name)
    except LookupError:
        raise OnemapInputError(
            msg("geo.unknown_encoding", name=name), file=file, field=field
        ) from None


def _dbf_text_fields(dbf: Path):
    """Yield (row, field name, raw bytes) for every character field of a dBASE file."""
    data = dbf.read_bytes()
    if len(data) < 32:
        raise OnemapInputError(
            msg("geo.dbf_short", n_data=len(data)),
            file=str(dbf),
        )
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    if header_len < 33 or header_len + n_records * record_len > len(data) + 1:
        raise OnemapInputError(
            msg(
                "geo.dbf_size",
                n_records=n_records,
                record_len=record_len,
                header_len=header_len,
                n_data=len(data),
            ),
            file=str(dbf),
        )
    fields, offset, pos = [], 1, 32  # offset 1: each record starts with a deletion flag
    while pos + 32 <= header_len and data[pos] != 0x0D:
        desc = data[pos : pos + 32]
        name = desc[:11].split(b"\0", 1)[0].decode("ascii", "replace")
        ftype, length = chr(desc[11]), desc[16]
        if ftype == "C":
            fields.append((name, offset, length))
        offset += length
        pos += 32
    for row in range(n_records):
        start = header_len + row * record_len
        for name, off, length in fields:
            yield row, name, data[start + off : start + off + length]


def _single_byte(encoding: str) -> bool:
    """Whether ``encoding`` maps every byte to one character (Latin-1, cp1252, …): such a codec
    decodes any DBF, so a wrong one is never caught by a decode error."""
    try:
        return (
            len(b"\xc4\xe3\xba\xc3".decode(encoding, "replace")) == 4
            and len(bytes(range(0x80, 0x100)).decode(encoding, "replace")) == 0x80
        )
    except (LookupError, TypeError):
        return False


def _cjk_reading(raw: bytes) -> str | None:
    """The GB18030 reading of a text's bytes when every non-ASCII character of it is a CJK
    ideograph or CJK punctuation (what GBK Chinese text is); None otherwise."""
    text = raw.rstrip(b" \0")
    if text.isascii():
        return None
    try:
        decoded = text.decode("gb18030")
    except UnicodeDecodeError:
        return None
    wide = [c for c in decoded if ord(c) > 0x7F]
    if wide and all(
        "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"
        for c in wide
    ):
        return decoded.strip()
    return None


def _refuse_cjk_as_latin(fields, encoding: str, dbf: Path) -> None:
    """Refuse a single-byte ``encoding`` on a DBF whose non-ASCII texts are Chinese: read so, GBK
    bytes turn into Latin-1-looking letters ("º£ÖÝÇø" for 海州区) and the map stores mojibake
    (issue 12, item 10). The texts are judged together: at least 80 % of the non-ASCII ones must
    read as GB18030 Chinese, so genuine Latin text ("Café", "Müller") is not refused."""
    if not _single_byte(encoding):
        return
    non_ascii, cjk = 0, []
    for row, name, raw in fields:
        if raw.isascii():
            continue
        non_ascii += 1
        reading = _cjk_reading(raw)
        if reading is not None:
            cjk.append((row, name, raw, reading))
    if not cjk or len(cjk) < 0.8 * non_ascii:
        return
    row, name, raw, reading = cjk[0]
    shown = raw.rstrip(b" \0").decode(encoding, "replace").strip()
    raise OnemapInputError(
        msg(
            "geo.encoding_single_byte",
            encoding=encoding,
            n_cjk=len(cjk),
            non_ascii=non_ascii,
            shown=shown,
            reading=reading,
        ),
        file=str(dbf),
        row=row,
        field=name,
    )


def _first_undecodable(fields, encoding: str) -> tuple[int, str] | None:
    for row, name, raw in fields:
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            return row, name
    return None
