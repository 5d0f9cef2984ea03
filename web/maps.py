"""Folium map pages served offline.

Folium's map and plugins normally link Leaflet and friends from CDNs. Here each class used by the
pages is subclassed with ``default_js`` / ``default_css`` pointing at ``/static/vendor`` (filled by
``npm ci`` from package-lock.json, see web/vendor.mjs), so no page asks anything of the internet.
Layers are never inlined: :class:`BboxLayer` puts a small call in the page that fetches the
features of the visible area from ``/api/v1/...`` whenever the map moves.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, ClassVar

import folium
from branca.element import MacroElement
from folium.plugins import Draw, Fullscreen, MarkerCluster
from folium.template import Template

from onemap.geo.mapfile import OneMap
from web.settings import WebSettings

# Characters that end or interpolate a JS template literal (Folium writes tooltip and popup text
# inside `…`), as HTML character references: they still show as themselves.
_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def folium_text(value: object) -> str:
    """``value`` as text safe for a Folium tooltip or popup: HTML-escaped, and with the backtick,
    ``$`` and backslash (which could end or interpolate Folium's JS template string) as character
    references. Every map or request string given to Folium goes through this.
    """
    return html.escape(str(value), quote=True).translate(_JS_TEMPLATE)


STATIC_DIR = Path(__file__).with_name("static")
VENDOR_DIR = STATIC_DIR / "vendor"
VENDOR_URL = "/static/vendor"

LEAFLET_JS = [("leaflet", f"{VENDOR_URL}/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", f"{VENDOR_URL}/leaflet/leaflet.css")]
APP_JS = [("onemap_js", "/static/onemap.js")]
APP_CSS = [("onemap_css", "/static/onemap.css")]

# Files a page needs from npm; the app refuses to start serving pages without them.
REQUIRED_VENDOR_FILES = (
    "leaflet/leaflet.js",
    "leaflet/leaflet.css",
    "leaflet-draw/leaflet.draw.js",
    "leaflet-draw/leaflet.draw.css",
    "leaflet.fullscreen/Control.FullScreen.js",
    "leaflet.fullscreen/Control.FullScreen.css",
    "leaflet.markercluster/leaflet.markercluster.js",
    "leaflet.markercluster/MarkerCluster.css",
    "leaflet.markercluster/MarkerCluster.Default.css",
    "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui/swagger-ui.css",
)

MAX_ZOOM, MIN_ZOOM = 20, 3
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
# Tianditu (天地图) web-Mercator vector map and its annotation layer; CGCS2000 ≈ WGS 84 here.
TIANDITU_TILES = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)


def missing_vendor_files() -> list[str]:
    """Vendored browser files that are absent (run ``npm ci`` to fill them)."""
    return [f for f in REQUIRED_VENDOR_FILES if not (VENDOR_DIR / f).is_file()]


class OfflineMap(folium.Map):
    """folium.Map linking only the app's own Leaflet and script (no jQuery/Bootstrap needed)."""

    default_js: ClassVar[list[tuple[str, str]]] = LEAFLET_JS + APP_JS
    default_css: ClassVar[list[tuple[str, str]]] = LEAFLET_CSS + APP_CSS


class OfflineDraw(Draw):
    default_js: ClassVar[list[tuple[str, str]]] = [
        ("leaflet_draw_js", f"{VENDOR_URL}/leaflet-draw/leaflet.draw.js")
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("leaflet_draw_css", f"{VENDOR_URL}/leaflet-draw/leaflet.draw.css")
    ]


class OfflineFullscreen(Fullscreen):
    default_js: ClassVar[list[tuple[str, str]]] = [
        ("Control.Fullscreen.js", f"{VENDOR_URL}/leaflet.fullscreen/Control.FullScreen.js")
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("Control.FullScreen.css", f"{VENDOR_URL}/leaflet.fullscreen/Control.FullScreen.css")
    ]


class OfflineMarkerCluster(MarkerCluster):
    default_js: ClassVar[list[tuple[str, str]]] = [
        ("markerclusterjs", f"{VENDOR_URL}/leaflet.markercluster/leaflet.markercluster.js")
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("markerclustercss", f"{VENDOR_URL}/leaflet.markercluster/MarkerCluster.css"),
        (
            "markerclusterdefaultcss",
            f"{VENDOR_URL}/leaflet.markercluster/MarkerCluster.Default.css",
        ),
    ]


class BboxLayer(MacroElement):
    """Fill ``group`` with the features of the visible area from ``url`` as the map moves."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            onemap.bboxLayer({{ this.map.get_name() }}, {{ this.group.get_name() }},
                {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, map_: folium.Map, group: MacroElement, **options: Any) -> None:
        super().__init__()
        self._name = "BboxLayer"
        self.map = map_
        self.group = group
        self.options = options


class DrawLocale(MacroElement):
    """Leaflet.draw's texts in the page language (add before the Draw control)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            onemap.drawLocale({{ this.texts|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, texts: dict[str, str]) -> None:
        super().__init__()
        self._name = "DrawLocale"
        self.texts = texts


class PageScript(MacroElement):
    """Run ``onemap.pages[page](map, options)`` once the map and its layers exist."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            onemap.pages[{{ this.page|tojson }}]({{ this.map.get_name() }},
                {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, map_: folium.Map, page: str, **options: Any) -> None:
        super().__init__()
        self._name = "PageScript"
        self.map = map_
        self.page = page
        self.options = options


def base_map(onemap: OneMap, settings: WebSettings, *, fullscreen_title: str = "") -> OfflineMap:
    """An offline Folium map fitted to the one map, with scale bar, fullscreen and the basemap."""
    w, s, e, n = onemap.bounds
    m = OfflineMap(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=14,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
        width="100%",
        height="100%",
    )
    # Folium gives max_zoom to its tile layer only; without tiles Leaflet needs it on the map.
    m.options.update(max_zoom=MAX_ZOOM, min_zoom=MIN_ZOOM)
    if settings.tiles == "osm":
        folium.TileLayer(
            OSM_TILES, attr="© OpenStreetMap contributors", name="OpenStreetMap", max_zoom=19
        ).add_to(m)
    elif settings.tiles == "tianditu":
        for layer, name in (("vec", "天地图"), ("cva", "天地图注记")):
            folium.TileLayer(
                TIANDITU_TILES.replace("{layer}", layer).replace(
                    "{key}", settings.tianditu_key or ""
                ),
                attr="© 天地图 Tianditu",
                name=name,
                subdomains="01234567",
                max_zoom=18,
                overlay=layer == "cva",
            ).add_to(m)
    OfflineFullscreen(title=fullscreen_title or "Fullscreen").add_to(m)
    m.fit_bounds([[s, w], [n, e]])
    return m


def render_parts(m: folium.Map) -> dict[str, str]:
    """Folium's rendered header (links, styles), map ``<div>`` and script, for our layout."""
    root = m.get_root()
    root.render()
    return {
        "header": root.header.render(),
        "html": root.html.render(),
        "script": root.script.render(),
    }


_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def external_links(html: str) -> list[str]:
    """``src``/``href`` attributes in ``html`` that point outside the app (should be none)."""
    return [m.group(0) for m in _EXTERNAL.finditer(html)]
