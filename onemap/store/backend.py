"""The two databases behind one small interface: SQL is written once with ``?`` placeholders.

:class:`SQLiteBackend` — stdlib :mod:`sqlite3`, one file, WAL journal, ``synchronous=FULL`` (every
commit is fsynced), foreign keys on, writers serialised by ``BEGIN IMMEDIATE``.
:class:`PostgresBackend` — psycopg 3 against PostgreSQL + PostGIS; geometries are
``geometry(Geometry, 4326)`` columns, JSON is ``json`` (kept exactly as written).

Both keep one connection per thread (and per process: a forked worker opens its own), so a
store object may be shared by the threads of a web server.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from onemap.errors import OnemapInputError
from onemap.messages import msg
from onemap.store.errors import StoreUnavailable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

BUSY_TIMEOUT_MS = 30_000


class Backend:
    """What the store needs from a database: transactions, statements and a few SQL spellings."""

    name: str
    url: str
    # DDL spellings used by the migrations (``{pk}``, ``{blob}``, ``{json}``, ``{geom}``).
    types: ClassVar[dict[str, str]]

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def connection(self) -> Any:
        """This thread's connection (opened on first use, reopened after a fork)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this process opened."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()

    # -- statements ----------------------------------------------------------------------------
    def sql(self, text: str) -> str:
        """The statement in this database's placeholder style."""
        return text

    def execute(self, conn: Any, text: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(self.sql(text), tuple(params))

    def read_one(self, text: str, params: Sequence[Any] = ()) -> Any:
        """The first row of one read statement on this thread's connection, outside
        :meth:`transaction`: the connection autocommits, so the statement is its own
        transaction, without the BEGIN and COMMIT round trips (the store revision every
        request checks)."""
        return self.execute(self.connection(), text, params).fetchone()

    def script(self, conn: Any, text: str) -> None:
        """Run one DDL statement (no parameters)."""
        conn.execute(text)

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[Any]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    # -- spellings -----------------------------------------------------------------------------
    def geom_in(self) -> str:
        """Placeholder expression storing a GeoJSON text as a geometry."""
        return "?"

    def geom_out(self, column: str) -> str:
        """Expression reading a geometry column back as GeoJSON text."""
        return column

    def json_in(self) -> str:
        return "?"

    like = "LIKE"

    def is_unique_violation(self, exc: BaseException) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def integrity_problems(self, conn: Any) -> list[str]:
        """Problems the database itself reports about its files (none for PostgreSQL)."""
        return []

    @staticmethod
    def json_value(value: Any) -> Any:
        """A JSON column as Python (SQLite gives text, psycopg already-parsed values)."""
        return json.loads(value) if isinstance(value, str | bytes) else value


LOCK_SUFFIX = "-lock"  # store.sqlite-lock: the writers' queue beside the database


class WriterQueue:
    """One writer at a time per SQLite store, waiting in the kernel rather than in SQLite.

    SQLite lets a writer that finds the database locked retry on a timer (1, 2, 5 … 100 ms
    sleeps), so under concurrent writes a waiter can miss turn after turn and wait a second
    while the lock is free most of the time. Here the threads of a process queue on a lock and
    the processes on an advisory ``flock`` of a file beside the database: each waiter is woken
    the moment the lock is released. The kernel drops the lock of a killed process. Writers
    that do not take part (another program) are still serialised by SQLite itself; without
    ``fcntl`` (Windows) only the threads of a process queue.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def _file(self) -> int | None:
        if fcntl is None:
            return None
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # a read-only folder: SQLite's own locking still holds
                return None
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        """Close the lock file (it reopens on the next write)."""
        with self._threads:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = self._pid = None

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the writers' lock for the duration of the block."""
        with self._threads:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)


class SQLiteBackend(Backend):
    """One SQLite file in WAL mode with fsynced commits and foreign keys on."""

    name = "sqlite"
    types: ClassVar[dict[str, str]] = {
        "pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "blob": "BLOB",
        "json": "TEXT",
        "geom": "TEXT",  # GeoJSON text, EPSG:4326
    }

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        if not self.path.parent.is_dir():
            raise StoreUnavailable(msg("store.folder_missing", parent=self.path.parent))
        self._writers = WriterQueue(self.path.with_name(self.path.name + LOCK_SUFFIX))

    def close(self) -> None:
        super().close()
        self._writers.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # we issue BEGIN / COMMIT ourselves
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(msg("store.cannot_open", path=self.path, exc=exc)) from exc
        if str(mode).lower() != "wal":
            raise StoreUnavailable(msg("store.no_wal", path=self.path, mode=mode))
        return conn

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        with self._writers.turn() if write else contextlib.nullcontext():
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)

    def integrity_problems(self, conn: sqlite3.Connection) -> list[str]:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        problems = [] if rows == ["ok"] else [f"sqlite integrity_check: {r}" for r in rows]
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"{table} row {rowid}: missing {parent} row")
        return problems


WRITER_LOCK_KEY = 0x6F6E656D6170  # "onemap": the advisory lock every PostgreSQL write takes


class PostgresBackend(Backend):
    """PostgreSQL + PostGIS through psycopg 3 (autocommit connections, explicit transactions)."""

    name = "postgresql"
    types: ClassVar[dict[str, str]] = {
        "pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "blob": "BYTEA",
        "json": "JSON",
        "geom": "geometry(Geometry, 4326)",
    }
    like = "ILIKE"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - a dependency
            raise StoreUnavailable(msg("store.no_psycopg")) from exc
        self._psycopg = psycopg

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(self.url, autocommit=True)
        except self._psycopg.Error as exc:
            raise StoreUnavailable(msg("store.cannot_connect", exc=exc)) from exc

    def sql(self, text: str) -> str:
        if "%" in text:
            raise ValueError("write store SQL with '?' placeholders and no literal '%'")
        return text.replace("?", "%s")

    def execute(self, conn: Any, text: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(self.sql(text), tuple(params) or None)

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[Any]:
        conn = self.connection()
        with conn.transaction():
            if write:
                # One writer at a time, as on SQLite: ids then commit in the order they are
                # given, so a worker that has read every project up to id N (Store.revision)
                # never misses one that commits later with a lower id.
                self.execute(conn, "SELECT pg_advisory_xact_lock(?)", (WRITER_LOCK_KEY,))
            yield conn

    def geom_in(self) -> str:
        return "ST_SetSRID(ST_GeomFromGeoJSON(?), 4326)"

    def geom_out(self, column: str) -> str:
        return f"ST_AsGeoJSON({column})"

    def json_in(self) -> str:
        return "CAST(? AS json)"

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.errors.UniqueViolation)


def backend_for(url: str) -> Backend:
    """The backend a store URL names: ``postgresql://…`` / ``postgres://…``, ``sqlite:///PATH``
    or a plain file path."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(url)
    if url.startswith("sqlite:///"):
        return SQLiteBackend(Path(url.removeprefix("sqlite:///")))
    if "://" in url:
        raise OnemapInputError(
            msg("store.unknown_url", scheme=url.split("://")[0]),
            field="store",
        )
    return SQLiteBackend(Path(url))
