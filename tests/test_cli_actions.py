"""`kpi actions list|add|update`: a thin layer over metrics.actions (audited as the OS user, role cli)."""

from __future__ import annotations

import contextlib
import sqlite3


def test_add_update_and_list(run_kpi, fresh_db):
    r = run_kpi("actions", "add", "--at", "2024-06-01", "--kpi", "agency_rate", "--title", "Convert agency posts",
                "--owner", "Workforce team", "--due", "2024-09-30")
    assert r.code == 0, r.err
    aid = int(r.out)
    r = run_kpi("actions", "update", str(aid), "--status", "done", "--note", "All six converted")
    assert r.code == 0, r.err
    [a] = run_kpi("actions", "list", "--kpi", "agency_rate", "--json").json()
    assert (a["id"], a["status"], a["owner"], a["due"]) == (aid, "done", "Workforce team", "2024-09-30")
    assert [e["status"] for e in a["history"]] == ["open", "done"]
    text = run_kpi("actions", "list", "--at", "2024-06-01")
    assert text.code == 0 and f"A{aid}" in text.out and "Done" in text.out
    with contextlib.closing(sqlite3.connect(fresh_db)) as c:
        assert c.execute("SELECT role, action FROM audit_log WHERE action LIKE 'action_%' ORDER BY id").fetchall() \
            == [("cli", "action_add"), ("cli", "action_update")]


def test_bad_input_exits_1_naming_the_field_and_writes_nothing(run_kpi, fresh_db):
    r = run_kpi("actions", "add", "--at", "2024-06-01", "--kpi", "agency_rate", "--title", "Convert agency posts",
                "--owner", "Jane Smith", "--due", "2024-09-30")
    assert r.code == 1 and "owner:" in r.err and "person's name" in r.err and "Traceback" not in r.err
    assert run_kpi("actions", "update", "99", "--status", "done").code == 1
    assert run_kpi("actions", "add", "--at", "2024-06-01", "--kpi", "agency_rate", "--title", "x", "--owner",
                   "Team", "--due", "2024-09-30", "--status", "finished").code == 2  # a usage error
    assert run_kpi("actions", "list", "--json").json() == []


def test_kpi_actions_refuse_a_control_character_with_the_message(run_kpi, fresh_db):
    r = run_kpi("actions", "add", "--at", "2024-06-01", "--kpi", "agency_rate", "--title", "Convert\x1b[2J posts",
                "--owner", "Workforce team", "--due", "2024-09-30")
    assert r.code == 1 and "title: contains a control character (U+001B)" in r.err and "Traceback" not in r.err
    assert "\x1b" not in r.err
    assert run_kpi("actions", "list", "--json").json() == []
