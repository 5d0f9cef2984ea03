"""The public capacity map (``/capacity``, item 11): elements coloured by headroom."""

from __future__ import annotations

import folium
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web import services
from web.i18n import Translator, lang_of
from web.maps import BboxLayer, PageScript, base_map
from web.pages.common import LangQ, layer_groups, render_map_page
from web.state import State

router = APIRouter(include_in_schema=False)


@router.get("/capacity", response_class=HTMLResponse)
def capacity_page(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """The public capacity map (item 11): elements coloured by headroom, grey when unknown."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("landuse", "roads"), hidden=("landuse",))
    colors = services.capacity_colors(state.onemap)
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
