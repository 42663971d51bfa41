"""The demo's sample actions (metrics.demo_store.DEMO_ACTIONS): added by ``kpi demo`` through the actions
log's own functions (validated and audited as a user's), some done, some open, one overdue — so the actions
sections of the Reviews page, the packs and the Word report show something in the demo."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from metrics import demo_store
from metrics.actions import actions_for_review, list_actions
from metrics.demo_store import DEMO_ACTIONS, DEMO_UPLOADER, add_demo_actions
from metrics.store import connect


@pytest.fixture
def demo_with_actions(demo_copy_of, tmp_path) -> Path:
    db = demo_copy_of(tmp_path / "demo.sqlite")
    conn = connect(db)
    try:
        assert add_demo_actions(conn) == len(DEMO_ACTIONS)
    finally:
        conn.close()
    return db


def test_demo_actions_some_done_some_open_one_overdue_at_the_latest_review(demo_with_actions):
    conn = connect(demo_with_actions)
    try:
        actions = list_actions(conn)
        shown = actions_for_review(conn, "2025-03-01", previous="2024-12-01")
        audited = conn.execute("SELECT action, actor FROM audit_log WHERE action LIKE 'action%'").fetchall()
    finally:
        conn.close()
    assert len(actions) == 5
    assert sorted(a.status for a in actions) == ["done", "done", "in_progress", "open", "open"]
    on = dt.date(2025, 3, 1)
    assert [a.kpi for a in actions if a.overdue(on)] == ["face_to_face_conferences"]
    assert all(a.checkpoint <= on for a in actions) and {a.checkpoint.isoformat() for a in actions} <= {
        "2023-06-01", "2023-09-01", "2024-06-01", "2024-12-01", "2025-03-01"}
    assert len(shown) == 5  # the review the demo opens on looks at every one (none closed before Dec 2024)
    assert [a.history[-1].note for a in actions if a.updated][0].endswith("(synthetic demo).")
    # through add_action / add_update: each audited, by the demo, never a person
    assert sorted(x[0] for x in audited) == ["action_add"] * 5 + ["action_update"] * 4
    assert {x[1] for x in audited} == {DEMO_UPLOADER}


def test_build_demo_adds_the_actions_unless_told_not_to(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_store, "generate", lambda *a, **k: [])  # no extracts: quick; the actions alone
    monkeypatch.chdir(tmp_path)
    assert demo_store.build_demo(tmp_path / "a.sqlite")["actions"] == 5
    assert demo_store.build_demo(tmp_path / "b.sqlite", actions=False)["actions"] == 0
    counts = [sqlite3.connect(tmp_path / f"{n}.sqlite").execute("SELECT COUNT(*) FROM actions").fetchone()[0]
              for n in "ab"]
    assert counts == [9, 0]  # five actions and their four updates


@pytest.mark.slow
def test_reviews_page_and_pack_list_the_demo_actions(demo_with_actions, tmp_path, monkeypatch):
    from helpers_pages import app_page, local_mode, point_at
    from reports.pack.build import build_model
    from reports.tables import load

    conn = connect(demo_with_actions)
    try:
        model = build_model(conn, load(conn, dt.date(2025, 3, 1)), public=False, include_teams=False, by="tester")
    finally:
        conn.close()
    listed = [a.title for p in model.kpis for a in p.actions]
    assert any("Hold child protection conferences in person by default" in t for t in listed)
    assert len(listed) == 5
    point_at(monkeypatch, demo_with_actions, tmp_path)
    local_mode(monkeypatch)
    at = app_page("reviews", at="2025-03-01")
    assert not at.exception, [e.value for e in at.exception]
    frames = [d.value for d in at.dataframe]
    titles = " ".join(str(v) for f in frames for c in f.columns for v in f[c].tolist())
    assert "Convert agency posts in the assessment teams to permanent posts" in titles
    from metrics.settings import get_settings

    get_settings.cache_clear()
