"""Issue 12: the documents (item 5) and payer (item 9) answers checked against literal texts of
the policy (../shared/policy, 连政办传〔2021〕56号), not against the rule table under test."""

from __future__ import annotations

from pathlib import Path

import pytest

from onemap.procedure.timeline import documents, online_note, payer
from onemap.rules import load_rules

RULES = load_rules()
POLICY = Path(__file__).resolve().parents[2].parent / "shared" / "policy"
LV_DOCS = ["有效身份证明", "用电地址物业权属证明"]
HV_DOCS = ["有效身份证明", "用电地址物业权属证明", "用电工程项目批准（备案）文件"]
ONLINE = "通过线上方式共享调用证照资料的用户，无需提供纸质材料"


@pytest.fixture(scope="module")
def policy_text() -> str:
    files = sorted(POLICY.glob("lianyungang-2021-56*.txt"))
    if not files:
        pytest.skip(f"policy text not found under {POLICY}")
    return files[0].read_text(encoding="utf-8")


def test_the_literals_are_the_policy_words(policy_text):
    item5 = next(p for p in policy_text.splitlines() if p.startswith("5. 简化收资要求"))
    assert "对低压用户，用电申请时只需提供用电人有效身份证明和用电地址物业权属证明" in item5
    assert "只需提供用电人有效身份证明、用电地址物业权属证明、用电工程项目批准（备案）文件" in item5
    assert ONLINE in item5
    item9 = next(p for p in policy_text.splitlines() if p.startswith("9. 优化投资界面"))
    assert "新建居住区电力接入工程全部费用由各级政府承担" in item9
    assert "除新建居住区以外的电力用户接入工程由供电企业承担电气工程投资" in item9
    assert "各级政府负责完善项目用电所需的线路通道" in item9


@pytest.mark.parametrize("cat", ["lv_residential", "lv_small_micro", "lv_non_residential"])
def test_lv_documents_are_identity_and_property(cat):
    assert documents(RULES, cat) == LV_DOCS


@pytest.mark.parametrize("cat", ["hv_single", "hv_dual", "hv_important", "hv_35kv_plus"])
def test_hv_documents_add_the_project_approval(cat):
    assert documents(RULES, cat) == HV_DOCS


def test_english_documents_and_online_note():
    assert documents(RULES, "lv_residential", lang="en") == [
        "valid identity document",
        "property ownership proof of the supply address",
    ]
    assert documents(RULES, "hv_single", lang="en")[-1] == "project approval (filing) document"
    assert online_note(RULES) == ONLINE


def test_payer_new_residential_is_the_government_for_everything():
    assert payer(RULES, True) == {
        "payer": "government",
        "electrical_works": "government",
        "corridors": "government",
    }


def test_payer_others_grid_company_for_electrical_works_government_for_corridors():
    assert payer(RULES, False) == {
        "payer": "grid_company",
        "electrical_works": "grid_company",
        "corridors": "government",
    }
