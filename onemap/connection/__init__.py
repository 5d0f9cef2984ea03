"""Connection readiness (开门接电, DESIGN §4, items 1, 3, 4, 5, 8, 9).

* :mod:`~onemap.connection.groups` — connection groups and request checks;
* :mod:`~onemap.connection.points` — connection points with their usable headroom;
* :mod:`~onemap.connection.classify` — classes A–D from route distances;
* :mod:`~onemap.connection.bulk` — :func:`~onemap.connection.bulk.readiness` of every parcel;
* :mod:`~onemap.connection.site_preview` — :func:`~onemap.connection.site_preview.preview` of
  one site (the investor's question);
* :mod:`~onemap.connection.results` — the result types;
* :mod:`~onemap.connection.zones` — zones, H3 hexagons and district statistics.

Use the functions from ``onemap`` (``onemap.readiness(m)``, ``onemap.preview(...)``) or from their
modules; this package exports no names of its own, so none can shadow a submodule.
"""
