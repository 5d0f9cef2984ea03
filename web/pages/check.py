"""The filing check page (``/check``): draw or upload a route → filing verdict."""

from __future__ import annotations

import folium
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web import services
from web.i18n import Translator, lang_of
from web.maps import DrawLocale, OfflineDraw, PageScript, base_map
from web.pages.common import LangQ, card_strings, layer_groups, render_map_page
from web.state import State

router = APIRouter(include_in_schema=False)


@router.get("/check", response_class=HTMLResponse)
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
    PageScript(fmap, "check", t=card_strings(t), lang=lang, draw=draw.get_name()).add_to(fmap)
    voltages = services.filing_voltages(state.onemap)
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
