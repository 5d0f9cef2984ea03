"""The map pages: one shared layout (navigation, language switch, side panel) around a Folium map.

Pages never inline a layer: each layer is an empty Folium group that the browser fills from
``/api/v1`` for the visible area (:class:`web.maps.BboxLayer`). Pages backed by a library
service appear in the navigation only when that service exists (:mod:`web.engine`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import folium
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from onemap.geo.layers import landuse_codes, landuse_info
from onemap.geo.schema import CATEGORIES
from web import engine
from web.app import AppState, get_state
from web.engine import Services
from web.i18n import LANGS, Lang, Translator, lang_of
from web.maps import (
    BboxLayer,
    DrawLocale,
    OfflineDraw,
    OfflineMarkerCluster,
    PageScript,
    base_map,
    render_parts,
)

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
# Pages every server has; make_router adds those of the library services present.
router = APIRouter(include_in_schema=False)

State = Annotated[AppState, Depends(get_state)]
LangQ = Annotated[str | None, Query(alias="lang")]


@dataclass(frozen=True)
class NavItem:
    page: str
    href: str
    key: str
    offered: Callable[[Services], bool]


# The planning issue adds its page here once it works (not before: no placeholders).
NAV: list[NavItem] = [
    NavItem("map", "/", "nav.map", lambda s: True),
    NavItem("readiness", "/readiness", "nav.readiness", lambda s: s.readiness),
    NavItem("preview", "/preview", "nav.preview", lambda s: s.preview),
    NavItem("check", "/check", "nav.check", lambda s: s.check_route),
    NavItem("capacity", "/capacity", "nav.capacity", lambda s: s.capacity),
    NavItem("planning", "/planning", "nav.planning", lambda s: s.readiness),
]

CLASSES = ("A", "B", "C", "D")
# Readiness colours; the same in onemap.js and onemap.css.
READINESS_COLORS = {"A": "#1a9850", "B": "#91cf60", "C": "#fc8d59", "D": "#d73027"}

# Network layers on the one map: name -> (legend shape, colour); colours match onemap.js.
NETWORK_LEGEND = {
    "roads": ("ln", "#616161"),
    "ducts": ("ln", "#6a1b9a"),
    "feeders": ("ln", "#1565c0"),
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
    """Render ``template`` (extending layout.html) around the Folium map ``fmap``."""
    t = Translator(lang)
    other: Lang = next(x for x in LANGS if x != lang)
    nav = [
        {"page": n.page, "href": _href(n.href, lang), "label": t(n.key), "active": n.page == page}
        for n in NAV
        if n.offered(state.services)
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
            "folium": render_parts(fmap),
            **context,
        },
    )


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

    ``interactive=False``: no popups, clicks go to the map (where the page picks a site).
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
        options: dict[str, Any] = {}
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
    """Land-use classes present in the map, with their colour and name."""
    codes = state.indexes["landuse"].gdf["landuse_code"].dropna().astype(str).unique()
    seen: dict[str, dict[str, str]] = {}
    for code in sorted(codes):
        info = landuse_info(code)
        if info is not None:
            seen.setdefault(code, {"code": code, "color": info["color"], "name": info[lang]})
    return list(seen.values())


@router.get("/", response_class=HTMLResponse)
def one_map(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """The one map: land use, road corridors, grid, ducts and projects."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    names = ("landuse", "roads", "ducts", "feeders", "substations", "assets", "projects")
    layer_groups(fmap, state, t, names)
    folium.LayerControl(collapsed=False).add_to(fmap)
    PageScript(fmap, "map").add_to(fmap)
    return render_map_page(
        request,
        state,
        page="map",
        template="map.html",
        lang=lang,
        fmap=fmap,
        title=t("map.title"),
        landuse_legend=landuse_legend(state, lang),
        network_legend=[
            {"shape": shape, "color": color, "label": t(f"layer.{name}")}
            for name, (shape, color) in NETWORK_LEGEND.items()
        ],
        counts=[{"label": t(f"layer.{n}"), "count": len(state.indexes[n])} for n in names],
    )


def capacity_page(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """The public capacity map (item 11): elements coloured by headroom, grey when unknown."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("landuse", "roads"), hidden=("landuse",))
    colors = engine.capacity_colors()
    group = folium.FeatureGroup(name=t("layer.capacity")).add_to(fmap)
    BboxLayer(
        fmap,
        group,
        layer="capacity",
        url="/api/v1/capacity",
        label=t("layer.capacity"),
        style="capacity",
        colors=colors,
        limit=state.settings.default_limit,
        t=t.subset("status."),
    ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    PageScript(fmap, "capacity").add_to(fmap)
    counts = state.capacity_index().gdf["status"].value_counts()
    return render_map_page(
        request,
        state,
        page="capacity",
        template="capacity.html",
        lang=lang,
        fmap=fmap,
        title=t("capacity.title"),
        legend=[
            {"status": s, "color": c, "label": t(f"capacity.{s}"), "count": int(counts.get(s, 0))}
            for s, c in colors.items()
        ],
    )


def make_router(services: Services) -> APIRouter:
    """The page router: the one map plus the pages of the services offered."""
    pages = APIRouter(include_in_schema=False)
    pages.include_router(router)
    for offered, path, page in (
        (services.readiness, "/readiness", readiness_page),
        (services.preview, "/preview", preview_page),
        (services.check_route, "/check", check_page),
    ):
        if offered:
            pages.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)
    if services.capacity:
        pages.add_api_route(
            "/capacity", capacity_page, methods=["GET"], response_class=HTMLResponse
        )
    if services.readiness:  # planning runs readiness before and after (issue 7)
        from web.planning import planning_page

        pages.add_api_route(
            "/planning", planning_page, methods=["GET"], response_class=HTMLResponse
        )
    return pages


def preview_page(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """Investor preview: click the map or type coordinates, enter kW and category → result card
    with class, connection point, route, steps, working days, earliest date, documents, payer."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("landuse", "roads", "assets", "substations"), interactive=False)
    folium.LayerControl(collapsed=True).add_to(fmap)
    PageScript(fmap, "preview", t=_card_strings(t), lang=lang).add_to(fmap)
    w, s, e, n = state.onemap.bounds
    return render_map_page(
        request,
        state,
        page="preview",
        template="preview.html",
        lang=lang,
        fmap=fmap,
        title=t("preview.title"),
        categories=[(c, t(f"category.{c}")) for c in CATEGORIES],
        bounds={"w": w, "s": s, "e": e, "n": n},
    )


def check_page(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """Filing check: draw a route or upload GeoJSON/KML/DXF → verdict with reasons, segments
    coloured by corridor, permits and deadline."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("landuse", "roads", "ducts"))
    DrawLocale(t.subset("draw.")).add_to(fmap)
    draw = OfflineDraw(
        show_geometry_on_click=False,
        draw_options={
            "polyline": {"shapeOptions": {"color": "#d81b60", "weight": 4}},
            "polygon": False,
            "rectangle": False,
            "circle": False,
            "marker": False,
            "circlemarker": False,
        },
        edit_options={"edit": False},
    )
    draw.add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    PageScript(fmap, "check", t=_card_strings(t), lang=lang, draw=draw.get_name()).add_to(fmap)
    voltages = engine.filing_voltages()
    return render_map_page(
        request,
        state,
        page="check",
        template="check.html",
        lang=lang,
        fmap=fmap,
        title=t("check.title"),
        voltages=voltages,
        default_voltage=voltages[0] if voltages else None,
    )


def readiness_page(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """Readiness zones A–D with legend and per-district statistics (table and bar chart)."""
    lang = lang_of(lang)
    t = Translator(lang)
    r = state.readiness()
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("roads",))
    for kind, show in (("parcels", True), ("hexagons", False)):
        group = folium.FeatureGroup(name=t(f"readiness.layer.{kind}"), show=show).add_to(fmap)
        BboxLayer(
            fmap,
            group,
            layer=f"readiness-{kind}",
            url=f"/api/v1/readiness/zones?kind={kind}",
            label=t(f"readiness.layer.{kind}"),
            style="zones" if kind == "parcels" else "hexagons",
            limit=state.settings.default_limit,
            t=t.subset("status."),
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    PageScript(fmap, "readiness").add_to(fmap)
    counts = r.result.counts
    total = max(sum(counts.values()), 1)
    rows = [
        {
            "district": d["district"] or t("readiness.no_district"),
            "parcels": int(d["parcels"]),
            **{c: int(d[f"parcels_{c}"]) for c in CLASSES},
        }
        for d in r.districts.to_dict("records")
    ]
    return render_map_page(
        request,
        state,
        page="readiness",
        template="readiness.html",
        lang=lang,
        fmap=fmap,
        title=t("readiness.title"),
        classes=[
            {
                "code": c,
                "label": t(f"readiness.class.{c}"),
                "color": READINESS_COLORS[c],
                "count": counts.get(c, 0),
                "pct": 100.0 * counts.get(c, 0) / total,
            }
            for c in CLASSES
        ],
        districts=rows,
        total=sum(counts.values()),
    )


def _card_strings(t: Translator) -> dict[str, str]:
    keys = ("preview.", "check.", "readiness.class.", "category.", "payer.", "permit.")
    keys += ("corridor.", "status.", "error.")
    return {k: v for p in keys for k, v in t.subset(p).items()}
