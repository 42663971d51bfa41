"""Tests for metrics.actions: the actions log — owners that are roles, updates as new entries, read-only after
final (in Python and by SQL triggers), history never rewritten, every entry audited."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from metrics.actions import (STATUSES, ActionNotFound, ActionReadOnly, actions_for_review, add_action, add_update,
                             changes, get_action, list_actions, owner_problem)
from metrics.auth import Role, allowed
from metrics.reviews import mark_final

from helpers_logs import JUN, SEP, SERIES, fresh_db  # noqa: F401 (fresh_db: a fixture)

pytestmark = pytest.mark.both_engines


@pytest.fixture
def log(fresh_db):
    ids = {
        "agency": add_action(fresh_db, JUN, "agency_rate", "Convert 6 agency posts to permanent", "Workforce team",
                             "2023-08-31", "lead@council.gov.uk", role="uploader"),
        "visits": add_action(fresh_db, JUN, "assessment_nfa_rate", "Weekly NFA decision huddle",
                             "Head of Service, Children in Care", dt.date(2023, 7, 31), "admin@council.gov.uk"),
        "sep": add_action(fresh_db, SEP, "agency_rate", "Review the market supplement", "HR business partner",
                          "2023-11-30", "lead@council.gov.uk"),
    }
    return fresh_db, ids


def test_statuses_declared_once():
    assert list(STATUSES) == ["open", "in_progress", "done", "dropped"]
    assert STATUSES["in_progress"] == "In progress"


def test_add_and_list(log):
    conn, ids = log
    jun = list_actions(conn, JUN)
    assert [a.id for a in jun] == [ids["agency"], ids["visits"]]
    a = jun[0]
    assert (a.checkpoint, a.kpi, a.owner, a.due, a.status, a.agreed_by) == (
        JUN, "agency_rate", "Workforce team", dt.date(2023, 8, 31), "open", "lead@council.gov.uk")
    assert a.title == "Convert 6 agency posts to permanent" and not a.updated and a.history[0].created_at.endswith("Z")
    assert [x.id for x in list_actions(conn, kpi="agency_rate")] == [ids["agency"], ids["sep"]]
    assert [x.id for x in list_actions(conn, "2023-09-01", kpi="agency_rate")] == [ids["sep"]]
    assert [x.id for x in list_actions(conn, up_to=JUN)] == [ids["agency"], ids["visits"]]
    assert list_actions(conn, JUN, kpi="permanent_team_managers") == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kpi": "not_a_kpi"}, "kpi"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "Two\nlines"}, "title"),
        ({"title": "bell\x07"}, "title"),
        ({"owner": ""}, "owner"),
        ({"owner": "Jane Smith"}, "owner"),
        ({"owner": "Ms Patel"}, "owner"),
        ({"owner": "jane.smith@council.gov.uk"}, "owner"),
        ({"owner": "Team\u202e"}, "owner"),
        ({"due": "31/08/2023"}, "due"),
        ({"due": "2023-02-30"}, "due"),
        ({"status": "finished"}, "status"),
        ({"note": "\x00"}, "note"),
        ({"author": " "}, "author"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(fresh_db, kwargs, field):
    args = {"kpi": "agency_rate", "title": "A title", "owner": "Workforce team", "due": "2023-08-31",
            "author": "lead", **kwargs}
    with pytest.raises(ValueError, match=f"^{field}:"):
        add_action(fresh_db, JUN, args.pop("kpi"), args.pop("title"), args.pop("owner"), args.pop("due"),
                   args.pop("author"), **args)
    assert list_actions(fresh_db) == []
    assert fresh_db.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'action_%'").fetchone()[0] == 0


@pytest.mark.parametrize("owner", ["Workforce team", "Head of Service, Children in Care", "Principal Social Worker",
                                   "DCS", "MASH", "HR", "Director of Children's Services", "Legal",
                                   "Improvement Board", "Quality Assurance Unit", "Finance business partner"])
def test_roles_and_teams_are_owners(owner):
    assert owner_problem(owner) is None


@pytest.mark.parametrize("owner", ["Jane Smith", "Mary Anne O'Neill", "Dr Jones", "Cllr Brown",
                                   "a.person@example.org", "Priya Patel-Shah", "Ross McDonald"])
def test_a_persons_name_is_not_an_owner(owner):
    assert owner_problem(owner)


def test_an_update_is_a_new_entry_and_the_action_shows_its_latest_state(log):
    conn, ids = log
    first = add_update(conn, ids["agency"], "lead", status="in_progress", note="Four offers accepted.")
    second = add_update(conn, ids["agency"], "lead", status="done", due="2023-09-15", note="All six converted.")
    a = get_action(conn, ids["agency"])
    assert [e.id for e in a.history] == [ids["agency"], first, second]
    assert (a.status, a.due, a.owner, a.title) == ("done", dt.date(2023, 9, 15), "Workforce team",
                                                   "Convert 6 agency posts to permanent")
    assert a.closed and a.updated and a.history[0].status == "open"  # the original is kept as written
    assert changes(a.history[1], a.history[2]) == ["status In progress → Done", "due 31 Aug 2023 → 15 Sep 2023"]
    assert get_action(conn, second).id == ids["agency"]  # any entry finds its action
    listed = {x.id: x for x in list_actions(conn, JUN)}
    assert listed[ids["agency"]].status_text == "Done" and len(listed) == 2  # updates are not actions


def test_an_update_must_change_something_or_say_something(log):
    conn, ids = log
    with pytest.raises(ValueError, match="nothing changed"):
        add_update(conn, ids["agency"], "lead", status="open")
    with pytest.raises(ValueError, match="owner:"):
        add_update(conn, ids["agency"], "lead", owner="John Smith")
    with pytest.raises(ActionNotFound):
        add_update(conn, 999, "lead", status="done")
    assert not get_action(conn, ids["agency"]).updated


def test_audit_rows(log):
    conn, ids = log
    add_update(conn, ids["agency"], "lead@council.gov.uk", status="done", note="Converted.", role="uploader")
    rows = conn.execute("SELECT actor, role, action, target, details FROM audit_log WHERE action LIKE 'action_%'"
                        " ORDER BY id").fetchall()
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("lead@council.gov.uk", "action_add", f"action {ids['agency']}"),
        ("admin@council.gov.uk", "action_add", f"action {ids['visits']}"),
        ("lead@council.gov.uk", "action_add", f"action {ids['sep']}"),
        ("lead@council.gov.uk", "action_update", f"action {ids['agency']}")]
    assert rows[0][1] == "uploader" and rows[-1][1] == "uploader"
    assert json.loads(rows[-1][4])["changed"] == {"status": ["open", "done"]}
    assert json.loads(rows[0][4])["owner"] == "Workforce team"


def test_permissions_viewer_reads_uploader_and_admin_write():
    assert not allowed(Role.viewer, "actions_edit") and allowed(Role.viewer, "view")
    assert allowed(Role.uploader, "actions_edit") and allowed(Role.admin, "actions_edit")


def test_after_final_no_new_actions_but_updates_still(log):
    conn, ids = log
    mark_final(conn, JUN, "commissioner", series=SERIES)
    with pytest.raises(ActionReadOnly, match="final"):
        add_action(conn, JUN, "agency_rate", "Late idea", "Workforce team", "2023-12-31", "lead")
    uid = add_update(conn, ids["agency"], "lead", status="done", note="Done in August.")
    assert get_action(conn, ids["agency"]).current.id == uid
    assert add_action(conn, SEP, "agency_rate", "Still open", "Workforce team", "2023-12-31", "lead")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE actions SET status = 'done' WHERE id = {id}",
        "UPDATE actions SET title = 'rewritten', owner = 'Another team' WHERE id = {id}",
        "UPDATE actions SET note = 'x' WHERE id = {upd}",
        "DELETE FROM actions WHERE id = {id}",
        "DELETE FROM actions WHERE id = {upd}",
        "DELETE FROM actions WHERE checkpoint = '2023-06-01'",
        "INSERT INTO actions (checkpoint, kpi, title, owner, due, status, author, created_at)"
        " VALUES ('2023-06-01', 'agency_rate', 't', 'Team', '2023-12-31', 'open', 'a', 'now')",
    ],
)
def test_sql_triggers_refuse_changes_after_final(log, sql):
    conn, ids = log
    upd = add_update(conn, ids["agency"], "lead", status="in_progress")
    mark_final(conn, JUN, "commissioner", series=SERIES)
    before = conn.execute("SELECT * FROM actions ORDER BY id").fetchall()
    with pytest.raises(sqlite3.IntegrityError, match="final"):
        conn.execute(sql.format(id=ids["agency"], upd=upd))
    assert conn.execute("SELECT * FROM actions ORDER BY id").fetchall() == before


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE actions SET status = 'done' WHERE id = {id}", "history"),
        ("DELETE FROM actions WHERE id = {id}", "history"),
        ("UPDATE actions SET note = 'x' WHERE id = {first}", "history"),
        ("UPDATE actions SET author = 'someone else' WHERE id = {last}", "cannot be changed"),
        ("UPDATE actions SET created_at = '2020-01-01T00:00:00Z' WHERE id = {last}", "cannot be changed"),
        ("UPDATE actions SET checkpoint = '2023-09-01' WHERE id = {visits}", "cannot be changed"),
        ("UPDATE actions SET updates = NULL WHERE id = {last}", "cannot be changed"),
        ("INSERT INTO actions (checkpoint, kpi, title, owner, due, status, author, created_at, updates)"
         " VALUES ('2023-06-01', 'agency_rate', 't', 'Team', '2023-12-31', 'open', 'a', 'now', {sep})", "same review"),
        ("INSERT INTO actions (checkpoint, kpi, title, owner, due, status, author, created_at, updates)"
         " VALUES ('2023-06-01', 'agency_rate', 't', 'Team', '2023-12-31', 'open', 'a', 'now', {first})",
         "same review"),
        ("INSERT INTO actions (checkpoint, kpi, title, owner, due, status, author, created_at)"
         " VALUES ('2023-06-01', 'agency_rate', 't', 'Team', '2023-12-31', 'finished', 'a', 'now')", "CHECK"),
    ],
)
def test_sql_triggers_refuse_rewriting_history_even_before_final(log, sql, message):
    conn, ids = log
    first = add_update(conn, ids["agency"], "lead", status="in_progress")
    last = add_update(conn, ids["agency"], "lead", status="done")
    before = conn.execute("SELECT * FROM actions ORDER BY id").fetchall()
    with pytest.raises(sqlite3.IntegrityError, match=message):
        conn.execute(sql.format(id=ids["agency"], first=first, last=last, visits=ids["visits"], sep=ids["sep"]))
    assert conn.execute("SELECT * FROM actions ORDER BY id").fetchall() == before


def test_sql_allows_tidying_the_latest_entry_before_final(log):
    conn, ids = log
    conn.execute("UPDATE actions SET title = 'Weekly NFA huddle' WHERE id = ?", (ids["visits"],))
    conn.execute("DELETE FROM actions WHERE id = ?", (ids["sep"],))
    assert [a.title for a in list_actions(conn)] == ["Convert 6 agency posts to permanent", "Weekly NFA huddle"]


def test_actions_for_review_keeps_open_and_recently_closed(log):
    conn, ids = log
    visits_done = add_update(conn, ids["visits"], "lead", status="done")
    # the visits action was closed on the day it was written (today, after SEP): still shown at September
    assert [a.id for a in actions_for_review(conn, SEP, previous=JUN)] == [ids["agency"], ids["visits"], ids["sep"]]
    # …but a review after the day it closed, whose previous review was after it too, no longer lists it
    later, prev = dt.date(2099, 12, 1), dt.date(2099, 9, 1)
    assert ids["visits"] not in [a.id for a in actions_for_review(conn, later, previous=prev)]
    assert ids["agency"] in [a.id for a in actions_for_review(conn, later, previous=prev)]
    assert [a.id for a in actions_for_review(conn, JUN, kpi="agency_rate")] == [ids["agency"]]
    assert get_action(conn, visits_done).closed
