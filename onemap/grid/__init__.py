"""The grid as data: headroom per element, the public capacity map (item 11) and the load
forecast (DESIGN §4, §5).

* :mod:`~onemap.grid.headroom` — nameplate − peak − promised per substation, feeder and asset,
  climbing the topology, ``unknown`` where data is missing;
* :mod:`~onemap.grid.capacity` — the public capacity layer and its downloads;
* :mod:`~onemap.grid.forecast` — load per parcel by the load-density method (GB/T 50293) and
  supply-area classes;
* :mod:`~onemap.grid.lines` — the LV networks and MV feeders of the ``lines`` layer (trees
  from their transformer or substation) and the tee-joint candidates on LV mains;
* :mod:`~onemap.grid.powerflow` — a pandapower net built from the layers, a connection checked
  by load flow;
* :mod:`~onemap.grid.hosting` — hosting capacity per line segment (ICA-style) for the capacity
  map;
* :mod:`~onemap.grid.years` — the map as it stands in a given year.
"""
