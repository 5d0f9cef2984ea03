"""HTTP errors in the request's language: Chinese by default, English with ``?lang=en``.

The 422 of an input error keeps its fields (message, file, layer, row, field); only the
message's language follows the request. The store's refusals (404 …) do the same.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from web.app import create_app

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"
SITE = (119.1974986134797, 34.60327962321602)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = Path(shutil.copy(DEMO, tmp_path_factory.mktemp("error_language") / "demo.gpkg"))
    with TestClient(create_app(path)) as client:
        yield client


def _too_much(client: TestClient, **extra: str):
    q = {"lon": SITE[0], "lat": SITE[1], "kw": 300, "category": "lv_residential", **extra}
    return client.get("/api/v1/preview", params=q)


def test_input_error_422_is_chinese_by_default(demo):
    r = _too_much(demo)
    assert r.status_code == 422, r.text
    body = r.json()
    assert set(body) == {"message", "file", "layer", "row", "field"}
    assert body["field"] == "kw" and body["file"] is None
    assert body["message"].startswith("字段“kw”：300 kW 超过低压接入上限 160 kW（第8条）")
    assert _too_much(demo, lang="zh").json() == body
    fr = _too_much(demo, lang="fr")  # an unknown language: refused, in Chinese
    assert fr.status_code == 422 and fr.json()["field"] == "lang"
    assert fr.json()["message"] == "字段“lang”：未知的语言“fr”；请用 zh 或 en"


def test_input_error_422_in_english_on_request(demo):
    r = _too_much(demo, lang="en")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "kw"
    assert body["message"].startswith(
        "field 'kw': 300 kW is above the low-voltage limit of 160 kW (item 8)"
    )
    assert not CJK.search(body["message"])


def test_route_file_error_names_the_file_in_both_languages(demo):
    files = {"file": ("two.geojson", b'{"type": "FeatureCollection", "features": []}')}
    zh = demo.post("/api/v1/check-route/file", files=files, data={"voltage_kv": "10"})
    assert zh.status_code == 422, zh.text
    assert zh.json()["file"] == "two.geojson"
    assert zh.json()["message"] == "文件 two.geojson：文件中没有带几何的要素"
    en = demo.post(
        "/api/v1/check-route/file", params={"lang": "en"}, files=files, data={"voltage_kv": "10"}
    )
    assert en.json()["message"] == "file two.geojson: the file has no features with a geometry"


def test_store_refusal_in_the_request_language(demo):
    store = demo.app.state.onemap.store
    _, token = store.add_user("u-error-language", "reviewer")
    headers = {"Authorization": f"Bearer {token}"}
    zh = demo.get("/api/v1/filings/BA-2026-999999", headers=headers)
    assert zh.status_code == 404 and zh.json()["message"] == "没有备案 BA-2026-999999"
    assert zh.json()["filing_id"] == "BA-2026-999999"
    en = demo.get("/api/v1/filings/BA-2026-999999", headers=headers, params={"lang": "en"})
    assert en.status_code == 404 and en.json()["message"] == "no filing BA-2026-999999"
