"""Registers and team breakdowns where they are shown (issue 13 items 2 and 3): the KPI page (AppTest, through
dashboard/app.py), and the board pack's model — restricted in full, public under disclosure control."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers_pages import kpi_pages

REVIEW = dt.date(2025, 3, 1)  # the demo's default review: judges January 2025 (14-day lag)
HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")


@pytest.fixture(scope="module")
def demo_db(demo_copy_of, tmp_path_factory) -> Path:
    return demo_copy_of(tmp_path_factory.mktemp("registers-demo") / "kpi.sqlite")


@pytest.fixture
def page(monkeypatch, tmp_path, demo_db):
    yield from kpi_pages(monkeypatch, demo_db, tmp_path, timeout=90)


def _month_picker(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Month shown below")


def _frames(at: AppTest) -> list:
    return [d.value for d in at.dataframe]


def _no_identifier(at: AppTest) -> None:
    for f in _frames(at):
        assert not HEX_ID.search(f.to_string()), "a pseudonymised identifier on the page"


def test_milestone_register_opens_on_the_judged_month_and_follows_the_picker(page, demo_db):
    from metrics import registers, store

    at = page("improvement_plan_milestones_complete")
    assert _month_picker(at).value == "2025-01"
    assert "Items behind the percentage — Jan 2025" in [h.value for h in at.header]
    table = next(f for f in _frames(at) if "Why listed" in f.columns)
    conn = store.connect(demo_db)
    try:
        expected = registers.register_at(conn, "improvement_plan_milestones_complete", "2025-01",
                                         cutoff=dt.date(2023, 3, 1)).milestones
        earlier = registers.register_at(conn, "improvement_plan_milestones_complete", "2024-06",
                                        cutoff=dt.date(2023, 3, 1)).milestones
    finally:
        conn.close()
    assert list(table["Item"]) == list(expected["title"])
    overdue = table[table["Why listed"] == "Overdue"]
    assert not overdue.empty and all(d.replace(",", "").isdigit() for d in overdue["Days overdue or late"])
    _month_picker(at).set_value("2024-06").run()
    assert "Items behind the percentage — Jun 2024" in [h.value for h in at.header]
    table = next(f for f in _frames(at) if "Why listed" in f.columns)
    assert list(table["Item"]) == list(earlier["title"])


def test_complaints_register_and_burn_down(page):
    at = page("historic_complaints_outstanding")
    assert "Outstanding historic complaints — Jan 2025" in [h.value for h in at.header]
    table = next(f for f in _frames(at) if "Stage" in f.columns)
    assert list(table.columns)[-1] == "Total" and table["Stage"].iloc[-1] == "Total"
    tiles = {m.label: m.value for m in at.metric}
    assert str(table["Total"].iloc[-1]) == tiles["Value, Jan 2025"]  # the register is the number
    assert any("Burn-down since the cut-off" in m.value for m in at.markdown)
    _no_identifier(at)


def test_children_and_their_social_workers(page):
    at = page("three_plus_social_workers")
    assert "Children and their social workers — Jan 2025" in [h.value for h in at.header]
    dist = next(f for f in _frames(at) if "Social workers" in f.columns)
    assert list(dist["Social workers"]) == ["1", "2", "3", "4", "5 or more"]
    reasons = next(f for f in _frames(at) if "Reason" in f.columns)
    assert "The social worker left the role" in set(reasons["Reason"])
    assert not set(reasons["Reason"]) & {"LEFTRL", "ORGRST", "CASETR"}, "codes are shown in words"
    teams = next(f for f in _frames(at) if "With 3+ social workers" in f.columns)
    assert teams["Children allocated"].sum() == dist["Children"].sum()
    _no_identifier(at)


def test_team_breakdown_at_an_earlier_month(page, demo_db):
    from metrics import store
    from metrics.compute import breakdown

    at = page("agency_rate")
    assert "By team — Jan 2025" in [h.value for h in at.header]
    _month_picker(at).set_value("2024-04").run()
    assert "By team — Apr 2024" in [h.value for h in at.header]
    table = next(f for f in _frames(at) if "Group" in f.columns and "Notes" in f.columns)
    conn = store.connect(demo_db)
    try:
        b = breakdown(conn, "agency_rate", by="team", first="2024-04", last="2024-04")
    finally:
        conn.close()
    assert list(table["Group"]) == sorted(b["group"])
    shown = dict(zip(table["Group"], table["Value"]))
    assert all(shown[g] == f"{v:.1f}%" for g, v in zip(b["group"], b["value"]) if v == v)
    assert all(t is None or len(t) <= 12 for t in table["Trend"])


# --- the board pack's model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(demo_db):
    from metrics.store import connect
    from reports.boardpack import build_model
    from reports.tables import load

    conn = connect(demo_db)
    data = load(conn, REVIEW)
    out = {public: build_model(conn, data, public=public, include_teams=True, by="tester") for public in (False, True)}
    out["data"] = data
    yield out
    conn.close()


def _sections(model, metric):
    return next(p for p in model.kpis if p.kpi.id == metric).registers


def test_pack_pages_carry_the_registers(models):
    restricted = models[False]
    titles = {m: [s.title for s in _sections(restricted, m)] for m in
              ("send_milestones_complete", "improvement_plan_milestones_complete", "historic_complaints_outstanding",
               "three_plus_social_workers")}
    assert titles["improvement_plan_milestones_complete"] == ["Items behind the percentage, Jan 2025"]
    assert titles["historic_complaints_outstanding"][0].startswith("Outstanding historic complaints by stage")
    assert titles["historic_complaints_outstanding"][1].startswith("Burn-down since the cut-off")
    assert len(titles["three_plus_social_workers"]) == 3
    assert [s.title for s in _sections(restricted, "agency_rate")] == ["Each team's trajectory, Nov 2024 to Jan 2025"]
    assert _sections(models[True], "face_to_face_conferences") == []  # no register, no team
    plan = _sections(restricted, "improvement_plan_milestones_complete")[0].table
    assert plan.rows == _sections(models[True], "improvement_plan_milestones_complete")[0].table.rows, \
        "plan items are shown in full in the public pack"


def _counts_in(table) -> list[float]:
    out = []
    for row in table.rows:
        for cell in row[1:]:
            text = str(cell).replace(",", "").rstrip(" *")
            if text.replace(".", "", 1).isdigit() and not text.endswith("%"):
                out.append(float(text))
    return out


def test_public_register_tables_show_no_small_count(models):
    from reports.disclosure import SUPPRESSED

    public, data = models[True], models["data"]
    found_c = False
    for metric in ("historic_complaints_outstanding", "three_plus_social_workers"):
        for sec in _sections(public, metric):
            if sec.table is None:
                continue
            assert not any(0 < v < 6 for v in _counts_in(sec.table)), (sec.title, sec.table.rows)
            found_c |= any(SUPPRESSED in row for row in sec.table.rows)
            assert not any(HEX_ID.search(str(c)) for row in sec.table.rows for c in row)
    assert found_c, "the demo's complaints by stage and age have small counts: some cells are 'c'"
    burn = next(s for s in _sections(public, "historic_complaints_outstanding") if s.title.startswith("Burn"))
    dec = data.decisions
    for month_text, cell in burn.table.rows:
        month = dt.datetime.strptime(month_text, "%b %Y").strftime("%Y-%m")
        assert (cell == SUPPRESSED) == (not dec.value_shown("historic_complaints_outstanding", month))


def test_team_trajectories_in_the_restricted_pack_only(models):
    from metrics.kpis import REGISTRY

    data = models["data"]
    for metric in (m for m, k in REGISTRY.items() if "team" in k.breakdowns):
        sec = _sections(models[False], metric)[0]
        assert sec.title == "Each team's trajectory, Nov 2024 to Jan 2025", metric
        frame = data.breakdowns[(metric, "team")]
        jan = frame[frame["month"] == "2025-01"].set_index("group")
        for row in sec.table.rows:
            team, last = row[0], row[-1]
            v = jan.loc[team, "value"]
            assert last.removesuffix(" *") == REGISTRY[metric].format(float(v))
            small = (0 < jan.loc[team, "denominator"] < 10 if REGISTRY[metric].is_percent
                     else 0 < jan.loc[team, "numerator"] < 6 and REGISTRY[metric].unit == "count")
            assert last.endswith(" *") == bool(small), (metric, team)
        assert not any(s.title.startswith("Each team's trajectory") for s in _sections(models[True], metric))
