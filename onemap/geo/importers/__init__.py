"""Importers from foreign data into one-map layers.

* :mod:`~onemap.geo.importers.osm` (with :mod:`~onemap.geo.importers.osm_read` and
  :mod:`~onemap.geo.importers.osm_tags`) — OpenStreetMap extracts;
* :mod:`~onemap.geo.importers.pandapower` — pandapower networks;
* :mod:`~onemap.geo.importers.report` — the import report and the layer writer they share.
"""
