"""What an importer did (:class:`ImportReport`) and how it writes its layers.

Importers (OSM, pandapower) turn foreign data into the layers of DESIGN §1. Every layer they
write has passed :func:`onemap.geo.layers.validate_layer`, so ``onemap build LAYERS.gpkg`` takes
the file as it is. The GeoPackage is written beside the target and moved over it: a failed
import never damages an earlier file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from onemap.errors import OnemapInputError
from onemap.geo.layers import validate_layer
from onemap.geo.mapfile import atomic_gpkg
from onemap.geo.schema import LAYER_NAMES
from onemap.messages import msg


@dataclass
class ImportReport:
    """Counts, tag coverage, fills and skipped features of one import."""

    source: str
    out: str = ""
    reader: str = ""
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # layer -> features written
    coverage: dict[str, float] = field(default_factory=dict)  # share of features with a tag
    fills: dict[str, dict[str, int]] = field(default_factory=dict)  # strip -> source -> n
    matching: dict[str, int] = field(default_factory=dict)
    unmapped: Counter = field(default_factory=Counter)  # "building=yes" -> n
    skipped: Counter = field(default_factory=Counter)  # reason -> n
    layers: list[dict[str, Any]] = field(default_factory=list)  # validate_layer reports
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` features left out for ``reason``."""
        if n:
            self.skipped[reason] += n

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "out": self.out,
            "reader": self.reader,
            "seconds": round(self.seconds, 3),
            "counts": self.counts,
            "coverage": {k: round(v, 4) for k, v in self.coverage.items()},
            "fills": self.fills,
            "matching": self.matching,
            "unmapped": dict(self.unmapped.most_common()),
            "skipped": dict(self.skipped.most_common()),
            "layers": self.layers,
            "notes": self.notes,
        }


def write_layers(
    layers: dict[str, gpd.GeoDataFrame], out: str | Path, report: ImportReport
) -> Path:
    """Validate each non-empty layer and write them all to ``out`` (GeoPackage, atomic).

    Layers are written under their DESIGN §1 names; empty layers are left out (the one map
    treats a missing layer as empty). Raises OnemapInputError when nothing was found at all.
    """
    out = Path(out)
    kept = {n: g for n, g in layers.items() if g is not None and len(g)}
    if not kept:
        raise OnemapInputError(msg("geo.nothing_to_import"), file=report.source)
    with atomic_gpkg(out) as tmp:
        for name in LAYER_NAMES:
            if name not in kept:
                continue
            clean, layer_report = validate_layer(name, kept[name], source=report.source)
            pyogrio.write_dataframe(clean, tmp, layer=name, driver="GPKG")
            report.counts[name] = len(clean)
            report.layers.append(layer_report.to_dict())
    report.out = str(out)
    return out
