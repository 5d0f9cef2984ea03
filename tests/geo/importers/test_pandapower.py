"""pandapower → substations, feeders and assets, on the real-based mv_oberrhein network."""

from __future__ import annotations

import json
import math

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest
from typer.testing import CliRunner

from onemap.cli import app
from onemap.errors import OnemapInputError
from onemap.geo.importers.pandapower import import_pandapower, pandapower_layers
from onemap.geo.layers import validate_layer


@pytest.fixture(scope="module")
def net():
    return pn.mv_oberrhein(include_substations=True)


@pytest.fixture(scope="module")
def imported(net):
    return pandapower_layers(net)


def test_141_mv_lv_stations_with_their_capacities(net, imported):
    layers, report = imported
    assets = layers["assets"]
    assert len(assets) == 141 and (assets["kind"] == "transformer").all()
    mvlv = net.trafo[net.trafo["vn_hv_kv"] < 35]
    by_name = assets.set_index("name")["capacity_kva"]
    expected = (mvlv.set_index("name")["sn_mva"] * 1000).reindex(by_name.index)
    np.testing.assert_allclose(by_name.to_numpy(), expected.to_numpy())
    assert set(by_name.unique()) == {250.0, 400.0, 630.0}
    # peak load: the station's LV load, apparent power × scaling, in kVA
    load = net.load[net.load["bus"] == mvlv.iloc[0]["lv_bus"]].iloc[0]
    s_kva = math.hypot(load["p_mw"], load["q_mvar"]) * load["scaling"] * 1000
    assert assets.iloc[0]["peak_load_kva"] == pytest.approx(s_kva)
    assert report.fills["peak_load_kva"] == {"loads": 141, "power_flow": 0, "unknown": 0}
    assert (assets.geometry.x.between(7, 9) & assets.geometry.y.between(48, 49)).all()


def test_substations_and_feeders(net, imported):
    layers, _ = imported
    subs = layers["substations"]
    assert len(subs) == 2
    assert (subs["capacity_mva"] == 25.0).all() and (subs["voltage_kv"] == 110.0).all()
    feeders = layers["feeders"]
    # "two 25 MVA HV/MV stations … four MV feeders" (pandapower's description of the net)
    assert len(feeders) == 4
    assert set(feeders["substation_id"]) == set(subs["substation_id"])
    assert feeders["lines"].sum() == len(net.line)
    bars = net.trafo.loc[net.trafo["vn_hv_kv"] >= 35, "lv_bus"]
    heads = net.line[net.line["from_bus"].isin(bars) | net.line["to_bus"].isin(bars)]
    limit = heads["max_i_ka"] * 20 * math.sqrt(3) * heads["parallel"] * heads["df"]
    assert feeders["capacity_mva"].sum() == pytest.approx(limit.sum())
    # every transformer hangs on a feeder, and the feeders' peak is what their stations draw
    assets = layers["assets"]
    assert set(assets["feeder_id"]) == set(feeders["feeder_id"])
    all_load = (np.hypot(net.load["p_mw"], net.load["q_mvar"]) * net.load["scaling"]).sum()
    assert feeders["peak_load_mva"].sum() == pytest.approx(all_load)
    assert subs["peak_load_mva"].sum() == pytest.approx(all_load)
    for name, gdf in layers.items():
        validate_layer(name, gdf)


def test_json_file_and_cli(net, tmp_path):
    path = tmp_path / "net.json"
    pp.to_json(net, str(path))
    report = import_pandapower(path, tmp_path / "a.gpkg")
    assert report.counts == {"substations": 2, "feeders": 4, "assets": 141, "lines": 181}
    res = CliRunner().invoke(
        app, ["import-pandapower", str(path), "--out", str(tmp_path / "b.gpkg"), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"]["assets"] == 141
    res = CliRunner().invoke(app, ["import-pandapower", "--out", str(tmp_path / "c.gpkg")])
    assert res.exit_code == 2
    res = CliRunner().invoke(
        app, ["import-pandapower", "--builtin", "nope", "--out", str(tmp_path / "c.gpkg")]
    )
    assert res.exit_code == 2


def test_net_without_geodata_is_refused():
    net = pn.example_simple()
    net.bus["geo"] = None
    with pytest.raises(OnemapInputError, match="geodata"):
        pandapower_layers(net)
