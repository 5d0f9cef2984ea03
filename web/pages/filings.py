"""The filing register for approval staff (``/filings``, issue 15): filter by status, search,
deadlines highlighted on working days, a detail view with the route on the map, the history,
the actions the state machine allows and the printable decision (PDF); CSV export.

The page holds no data: its script (``/static/filings.js``) asks ``/api/v1/filings`` with the
reviewer's token (typed once, kept in the tab's sessionStorage) and puts every value in the
page as text.
"""

from __future__ import annotations

import folium
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onemap.store import STATUSES
from web.i18n import Translator, lang_of
from web.maps import PageScript, base_map
from web.pages.common import LangQ, card_strings, layer_groups, render_map_page
from web.state import State

router = APIRouter(include_in_schema=False)


@router.get("/filings", response_class=HTMLResponse)
def filings_page(request: Request, state: State, lang: LangQ = None) -> HTMLResponse:
    """The register: a table of filings beside the map; a row opens its detail."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("landuse", "roads", "ducts"), hidden=("landuse",))
    folium.LayerControl(collapsed=True).add_to(fmap)
    strings = {**card_strings(t), **t.subset("filings.")}
    PageScript(fmap, "filings", t=strings, lang=lang, statuses=list(STATUSES)).add_to(fmap)
    return render_map_page(
        request,
        state,
        page="filings",
        template="filings.html",
        lang=lang,
        fmap=fmap,
        title=t("filings.title"),
        statuses=list(STATUSES),
    )
