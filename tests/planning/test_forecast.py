"""Issue 7 item 1: the load forecast against hand computation, per land-use class, and the
supply-area class per district or per H3 hexagon."""

from __future__ import annotations

import pytest
from connection.maps import make_map, parcel, road

from onemap.geo.layers import landuse_codes
from onemap.grid.forecast import forecast_load
from onemap.rules import load_rules

RULES = load_rules()
LF = RULES.load_forecast
SIDE = 100.0  # parcels are 100 m × 100 m = 1 ha = 10 000 m²
AREA = SIDE * SIDE


def mid(pair):
    return (pair[0] + pair[1]) / 2.0


def code_of(load_class: str) -> str:
    """A 用地用海 code of the given load class from the shipped code table."""
    return next(c for c, e in landuse_codes().items() if e["load"] == load_class)


CLASSES = sorted(set(LF.building_w_m2) | set(LF.land_kw_ha))


def forecast(rows, rules=RULES):
    m = make_map(roads=[road("R", (-50, 0), (5000, 0))], landuse=rows)
    return forecast_load(m, rules).set_index("parcel_id")


@pytest.fixture(scope="module")
def by_class():
    rows = []
    for n, cls in enumerate(CLASSES):
        x = n * 300.0
        code = code_of(cls)
        rows.append(parcel(f"{cls}-land", x, 20, x + SIDE, 20 + SIDE, code=code))
        rows.append(
            parcel(
                f"{cls}-bldg",
                x + 110,
                20,
                x + 110 + SIDE,
                20 + SIDE,
                code=code,
                building_area_m2=25_000.0,
            )
        )
        rows.append(parcel(f"{cls}-far", x, 200, x + SIDE, 200 + SIDE, code=code, far=1.5))
    rows.append(
        parcel(
            "planned",
            0,
            400,
            SIDE,
            400 + SIDE,
            code="1001",
            building_area_m2=99_999.0,
            planned_load_kw=1234.5,
        )
    )
    return forecast(rows)


@pytest.mark.parametrize("cls", sorted(LF.land_kw_ha))
def test_land_area_times_density(by_class, cls):
    row = by_class.loc[f"{cls}-land"]
    expected = AREA / 10_000.0 * mid(LF.land_kw_ha[cls]) * LF.demand_factor
    assert row["load_kw"] == pytest.approx(expected, rel=1e-6)
    assert row["basis"] == "land"


@pytest.mark.parametrize("cls", CLASSES)
def test_building_area_times_density(by_class, cls):
    row = by_class.loc[f"{cls}-bldg"]
    if cls in LF.building_w_m2:
        expected = 25_000.0 * mid(LF.building_w_m2[cls]) / 1000.0 * LF.demand_factor
        assert row["basis"] == "building"
    else:  # no W/m² for the class (e.g. green, transport): the land density applies
        expected = AREA / 10_000.0 * mid(LF.land_kw_ha[cls]) * LF.demand_factor
        assert row["basis"] == "land"
    assert row["load_kw"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("cls", sorted(LF.building_w_m2))
def test_land_area_times_far(by_class, cls):
    row = by_class.loc[f"{cls}-far"]
    expected = AREA * 1.5 * mid(LF.building_w_m2[cls]) / 1000.0 * LF.demand_factor
    assert row["load_kw"] == pytest.approx(expected, rel=1e-4)  # polygon area in the GK CRS


def test_planned_load_wins(by_class):
    row = by_class.loc["planned"]
    assert row["load_kw"] == 1234.5 and row["basis"] == "planned"


def test_source_is_named(by_class):
    assert by_class.attrs["source"] == LF.source and "GB/T 50293" in LF.source


def test_table_overridable_by_file(tmp_path):
    table = tmp_path / "city.toml"
    table.write_text(
        '[meta]\nid = "city"\nversion = "1"\nextends = "lianyungang-2021"\n'
        '[load_forecast]\ndemand_factor = 0.5\nsource = "local survey 2024"\n'
        "building_w_m2 = { industrial = [100, 100] }\n",
        encoding="utf-8",
    )
    rules = load_rules(table)
    fc = forecast(
        [parcel("I", 0, 20, SIDE, 20 + SIDE, code="1001", building_area_m2=1000.0)], rules
    )
    assert fc.loc["I", "load_kw"] == pytest.approx(1000.0 * 100.0 / 1000.0 * 0.5)
    assert fc.attrs["source"] == "local survey 2024"


def test_supply_class_per_district_from_density():
    # 1 ha with 200 kW planned = 20 MW/km² → A; 1 ha with 5 kW = 0.5 MW/km² → D
    rows = [
        parcel("dense", 0, 20, SIDE, 120, planned_load_kw=200.0, district="core"),
        parcel("sparse", 300, 20, 300 + SIDE, 120, planned_load_kw=5.0, district="edge"),
    ]
    fc = forecast(rows)
    assert fc.loc["dense", "density_mw_km2"] == pytest.approx(20.0, rel=1e-3)
    assert fc.loc["dense", "supply_class"] == RULES.supply_class.classify(20.0) == "A"
    assert fc.loc["sparse", "supply_class"] == "D"


def test_supply_class_per_h3_hexagon(tmp_path):
    """One district, two hexagons far apart: by district one class, by hexagon two."""
    table = tmp_path / "hex.toml"
    table.write_text(
        '[meta]\nid = "hex"\nversion = "1"\nextends = "lianyungang-2021"\n'
        '[supply_class]\nbasis = "h3"\nh3_resolution = 8\n',
        encoding="utf-8",
    )
    rows = [
        parcel("dense", 0, 20, SIDE, 120, planned_load_kw=200.0, district="one"),
        parcel("sparse", 4000, 20, 4000 + SIDE, 120, planned_load_kw=5.0, district="one"),
    ]
    by_district = forecast(rows)
    assert by_district.loc["dense", "supply_class"] == by_district.loc["sparse", "supply_class"]
    by_hex = forecast(rows, load_rules(table))
    assert by_hex.loc["dense", "supply_area"] != by_hex.loc["sparse", "supply_area"]
    assert by_hex.loc["dense", "supply_class"] == "A"
    assert by_hex.loc["sparse", "supply_class"] == "D"
    assert by_hex.loc["dense", "district"] == "one"
