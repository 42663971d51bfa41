"""The actions log in the board packs: the pack model's ``actions`` per priority (what the PDF, the slides and a
Word report print), and the PDF and PowerPoint tables (owner, due, status, action) — long text cut with an
ellipsis, public packs redacted. Rendered without charts (no Chromium): the pages are the same otherwise."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from metrics.actions import add_action, add_update
from metrics.store import connect

REVIEW = dt.date(2025, 3, 1)
LONG = "Recruit and retain " + "very " * 1200 + "experienced team managers"  # ~6,000 characters, straight in SQL


@pytest.fixture(scope="module")
def store_with_actions(tmp_path_factory, demo_copy_of) -> tuple[Path, dict]:
    path = demo_copy_of(tmp_path_factory.mktemp("pack-actions") / "demo.sqlite")
    with contextlib.closing(connect(path)) as conn:
        ids = {
            "agency": add_action(conn, REVIEW, "agency_rate", "Convert six agency posts; ask ana@council.gov.uk",
                                 "Workforce team", "2025-02-28", "lead@example.org"),
            "nfa": add_action(conn, "2024-12-01", "assessment_nfa_rate", "Audit NFA decisions monthly",
                              "Head of Service, Front Door", "2025-06-30", "lead@example.org"),
            "long": add_action(conn, REVIEW, "agency_rate", "placeholder", "Workforce team", "2025-09-30", "lead"),
        }
        add_update(conn, ids["nfa"], "lead@example.org", status="in_progress", note="First audit done.")
        # whatever the store holds, the packs cope: a 6,000-character action written past the input limit
        conn.execute("UPDATE actions SET title = ? WHERE id = ?", (LONG, ids["long"]))
    return path, ids


def model_for(path: Path, public: bool):
    from reports.boardpack import load
    from reports.pack.build import build_model

    with contextlib.closing(connect(path)) as conn:
        return build_model(conn, load(conn, REVIEW), public=public, include_teams=False, by="tester")


def page(model, kpi: str):
    return next(p for p in model.kpis if p.kpi.id == kpi)


def test_the_pack_model_lists_each_priority_s_actions(store_with_actions):
    path, ids = store_with_actions
    model = model_for(path, public=False)
    agency = page(model, "agency_rate").actions
    assert [a.ref for a in agency] == [f"A{ids['agency']}", f"A{ids['long']}"]
    a = agency[0]
    assert (a.title, a.owner, a.due, a.status, a.agreed, a.overdue) == (
        "Convert six agency posts; ask ana@council.gov.uk", "Workforce team", "28 February 2025", "Open", "1 March 2025",
        True)
    assert a.status_text == "Open (overdue)"
    long = agency[1]
    assert len(long.title) <= 300 and long.title.endswith("…") and long.title.startswith("Recruit and retain")
    [nfa] = page(model, "assessment_nfa_rate").actions  # agreed at the previous review, still open
    assert (nfa.status, nfa.agreed, nfa.overdue) == ("In progress", "1 December 2024", False)
    assert nfa.last_update.endswith("status Open → In progress")
    assert page(model, "agency_rate").actions_table.header == ["Owner", "Due", "Status", "Action"]
    others = [p for p in model.kpis if p.kpi.id not in ("agency_rate", "assessment_nfa_rate")]
    assert others and all(p.actions == [] and p.actions_table is None for p in others)


def test_a_public_pack_redacts_the_action_text(store_with_actions):
    path, _ = store_with_actions
    [a, _long] = page(model_for(path, public=True), "agency_rate").actions
    assert "ana@council.gov.uk" not in a.title and "[removed]" in a.title


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_pdf_and_slides_show_the_actions_tables(store_with_actions, tmp_path):
    from pptx import Presentation

    from reports import pdf, slides

    path, ids = store_with_actions
    model = model_for(path, public=False)
    pdf.render(model, tmp_path / "pack.pdf")
    text = pdf_text(tmp_path / "pack.pdf")
    flat = re.sub(r"\s+", " ", text)
    assert "Actions" in text and "Workforce team" in flat and "Open (overdue)" in flat
    assert "Head of Service" in flat and "Audit NFA decisions monthly" in flat  # (the owner may wrap)
    assert "No actions recorded for this priority." in flat
    assert LONG not in flat and "very very" in flat and "…" in flat  # wrapped, then cut with an ellipsis

    slides.render(model, tmp_path / "pack.pptx")
    deck = Presentation(str(tmp_path / "pack.pptx"))
    tables = [[[c.text for c in row.cells] for row in sh.table.rows]
              for s in deck.slides for sh in s.shapes if sh.has_table]
    actions = [t for t in tables if t[0] == ["Owner", "Due", "Status", "Action"]]
    assert len(actions) == 2
    rows = [r for t in actions for r in t[1:]]
    assert ["Workforce team", "28 February 2025", "Open (overdue)",
            f"A{ids['agency']}  Convert six agency posts; ask ana@council.gov.uk"] in rows
    assert all(len(c) < 400 for r in rows for c in r), "cells are cut, not overflowing"
    titles = [sh.text_frame.text for s in deck.slides for sh in s.shapes
              if sh.has_text_frame and sh.text_frame.text.endswith(": actions")]
    assert len(titles) == 2


def test_the_word_report_lists_the_same_actions(store_with_actions):
    from reports import word

    path, ids = store_with_actions
    with contextlib.closing(connect(path)) as conn:
        items = word.actions_for(conn, REVIEW, "assessment_nfa_rate", False)
        agency = word.actions_for(conn, REVIEW, "agency_rate", False)
    assert [(i.text, i.owner, i.due, i.status) for i in items] == [
        (f"A{ids['nfa']} Audit NFA decisions monthly", "Head of Service, Front Door", "30 June 2025", "In progress")]
    assert agency[0].status == "Open (overdue)" and len(agency) == 2
