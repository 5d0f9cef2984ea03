"""The onemap web app (DESIGN §6, §8): Folium map pages and the JSON API over one map.

``web.app.create_app(map_path, settings)`` builds the FastAPI app; ``onemap serve`` runs it.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):  # late import keeps `import web` light
    """See :func:`web.app.create_app`."""
    from web.app import create_app as _create_app

    return _create_app(*args, **kwargs)
