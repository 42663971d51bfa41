"""The actions log on the pages, through Streamlit's AppTest on a copy of the demo store: the KPI page's
table, history and forms (uploaders and admins write, viewers read), Present and the Reviews page."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import store
from metrics.actions import add_action, list_actions
from metrics.settings import get_settings

from helpers_pages import demo_page_db, open_page, rerun

LOCAL_USER = "demo.admin@example.org"
AT = "2025-03-01"  # the review the pages open on in the demo store (its judged month has data)
PAYLOAD = "<script>alert(1)</script> <img src=x onerror=alert(1)>"


@pytest.fixture
def demo_db(demo_template, tmp_path, monkeypatch) -> Path:
    yield from demo_page_db(demo_template, tmp_path, monkeypatch)


def count(db: Path, table: str, where: str = "") -> int:
    with contextlib.closing(sqlite3.connect(db)) as c:
        return c.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]


def seed(db: Path, title: str = "Convert six agency posts to permanent", kpi: str = "agency_rate") -> int:
    with contextlib.closing(store.connect(db)) as conn:
        return add_action(conn, AT, kpi, title, "Workforce team", "2025-05-31", "lead@example.org")


def actions_table(at: AppTest):
    tables = [d.value for d in at.dataframe if "Owner" in d.value.columns]
    return tables[0] if tables else None


def add_via_form(at: AppTest, title: str, owner: str, due: dt.date | None = dt.date(2025, 6, 30)) -> AppTest:
    at.text_input(key="action-title").set_value(title)
    at.text_input(key="action-owner").set_value(owner)
    if due is not None:
        at.date_input(key="action-due").set_value(due)
    next(b for b in at.button if b.label == "Add the action").click()
    return rerun(at)


def test_kpi_page_form_adds_an_action_audited_and_shown_as_text(demo_db):
    at = open_page("kpi")
    assert at.selectbox(key="action-review").value == AT
    audit_before = count(demo_db, "audit_log", "WHERE action = 'action_add'")
    at = add_via_form(at, f"Weekly huddle {PAYLOAD}", "Head of Service, Children in Care")
    with contextlib.closing(store.connect(demo_db)) as conn:
        [a] = list_actions(conn)
    assert (a.checkpoint.isoformat(), a.kpi, a.owner, a.due, a.status, a.agreed_by) == (
        AT, "agency_rate", "Head of Service, Children in Care", dt.date(2025, 6, 30), "open", LOCAL_USER)
    assert count(demo_db, "audit_log", "WHERE action = 'action_add'") == audit_before + 1
    assert any("added" in s.value for s in at.success)
    table = actions_table(at)
    assert table.to_dict("records") == [{
        "Ref": f"A{a.id}", "Action": f"Weekly huddle {PAYLOAD}", "Owner": "Head of Service, Children in Care",
        "Due": "30 Jun 2025", "Status": "Open", "Agreed at": "1 Mar 2025", "Last update": ""}]
    for node in [*at.markdown, *at.caption, *at.success, *at.error]:  # user text never becomes markup
        assert not re.search(r"(?<!\\)<", node.value), node.value  # every "<" escaped for markdown
    assert any("\\<script\\>" in m.value for m in at.markdown)  # the title in the history, escaped


@pytest.mark.parametrize(("owner", "due", "message"), [
    ("Jane Smith", dt.date(2025, 6, 30), "person's name"),
    ("jane@council.gov.uk", dt.date(2025, 6, 30), "email address"),
    ("Workforce team", None, "due"),
])
def test_bad_input_on_the_form_is_refused_in_words_and_nothing_is_written(demo_db, owner, due, message):
    audit_before = count(demo_db, "audit_log")
    at = add_via_form(open_page("kpi"), "Recruit two team managers", owner, due)
    assert count(demo_db, "actions") == 0 and count(demo_db, "audit_log") == audit_before
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # as read: markdown escapes resolved
    assert errors and message in errors[0] and errors[0].startswith("Not saved")


def test_the_update_form_records_a_new_entry_and_keeps_the_history(demo_db):
    aid = seed(demo_db)
    at = open_page("kpi")
    at.selectbox(key="update-action-id").set_value(aid)
    at.selectbox(key="update-status").set_value("done")
    at.text_area(key="update-note").set_value("All six converted in April.")
    next(b for b in at.button if b.label == "Record the update").click()
    at = rerun(at)
    with contextlib.closing(sqlite3.connect(demo_db)) as c:
        rows = c.execute("SELECT id, status, note, updates FROM actions ORDER BY id").fetchall()
    assert rows == [(aid, "open", "", None), (aid + 1, "done", "All six converted in April.", aid)]
    assert count(demo_db, "audit_log", "WHERE action = 'action_update'") == 1
    row = actions_table(at).iloc[0]
    assert row["Status"] == "Done" and row["Last update"].endswith("status Open → Done")
    assert "All six converted in April." in [t.value for t in at.text]  # the note, as plain text, in the history


def test_a_viewer_reads_the_actions_but_is_offered_no_form(demo_db, monkeypatch):
    seed(demo_db)
    monkeypatch.setenv("KPI_LOCAL_ROLE", "viewer")
    get_settings.cache_clear()
    at = open_page("kpi")
    assert actions_table(at)["Action"].tolist() == ["Convert six agency posts to permanent"]
    assert not [t for t in at.text_input if t.key in ("action-title", "update-owner")]
    assert "Add the action" not in [b.label for b in at.button]


def test_present_and_reviews_show_the_actions(demo_db):
    seed(demo_db)
    seed(demo_db, "Audit NFA decisions monthly", kpi="assessment_nfa_rate")
    at = open_page("present")
    present = [d.value for d in at.dataframe if "Owner" in d.value.columns]
    assert present and present[0].to_dict("records") == [{
        "Owner": "Workforce team", "Due": "31 May 2025", "Status": "Open",
        "Action": "Convert six agency posts to permanent"}]
    at = open_page("reviews")
    table = [d.value for d in at.dataframe if "Owner" in d.value.columns][0]
    assert table["Action"].tolist() == ["Convert six agency posts to permanent", "Audit NFA decisions monthly"]
    assert table["KPI"].tolist()[0] == "Agency social workers (% of FTE)"
