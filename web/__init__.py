"""The onemap web app (DESIGN §6, §8): Folium map pages and the JSON API over one map.

``web.app.create_app(map_path, settings)`` builds the FastAPI app; ``onemap serve`` runs it.
Modules, lowest first: ``settings``, ``spatial``, ``geojson``, ``i18n``, ``maps``, ``models``,
``services`` (the library calls) → ``state`` (:class:`web.state.AppState`) → ``projects``,
``api``, ``pages`` → ``app``. No module imports one above it.
"""
