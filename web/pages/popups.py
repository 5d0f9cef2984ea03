"""Labelled popups (issue 16 item 9): which columns a layer's popup shows, under which label in
the page language, and how coded values read (``existing`` → 现状, ``A`` → A 门口接电, a land-use
code → its name). The browser (``onemap.propsTable``) shows only these fields, in this order, so
no raw column name reaches a popup.
"""

from __future__ import annotations

from typing import Any

from onemap.geo.layers import landuse_codes
from onemap.lang import CLASSES
from web.i18n import Translator

__all__ = ["LAYER_FIELDS", "popup_options"]

# Layer (or view) → the columns its popup shows, in order.
LAYER_FIELDS: dict[str, tuple[str, ...]] = {
    "landuse": (
        "name",
        "landuse_code",
        "district",
        "status",
        "far",
        "building_area_m2",
        "planned_load_kw",
        "area_type",
        "outage_hours",
    ),
    "roads": (
        "name",
        "road_class",
        "motor_width_m",
        "sidewalk_left_m",
        "sidewalk_right_m",
        "bike_left_m",
        "bike_right_m",
        "green_left_m",
        "green_right_m",
        "xs_source",
    ),
    "ducts": ("name",),
    "feeders": (
        "name",
        "substation_id",
        "voltage_kv",
        "capacity_mva",
        "peak_load_mva",
        "bus_section",
        "status",
        "in_service",
    ),
    "substations": (
        "name",
        "voltage_kv",
        "capacity_mva",
        "peak_load_mva",
        "status",
        "in_service",
    ),
    "assets": (
        "name",
        "kind",
        "voltage_kv",
        "feeder_id",
        "transformer_id",
        "capacity_kva",
        "peak_load_kva",
        "promised_kva",
        "status",
        "in_service",
    ),
    "projects": (
        "name",
        "category",
        "requested_kw",
        "status",
        "asset_id",
        "submitted",
        "expected_year",
    ),
    "lines": (
        "name",
        "voltage_kv",
        "type",
        "length_m",
        "rated_a",
        "capacity_kva",
        "transformer_id",
        "feeder_id",
        "from_id",
        "to_id",
        "status",
    ),
    "readiness-parcels": (
        "readiness",
        "category",
        "requested_kw",
        "landuse_code",
        "district",
        "supply_class",
        "asset_id",
        "kind",
        "headroom_kw",
        "route_length_m",
        "filing_eligible",
    ),
    "readiness-hexagons": (
        "majority",
        "parcels",
        "share_A",
        "share_B",
        "share_C",
        "share_D",
        "resolution",
    ),
    "plan-sites": ("substation_id", "source", "served_kw", "served_parcels"),
    "plan-feeders": ("name", "substation_id", "voltage_kv", "capacity_mva"),
    "plan-points": ("name", "kind", "feeder_id", "capacity_kva"),
    "plan-parcels": ("before", "after", "changed", "requested_kw"),
}
PERCENT = ("share_A", "share_B", "share_C", "share_D", "share_left", "area_share")
CLASS_FIELDS = ("readiness", "majority", "before", "after")
# Fields whose values are codes named in the strings table under this prefix.
CODED = {
    "status": "value.status.",
    "area_type": "value.area_type.",
    "road_class": "value.road_class.",
    "category": "category.",
    "kind": "kind.",
    "source": "value.source.",
}


def popup_options(t: Translator, layer: str) -> dict[str, Any]:
    """Options of a layer's popup for :class:`web.maps.BboxLayer`.

    Parameters
    ----------
    t
        Translator of the page's language.
    layer
        A key of :data:`LAYER_FIELDS`.

    Returns
    -------
    dict
        ``fields`` (pairs of column and label, in order), ``values`` (column → code → text),
        ``formats`` (column → ``percent`` / ``landuse`` / ``xs_source`` / ``bool`` / ``year``)
        ``title`` (the popup's heading) and ``requires`` (a row shown only with another).
    """
    fields = LAYER_FIELDS[layer]
    values: dict[str, dict[str, str]] = {}
    formats: dict[str, str] = {}
    for f in fields:
        if f in CODED:
            # a project's status is its own list (pushed, accepted, connected)
            prefix = "value.project_status." if (layer, f) == ("projects", "status") else CODED[f]
            values[f] = {k.removeprefix(prefix): v for k, v in t.subset(prefix).items()}
        elif f in CLASS_FIELDS:
            values[f] = {c: t(f"readiness.class.{c}") for c in CLASSES}
        elif f in ("filing_eligible", "changed"):
            values[f] = {"true": t("value.bool.true"), "false": t("value.bool.false")}
        if f in PERCENT:
            formats[f] = "percent"
        elif f == "landuse_code":
            formats[f] = "landuse"
            values[f] = {code: f"{code} {info[t.lang]}" for code, info in landuse_codes().items()}
        elif f == "xs_source":
            formats[f] = "xs_source"
            values[f] = {
                k.removeprefix("value.xs_source."): v
                for k, v in t.subset("value.xs_source.").items()
            }
        elif f in ("in_service", "expected_year"):
            formats[f] = "year"
    return {
        "fields": [[f, _label(t, f"field.{f}")] for f in fields],
        "values": values,
        "formats": formats,
        "title": t(f"popup.title.{layer}"),
        # a row shown only with another: whether a route is a filing only where there is one
        "requires": {"filing_eligible": "route_length_m"},
    }


def _label(t: Translator, key: str) -> str:
    """A row label: English ones capitalised ("Status", never the column's ``status``)."""
    text = t(key)
    return text[:1].upper() + text[1:] if t.lang == "en" else text
