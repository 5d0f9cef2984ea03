"""The filing desk end to end in headless Chromium (issue 15): draw a route on /check →
verdict → submit for filing → the register on /filings shows it → the reviewer accepts on the
page → the decision PDF answers 200 application/pdf. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_browser import Watched
from web_fixtures import LAT0, LON0, XSS, LiveServer, require_chromium

from web.app import create_app
from web.settings import WebSettings

pytestmark = pytest.mark.browser

require_chromium(module=True)


@pytest.fixture(scope="module")
def desk(tiny_map_master, tmp_path_factory):
    path = Path(shutil.copy(tiny_map_master, tmp_path_factory.mktemp("desk") / "tiny.gpkg"))
    app = create_app(path, WebSettings(api_token="t"))
    store = app.state.onemap.store
    tokens = {role: store.add_user(f"b-{role}", role)[1] for role in ("applicant", "reviewer")}
    with LiveServer(app) as srv:
        yield srv, tokens


@pytest.fixture()
def watched(browser):
    w = Watched(browser)
    yield w
    w.close()


def draw(watched, points) -> None:
    watched.page.click(".leaflet-draw-draw-polyline")
    for lon, lat in points:
        watched.human_click(*watched.map_point(lon, lat))
    watched.page.locator(".leaflet-draw-actions a", has_text="完成").click()


def test_draw_submit_register_accept_pdf(desk, watched):
    server, tokens = desk
    page = watched.page
    watched.goto(server.url + "/check")
    assert page.locator("#file-form").is_hidden()
    watched.set_view(LON0 + 0.001, LAT0, 18)
    # Across R1's carriageway: needs permits → referred, with a deadline.
    draw(watched, [(LON0 + 0.0010, LAT0 + 0.0003), (LON0 + 0.0010, LAT0 - 0.0003)])
    page.locator("[data-testid=verdict]").wait_for()
    assert "不符合备案制" in page.locator("[data-testid=verdict-eligible]").inner_text()
    form = page.locator("#file-form")
    form.wait_for(state="visible")
    page.fill("#fi-name", "王工")
    page.fill("#fi-org", XSS)
    page.fill("#fi-phone", "0518-1234567")
    page.fill("#fi-token", tokens["applicant"])
    page.click("[data-testid=file-submit]")
    receipt = page.locator("[data-testid=filing-receipt]")
    receipt.wait_for()
    text = receipt.inner_text()
    assert "已转办审批" in text
    filing_id = next(w for w in text.replace("：", " ").split() if w.startswith("BA-"))
    watched.shot("filing-check-submitted")

    # The register, as a reviewer (the token field keeps it in sessionStorage).
    watched.goto(server.url + "/filings")
    assert "请输入审核人令牌" in page.locator("#fl-status-line").inner_text()
    page.fill("#fl-token", tokens["reviewer"])
    page.press("#fl-token", "Enter")
    row = page.locator(f"[data-testid=filing-row][data-filing='{filing_id}']")
    row.wait_for()
    assert "已转办" in row.inner_text()
    assert XSS in row.inner_text()  # shown as text, not run
    assert watched.dialogs == []
    row.click()
    detail = page.locator("[data-testid=filing-detail]")
    detail.wait_for()
    assert filing_id in detail.inner_text()
    assert page.locator("[data-testid=history] tr").count() == 2  # header + the submission
    # The route is on the map (segments coloured by corridor).
    drawn = page.evaluate(
        "() => window[document.querySelector('.folium-map').id]._omFilingRoute.getLayers().length"
    )
    assert drawn >= 1
    watched.shot("filings-register-detail")

    # Accept on the page: the register and the detail follow.
    page.fill("[data-testid=action-note]", "同意开挖")
    page.click("[data-action=accept]")
    page.locator("[data-testid=filing-detail] h3", has_text="已批准").wait_for()
    assert "已批准" in row.inner_text()
    assert page.locator("[data-testid=history] tr").count() == 3
    watched.shot("filings-accepted")

    # The decision PDF (fetched with the token, as the page's button does).
    got = page.evaluate(
        """async (id) => {
            const token = sessionStorage.getItem("onemap.reviewer.token");
            const r = await fetch(`/api/v1/filings/${id}/decision.pdf`, {
                headers: { Authorization: `Bearer ${token}` } });
            const b = new Uint8Array(await r.arrayBuffer());
            return [r.status, r.headers.get("content-type"), String.fromCharCode(...b.slice(0, 4))];
        }""",
        filing_id,
    )
    assert got == [200, "application/pdf", "%PDF"]
    with page.expect_popup() as popup:
        page.click("[data-testid=filing-pdf]")
    assert popup.value.url.startswith("blob:")
    popup.value.close()
    watched.assert_clean()


def test_register_in_english_and_deep_link(desk, watched):
    server, tokens = desk
    watched.goto(server.url + "/filings?lang=en")
    assert "Filing register" in watched.page.locator("h2").inner_text()
    watched.page.evaluate(
        "(t) => sessionStorage.setItem('onemap.reviewer.token', t)", tokens["reviewer"]
    )
    watched.goto(server.url + "/filings?lang=en")
    watched.page.locator("[data-testid=register]").wait_for()
    watched.shot("filings-register-en")
    watched.assert_clean()
