"""The planning page (``/planning``, DESIGN §6, issue 7): choose k, site k new substations,
before/after.

One form (k), then the library's :func:`onemap.planning.plan.plan` on the served map (computed
once per k and map, :meth:`web.state.AppState.derived`): the chosen sites and their new feeders on
the map, the sites table, readiness counts before and after as a table and a bar chart, and the
per-district before/after table. Bad input (k ≤ 0, more than the candidates, no candidates) is
shown on the page with the library's message.
"""

from __future__ import annotations

from typing import Annotated

import folium
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from onemap.errors import OnemapInputError
from onemap.planning.plan import plan
from web.i18n import Translator, lang_of
from web.maps import PageScript, base_map, folium_text
from web.pages.common import CLASSES, READINESS_COLORS, LangQ, layer_groups, render_map_page
from web.state import State

router = APIRouter(include_in_schema=False)

SITE_COLOR = "#6a1b9a"
KQ = Annotated[int | None, Query(alias="k")]


@router.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, state: State, lang: LangQ = None, k: KQ = None) -> HTMLResponse:
    """Choose k → sites on the map, sites table, before/after counts (table and chart) and the
    district table."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("landuse", "roads", "feeders", "substations"))
    result = error = None
    if k is not None:
        try:
            result = state.derived(f"plan:{k}", lambda m: plan(m, k))
        except OnemapInputError as exc:
            error = exc.message
    if result is not None:
        group = folium.FeatureGroup(name=t("planning.layer.sites")).add_to(fmap)
        feeders = result.layers()["plan_feeders"]
        if len(feeders):
            shown = feeders[["feeder_id", "geometry"]].copy()
            shown["feeder_id"] = shown["feeder_id"].map(folium_text)
            folium.GeoJson(
                shown.to_json(),
                style_function=lambda _: {"color": SITE_COLOR, "weight": 3, "dashArray": "6 4"},
                tooltip=folium.GeoJsonTooltip(fields=["feeder_id"]),
            ).add_to(group)
        for s in result.sites.itertuples(index=False):
            folium.CircleMarker(
                (s.lat, s.lon),
                radius=9,
                color=SITE_COLOR,
                fill=True,
                fill_opacity=0.9,
                tooltip=folium_text(f"{s.site_id}: {s.served_kw:.0f} kW"),
            ).add_to(group)
    folium.LayerControl(collapsed=False).add_to(fmap)
    PageScript(fmap, "map").add_to(fmap)
    context = {"k": k if k is not None else 2, "error": error, "result": None}
    if result is not None:
        before, after = result.before.counts, result.after.counts
        top = max([*before.values(), *after.values(), 1])
        context["result"] = {
            "sites": result.sites.to_dict("records"),
            "served_kw": result.solution.objective_kw,
            "method": result.solution.method,
            "gap": result.gap,
            "classes": [
                {
                    "code": c,
                    "color": READINESS_COLORS[c],
                    "before": before[c],
                    "after": after[c],
                    "wb": 200.0 * before[c] / top,
                    "wa": 200.0 * after[c] / top,
                }
                for c in CLASSES
            ],
            "districts": result.districts.to_dict("records"),
        }
    return render_map_page(
        request,
        state,
        page="planning",
        template="planning.html",
        lang=lang,
        fmap=fmap,
        title=t("planning.title"),
        classes=CLASSES,
        **context,
    )
