"""Green beside 'Consistently failing' (judgement.md sections 1, 3 and 4): the RAG and the assurance are
against the SAME target — the trajectory's at the judged month — but the RAG rates the judged value and the
assurance the process limits. They can only differ when the judged value lies beyond the limits (green and
target beyond the limit on the better side ⇒ the value is beyond it too), so every surface showing both says
so in words (metrics.reviews.words.verdicts_apart)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from metrics import store
from metrics.reviews import current_series, load_settings, review_board, words

AT = "2025-03-01"


@pytest.fixture(scope="module")
def board(demo_template):
    conn = store.connect(demo_template)
    try:
        settings = load_settings(conn)
        return review_board(conn, AT, settings=settings, series=current_series(conn, settings))
    finally:
        conn.close()


def test_green_and_consistently_failing_are_against_the_same_target_and_the_value_is_beyond_the_limits(board):
    apart = [r for r in board.rows if r.rag == "green" and r.assurance == "consistent_fail"]
    assert {r.metric for r in apart} >= {"agency_rate"}  # the demo shows the combination
    for r in apart:
        seg = r.spc.segments[r.spc.points[-1].segment]
        # spec section 4: consistent_fail = the target beyond the limit on the better side; section 3: green =
        # the value meets that same target — so the value is beyond the limit too (a special cause)
        if r.direction == "down":
            assert r.actual <= r.target < seg.lpl
        else:
            assert r.actual >= r.target > seg.upl
        assert r.variation == "improvement"
        text = words.verdicts_apart(r)
        assert text.startswith(f"Green and 'consistently failing' are against the same target "
                               f"({r.kpi.format_target(r.target)} for ")
        assert f"({r.kpi.format(seg.lpl)}–{r.kpi.format(seg.upl)}, set on " in text
        assert "beyond those limits" in text
        assert "same target" in words.verdicts_apart(r, "short")


def test_no_sentence_where_the_verdicts_agree(board):
    for r in board.rows:
        agree = not ((r.rag == "green" and r.assurance == "consistent_fail")
                     or (r.rag in ("amber", "red") and r.assurance == "consistent_pass"))
        if agree:
            assert words.verdicts_apart(r) == "" and words.verdicts_apart(r, "short") == ""


def test_pack_and_word_report_say_it_beside_the_verdicts(demo_template, tmp_path):
    from reports.pack.build import build_model
    from reports.pack.model import verdict_line
    from reports.tables import load
    from reports.word import build_report_model

    db = shutil.copyfile(demo_template, tmp_path / "demo.sqlite")
    conn = store.connect(db)
    try:
        data = load(conn, dt.date.fromisoformat(AT))
        model = build_model(conn, data, public=False, include_teams=False, by="tester")
        report = build_report_model(conn, data, public=False, by="tester")
        public = build_model(conn, load(conn, dt.date.fromisoformat(AT)), public=True, include_teams=False,
                             by="tester")
    finally:
        conn.close()
    page = next(p for p in model.kpis if p.kpi.id == "agency_rate")
    assert page.apart.startswith("Green and 'consistently failing' are against the same target")
    # the PDF's and slides' verdict strip (little room): the short form; the method page explains
    assert page.apart_short == "green yet consistently failing: the same target; the value is beyond the process limits"
    assert verdict_line(page.row, page.apart_short).endswith(page.apart_short)
    assert any("Same target as the RAG" in m for m in model.method)
    prio = next(p for p in report.priorities if p.page.kpi.id == "agency_rate")
    assert page.apart in prio.summary
    quiet = next(p for p in model.kpis if p.row.rag == "red")
    assert quiet.apart == "" or quiet.row.assurance == "consistent_pass"
    for p in public.kpis:  # a public pack shows it only where the verdicts themselves are shown
        assert p.apart == "" or p.row.assurance is not None


@pytest.mark.slow
@pytest.mark.parametrize("page", ["kpi", "overview", "reviews"])
def test_pages_say_which_target_each_verdict_is_against(page, demo_template, tmp_path, monkeypatch):
    from helpers_pages import app_page, local_mode, point_at
    from metrics.settings import get_settings

    db = shutil.copyfile(demo_template, tmp_path / "demo.sqlite")
    point_at(monkeypatch, db, tmp_path)
    local_mode(monkeypatch)
    query = {"kpi": "agency_rate", "at": AT} if page == "kpi" else {"at": AT}
    at = app_page(page, **query)
    assert not at.exception, [e.value for e in at.exception]
    said = "Green and 'consistently failing' are against the same target"
    if page == "kpi":
        assert any(said in h.proto.body for h in at.get("html"))
    else:
        assert any("Agency social workers" in c.value and said in c.value for c in at.caption)
    get_settings.cache_clear()
