"""What an upload or a restore would change, before it is made (metrics/impact.py, issue 15 item 2).

Checked against the review model recomputed before and after the change really is made: the preview lists
exactly the ratings that change, and a final review that would be restated needs a reason, kept in the
audit trail."""

from __future__ import annotations

import contextlib
import json
import shutil

import pytest

from metrics import impact, store
from metrics.ingest import commit, prepare
from metrics.issues import Refused
from metrics.reviews import final_checkpoints, load_settings, mark_final, review_board
from metrics.settings import get_settings

from helpers_pages import point_at

FINAL = "2024-06-01"  # judges April 2024 (judgement.md section 1: 14-day reporting lag)


def _workforce(n: int, agency: int) -> bytes:
    rows = "".join(f"W9{i:05d},case_holder,{'Y' if i < agency else 'N'},1,East\n" for i in range(n))
    return f"worker_id,role,agency,fte,team\n{rows}".encode()


@pytest.fixture
def demo(demo_template, tmp_path, monkeypatch):
    from metrics.demo_store import DEMO_KEY

    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    point_at(monkeypatch, path, tmp_path, key=DEMO_KEY)
    yield path
    get_settings.cache_clear()


def _all_boards(conn):
    s = load_settings(conn)
    dates = sorted({c.date.isoformat() for c in s.checkpoints} | {f["checkpoint"] for f in final_checkpoints(conn)})
    return [review_board(conn, d, settings=s) for d in dates]


def _expected(before, after):
    """Every rated KPI whose value or RAG differs, by recomputing the whole review before and after."""
    changes, restated = set(), set()
    for b, a in zip(before, after):
        for r in b.rated:
            n = a.row(r.metric)
            if b.final:
                if r.current_actual != n.current_actual:
                    restated.add((b.at, r.metric))
            elif r.rag != n.rag or r.actual != n.actual:
                changes.add((b.at, r.metric, r.rag, n.rag))
    return changes, restated


def test_an_upload_preview_lists_exactly_the_ratings_that_change(demo):
    with contextlib.closing(store.connect(demo)) as conn:
        mark_final(conn, FINAL, by="tester")
        before = _all_boards(conn)
        p = prepare(conn, _workforce(10, 5), "april.csv", kind="workforce", month="2024-04")
        p2 = prepare(conn, _workforce(8, 0), "oct.csv", kind="workforce", month="2024-10")
        n_uploads = len(store.list_uploads(conn))
        got = impact.upload_impact(conn, [p, p2])
        assert len(store.list_uploads(conn)) == n_uploads and not conn.in_transaction  # the preview stored nothing
        assert {u["id"] for u in got.replaces} == {u["id"] for u in p.result.replaces + p2.result.replaces}
        assert commit(conn, p, uploaded_by="tester").status == "accepted"
        assert commit(conn, p2, uploaded_by="tester").status == "accepted"
        after = _all_boards(conn)
    changes, restated = _expected(before, after)
    assert changes and restated  # the example changes both kinds of review
    assert {(c.checkpoint, c.metric, c.old_rag, c.new_rag) for c in got.changes} == changes
    assert {(r.checkpoint, r.metric) for r in got.restatements} == restated
    agency = next(r for r in got.restatements if r.metric == "agency_rate")
    assert (agency.checkpoint, agency.month, agency.new_value) == (FINAL, "2024-04", 50.0)
    assert agency.old_value == agency.presented
    assert got.needs_reason and set(got.by_step) == {"april.csv", "oct.csv"}
    assert {r.metric for r in got.by_step["april.csv"]} == {r.metric for r in got.restatements}
    assert got.by_step["oct.csv"] == ()  # October: judged by the 1 Dec 2024 review, not final


def test_a_restore_preview_lists_what_it_changes(demo):
    with contextlib.closing(store.connect(demo)) as conn:
        p = prepare(conn, _workforce(10, 5), "april.csv", kind="workforce", month="2024-04")
        old = p.result.replaces[0]["id"]
        new = commit(conn, p, uploaded_by="tester").upload_id
        mark_final(conn, FINAL, by="tester")
        before = _all_boards(conn)
        got = impact.restore_impact(conn, old)
        assert not conn.in_transaction
        assert [u["id"] for u in got.replaces] == [new]
        store.restore(conn, old)
        after = _all_boards(conn)
    changes, restated = _expected(before, after)
    assert {(c.checkpoint, c.metric, c.old_rag, c.new_rag) for c in got.changes} == changes
    assert {(r.checkpoint, r.metric) for r in got.restatements} == restated and restated


def test_an_identical_file_has_no_impact_and_nothing_restated_needs_no_reason(demo):
    with contextlib.closing(store.connect(demo)) as conn:
        p = prepare(conn, _workforce(10, 5), "april.csv", kind="workforce", month="2024-04")
        first = commit(conn, p, uploaded_by="tester")
        again = prepare(conn, _workforce(10, 5), "april-again.csv", kind="workforce", month="2024-04")
        assert again.result.status == "unchanged" and again.result.upload_id == first.upload_id
        got = impact.upload_impact(conn, [again])
    assert got == impact.Impact() and impact.check_reason(got, "") == ""


def test_a_restatement_needs_a_reason_which_the_audit_trail_keeps(demo):
    with contextlib.closing(store.connect(demo)) as conn:
        mark_final(conn, FINAL, by="tester")
        p = prepare(conn, _workforce(10, 5), "april.csv", kind="workforce", month="2024-04")
        got = impact.upload_impact(conn, [p])
        for blank in (None, "", "   "):
            with pytest.raises(Refused) as e:
                impact.check_reason(got, blank)
            assert e.value.errors[0].rule == "restatement_reason"
        reason = impact.check_reason(got, "  April's census was corrected by HR  ")
        done = commit(conn, p, uploaded_by="tester", on_commit=lambda c, uid: impact.record_restatements(
            c, got.by_step[p.result.file], reason=reason, by="tester", cause=f"upload {uid}"))
        row = conn.execute("SELECT actor, target, details FROM audit_log WHERE action = 'restatement'").fetchall()
    assert len(row) == 1 and row[0]["target"] == f"checkpoint {FINAL}" and row[0]["actor"] == "tester"
    details = json.loads(row[0]["details"])
    assert details["reason"] == "April's census was corrected by HR" and details["cause"] == f"upload {done.upload_id}"
    assert {k["kpi"] for k in details["kpis"]} == {r.metric for r in got.restatements}


def test_compare_is_pure_and_matches_boards_by_checkpoint(demo):
    with contextlib.closing(store.connect(demo)) as conn:
        boards = _all_boards(conn)
    assert impact.compare(boards, boards) == ([], [])
    assert impact.compare(boards, []) == ([], [])


def test_kpi_restore_that_restates_a_final_review_needs_a_reason(demo):
    """The command line keeps the page's rule: a restore that restates a final review is refused (exit 1,
    nothing changed) without ``--reason``; with it, the reason is kept in the audit trail."""
    import io

    from kpi_cli.main import main as kpi

    def run(*argv) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stderr(out), contextlib.redirect_stdout(io.StringIO()):
            code = kpi([argv[0], "--db", str(demo), *argv[1:]])
        return code, out.getvalue()

    with contextlib.closing(store.connect(demo)) as conn:
        p = prepare(conn, _workforce(10, 5), "april.csv", kind="workforce", month="2024-04")
        old = p.result.replaces[0]["id"]
        new = commit(conn, p, uploaded_by="tester").upload_id
        mark_final(conn, FINAL, by="tester")
        restated = {r.metric for r in impact.restore_impact(conn, old).restatements}
    assert restated

    code, err = run("restore", str(old))
    assert code == 1 and "--reason" in err and f"review {FINAL}" in err
    with contextlib.closing(store.connect(demo)) as conn:
        assert store.get_upload(conn, new)["status"] == "current"  # nothing changed
        assert not conn.execute("SELECT 1 FROM audit_log WHERE action IN ('restore', 'restatement')").fetchall()

    code, err = run("restore", str(old), "--reason", "HR's first census was right after all")
    assert code == 0 and f"restated review {FINAL}" in err
    with contextlib.closing(store.connect(demo)) as conn:
        rows = conn.execute("SELECT details FROM audit_log WHERE action = 'restatement'").fetchall()
    assert len(rows) == 1
    details = json.loads(rows[0]["details"])
    assert details["reason"] == "HR's first census was right after all" and details["cause"] == f"restore of upload {old}"
    assert {k["kpi"] for k in details["kpis"]} == restated


def test_kpi_ingest_that_restates_a_final_review_needs_a_reason(demo, tmp_path):
    """``kpi ingest`` keeps the page's rule too: a file that restates a final review is refused (exit 1,
    rule ``restatement_reason``, the store unchanged) without ``--reason``; with it, it is stored and the
    reason kept in the audit trail. A file that restates nothing needs none."""
    import io

    from kpi_cli.main import main as kpi

    def run(*argv) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = kpi(["ingest", "--db", str(demo), *argv, "--json"])
        return code, json.loads(out.getvalue())

    april = tmp_path / "april.csv"
    april.write_bytes(_workforce(10, 5))
    october = tmp_path / "october.csv"
    october.write_bytes(_workforce(8, 0))
    with contextlib.closing(store.connect(demo)) as conn:
        mark_final(conn, FINAL, by="tester")
        n = len(store.list_uploads(conn))

    code, out = run(str(april), "--month", "2024-04")
    assert code == 1 and out[0]["status"] == "refused" and out[0]["errors"][0]["rule"] == "restatement_reason"
    with contextlib.closing(store.connect(demo)) as conn:
        assert len(store.list_uploads(conn)) == n
    code, out = run(str(october), "--month", "2024-10")  # judged by no final review: no reason needed
    assert code == 0 and out[0]["status"] == "accepted"
    code, out = run(str(april), "--month", "2024-04", "--reason", "HR corrected April's census")
    assert code == 0 and out[0]["status"] == "accepted"
    with contextlib.closing(store.connect(demo)) as conn:
        rows = conn.execute("SELECT details FROM audit_log WHERE action = 'restatement'").fetchall()
    assert len(rows) == 1 and json.loads(rows[0]["details"])["reason"] == "HR corrected April's census"
    assert json.loads(rows[0]["details"])["cause"] == f"upload {out[0]['upload_id']}"
