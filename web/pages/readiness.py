"""The readiness page (``/readiness``): zones A–D, legend and per-district statistics.

A parcel's popup says why it has its class (``GET /api/v1/readiness/parcels/{id}``: the same
``why`` as a preview, from the bulk result the map shows); the hexagons fit the district
(:func:`onemap.connection.zones.auto_resolution`). ``?year=`` shows the map as it stands that
year (issue 17 item 5).
"""

from __future__ import annotations

from typing import Annotated

import folium
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from web.i18n import Translator, lang_of
from web.maps import BboxLayer, PageScript, base_map
from web.pages import derived
from web.pages.common import CLASSES, READINESS_COLORS, LangQ, layer_groups, render_map_page
from web.pages.popups import popup_options
from web.state import State

router = APIRouter(include_in_schema=False)
YearQ = Annotated[int | None, Query(alias="year", ge=1900, le=2200)]


@router.get("/readiness", response_class=HTMLResponse)
def readiness_page(
    request: Request, state: State, lang: LangQ = None, year: YearQ = None
) -> HTMLResponse:
    """Readiness zones A–D with legend and per-district statistics (table and bar chart)."""
    lang = lang_of(lang)
    t = Translator(lang)
    r = derived.readiness_of(state, year)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    layer_groups(fmap, state, t, ("roads",))
    popup_t = {**t.subset("status."), **t.subset("popup."), **t.subset("preview.")}
    suffix = f"&year={year}" if year is not None else ""
    for kind, show in (("parcels", True), ("hexagons", False)):
        group = folium.FeatureGroup(name=t(f"readiness.layer.{kind}"), show=show).add_to(fmap)
        why = f"/api/v1/readiness/parcels/{{id}}?lang={lang}{suffix}" if kind == "parcels" else None
        BboxLayer(
            fmap,
            group,
            layer=f"readiness-{kind}",
            url=f"/api/v1/readiness/zones?kind={kind}{suffix}",
            label=t(f"readiness.layer.{kind}"),
            style="zones" if kind == "parcels" else "hexagons",
            limit=state.settings.default_limit,
            t=popup_t,
            why=why,
            **popup_options(t, f"readiness-{kind}"),
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
        year=year,
        years=derived.map_years(state.onemap),
    )
