"""The audit trail page's "Details" column in words (dashboard/components/audit.py), for every action the store
records, from rows written by the real functions; the CSV download keeps the stored JSON unchanged."""

from __future__ import annotations

import contextlib
import json
import re
import shutil

import pandas as pd
import pytest
from test_upload_page import open_view, page_db  # noqa: F401 (page_db: a fixture)

from dashboard.components.audit import audit_details
from metrics import audit, impact, store
from metrics.actions import add_action, add_update
from metrics.evidence import add_entry, edit_entry
from metrics.ingest import commit, prepare, restore_upload, withdraw_upload
from metrics.kpis import REGISTRY
from metrics.reviews import load_settings, mark_final, save_settings

FINAL = "2024-06-01"  # judges April 2024
# shapes as reports/boardpack.py and reports/word.py record them (building a pack here would take minutes)
PACKS = {
    "boardpack": {"review": FINAL, "label": "Review 5 – Jun 2024", "format": "pdf", "public": True,
                  "include_teams": False, "pages": 14, "suppressed_cells": 3, "file": "board-pack.pdf"},
    "report": {"review": FINAL, "label": "Review 5 – Jun 2024", "format": "docx", "public": False, "priorities": 4,
               "suppressed_cells": 0, "file": "report.docx"},
}


def _workforce(n: int, agency: int) -> bytes:
    rows = "".join(f"W9{i:05d},case_holder,{'Y' if i < agency else 'N'},1,East\n" for i in range(n))
    return f"worker_id,role,agency,fte,team\n{rows}".encode()


@pytest.fixture
def trail(page_db, demo_template, tmp_path):
    """A copy of the demo store with one row (at least) of every audit action, written the way the product
    writes them; returns (path, {action: details as stored})."""
    path = page_db(shutil.copyfile(demo_template, tmp_path / "demo.sqlite"))
    with contextlib.closing(store.connect(path)) as conn:
        s = load_settings(conn)
        t = s.targets["agency_rate"].model_copy(update={"final_target": 10.0})
        save_settings(conn, s.model_copy(update={"targets": {**s.targets, "agency_rate": t}}), by="lead",
                      note="Board agreed a tougher agency target")
        mark_final(conn, FINAL, by="lead")
        p = prepare(conn, _workforce(10, 5), "workforce_2024-04.csv", kind="workforce", month="2024-04")
        got = impact.upload_impact(conn, [p])
        new = commit(conn, p, uploaded_by="lead", on_commit=lambda c, uid: impact.record_restatements(
            c, got.by_step[p.result.file], reason="HR corrected April's census", by="lead", cause=f"upload {uid}"))
        withdraw_upload(conn, new.upload_id, by="lead")
        restore_upload(conn, new.upload_id, by="lead")
        e = add_entry(conn, "2024-09-01", "Agency down to 50%.", "analyst", kpi="agency_rate")
        edit_entry(conn, e, "Agency down to 49%.", by="analyst")
        a = add_action(conn, "2024-09-01", "agency_rate", "Convert agency posts", "Workforce team", "2024-12-31",
                       "lead")
        add_update(conn, a, "lead", status="done", note="All six converted")
        audit.record_now(conn, "lead", "export", "audit trail", {"file": "audit-trail.csv"})
        for action, details in PACKS.items():
            audit.record_now(conn, "lead", action, f"out/{details['file']}", details)
        audit.record_now(conn, "unknown", "sign_in_refused", "", {})
        rows = conn.execute("SELECT action, details FROM audit_log ORDER BY id").fetchall()
    stored = {}
    for action, details in rows:  # the last row of each action (the newest upload is the April one)
        stored[action] = details
    return path, stored, new.upload_id


def test_every_action_the_store_records_reads_as_words(trail):
    _, stored, april = trail
    assert set(stored) == set(audit.ACTIONS)  # every action is covered here
    words = {action: audit_details(details) for action, details in stored.items()}
    for action, text in words.items():
        assert not any(c in text for c in '{}[]"'), (action, text)  # no JSON left
    agency = REGISTRY["agency_rate"].label
    assert words["upload"].startswith("kind: workforce · months: Apr 2024 · rows: 10 · replaces: upload ")
    assert "file: workforce_2024-04.csv" in words["upload"] and "SHA-256: " in words["upload"]
    assert words["withdraw"].startswith("upload ") and "current again for Apr 2024" in words["withdraw"]
    assert words["restore"] == ""
    assert words["settings_change"] == ("first saved version, from the built-in defaults; "
                                        f"{agency}: final target 20% → 10% · note: “Board agreed a tougher agency "
                                        "target”")
    assert re.fullmatch(r"ratings: \d+ green, \d+ amber, \d+ red, \d+ no data · settings version: 1 · "
                        r"data as of: \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}", words["checkpoint_final"])
    assert words["restatement"].startswith("reason: “HR corrected April's census” · cause: "
                                           f"upload {april} · restated: ")
    assert f"{agency} for Apr 2024: " in words["restatement"] and "%" in words["restatement"]
    assert words["evidence_add"] == f"review: 1 Sep 2024 · KPI: {agency}"
    assert words["evidence_edit"] == "review: 1 Sep 2024 · replaced text: “Agency down to 50%.”"
    assert words["action_add"] == (f"review: 1 Sep 2024 · KPI: {agency} · owner: Workforce team · "
                                   "due: 31 Dec 2024 · status: Open")
    assert words["action_update"] == f"review: 1 Sep 2024 · KPI: {agency} · update entry: 2 · status: open → done"
    assert words["export"] == "file: audit-trail.csv"
    assert words["boardpack"] == ("review: 1 Jun 2024 · Review 5 – Jun 2024 · format: PDF · public version "
                                  "(small numbers suppressed) · without team breakdowns · pages: 14 · "
                                  "cells suppressed: 3 · file: board-pack.pdf")
    assert words["report"] == ("review: 1 Jun 2024 · Review 5 – Jun 2024 · format: DOCX · internal version · "
                               "priorities: 4 · cells suppressed: 0 · file: report.docx")
    assert words["sign_in_refused"] == ""


@pytest.mark.parametrize(("details", "shown"), [
    ({"replaces": [1], "months": ["2025-04", "2025-05", "2025-06"], "rows": 1234},
     "months: Apr 2025 – Jun 2025 · rows: 1,234 · replaces: upload 1"),
    ({"replaces": [3, 7], "months": ["2025-01", "2025-02", "2025-06"]}, "months: Jan 2025 – Feb 2025, Jun 2025 · "
                                                                       "replaces: uploads 3, 7"),
    ({"fallback": {}, "empty": ["2024-05"]}, "no earlier upload current again · no data for: May 2024"),
    ({"months": ["2099-13"]}, "months: 2099-13"),  # an implausible stored month: as stored
    ({"previous_body": "line one\nline two\x1b[2J\u202e"},
     "replaced text: “line one / line two<U+001B>[2J<U+202E>”"),
    ({"previous_body": "x" * 500}, "replaced text: “" + "x" * 199 + "…”"),
    ({"future_key": {"a": [1, True, None]}}, "future key: a: 1, yes, none"),
    ("not json {", "not json {"),
    ("", ""),
], ids=["replaces", "two ranges", "withdraw into nothing", "bad month", "invisible characters", "long text",
        "unknown key", "not JSON", "empty"])
def test_the_formatter_on_shapes_and_edge_cases(details, shown):
    got = audit_details(json.dumps(details) if isinstance(details, dict) else details)
    assert got == shown.replace("no data for:", "no data now for:")


def test_the_page_shows_words_and_the_download_keeps_the_stored_json(trail, monkeypatch):
    path, stored, _ = trail
    offered = {}

    def capture(label, data, file_name, what, **kw):
        offered["csv"] = data

    monkeypatch.setattr("dashboard.components.chrome.export_button", capture)
    at = open_view("views/audit.py")
    table = at.dataframe[0].value
    by_action = dict(zip(table["Action"], table["Details"]))
    assert by_action["Evidence edit"] == "review: 1 Sep 2024 · replaced text: “Agency down to 50%.”"
    assert not table["Details"].str.contains('[{"]', regex=True).any()
    assert "Select a row to read its details in full." in [c.value for c in at.caption]
    csv = offered["csv"]
    frame = pd.read_csv(__import__("io").StringIO(csv.decode() if isinstance(csv, bytes) else csv))
    assert set(frame["details"]) == {d for d in _all_details(path)}  # every row's JSON, byte for byte


def _all_details(path) -> list[str]:
    with contextlib.closing(store.connect(path)) as conn:
        return [r[0] for r in conn.execute("SELECT details FROM audit_log")]
