"""The transactional store of what users write (DESIGN §1, issue 15): pushed projects, filing
applications, their decisions, users and the audit log.

The map's GeoPackage stays read-mostly: nothing here opens it, let alone rewrites it. The store
is a separate database —

* **embedded default**: SQLite, one file beside the map (``city.gpkg`` →
  ``city.onemap-store.sqlite``, :data:`STORE_SUFFIX`), WAL journal, ``synchronous=FULL``
  (every commit fsynced), foreign keys on;
* **deployment**: PostgreSQL + PostGIS, selected by ``ONEMAP_STORE=postgresql://…``
  (psycopg 3); geometries in ``geometry(Geometry, 4326)`` columns.

Both run the same SQL (:mod:`~onemap.store.backend`), the same versioned migrations
(:mod:`~onemap.store.schema`, table ``onemap_schema_version``) and the same rules: every write
is one transaction (a failure stores nothing); a client key makes a push or a submission
idempotent; the history table ``filing_events`` is append-only (database triggers refuse
UPDATE, DELETE and TRUNCATE); a submitted filing's content is frozen. The filing state machine
is documented in :mod:`onemap.store.machine`.

Use::

    from onemap.store import open_store

    store = open_store(map_path)               # or url="postgresql://…", or $ONEMAP_STORE
    user, token = store.add_user("wang", "reviewer")
    store.authenticate(token)                  # -> User | None
    filing, created = store.submit_filing(verdict, route, 10.0, {"name": "…"}, user=applicant,
                                          rules_id=..., rules_version=..., map_hash=...)
    store.act(filing.number, "accept", user, note="…")
    store.history(filing.number)
"""

from __future__ import annotations

from onemap.store.errors import (
    DuplicateProject,
    IdempotencyConflict,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    StoreError,
    StoreUnavailable,
)
from onemap.store.filings import FILING_PREFIX, filing_number
from onemap.store.machine import ACTIONS, ROLES, STATUSES, TRANSITIONS
from onemap.store.records import Event, Filing, Page, ProjectRecord, User
from onemap.store.store import ENV_STORE, STORE_SUFFIX, Store, open_store, store_path_for

__all__ = [
    "ACTIONS",
    "ENV_STORE",
    "FILING_PREFIX",
    "ROLES",
    "STATUSES",
    "STORE_SUFFIX",
    "TRANSITIONS",
    "DuplicateProject",
    "Event",
    "Filing",
    "IdempotencyConflict",
    "IllegalTransition",
    "NotFound",
    "Page",
    "PermissionDenied",
    "ProjectRecord",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "User",
    "filing_number",
    "open_store",
    "store_path_for",
]
