"""Issue 17, points 3, 6, 11 and 12: the key bound to its store, the withdraw escape hatch, an audit trail
that cannot lie (replaces read under the write lock, hash chain), and `kpi check` / read-only / full-disk."""

from __future__ import annotations

import contextlib
import gc
import getpass
import io
import json
import multiprocessing
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from metrics import audit, store
from metrics.auth import Role, allowed
from metrics.ingest import ingest_bytes, restore_upload
from metrics.pseudonym import FINGERPRINT_META, KeyProblem, fingerprint
from metrics.settings import get_settings

from testkeys import TEST_KEY
import pg_support

pytestmark = pytest.mark.both_engines

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "tests" / "fixtures" / "good"
APP = str(ROOT / "dashboard" / "app.py")
HEADER = "assessment_id,child_id,start_date,completed_date,nfa,team\n"
OTHER_KEY = "another-key-entirely-0123456789abcdef"


def assessments(months: list[str], per_month: int = 3, prefix: str = "A") -> bytes:
    rows = [f"{prefix}{m}{i},C{i:05d},{m}-01,{m}-{1 + i:02d},{'YN'[i % 2]},T{i % 2}\n"
            for m in months for i in range(per_month)]
    return (HEADER + "".join(rows)).encode()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def db_conn(path: Path) -> sqlite3.Connection:
    return store.connect(path)


def use_key(monkeypatch, key: str | None) -> None:
    if key is None:
        monkeypatch.delenv("KPI_PSEUDONYM_KEY", raising=False)
    else:
        monkeypatch.setenv("KPI_PSEUDONYM_KEY", key)
    get_settings.cache_clear()


def audit_rows(path: Path, action: str) -> list[dict]:
    with contextlib.closing(store.connect(path, migrate_schema=False)) as c:
        return [dict(r) for r in c.execute("SELECT * FROM audit_log WHERE action = ? ORDER BY id", (action,))]


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text


# --- A. the key is bound to the store ---------------------------------------------------------------


def test_first_upload_records_a_fingerprint_never_the_key(run_kpi, fresh_db, tmp_path, raw_store_bytes):
    with contextlib.closing(db_conn(fresh_db)) as c:
        assert store.get_meta(c, FINGERPRINT_META) is None
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    with contextlib.closing(db_conn(fresh_db)) as c:
        assert store.get_meta(c, FINGERPRINT_META) == fingerprint(TEST_KEY.encode())
    assert TEST_KEY.encode() not in raw_store_bytes(fresh_db)
    assert fingerprint(TEST_KEY.encode()) != fingerprint(OTHER_KEY.encode())


@pytest.mark.parametrize("command", ["ingest", "restore", "withdraw"])
def test_another_key_is_refused_plainly_and_changes_nothing(command, run_kpi, fresh_db, tmp_path, monkeypatch, digest):
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    assert run_kpi("ingest", write(tmp_path / "b.csv", assessments(["2023-04"], prefix="B"))).code == 0
    use_key(monkeypatch, OTHER_KEY)
    before = digest(fresh_db)
    args = {"ingest": ("ingest", write(tmp_path / "c.csv", assessments(["2023-05"]))),
            "restore": ("restore", "1"), "withdraw": ("withdraw", "2")}[command]
    res = run_kpi(*args)
    assert res.code == 1
    assert "not the one this store's data was pseudonymised with" in res.err and "backup" in res.err
    no_traceback(res.err)
    assert digest(fresh_db) == before


@pytest.fixture
def keyless(monkeypatch, settings):
    use_key(monkeypatch, None)
    return settings.db_path.parent / "pseudonym.key"


def test_deleted_key_file_is_never_recreated_on_a_store_with_data(keyless, run_kpi, fresh_db, tmp_path, digest):
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    assert keyless.exists()
    keyless.unlink()
    before = digest(fresh_db)
    res = run_kpi("ingest", write(tmp_path / "b.csv", assessments(["2023-05"])))
    assert res.code == 1 and "missing" in res.err and "Restore the key file from your backup" in res.err
    no_traceback(res.err)
    assert not keyless.exists(), "a new key was created for a store that holds data"
    assert digest(fresh_db) == before
    assert run_kpi("key", "check").code == 1
    assert not keyless.exists()


def test_truncated_key_file_is_refused(keyless, run_kpi, fresh_db, tmp_path, digest):
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    keyless.write_text(keyless.read_text().strip()[:40] + "\n")  # still long enough to pass the length rule
    before = digest(fresh_db)
    res = run_kpi("ingest", write(tmp_path / "b.csv", assessments(["2023-05"])))
    assert res.code == 1 and "not the one this store's data was pseudonymised with" in res.err
    assert digest(fresh_db) == before
    res = run_kpi("key", "check")
    assert res.code == 1 and res.out.startswith("FAIL")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_file_readable_by_others_is_refused(mode, keyless, run_kpi, fresh_db, tmp_path, digest):
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    keyless.chmod(mode)
    before = digest(fresh_db)
    res = run_kpi("ingest", write(tmp_path / "b.csv", assessments(["2023-05"])))
    assert res.code == 1 and f"mode {mode:04o}" in res.err and f"chmod 600 {keyless}" in res.err
    no_traceback(res.err)
    assert digest(fresh_db) == before
    keyless.chmod(0o600)
    assert run_kpi("ingest", write(tmp_path / "b.csv", assessments(["2023-05"]))).code == 0


def test_a_0644_key_file_is_refused_even_before_the_first_upload(keyless, run_kpi, fresh_db, tmp_path, digest):
    keyless.write_text("k" * 64 + "\n")
    keyless.chmod(0o644)
    before = digest(fresh_db)
    res = run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"])))
    assert res.code == 1 and "can be read by other users" in res.err
    assert digest(fresh_db) == before


def test_key_check_exit_status(run_kpi, fresh_db, tmp_path, monkeypatch):
    res = run_kpi("key", "check")
    assert res.code == 0 and "OK" in res.out  # empty store: nothing to mismatch yet
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    res = run_kpi("key", "check")
    assert (res.code, res.out.strip()) == (0, "OK: the key matches the store")
    use_key(monkeypatch, OTHER_KEY)
    res = run_kpi("key", "check")
    assert res.code == 1 and res.out.startswith("FAIL: the pseudonymisation key is not the one")
    missing = tmp_path / "nowhere" / "kpi.sqlite"
    res = run_kpi("key", "check", "--db", missing)
    assert res.code == 1 and "no store" in res.err and not missing.parent.exists()


def test_demo_store_refuses_real_uploads(demo_copy_of, run_kpi, tmp_path, digest, monkeypatch):
    demo = demo_copy_of(tmp_path / "demo" / "kpi.sqlite")
    before = digest(demo)
    res = run_kpi("ingest", GOOD / "audits_canonical.csv", "--db", demo)
    assert res.code == 1 and "this is the demo store" in res.err.lower() and "synthetic" in res.err
    no_traceback(res.err)
    assert digest(demo) == before
    assert run_kpi("key", "check", "--db", demo).code == 1
    from metrics.demo_store import DEMO_KEY

    use_key(monkeypatch, DEMO_KEY)  # trying things out in the demo, under its own public key, still works
    assert run_kpi("key", "check", "--db", demo).code == 0
    assert run_kpi("ingest", GOOD / "audits_canonical.csv", "--db", demo).code == 0


def test_demo_rebuild_refuses_to_replace_a_store_of_real_data(run_kpi, fresh_db, tmp_path, digest):
    if pg_support.is_pg(fresh_db):
        pytest.skip("--replace deletes a SQLite file; a PostgreSQL store refuses any demo build over uploads (kpi_cli/serve.py)")
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    before = digest(fresh_db)
    res = run_kpi("demo", "--replace")
    assert res.code == 1 and "holds real uploads" in res.err and "will not delete it" in res.err
    assert digest(fresh_db) == before


def test_library_refusal_is_a_key_problem(fresh_db, settings):
    with contextlib.closing(db_conn(fresh_db)) as c:
        assert ingest_bytes(c, assessments(["2023-04"]), "a.csv", settings=settings).ok
        other = settings.model_copy(update={"pseudonym_key": OTHER_KEY})
        with pytest.raises(KeyProblem):
            ingest_bytes(c, assessments(["2023-05"]), "b.csv", settings=other)
        with pytest.raises(KeyProblem):
            restore_upload(c, 1, by="x", settings=other)


# --- B. withdraw: the escape hatch --------------------------------------------------------------------


def test_withdraw_makes_the_previous_upload_current_again_and_restore_undoes_it(run_kpi, fresh_db, tmp_path):
    q = ["2023-04", "2023-05", "2023-06"]
    assert run_kpi("ingest", write(tmp_path / "quarter.csv", assessments(q))).code == 0  # upload 1
    assert run_kpi("ingest", write(tmp_path / "may.csv", assessments(["2023-05"], 5, "M"))).code == 0  # 2
    assert run_kpi("ingest", write(tmp_path / "july.csv", assessments(["2023-07"]))).code == 0  # 3
    res = run_kpi("withdraw", "2")
    assert res.code == 0
    assert "withdrew upload 2" in res.err and "upload 1 is current again for 2023-05" in res.err
    assert "kpi restore 2" in res.err
    with contextlib.closing(db_conn(fresh_db)) as c:
        assert store.read_current(c, "assessments").groupby("month").size().to_dict() == {
            "2023-04": 3, "2023-05": 3, "2023-06": 3, "2023-07": 3}
    ups = {u["id"]: u["status"] for u in run_kpi("uploads", "--json").json()}
    assert ups == {1: "current", 2: "withdrawn", 3: "current"}
    assert "withdrawn" in run_kpi("uploads").out

    res = run_kpi("withdraw", "3")  # nothing else covers July: it is left without data, and says so
    assert res.code == 0 and "no other upload covers 2023-07" in res.err
    assert run_kpi("restore", "3").code == 0

    assert run_kpi("restore", "2").code == 0
    with contextlib.closing(db_conn(fresh_db)) as c:
        assert store.read_current(c, "assessments").groupby("month").size().to_dict() == {
            "2023-04": 3, "2023-05": 5, "2023-06": 3, "2023-07": 3}
    ups = {u["id"]: u["status"] for u in run_kpi("uploads", "--json").json()}
    assert ups == {1: "current", 2: "restored", 3: "restored"}


def test_withdraw_is_audited_with_the_os_user_and_the_cli_role(run_kpi, fresh_db, tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_USER", "anyone")
    get_settings.cache_clear()
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    assert run_kpi("ingest", write(tmp_path / "b.csv", assessments(["2023-04"], prefix="B"))).code == 0
    assert run_kpi("withdraw", "2").code == 0
    assert run_kpi("restore", "2").code == 0
    for action in ("upload", "withdraw", "restore"):
        rows = audit_rows(fresh_db, action)
        assert rows and {(r["actor"], r["role"]) for r in rows} == {(getpass.getuser(), "cli")}, action
    (w,) = audit_rows(fresh_db, "withdraw")
    assert w["target"] == "upload 2" and json.loads(w["details"]) == {"fallback": {"1": ["2023-04"]}, "empty": []}


def test_withdraw_refusals_change_nothing(run_kpi, fresh_db, tmp_path, digest):
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    assert run_kpi("withdraw", "1").code == 0
    before = digest(fresh_db)
    res = run_kpi("withdraw", "1")
    assert res.code == 1 and "already withdrawn" in res.err
    res = run_kpi("withdraw", "9")
    assert res.code == 1 and "There is no upload 9" in res.err
    assert digest(fresh_db) == before


def test_withdraw_is_an_admin_action():
    assert [r.name for r in Role if allowed(r, "withdraw")] == ["admin"]


def _absurd_upload(db: Path) -> int:
    """What issue 17 found: an upload for year 0 that breaks every computation (written directly, as the
    validation that now stops it at the door did not exist when such a store was filled)."""
    frame = pd.DataFrame({"assessment_id": ["X1"], "child_id": ["0" * 32], "start_date": ["0000-01-01"],
                          "completed_date": ["0000-01-05"], "nfa": [0], "team": ["T"], "month": ["0000-01"]})
    with contextlib.closing(db_conn(db)) as c:
        return store.write_upload(c, kind="assessments", months=["0000-01", "2023-05"], frame=frame,
                                  sha256="0" * 64, file_name="absurd.csv", uploaded_by="someone", warnings=[])


def test_withdraw_unbricks_the_product_after_an_absurd_upload(run_kpi, fresh_db, tmp_path):
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04", "2023-05"]))).code == 0
    good = run_kpi("metrics", "--json")
    assert good.code == 0
    bad_id = _absurd_upload(fresh_db)
    broken = run_kpi("metrics", "--json")
    assert broken.code == 1 and "year 0 is out of range" in broken.err  # the product is bricked
    res = run_kpi("withdraw", str(bad_id))
    assert res.code == 0 and "upload 1 is current again for 2023-05" in res.err
    again = run_kpi("metrics", "--json")
    assert again.code == 0 and again.json() == good.json()
    with contextlib.closing(db_conn(fresh_db)) as c:
        assert "0000-01" not in set(store.coverage(c)["month"])  # the coverage page no longer sees year 0


def test_upload_page_shows_and_withdraws_an_absurd_upload(run_kpi, fresh_db, tmp_path, monkeypatch):
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04", "2023-05"]))).code == 0
    bad_id = _absurd_upload(fresh_db)
    monkeypatch.setenv("KPI_AUTH_MODE", "local")  # the local user is an admin
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/upload.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    picker = next(s for s in at.selectbox if s.label == "Withdraw an upload (admin)")
    picker.set_value(bad_id)
    at.run()
    at.button(key="withdraw").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"Upload {bad_id} withdrawn" in s.value for s in at.success)
    with contextlib.closing(db_conn(fresh_db)) as c:
        assert store.get_upload(c, bad_id)["status"] == "withdrawn"
    (w,) = audit_rows(fresh_db, "withdraw")
    assert (w["actor"], w["role"]) == ("demo.admin@example.org", "admin")


# --- C. an audit trail that cannot lie ------------------------------------------------------------------


def test_concurrent_overlapping_ingests_audit_the_real_supersede_chain(settings, _empty_store_template, tmp_path):
    files = [assessments(["2023-01", "2023-02", "2023-03"], prefix="P"),
             assessments(["2023-02", "2023-03", "2023-04"], prefix="Q"),
             assessments(["2023-03", "2023-04", "2023-05"], prefix="R")]
    for run in range(20):
        db = tmp_path / f"run{run}.sqlite"
        shutil.copyfile(_empty_store_template, db)
        barrier = threading.Barrier(3)
        results: list = [None] * 3
        errors: list = []

        def work(i: int) -> None:
            try:
                conn = store.connect(db)
                barrier.wait()
                results[i] = ingest_bytes(conn, files[i], f"f{i}.csv", settings=settings)
                conn.close()
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        # the truth: replay the commits in the order the store gave them ids
        current: dict[str, int] = {}
        with contextlib.closing(db_conn(db)) as c:
            audited = {int(r["target"].split()[1]): json.loads(r["details"])["replaces"]
                       for r in c.execute("SELECT target, details FROM audit_log WHERE action = 'upload'")}
            for r in sorted(results, key=lambda r: r.upload_id):
                expected = sorted({current[m] for m in r.months if m in current})
                current.update({m: r.upload_id for m in r.months})
                assert audited[r.upload_id] == expected, (run, r.upload_id)
                assert sorted(u["id"] for u in r.replaces) == expected, (run, r.upload_id)
            assert {r["month"]: r["upload_id"] for r in c.execute(
                "SELECT month, upload_id FROM current_months")} == current
            assert audit.verify_chain(c)[0]


def _audited_store(run_kpi, fresh_db, tmp_path) -> None:
    for i, m in enumerate(["2023-04", "2023-05", "2023-04"]):
        assert run_kpi("ingest", write(tmp_path / f"{i}.csv", assessments([m], prefix=f"P{i}"))).code == 0
    assert run_kpi("restore", "1").code == 0
    with contextlib.closing(db_conn(fresh_db)) as c:
        audit.record_now(c, "admin@council.gov.uk", "export", "overview.csv")
        assert c.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 5


def _tamper(db: Path, sql: str) -> None:
    """What anyone with file access can do: drop the trigger, then change the table. (PostgreSQL: the schema's
    owner can disable the triggers; the app role could not, see tests/test_pg.py.)"""
    if pg_support.is_pg(db):
        with contextlib.closing(store.connect(db)) as c:
            c.raw.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            c.raw.execute("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), (SELECT max(id) FROM audit_log))")
            c.execute(sql)
        return
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as c:
        c.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        c.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        c.execute(sql)


def test_check_passes_on_a_healthy_store(run_kpi, fresh_db, tmp_path):
    _audited_store(run_kpi, fresh_db, tmp_path)
    res = run_kpi("check")
    assert res.code == 0, res.out
    lines = res.out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["OK"] * 4
    assert [ln.split(":")[0].split(None, 1)[1] for ln in lines] == ["integrity", "schema", "key", "audit trail"]
    assert "5 audit rows, hash chain intact" in res.out


def test_check_passes_on_the_demo_store_without_a_key_file(run_kpi, demo_copy_of, tmp_path, monkeypatch):
    """`kpi check` on the demo store (as `make run` builds it): no key file is expected for the public demo key."""
    monkeypatch.delenv("KPI_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("KPI_KEY_FILE", str(tmp_path / "no-such.key"))
    get_settings.cache_clear()
    db = demo_copy_of(tmp_path / "demo.sqlite")
    res = run_kpi("check", "--db", db)
    assert res.code == 0, res.out
    assert "OK    key: the demo store: synthetic data under the public demo key" in res.out
    assert not (tmp_path / "no-such.key").exists()


@pytest.mark.parametrize("tamper", [
    "DELETE FROM audit_log WHERE id = 2",
    "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
    "UPDATE audit_log SET actor = 'someone else' WHERE id = 3",
    "UPDATE audit_log SET details = replace(details, '\"replaces\": [1]', '\"replaces\": []') WHERE id = 3",
    "INSERT INTO audit_log (at, actor, role, action, target, details) VALUES ('2023-01-01T00:00:00Z', 'x', '',"
    " 'upload', 'upload 9', '{}')",
], ids=["delete-middle", "delete-last", "edit-actor", "edit-replaces", "insert"])
def test_check_detects_a_tampered_audit_trail(tamper, run_kpi, fresh_db, tmp_path):
    _audited_store(run_kpi, fresh_db, tmp_path)
    _tamper(fresh_db, tamper)
    res = run_kpi("check")
    assert res.code == 1
    (line,) = [ln for ln in res.out.splitlines() if "audit trail" in ln]
    assert line.startswith("FAIL") and "outside the product" in line


def test_every_audit_row_is_chained_and_the_cli_never_takes_kpi_user(run_kpi, fresh_db, tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_USER", "anyone")
    get_settings.cache_clear()
    _audited_store(run_kpi, fresh_db, tmp_path)
    with contextlib.closing(db_conn(fresh_db)) as c:
        rows = c.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
        prev = ""
        for r in rows:
            assert r["row_hash"] == audit.chain_hash(prev, r)
            prev = r["row_hash"]
        assert store.get_meta(c, "audit_head") == f"{rows[-1]['id']}:{prev}"
    assert {(r["actor"], r["role"]) for r in rows if r["action"] in ("upload", "restore")} == {(getpass.getuser(), "cli")}
    assert "anyone" not in {r["actor"] for r in rows}


def test_migration_chains_audit_rows_written_before_the_chain(tmp_path, monkeypatch):
    db = tmp_path / "old.sqlite"
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:5])
    with contextlib.closing(store.connect(db)) as c:
        for i in range(3):
            c.execute("INSERT INTO audit_log (at, actor, role, action, target, details) VALUES (?, 'a', '',"
                      " 'export', ?, '{}')", (f"2024-01-0{i + 1}T00:00:00Z", f"x{i}.csv"))
    monkeypatch.undo()
    with contextlib.closing(store.connect(db)) as c:
        assert store.schema_version(c) == len(store.MIGRATIONS)
        assert audit.verify_chain(c) == (True, "3 audit rows, hash chain intact")
        audit.record_now(c, "b", "export", "y.csv")
        assert audit.verify_chain(c)[0]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            c.execute("UPDATE audit_log SET actor = 'c'")


# --- D. kpi check, damaged, read-only and full stores --------------------------------------------------


def _damage(db: Path) -> None:
    """Garbage over the record table's root page: the file opens, its b-tree is broken."""
    with contextlib.closing(sqlite3.connect(db)) as c:
        root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'rec_assessments'").fetchone()[0]
        page = c.execute("PRAGMA page_size").fetchone()[0]
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(db, "r+b") as f:
        f.seek((root - 1) * page + 8)
        f.write(b"\xff" * 32)


def test_damaged_store_fails_check_and_refuses_ingest(run_kpi, fresh_db, tmp_path, digest):
    if pg_support.is_pg(fresh_db):
        pytest.skip("a damaged SQLite file; PostgreSQL checks its own pages")
    many = "".join(f"A{i},C{i},2023-04-01,2023-04-05,N,T1\n" for i in range(2000))
    assert run_kpi("ingest", write(tmp_path / "a.csv", (HEADER + many).encode())).code == 0
    _damage(fresh_db)
    res = run_kpi("check")
    assert res.code == 1 and res.out.startswith("FAIL  integrity")
    before = digest(fresh_db)
    res = run_kpi("ingest", write(tmp_path / "b.csv", assessments(["2023-05"])))
    assert res.code == 1 and "failed its integrity check" in res.err and "nothing was stored" in res.err
    no_traceback(res.err)
    assert digest(fresh_db) == before


def test_check_on_a_missing_store_creates_nothing(run_kpi, tmp_path):
    missing = tmp_path / "none" / "kpi.sqlite"
    res = run_kpi("check", "--db", missing)
    assert res.code == 1 and "no store" in res.err and not missing.parent.exists()


def _run_as_other_user(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """``kpi ARGV`` in a forked child without write access (root ignores file modes, so drop to nobody)."""
    from kpi_cli import main as cli

    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()

    def child() -> None:
        os.chdir(cwd)
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
        q.put((code, out.getvalue(), err.getvalue()))

    p = ctx.Process(target=child)
    p.start()
    result = q.get(timeout=300)
    p.join()
    return result


@pytest.mark.parametrize("how", ["file-0444", "folder-0555"])
def test_a_read_only_store_can_still_be_read(how, run_kpi, settings, _empty_store_template):
    folder = Path(tempfile.mkdtemp(prefix="kpi-ro-", dir="/tmp"))
    try:
        db = folder / "kpi.sqlite"
        shutil.copyfile(_empty_store_template, db)
        assert run_kpi("ingest", write(folder / "a.csv", assessments(["2023-04", "2023-05"])), "--db", db).code == 0
        want_uploads = run_kpi("uploads", "--json", "--db", db).json()
        want_metrics = run_kpi("metrics", "--json", "--db", db)  # also imports everything the child needs
        gc.collect()  # close the connections the in-process CLI left behind
        with contextlib.closing(sqlite3.connect(db)) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        before = db.read_bytes()
        if how == "file-0444":
            db.chmod(0o444)
            folder.chmod(0o777)  # the folder is writable: only the file is not
        else:
            folder.chmod(0o555)
        code, out, err = _run_as_other_user(["uploads", "--json", "--db", str(db)], folder)
        assert code == 0, err
        assert json.loads(out) == want_uploads
        code, out, err = _run_as_other_user(["metrics", "--json", "--db", str(db)], folder)
        assert code == 0, err
        assert json.loads(out) == want_metrics.json()
        other = write(folder / "b.csv", assessments(["2023-06"]))  # a.csv again would be "unchanged" (issue 15)
        code, out, err = _run_as_other_user(["ingest", str(other), "--db", str(db)], folder)
        assert code == 1 and "read-only" in err
        no_traceback(err)
        assert db.read_bytes() == before
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
        shutil.rmtree(folder, ignore_errors=True)


class FullDisk:
    """A connection whose bulk insert hits a full disk the way SQLite reports it: the transaction has
    already been rolled back by SQLite when the error arrives."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def executemany(self, sql, rows):
        if sql.startswith("INSERT INTO rec_"):
            self._conn.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.executemany(sql, rows)


def test_full_disk_says_so_plainly_through_the_cli(run_kpi, fresh_db, tmp_path, monkeypatch, digest):
    from kpi_cli import common, uploads

    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    before = digest(fresh_db)
    monkeypatch.setattr(uploads, "connect", lambda args: FullDisk(store.connect(common.db_path(args))))
    res = run_kpi("ingest", write(tmp_path / "b.csv", assessments(["2023-05"])))
    assert res.code == 1
    assert "kpi: The disk holding the store is full; nothing was stored." in res.err
    assert "cannot rollback" not in res.err
    no_traceback(res.err)
    assert digest(fresh_db) == before


def test_a_real_full_store_rolls_back_and_says_so(fresh_db, settings):
    if pg_support.is_pg(fresh_db):
        pytest.skip("a full disk under a SQLite file")
    with contextlib.closing(db_conn(fresh_db)) as c:
        assert ingest_bytes(c, assessments(["2023-04"]), "a.csv", settings=settings).ok
        before = list(c.iterdump())
        pages = c.execute("PRAGMA page_count").fetchone()[0]
        c.execute(f"PRAGMA max_page_count = {pages + 1}")  # the disk is full after one more page
        many = "".join(f"A{i},C{i},2023-05-01,2023-05-05,N,{'T' * 50}{i}\n" for i in range(5000))
        with pytest.raises(store.StoreProblem) as e:
            ingest_bytes(c, (HEADER + many).encode(), "big.csv", settings=settings)
        assert e.value.errors[0].message == store.DISK_FULL
        assert not c.in_transaction
        c.execute("PRAGMA max_page_count = 1073741823")
        assert list(c.iterdump()) == before


def test_key_file_is_still_created_0600_for_a_new_store(keyless, run_kpi, fresh_db, tmp_path):
    assert not keyless.exists()
    assert run_kpi("ingest", write(tmp_path / "a.csv", assessments(["2023-04"]))).code == 0
    assert stat.S_IMODE(keyless.stat().st_mode) == 0o600
    assert run_kpi("key", "check").code == 0


def test_new_commands_are_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    access = (ROOT / "docs" / "access.md").read_text(encoding="utf-8")
    for command in ("kpi withdraw", "kpi key check", "kpi check"):
        assert command in readme and command in access, command
