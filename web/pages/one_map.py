"""The one map (``/``): land use, road corridors, grid (LV/MV lines where the map has them),
ducts and projects."""

from __future__ import annotations

import folium
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.i18n import Translator, lang_of
from web.maps import PageScript, base_map
from web.pages.common import NETWORK_LEGEND, LangQ, landuse_legend, layer_groups, render_map_page
from web.state import State

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def one_map(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """The one map: land use, road corridors, grid, ducts and projects."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    # The LV/MV ``lines`` layer (issue 17) where the map has one (layer_groups skips empty ones).
    names = ("landuse", "roads", "ducts", "feeders", "lines", "substations", "assets", "projects")
    layer_groups(fmap, state, t, names)
    has_lines = bool(len(state.indexes["lines"]))
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
            item
            for name, (shape, color) in NETWORK_LEGEND.items()
            for item in (
                [
                    {"shape": "ln", "color": "#ef6c00", "label": t("legend.lines_lv")},
                    {"shape": "ln", "color": "#00838f", "label": t("legend.lines_mv")},
                ]
                if name == "lines"
                else [{"shape": shape, "color": color, "label": t(f"layer.{name}")}]
            )
            if len(state.indexes[name])  # only what the map has
        ],
        counts=[
            {"label": t(f"layer.{n}"), "count": len(state.indexes[n])}
            for n in names
            if n != "lines" or has_lines
        ],
    )
