"""A throwaway PostgreSQL cluster for the tests (and bench/bench_pg.py), and a fresh schema per store.

``KPI_TEST_PG_URL`` (e.g. ``postgresql://user:pw@host:5432/db``) names a server to use instead; otherwise
Debian's binaries (``/usr/lib/postgresql/*/bin``) make a cluster in a temporary directory on a free local
port: ``initdb`` + ``pg_ctl start``, run as the ``postgres`` user when we are root (initdb refuses root),
with the socket in the same directory, stopped and removed by :meth:`Cluster.stop`. Without the binaries
:func:`missing` says why, so the tests skip locally and fail under ``CI=true`` (as the browser tests do).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

IN_CI = os.environ.get("CI", "").strip().lower() == "true"
#: The engines a ``both_engines`` test runs on (here, not in conftest: tests/browser has a conftest of its own).
ENGINES = ("sqlite", "postgresql")


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def missing() -> str | None:
    """Why there can be no PostgreSQL for the tests (None: there can)."""
    if os.environ.get("KPI_TEST_PG_URL"):
        return None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg (pip install 'psycopg[binary]')"
    if _bin_dir() is None:
        return "PostgreSQL's server binaries (apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser (to run initdb as the postgres user)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server for a test session: ``url`` (a superuser), :meth:`new_schema_url`, :meth:`stop`."""

    def __init__(self, *, durable: bool = False) -> None:
        """``durable``: fsync and synchronous commit on, as a real server runs (for benchmarks); the tests
        turn them off, since the cluster is thrown away."""
        self.durable = durable
        self.url = os.environ.get("KPI_TEST_PG_URL", "")
        self._dir: Path | None = None
        self._as: list[str] = []
        if not self.url:
            self._start()

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _start(self) -> None:
        bin_dir = _bin_dir()
        self._dir = Path(tempfile.mkdtemp(prefix="kpi-pg-"))
        user = "postgres" if os.geteuid() == 0 else None
        if user:
            shutil.chown(self._dir, user)
            self._as = ["runuser", "-u", user, "--"]
        data = self._dir / "data"
        port = _free_port()
        self._run(str(bin_dir / "initdb"), "-D", str(data), "-U", "kpi", "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        opts = f"-p {port} -k {self._dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self._dir / "log"), "-w",
                  "start")
        self._pg_ctl = [*self._as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
        self.url = f"postgresql://kpi@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        import psycopg

        while True:
            try:
                psycopg.connect(self.url).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def new_schema_url(self, prefix: str = "t") -> str:
        """A store URL naming a schema no one has used (``connect`` creates and migrates it)."""
        return f"{self.url}#{prefix}_{uuid.uuid4().hex[:12]}"

    def stop(self) -> None:
        if self._dir is None:
            return
        subprocess.run(self._pg_ctl, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None


def is_pg(target) -> bool:
    return isinstance(target, str) and target.startswith("postgresql://")


def dump(conn) -> list[str]:
    """Everything in the store as text (equal dumps = nothing changed): SQLite's ``iterdump``, or for a
    PostgreSQL store every table's rows (sorted) and every table, trigger and function of its schema."""
    if getattr(conn, "engine", "sqlite") != "postgresql":
        return list(conn.iterdump())
    raw, schema = conn.raw, conn.schema
    out = [f"table {t}" for (t,) in raw.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,))]
    out += [f"trigger {t}" for (t,) in raw.execute(
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY 1", (schema,))]
    for line in list(out):
        if line.startswith("table "):
            t = line.split()[1]
            out += sorted(f"{t} {tuple(r)!r}" for r in raw.execute(f'SELECT * FROM "{schema}".{t}'))
    return out


def integrity_ok(conn) -> bool:
    if getattr(conn, "engine", "sqlite") == "postgresql":
        return True  # the server keeps its own pages; nothing to ask
    return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def table_columns(conn, table: str) -> list[str]:
    """A table's columns in order, on either engine."""
    if getattr(conn, "engine", "sqlite") == "postgresql":
        return [r[0] for r in conn.raw.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
            " ORDER BY ordinal_position", (conn.schema, table))]
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
