"""The store: all-or-nothing writes (injected failures, SIGKILL), concurrent writers, supersession and
restore, and pseudonymisation at rest."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import json
import os
import queue
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings as hyp_settings, strategies as st

import pg_support
from metrics import pg, store
from metrics.contract import KINDS, normalise_header
from metrics.ingest import ingest_bytes
from metrics.pseudonym import PSEUDONYM_HEX_CHARS, _hmac_sha256_prefixed, load_key, pseudonymise
from metrics.settings import Settings, get_settings

pytestmark = pytest.mark.both_engines

GOOD = Path(__file__).resolve().parent / "fixtures" / "good"
HEADER = "assessment_id,child_id,start_date,completed_date,nfa,team\n"


# --- helpers ---------------------------------------------------------------------------------


def assessments(n: int, month: str = "2023-04", prefix: str = "A", start: int = 0) -> bytes:
    """n assessments completed in ``month`` (days spread over 1..28)."""
    lines = [HEADER]
    for i in range(start, start + n):
        lines.append(f"{prefix}{i:07d},C{i % 997:06d},{month}-01,{month}-{1 + i % 28:02d},{'YN'[i % 2]},T{i % 5}\n")
    return "".join(lines).encode()


def ingest(db: Path, data: bytes, settings, name: str = "upload.csv", **kw):
    conn = store.connect(db)
    try:
        return ingest_bytes(conn, data, name, settings=settings, **kw)
    finally:
        conn.close()


def accepted(r):
    assert r.status == "accepted", [(e.rule, e.row, e.column, e.message) for e in r.errors]
    return r


def dump(conn: sqlite3.Connection) -> list[str]:
    """Everything in the store, as SQL text: equal dumps = nothing changed."""
    return pg_support.dump(conn)


def rec_count(conn, kind: str, upload_id: int | None = None) -> int:
    sql = f"SELECT count(*) FROM {store.record_table(kind)}" + (" WHERE upload_id = ?" if upload_id else "")
    return conn.execute(sql, (upload_id,) if upload_id else ()).fetchone()[0]


def pointers(conn, kind: str) -> dict[str, int]:
    return {r["month"] if r["scope"] == "" else f"{r['scope']}@{r['month']}": r["upload_id"] for r in conn.execute(
        "SELECT scope, month, upload_id FROM current_months WHERE kind = ? ORDER BY scope, month", (kind,))}


def statuses(conn) -> dict[int, str]:
    return {u["id"]: u["status"] for u in store.list_uploads(conn)}


# --- atomicity: failures injected mid-write ----------------------------------------------------

FAIL_AT = {"first-row": 0, "end-of-first-batch": 9, "batch-boundary": 10, "last-row": 24}


@pytest.mark.parametrize("fail_at", FAIL_AT.values(), ids=FAIL_AT.keys())
def test_failure_mid_insert_leaves_no_partial_rows(fail_at, fresh_db, settings, monkeypatch):
    monkeypatch.setattr(store, "INSERT_BATCH", 10)
    earlier = accepted(ingest(fresh_db, assessments(3, prefix="E"), settings))
    conn = store.connect(fresh_db)
    on_pg = pg_support.is_pg(fresh_db)
    if on_pg:  # the same fault as a PostgreSQL trigger (rows go in with COPY: the error comes when it ends)
        monkeypatch.setattr(pg, "COPY_BATCH", 10)
        conn.raw.execute(
            "CREATE FUNCTION inject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF (SELECT count(*) FROM"
            f" rec_assessments WHERE upload_id = NEW.upload_id) >= {fail_at} THEN RAISE EXCEPTION 'injected';"
            " END IF; RETURN NEW; END $$")
        conn.raw.execute("CREATE TRIGGER inject BEFORE INSERT ON rec_assessments FOR EACH ROW EXECUTE FUNCTION inject()")
    else:
        conn.execute(
            "CREATE TRIGGER inject BEFORE INSERT ON rec_assessments WHEN (SELECT count(*) FROM rec_assessments"
            f" WHERE upload_id = NEW.upload_id) >= {fail_at} BEGIN SELECT RAISE(ABORT, 'injected'); END")
    before = dump(conn)
    batches: list[float] = []
    with pytest.raises(sqlite3.DatabaseError, match="injected"):
        ingest_bytes(conn, assessments(25), "big.csv", settings=settings, progress=batches.append)
    if not on_pg:
        assert len(batches) == fail_at // 10  # the failure came after this many whole batches were inserted
    assert not conn.in_transaction
    assert dump(conn) == before
    assert [u["id"] for u in store.list_uploads(conn)] == [earlier.upload_id]
    assert pointers(conn, "assessments") == {"2023-04": earlier.upload_id}
    assert rec_count(conn, "assessments") == 3
    # the connection is still usable: without the fault the same file goes in whole
    conn.execute("DROP TRIGGER inject" + (" ON rec_assessments" if on_pg else ""))
    r = accepted(ingest_bytes(conn, assessments(25), "big.csv", settings=settings))
    assert rec_count(conn, "assessments", r.upload_id) == 25
    conn.close()


class Injected(RuntimeError):
    pass


def _raise(*_a, **_k):
    raise Injected("injected")


@pytest.mark.parametrize("where", ["progress-after-first-batch", "make-current", "on-commit"])
def test_failure_after_rows_are_written_rolls_back_everything(where, fresh_db, settings, monkeypatch):
    monkeypatch.setattr(store, "INSERT_BATCH", 10)
    earlier = accepted(ingest(fresh_db, assessments(3, prefix="E"), settings))
    kw = {}
    if where == "progress-after-first-batch":
        kw["progress"] = _raise
    elif where == "on-commit":
        kw["on_commit"] = _raise
    else:
        monkeypatch.setattr(store, "_make_current", _raise)
    conn = store.connect(fresh_db)
    before = dump(conn)
    with pytest.raises(Injected):
        ingest_bytes(conn, assessments(25), "big.csv", settings=settings, **kw)
    assert not conn.in_transaction
    assert dump(conn) == before
    assert statuses(conn) == {earlier.upload_id: "current"}
    conn.close()


# --- SIGKILL in the middle of a large upload ---------------------------------------------------

KILL_ROWS = 40_000
KILL_BATCH = 8_000
CHILD = r"""
import sys, time
from metrics import store
from metrics.ingest import ingest_path
from metrics.settings import Settings

store.INSERT_BATCH = int(sys.argv[3])
hold_at = float(sys.argv[4])

def progress(f):
    print(f"progress {f:.3f}", flush=True)
    if f >= hold_at:
        time.sleep(120)  # the parent kills us here: all rows inserted, nothing committed

settings = Settings(db_path=sys.argv[1])
conn = store.connect(settings.db_path)
print("ready", flush=True)
r = ingest_path(conn, sys.argv[2], settings=settings, progress=progress)
print("done", r.status, flush=True)
"""


@pytest.fixture(scope="module")
def big_assessments(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "assessments_big.csv"
    path.write_bytes(assessments(KILL_ROWS, prefix="K"))
    return path


def _wal_size(db: Path) -> int:
    try:
        return os.path.getsize(f"{db}-wal")
    except OSError:
        return 0


def _upload_rows(db: Path, upload_id: int) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM rec_assessments WHERE upload_id = ? ORDER BY assessment_id",
                            (upload_id,)).fetchall()
    finally:
        conn.close()


def _reader(stream, q: queue.Queue) -> None:
    for line in stream:
        q.put(line.strip())


# moment -> (how the parent decides when to kill, progress fraction at which the child holds)
KILL_MOMENTS = {
    "after-0.3s": 2.0,
    "during-executemany": 2.0,  # WAL growing inside a batch, after the first batch is in
    "all-rows-inserted-before-commit": 1.0,
    "after-1s": 2.0,
}


@pytest.mark.slow
@pytest.mark.parametrize("moment", KILL_MOMENTS)
def test_sigkill_leaves_the_upload_wholly_present_or_wholly_absent(moment, fresh_db, settings, big_assessments):
    if pg_support.is_pg(fresh_db):
        pytest.skip("SQLite's WAL recovery; a PostgreSQL server rolls back a killed client's transaction itself")
    earlier = accepted(ingest(fresh_db, assessments(3, prefix="E"), settings))
    earlier_rows = _upload_rows(fresh_db, earlier.upload_id)
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(fresh_db), str(big_assessments), str(KILL_BATCH),
                          str(KILL_MOMENTS[moment])], stdout=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(p.stdout, lines), daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 60
    t0 = wal_at_first_batch = None
    wal_at_kill = 0
    try:
        while p.poll() is None and time.monotonic() < deadline:
            while not lines.empty():
                seen.append(lines.get())
                if seen[-1] == "ready":
                    t0 = time.monotonic()
                if seen[-1].startswith("progress") and wal_at_first_batch is None:
                    wal_at_first_batch = _wal_size(fresh_db)
            wal = _wal_size(fresh_db)
            kill = t0 is not None and (
                (moment == "after-0.3s" and time.monotonic() - t0 >= 0.3)
                or (moment == "after-1s" and time.monotonic() - t0 >= 1.0)
                or (moment == "during-executemany" and wal_at_first_batch is not None
                    and wal > wal_at_first_batch + 256 * 1024)
                or (moment == "all-rows-inserted-before-commit" and "progress 1.000" in seen)
            )
            if kill:
                wal_at_kill = wal
                break
            time.sleep(0.002)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
    assert p.returncode in (-signal.SIGKILL, 0), p.returncode
    if moment in ("during-executemany", "all-rows-inserted-before-commit"):
        # the kill must have landed inside the write transaction, not before or after it
        assert p.returncode == -signal.SIGKILL and wal_at_kill > 0 and not any(s.startswith("done") for s in seen), seen

    conn = sqlite3.connect(fresh_db)
    conn.row_factory = sqlite3.Row
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ups = store.list_uploads(conn)
    assert ups[0]["id"] == earlier.upload_id and ups[0]["rows"] == 3
    assert _upload_rows(fresh_db, earlier.upload_id) == earlier_rows
    if len(ups) == 1:  # wholly absent
        assert rec_count(conn, "assessments") == 3
        assert pointers(conn, "assessments") == {"2023-04": earlier.upload_id}
        assert ups[0]["status"] == "current"
    else:  # wholly present
        assert len(ups) == 2 and ups[1]["rows"] == KILL_ROWS
        assert rec_count(conn, "assessments", ups[1]["id"]) == KILL_ROWS
        assert pointers(conn, "assessments") == {"2023-04": ups[1]["id"]}
        assert ups[0]["status"] == "superseded"
        assert len(store.read_current(conn, "assessments")) == KILL_ROWS
    if moment == "all-rows-inserted-before-commit":
        assert len(ups) == 1  # every row was written, none was committed
    conn.close()
    # the store is usable afterwards (no stale lock, no half-applied pointer)
    r = accepted(ingest(fresh_db, assessments(2, month="2023-06", prefix="Z"), settings))
    assert r.upload_id == ups[-1]["id"] + 1


# --- concurrent writers ---------------------------------------------------------------------

RACER = r"""
import json, sys, time
from pathlib import Path
from metrics import store
from metrics.ingest import ingest_path
from metrics.settings import Settings

go = Path(sys.argv[3])
target = sys.argv[1]
settings = Settings(db_url=target) if target.startswith("postgresql://") else Settings(db_path=target)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
conn = store.connect(settings.store_target)
r = ingest_path(conn, sys.argv[2], settings=settings)
print(json.dumps({"status": r.status, "upload_id": r.upload_id, "rows": r.rows, "kind": r.kind,
                  "errors": [e.message for e in r.errors]}))
"""

RACES = {
    # name: (file 1 (kind, month, rows), file 2, store exists beforehand)
    "different-kinds": (("assessments", "2023-04", 8_000), ("audits", "2023-04", 6_000), True),
    "same-kind-and-month": (("assessments", "2023-04", 8_000), ("assessments", "2023-04", 6_000), True),
    "same-kind-and-month-new-store": (("assessments", "2023-04", 8_000), ("assessments", "2023-04", 6_000), False),
}


def _race_file(path: Path, kind: str, month: str, n: int, tag: str) -> Path:
    if kind == "assessments":
        path.write_bytes(assessments(n, month=month, prefix=tag))
    else:
        rows = "".join(f"{tag}{i:07d},{month}-{1 + i % 28:02d},{'good' if i % 3 else 'RI'},C{i:06d},\n" for i in range(n))
        path.write_text("audit_id,audit_date,grade,child_id,team\n" + rows)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("race", RACES)
def test_two_processes_ingesting_at_once(race, fresh_db, settings, tmp_path):
    spec1, spec2, exists = RACES[race]
    if pg_support.is_pg(fresh_db):
        db = fresh_db if exists else fresh_db.rsplit("#", 1)[0] + f"#new_{tmp_path.name[-20:].lower()}"
    else:
        db = fresh_db if exists else tmp_path / "new" / "kpi.sqlite"
    files = [_race_file(tmp_path / "one.csv", *spec1, "P"), _race_file(tmp_path / "two.csv", *spec2, "Q")]
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(db), str(f), str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    for p in procs:  # both have imported everything and are polling for the go file
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    assert [o["status"] for o in outs] == ["accepted", "accepted"], outs
    assert [o["rows"] for o in outs] == [spec1[2], spec2[2]]

    conn = store.connect(db)
    ups = {u["id"]: u for u in store.list_uploads(conn)}
    assert sorted(ups) == sorted(o["upload_id"] for o in outs) and len(ups) == 2
    for o in outs:  # no lost rows
        assert rec_count(conn, o["kind"], o["upload_id"]) == o["rows"]
    assert sum(rec_count(conn, k) for k in KINDS) == spec1[2] + spec2[2]
    if race.startswith("same-kind-and-month"):
        winner = max(ups)  # the later transaction is current; the earlier one is kept, superseded
        assert pointers(conn, "assessments") == {"2023-04": winner}
        assert sorted(u["status"] for u in ups.values()) == ["current", "superseded"]
        assert ups[winner]["status"] == "current"
        assert len(store.read_current(conn, "assessments")) == ups[winner]["rows"]
    else:
        assert all(u["status"] == "current" for u in ups.values())
        assert sum(len(store.read_current(conn, k)) for k in ("assessments", "audits")) == spec1[2] + spec2[2]
    assert pg_support.integrity_ok(conn)
    conn.close()


# --- supersession and restore -------------------------------------------------------------------


def test_reupload_supersedes_without_double_counting_and_restore_brings_it_back(fresh_db, settings):
    old = accepted(ingest(fresh_db, assessments(5, prefix="O"), settings, name="april_v1.csv"))
    new = accepted(ingest(fresh_db, assessments(3, prefix="N"), settings, name="april_v2.csv"))
    assert [u["id"] for u in new.replaces] == [old.upload_id]
    conn = store.connect(fresh_db)
    assert len(store.read_current(conn, "assessments")) == 3  # the new file's rows only, never 5 + 3
    assert statuses(conn) == {old.upload_id: "superseded", new.upload_id: "current"}
    assert rec_count(conn, "assessments") == 8  # history is kept

    restored = store.restore(conn, old.upload_id)
    assert restored["status"] == "restored"
    assert statuses(conn) == {old.upload_id: "restored", new.upload_id: "superseded"}
    assert len(store.read_current(conn, "assessments")) == 5
    assert pointers(conn, "assessments") == {"2023-04": old.upload_id}
    conn.close()


def test_restore_of_an_unknown_upload_changes_nothing(fresh_db, settings):
    accepted(ingest(fresh_db, assessments(2), settings))
    conn = store.connect(fresh_db)
    before = dump(conn)
    with pytest.raises(store.NotFound):
        store.restore(conn, 999)
    assert not conn.in_transaction and dump(conn) == before
    conn.close()


def test_one_month_upload_partly_supersedes_a_three_month_upload(fresh_db, settings):
    three = b"".join([assessments(2, "2023-04", "Q"), assessments(3, "2023-05", "Q", 2).split(b"\n", 1)[1],
                      assessments(4, "2023-06", "Q", 5).split(b"\n", 1)[1]])
    a = accepted(ingest(fresh_db, three, settings))
    assert a.months == ["2023-04", "2023-05", "2023-06"] and a.rows == 9
    b = accepted(ingest(fresh_db, assessments(7, "2023-05", "M"), settings))
    conn = store.connect(fresh_db)
    assert pointers(conn, "assessments") == {"2023-04": a.upload_id, "2023-05": b.upload_id, "2023-06": a.upload_id}
    by_month = store.read_current(conn, "assessments").groupby("month").size().to_dict()
    assert by_month == {"2023-04": 2, "2023-05": 7, "2023-06": 4}
    assert statuses(conn) == {a.upload_id: "current", b.upload_id: "current"}  # a still counts for Apr and Jun
    # restoring the three-month upload takes May back too
    store.restore(conn, a.upload_id)
    assert store.read_current(conn, "assessments").groupby("month").size().to_dict() == {
        "2023-04": 2, "2023-05": 3, "2023-06": 4}
    assert statuses(conn) == {a.upload_id: "restored", b.upload_id: "superseded"}
    conn.close()
    # once every month it covered has been replaced, the three-month upload is superseded
    c = accepted(ingest(fresh_db, assessments(1, "2023-04", "X"), settings))
    d = accepted(ingest(fresh_db, assessments(1, "2023-06", "Y"), settings))
    conn = store.connect(fresh_db)
    assert statuses(conn)[a.upload_id] == "restored"  # still current for May
    e = accepted(ingest(fresh_db, assessments(1, "2023-05", "Z"), settings))
    assert statuses(conn) == {a.upload_id: "superseded", b.upload_id: "superseded", c.upload_id: "current",
                              d.upload_id: "current", e.upload_id: "current"}
    conn.close()


def test_figures_supersede_per_metric_and_month(fresh_db, settings):
    f1 = accepted(ingest(fresh_db, b"month,metric,numerator,denominator\n2023-04,assessment_nfa_rate,30,120\n"
                                   b"2023-04,agency_rate,50,100\n", settings))
    f2 = accepted(ingest(fresh_db, b"month,metric,numerator,denominator\n2023-04,agency_rate,40,100\n", settings))
    conn = store.connect(fresh_db)
    got = {r["metric"]: r["numerator"] for r in store.read_current(conn, "figures").to_dict("records")}
    assert got == {"assessment_nfa_rate": 30.0, "agency_rate": 40.0}  # nfa figures are not displaced
    assert pointers(conn, "figures") == {"agency_rate@2023-04": f2.upload_id,
                                         "assessment_nfa_rate@2023-04": f1.upload_id}
    assert statuses(conn) == {f1.upload_id: "current", f2.upload_id: "current"}
    conn.close()


def test_snapshot_reupload_supersedes_that_month_only(fresh_db, settings):
    wf = (GOOD / "workforce_canonical.csv").read_bytes()
    apr = accepted(ingest(fresh_db, wf, settings, month="2023-04"))
    may = accepted(ingest(fresh_db, wf, settings, month="2023-05"))
    # issue 15: the same file again for April is identical to the current upload: unchanged, no upload made
    same = ingest(fresh_db, wf, settings, month="2023-04")
    assert (same.status, same.upload_id) == ("unchanged", apr.upload_id)
    assert any("Identical to upload" in w for w in same.warnings)
    apr2 = accepted(ingest(fresh_db, wf.replace(b"Safeguarding East", b"Safeguarding West"), settings,
                           month="2023-04"))
    conn = store.connect(fresh_db)
    assert len(store.list_uploads(conn)) == 3
    assert pointers(conn, "workforce") == {"2023-04": apr2.upload_id, "2023-05": may.upload_id}
    assert statuses(conn) == {apr.upload_id: "superseded", may.upload_id: "current", apr2.upload_id: "current"}
    assert store.read_current(conn, "workforce").groupby("month").size().to_dict() == {"2023-04": 4, "2023-05": 4}
    conn.close()


# --- schema: named, ordered migrations (metrics/schema.py) ---------------------------------------------

SCHEMA_VERSIONS = Path(__file__).resolve().parent / "fixtures" / "schema_versions"  # made by the code before


def schema_sql(conn: sqlite3.Connection) -> list[tuple]:
    return [tuple(r) for r in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")]


def old_store(tmp_path: Path, version: int) -> Path:
    path = tmp_path / f"v{version}.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.executescript((SCHEMA_VERSIONS / f"v{version}.sql").read_text(encoding="utf-8"))
    return path


@pytest.mark.parametrize("version", range(len(store.MIGRATIONS) + 1))
def test_a_store_made_at_any_earlier_version_migrates_to_the_fresh_schema(version, tmp_path, fresh_db):
    if pg_support.is_pg(fresh_db):
        pytest.skip("SQLite files of each released version; PostgreSQL: tests/test_pg.py migrates step by step")
    from metrics import audit

    path = old_store(tmp_path, version)
    with contextlib.closing(sqlite3.connect(path)) as c:
        assert store.schema_version(c) == version
        before = {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t, in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'store_meta'")}
        meta = dict(c.execute("SELECT key, value FROM store_meta").fetchall()) if version else {}
        old_dump = dump(c)
    with contextlib.closing(store.connect(path)) as c, contextlib.closing(store.connect(fresh_db)) as fresh:
        assert store.schema_version(c) == store.schema_version(fresh) == len(store.MIGRATIONS) == 9
        assert schema_sql(c) == schema_sql(fresh)
        assert {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before} == before  # rows kept
        now = dict(c.execute("SELECT key, value FROM store_meta").fetchall())
        assert {k: now[k] for k in now if k != "audit_head"} == {k: meta[k] for k in meta if k != "audit_head"}
        assert audit.verify_chain(c) == (True, f"{before.get('audit_log', 0)} audit rows, hash chain intact")
        if version == len(store.MIGRATIONS):
            assert dump(c) == old_dump  # a store at today's version opens unchanged


def test_migrations_are_named_functions_in_order_and_none_is_loaded_by_name():
    from metrics import schema

    assert store.MIGRATIONS is schema.MIGRATIONS
    names = [name for name, _ in schema.MIGRATIONS]
    assert len(set(names)) == len(names) and all(isinstance(n, str) and n for n in names)
    assert all(callable(step) and step.__module__ == "metrics.schema" for _, step in schema.MIGRATIONS)
    assert "importlib" not in Path(store.__file__).read_text(encoding="utf-8")


def test_a_failing_migration_step_leaves_the_store_at_its_version(tmp_path, monkeypatch):
    path = old_store(tmp_path, 4)
    with contextlib.closing(sqlite3.connect(path)) as c:
        before = dump(c)

    def broken(db):
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("step failed")

    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS[:5], ("broken", broken)])
    with pytest.raises(RuntimeError, match="step failed"):
        store.connect(path)
    with contextlib.closing(sqlite3.connect(path)) as c:
        assert store.schema_version(c) == 4 and not c.in_transaction
        assert dump(c) == before  # step 5 (evidence) rolled back with the broken step 6


def test_every_transaction_is_begun_and_ended_by_store_transaction_alone():
    """One transaction helper: no other code runs BEGIN, COMMIT or ROLLBACK (trigger bodies aside)."""
    import ast
    import re

    root = Path(__file__).resolve().parent.parent
    control = re.compile(r"^\s*(BEGIN(?! SELECT)|COMMIT|ROLLBACK|END\b|SAVEPOINT|RELEASE)", re.I)
    found = []
    for path in sorted(p for pkg in ("metrics", "reports", "dashboard", "kpi_cli") for p in (root / pkg).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("execute", "executescript") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and control.match(node.args[0].value)):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.args[0].value}")
    assert [f.split(":")[0] for f in found] == ["metrics/store.py"] * 3, found  # BEGIN IMMEDIATE, COMMIT, ROLLBACK


# --- pseudonymisation -----------------------------------------------------------------------------


@pytest.fixture
def keyless(monkeypatch, settings):
    """No KPI_PSEUDONYM_KEY: the key comes from a key file."""
    monkeypatch.delenv("KPI_PSEUDONYM_KEY")
    get_settings.cache_clear()
    return settings


def test_key_file_is_created_0600_beside_the_store_and_reused(keyless, tmp_path):
    db = tmp_path / "store" / "kpi.sqlite"
    s = Settings(db_path=db)
    assert s.pseudonym_key is None
    key_file = db.parent / "pseudonym.key"
    r1 = accepted(ingest(db, assessments(2), s))
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert len(key.strip()) == 64
    r2 = accepted(ingest(db, assessments(2, month="2023-05", prefix="B"), s))  # other assessments, same children
    assert key_file.read_bytes() == key  # reused, not regenerated
    conn = store.connect(db)
    stored = store.read_current(conn, "assessments")
    conn.close()
    # both uploads hashed the same children with the key from the file: the pseudonyms link across months
    expected = set(pseudonymise(np.array(["C000000", "C000001"], dtype=object), key.strip(), "child_id"))
    assert stored.groupby("month")["child_id"].apply(set).to_dict() == {"2023-04": expected, "2023-05": expected}
    assert r1.upload_id != r2.upload_id
    assert key.strip() not in (db.read_bytes())  # the key never goes into the store


def test_key_file_setting_puts_the_key_elsewhere(keyless, tmp_path, monkeypatch):
    key_file = tmp_path / "secrets" / "kpi.key"
    monkeypatch.setenv("KPI_KEY_FILE", str(key_file))
    s = Settings(db_path=tmp_path / "store" / "kpi.sqlite")
    accepted(ingest(s.db_path, assessments(1), s))
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (s.db_path.parent / "pseudonym.key").exists()


def test_short_key_from_the_environment_is_refused(tmp_path):
    with pytest.raises(ValueError):
        load_key(Settings(db_path=tmp_path / "kpi.sqlite", pseudonym_key="too-short"))


@pytest.mark.parametrize("content", ["", "short\n"], ids=["empty", "short"])
def test_empty_or_short_key_file_is_never_used(content, tmp_path):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(content)
    key_file.chmod(0o600)
    try:
        key = load_key(Settings(db_path=tmp_path / "kpi.sqlite", key_file=key_file, pseudonym_key=None))
    except ValueError:
        return
    assert len(key) >= 16


@given(key=st.one_of(st.binary(max_size=64), st.binary(min_size=65, max_size=300)), prefix=st.binary(max_size=40), msgs=st.lists(st.binary(max_size=300), max_size=4))
@hyp_settings(max_examples=300, deadline=None)
def test_prefixed_hmac_equals_the_standard_library(key, prefix, msgs):
    h = _hmac_sha256_prefixed(key, prefix)
    for msg in msgs:  # the pads are reused across messages: each must still be exact
        assert h(msg) == hmac.new(key, prefix + msg, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_CHARS]


@pytest.mark.parametrize("key_len", [0, 1, 63, 64, 65, 200])
def test_prefixed_hmac_at_block_size_edges(key_len):
    key = bytes(range(256))[:key_len]
    assert _hmac_sha256_prefixed(key, b"child_id\x00")(b"000123") == hmac.new(
        key, b"child_id\x00000123", hashlib.sha256).hexdigest()[:32]


def test_no_raw_identifier_reaches_the_store(fresh_db, settings, raw_store_bytes):
    snapshot = {"workforce", "allocations", "complaints", "milestones"}
    raw_ids: set[str] = set()
    for f in sorted(GOOD.glob("*.csv")):
        kind = f.name.split("_")[0]
        opts = {"month": "2023-04"} if kind in snapshot and "snapshot_date" not in f.name else {}
        r = accepted(ingest(fresh_db, f.read_bytes(), settings, name=f.name, **opts))
        hmap = KINDS[r.kind].header_map()
        with open(f, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for h, v in row.items():
                    col = hmap.get(normalise_header(h))
                    if col and col != "snapshot_date" and KINDS[r.kind].column(col).pseudonymise and v.strip():
                        raw_ids.add(v.strip())
    assert {"C000123", "W000123", "A0001", "CP0001", "AU0001", "CO0001"} <= raw_ids
    if pg_support.is_pg(fresh_db):
        with contextlib.closing(store.connect(fresh_db)) as conn:
            blob = "\n".join(pg_support.dump(conn)).encode()
    else:
        blob = raw_store_bytes(fresh_db)
    leaked = sorted(i for i in raw_ids if i.encode() in blob)
    assert leaked == []
    assert b"M001" in blob  # milestone ids name lines of a public plan and are stored as given
