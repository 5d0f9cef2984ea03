"""The :class:`Store`: users, pushed projects and idempotency keys, opened by :func:`open_store`.

The filing desk's operations (submit, list, act, history) live in :mod:`onemap.store.filings`
and are methods of the same class. Every write is one transaction; a failure stores nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from onemap.errors import OnemapInputError
from onemap.messages import msg
from onemap.store import _input as check
from onemap.store import auth
from onemap.store.backend import Backend, SQLiteBackend, backend_for
from onemap.store.errors import (
    DuplicateProject,
    IdempotencyConflict,
    NotFound,
    Replay,
    StoreError,
)
from onemap.store.filings import FilingDesk
from onemap.store.machine import check_role
from onemap.store.records import Page, ProjectRecord, User
from onemap.store.schema import LATEST, current_version, migrate

# MAP.gpkg -> MAP.onemap-store.sqlite: the embedded store beside the map it serves.
STORE_SUFFIX = ".onemap-store.sqlite"
ENV_STORE = "ONEMAP_STORE"
PROJECT_TYPES = ("Point", "Polygon", "MultiPolygon")
PROJECT_FIELDS = ("project_id", "name", "requested_kw", "category", "status", "submitted")


def now() -> str:
    """The current UTC time as ISO-8601 text (``…+00:00``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def store_path_for(map_path: Path | str) -> Path:
    """The SQLite store beside a map: ``city.gpkg`` → ``city.onemap-store.sqlite``."""
    path = Path(map_path)
    return path.with_name(path.stem + STORE_SUFFIX)


def open_store(map_path: Path | str | None = None, url: str | None = None) -> Store:
    """Open (creating and migrating if needed) the store a map or a URL names.

    Parameters
    ----------
    map_path
        The map (``.gpkg``) whose embedded store to use: ``MAP.onemap-store.sqlite`` beside it.
    url
        ``postgresql://user:pass@host:port/db`` (PostgreSQL + PostGIS), ``sqlite:///PATH`` or a
        file path. Defaults to the environment variable ``ONEMAP_STORE``; when neither is set
        the store beside ``map_path`` is used.

    Returns
    -------
    Store
        Ready to use, schema at :data:`onemap.store.schema.LATEST`.

    Raises
    ------
    OnemapInputError
        Neither a map nor a URL, a map that does not exist, or an unknown URL scheme.
    StoreUnavailable
        The database cannot be reached, or its schema is newer than this onemap.
    """
    url = url or os.environ.get(ENV_STORE) or None
    if url:
        return Store(backend_for(url))
    if map_path is None:
        raise OnemapInputError(
            msg("store.none_given", env=ENV_STORE),
            field="store",
        )
    if not Path(map_path).is_file():
        raise OnemapInputError(msg("geo.map_file_not_found"), file=str(map_path))
    return Store(SQLiteBackend(store_path_for(map_path)))


class Store(FilingDesk):
    """The transactional store of what users write. Thread-safe; open with :func:`open_store`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._verified = auth.VerifiedCache()
        migrate(backend)

    @property
    def url(self) -> str:
        """Where the store lives (``sqlite:///…`` or the PostgreSQL URL)."""
        return self.backend.url

    def close(self) -> None:
        """Close this process's connections (the store may be used again: they reopen)."""
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.backend.transaction(write=False) as conn:
            return self.backend.execute(conn, sql, params).fetchall()

    # -- users ---------------------------------------------------------------------------------
    def add_user(self, name: str, role: str) -> tuple[User, str]:
        """Create a user and their token.

        Parameters
        ----------
        name
            Unique user name (1–100 characters).
        role
            ``applicant``, ``reviewer`` or ``admin``.

        Returns
        -------
        (User, str)
            The user and the token — shown this once; only its salted scrypt hash is stored.
        """
        name = check.text(name, "name", max_len=100).strip()
        role = check_role(role)
        kdf = auth.KDF
        token, token_id, salt, digest = auth.new_credentials(kdf)
        created = now()
        try:
            with self.backend.transaction() as conn:
                row = self.backend.execute(
                    conn,
                    "INSERT INTO users (name, role, token_id, token_salt, token_hash, token_kdf,"
                    " created) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (name, role, token_id, salt, digest, kdf, created),
                ).fetchone()
        except Exception as exc:
            if self.backend.is_unique_violation(exc):
                raise OnemapInputError(msg("store.user_exists", name=name), field="name") from None
            raise
        return User(int(row[0]), name, role, created), token

    def authenticate(self, token: str | None) -> User | None:
        """The active user a token belongs to, or None (unknown, malformed or wrong token)."""
        parts = auth.split_token(token) if token else None
        if parts is None:
            return None
        rows = self._rows(
            "SELECT id, name, role, created, token_salt, token_hash, token_kdf FROM users"
            " WHERE token_id = ? AND active = 1",
            (parts[0],),
        )
        if not rows:
            return None
        uid, name, role, created, salt, stored, kdf = rows[0]
        stored = bytes(stored)
        seen = self._verified.get(token)  # type: ignore[arg-type]
        if seen is None or not auth.hmac.compare_digest(seen, stored):
            if seen is not None:  # the stored hash changed: forget it (no scrypt on the loop)
                self._verified.drop(token)  # type: ignore[arg-type]
            if not auth.verify(parts[1], salt, stored, kdf):
                return None
            self._verified.put(token, stored)  # type: ignore[arg-type]
        return User(int(uid), name, role, created)

    def verified_before(self, token: str | None) -> bool:
        """Whether this process has verified ``token`` already, so :meth:`authenticate` costs
        one query and no scrypt (a server may then run it without leaving its event loop)."""
        return bool(token) and self._verified.get(token) is not None  # type: ignore[arg-type]

    def user(self, name: str) -> User:
        """The user called ``name``; NotFound otherwise."""
        rows = self._rows("SELECT id, name, role, created FROM users WHERE name = ?", (name,))
        if not rows:
            raise NotFound(msg("store.no_user", name=name), name=name)
        return User(int(rows[0][0]), *rows[0][1:])

    def users(self) -> list[User]:
        """Every user, in the order they were added."""
        rows = self._rows("SELECT id, name, role, created FROM users ORDER BY id")
        return [User(int(r[0]), *r[1:]) for r in rows]

    # -- idempotency ---------------------------------------------------------------------------
    def _claim(self, conn: Any, scope: str, key: str | None, fingerprint: str, user: User | None):
        """Claim a client key inside the caller's transaction; Replay if it is taken."""
        if key is None:
            return
        cur = self.backend.execute(
            conn,
            "INSERT INTO idempotency_keys (scope, key, request_hash, user_id, created)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING",
            (scope, key, fingerprint, user.id if user else None, now()),
        )
        if cur.rowcount == 0:
            raise Replay

    def _settle(self, conn: Any, scope: str, key: str | None, result_id: int) -> None:
        if key is not None:
            self.backend.execute(
                conn,
                "UPDATE idempotency_keys SET result_id = ? WHERE scope = ? AND key = ?",
                (result_id, scope, key),
            )

    def _replayed(self, scope: str, key: str, fingerprint: str, user: User | None) -> int:
        """The stored result id of a key taken by an identical request; else a conflict."""
        rows = self._rows(
            "SELECT request_hash, user_id, result_id FROM idempotency_keys"
            " WHERE scope = ? AND key = ?",
            (scope, key),
        )
        request_hash, user_id, result_id = rows[0]
        if result_id is None:  # claimed and settled in one transaction: cannot happen
            raise StoreError(msg("store.key_no_result", key=key), key=key)
        same_user = (user.id if user else None) == (None if user_id is None else int(user_id))
        if request_hash != fingerprint or not same_user:
            raise IdempotencyConflict(
                msg("store.key_reused_filing", key=key)
                if scope == "filings"
                else msg("store.key_reused_project", key=key),
                key=key,
            )
        return int(result_id)

    # -- projects ------------------------------------------------------------------------------
    def push_project(
        self,
        row: dict[str, Any],
        key: str | None = None,
        *,
        user: User | None = None,
        proposal: dict[str, Any] | None = None,
    ) -> tuple[ProjectRecord, bool]:
        """Store a project pushed by the approval platform (policy item 1): one row, one
        transaction; the map file is not touched.

        Parameters
        ----------
        row
            ``project_id``, ``requested_kw`` (> 0), ``category``, ``geometry`` (GeoJSON or
            shapely Point/Polygon in EPSG:4326, or ``location`` {``lon``, ``lat``}); optional
            ``name``, ``status`` (default ``pushed``), ``submitted`` (date, default today).
            Other keys are kept as ``properties``.
        key
            The client's idempotency key: the same key again answers the stored project.
        user
            Who pushed it (None for the platform's shared ``ONEMAP_API_TOKEN``).
        proposal
            The supply proposal answered with the push, stored so a replay answers it again.

        Returns
        -------
        (ProjectRecord, bool)
            The stored project and whether this call created it (False on a replay).

        Raises
        ------
        OnemapInputError
            A missing or bad field (named).
        DuplicateProject
            ``project_id`` is already stored under another key or none (HTTP 409).
        IdempotencyConflict
            ``key`` was used for a different request (HTTP 422).
        """
        key = check.key(key)
        values = self._project_values(row)
        fingerprint = check.digest(values)
        # Encoded once: the text stored is what the returned record parses (no round trip).
        proposal_text = None if proposal is None else check.json_text(proposal, "proposal")
        b = self.backend
        try:
            with b.transaction() as conn:
                self._claim(conn, "projects", key, fingerprint, user)
                try:
                    stored_row = b.execute(
                        conn,
                        "INSERT INTO projects (project_id, name, requested_kw, category, status,"
                        " submitted, geometry, properties, proposal, pushed_by, created) VALUES"
                        f" (?, ?, ?, ?, ?, ?, {b.geom_in()}, {b.json_in()}, {b.json_in()}, ?, ?)"
                        f" RETURNING {self._returned_project()}",
                        (
                            *(values[f] for f in PROJECT_FIELDS),
                            check.dumps(values["geometry"]),
                            check.dumps(values["properties"]),
                            proposal_text,
                            user.id if user else None,
                            now(),
                        ),
                    ).fetchone()
                except Exception as exc:
                    if b.is_unique_violation(exc):
                        raise DuplicateProject(
                            msg("store.project_exists", project_id=values["project_id"]),
                            project_id=values["project_id"],
                        ) from None
                    raise
                self._settle(conn, "projects", key, int(stored_row[0]))
        except Replay:
            stored = self._replayed("projects", key or "", fingerprint, user)
            return self._project_where("p.id = ?", (stored,)), False
        # The row as stored, from RETURNING: what a read gives, without a second transaction
        # (the proposal is the text just stored: JSON columns keep it exactly as written).
        pusher = user.name if user else None
        returned = (*stored_row[:9], proposal_text, pusher, stored_row[-1])
        return self._project_record(returned), True

    @staticmethod
    def _project_values(row: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise OnemapInputError(msg("store.project_expected"), field="project")
        row = dict(row)
        place = row.pop("geometry", None)
        location = row.pop("location", None)
        if (place is None) == (location is None):
            raise OnemapInputError(msg("store.location_or_geometry"), field="geometry")
        if location is not None:
            if not isinstance(location, dict) or {"lon", "lat"} - set(location):
                raise OnemapInputError(msg("store.lonlat_expected"), field="location")
            place = {"type": "Point", "coordinates": [location["lon"], location["lat"]]}
        out = {
            "project_id": check.text(row.pop("project_id", None), "project_id", max_len=100),
            "name": check.text(row.pop("name", ""), "name", required=False, max_len=200),
            "requested_kw": check.positive(row.pop("requested_kw", None), "requested_kw"),
            "category": check.text(row.pop("category", None), "category", max_len=50),
            "status": check.text(row.pop("status", "pushed") or "pushed", "status", max_len=50),
            "submitted": check.date(row.pop("submitted", None), "submitted"),
            "geometry": check.geometry(place, "geometry", PROJECT_TYPES),
        }
        out["properties"] = check.json_value(row, "properties")
        return out

    _PROJECT_COLUMNS = (
        "p.id, p.project_id, p.name, p.requested_kw, p.category, p.status, p.submitted, {geom},"
        " p.properties, {proposal}, u.name, p.created"
    )

    def _project_select(self, proposals: bool = True) -> str:
        cols = self._PROJECT_COLUMNS.format(
            geom=self.backend.geom_out("p.geometry"), proposal="p.proposal" if proposals else "NULL"
        )
        return f"SELECT {cols} FROM projects p LEFT JOIN users u ON u.id = p.pushed_by"

    def _returned_project(self) -> str:
        """The columns of :meth:`_project_select` as an INSERT's RETURNING gives them: the
        pusher's id in place of their name and NULL for the proposal, both of which the caller
        has already (the proposal text it stored)."""
        return (
            self._PROJECT_COLUMNS.format(geom=self.backend.geom_out("p.geometry"), proposal="NULL")
            .replace("u.name", "p.pushed_by")
            .replace("p.", "")
        )

    def _project_record(self, r: tuple) -> ProjectRecord:
        j = self.backend.json_value
        return ProjectRecord(
            int(r[0]), r[1], r[2], float(r[3]), r[4], r[5], r[6], j(r[7]), j(r[8]) or {},
            j(r[9]), r[10], r[11],
        )  # fmt: skip

    def _project_where(self, where: str, params: tuple) -> ProjectRecord:
        rows = self._rows(f"{self._project_select()} WHERE {where}", params)
        if not rows:
            raise NotFound(msg("store.no_project"), params=list(params))
        return self._project_record(rows[0])

    def project(self, project_id: str) -> ProjectRecord:
        """The pushed project with this id; NotFound otherwise."""
        return self._project_where("p.project_id = ?", (project_id,))

    def projects(self, limit: int = 100, offset: int = 0) -> Page[ProjectRecord]:
        """Pushed projects, oldest first (so paging through them while pushes arrive is stable)."""
        limit, offset = check.page(limit, offset)
        with self.backend.transaction(write=False) as conn:
            total = self.backend.execute(conn, "SELECT COUNT(*) FROM projects").fetchone()[0]
            rows = self.backend.execute(
                conn, f"{self._project_select()} ORDER BY p.id LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return Page([self._project_record(r) for r in rows], int(total), limit, offset)

    def all_projects(self, after: int = 0, *, proposals: bool = True) -> list[ProjectRecord]:
        """Every pushed project with a store id above ``after``, oldest first.

        Parameters
        ----------
        after
            Store id (:meth:`revision`) of the last project already seen.
        proposals
            False: leave ``proposal`` out (None) — what merging the projects into a served map
            needs, without reading and parsing each stored answer.

        Returns
        -------
        list of ProjectRecord
            The projects.
        """
        select = self._project_select(proposals)
        rows = self._rows(f"{select} WHERE p.id > ? ORDER BY p.id", (after,))
        return [self._project_record(r) for r in rows]

    def revision(self) -> int:
        """The highest project id stored: a worker whose copy is older reloads the new ones."""
        return int(self.backend.read_one("SELECT COALESCE(MAX(id), 0) FROM projects")[0])

    # -- health --------------------------------------------------------------------------------
    def integrity_problems(self) -> list[str]:
        """Everything wrong with the store (empty when sound): the database's own check, the
        schema version, every filing's history against its status, the filing numbers."""
        with self.backend.transaction(write=False) as conn:
            problems = self.backend.integrity_problems(conn)
            version = current_version(self.backend, conn)
            if version != LATEST:
                problems.append(f"schema version {version}, expected {LATEST}")
            problems += self._filing_problems(conn)
        return problems

    def integrity_check(self) -> bool:
        """True when :meth:`integrity_problems` finds nothing."""
        return not self.integrity_problems()
