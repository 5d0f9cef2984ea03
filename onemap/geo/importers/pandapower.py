"""pandapower networks → ``substations``, ``feeders`` and ``assets`` layers.

A pandapower net (a JSON file written by ``pandapower.to_json`` or a net object; the builtin
``mv_oberrhein`` is the real-based 20 kV network of the Oberrhein region with its MV/LV stations
modelled as transformers) is read as follows:

- HV/MV transformers (high side ≥ ``[power] hv_min_kv`` of ``data/osm_import.toml``) grouped by
  their MV busbar → one substation each: ``capacity_mva`` = Σ ``sn_mva``, ``peak_load_mva`` =
  the load its feeders serve. An external grid on an MV bus without a transformer is a
  substation of unknown capacity.
- MV/LV transformers → assets of kind ``transformer``: ``capacity_kva`` = ``sn_mva`` × 1000,
  ``peak_load_kva`` = apparent power of the loads on their LV side (``p_mw``, ``q_mvar`` ×
  ``scaling``), else the power-flow result ``res_trafo`` when present, else unknown.
- Lines: the MV network without the substation busbars, through in-service lines and closed
  switches, falls into connected components; each component is a feeder (all its lines as one
  MultiLineString), fed by the busbar its head lines leave from. ``capacity_mva`` = Σ over the
  head lines of ``max_i_ka`` × ``vn_kv`` × √3 × ``parallel`` × ``df``; ``peak_load_mva`` = the
  loads it serves. Assets take the feeder of their MV bus.

Positions come from the bus ``geo`` column (GeoJSON, pandapower ≥ 3) or the older
``bus_geodata`` table; line shapes from the line ``geo`` column, else straight between buses.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from onemap.errors import OnemapInputError
from onemap.geo.crs import STORAGE_CRS, looks_geographic
from onemap.geo.importers.osm_read import load_table
from onemap.geo.importers.report import ImportReport, write_layers
from onemap.geo.schema import LAYERS
from onemap.units import KVA_PER_MVA

BUILTINS = ("mv_oberrhein",)


def load_net(source: Any) -> tuple[Any, str]:
    """A pandapower net from a net object, a JSON path or a builtin name; and its label."""
    import pandapower as pp

    if not isinstance(source, (str, Path)):
        return source, "<net>"
    text = str(source)
    if text in BUILTINS:
        import pandapower.networks as pn

        return pn.mv_oberrhein(include_substations=True), f"builtin:{text}"
    path = Path(text)
    if not path.exists():
        raise OnemapInputError("pandapower network file not found", file=text)
    try:
        return pp.from_json(str(path)), text
    except Exception as exc:  # pandapower raises many types for a bad file
        raise OnemapInputError(f"not a pandapower JSON network: {exc}", file=text) from exc


def _points_from_geo(values: pd.Series) -> np.ndarray:
    def one(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return shapely.geometry.shape(json.loads(v) if isinstance(v, str) else v)

    return np.array([one(v) for v in values], dtype=object)


def bus_points(net, source: str) -> np.ndarray:
    """Bus positions as shapely points (lon/lat), indexed like ``net.bus``."""
    geoms = None
    if "geo" in net.bus.columns and net.bus["geo"].notna().any():
        geoms = _points_from_geo(net.bus["geo"])
    elif hasattr(net, "bus_geodata") and len(net.bus_geodata):
        xy = net.bus_geodata.reindex(net.bus.index)
        geoms = shapely.points(xy["x"].to_numpy(), xy["y"].to_numpy())
    if geoms is None:
        raise OnemapInputError("the network has no bus geodata (bus 'geo' column)", file=source)
    bounds = shapely.total_bounds(geoms[~shapely.is_missing(geoms)])
    if not looks_geographic(tuple(bounds)):
        raise OnemapInputError(
            f"bus geodata are not lon/lat degrees ({tuple(bounds)}); convert them to EPSG:4326 "
            "with pandapower.plotting.geo.convert_crs first",
            file=source,
            field="geo",
        )
    return geoms


def _load_kva(net) -> pd.Series:
    """Apparent power (kVA) of each in-service load, scaled, indexed by load."""
    load = net.load[net.load["in_service"]]
    scaling = load.get("scaling", 1.0)
    return np.hypot(load["p_mw"], load["q_mvar"]) * scaling * KVA_PER_MVA


def pandapower_layers(net_or_path: Any) -> tuple[dict[str, gpd.GeoDataFrame], ImportReport]:
    """Turn a pandapower net into one-map layers (not yet validated or written) and a report."""
    net, source = load_net(net_or_path)
    report = ImportReport(source=source, reader="pandapower")
    params = load_table()["power"]
    points = bus_points(net, source)
    vn = net.bus["vn_kv"]
    bus_pos = pd.Series(list(points), index=net.bus.index)
    trafo = net.trafo[net.trafo["in_service"]]
    hv = trafo[trafo["vn_hv_kv"] >= params["hv_min_kv"]]
    mvlv = trafo[trafo["vn_hv_kv"] < params["hv_min_kv"]]
    report.skip("out-of-service transformer", int((~net.trafo["in_service"]).sum()))
    if len(getattr(net, "trafo3w", [])):
        report.skip("three-winding transformer (not modelled)", len(net.trafo3w))

    # Loads seen from the MV side: a load on an LV bus counts for the transformer feeding it.
    kva = _load_kva(net)
    load_bus = net.load.loc[kva.index, "bus"]
    lv_to_mv = dict(zip(mvlv["lv_bus"], mvlv["hv_bus"], strict=True))
    mv_of_load = load_bus.map(lambda b: lv_to_mv.get(b, b))
    mv_kva = kva.groupby(mv_of_load.to_numpy()).sum()

    # Busbars: the MV side of HV/MV transformers, and MV buses with an external grid.
    busbars = pd.Series(dtype=object)
    for bar in hv["lv_bus"].unique():
        busbars[bar] = f"pp-sub-{bar}"
    ext = net.ext_grid[net.ext_grid["in_service"]]
    lone_ext = ext[~ext["bus"].isin(hv["hv_bus"]) & (ext["bus"].map(vn) < params["hv_min_kv"])]
    for bar in lone_ext["bus"]:
        busbars[bar] = f"pp-sub-{bar}"

    # MV graph without the busbars: lines in service and not opened by a line switch.
    line = net.line[net.line["in_service"]]
    sw = net.switch
    open_lines = set(sw.loc[(sw["et"] == "l") & ~sw["closed"], "element"])
    graph = nx.Graph()
    graph.add_nodes_from(b for b in net.bus.index if b not in busbars.index)
    closing = line[~line.index.isin(open_lines)]
    for lid, f, t in zip(closing.index, closing["from_bus"], closing["to_bus"], strict=True):
        if f not in busbars.index and t not in busbars.index:
            graph.add_edge(f, t, line=lid)
    bb = sw[(sw["et"] == "b") & sw["closed"]]
    graph.add_edges_from(
        (b, e)
        for b, e in zip(bb["bus"], bb["element"], strict=True)
        if b not in busbars.index and e not in busbars.index
    )
    comp_of = {b: i for i, comp in enumerate(nx.connected_components(graph)) for b in comp}
    line_comp = line["from_bus"].map(comp_of).fillna(line["to_bus"].map(comp_of))
    head = line["from_bus"].isin(busbars.index) | line["to_bus"].isin(busbars.index)
    head_bar = line["from_bus"].where(line["from_bus"].isin(busbars.index), line["to_bus"])

    layers: dict[str, gpd.GeoDataFrame] = {}
    feeder_rows = []
    line_geoms = _line_geoms(line, bus_pos)
    allowed = LAYERS["feeders"].column("voltage_kv").allowed
    bus_kva = pd.Series(mv_kva).reindex(net.bus.index).fillna(0.0)
    comp_kva = bus_kva.groupby(pd.Series(comp_of)).sum()
    for comp, lines_c in line.groupby(line_comp):
        heads = lines_c[head.loc[lines_c.index]]
        if heads.empty:
            report.skip("line group not connected to a substation busbar", len(lines_c))
            continue
        kv = float(vn[heads["from_bus"].iloc[0]])
        if kv not in allowed:
            report.skip(f"{kv:g} kV line group is not a 10/20 kV feeder", len(lines_c))
            continue
        cap = (heads["max_i_ka"] * kv * math.sqrt(3) * heads["parallel"] * heads["df"]).sum()
        bar = head_bar.loc[heads.index[0]]
        feeder_rows.append(
            {
                "feeder_id": f"pp-feeder-{int(comp)}",
                "substation_id": busbars[bar],
                "voltage_kv": kv,
                "capacity_mva": float(cap),
                "peak_load_mva": float(comp_kva.get(comp, 0.0)) / KVA_PER_MVA,
                "name": ", ".join(heads["name"].astype(str)),
                "status": "existing",
                "lines": len(lines_c),
                "geometry": shapely.multilinestrings(list(line_geoms.loc[lines_c.index])),
            }
        )
    if feeder_rows:
        feeders = gpd.GeoDataFrame(feeder_rows, geometry="geometry", crs=STORAGE_CRS)
        layers["feeders"] = feeders
    feeder_of_comp = {int(r["feeder_id"].rsplit("-", 1)[1]): r["feeder_id"] for r in feeder_rows}

    if len(mvlv):
        res = getattr(net, "res_trafo", pd.DataFrame())
        peak = mvlv["lv_bus"].map(kva.groupby(load_bus.to_numpy()).sum())
        from_res = peak.isna() & mvlv.index.isin(res.index)
        if from_res.any():
            r = res.loc[mvlv.index[from_res]]
            peak[from_res] = np.hypot(r["p_hv_mw"], r["q_hv_mvar"]).to_numpy() * KVA_PER_MVA
        report.fills["peak_load_kva"] = {
            "loads": int((peak.notna() & ~from_res).sum()),
            "power_flow": int(from_res.sum()),
            "unknown": int(peak.isna().sum()),
        }
        layers["assets"] = gpd.GeoDataFrame(
            {
                "asset_id": [f"pp-trafo-{i}" for i in mvlv.index],
                "kind": "transformer",
                "voltage_kv": mvlv["vn_hv_kv"].to_numpy(dtype=float),
                "feeder_id": [feeder_of_comp.get(comp_of.get(b), "") for b in mvlv["hv_bus"]],
                "name": mvlv["name"].astype(str).to_numpy(),
                "capacity_kva": mvlv["sn_mva"].to_numpy(dtype=float) * KVA_PER_MVA,
                "peak_load_kva": peak.to_numpy(dtype=float),
                "status": "existing",
            },
            geometry=list(bus_pos.loc[mvlv["hv_bus"]]),
            crs=STORAGE_CRS,
        )

    if len(busbars):
        sub_kva = {}
        for row in feeder_rows:
            sub_kva[row["substation_id"]] = (
                sub_kva.get(row["substation_id"], 0.0) + (row["peak_load_mva"])
            )
        rows = []
        for bar, sid in busbars.items():
            tr = hv[hv["lv_bus"] == bar]
            rows.append(
                {
                    "substation_id": sid,
                    "voltage_kv": float(tr["vn_hv_kv"].max()) if len(tr) else float(vn[bar]),
                    "capacity_mva": float(tr["sn_mva"].sum()) if len(tr) else np.nan,
                    "peak_load_mva": sub_kva.get(sid, 0.0)
                    + float(bus_kva.get(bar, 0.0)) / KVA_PER_MVA,
                    "name": ", ".join(tr["name"].astype(str)) if len(tr) else f"ext_grid {bar}",
                    "status": "existing",
                    "geometry": bus_pos[tr["hv_bus"].iloc[0] if len(tr) else bar],
                }
            )
        layers["substations"] = gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)
    mv_loads = int((load_bus.map(vn) >= 1.0).sum())
    if mv_loads:
        report.notes.append(f"{mv_loads} MV loads counted into their feeder's peak load")
    return layers, report


def _line_geoms(line: pd.DataFrame, bus_pos: pd.Series) -> pd.Series:
    geoms = _points_from_geo(line["geo"]) if "geo" in line.columns else np.full(len(line), None)
    straight = (
        shapely.linestrings(
            [
                [p.coords[0], q.coords[0]]
                for p, q in zip(
                    bus_pos.loc[line["from_bus"]], bus_pos.loc[line["to_bus"]], strict=True
                )
            ]
        )
        if len(line)
        else np.array([], dtype=object)
    )
    missing = np.array([g is None for g in geoms], dtype=bool)
    geoms = np.where(missing, straight, geoms)
    return pd.Series(list(geoms), index=line.index)


def import_pandapower(net_or_path: Any, out: str | Path) -> ImportReport:
    """Import a pandapower net (object, JSON path or ``"mv_oberrhein"``) into a layers GeoPackage.

    Writes ``substations``, ``feeders`` and ``assets`` (each passing
    :func:`~onemap.geo.layers.validate_layer`) and returns the :class:`ImportReport`.
    """
    start = time.perf_counter()
    layers, report = pandapower_layers(net_or_path)
    write_layers(layers, out, report)
    report.seconds = time.perf_counter() - start
    return report
