"""The store's schema as ordered migrations, recorded in ``onemap_schema_version``.

Each :class:`Migration` is applied once, in order, in its own transaction, and its number is
written to ``onemap_schema_version`` in the same transaction — so a store is always at a whole
version. A schema change is a new migration appended to :data:`MIGRATIONS`, never an ad-hoc
``ALTER`` or an edit of a migration already shipped. Statements are written once with the
backend's spellings (``{pk}``, ``{blob}``, ``{json}``, ``{geom}``); where the two databases
really differ (PostGIS extension and indexes, the append-only triggers) a statement names the
backend it is for.

Dates and times are ISO-8601 text on both backends (UTC timestamps ``…+00:00``, calendar dates
``YYYY-MM-DD``), so values, ordering and comparisons are the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from onemap.messages import msg
from onemap.store.backend import Backend
from onemap.store.errors import StoreUnavailable

VERSION_TABLE = "onemap_schema_version"
# Any fixed 64-bit number: PostgreSQL advisory lock held while migrating (workers start at once).
_PG_MIGRATION_LOCK = 0x6F6E656D6170


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str | tuple[str, str], ...]  # SQL, or (backend name, SQL)


_APPEND_ONLY_PG = """
CREATE FUNCTION onemap_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'onemap store: % on %: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
    USING ERRCODE = 'restrict_violation';
END
$$
"""

_FILING_FROZEN = (
    "number, year, seq, eligible, voltage_kv, route, verdict, applicant, applicant_name, "
    "organisation, project_id, note, rules_id, rules_version, map_hash, map_built, "
    "submitted_date, submitted_at, submitted_by, approval_workdays, approval_deadline, "
    "deadline_provisional, permits"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, projects, filings, filing events (append-only), idempotency keys",
        (
            ("postgresql", "CREATE EXTENSION IF NOT EXISTS postgis"),
            """CREATE TABLE users (
                id {pk},
                name TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL CHECK (role IN ('applicant', 'reviewer', 'admin')),
                token_id TEXT NOT NULL UNIQUE,
                token_salt {blob} NOT NULL,
                token_hash {blob} NOT NULL,
                token_kdf TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 1,
                created TEXT NOT NULL
            )""",
            """CREATE TABLE projects (
                id {pk},
                project_id TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL DEFAULT '',
                requested_kw DOUBLE PRECISION NOT NULL CHECK (requested_kw > 0),
                category TEXT NOT NULL,
                status TEXT NOT NULL,
                submitted TEXT NOT NULL,
                geometry {geom} NOT NULL,
                properties {json},
                proposal {json},
                pushed_by BIGINT REFERENCES users (id),
                created TEXT NOT NULL
            )""",
            """CREATE TABLE filing_sequences (
                year INTEGER PRIMARY KEY,
                last INTEGER NOT NULL CHECK (last > 0)
            )""",
            """CREATE TABLE filings (
                id {pk},
                number TEXT NOT NULL UNIQUE,
                year INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('filed', 'referred', 'accepted',
                    'returned', 'withdrawn', 'works_started', 'completed')),
                eligible INTEGER NOT NULL,
                voltage_kv DOUBLE PRECISION NOT NULL,
                route {geom} NOT NULL,
                verdict {json} NOT NULL,
                applicant {json} NOT NULL,
                applicant_name TEXT NOT NULL,
                organisation TEXT NOT NULL DEFAULT '',
                project_id TEXT,
                note TEXT NOT NULL DEFAULT '',
                rules_id TEXT NOT NULL,
                rules_version TEXT NOT NULL,
                map_hash TEXT NOT NULL,
                map_built TEXT,
                submitted_date TEXT NOT NULL,
                submitted_at TEXT NOT NULL,
                submitted_by BIGINT NOT NULL REFERENCES users (id),
                approval_workdays INTEGER,
                approval_deadline TEXT,
                deadline_provisional INTEGER NOT NULL DEFAULT 0,
                permits {json} NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (year, seq)
            )""",
            "CREATE INDEX filings_status ON filings (status, approval_deadline)",
            """CREATE TABLE filing_events (
                id {pk},
                filing_id BIGINT NOT NULL REFERENCES filings (id),
                action TEXT NOT NULL,
                actor_id BIGINT NOT NULL REFERENCES users (id),
                actor_name TEXT NOT NULL,
                role TEXT NOT NULL,
                at TEXT NOT NULL,
                status_before TEXT,
                status_after TEXT NOT NULL,
                note TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX filing_events_filing ON filing_events (filing_id, id)",
            """CREATE TABLE idempotency_keys (
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                user_id BIGINT REFERENCES users (id),
                result_id BIGINT,
                created TEXT NOT NULL,
                PRIMARY KEY (scope, key)
            )""",
            ("postgresql", "CREATE INDEX projects_geometry ON projects USING gist (geometry)"),
            ("postgresql", "CREATE INDEX filings_route ON filings USING gist (route)"),
            # The audit log is append-only, and a filing's submitted content is frozen: only
            # its status (and updated_at) ever change, and a filing is never deleted.
            (
                "sqlite",
                """CREATE TRIGGER filing_events_no_update BEFORE UPDATE ON filing_events
                BEGIN SELECT RAISE(ABORT, 'onemap store: filing_events is append-only'); END""",
            ),
            (
                "sqlite",
                """CREATE TRIGGER filing_events_no_delete BEFORE DELETE ON filing_events
                BEGIN SELECT RAISE(ABORT, 'onemap store: filing_events is append-only'); END""",
            ),
            (
                "sqlite",
                """CREATE TRIGGER filings_no_delete BEFORE DELETE ON filings
                BEGIN SELECT RAISE(ABORT, 'onemap store: filings are never deleted'); END""",
            ),
            (
                "sqlite",
                f"""CREATE TRIGGER filings_frozen BEFORE UPDATE OF {_FILING_FROZEN} ON filings
                BEGIN SELECT RAISE(ABORT, 'onemap store: a submitted filing is frozen'); END""",
            ),
            ("postgresql", _APPEND_ONLY_PG),
            (
                "postgresql",
                """CREATE TRIGGER filing_events_append_only
                BEFORE UPDATE OR DELETE ON filing_events FOR EACH ROW
                EXECUTE FUNCTION onemap_refuse_change('filing_events is append-only')""",
            ),
            (
                "postgresql",
                """CREATE TRIGGER filing_events_no_truncate
                BEFORE TRUNCATE ON filing_events FOR EACH STATEMENT
                EXECUTE FUNCTION onemap_refuse_change('filing_events is append-only')""",
            ),
            (
                "postgresql",
                """CREATE TRIGGER filings_no_delete BEFORE DELETE ON filings FOR EACH ROW
                EXECUTE FUNCTION onemap_refuse_change('filings are never deleted')""",
            ),
            (
                "postgresql",
                """CREATE TRIGGER filings_no_truncate BEFORE TRUNCATE ON filings
                FOR EACH STATEMENT
                EXECUTE FUNCTION onemap_refuse_change('filings are never deleted')""",
            ),
            (
                "postgresql",
                f"""CREATE TRIGGER filings_frozen BEFORE UPDATE OF {_FILING_FROZEN} ON filings
                FOR EACH ROW
                EXECUTE FUNCTION onemap_refuse_change('a submitted filing is frozen')""",
            ),
        ),
    ),
)
LATEST = MIGRATIONS[-1].version


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def current_version(backend: Backend, conn) -> int:
    row = backend.execute(conn, f"SELECT MAX(version) FROM {VERSION_TABLE}").fetchone()
    return int(row[0] or 0)


def migrate(backend: Backend) -> int:
    """Bring the store to :data:`LATEST`; returns the version it was at before.

    Safe when several workers open a new store at once: the version is re-read under a lock
    (``BEGIN IMMEDIATE`` in SQLite, an advisory lock in PostgreSQL) before each migration.
    """
    before = None
    for migration in MIGRATIONS:
        with backend.transaction(write=True) as conn:
            if backend.name == "postgresql":
                backend.execute(conn, "SELECT pg_advisory_xact_lock(?)", (_PG_MIGRATION_LOCK,))
            backend.script(
                conn,
                f"""CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
                    version INTEGER PRIMARY KEY,
                    description TEXT NOT NULL,
                    applied TEXT NOT NULL)""",
            )
            version = current_version(backend, conn)
            before = version if before is None else before
            if version > LATEST:
                raise StoreUnavailable(
                    msg("store.schema_too_new", version=version, latest=LATEST),
                    version=version,
                )
            if migration.version <= version:
                continue
            for statement in migration.statements:
                if isinstance(statement, tuple):
                    only, statement = statement
                    if only != backend.name:
                        continue
                backend.script(conn, statement.format(**backend.types))
            backend.execute(
                conn,
                f"INSERT INTO {VERSION_TABLE} (version, description, applied) VALUES (?, ?, ?)",
                (migration.version, migration.description, _now()),
            )
    return before or 0
