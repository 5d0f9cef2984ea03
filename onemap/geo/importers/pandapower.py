"""pandapower networks → ``substations``, ``feeders``, ``assets``, ``lines`` and ``landuse``.

A pandapower net (a JSON file written by ``pandapower.to_json`` or a net object; the builtin
``mv_oberrhein`` is the real-based 20 kV network of the Oberrhein region with its MV/LV stations
modelled as transformers) is read as follows:

- HV/MV transformers (high side ≥ ``[power] hv_min_kv`` of ``data/osm_import.toml``) grouped by
  their MV busbar → one substation each: ``capacity_mva`` = Σ ``sn_mva``, ``peak_load_mva`` =
  the load its feeders serve. An external grid on an MV bus without a transformer is a
  substation of unknown capacity only where MV lines leave its bus (it heads feeders); an
  external grid on the MV side of an MV/LV transformer (``lv_schutterwald``, Kerber nets) is
  that transformer's supply, not a substation (noted in the report).
- MV/LV transformers → assets of kind ``transformer``: ``capacity_kva`` = ``sn_mva`` × 1000,
  ``peak_load_kva`` = apparent power of the loads of their LV network (``p_mw``, ``q_mvar`` ×
  ``scaling``; the LV network is found through the LV lines), else the power-flow result
  ``res_trafo`` when present, else unknown.
- Lines: the MV network without the substation busbars, through in-service lines and closed
  switches, falls into connected components; each component is a feeder (all its lines as one
  MultiLineString), fed by the busbar its head lines leave from. ``capacity_mva`` = Σ over the
  head lines of ``max_i_ka`` × ``vn_kv`` × √3 × ``parallel`` × ``df``; ``peak_load_mva`` = the
  loads it serves. Assets take the feeder of their MV bus.
- Every line → the ``lines`` layer: ``from_id``/``to_id`` bus ids (``pp-bus-N``; an MV/LV
  transformer's LV busbar is its asset id ``pp-trafo-K``), ``transformer_id`` of the LV network
  it belongs to (topology, nearest transformer by line count where LV nets are meshed) or
  ``feeder_id`` for MV lines, ``type`` = ``std_type``, ``rated_a``, ``capacity_kva``,
  ``length_m``.
- LV loads on a bus other than a transformer's LV busbar are houses → ``landuse`` parcels
  (12 m squares around the bus, code 0701, ``planned_load_kw``): what readiness classifies.
  Loads on an LV busbar are the aggregate of a whole LV network (mv_oberrhein) and only count
  as peak load.

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
from onemap.messages import msg
from onemap.units import A_PER_KA, KVA_PER_MVA, KW_PER_MW, M_PER_KM

BUILTINS = ("mv_oberrhein", "lv_schutterwald", "kerber_landnetz_freileitung_1")


def load_net(source: Any) -> tuple[Any, str]:
    """A pandapower net from a net object, a JSON path or a builtin name; and its label."""
    import pandapower as pp

    if not isinstance(source, (str, Path)):
        return source, "<net>"
    text = str(source)
    if text in BUILTINS:
        import pandapower.networks as pn

        if text == "mv_oberrhein":
            return pn.mv_oberrhein(include_substations=True), f"builtin:{text}"
        if text == "lv_schutterwald":
            return pn.lv_schutterwald(), f"builtin:{text}"
        return pn.create_kerber_landnetz_freileitung_1(), f"builtin:{text}"
    path = Path(text)
    if not path.exists():
        raise OnemapInputError(msg("geo.net_not_found"), file=text)
    try:
        return pp.from_json(str(path)), text
    except Exception as exc:  # pandapower raises many types for a bad file
        raise OnemapInputError(msg("geo.not_pandapower", exc=exc), file=text) from exc


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
        # Refused rather than placed at an anchor: such nets (the Kerber/Dickert reference
        # nets) carry no positions at all, not even local x/y offsets, and every answer of a
        # one map (door distances, routes, filing lengths) depends on where the cables run.
        raise OnemapInputError(
            msg("geo.net_no_geodata"),
            file=source,
        )
    bounds = shapely.total_bounds(geoms[~shapely.is_missing(geoms)])
    if not looks_geographic(tuple(bounds)):
        raise OnemapInputError(
            msg("geo.net_geodata_not_degrees", bounds=tuple(bounds)),
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

    # Loads seen from the MV side: a load on an LV bus counts for the transformer feeding it
    # (the transformer of its LV network, found through the LV lines).
    line = net.line[net.line["in_service"]]
    sw = net.switch
    open_lines = set(sw.loc[(sw["et"] == "l") & ~sw["closed"], "element"])
    lv_trafo = _lv_networks(net, mvlv, line[~line.index.isin(open_lines)], params["lv_max_kv"])
    kva = _load_kva(net)
    load_bus = net.load.loc[kva.index, "bus"]
    lv_to_mv = lv_trafo.map(mvlv["hv_bus"])
    mv_of_load = load_bus.map(lambda b: lv_to_mv.get(b, b))
    mv_kva = kva.groupby(mv_of_load.to_numpy()).sum()

    # Busbars: the MV side of HV/MV transformers, and MV buses with an external grid.
    busbars = pd.Series(dtype=object)
    for bar in hv["lv_bus"].unique():
        busbars[bar] = f"pp-sub-{bar}"
    ext = net.ext_grid[net.ext_grid["in_service"]]
    lone_ext = ext[~ext["bus"].isin(hv["hv_bus"]) & (ext["bus"].map(vn) < params["hv_min_kv"])]
    # An external grid is the upstream supply, not a station of ours: it heads feeders (as a
    # substation of unknown capacity) only where MV lines leave its bus; an external grid on
    # the MV side of an MV/LV transformer (lv_schutterwald, Kerber nets) is just its supply.
    line_ends = set(line["from_bus"]) | set(line["to_bus"])
    for bar in lone_ext["bus"]:
        if bar in line_ends:
            busbars[bar] = f"pp-sub-{bar}"
    supply_only = int((~lone_ext["bus"].isin(line_ends)).sum())
    if supply_only:
        report.notes.append(
            f"{supply_only} external grids feed MV/LV transformers directly: their MV supply, "
            "not substations (upstream capacity not in the net)"
        )

    # MV graph without the busbars: lines in service and not opened by a line switch.
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
        kv = float(vn[lines_c["from_bus"].iloc[0]])
        if kv <= params["lv_max_kv"]:
            continue  # LV mains: the lines layer, by transformer
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
        # the loads of its whole LV network (found through the LV lines)
        lv_loads = load_bus.map(lv_trafo).dropna()
        peak = pd.Series(mvlv.index, index=mvlv.index).map(
            kva.loc[lv_loads.index].groupby(lv_loads.to_numpy()).sum()
        )
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
    layers["lines"] = _lines_layer(
        net, line_geoms, lv_trafo, comp_of, line_comp, feeder_of_comp, open_lines, busbars
    )
    houses = _house_parcels(net, kva, load_bus, mvlv, bus_pos, params["lv_max_kv"])
    if len(houses):
        layers["landuse"] = houses
        report.notes.append(
            f"{len(houses)} LV loads (houses) written as landuse parcels {HOUSE_CODE} "
            f"({HOUSE_SIDE_M:g} m squares) with their planned_load_kw"
        )
    mv_loads = int((load_bus.map(vn) >= 1.0).sum())
    if mv_loads:
        report.notes.append(f"{mv_loads} MV loads counted into their feeder's peak load")
    return layers, report


def _lv_networks(net, mvlv: pd.DataFrame, closed: pd.DataFrame, lv_max_kv: float) -> pd.Series:
    """The MV/LV transformer (``net.trafo`` index) of every LV bus its lines reach.

    The LV graph: in-service, closed lines and closed bus–bus switches between LV buses. A bus
    reached from several transformers (meshed LV) belongs to the nearest one by line count.
    """
    lv = net.bus.index[net.bus["vn_kv"] <= lv_max_kv]
    graph = nx.Graph()
    graph.add_nodes_from(lv)
    keep = closed["from_bus"].isin(lv) & closed["to_bus"].isin(lv)
    graph.add_edges_from(zip(closed.loc[keep, "from_bus"], closed.loc[keep, "to_bus"], strict=True))
    sw = net.switch
    bb = sw[(sw["et"] == "b") & sw["closed"]]
    graph.add_edges_from(
        (b, e) for b, e in zip(bb["bus"], bb["element"], strict=True) if b in graph and e in graph
    )
    roots = {b: t for t, b in zip(mvlv.index, mvlv["lv_bus"], strict=True) if b in graph}
    if not roots:
        return pd.Series(dtype=float)
    _, paths = nx.multi_source_dijkstra(graph, set(roots))
    return pd.Series({b: roots[p[0]] for b, p in paths.items()}, dtype=float)


HOUSE_CODE = "0701"  # urban residential land (国土空间用地用海分类)
HOUSE_SIDE_M = 12.0  # side of the square parcel drawn around a house load (assumed)
M_PER_DEG = 111_320.0  # metres per degree of latitude (spherical approximation)


def _bus_ids(net, mvlv: pd.DataFrame, busbars: pd.Series | None = None) -> pd.Series:
    """Topology id of every bus: ``pp-bus-N``; the LV busbar of an MV/LV transformer its
    asset id ``pp-trafo-K``; a substation's MV busbar its substation id ``pp-sub-N`` (so a
    feeder's lines lead back to the substation that heads it)."""
    ids = pd.Series([f"pp-bus-{b}" for b in net.bus.index], index=net.bus.index, dtype=object)
    ids.loc[mvlv["lv_bus"].to_numpy()] = [f"pp-trafo-{k}" for k in mvlv.index]
    if busbars is not None and len(busbars):
        ids.loc[busbars.index.to_numpy()] = busbars.to_numpy()
    return ids


def _lines_layer(
    net, line_geoms, lv_trafo, comp_of, line_comp, feeder_of_comp, open_lines, busbars=None
):
    """Every line of the net as the ``lines`` layer (topology, rating, type, length).

    ``rated_a`` = ``max_i_ka`` × 1000 × ``parallel`` × ``df``; ``capacity_kva`` = √3 × ``vn_kv``
    × ``rated_a``. LV lines carry the transformer of their LV network, MV lines their feeder.
    Out-of-service lines and lines opened by a switch are kept with ``in_service`` 0 (a
    column of their own) and belong to no network.
    """
    line = net.line
    if not len(line):
        return None
    mvlv = net.trafo[net.trafo["in_service"]]
    mvlv = mvlv[mvlv["vn_lv_kv"] <= 1.0]
    bus_ids = _bus_ids(net, mvlv, busbars)
    kv = line["from_bus"].map(net.bus["vn_kv"]).to_numpy(dtype=float)
    rated = (line["max_i_ka"] * A_PER_KA * line["parallel"] * line["df"]).to_numpy(dtype=float)
    live = (line["in_service"] & ~line.index.isin(open_lines)).to_numpy()
    tr = line["from_bus"].map(lv_trafo).fillna(line["to_bus"].map(lv_trafo))
    tr_id = np.where(tr.notna() & live, "pp-trafo-" + tr.fillna(-1).astype(int).astype(str), "")
    comp = line_comp.reindex(line.index)
    fid = np.array([feeder_of_comp.get(int(c), "") if pd.notna(c) else "" for c in comp])
    fid = np.where((kv > 1.0) & live, fid, "")
    pos = pd.Series(list(bus_points(net, "<net>")), index=net.bus.index)
    geoms = line_geoms.reindex(line.index)
    missing = geoms.isna().to_numpy()
    if missing.any():
        geoms[missing] = list(_line_geoms(line[missing], pos))
    std = line["std_type"] if "std_type" in line else pd.Series("", index=line.index)
    return gpd.GeoDataFrame(
        {
            "line_id": [f"pp-line-{i}" for i in line.index],
            "voltage_kv": kv,
            "name": line["name"].fillna("").astype(str).to_numpy(),
            "from_id": bus_ids.loc[line["from_bus"]].to_numpy(),
            "to_id": bus_ids.loc[line["to_bus"]].to_numpy(),
            "transformer_id": tr_id,
            "feeder_id": fid,
            "rated_a": rated,
            "capacity_kva": math.sqrt(3) * kv * rated,
            "length_m": line["length_km"].to_numpy(dtype=float) * M_PER_KM,
            "type": std.fillna("").astype(str).to_numpy(),
            "status": "existing",
            "in_service": live.astype(int),
        },
        geometry=list(geoms),
        crs=STORAGE_CRS,
    )


def _house_parcels(net, kva, load_bus, mvlv, bus_pos, lv_max_kv) -> gpd.GeoDataFrame:
    """LV loads that are houses → ``landuse`` parcels (squares around the load bus, code 0701).

    A load on an LV bus that is not a transformer's LV busbar is a customer (a house); a load
    on a busbar is the aggregate of a whole LV network (mv_oberrhein) and stays a peak load.
    ``planned_load_kw`` = ``p_mw`` × ``scaling`` × 1000.
    """
    load = net.load.loc[kva.index]
    bus = load_bus.to_numpy()
    house = (net.bus.loc[bus, "vn_kv"].to_numpy() <= lv_max_kv) & ~np.isin(bus, mvlv["lv_bus"])
    load = load[house]
    if not len(load):
        return gpd.GeoDataFrame(geometry=[], crs=STORAGE_CRS)
    pts = bus_pos.loc[load["bus"]]
    x = shapely.get_x(pts.to_numpy())
    y = shapely.get_y(pts.to_numpy())
    dy = HOUSE_SIDE_M / 2 / M_PER_DEG
    dx = dy / np.cos(np.radians(y))
    scaling = load.get("scaling", 1.0)
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"pp-load-{i}" for i in load.index],
            "landuse_code": HOUSE_CODE,
            "name": load["name"].fillna("").astype(str).to_numpy(),
            "planned_load_kw": (load["p_mw"] * scaling * KW_PER_MW).to_numpy(dtype=float),
            "status": "existing",
        },
        geometry=shapely.box(x - dx, y - dy, x + dx, y + dy),
        crs=STORAGE_CRS,
    )


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
