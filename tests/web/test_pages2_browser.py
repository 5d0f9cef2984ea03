"""Issue 16's remaining points as people use them, in headless Chromium, zh and en, desktop and
phone: readiness popups that say why (and hexagons that fit the district), the planning page
(after-readiness map with a legend, new feeders in their own style, errors in the page
language, k = 1…5, substations above the land use with their own popup, readiness year by
year), a failed upload on /check, the capacity map's voltage filter and line segments, the
LV/MV lines on the one map, labelled popups on every page (item 9) and the phone's search box.
Screenshots go to test-artifacts/pages2-*.png."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from test_browser import ARTIFACTS, Watched
from web_fixtures import LiveServer, require_chromium

from web.app import create_app
from web.i18n import strings
from web.settings import WebSettings

pytestmark = pytest.mark.browser
require_chromium(module=True)

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
MAP = "window[document.querySelector('.folium-map').id]"
# Column names that must never label a popup row (issue 16 items 7 and 9).
RAW = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$|^(color|h3|layer|kind|status)$")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = Path(shutil.copy(DEMO, tmp_path_factory.mktemp("pages2") / "demo.gpkg"))
    with LiveServer(create_app(path, WebSettings(api_token="t"))) as srv:
        yield srv


def _open(browser, size: str, lang: str) -> Watched:
    w = Watched(browser, "zh-CN" if lang == "zh" else "en-US")
    w.page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    return w


def _shot(w: Watched, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    w.page.screenshot(path=str(ARTIFACTS / f"pages2-{name}.png"), full_page=False)


def _get(w: Watched, url: str):
    return w.page.evaluate(f"() => fetch({json.dumps(url)}).then(r => r.json())")


def _view(w: Watched, lon: float, lat: float, zoom: int) -> None:
    w.page.evaluate(
        f"([lat, lon, zoom]) => {{ {MAP}.setView([lat, lon], zoom, {{animate: false}}); }}",
        [lat, lon, zoom],
    )
    w.page.wait_for_load_state("networkidle")
    w.page.wait_for_timeout(300)


def _open_popup(w: Watched, test: str) -> dict:
    """Open the popup of the first feature on the map for which the JS expression ``test``
    (over ``p``, its properties, and ``f``, the feature) holds; its title, labels and values."""
    found = w.page.evaluate(
        f"""() => {{ const m = {MAP}; let hit = null;
        m.eachLayer(l => {{ const f = l.feature; if (!hit && f && l.getPopup && l.getPopup()) {{
            const p = f.properties; if ({test}) hit = l; }} }});
        if (!hit) return false; hit.openPopup(); return true; }}"""
    )
    assert found, f"no feature on the map with {test}"
    box = w.page.locator(".leaflet-popup-content").last
    box.wait_for()
    return _popup(w)


def _popup(w: Watched) -> dict:
    box = w.page.locator(".leaflet-popup-content").last
    return {
        "title": box.locator("strong").first.inner_text(),
        "th": box.locator("tr th").all_inner_texts(),
        "td": box.locator("tr td").all_inner_texts(),
        "text": box.inner_text(),
    }


def _assert_labelled(popup: dict, lang: str) -> None:
    assert popup["th"], popup
    for label in popup["th"]:
        assert not RAW.match(label.strip()), f"raw column name in a popup: {label!r}"
    if lang == "zh":  # Chinese labels, and no English code value
        assert all(re.search(r"[\u4e00-\u9fff]", h) for h in popup["th"]), popup["th"]
        for code in ("existing", "planned", "transformer", "true", "false", "lv_residential"):
            assert code not in popup["td"], popup["td"]


# --- (a) readiness: why in the popup, hexagons that fit ----------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_readiness_popup_says_why_a_parcel_is_c_or_d(server, browser, lang, size):
    w = _open(browser, size, lang)
    try:
        w.goto(f"{server.url}/readiness?lang={lang}")
        for cls in ("D", "C"):
            popup = _open_popup(w, f"p.readiness === '{cls}' && 'category' in p")
            w.page.locator(".leaflet-popup-content").last.locator(
                "[data-testid=popup-why] li"
            ).first.wait_for()
            pid = popup["title"].split()[-1]
            api = _get(w, f"/api/v1/readiness/parcels/{pid}?lang={lang}")
            assert api["readiness"] == cls
            codes = (
                w.page.locator(".leaflet-popup-content")
                .last.locator("[data-testid=popup-why] li")
                .evaluate_all("els => els.map(e => e.dataset.code)")
            )
            assert codes == [x["code"] for x in api["why"]] and codes
            text = w.page.locator(".leaflet-popup-content").last.inner_text()
            assert api["why"][0]["message"] in text
            if cls == "D":
                assert (
                    w.page.locator(".leaflet-popup-content").last.locator(".om-fixes li").count()
                    >= 1
                )
            else:
                assert "NO_FILING_ROUTE" in codes or "ROUTE_PERMITS" in codes
            _assert_labelled(_popup(w), lang)
            assert strings()[lang][f"readiness.class.{cls}"] in _popup(w)["td"]
            _shot(w, f"readiness-why-{cls}-{lang}-{size}")
            w.page.evaluate(f"() => {{ {MAP}.closePopup(); }}")
            w.page.wait_for_timeout(400)  # the closed popup fades out
        w.assert_clean()
    finally:
        w.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_readiness_hexagons_fit_the_district_and_are_labelled(server, browser, lang):
    w = _open(browser, "desktop", lang)
    try:
        w.goto(f"{server.url}/readiness?lang={lang}")
        name = strings()[lang]["readiness.layer.hexagons"]
        w.page.locator(".leaflet-control-layers-overlays label", has_text=name).click()
        w.page.wait_for_load_state("networkidle")
        w.page.wait_for_timeout(300)
        fc = _get(w, "/api/v1/readiness/zones?kind=hexagons")
        shown = w.page.evaluate(
            f"() => {{ let n = 0; {MAP}.eachLayer(l => {{ if (l.feature && 'h3' in"
            " l.feature.properties) n++; }); return n; }"
        )
        assert shown == fc["numberMatched"] >= 10  # many small cells, not a few huge ones
        assert all(f["properties"]["parcels"] >= 1 for f in fc["features"])
        popup = _open_popup(w, "'h3' in p")
        _assert_labelled(popup, lang)
        assert "%" in popup["text"]
        _shot(w, f"readiness-hexagons-{lang}")
        w.assert_clean()
    finally:
        w.close()


# --- (b) planning ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_planning_after_map_legend_and_new_feeder_style(server, browser, lang, size):
    w = _open(browser, size, lang)
    try:
        w.goto(f"{server.url}/planning?k=2&lang={lang}")
        s = strings()[lang]
        legend = w.page.locator("[data-testid=legend]")
        if size == "phone":
            legend.locator("h4").first.click()  # folded on a phone: a tap opens it
        assert s["planning.layer.after"] in legend.inner_text()
        assert s["planning.legend.new_feeders"] in legend.inner_text()
        styles = w.page.evaluate(
            f"""() => {{ const out = {{}}; {MAP}.eachLayer(l => {{ const f = l.feature;
            if (!f || !l.options) return; const p = f.properties;
            const line = 'feeder_id' in p && 'capacity_mva' in p;
            const key = (line && 'plan_site' in p) ? 'new' : 'duct_id' in p ? 'duct'
              : line ? 'feeder' : 'after' in p ? 'parcel' : null;
            if (key && !out[key]) out[key] = {{color: l.options.color,
              dash: l.options.dashArray || null, fill: l.options.fillColor || null,
              after: p.after || null}}; }}); return out; }}"""
        )
        assert styles["new"]["dash"] and styles["new"]["color"] not in ("#6a1b9a", "#1565c0")
        assert styles["new"]["dash"] != "6 4"  # the ducts' dashes
        assert styles["feeder"]["dash"] is None  # existing feeders solid
        colors = {"A": "#2c7bb6", "B": "#abd9e9", "C": "#fdae61", "D": "#d7191c"}
        assert styles["parcel"]["fill"] == colors[styles["parcel"]["after"]]
        sites = w.page.locator("[data-testid=planning-sites] tr").count() - 1
        assert sites == 2
        _shot(w, f"planning-{lang}-{size}")
        w.assert_clean()
    finally:
        w.close()


@pytest.mark.parametrize("path", ["/planning?k=2", "/"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_click_on_a_substation_opens_its_own_popup(server, browser, lang, path):
    w = _open(browser, "desktop", lang)
    try:
        w.goto(f"{server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        sub = _get(w, "/api/v1/layers/substations")["features"][0]
        lon, lat = sub["geometry"]["coordinates"]
        _view(w, lon, lat, 17)
        x, y = w.map_point(lon, lat)
        w.page.mouse.click(x, y)
        box = w.page.locator(".leaflet-popup-content").last
        box.wait_for()
        popup = _popup(w)
        title = strings()[lang]["popup.title.substations"]
        assert popup["title"] == f"{title} {sub['id']}", popup
        assert sub["properties"]["name"] in popup["text"]
        _assert_labelled(popup, lang)
        _shot(w, f"substation-click-{lang}{path.replace('/', '-').replace('?', '-')}")
        w.assert_clean()
    finally:
        w.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_planning_errors_in_the_page_language(server, browser, lang):
    w = _open(browser, "desktop", lang)
    try:
        for k, want in (("0", "planning.error.k_min"), ("99", "planning.error.too_many")):
            w.goto(f"{server.url}/planning?k={k}&lang={lang}")
            err = w.page.locator("[data-testid=planning-error]")
            first = err.locator("p").first.inner_text()
            expected = strings()[lang][want].format(n=5)
            assert expected in first
            if lang == "zh":
                assert not re.search(r"[a-z]{4,}", first), first  # no English sentence
        _shot(w, f"planning-error-{lang}")
        w.page.locator("[data-testid=planning-error] summary").click()
        detail = w.page.locator("[data-testid=planning-error] .om-detail").inner_text()
        assert ("候选站址" if lang == "zh" else "candidate") in detail  # the page's language
        w.assert_clean()
    finally:
        w.close()


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_demo_offers_k_one_to_five(server, browser, k):
    w = _open(browser, "desktop", "zh")
    try:
        w.goto(f"{server.url}/planning?k={k}")
        assert w.page.locator("[data-testid=planning-error]").count() == 0
        assert w.page.locator("[data-testid=planning-sites] tr").count() - 1 == k
        fc = _get(w, f"/api/v1/plan/layers/sites?k={k}")
        assert fc["numberMatched"] == k
        w.assert_clean()
    finally:
        w.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_planning_shows_readiness_year_by_year(server, browser, lang):
    w = _open(browser, "desktop", lang)
    try:
        w.goto(f"{server.url}/planning?k=2&lang={lang}")
        table = w.page.locator("[data-testid=planning-years]")
        table.scroll_into_view_if_needed()
        years = table.locator("tr[data-kind=map]").evaluate_all(
            "els => els.map(e => e.dataset.year)"
        )
        assert years[0] == strings()[lang]["planning.years.now"] and years[1:] == [
            "2022",
            "2023",
            "2024",
        ]
        for year in years[1:]:
            api = _get(w, f"/api/v1/readiness/summary?year={year}")["counts"]
            cells = table.locator(f"tr[data-year='{year}'][data-kind=map] td").all_inner_texts()
            assert [int(c.split()[0]) for c in cells[1:]] == [api[c] for c in "ABCD"]
        # the pushed projects take their load over the years: readiness changes
        b22 = table.locator("tr[data-year='2022'][data-kind=map] td").all_inner_texts()
        b24 = table.locator("tr[data-year='2024'][data-kind=map] td").all_inner_texts()
        assert b22 != b24
        with_sites = table.locator("tr[data-kind=sites]").count()
        assert with_sites == len(years)
        _shot(w, f"planning-years-{lang}")
        w.assert_clean()
    finally:
        w.close()


# --- (c) check: a failed upload ----------------------------------------------------------------

GOOD_ROUTE = {"type": "LineString", "coordinates": [[119.1952, 34.5999], [119.1975, 34.5999]]}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_failed_upload_clears_the_route_and_explains(server, browser, lang, tmp_path):
    good = tmp_path / "route.geojson"
    good.write_text(json.dumps(GOOD_ROUTE), encoding="utf-8")
    bad = tmp_path / "route.kml"
    bad.write_text("<kml></kml>", encoding="utf-8")
    point = tmp_path / "point.geojson"
    point.write_text(json.dumps({"type": "Point", "coordinates": [119.2, 34.6]}), encoding="utf-8")
    w = _open(browser, "desktop", lang)
    drawn = (
        f"() => {{ let n = 0; {MAP}.eachLayer(l => {{ if (l.options && l.options.weight === 6)"
        " n++; }); return n; }"
    )
    try:
        w.goto(f"{server.url}/check?lang={lang}")
        s = strings()[lang]
        for wrong, key in ((bad, "check.error.format"), (point, "check.error.geometry")):
            w.page.set_input_files("#check-form input[type=file]", str(good))
            w.page.click("#check-form button[type=submit]")
            w.page.locator("[data-testid=verdict]").wait_for()
            assert w.page.evaluate(drawn) >= 1
            assert w.page.locator("#file-form").is_visible()
            w.page.set_input_files("#check-form input[type=file]", str(wrong))
            w.page.click("#check-form button[type=submit]")
            err = w.page.locator("[data-testid=error]")
            err.wait_for()
            assert s[key] in err.locator("p").first.inner_text()
            assert w.page.locator("[data-testid=verdict]").count() == 0
            assert w.page.evaluate(drawn) == 0  # the previous route is gone
            assert not w.page.locator("#file-form").is_visible()
        _shot(w, f"check-upload-error-{lang}")
        w.errors = [e for e in w.errors if "422" not in e]  # the refused upload's own 422
        w.assert_clean()
    finally:
        w.close()


# --- (d) capacity: voltage filter and line segments; lines on the one map ----------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_capacity_voltage_filter(server, browser, lang):
    w = _open(browser, "desktop", lang)
    count = (
        f"() => {{ const v = []; {MAP}.eachLayer(l => {{ if (l.feature && 'share_left' in"
        " l.feature.properties) v.push(l.feature.properties.voltage_kv); }); return v; }"
    )
    try:
        w.goto(f"{server.url}/capacity?lang={lang}")
        every = w.page.evaluate(count)
        assert {0.4, 10.0, 110.0} <= set(every)
        w.page.select_option("[data-testid=voltage-filter]", "10")
        w.page.wait_for_function(f"({count})().every(v => v === 10)", timeout=15000)
        ten = w.page.evaluate(count)
        assert ten and set(ten) == {10.0} and len(ten) == every.count(10.0)
        _shot(w, f"capacity-10kv-{lang}")
        w.page.select_option("[data-testid=voltage-filter]", "")
        w.page.wait_for_function(f"({count})().length === {len(every)}", timeout=15000)
        assert sorted(w.page.evaluate(count)) == sorted(every)
        w.assert_clean()
    finally:
        w.close()


LINE = {
    "type": "Feature",
    "id": "L-TEST-1",
    "properties": {
        "layer": "lines",
        "asset_id": "L-TEST-1",
        "kind": "lv_line",
        "voltage_kv": 0.4,
        "capacity_kva": 187.1,
        "hosting_kva": 64.5,
        "share_left": 0.345,
        "status": "green",
        "color": "#2e7d32",
    },
    "geometry": {"type": "LineString", "coordinates": [[119.196, 34.6005], [119.199, 34.6005]]},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_capacity_draws_line_segments_with_labelled_popups(server, browser, lang):
    """The capacity GeoJSON's LineString features (issue 17 item 4) as coloured lines; the
    answer is extended here with one segment, so the page is tested whatever the server has."""
    w = _open(browser, "desktop", lang)

    def with_line(route):
        body = route.fetch().json()
        body["features"].append(LINE)
        route.fulfill(json=body, headers={"content-type": "application/geo+json"})

    try:
        w.page.route("**/api/v1/capacity?*", with_line)
        w.goto(f"{server.url}/capacity?lang={lang}")
        line = w.page.evaluate(
            f"""() => {{ let o = null; {MAP}.eachLayer(l => {{ if (l.feature &&
            l.feature.id === 'L-TEST-1' && l.getLatLngs) o = {{color: l.options.color,
            weight: l.options.weight}}; }}); return o; }}"""
        )
        assert line == {"color": "#2e7d32", "weight": 4}
        popup = _open_popup(w, "f.id === 'L-TEST-1'")
        label = (
            "线路段可接入容量（kVA）" if lang == "zh" else "Hosting capacity of the segment (kVA)"
        )
        assert label in popup["th"]
        assert "64.5" in popup["td"] and "34.5%" in popup["td"]
        _assert_labelled(popup, lang)
        _shot(w, f"capacity-line-{lang}")
        w.page.evaluate(f"() => {{ {MAP}.closePopup(); }}")
        w.page.select_option("[data-testid=voltage-filter]", "10")
        gone = (
            f"() => {{ let n = 0, ten = 0; {MAP}.eachLayer(l => {{ if (!l.feature) return;"
            " if (l.feature.id === 'L-TEST-1') n++;"
            " if (l.feature.properties.voltage_kv === 10) ten++; }); return n === 0 && ten > 0; }"
        )
        w.page.wait_for_function(gone, timeout=15000)  # a 0.4 kV segment is gone at 10 kV
        w.assert_clean()
    finally:
        w.close()


@pytest.fixture(scope="module")
def lines_server():
    """lv_schutterwald imported whole (3000 LV lines), streets along its mains."""
    from grid.test_lv_schutterwald import schutterwald_map

    with LiveServer(create_app(schutterwald_map(True), WebSettings(api_token="t"))) as srv:
        yield srv


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_map_draws_the_lines_layer(lines_server, browser, lang):
    w = _open(browser, "desktop", lang)
    try:
        w.goto(f"{lines_server.url}/?lang={lang}")
        s = strings()[lang]
        assert s["layer.lines"] in w.page.locator(".leaflet-control-layers").inner_text()
        assert s["legend.lines_lv"] in w.page.locator("[data-testid=legend]").inner_text()
        n = w.page.evaluate(
            f"() => {{ let n = 0; {MAP}.eachLayer(l => {{ if (l.feature && 'line_id' in"
            " l.feature.properties && l.options.color === '#ef6c00') n++; }); return n; }"
        )
        assert n >= 100
        _shot(w, f"map-lines-{lang}")
        popup = _open_popup(w, "'line_id' in p && p.type")
        assert "NAYY" in popup["text"]
        _assert_labelled(popup, lang)
        w.assert_clean()
    finally:
        w.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_capacity_map_of_a_real_lv_net_draws_its_segments(lines_server, browser, lang):
    """lv_schutterwald's LV segments from the server's own capacity GeoJSON (issue 17 item 4)."""
    w = _open(browser, "desktop", lang)
    segments = (
        f"() => {{ let n = 0; {MAP}.eachLayer(l => {{ if (l.feature && l.getLatLngs &&"
        " l.feature.properties.layer === 'lines') n++; }); return n; }"
    )
    try:
        w.goto(f"{lines_server.url}/capacity?lang={lang}")
        assert w.page.evaluate(segments) >= 100
        popup = _open_popup(w, "p.layer === 'lines' && p.hosting_kva !== null")
        label = (
            "线路段可接入容量（kVA）" if lang == "zh" else "Hosting capacity of the segment (kVA)"
        )
        assert label in popup["th"]
        _assert_labelled(popup, lang)
        _shot(w, f"capacity-schutterwald-{lang}")
        w.page.evaluate(f"() => {{ {MAP}.closePopup(); }}")
        other = [
            v
            for v in w.page.locator("[data-testid=voltage-filter] option").evaluate_all(
                "els => els.map(e => e.value)"
            )
            if v not in ("", "0.4")
        ]
        assert other  # the transformers' own voltage
        w.page.select_option("[data-testid=voltage-filter]", other[0])
        w.page.wait_for_function(f"({segments})() === 0", timeout=15000)  # LV lines are 0.4 kV
        w.page.select_option("[data-testid=voltage-filter]", "0.4")
        w.page.wait_for_function(f"({segments})() >= 100", timeout=15000)
        w.assert_clean()
    finally:
        w.close()


# --- (e) item 9: labelled popups on every page -------------------------------------------------

COLLECT = f"""async () => {{
  const m = {MAP}; const out = [];
  for (const g of m._omGroups || []) {{
    const o = g.group._omOptions;
    if (!o || o.interactive === false || !m.hasLayer(g.group)) continue;
    let hit = null;
    g.group.eachLayer(l => {{
      if (!hit && l.feature && l._map && l.getPopup && l.getPopup()) hit = l; }});
    if (!hit) {{ out.push({{layer: o.layer, missing: true}}); continue; }}
    hit.openPopup();
    await new Promise(r => setTimeout(r, 30));
    const box = document.querySelector('.leaflet-popup-content');
    out.push({{layer: o.layer, title: box.querySelector('strong').textContent,
      th: [...box.querySelectorAll('tr th')].map(e => e.textContent),
      td: [...box.querySelectorAll('tr td')].map(e => e.textContent)}});
    m.closePopup();
  }}
  return out;
}}"""
PAGES = {
    "/": {"landuse", "roads", "ducts", "feeders", "substations", "projects", "assets"},
    "/readiness": {"roads", "readiness-parcels"},
    "/check": {"landuse", "roads", "ducts"},
    "/capacity": {"roads", "capacity"},
    "/planning?k=2": {"roads", "plan-readiness", "feeders", "substations", "plan-sites"},
    "/filings": {"roads", "ducts"},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", list(PAGES))
def test_every_popup_is_labelled_in_the_page_language(server, browser, lang, path):
    w = _open(browser, "desktop", lang)
    try:
        w.goto(f"{server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        found = w.page.evaluate(COLLECT)
        if path == "/":  # and the transformers, unclustered from zoom 17
            tx = _get(w, "/api/v1/search?q=TX-015")["results"][0]
            _view(w, tx["lon"], tx["lat"], 17)
            found += w.page.evaluate(COLLECT)
        seen = {}
        for p in found:
            if p.get("missing"):
                continue
            seen[p["layer"]] = p
            _assert_labelled(p, lang)
        assert PAGES[path] <= set(seen), (PAGES[path] - set(seen), sorted(seen))
        w.assert_clean()
    finally:
        w.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_preview_layers_take_no_popup_and_verdict_segments_are_named(
    server, browser, lang, tmp_path
):
    """/preview picks the site on a click (no popup over it); /check names the corridor of each
    drawn segment in the page language."""
    w = _open(browser, "desktop", lang)
    try:
        w.goto(f"{server.url}/preview?lang={lang}")
        bound = w.page.evaluate(
            f"() => {{ let n = 0; {MAP}.eachLayer(l => {{ if (l.feature && l.getPopup &&"
            " l.getPopup()) n++; }); return n; }"
        )
        assert bound == 0
        w.goto(f"{server.url}/check?lang={lang}")
        names = w.page.evaluate(
            f"""async (route) => {{ const m = {MAP};
            const r = await fetch('/api/v1/check-route?lang={lang}', {{method: 'POST',
              headers: {{'Content-Type': 'application/json'}},
              body: JSON.stringify({{route, voltage_kv: 0.4}})}});
            return (await r.json()).segments.map(s => s.corridor); }}""",
            GOOD_ROUTE,
        )
        assert names
        path = tmp_path / "route.geojson"
        path.write_text(json.dumps(GOOD_ROUTE), encoding="utf-8")
        w.page.set_input_files("#check-form input[type=file]", str(path))
        w.page.click("#check-form button[type=submit]")
        w.page.locator("[data-testid=verdict]").wait_for()
        tips = w.page.evaluate(
            f"""() => {{ const out = []; {MAP}.eachLayer(l => {{ if (l.getTooltip &&
            l.getTooltip() && l.getLayers && l.options.style && l.options.style.weight === 6)
            out.push(l.getTooltip().getContent().textContent); }}); return out; }}"""
        )
        assert tips
        for tip, corridor in zip(tips, names, strict=False):
            assert strings()[lang][f"corridor.{corridor}"] in tip
            assert not RAW.match(tip.split(" · ")[0])
        w.assert_clean()
    finally:
        w.close()


# --- (f) phone: the search box covers neither the navigation nor the result card ---------------


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", ["/", "/preview", "/planning?k=2"])
def test_phone_search_box_clear_of_navigation_and_card(server, browser, lang, path):
    w = _open(browser, "phone", lang)
    try:
        w.goto(f"{server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        search = w.page.locator("[data-testid=search]")
        assert search.is_visible()
        box = search.bounding_box()
        assert box["width"] >= 300  # a usable field of its own
        for link in w.page.locator("nav.topnav a").all():
            b = link.bounding_box()
            if b and b["x"] < 390 and b["x"] + b["width"] > 0:  # the visible links
                assert b["y"] + b["height"] <= box["y"] or b["y"] >= box["y"] + box["height"]
        search.fill("TX-0")
        results = w.page.locator("#om-search-results")
        results.locator("li").first.wait_for()
        r = results.bounding_box()
        panel = w.page.locator("#om-panel").bounding_box()
        assert r["y"] + r["height"] <= panel["y"] + 1  # the list drops over the map only
        assert r["x"] >= 0 and r["x"] + r["width"] <= 390
        _shot(w, f"phone-search-{lang}{path.replace('/', '-').replace('?', '-')}")
        results.locator("li").first.click()
        assert not results.is_visible()
        w.assert_clean()
    finally:
        w.close()


def test_phone_search_does_not_cover_the_preview_card(server, browser):
    w = _open(browser, "phone", "zh")
    try:
        site = (119.1974986134797, 34.60327962321602)
        w.goto(
            f"{server.url}/preview?lon={site[0]}&lat={site[1]}&kw=50&category=lv_non_residential"
        )
        card = w.page.locator("[data-testid=preview-result]")
        card.wait_for()
        search = w.page.locator("[data-testid=search]").bounding_box()
        c = card.bounding_box()
        assert c["y"] >= search["y"] + search["height"]
        w.page.locator("[data-testid=search]").fill("P00")
        w.page.locator("#om-search-results li").first.wait_for()
        r = w.page.locator("#om-search-results").bounding_box()
        assert r["y"] + r["height"] <= w.page.locator("#om-panel").bounding_box()["y"] + 1
        _shot(w, "phone-search-over-preview")
        w.assert_clean()
    finally:
        w.close()
