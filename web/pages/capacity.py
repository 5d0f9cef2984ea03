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
        fields=list(CAPACITY_FIELDS[lang].items()),  # pairs: the popup keeps this order
        values={
            "status": {s: t(f"capacity.{s}") for s in colors},
            "kind": {k.removeprefix("kind."): v for k, v in t.subset("kind.").items()},
        },
        title=t("popup.title.capacity"),
    ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    PageScript(fmap, "capacity").add_to(fmap)
    layer = state.capacity_index().gdf
    counts = layer["status"].value_counts()
    # The voltage filter's choices: every voltage on the capacity map, highest first.
    volts = sorted({float(v) for v in layer["voltage_kv"].dropna()}, reverse=True)
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
        meta=services.capacity_meta(state.onemap, lang),
        voltages=[{"value": f"{v:g}", "label": f"{v:g} kV"} for v in volts],
    )


# Popup fields of the capacity map: column → label with unit, in the page language (issue 16).
CAPACITY_FIELDS = {
    "zh": {
        "name": "名称",
        "kind": "类型",
        "voltage_kv": "电压（kV）",
        "capacity_kva": "额定容量（kVA）",
        "peak_load_kva": "最大负荷（kVA）",
        "promised_kva": "已承诺负荷（kVA）",
        "headroom_kva": "可开放容量（kVA）",
        "hosting_kva": "线路段可接入容量（kVA）",
        "share_left": "剩余占比",
        "status": "等级",
        "feeder_id": "所属线路",
        "substation_id": "所属变电站",
    },
    "en": {
        "name": "Name",
        "kind": "Type",
        "voltage_kv": "Voltage (kV)",
        "capacity_kva": "Nameplate (kVA)",
        "peak_load_kva": "Peak load (kVA)",
        "promised_kva": "Promised load (kVA)",
        "headroom_kva": "Headroom (kVA)",
        "hosting_kva": "Hosting capacity of the segment (kVA)",
        "share_left": "Share left",
        "status": "Colour class",
        "feeder_id": "Feeder",
        "substation_id": "Substation",
    },
}
