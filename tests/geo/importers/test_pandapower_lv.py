"""pandapower LV nets: every line and every house load of the real ``lv_schutterwald`` grid."""

from __future__ import annotations

import json

import numpy as np
import pandapower.networks as pn
import pytest
from typer.testing import CliRunner

from onemap.cli import app
from onemap.errors import OnemapInputError
from onemap.geo.importers.pandapower import pandapower_layers
from onemap.geo.layers import validate_layer


@pytest.fixture(scope="module")
def net():
    return pn.lv_schutterwald()


@pytest.fixture(scope="module")
def imported(net):
    return pandapower_layers(net)


def test_every_line_and_load_comes_through(net, imported):
    layers, _ = imported
    lines, parcels = layers["lines"], layers["landuse"]
    assert len(lines) == len(net.line) == 3000
    assert len(parcels) == len(net.load) == 1506
    assert (parcels["landuse_code"] == "0701").all()
    kw = parcels.set_index("parcel_id")["planned_load_kw"]
    expected = net.load["p_mw"] * net.load["scaling"] * 1000
    np.testing.assert_allclose(kw.to_numpy(), expected.to_numpy())
    for name, gdf in layers.items():
        clean, _ = validate_layer(name, gdf)
        assert len(clean) == len(gdf), name


def test_lines_carry_topology_rating_and_type(net, imported):
    layers, _ = imported
    lines = layers["lines"].set_index("line_id")
    row = lines.loc["pp-line-18"]
    src = net.line.loc[18]
    assert row["type"] == src["std_type"] == "NAYY 4x50 SE"
    assert row["rated_a"] == pytest.approx(src["max_i_ka"] * 1000)
    assert row["length_m"] == pytest.approx(src["length_km"] * 1000)
    assert row["from_id"] == f"pp-bus-{src['from_bus']}"
    # every live LV line belongs to the transformer of its LV network
    assets = set(layers["assets"]["asset_id"])
    live = lines[lines["in_service"] == 1]
    assert set(live["transformer_id"]) <= assets
    assert (live["transformer_id"] != "").all()
    # lines leaving a transformer's LV busbar name it as their end
    at_trafo = live[live["from_id"].isin(assets) | live["to_id"].isin(assets)]
    assert len(at_trafo) >= 14
    ends = np.where(at_trafo["from_id"].isin(assets), at_trafo["from_id"], at_trafo["to_id"])
    assert (ends == at_trafo["transformer_id"].to_numpy()).all()


def test_external_grids_are_not_substations(imported):
    layers, report = imported
    assert "substations" not in layers  # 14 ext grids on the 20 kV side: supply, not stations
    assert any("external grids" in n for n in report.notes)
    assets = layers["assets"]
    assert len(assets) == 14 and assets["peak_load_kva"].notna().all()
    # the peak of a transformer is the load of its whole LV network, not of its busbar alone
    assert assets["peak_load_kva"].sum() == pytest.approx(
        (np.hypot(pn.lv_schutterwald().load["p_mw"], pn.lv_schutterwald().load["q_mvar"])).sum()
        * 1000,
        rel=0.01,
    )


def test_mv_oberrhein_lines_have_feeders():
    layers, _ = pandapower_layers("mv_oberrhein")
    lines = layers["lines"]
    assert len(lines) == 181
    live = lines[lines["in_service"] == 1]
    assert set(live["feeder_id"]) <= set(layers["feeders"]["feeder_id"])
    assert (live["feeder_id"] != "").all()
    assert "landuse" not in layers  # its loads are whole LV networks on the busbars


def test_kerber_net_without_geodata_is_refused_clearly():
    with pytest.raises(OnemapInputError, match="no position"):
        pandapower_layers("kerber_landnetz_freileitung_1")


def test_cli_builtin_lv_schutterwald(tmp_path):
    res = CliRunner().invoke(
        app,
        ["import-pandapower", "--builtin", "lv_schutterwald", "--out", str(tmp_path / "s.gpkg")],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    counts = json.loads(
        CliRunner()
        .invoke(
            app,
            [
                "import-pandapower",
                "--builtin",
                "lv_schutterwald",
                "--out",
                str(tmp_path / "t.gpkg"),
                "--json",
            ],
        )
        .stdout
    )["counts"]
    assert counts == {"assets": 14, "lines": 3000, "landuse": 1506}
