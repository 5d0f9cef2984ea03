"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL + PostGIS.

The PostgreSQL cluster is a throw-away one made by ``initdb`` in a temporary folder and started
with ``pg_ctl`` on a free port (as the ``postgres`` OS user when the tests run as root), once per
test session (per xdist worker); each test gets a fresh database cloned from a template with
PostGIS installed. No mock, no shared server, no skipping: if PostgreSQL cannot start, the
tests fail.
"""

from __future__ import annotations

import datetime as dt
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from onemap.rules import load_rules
from onemap.store import open_store

DEMO_MAP = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"
RULES = load_rules("lianyungang-2021")
ROUTE = {"type": "LineString", "coordinates": [[119.20, 34.60], [119.201, 34.6005]]}


def _pg_bin() -> Path:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found.sort(key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "apt-get install postgresql postgresql-15-postgis-3 (.ci/run does)"
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running throw-away PostgreSQL cluster."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="onemap-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "onemap"
        self._as = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count()

    def run(self, *args: str) -> None:
        proc = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(f"{args[0]} failed:\n{proc.stdout}\n{proc.stderr}\n{tail}")

    def start(self) -> None:
        self.run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user,
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        # fsync off: a throw-away cluster; durability is the server's, not what is tested here.
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c max_connections=200 -c fsync=off -c synchronous_commit=off"
        )
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts,
            "-l", str(self.root / "log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE onemap_template")
        with psycopg.connect(self.url("onemap_template"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")

    def url(self, db: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE onemap_template STRATEGY FILE_COPY")
        return self.url(name)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                 "-w", "stop"],
                capture_output=True, timeout=120,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """A real PostgreSQL + PostGIS for this session (torn down afterwards)."""
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def cheap_kdf(request, monkeypatch):
    """Users made by tests hash tokens with cheap scrypt parameters (the stored KDF string says
    which), except in tests that ask for the ``real_kdf`` fixture."""
    from onemap.store import auth

    if "real_kdf" not in request.fixturenames:
        monkeypatch.setattr(auth, "KDF", "scrypt:n=16,r=1,p=1,dklen=32")


@pytest.fixture
def real_kdf():
    """Ask for this to hash tokens with the shipped scrypt parameters."""
    from onemap.store import auth

    return auth.KDF


@pytest.fixture
def map_copy(tmp_path) -> Path:
    """A copy of the demo map the store sits beside."""
    path = tmp_path / "city.gpkg"
    shutil.copyfile(DEMO_MAP, path)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path, monkeypatch) -> str:
    """A fresh, empty store's URL on each backend."""
    monkeypatch.delenv("ONEMAP_STORE", raising=False)
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'city.onemap-store.sqlite'}"
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture
def store(store_url):
    s = open_store(url=store_url)
    yield s
    s.close()


@pytest.fixture
def people(store):
    """An applicant, a second applicant, a reviewer and an admin."""
    return {
        name: store.add_user(name, role)[0]
        for name, role in [
            ("ann", "applicant"),
            ("alf", "applicant"),
            ("rex", "reviewer"),
            ("ada", "admin"),
        ]
    }


def verdict(eligible: bool) -> dict:
    """A check-route verdict in the shape of ``FilingVerdict.to_dict()``."""
    return {
        "eligible": eligible,
        "length_m": 150.0 if eligible else 1250.0,
        "limit_m": 1000.0,
        "procedure": "filing" if eligible else "permits",
        "reasons": [] if eligible else [{"code": "LENGTH_OVER_LIMIT", "message": "超过 1000 米"}],
        "permits": [] if eligible else ["road_excavation", "corridor_planning"],
        "segments": [],
        "approval_workdays": 5,
        "rules": f"{RULES.meta.id}@{RULES.meta.version}",
    }


def submit(store, user, eligible: bool = True, key: str | None = None, **kw):
    """Submit a filing with sensible defaults; returns (Filing, created)."""
    args = {
        "user": user,
        "rules_id": RULES.meta.id,
        "rules_version": RULES.meta.version,
        "map_hash": "sha256:demo",
        "map_built": "2026-01-05T08:00:00+00:00",
        "submitted_date": dt.date(2026, 3, 2),
        "key": key,
    }
    args.update(kw)
    applicant = args.pop("applicant", {"name": "王工", "organisation": "港城电力", "phone": "0518"})
    return store.submit_filing(
        args.pop("verdict", verdict(eligible)), args.pop("route", ROUTE),
        args.pop("voltage_kv", 10.0), applicant, **args,
    )  # fmt: skip
