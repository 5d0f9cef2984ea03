"""Rule tables: typed, versioned, extendable; errors name the file and field."""

from __future__ import annotations

import pytest

from onemap.errors import OnemapInputError
from onemap.rules import RULES_DIR, load_rules, shipped_rules


def test_lianyungang_table_carries_policy_numbers_with_items():
    r = load_rules()
    assert r.meta.id == "lianyungang-2021"
    tier = r.filing.tiers[0]
    assert (tier.procedure, tier.max_length_m, tier.inclusive) == ("filing", 1000.0, False)
    assert tier.policy_item == "2" and r.approval.policy_item == "2"
    assert r.connection.lv_max_kw == 160.0 and r.connection.lv_max_kw_item == "8"
    assert [
        r.categories[c].process_workdays
        for c in ("lv_residential", "lv_non_residential", "hv_single", "hv_dual")
    ] == [3, 5, 15, 25]
    assert len(r.steps["lv"]) == 2 and len(r.steps["hv"]) == 3 and len(r.steps["hv_important"]) == 5


def test_strict_limit_boundary():
    tier = load_rules().filing.tiers[0]
    assert tier.admits(999.999, 0.4) and not tier.admits(1000.0, 0.4)


def test_second_jurisdiction_is_a_table_that_extends_the_first():
    county = load_rules("example-county-tiered")
    assert county.meta.extends == "lianyungang-2021"
    assert [t.procedure for t in county.filing.tiers] == ["no_approval", "filing", "joint_review"]
    assert county.connection.lv_max_kw == 160.0  # inherited
    assert county.filing.limit_m(0.4) == 500.0
    assert county.filing.tiers[0].admits(200.0, 0.4) and not county.filing.tiers[0].admits(
        200.0, 10.0
    )
    assert set(shipped_rules()) >= {"lianyungang-2021", "example-county-tiered"}


def test_supply_class_and_radius():
    r = load_rules()
    assert [r.supply_class.classify(d) for d in (31, 30, 20, 6, 5.9, 0.5, 0.01)] == [
        "A+",
        "A+",
        "A",
        "B",
        "C",
        "D",
        "E",
    ]
    assert r.supply_radius(0.4, "B") == 250.0 and r.supply_radius(10, "C") == 5000.0


def test_bad_table_names_file_and_field(tmp_path):
    bad = tmp_path / "bad.toml"
    text = (RULES_DIR / "lianyungang-2021.toml").read_text()
    bad.write_text(text.replace("min_passable_bike_m = 1.0", 'min_passable_bike_m = "wide"'))
    with pytest.raises(OnemapInputError) as err:
        load_rules(bad)
    assert "bad.toml" in str(err.value) and "filing.min_passable_bike_m" in str(err.value)


def test_unknown_voltage_and_category_are_named():
    r = load_rules()
    with pytest.raises(OnemapInputError, match="voltage_kv"):
        r.filing.trench_width(6.0)
    with pytest.raises(OnemapInputError, match="lv_residential"):
        r.category("lv_mystery")


def test_one_tier_match_tolerates_voltage_noise_and_keeps_the_strict_bound():
    """Filing.admits, limit_m and tier_for read the same tiers the same way: a voltage written
    0.4000000001 by a data source is 0.4 kV, and 1000 m is not "under 1000 m" (item 2)."""
    import numpy as np

    from onemap.rules import load_rules

    county = load_rules("example-county-tiered").filing
    noisy = 0.4 + 1e-12
    assert county.limit_m(noisy) == county.limit_m(0.4) > 0
    assert (
        county.tier_for(150.0, noisy, True).procedure == county.tier_for(150.0, 0.4, True).procedure
    )
    lyg = load_rules("lianyungang-2021").filing
    got = lyg.admits(np.array([999.9, 1000.0, 1000.1]), 0.4)
    assert got.tolist() == [True, False, False]
    assert lyg.admits(999.9, noisy) is True
