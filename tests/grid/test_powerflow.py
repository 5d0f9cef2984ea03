"""Power-flow-verified headroom: the net built from the layers against pandapower run directly,
and a long LV main where nameplate (and the voltage-drop screen) say yes and the load flow no."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest
from connection.maps import CRS, X0, Y0

from grid.lvmaps import lv_map
from onemap.connection.site_preview import preview
from onemap.geo.crs import metric_to_lonlat
from onemap.grid.lines import lv_networks
from onemap.grid.powerflow import build_net, check_connection
from onemap.rules import load_rules

RULES = load_rules()


def _direct_net(peak_kva: float, new_kw: float | None = None, at_m: float = 530.0):
    """lvmaps' network written by hand in pandapower: 10/0.4 kV 400 kVA, six 100 m sections
    of NAYY 4x150 SE, the transformer's peak at the far end, a new load at ``at_m``."""
    net = pp.create_empty_network()
    mv = pp.create_bus(net, vn_kv=10.0)
    pp.create_ext_grid(net, mv, vm_pu=1.0)
    buses = [pp.create_bus(net, vn_kv=0.4) for _ in range(7)]
    pp.create_transformer(net, mv, buses[0], std_type="0.4 MVA 10/0.4 kV")
    for k in range(6):
        if new_kw is not None and k * 100 < at_m < (k + 1) * 100:
            tee = pp.create_bus(net, vn_kv=0.4)
            pp.create_line(net, buses[k], tee, (at_m - k * 100) / 1000, "NAYY 4x150 SE")
            pp.create_line(net, tee, buses[k + 1], ((k + 1) * 100 - at_m) / 1000, "NAYY 4x150 SE")
            pp.create_load(net, tee, p_mw=new_kw / 1000)
        else:
            pp.create_line(net, buses[k], buses[k + 1], 0.1, "NAYY 4x150 SE")
    pp.create_load(net, buses[-1], p_mw=peak_kva / 1000)  # power factor 1.0 (rule table)
    return net


def test_layer_net_equals_pandapower_run_directly():
    onemap = lv_map(tx_peak=100.0)
    network = lv_networks(onemap)["T1"]
    assert network.complete, network.why_incomplete
    ours = build_net(onemap, network).net
    pp.runpp(ours, numba=False)
    direct = _direct_net(100.0)
    pp.runpp(direct, numba=False)
    np.testing.assert_allclose(
        np.sort(ours.res_bus["vm_pu"].to_numpy()),
        np.sort(direct.res_bus["vm_pu"].to_numpy()),
        atol=1e-6,
    )
    # with the new load at its tee joint
    check = check_connection(onemap, "T1", 50.0, line_id="L6", offset_m=30.0)
    direct = _direct_net(100.0, 50.0, 530.0)
    pp.runpp(direct, numba=False)
    assert check.min_voltage_pu == pytest.approx(direct.res_bus["vm_pu"].min(), abs=1e-6)
    assert check.max_line_loading_pct == pytest.approx(direct.res_line["loading_percent"].max())
    assert check.max_trafo_loading_pct == pytest.approx(direct.res_trafo["loading_percent"].iloc[0])


def test_long_main_passes_nameplate_and_fails_the_load_flow():
    onemap = lv_map(load_kw=95.0, tx_peak=150.0)
    lon, lat = metric_to_lonlat(X0 + 530, Y0 + 50, CRS)
    p = preview(onemap, float(lon), float(lat), 95.0, "lv_non_residential", rules=RULES)
    d = p.to_dict()
    assert d["headroom_basis"] == "power_flow"
    flow = d["power_flow"]
    print("\nlong main, 95 kW at 530 m:", flow)
    assert flow["ok"] is False and flow["min_voltage_pu"] < RULES.power_flow.min_voltage_pu
    assert any(f.startswith("min_voltage_pu") for f in flow["failed"])
    assert flow["limit"]["min_voltage_pu"] == 0.93 and "GB/T 12325" in flow["limit"]["source"]
    assert d["readiness"] == "D" and d["connection_point"] is None
    assert d["why"][0]["code"] == "POWER_FLOW_LIMIT" and "min_voltage_pu" in d["why"][0]["message"]
    # nameplate and the bulk screen alone would say yes: transformer 250 kVA left, drop screen
    from onemap.connection.bulk import readiness

    bulk = readiness(onemap, 95.0, "lv_non_residential").layer.iloc[0]
    assert bulk["readiness"] == "A" and bulk["headroom_kw"] >= 95.0


def test_small_load_passes_the_load_flow():
    onemap = lv_map(tx_peak=50.0)
    lon, lat = metric_to_lonlat(X0 + 530, Y0 + 50, CRS)
    d = preview(onemap, float(lon), float(lat), 20.0, "lv_residential", rules=RULES).to_dict()
    assert d["headroom_basis"] == "power_flow" and d["power_flow"]["ok"] is True
    assert d["readiness"] == "A"


def test_incomplete_network_stays_on_nameplate():
    onemap = lv_map(kind="YJV22-0.6/1 4x150")  # not a pandapower standard type
    assert not lv_networks(onemap)["T1"].complete
    lon, lat = metric_to_lonlat(X0 + 530, Y0 + 50, CRS)
    d = preview(onemap, float(lon), float(lat), 20.0, "lv_residential", rules=RULES).to_dict()
    assert d["headroom_basis"] == "nameplate" and d["power_flow"] is None
