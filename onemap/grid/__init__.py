"""The grid as data: headroom per element, the public capacity map (item 11) and the load
forecast (DESIGN §4, §5).

* :mod:`~onemap.grid.headroom` — nameplate − peak − promised per substation, feeder and asset,
  climbing the topology, ``unknown`` where data is missing;
* :mod:`~onemap.grid.capacity` — the public capacity layer and its downloads;
* :mod:`~onemap.grid.forecast` — load per parcel by the load-density method (GB/T 50293) and
  supply-area classes.

LV networks and power flow land here next.
"""
