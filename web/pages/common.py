"""What every map page shares: one layout (navigation, language switch, side panel) around a
Folium map, the bbox-loaded layer groups, the legends and the page strings.

Pages never inline a layer: each layer is an empty Folium group that the browser fills from
``/api/v1`` for the visible area (:class:`web.maps.BboxLayer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import folium
from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from onemap.geo.layers import landuse_codes, landuse_info
from onemap.lang import CLASS_COLORS, CLASSES
from web.i18n import LANGS, Lang, Translator
from web.maps import BboxLayer, OfflineMarkerCluster, render_parts
from web.pages.popups import popup_options
from web.state import AppState

__all__ = [
    "CLASSES",
    "NAV",
    "NETWORK_LEGEND",
    "READINESS_COLORS",
    "TEMPLATES",
    "LangQ",
    "NavItem",
    "card_strings",
    "landuse_legend",
    "layer_groups",
    "render_map_page",
]

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

LangQ = Annotated[str | None, Query(alias="lang")]


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation: page id, path and the string key of its label."""

    page: str
    href: str
    key: str


NAV: list[NavItem] = [
    NavItem("map", "/", "nav.map"),
    NavItem("readiness", "/readiness", "nav.readiness"),
    NavItem("preview", "/preview", "nav.preview"),
    NavItem("check", "/check", "nav.check"),
    NavItem("capacity", "/capacity", "nav.capacity"),
    NavItem("planning", "/planning", "nav.planning"),
    NavItem("filings", "/filings", "nav.filings"),
]

# Readiness colours; the same in onemap.js and onemap.css.
READINESS_COLORS = CLASS_COLORS  # one palette (onemap.lang)

# Network layers on the one map: name -> (legend shape, colour); colours match onemap.js.
NETWORK_LEGEND = {
    "roads": ("ln", "#616161"),
    "ducts": ("ln", "#6a1b9a"),
    "feeders": ("ln", "#1565c0"),
    "lines": ("ln", "#ef6c00"),
    "substations": ("sw", "#e53935"),
    "assets": ("sw", "#42a5f5"),
    "projects": ("sw", "#ff9800"),
}


def render_map_page(
    request: Request,
    state: AppState,
    *,
    page: str,
    template: str,
    lang: Lang,
    fmap: folium.Map,
    title: str,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` (extending layout.html) around the Folium map ``fmap``.

    Parameters
    ----------
    request
        The page request (its path gives the language switch's link).
    state
        The app state.
    page
        The page id of :data:`NAV` marked active.
    template
        The page's template under ``web/templates``.
    lang
        Language of the page.
    fmap
        The page's map.
    title
        The page title.
    **context
        Further template variables.

    Returns
    -------
    HTMLResponse
        The rendered page.
    """
    t = Translator(lang)
    other: Lang = next(x for x in LANGS if x != lang)
    nav = [
        {"page": n.page, "href": _href(n.href, lang), "label": t(n.key), "active": n.page == page}
        for n in NAV
    ]
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "lang": lang,
            "other_lang": other,
            "other_lang_href": _href(request.url.path, other),
            "nav": nav,
            "title": title,
            "synthetic": state.onemap.synthetic,
            "folium": _zoomable(render_parts(fmap)),
            **context,
        },
    )


_VIEWPORT = re.compile(r"<meta\s+name=\"viewport\"[^>]*>", re.IGNORECASE)


def _zoomable(parts: dict[str, str]) -> dict[str, str]:
    """Folium's header with a viewport that lets a phone pinch-zoom (issue 16: no
    ``user-scalable=no``, no ``maximum-scale=1``)."""
    meta = '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
    return {**parts, "header": _VIEWPORT.sub(meta, parts["header"])}


def _href(path: str, lang: Lang) -> str:
    return path if lang == "zh" else f"{path}?lang={lang}"


def layer_groups(
    fmap: folium.Map,
    state: AppState,
    t: Translator,
    names: tuple[str, ...],
    *,
    hidden: tuple[str, ...] = (),
    interactive: bool = True,
) -> None:
    """Add one bbox-loaded group per non-empty layer in ``names``.

    Parameters
    ----------
    fmap
        The page's map.
    state
        The app state (layer indexes, page size).
    t
        Translator of the page's language.
    names
        The layers, in drawing order.
    hidden
        Layers added switched off.
    interactive
        False: no popups, clicks go to the map (where the page picks a site).
    """
    for name in names:
        if not len(state.indexes[name]):
            continue
        label = t(f"layer.{name}")
        if name == "assets":
            group = OfflineMarkerCluster(
                name=label, show=name not in hidden, options={"disableClusteringAtZoom": 17}
            )
        else:
            group = folium.FeatureGroup(name=label, show=name not in hidden)
        group.add_to(fmap)
        options: dict[str, Any] = popup_options(t, name) if interactive else {}
        if name == "landuse":
            options["colors"] = {code: info["color"] for code, info in landuse_codes().items()}
        BboxLayer(
            fmap,
            group,
            layer=name,
            url=f"/api/v1/layers/{name}",
            label=label,
            style=name,
            limit=state.settings.default_limit,
            t=t.subset("status."),
            interactive=interactive,
            **options,
        ).add_to(fmap)


def landuse_legend(state: AppState, lang: Lang) -> list[dict[str, str]]:
    """Land-use classes present in the map, with their colour and name.

    Parameters
    ----------
    state
        The app state.
    lang
        Language of the names.

    Returns
    -------
    list of dict
        ``code``, ``color`` and ``name`` per class, by code.
    """
    codes = state.indexes["landuse"].gdf["landuse_code"].dropna().astype(str).unique()
    seen: dict[str, dict[str, str]] = {}
    for code in sorted(codes):
        info = landuse_info(code)
        if info is not None:
            seen.setdefault(code, {"code": code, "color": info["color"], "name": info[lang]})
    return list(seen.values())


def card_strings(t: Translator) -> dict[str, str]:
    """The strings a result card's script needs (preview and check pages).

    Parameters
    ----------
    t
        Translator of the page's language.

    Returns
    -------
    dict
        String key → text.
    """
    keys = ("preview.", "check.", "readiness.class.", "category.", "payer.", "permit.")
    keys += ("corridor.", "status.", "error.", "kind.")
    return {k: v for p in keys for k, v in t.subset(p).items()}
