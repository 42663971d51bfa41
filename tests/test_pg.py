"""The PostgreSQL engine (metrics/pg.py): the same schema as SQLite, the same KPI results, writers serialised per
store, and an application role that cannot rewrite the audit trail. (The store, ingest, KPI, review, evidence,
actions, access and audit tests run on both engines through the ``both_engines`` marker; this file holds what is
PostgreSQL's own.)"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pytest

import pg_support
from metrics import pg, store
from metrics.compute import BREAKDOWNS, breakdown, compute_series, secondary_series
from metrics.schema import MIGRATIONS


@pytest.fixture
def pg_store(pg_cluster, settings):
    url = pg_cluster.new_schema_url()
    conn = store.connect(url)
    yield url, conn
    conn.close()


def _tables(conn) -> dict[str, list[str]]:
    if store.engine(conn) == "postgresql":
        names = [t for (t,) in conn.raw.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                                                  (conn.schema,)) if t != pg.VERSION_TABLE]
    else:
        names = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                            " AND name NOT LIKE 'sqlite_%'")]
    return {t: pg_support.table_columns(conn, t) for t in sorted(names)}


def _triggers(conn) -> list[str]:
    return [line for line in pg_support.dump(conn) if line.startswith("trigger ")]


# --- the schema ----------------------------------------------------------------------------------------------


def test_every_migration_step_has_a_postgresql_body():
    assert [step.__name__ for _, step in MIGRATIONS] == list(pg.STEPS)


def test_both_engines_have_the_same_tables_and_columns_after_all_migrations(pg_store, fresh_db):
    _, pg_conn = pg_store
    with contextlib.closing(store.connect(fresh_db)) as lite:
        expected = _tables(lite)
    assert _tables(pg_conn) == expected
    assert store.schema_version(pg_conn) == len(MIGRATIONS)


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
def test_a_schema_at_any_earlier_version_migrates_to_the_fresh_schema(version, pg_store, pg_cluster):
    _, fresh = pg_store
    url = pg_cluster.new_schema_url("old")
    conn = pg.connect(url)
    with store.transaction(conn):
        pg.prepare_schema(conn)
        for _, step in MIGRATIONS[:version]:
            pg.STEPS[step.__name__](conn)
        pg.set_schema_version(conn, version)
    conn.close()
    with contextlib.closing(store.connect(url)) as conn:
        assert store.schema_version(conn) == len(MIGRATIONS)
        assert _tables(conn) == _tables(fresh)
        assert _triggers(conn) == _triggers(fresh)


def test_a_bad_schema_name_is_refused_plainly(pg_cluster):
    with pytest.raises(ValueError, match="'La-884' is not a usable store schema name"):
        store.connect(pg_cluster.url + "#La-884")


def test_settings_db_url_wins_over_db_path(monkeypatch, tmp_path):
    from metrics.settings import Settings

    assert Settings(db_path=tmp_path / "a.sqlite").store_target == str(tmp_path / "a.sqlite")
    assert Settings(db_path=tmp_path / "a.sqlite", db_url="postgresql://h/db#la_884").store_target == \
        "postgresql://h/db#la_884"


# --- SQL translation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sqlite, postgres", [
    ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
    ("SELECT * FROM t WHERE a = :u AND b <= :e", "SELECT * FROM t WHERE a = %(u)s AND b <= %(e)s"),
    ("SELECT '?', ':x', 'it''s ? 100%' FROM t WHERE a = ?", "SELECT '?', ':x', 'it''s ? 100%%' FROM t WHERE a = %s"),
    ("SELECT x::text FROM t", "SELECT x::text FROM t"),
    ("INSERT OR IGNORE INTO m (a) VALUES (?)", "INSERT INTO m (a) VALUES (%s) ON CONFLICT DO NOTHING"),
    ("SELECT group_concat(r.child_id, char(31)) FROM r", "SELECT string_agg(r.child_id, chr(31)) FROM r"),
])
def test_sqlite_sql_is_translated(sqlite, postgres):
    assert pg.translate(sqlite) == postgres


def test_rows_index_by_name_and_position_like_sqlite_rows(pg_store):
    _, conn = pg_store
    r = conn.execute("SELECT 1 AS a, 'x' AS b").fetchone()
    assert (r[0], r["a"], r[1], r["b"], tuple(r), dict(r)) == (1, 1, "x", "x", (1, "x"), {"a": 1, "b": "x"})


def test_trigger_errors_come_out_as_sqlite_errors_with_the_same_message(pg_store):
    import sqlite3

    from metrics.reviews.store import save_settings
    from metrics.reviews.settings import default_settings

    _, conn = pg_store
    save_settings(conn, default_settings(), "tester")
    with pytest.raises(sqlite3.IntegrityError, match="^review settings versions are append-only: save a new version$"):
        conn.execute("UPDATE review_settings_versions SET note = 'x'")
    assert not conn.in_transaction  # the connection is still usable
    assert conn.execute("SELECT count(*) FROM review_settings_versions").fetchone()[0] == 1


# --- the same answers ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_gives_identical_kpis_on_both_engines(pg_cluster, demo_template, settings):
    from metrics.demo_store import build_demo

    url = pg_cluster.new_schema_url("demo")
    build_demo(url)
    with contextlib.closing(store.connect(demo_template, migrate_schema=False)) as lite, \
            contextlib.closing(store.connect(url)) as post:
        assert store.list_uploads(post) and len(store.list_uploads(post)) == len(store.list_uploads(lite))
        for compute in (compute_series, secondary_series):
            pd.testing.assert_frame_equal(compute(post), compute(lite))
        pd.testing.assert_frame_equal(compute_series(post, hybrid_face_to_face=False),
                                      compute_series(lite, hybrid_face_to_face=False))
        for metric, bys in BREAKDOWNS.items():
            for by in bys:
                pd.testing.assert_frame_equal(breakdown(post, metric, by=by), breakdown(lite, metric, by=by))
        pd.testing.assert_frame_equal(store.coverage(post), store.coverage(lite))


@pytest.mark.slow
def test_the_kpis_read_each_record_table_once_on_postgresql(pg_cluster, monkeypatch, settings):
    """One query per extract kind over every month (not one per month): a month's rows are scattered through a
    PostgreSQL heap, so per-month queries re-read the table (issue 16: ten KPIs for a council in ≤ 2 s)."""
    from metrics.demo_store import build_demo

    url = pg_cluster.new_schema_url("demo")
    build_demo(url)
    seen: list[str] = []
    real = pg.PgCursor.execute

    def counting(self, sql, params=None):
        seen.append(sql)
        return real(self, sql, params)

    with contextlib.closing(store.connect(url)) as post:
        months = post.execute("SELECT COUNT(DISTINCT month) FROM current_months WHERE kind = 'assessments'").fetchone()[0]
        assert months > 1
        monkeypatch.setattr(pg.PgCursor, "execute", counting)
        compute_series(post)
    for kind in ("workforce", "assessments", "conferences", "audits", "milestones", "complaints"):
        assert sum(f"FROM rec_{kind} " in q for q in seen) == 1, kind


# --- one writer per store --------------------------------------------------------------------------------------------


def test_writers_to_one_schema_are_serialised_and_other_schemas_are_not(pg_store, pg_cluster):
    url, first = pg_store
    second = store.connect(url)
    other = store.connect(pg_cluster.new_schema_url("other"))
    entered = threading.Event()
    waited: list[float] = []

    def writer():
        t0 = time.monotonic()
        with store.transaction(second):
            entered.set()
            waited.append(time.monotonic() - t0)

    with store.transaction(first):
        t = threading.Thread(target=writer)
        t.start()
        with store.transaction(other):  # another store (schema): not held up
            pass
        assert not entered.wait(0.5)  # the second writer of the same store waits for the first
    t.join(10)
    assert entered.is_set() and waited[0] >= 0.5
    second.close()
    other.close()


# --- the application's role --------------------------------------------------------------------------------------------


def _as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))


def test_the_app_role_can_upload_but_never_change_the_audit_trail(pg_store, pg_cluster, run_kpi, settings, tmp_path):
    import sqlite3

    if not pg_cluster.url.startswith("postgresql://kpi@127.0.0.1"):
        pytest.skip("signs in as a new role without a password: the throwaway cluster only")
    url, owner = pg_store
    role = f"kpi_app_{uuid.uuid4().hex[:8]}"
    owner.raw.execute(f"CREATE ROLE {role} LOGIN")
    res = run_kpi("db", "grant-app-role", role, "--db", url)
    assert res.code == 0, res.err
    assert "only read and append to audit_log" in res.err

    csv = tmp_path / "assessments.csv"
    csv.write_text("assessment_id,child_id,start_date,completed_date,nfa,team\nA1,C1,01/04/2023,10/04/2023,0,T1\n")
    assert run_kpi("ingest", csv, "--db", _as_role(url, role)).code == 0  # uploads, audited, as the app role
    with contextlib.closing(store.connect(_as_role(url, role))) as app:
        assert app.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 1
        for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
                    "TRUNCATE audit_log", "ALTER TABLE audit_log DISABLE TRIGGER USER",
                    "DELETE FROM review_settings_versions", "DROP TABLE audit_log"):
            with pytest.raises(sqlite3.OperationalError, match="permission denied|must be owner"):
                app.execute(sql)
        assert app.execute("SELECT actor FROM audit_log").fetchone()[0] != "someone else"


def test_grant_app_role_refuses_an_unknown_role_and_a_sqlite_store(pg_store, run_kpi, fresh_db):
    url, _ = pg_store
    res = run_kpi("db", "grant-app-role", "no_such_role", "--db", url)
    assert res.code == 1 and "there is no PostgreSQL role 'no_such_role'" in res.err
    res = run_kpi("db", "grant-app-role", "kpi_app", "--db", str(fresh_db))
    assert res.code == 1 and "for a PostgreSQL store" in res.err


@pytest.mark.both_engines
def test_a_record_row_must_belong_to_an_upload_on_both_engines(fresh_db):
    import sqlite3

    with contextlib.closing(store.connect(fresh_db)) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
            with store.transaction(conn):
                conn.execute("INSERT INTO rec_assessments (upload_id, month, assessment_id) VALUES (?, ?, ?)",
                             (42, "2023-04", "A1"))
        assert conn.execute("SELECT count(*) FROM rec_assessments").fetchone()[0] == 0
