"""Siting on a hand-made map: known optimum, before/after readiness, the written plan, bad input.

Layout (metres, one 12 km road R1 along y = 0): an existing substation, feeder and ring main unit
at the west end serve the parcels there. Two grid-gap clusters lie far east — E (two 300 kW
parcels around x = 6000) and F (one 300 kW parcel at x = 11000), dense enough for supply class A+
(10 kV radius 3 km). Power-supply land (1303) at x = 6100 (W), 8500 (M) and 10900 (F): only M
reaches both clusters within 3 km, so for k = 1 the optimum is M by construction.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from connection.maps import CRS, X0, Y0, feeder, make_map, parcel, rmu, road, substation
from shapely.geometry import LineString, Point

from onemap.connection.bulk import readiness
from onemap.errors import OnemapInputError
from onemap.geo.crs import metric_to_lonlat
from onemap.geo.mapfile import read_map
from onemap.planning.plan import candidate_sites, plan, plan_many
from onemap.rules import load_rules

RULES = load_rules()
HV_KW = 300.0  # 300 kW on 1 ha = 30 MW/km²: supply class A+ (DL/T 5729), above the LV limit


def _door(x, y):
    lon, lat = metric_to_lonlat(X0 + x, Y0 + y, CRS)
    return {"door_lon": float(lon), "door_lat": float(lat)}


def site_map():
    hv = {"planned_load_kw": HV_KW, "district": "east"}
    parcels = [
        parcel("WEST", 0, 20, 100, 120, planned_load_kw=HV_KW, district="west", **_door(50, 20)),
        parcel("E1", 5900, 20, 6000, 120, **hv, **_door(5950, 20)),
        parcel("E2", 6000, 20, 6100, 120, **hv, **_door(6050, 20)),
        parcel("F1", 11000, 20, 11100, 120, **hv, **_door(11050, 20)),
        # power-supply land: tiny own load, in its own district
        *(
            parcel(
                pid,
                x,
                -120,
                x + 50,
                -20,
                code="1303",
                planned_load_kw=1.0,
                district="power",
                **_door(x + 25, -20),
            )
            for pid, x in (("W", 6100), ("M", 8500), ("FS", 10900))
        ),
    ]
    return make_map(
        roads=[road("R1", (-100, 0), (12000, 0))],
        landuse=parcels,
        substations=[substation("S1", 50.0, 10.0)],
        feeders=[feeder("F1", "S1", 8.0, 2.0)],
        assets=[rmu("RA", 60, 12, "F1")],
    )


@pytest.fixture(scope="module")
def smap():
    return site_map()


@pytest.fixture(scope="module")
def plan1(smap):
    return plan(smap, 1)


def test_before_has_the_gaps_by_construction(smap):
    before = readiness(smap).layer.set_index("parcel_id")["readiness"]
    assert before["WEST"] != "D"
    assert set(before[["E1", "E2", "F1"]]) == {"D"}


def test_candidates_are_free_power_supply_land(smap):
    sites = candidate_sites(smap)
    assert sorted(sites["site_id"]) == ["FS", "M", "W"]
    assert set(sites["source"]) == {"landuse"}


def test_k1_chooses_the_site_reaching_both_clusters(plan1):
    assert list(plan1.sites["site_id"]) == ["M"]
    served = plan1.sites["served_kw"].iloc[0]
    # E1 + E2 + F1 and the three 1 kW power-supply parcels (within 3 km of M's door? W and FS)
    assert served >= 3 * HV_KW
    assert plan1.solution.status == "optimal"
    assert plan1.gap == pytest.approx(0.0)


def test_after_has_no_gap_in_the_clusters(plan1):
    after = plan1.after.layer.set_index("parcel_id")["readiness"]
    assert set(after[["E1", "E2", "F1"]]) <= {"A", "B", "C"}
    assert plan1.after.counts["D"] < plan1.before.counts["D"]
    # parcels that had a connection keep one at least as good: nothing gets worse
    order = {"A": 0, "B": 1, "C": 2, "D": 3}
    p = plan1.parcels
    assert (p["after"].map(order) <= p["before"].map(order)).all()


def test_after_equals_readiness_on_the_written_map(plan1, tmp_path):
    out = plan1.write(tmp_path / "plan.gpkg")
    written = read_map(out)
    again = readiness(written)
    assert again.counts == plan1.after.counts
    assert list(again.layer["readiness"]) == list(plan1.after.layer["readiness"])
    # the hypothetical rows are in the written map and recognisable
    assert (written["substations"]["plan_site"] == "M").sum() == 1
    assert (written["assets"]["plan_site"] == "M").sum() >= 3
    import pyogrio

    names = {str(r[0]) for r in pyogrio.list_layers(out)}
    assert {"plan_sites", "plan_feeders", "plan_points", "plan_parcels", "plan_districts"} <= names


def test_hypothetical_feeders_follow_the_corridors(plan1):
    new = plan1.after_map.metric("feeders")
    new = new[new["plan_site"] != ""]
    roads = plan1.after_map.metric("roads").buffer(30).union_all()
    assert len(new) >= 1
    assert new.geometry.within(roads.buffer(60)).all()
    # the feeder reaches each served cluster door
    assets = plan1.after_map.metric("assets")
    pts = assets[assets["plan_site"] == "M"]
    assert new.geometry.union_all().distance(pts.geometry.union_all()) < 1e-6


def test_district_table_adds_up(plan1):
    t = plan1.districts.set_index("district")
    total = t.loc["全部"]
    assert total["before_parcels"] == len(plan1.parcels) == total["after_parcels"]
    for when in ("before", "after"):
        assert sum(total[f"{when}_{c}"] for c in "ABCD") == total[f"{when}_parcels"]
    assert t.loc["east", "before_D"] == 3 and t.loc["east", "after_D"] == 0
    assert t.loc["east", "before_d_load_kw"] == pytest.approx(3 * HV_KW)


def test_json_shape(plan1):
    d = json.loads(json.dumps(plan1.to_dict(), ensure_ascii=False, default=str))
    assert set(d) >= {"sites", "before", "after"}
    site = d["sites"][0]
    assert set(site) >= {"site_id", "lon", "lat", "served_kw"}
    assert set(d["before"]) == set("ABCD")


def test_several_k(smap):
    plans = plan_many(smap, [1, 2])
    assert [p.k for p in plans] == [1, 2]
    assert plans[1].solution.objective_kw >= plans[0].solution.objective_kw - 1e-9
    assert len(plans[1].sites) == 2


def test_capacity_limits_what_a_site_serves(smap, tmp_path):
    # A rule table whose new substation carries 0.35 MW: one 300 kW parcel per site at most.
    table = tmp_path / "small.toml"
    table.write_text(
        '[meta]\nid = "small"\nversion = "1"\nextends = "lianyungang-2021"\n'
        "[substation]\nnew_substation_mva = 0.35\n",
        encoding="utf-8",
    )
    rules = load_rules(table)
    p = plan(smap, 1, rules=rules)
    assert p.sites["served_kw"].iloc[0] <= 350.0 + 1e-6
    assert p.sites["served_parcels"].iloc[0] <= 1 + 3  # one 300 kW parcel + the 1 kW ones
    assert p.solution.objective_kw < plan(smap, 1).solution.objective_kw


def _points_file(tmp_path, xy, name="cands.geojson", geom=Point):
    lonlat = [metric_to_lonlat(X0 + x, Y0 + y, CRS) for x, y in xy]
    geoms = [
        geom(ll) if geom is Point else LineString([ll, (ll[0] + 1e-4, ll[1])]) for ll in lonlat
    ]
    gdf = gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(len(xy))]}, geometry=geoms, crs="EPSG:4326"
    )
    path = tmp_path / name
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_candidates_from_a_file(smap, tmp_path):
    path = _points_file(tmp_path, [(6050, -15), (8500, -15)])
    p = plan(smap, 1, path)
    assert list(p.sites["site_id"]) == ["S1"]
    assert p.sites["source"].iloc[0] == "file"
    both = candidate_sites(smap, path, include_landuse=True)
    assert len(both) == 5


@pytest.mark.parametrize("k", [0, -2, 4])
def test_bad_k(smap, k):
    with pytest.raises(OnemapInputError, match="substations"):
        plan(smap, k)


def test_candidate_outside_the_map(smap, tmp_path):
    path = _points_file(tmp_path, [(8500, -15), (90_000, 0)])
    with pytest.raises(OnemapInputError, match="outside the map") as err:
        plan(smap, 1, path)
    assert err.value.row == 1 and err.value.file == str(path)


def test_candidate_that_is_not_a_point(smap, tmp_path):
    path = _points_file(tmp_path, [(8500, -15)], geom=LineString)
    with pytest.raises(OnemapInputError, match="points"):
        candidate_sites(smap, path)


def test_no_candidates():
    m = site_map()
    lu = m["landuse"]
    m.replace_layer("landuse", lu[lu["landuse_code"] != "1303"].reset_index(drop=True))
    with pytest.raises(OnemapInputError, match="no candidate"):
        plan(m, 1)


def test_missing_candidate_file(smap, tmp_path):
    with pytest.raises(OnemapInputError, match="not found"):
        plan(smap, 1, tmp_path / "nope.geojson")


def test_sites_are_reported_in_lonlat(plan1, smap):
    row = plan1.sites.iloc[0]
    west, south, east, north = smap.bounds
    assert west <= row["lon"] <= east and south <= row["lat"] <= north
    assert np.isfinite(row["served_kw"])
