"""Shared fixtures: a fresh store with a fixed pseudonymisation key, settings, and the CLI in-process.

Kept generic on purpose: any test file can ask for ``fresh_db`` (the path of a new, migrated,
closed store), ``settings`` (the matching :class:`metrics.settings.Settings`), ``pseudo`` (the
pseudonym a raw identifier gets under the test key), ``demo_template`` (the synthetic demo store,
built once per session: copy it before changing it), ``demo_copy_of`` (a private copy), ``run_kpi`` (``kpi ARGS…`` run through
``kpi_cli.main.main`` with stdout/stderr captured), ``digest`` (SHA-256 of a store's file and WAL,
for "byte-for-byte unchanged") and ``raw_store_bytes`` (every byte on disk, for leak searches).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from metrics import store
from metrics.pseudonym import pseudonymise
from metrics.settings import Settings, get_settings

from testkeys import TEST_KEY  # noqa: E402,F401 - re-exported for fixtures


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The synthetic demo store, built once per test session (~7 s) and checkpointed, so a plain file
    copy is a complete store — without the demo's sample actions (``kpi demo`` adds them:
    tests/test_demo_actions.py), so the actions tests start from an empty log. Treat it as read-only: copy
    it (``demo_copy_of``) to change anything."""
    from metrics.demo_store import build_demo

    path = tmp_path_factory.mktemp("demo-template") / "demo.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path.parent)  # no stray .env
        get_settings.cache_clear()
        build_demo(path, actions=False)  # tests of the actions log start from an empty log (see test_demo_actions)
    get_settings.cache_clear()
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def demo_copy_of(demo_template):
    """demo_copy_of(path): copy the demo store to ``path`` and return it."""

    def _copy(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo_template, path)
        return path

    return _copy


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Settings for a store in ``tmp_path``, with a fixed key and a fixed uploader name.

    Set through the environment too, so code that calls ``get_settings()`` (the CLI) agrees.
    """
    db = tmp_path / "kpi.sqlite"
    for name in ("KPI_KEY_FILE", "KPI_DEMO_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.setenv("KPI_DB_PATH", str(db))
    monkeypatch.setenv("KPI_USER", "tester")
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def key() -> bytes:
    return TEST_KEY.encode()


@pytest.fixture(scope="session")
def _empty_store_template(tmp_path_factory) -> Path:
    """One migrated, empty store per session; ``fresh_db`` copies it (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "kpi.sqlite"
    store.connect(path).close()
    assert not Path(f"{path}-wal").exists()  # closed: everything is in the main file
    return path


from pg_support import ENGINES  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "both_engines: the module's fresh_db tests run on SQLite and PostgreSQL")


def pytest_generate_tests(metafunc):
    """In a module marked ``both_engines``, every test using ``fresh_db`` runs once per engine."""
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL server for the session (tests/pg_support.py): skipped without PostgreSQL's
    binaries, except under CI=true, where that fails."""
    import pg_support

    why = pg_support.missing()
    if why:
        if pg_support.IN_CI:
            pytest.fail(f"CI=true and PostgreSQL tests need {why}", pytrace=False)
        pytest.skip(f"PostgreSQL tests need {why}")
    cluster = pg_support.Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(request, settings, monkeypatch) -> str:
    """A new, migrated, empty PostgreSQL store (its own schema), also the default store (KPI_DB_URL)."""
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.new_schema_url()
    store.connect(url).close()
    monkeypatch.setenv("KPI_DB_URL", url)
    get_settings.cache_clear()
    return url


@pytest.fixture
def fresh_db(request, engine, settings, _empty_store_template) -> Path | str:
    """A new, migrated, empty store: the path of a SQLite file (no open connection, so the file bytes are
    settled), or — for the ``postgresql`` engine of a ``both_engines`` module — a PostgreSQL store URL."""
    if engine == "postgresql":
        return request.getfixturevalue("pg_url")
    shutil.copyfile(_empty_store_template, settings.db_path)
    return settings.db_path


@pytest.fixture
def pseudo(key):
    """pseudo(raw, domain) -> the pseudonym stored for ``raw`` in column ``domain`` under the test key."""

    def _pseudo(raw: str, domain: str) -> str:
        return pseudonymise(np.array([raw], dtype=object), key, domain)[0]

    return _pseudo


def store_digest(path: Path) -> str:
    """SHA-256 over the store file and its WAL (if any): 'byte-for-byte unchanged' means equal digests.

    Committed transactions are first checkpointed into the main file (a connection left open by code
    under test may not have done it yet), so the digest depends only on what was committed.
    A PostgreSQL store (a URL): the digest of everything its schema holds (``pg_support.dump``).
    """
    import pg_support

    if pg_support.is_pg(path):
        with contextlib.closing(store.connect(path, migrate_schema=False)) as c:
            return hashlib.sha256("\n".join(pg_support.dump(c)).encode()).hexdigest()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    h = hashlib.sha256()
    for suffix in ("", "-wal"):
        p = Path(f"{path}{suffix}")
        h.update(suffix.encode() + b"\x00")
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def digest():
    return store_digest


def store_bytes(path: Path) -> bytes:
    """Every byte the store keeps on disk: main file, WAL and shared-memory index (PostgreSQL: everything its
    schema holds, as text)."""
    import pg_support

    if pg_support.is_pg(path):
        with contextlib.closing(store.connect(path, migrate_schema=False)) as c:
            return "\n".join(pg_support.dump(c)).encode()
    return b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal", "-shm") if Path(f"{path}{s}").exists())


@pytest.fixture
def raw_store_bytes():
    return store_bytes


@dataclass
class KpiRun:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def run_kpi(fresh_db):
    """run_kpi(*argv) -> KpiRun; ``--db`` defaults to ``fresh_db``. Usage errors (SystemExit) give their code."""
    from kpi_cli import main as cli

    def _run(*argv: str | Path) -> KpiRun:
        args = [str(a) for a in argv]
        if "--db" not in args:
            args += ["--db", str(fresh_db)]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(args)
            except SystemExit as e:  # argparse usage errors
                code = e.code if isinstance(e.code, int) else 2
        return KpiRun(code, out.getvalue(), err.getvalue())

    return _run
