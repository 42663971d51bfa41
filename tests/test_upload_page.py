"""The Upload page a performance lead can trust (issue 15): load all in one action, identical files not
loaded again, the impact on the reviews before loading or restoring, a second confirmation with a reason
before a final review is restated, the error report in words, friendly history. Run with AppTest."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import impact, store
from metrics.demo_store import DEMO_KEY
from metrics.months import month_end
from metrics.reviews import mark_final
from metrics.settings import get_settings

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
WORKFORCE_HEADER = "worker_id,role,agency,fte,team,start_date,end_date,snapshot_date\n"


def workforce_csv(month: str, n: int, agency: int = 0) -> bytes:
    end = month_end(month).isoformat()
    rows = "".join(f"W{i:04d},case_holder,{'Y' if i < agency else 'N'},1.0,Front Door,2020-01-01,,{end}\n"
                   for i in range(n))
    return (WORKFORCE_HEADER + rows).encode()


def months_back(n: int) -> list[str]:
    """The ``n`` months before this one, oldest first."""
    d, out = dt.date.today().replace(day=1), []
    for _ in range(n):
        d = (d - dt.timedelta(days=1)).replace(day=1)
        out.append(d.isoformat()[:7])
    return out[::-1]


@pytest.fixture
def page_db(monkeypatch, tmp_path):
    """page_db(path): the dashboard (local admin sign-in) on the store at ``path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_PSEUDONYM_KEY", DEMO_KEY)

    def _use(path: Path) -> Path:
        monkeypatch.setenv("KPI_DB_PATH", str(path))
        monkeypatch.setenv("KPI_AUTH_MODE", "local")
        monkeypatch.delenv("KPI_ROLES", raising=False)
        get_settings.cache_clear()
        return path

    yield _use
    get_settings.cache_clear()


@pytest.fixture
def empty_db(page_db, tmp_path, _empty_store_template) -> Path:
    path = tmp_path / "kpi.sqlite"
    shutil.copyfile(_empty_store_template, path)
    return page_db(path)


@pytest.fixture
def final_demo(page_db, demo_template, tmp_path) -> Path:
    """A copy of the demo store whose 1 Jun 2024 review (judging April 2024: 14-day reporting lag) is final."""
    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    page_db(path)
    with contextlib.closing(store.connect(path)) as conn:
        mark_final(conn, "2024-06-01", by="tester")
    return path


def open_upload() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("views/upload.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def uploads(path: Path) -> list[dict]:
    with contextlib.closing(store.connect(path)) as conn:
        return store.list_uploads(conn)


def load_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.label.startswith("Load ")]


def text(elements) -> str:
    return " ".join(str(e.value) for e in elements).replace("\\", "")


def table_text(at: AppTest) -> str:
    return " ".join(str(v) for t in at.table for v in t.value.to_numpy().ravel()).replace("\\", "")


def test_seven_files_load_in_one_action_with_a_line_each_and_the_page_resets(empty_db):
    months = months_back(7)
    files = [(f"workforce_{m}.csv", workforce_csv(m, 3 + i), "text/csv") for i, m in enumerate(months)]
    at = open_upload()
    at.get("file_uploader")[0].set_value(files)
    at = run(at)
    assert text(at.success).count("Ready:") == 7
    (load,) = load_buttons(at)
    assert load.label == f"Load all 7 files ({sum(range(3, 10)):,} rows)"
    load.click()
    at = run(at)
    ups = uploads(empty_db)
    assert len(ups) == 7 and sorted(u["months"][0] for u in ups) == months
    lines = [s.value.replace("\\", "") for s in at.success if "Loaded as upload" in s.value]
    assert len(lines) == 7 and all(f"workforce_{m}.csv" in " ".join(lines) for m in months)
    assert not load_buttons(at) and not at.get("file_uploader")[0].value  # a fresh, empty drop zone
    assert "Just loaded" in " ".join(h.value for h in at.subheader)


def test_loading_again_and_re_uploading_create_no_extra_upload(empty_db):
    month = months_back(1)[0]
    data = workforce_csv(month, 4)
    at = open_upload()
    at.get("file_uploader")[0].set_value(("april.csv", data, "text/csv"))
    at = run(at)
    (load,) = load_buttons(at)
    load.click()
    at = run(at)
    assert len(uploads(empty_db)) == 1
    # a second click on the same button (a double click) finds nothing left to load
    at.button(key="load-all").click() if [b for b in at.button if b.key == "load-all"] else None
    at = run(at)
    assert len(uploads(empty_db)) == 1
    # the same file dropped again (under another name): said so, nothing to click
    at.get("file_uploader")[0].set_value(("april-again.csv", data, "text/csv"))
    at = run(at)
    said = text(at.info)
    assert "Identical to upload 1" in said and "nothing to load" in said
    assert not load_buttons(at)
    assert len(uploads(empty_db)) == 1


def test_a_second_click_stores_a_checked_file_once(empty_db):
    """Two clicks reaching the server for one check: the second commit is not another upload."""
    from metrics.ingest import commit, prepare

    month = months_back(1)[0]
    with contextlib.closing(store.connect(empty_db)) as conn:
        p = prepare(conn, workforce_csv(month, 4), "may.csv")
        q = prepare(conn, workforce_csv(month, 4), "may.csv")  # the same file checked in a second session
        assert commit(conn, p, uploaded_by="a").status == "accepted"
        assert commit(conn, q, uploaded_by="a").status == "unchanged"  # read again under the write lock
        with pytest.raises(ValueError):
            commit(conn, p, uploaded_by="a")
    assert len(uploads(empty_db)) == 1


def _may_2024(at: AppTest, agency: int) -> AppTest:
    rows = "".join(f"W9{i:05d},case_holder,{'Y' if i < agency else 'N'},1,East\n" for i in range(10))
    at.get("file_uploader")[0].set_value(("may.csv", f"worker_id,role,agency,fte,team\n{rows}".encode(), "text/csv"))
    at = run(at)
    at.selectbox(key="month-0").set_value("2024-04")
    return run(at)


@pytest.mark.slow
def test_restating_a_final_review_needs_a_second_confirmation_and_a_reason(final_demo):
    with contextlib.closing(store.connect(final_demo)) as conn:
        n = len(store.list_uploads(conn))
    at = _may_2024(open_upload(), agency=5)
    warning = text(at.warning)
    assert "restates 1 final review" in warning
    shown = table_text(at)
    assert "Agency" in shown and "50.0%" in shown  # the restated value, old → new
    (load,) = load_buttons(at)
    assert load.disabled  # nothing to click (and the server checks again: metrics.impact.check_reason)
    at.text_input(key="restate-reason").set_value("HR corrected May's agency flags")
    at = run(at)
    assert load_buttons(at)[0].disabled  # a reason alone is not the confirmation
    at.checkbox(key="restate-confirm").check()
    at = run(at)
    (load,) = load_buttons(at)
    assert not load.disabled
    load.click()
    at = run(at)
    assert len(uploads(final_demo)) == n + 1
    with contextlib.closing(store.connect(final_demo)) as conn:
        rows = conn.execute("SELECT target, details FROM audit_log WHERE action = 'restatement'").fetchall()
    assert len(rows) == 1 and rows[0]["target"] == "checkpoint 2024-06-01"
    details = json.loads(rows[0]["details"])
    assert details["reason"] == "HR corrected May's agency flags" and "agency_rate" in {k["kpi"] for k in details["kpis"]}


@pytest.mark.slow
def test_the_page_lists_exactly_the_ratings_the_metrics_impact_finds(final_demo):
    at = _may_2024(open_upload(), agency=0)
    with contextlib.closing(store.connect(final_demo)) as conn:
        from metrics.ingest import prepare

        want = impact.upload_impact(conn, [prepare(conn, _may_bytes(0), "may.csv", kind="workforce", month="2024-04")])
    tables = [t.value for t in at.table]
    changes = next((t for t in tables if "Rating" in t.columns), None)
    if want.changes:
        assert changes is not None and len(changes) == len(want.changes)
    restated = next(t for t in tables if "Final review" in t.columns)
    assert len(restated) == len(want.restatements)


def _may_bytes(agency: int) -> bytes:
    rows = "".join(f"W9{i:05d},case_holder,{'Y' if i < agency else 'N'},1,East\n" for i in range(10))
    return f"worker_id,role,agency,fte,team\n{rows}".encode()


@pytest.mark.slow
def test_restore_lists_newest_first_and_confirms_after_showing_the_impact(final_demo):
    with contextlib.closing(store.connect(final_demo)) as conn:
        from metrics.ingest import ingest_bytes

        old = store.current_for(conn, "workforce", [("", "2024-04")])[("", "2024-04")]["id"]
        assert ingest_bytes(conn, _may_bytes(5), "may.csv", kind="workforce", month="2024-04", uploaded_by="t").ok
    at = open_upload()
    history = at.dataframe[0].value
    assert list(history.columns[:3]) == ["Upload", "Kind", "Months"] and "Uploaded at (UK time)" in history.columns
    assert list(history["Upload"]) == sorted(history["Upload"], reverse=True)  # newest first
    picker = next(s for s in at.selectbox if s.label == "Restore an earlier upload")
    assert picker.options[0].startswith(str(max(u["id"] for u in uploads(final_demo) if u["status"] == "superseded")))
    picker.set_value(old)
    at = run(at)
    assert "restates 1 final review" in text(at.warning)  # restoring May's first upload restates it back
    assert at.button(key="restore").disabled
    with contextlib.closing(store.connect(final_demo)) as conn:
        assert store.get_upload(conn, old)["status"] == "superseded"
    at.text_input(key="restore-restate-reason").set_value("The correction was wrong")
    at.checkbox(key="restore-restate-confirm").check()
    at = run(at)
    at.button(key="restore").click()
    at = run(at)
    assert f"Upload {old} is current again" in text(at.success)
    with contextlib.closing(store.connect(final_demo)) as conn:
        assert store.get_upload(conn, old)["status"] == "restored"
        row = conn.execute("SELECT details FROM audit_log WHERE action = 'restatement'").fetchone()
    assert json.loads(row["details"])["cause"] == f"restore of upload {old}"


def test_the_error_report_names_rules_in_words_groups_them_and_keeps_codes_for_the_download(empty_db):
    month = months_back(1)[0]
    bad = WORKFORCE_HEADER + "".join(f"W{i:04d},case_holder,maybe,1.0,Front Door,31/02/2021,,{month_end(month)}\n"
                                     for i in range(8))
    at = open_upload()
    at.get("file_uploader")[0].set_value(("bad.csv", bad.encode(), "text/csv"))
    at = run(at)
    said = text(at.markdown)
    assert "Not a yes/no value** — 8 problems" in said and "Date does not exist** — 8 problems" in said
    shown = table_text(at)
    assert "bool" not in shown.split() and "date_impossible" not in shown  # codes only in the download
    assert "… and 3 more of these" in text(at.caption)
    dl = next(b for b in at.get("download_button") if "full list" in b.proto.label)
    assert dl is not None


def test_every_rule_has_words():
    from metrics.contract import RULES
    from metrics.problems import RULE_NAMES

    assert set(RULES) <= set(RULE_NAMES), set(RULES) - set(RULE_NAMES)
    assert all(name and "_" not in name for name in RULE_NAMES.values())


def test_problems_download_keeps_the_codes_and_full_messages():
    from metrics.issues import Issue
    from metrics.problems import problem_groups, problems_download

    long = "x" * 400
    errs = [Issue(2, "agency", "maybe", "bool", long), Issue(3, "agency", "maybe", "bool", long),
            Issue(4, "start_date", "31/02/2021", "date_impossible", "no such day")]
    groups = problem_groups(errs, first=1)
    assert [(g.name, g.count) for g in groups] == [("Not a yes/no value", 2), ("Date does not exist", 1)]
    assert groups[0].first["Problem"].iloc[0].startswith(long)  # never shortened
    df = problems_download(errs)
    assert list(df["rule code"]) == ["bool", "bool", "date_impossible"] and df["problem"].iloc[2] == "Date does not exist"


def open_view(view: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(view)
    return run(at)


def test_coverage_shows_figures_only_where_given_or_expected_and_what_the_next_review_lacks(page_db, demo_template,
                                                                                             tmp_path):
    from metrics.views import BY_FIGURES, NEEDED

    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    page_db(path)
    at = open_view("views/coverage.py")
    grid = at.dataframe[0].value.set_index("Month")
    # the demo's records run Apr 2022 – Mar 2025, figures Jan – Mar 2022; the next review (1 Jun 2025) judges
    # April (judgement.md section 1: 14-day reporting lag)
    assert grid.index[0] == "Apr 2025" and set(grid.loc["Apr 2025"].drop("figures")) == {NEEDED}
    assert grid.loc["Apr 2025", "figures"] == "" and grid.loc["Mar 2025", "workforce"].startswith("✓")
    assert grid.loc["Jan 2024", "figures"] == ""  # not expected, not given: no noise
    assert grid.loc["Feb 2022", "figures"] == "✓ 10 KPIs" and grid.loc["Feb 2022", "workforce"] == BY_FIGURES
    warning = text(at.warning)
    assert "judges **Apr 2025**" in warning and "workforce" in warning


def test_history_and_audit_tables_have_friendly_columns_and_uk_times(empty_db):
    month = months_back(1)[0]
    from metrics.ingest import ingest_bytes

    with contextlib.closing(store.connect(empty_db)) as conn:
        assert ingest_bytes(conn, workforce_csv(month, 2), "a.csv", uploaded_by="A. Lead").ok
        stamp = store.list_uploads(conn)[0]["uploaded_at"]
    from dashboard.components.text import uk_time

    at = open_upload()
    history = at.dataframe[0].value
    assert list(history.columns) == ["Upload", "Kind", "Months", "Rows", "Status", "Uploaded at (UK time)", "By",
                                     "File", "SHA-256 (start)"]
    assert history["Uploaded at (UK time)"].iloc[0] == uk_time(stamp) and history["Status"].iloc[0] == "Current"
    at = open_view("views/audit.py")
    trail = at.dataframe[0].value
    assert list(trail.columns) == ["Entry", "When (UK time)", "Who", "Role", "Action", "What", "Details"]
    assert trail["Action"].iloc[0] == "Upload" and trail["When (UK time)"].iloc[0] == uk_time(stamp)


@pytest.mark.parametrize(("iso", "shown"), [("2024-05-03T08:14:00Z", "3 May 2024 09:14"),  # BST
                                            ("2024-01-03T08:14:00Z", "3 Jan 2024 08:14"), (None, "")])
def test_uk_time(iso, shown):
    from dashboard.components.text import uk_time

    assert uk_time(iso) == shown


def test_a_read_only_store_says_so_before_anything_is_offered(empty_db, monkeypatch):
    import sqlite3

    def refuse(*a, **k):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(impact, "upload_impact", refuse)
    at = open_upload()
    at.get("file_uploader")[0].set_value(("may.csv", workforce_csv(months_back(1)[0], 2), "text/csv"))
    at = run(at)
    assert "The store is read-only" in text(at.error) and not load_buttons(at)
