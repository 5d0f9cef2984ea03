"""The planning page (``/planning``, DESIGN §6, issue 7): choose k, site k new substations,
before/after.

One form (k), then the library's :func:`onemap.planning.plan.plan` on the served map (computed
once per k and map, :func:`web.derived.plan_of`). The map shows the readiness after the plan
(parcels coloured by class, those the plan improves outlined; before a plan: today's
readiness) with a legend, the existing feeders and substations (drawn above the parcels, each
with its own popup), the chosen sites and their new feeders (a dash-dot style no other layer
uses) — every layer bbox-loaded from ``/api/v1``. The panel has the sites table, readiness
counts before and after (table and bar chart), the per-district table and the readiness of
the district year by year (issue 17 item 5: projects' ``expected_year``, assets'
``in_service``), with and without the new sites. Bad input is explained in the page language
(the library's message kept as detail).
"""

from __future__ import annotations

from typing import Annotated, Any

import folium
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from onemap.connection.bulk import readiness
from onemap.errors import OnemapInputError
from onemap.grid.years import as_of
from onemap.planning.plan import candidate_sites
from web.i18n import Translator, lang_of
from web.maps import BboxLayer, PageScript, base_map, folium_text
from web.pages import derived
from web.pages.common import CLASSES, READINESS_COLORS, LangQ, layer_groups, render_map_page
from web.pages.popups import popup_options
from web.state import AppState, State

router = APIRouter(include_in_schema=False)

KQ = Annotated[str | None, Query(alias="k", max_length=10)]
MAX_YEAR_ROWS = 6  # rows of the year-by-year table (each is one bulk readiness, cached)
PLAN_COLORS = {"new_feeder": "#ad1457", "feeder": "#1565c0", "substation": "#e53935"}


@router.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, state: State, lang: LangQ = None, k: KQ = None) -> HTMLResponse:
    """Choose k → the after-readiness map with the sites and new feeders, the sites table,
    before/after counts (table and chart), the district table and readiness year by year."""
    lang = lang_of(lang)
    t = Translator(lang)
    fmap = base_map(state.onemap, state.settings, fullscreen_title=t("map.fullscreen"))
    number, error = _parse_k(k, t)
    result = detail = None
    if number is not None:
        try:
            result = derived.plan_of(state, number)
        except OnemapInputError as exc:
            error, detail = _error_text(t, state, exc), exc.message_text(lang)
    layer_groups(fmap, state, t, ("landuse", "roads"), hidden=("landuse",))
    _readiness_layer(fmap, state, t, number if result is not None else None)
    layer_groups(fmap, state, t, ("feeders", "substations"))
    sites = None
    if result is not None:
        for name in ("feeders", "points"):
            key = {"feeders": "planning.layer.new_feeders", "points": "planning.layer.points"}
            label = t(key[name])
            group = folium.FeatureGroup(name=label).add_to(fmap)
            BboxLayer(
                fmap,
                group,
                layer=f"plan-{name}",
                url=f"/api/v1/plan/layers/{name}?k={number}",
                label=label,
                style=f"plan-{name}",
                limit=state.settings.default_limit,
                t=t.subset("status."),
                **popup_options(t, f"plan-{name}"),
            ).add_to(fmap)
        sites = _site_markers(fmap, t, result)
    folium.LayerControl(collapsed=False).add_to(fmap)
    PageScript(
        fmap,
        "planning",
        k=number if result is not None else None,
        sites=sites,
        t={**t.subset("status."), **t.subset("popup.")},
        popup=popup_options(t, "plan-sites"),
    ).add_to(fmap)
    context: dict[str, Any] = {
        "k": number if number is not None and number > 0 else 2,
        "error": error,
        "error_detail": detail,
        "result": None,
        "years": _years(state, t, number if result is not None else None, result),
        "legend": _legend(t, result is not None),
    }
    if result is not None:
        before, after = result.before.counts, result.after.counts
        top = max([*before.values(), *after.values(), 1])
        context["result"] = {
            "sites": result.sites.to_dict("records"),
            "served_kw": result.solution.objective_kw,
            "method": result.solution.method,
            "gap": result.gap,
            "demand": t(
                "planning.demand",
                parcels=result.demand["parcels"],
                kw=f"{result.demand['kw']:.0f}",
                candidates=result.candidates,
            ),
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


def _site_markers(fmap: folium.Map, t: Translator, result: Any) -> str:
    """The k chosen sites as markers with their tooltip (a handful: drawn with the page, every
    id escaped for Folium); the page's script gives each its labelled popup from
    ``/api/v1/plan/layers/sites``. Returns the markers' group (its JS name)."""
    group = folium.FeatureGroup(name=t("planning.layer.sites")).add_to(fmap)
    for s in result.sites.itertuples(index=False):
        folium.CircleMarker(
            (s.lat, s.lon),
            radius=11,
            color=PLAN_COLORS["new_feeder"],
            weight=4,
            fill=True,
            fill_color="#f8bbd0",
            fill_opacity=1.0,
            tooltip=folium_text(f"{s.site_id}: {s.served_kw:.0f} kW"),
        ).add_to(group)
    return group.get_name()


def _parse_k(k: str | None, t: Translator) -> tuple[int | None, str | None]:
    """The number of new substations from ``?k=`` and the page-language error, if any."""
    if k is None or not k.strip():
        return None, None
    try:
        number = int(k.strip())
    except ValueError:
        return None, t("planning.error.k_int")
    if number < 1:
        return None, t("planning.error.k_min")
    return number, None


def _error_text(t: Translator, state: AppState, exc: OnemapInputError) -> str:
    """The planner's error in the page's words (the library's message is the detail below it)."""
    if exc.field == "candidates":
        return t("planning.error.no_candidates")
    if exc.field == "new_substations":
        try:
            n = len(candidate_sites(state.onemap))
        except OnemapInputError:
            return t("planning.error.no_candidates")
        return t("planning.error.too_many", n=n)
    return t("planning.error.other")


def _readiness_layer(fmap: folium.Map, state: AppState, t: Translator, k: int | None) -> None:
    """Parcels coloured by readiness: after the plan for ``k``, else today's (with the why)."""
    label = t("planning.layer.after" if k is not None else "planning.layer.now")
    group = folium.FeatureGroup(name=label).add_to(fmap)
    if k is not None:
        url, style, popup, why = (
            f"/api/v1/plan/layers/parcels?k={k}",
            "plan-parcels",
            "plan-parcels",
            None,
        )
    else:
        url, style, popup = "/api/v1/readiness/zones?kind=parcels", "zones", "readiness-parcels"
        why = f"/api/v1/readiness/parcels/{{id}}?lang={t.lang}"
    BboxLayer(
        fmap,
        group,
        layer="plan-readiness",
        url=url,
        label=label,
        style=style,
        limit=state.settings.default_limit,
        t={**t.subset("status."), **t.subset("popup."), **t.subset("preview.")},
        why=why,
        **popup_options(t, popup),
    ).add_to(fmap)


def _years(state: AppState, t: Translator, k: int | None, result: Any) -> dict[str, Any]:
    """Readiness of the district year by year (issue 17 item 5): today and each year in which
    a project takes its load or an asset enters service; with the plan's sites where run."""
    years = derived.map_years(state.onemap)[:MAX_YEAR_ROWS]

    def shares(counts: dict[str, int]) -> list[dict[str, Any]]:
        total = max(sum(counts.values()), 1)
        return [{"code": c, "n": counts[c], "pct": 100.0 * counts[c] / total} for c in CLASSES]

    rows = []
    for year in [None, *years]:
        counts = derived.readiness_of(state, year).result.counts
        row = {
            "year": t("planning.years.now") if year is None else str(year),
            "map": shares(counts),
        }
        if result is not None:
            if year is None:
                after = result.after.counts
            else:
                after = state.derived(
                    f"plan-year:{k}:{year}", lambda m, y=year: readiness(as_of(result.after_map, y))
                ).counts
            row["sites"] = shares(after)
        rows.append(row)
    return {"rows": rows, "k": k, "none": not years}


def _legend(t: Translator, planned: bool) -> dict[str, Any]:
    """The map legend: classes A–D, and the plan's own styles."""
    return {
        "classes": [
            {"code": c, "color": READINESS_COLORS[c], "label": t(f"readiness.class.{c}")}
            for c in CLASSES
        ],
        "planned": planned,
        "colors": PLAN_COLORS,
    }
