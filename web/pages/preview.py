"""The investor preview page (``/preview``): pick a site, kW and category → result card."""

from __future__ import annotations

import folium
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onemap.geo.schema import CATEGORIES
from web.i18n import Translator, lang_of
from web.maps import PageScript, base_map
from web.pages.common import LangQ, card_strings, layer_groups, render_map_page
from web.state import State

router = APIRouter(include_in_schema=False)


@router.get("/preview", response_class=HTMLResponse)
def preview_page(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """Investor preview: click the map or type coordinates, enter kW and category → result card
    with class, connection point, route, steps, working days, earliest date, documents, payer."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("landuse", "roads", "assets", "substations"), interactive=False)
    folium.LayerControl(collapsed=True).add_to(fmap)
    PageScript(fmap, "preview", t=card_strings(t), lang=lang).add_to(fmap)
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
