"""Load forecast, supply class, default categories; timelines, documents, payer, tariff."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from connection.maps import make_map, parcel

from onemap.grid.forecast import forecast_load
from onemap.procedure.timeline import documents, payer, tariff_hint, timeline
from onemap.procedure.workdays import add_workdays
from onemap.rules import load_rules

RULES = load_rules()
LF = RULES.load_forecast


def _mid(table, key):
    return float(np.mean(table[key]))


def test_forecast_uses_building_area_then_land_area_then_planned_load():
    m = make_map(
        landuse=[
            parcel("RES", 0, 0, 100, 100, code="0701", far=2.0, district="d1"),
            parcel("IND", 0, 200, 200, 300, code="1001", district="d1"),
            parcel("GRN", 0, 400, 100, 500, code="1401", district="d2"),
            parcel("PLN", 0, 600, 100, 700, code="0901", planned_load_kw=123.0, district="d2"),
        ]
    )
    f = forecast_load(m, RULES).set_index("parcel_id")
    area = 100 * 100
    assert f.loc["RES", "basis"] == "building"
    expect_res = area * 2.0 * _mid(LF.building_w_m2, "residential") / 1000 * LF.demand_factor
    assert f.loc["RES", "load_kw"] == pytest.approx(expect_res, rel=1e-6)
    assert f.loc["IND", "basis"] == "land"
    expect_ind = 2 * _mid(LF.land_kw_ha, "industrial") * LF.demand_factor
    assert f.loc["IND", "load_kw"] == pytest.approx(expect_ind, rel=1e-6)
    assert f.loc["PLN", "basis"] == "planned" and f.loc["PLN", "load_kw"] == 123.0
    # supply class from the density of each district
    sigma1 = (expect_res + expect_ind) / (3 * area) * 1000
    assert f.loc["RES", "density_mw_km2"] == pytest.approx(sigma1, rel=1e-6)
    assert f.loc["RES", "supply_class"] == RULES.supply_class.classify(sigma1)
    assert f.attrs["source"] == LF.source


def test_default_category_switches_at_the_lv_limit():
    lv = RULES.connection.lv_max_kw
    m = make_map(
        landuse=[
            parcel("R_AT", 0, 0, 10, 10, code="0701", planned_load_kw=lv),
            parcel("R_ABOVE", 0, 20, 10, 30, code="0701", planned_load_kw=lv + 0.1),
            parcel("C_AT", 0, 40, 10, 50, code="0901", planned_load_kw=lv),
            parcel("C_ABOVE", 0, 60, 10, 70, code="0901", planned_load_kw=lv + 1),
            parcel(
                "HUGE",
                0,
                80,
                10,
                90,
                code="1001",
                planned_load_kw=RULES.categories["hv_single"].max_kw + 1,
            ),
        ]
    )
    cat = forecast_load(m, RULES).set_index("parcel_id")["category"]
    assert cat["R_AT"] == "lv_residential"
    assert cat["R_ABOVE"] == "hv_single"
    assert cat["C_AT"] == "lv_non_residential"
    assert cat["C_ABOVE"] == "hv_single"
    assert cat["HUGE"] == "hv_35kv_plus"


def test_new_residential_area_is_paid_by_government():
    m = make_map(
        landuse=[
            parcel("NEW", 0, 0, 10, 10, code="0701", status="planned"),
            parcel("OLD", 0, 20, 10, 30, code="0701", status="existing"),
            parcel("SHOP", 0, 40, 10, 50, code="0901", status="planned"),
        ]
    )
    f = forecast_load(m, RULES).set_index("parcel_id")
    assert f["new_residential"].to_dict() == {"NEW": True, "OLD": False, "SHOP": False}
    assert payer(RULES, True)["payer"] == RULES.payer.new_residential
    other = payer(RULES, False)
    assert other["payer"] == RULES.payer.other
    assert other["corridors"] == RULES.payer.other_corridors


# National Day 2025: Oct 1–8 off, Sun Sep 28 and Sat Oct 11 are make-up working days.
NATIONAL_DAY_EVE = dt.date(2025, 9, 30)


@pytest.mark.parametrize("category", list(RULES.categories))
@pytest.mark.parametrize("readiness", ["A", "B", "C", "D"])
def test_timeline_sums_process_works_and_approval_on_the_official_calendar(category, readiness):
    cat = RULES.categories[category]
    filing = readiness in ("A", "B")
    t = timeline(RULES, category, readiness, filing_eligible=filing, date=NATIONAL_DAY_EVE)
    steps_key = cat.steps
    assert t.steps == RULES.steps[steps_key]
    assert len(t.steps) == {"lv": 2, "hv": 3, "hv_important": 5}[steps_key]
    if readiness == "D":
        assert t.earliest_date is None and t.total_workdays is None
        return
    lv = cat.voltage_kv <= RULES.connection.lv_voltage_kv
    if lv:
        w = RULES.works.lv_workdays if readiness == "A" else RULES.works.lv_new_facilities_workdays
        assert t.works_workdays == w
    elif cat.voltage_kv <= RULES.approval.max_voltage_kv:
        assert t.works_workdays == RULES.works.hv_workdays
    if cat.process_workdays < 0 or t.works_workdays is None:
        assert t.earliest_date is None
        return
    approval = 0 if filing else RULES.approval.workdays
    total = cat.process_workdays + t.works_workdays + approval
    if cat.application_to_power_workdays >= 0:
        total = min(total, cat.application_to_power_workdays)
    assert t.total_workdays == total
    assert t.earliest_date == add_workdays(NATIONAL_DAY_EVE, total).date
    assert t.earliest_date > NATIONAL_DAY_EVE + dt.timedelta(days=8)  # skips the holiday week


def test_lv_residential_across_national_day():
    # 5 working days after Sep 30 2025: Oct 9, 10, 11 (make-up Saturday), 13, 14
    t = timeline(RULES, "lv_residential", "A", filing_eligible=True, date=NATIONAL_DAY_EVE)
    assert t.total_workdays == 5
    assert t.earliest_date == dt.date(2025, 10, 14)
    assert not t.provisional


def test_unpublished_year_is_provisional():
    t = timeline(RULES, "hv_single", "B", filing_eligible=True, date=dt.date(2099, 3, 2))
    assert t.provisional and t.earliest_date is not None


def test_documents_and_english():
    assert documents(RULES, "lv_residential") == RULES.documents.lv
    assert documents(RULES, "hv_single") == RULES.documents.hv
    assert documents(RULES, "hv_35kv_plus", lang="en") == RULES.documents.hv_en
    t = timeline(RULES, "hv_single", "B", filing_eligible=True, date=NATIONAL_DAY_EVE, lang="en")
    assert t.steps == RULES.steps_en["hv"]


def test_tariff_hint_by_category_kw_and_use():
    t = RULES.tariff
    big = t.large_industry_min_kva * RULES.connection.power_factor
    assert tariff_hint(RULES, "lv_residential", 10) == t.residential
    assert tariff_hint(RULES, "hv_single", 5000, "residential") == t.residential
    assert tariff_hint(RULES, "hv_single", big, "industrial") == t.large_industry
    assert tariff_hint(RULES, "lv_non_residential", big - 1, "industrial") == t.general
    assert tariff_hint(RULES, "hv_single", 5000, "commercial") == t.general
    # A shop asking LV non-residential power on a residential parcel pays the general tariff.
    assert tariff_hint(RULES, "lv_non_residential", 50, "residential") == t.general
    assert tariff_hint(RULES, "lv_small_micro", 50, "residential") == t.general
    assert tariff_hint(RULES, "hv_single", 5000, "commercial", lang="en") == t.general_en
