"""Tests for metrics.evidence: the evidence log, editable until final, then corrections only."""

from __future__ import annotations

import json
import sqlite3

import pytest

from metrics import evidence as ev
from metrics.evidence import (
    TOR_ITEMS,
    EntryNotFound,
    EvidenceReadOnly,
    add_correction,
    add_entry,
    edit_entry,
    get_entry,
    list_entries,
    mark_final,
)
from metrics.reviews import is_final

from helpers_logs import JUN, SEP, SERIES, fresh_db  # noqa: F401 (fresh_db: a fixture)

pytestmark = pytest.mark.both_engines


@pytest.fixture
def log(fresh_db):
    """Entries at the June checkpoint (KPI, ToR item, overall) and one at September."""
    ids = {
        "kpi": add_entry(fresh_db, JUN, "Agency down to 50%; 6 conversions.", "analyst", kpi="agency_rate"),
        "tor": add_entry(fresh_db, JUN, "Improvement Board met twice.", "commissioner", tor_item="3"),
        "overall": add_entry(fresh_db, JUN, "Progress is sufficient so far.", "commissioner"),
        "sep": add_entry(fresh_db, SEP, "Draft six-month view.", "commissioner", tor_item="2a"),
    }
    return fresh_db, ids


def test_tor_items_declared_once():
    assert {"2a", "2c", "2d", "2e", "3", "4"} <= set(TOR_ITEMS)
    assert all(label for label in TOR_ITEMS.values())


def test_add_and_list(log):
    conn, ids = log
    entries = list_entries(conn, JUN)
    assert [e.id for e in entries] == [ids["kpi"], ids["tor"], ids["overall"]]
    e = entries[0]
    assert (e.checkpoint, e.kpi, e.tor_item, e.author) == (JUN, "agency_rate", None, "analyst")
    assert e.created_at.endswith("Z") and e.subject == "Agency social workers (% of FTE)"
    assert entries[1].subject.startswith("ToR 3:") and entries[2].subject == "Overall"
    assert [x.id for x in list_entries(conn, JUN, kpi="agency_rate")] == [ids["kpi"]]
    assert [x.id for x in list_entries(conn, "2023-06-01", tor_item="3")] == [ids["tor"]]
    assert [x.id for x in list_entries(conn, SEP)] == [ids["sep"]]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kpi": "not_a_kpi"}, "kpi"),
        ({"tor_item": "2b"}, "tor_item"),
        ({"kpi": "agency_rate", "tor_item": "3"}, "kpi, tor_item"),
        ({"body": "  "}, "body"),
        ({"author": ""}, "author"),
    ],
)
def test_add_entry_validation_names_the_field(fresh_db, kwargs, field):
    args = {"body": "text", "author": "analyst", **kwargs}
    with pytest.raises(ValueError, match=field):
        add_entry(fresh_db, JUN, args.pop("body"), args.pop("author"), **args)
    assert list_entries(fresh_db, JUN) == []


def test_edit_before_final(log):
    conn, ids = log
    e = edit_entry(conn, ids["kpi"], "Agency down to 50%; 7 conversions.", by="analyst2")
    assert e.body.endswith("7 conversions.") and e.edited_by == "analyst2" and e.edited_at
    assert e.author == "analyst"  # authorship does not change
    with pytest.raises(EntryNotFound):
        edit_entry(conn, 9999, "x", by="a")


def test_an_edit_keeps_the_replaced_text_in_the_audit_trail(log):
    conn, ids = log
    edit_entry(conn, ids["kpi"], "Agency down to 49%.", by="analyst2", role="uploader")
    actor, role, details = conn.execute(
        "SELECT actor, role, details FROM audit_log WHERE action = 'evidence_edit'").fetchone()
    assert (actor, role) == ("analyst2", "uploader")
    assert json.loads(details)["previous_body"] == "Agency down to 50%; 6 conversions."


def test_only_the_body_can_be_edited_even_before_final(log):
    conn, ids = log
    with pytest.raises(sqlite3.IntegrityError, match="only the body"):
        conn.execute("UPDATE evidence SET author = 'someone else' WHERE id = ?", (ids["kpi"],))


def test_python_refuses_changes_after_final(log):
    conn, ids = log
    mark_final(conn, JUN, "commissioner", series=SERIES)
    assert is_final(conn, JUN)
    with pytest.raises(EvidenceReadOnly, match="final"):
        edit_entry(conn, ids["kpi"], "rewritten", by="analyst")
    with pytest.raises(EvidenceReadOnly, match="correction"):
        add_entry(conn, JUN, "late thought", "analyst", kpi="agency_rate")
    assert get_entry(conn, ids["kpi"]).body == "Agency down to 50%; 6 conversions."
    # another checkpoint's log is still open
    assert edit_entry(conn, ids["sep"], "Six-month view, second draft.", by="commissioner").body.startswith("Six")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE evidence SET body = 'rewritten' WHERE id = {id}",
        "UPDATE evidence SET edited_by = 'x' WHERE id = {id}",
        "DELETE FROM evidence WHERE id = {id}",
        "DELETE FROM evidence WHERE checkpoint = '2023-06-01'",
        "INSERT INTO evidence (checkpoint, body, author, created_at) VALUES ('2023-06-01', 'b', 'a', 'now')",
    ],
)
def test_sql_triggers_refuse_changes_after_final(log, sql):
    conn, ids = log
    mark_final(conn, JUN, "commissioner", series=SERIES)
    with pytest.raises(sqlite3.IntegrityError, match="final"):
        conn.execute(sql.format(id=ids["kpi"]))
    assert [e.body for e in list_entries(conn, JUN)][0] == "Agency down to 50%; 6 conversions."
    assert len(list_entries(conn, JUN)) == 3


def test_sql_allows_changes_before_final(log):
    conn, ids = log
    conn.execute("UPDATE evidence SET body = 'draft 2' WHERE id = ?", (ids["kpi"],))
    conn.execute("DELETE FROM evidence WHERE id = ?", (ids["overall"],))
    assert [e.body for e in list_entries(conn, JUN)] == ["draft 2", "Improvement Board met twice."]


def test_corrections_after_final_are_new_entries(log):
    conn, ids = log
    mark_final(conn, JUN, "commissioner", series=SERIES)
    cid = add_correction(conn, ids["kpi"], "Correction: 5 conversions, not 6.", "analyst")
    c = get_entry(conn, cid)
    assert (c.corrects, c.checkpoint, c.kpi) == (ids["kpi"], JUN, "agency_rate")
    original = get_entry(conn, ids["kpi"])
    assert original.body == "Agency down to 50%; 6 conversions." and original.corrected_by == [cid]
    listed = {e.id: e for e in list_entries(conn, JUN, kpi="agency_rate")}
    assert listed[ids["kpi"]].corrected_by == [cid] and listed[cid].corrects == ids["kpi"]
    # the correction itself is read-only too
    with pytest.raises(EvidenceReadOnly):
        edit_entry(conn, cid, "again", by="analyst")


def test_a_correction_must_be_of_the_same_checkpoint(log):
    conn, ids = log
    with pytest.raises(ValueError, match="corrects"):
        add_entry(conn, JUN, "wrong place", "analyst", corrects=ids["sep"])
    with pytest.raises(sqlite3.IntegrityError, match="same checkpoint"):
        conn.execute("INSERT INTO evidence (checkpoint, body, author, created_at, corrects)"
                     " VALUES ('2023-06-01', 'b', 'a', 'now', ?)", (ids["sep"],))


def test_mark_final_is_the_review_freeze(log):
    conn, _ = log
    r = ev.mark_final(conn, JUN, "commissioner", series=SERIES)
    assert r.final and r.metric("agency_rate").actual == 50.0
