"""The Commissioner's report (reports/word.py, `kpi report`, the Reviews page's button).

One synthetic demo store per module with evidence added (a KPI, ToR 2(a) and 2(d), the review as a whole),
a copy with the board pack tests' planted small numbers for the public report, and a copy with a
500-character team name and commentary. Each report is read back with python-docx: its outline (paragraphs in
Word's Heading styles), its verdict tables and its text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import getpass
import json
import re
import shutil
import sqlite3
from pathlib import Path

import docx
import pytest

from metrics.kpis import REGISTRY
from metrics.months import short_month
from metrics.projection import STATUS_TEXT
from metrics.reviews import words
from reports.disclosure import SUPPRESSED

from helpers_packs import pack_settings, run_kpi, with_evidence

REVIEW = dt.date(2025, 3, 1)  # "Review 8 – Mar 2025": judges January 2025 (14-day reporting lag)
COMMENT = "Agency reliance continues to fall; we expect ≥ 20% by summer. Ask ana@council.gov.uk about C000123."
TOR_2D = "The partnership board agreed the children's participation strategy."
TOR_2A = "The DCS post was filled permanently in January."
OVERALL = "Sufficient progress on most priorities."
LONG_TEAM = ("Assessment and Intervention Team North " * 20)[:499] + "Z"  # 500 characters
LONG_COMMENT = ("The service reviewed every open plan with partners and children; " * 10)[:499] + "."
SECTIONS = ["The checkpoint", "Overall view", "Progress on each priority", "Qualitative Terms of Reference items",
            "Data notes", "Definitions and sources"]


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with pack_settings(tmp_path_factory.mktemp("word-report")) as home:
        yield home


@pytest.fixture(scope="module")
def demo_db(env, demo_copy_of) -> Path:
    return with_evidence(demo_copy_of(env / "demo.sqlite"), REVIEW, [
        (COMMENT, "ana@council.gov.uk", {"kpi": "agency_rate"}), (TOR_2A, "commissioner", {"tor_item": "2a"}),
        (TOR_2D, "commissioner", {"tor_item": "2d"}), (OVERALL, "commissioner", {})])


@pytest.fixture(scope="module")
def restricted(demo_db, env) -> tuple[Path, int, str]:
    """The restricted report, written through the CLI."""
    path = env / "report.docx"
    code, _, err = run_kpi("report", "--db", demo_db, "--review", REVIEW.isoformat(), "--out", path)
    return path, code, err


@pytest.fixture(scope="module")
def planted_db(demo_db, env) -> Path:
    from test_boardpack import plant_small_numbers

    path = env / "planted.sqlite"
    shutil.copyfile(demo_db, path)
    plant_small_numbers(path)  # January 2025: 3 historic complaints, 4 permanent team managers, 7 conferences
    return path


@pytest.fixture(scope="module")
def public(planted_db, env):
    """(the public report, the public pack's model, the restricted pack's model) of the planted store."""
    from metrics.store import connect
    from reports.pack.build import build_model
    from reports.tables import load
    from reports.word import build_report

    conn = connect(planted_db)
    try:
        info = build_report(conn, REVIEW, env / "public.docx", public=True, by="tester")
        data = load(conn, REVIEW)
        return (info, build_model(conn, data, public=True, include_teams=True, by="tester"),
                build_model(conn, data, public=False, include_teams=True, by="tester"))
    finally:
        conn.close()


# --- reading a report back ---------------------------------------------------------------------------


def blocks(path: Path) -> list[tuple[str, str, object]]:
    """The body in order: ("p", style name, text) and ("t", "", rows of cell texts)."""
    return _blocks(str(path), Path(path).stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _blocks(path: str, mtime_ns: int) -> list[tuple[str, str, object]]:
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    d = docx.Document(str(path))
    out = []
    for el in d.element.body.iterchildren():
        if el.tag == qn("w:p"):
            p = Paragraph(el, d)
            out.append(("p", p.style.name, p.text))
        elif el.tag == qn("w:tbl"):
            out.append(("t", "", [[c.text for c in r.cells] for r in Table(el, d).rows]))
    return out


def outline(path: Path) -> list[tuple[int, str]]:
    return [(int(style.split()[-1]), text) for kind, style, text in blocks(path)
            if kind == "p" and style.startswith("Heading ")]


def section(path: Path, heading: str, level: int = 2) -> list:
    """The blocks under the heading ``heading`` up to the next heading of the same level or higher."""
    out, inside = [], False
    for b in blocks(path):
        kind, style, text = b
        if kind == "p" and style.startswith("Heading ") and int(style.split()[-1]) <= level:
            if inside:
                break
            inside = text == heading
            continue
        if inside:
            out.append(b)
    assert out or inside, f"no section {heading!r}"
    return out


def all_text(path: Path) -> str:
    parts = []
    for kind, _, x in blocks(path):
        parts += [x] if kind == "p" else [c for row in x for c in row]
    d = docx.Document(str(path))
    for s in d.sections:
        parts += [p.text for p in s.header.paragraphs] + [p.text for p in s.footer.paragraphs]
    return "\n".join(parts)


def verdict(path: Path, kpi) -> dict[str, str]:
    tables = [x for kind, _, x in section(path, f"{kpi.tor} {kpi.label}") if kind == "t"]
    rows = next(t for t in tables if t[0] == ["Verdict", "In words"])
    return {re.sub(r", .*", "", k): v for k, v in rows[1:]}


# --- the document ------------------------------------------------------------------------------------


def test_cli_writes_a_word_document_that_opens(restricted):
    path, code, err = restricted
    assert code == 0, err
    assert str(path) in err and "10 priorities" in err and "RESTRICTED" in err
    d = docx.Document(str(path))
    assert d.core_properties.language == "en-GB"
    assert round(d.sections[0].page_width.mm) == 210 and round(d.sections[0].page_height.mm) == 297, "A4"
    assert "RESTRICTED" in d.sections[0].header.paragraphs[0].text


def test_the_heading_outline_lists_every_priority(restricted):
    path = restricted[0]
    heads = outline(path)
    assert [t for lvl, t in heads if lvl == 1] == SECTIONS
    priorities = [t for lvl, t in heads if lvl == 2]
    for kpi in REGISTRY.values():
        assert f"{kpi.tor} {kpi.label}" in priorities, kpi.label
    for code in ("2(d)", "2(e)", "3", "4", "5"):
        assert any(t.startswith(f"ToR {code}: ") for t in priorities), code
    # Word's navigation pane lists paragraphs whose style has an outline level: the built-in headings do
    d = docx.Document(str(path))
    for level in (1, 2, 3):
        assert d.styles[f"Heading {level}"].element.pPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl") is not None
    # each priority: figures, evidence and the actions agreed (none recorded yet)
    for kpi in REGISTRY.values():
        subs = [text for kind, style, text in section(path, f"{kpi.tor} {kpi.label}") if style == "Heading 3"]
        assert subs == ["Figures", "Evidence", "Actions agreed"], kpi.label
    assert all_text(path).count("No actions recorded.") == len(REGISTRY)


def test_the_verdicts_equal_kpi_review(restricted, demo_db):
    code, out, err = run_kpi("review", "--db", demo_db, "--at", REVIEW.isoformat(), "--json")
    assert code == 0, err
    review = json.loads(out)
    path = restricted[0]
    assert f"Overall: {review['summary']['green']} of" in all_text(path)
    for m in review["metrics"]:
        k = REGISTRY[m["metric"]]
        v = verdict(path, k)
        assert v["Actual"] == k.format(m["actual"]), k.id
        assert v["Target"] == k.format_target(m["target"])
        assert v["RAG rating"] == words.rag_text(m["rag"], "upper")
        assert v["Variation"] == words.variation_text(m["variation"], "upper", direction=k.direction)
        assert v["Assurance"] == words.assurance_text(m["assurance"], "upper")
        assert v["Direction of travel"] == words.travel_text(m["direction_of_travel"])
        if m["interval"]:
            assert v["95% interval"].startswith(f"{k.format(m['interval'][0])}–{k.format(m['interval'][1])}")
            assert (words.CANNOT_TELL in v["95% interval"]) == bool(m["target_within_interval"])
        else:
            assert "95% interval" not in v
        fc = m["forecast"]
        if fc is None:
            assert v["Forecast"] == "–"
        elif fc["status"] == "reaches_target":
            assert f"by {short_month(fc['month'])}" in v["Forecast"]
            if fc["interval"]:
                assert f"(95%: {k.format(fc['interval'][0])}–{k.format(fc['interval'][1])} then)" in v["Forecast"]
        else:
            assert v["Forecast"] == STATUS_TEXT[fc["status"]]
        sentence = next(text for kind, _, text in section(path, f"{k.tor} {k.label}") if kind == "p" and text)
        assert words.rag_text(m["rag"], "upper") in sentence and k.format_target(m["target"]) in sentence


def test_dates_are_uk_dates(restricted):
    text = all_text(restricted[0])
    assert "Review date: 1 March 2025" in text and "Month judged: January 2025" in text
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text), "no ISO dates in the prose"
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b", text), "no numeric dates"
    assert not re.search(r"\b(January|February|March|April|May|June|July|August|September|October|November|"
                         r"December) \d{1,2}, \d{4}", text), "no US dates"
    d = docx.Document(str(restricted[0]))
    langs = {el.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val")
             for el in d.styles.element.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}lang")}
    assert langs == {"en-GB"}, "UK English for the spelling checker"


def test_evidence_goes_with_its_priority_and_tor_item(restricted):
    path = restricted[0]
    agency = REGISTRY["agency_rate"]
    texts = [t for kind, _, t in section(path, f"{agency.tor} {agency.label}") if kind == "p"]
    assert COMMENT in texts and any("ana@council.gov.uk" in t for t in texts if t != COMMENT), "restricted: author"
    plan = REGISTRY["improvement_plan_milestones_complete"]
    assert TOR_2A in [t for kind, _, t in section(path, f"{plan.tor} {plan.label}") if kind == "p"]
    item = next(t for lvl, t in outline(path) if t.startswith("ToR 2(d): "))
    under = [t for kind, _, t in section(path, item) if kind == "p"]
    assert TOR_2D in under
    assert any(t.startswith("Agree, with the council's partners") for t in under), "the ToR's own words"
    e = next(t for lvl, t in outline(path) if t.startswith("ToR 2(e): "))
    assert "No evidence recorded at this checkpoint." in [t for kind, _, t in section(path, e) if kind == "p"]
    assert OVERALL in [t for kind, _, t in section(path, "Overall view", 1) if kind == "p"]


def test_actions_fill_the_actions_agreed_subsection(demo_db, env, monkeypatch):
    from metrics.store import connect
    from reports import word

    def actions(conn, checkpoint, kpi, public):
        return [word.ActionItem("Recruit four permanent team managers", owner="DCS", due="1 June 2025")] \
            if kpi == "permanent_team_managers" else []

    monkeypatch.setattr(word, "actions_for", actions)
    path = env / "actions.docx"
    word.build_report(connect(demo_db), REVIEW, path, by="tester")
    k = REGISTRY["permanent_team_managers"]
    texts = [t for kind, _, t in section(path, f"{k.tor} {k.label}") if kind == "p"]
    assert "Recruit four permanent team managers (owner: DCS; due 1 June 2025)" in texts
    assert "No actions recorded." not in texts
    assert all_text(path).count("No actions recorded.") == len(REGISTRY) - 1


def test_public_actions_name_no_one(demo_db, env, monkeypatch):
    from metrics.store import connect
    from reports import word

    monkeypatch.setattr(word, "actions_for", lambda conn, cp, kpi, public: [
        word.ActionItem("Call ana@council.gov.uk about recruitment", owner="Ana Smith", due="1 June 2025")])
    path = env / "actions-public.docx"
    word.build_report(connect(demo_db), REVIEW, path, public=True, by="tester")
    text = all_text(path)
    assert "Call [removed] about recruitment (due 1 June 2025)" in text
    assert "ana@council.gov.uk" not in text and "Ana Smith" not in text


# --- public -----------------------------------------------------------------------------------------

PLANTED = ("permanent_team_managers", "historic_complaints_outstanding", "face_to_face_conferences")


def test_public_report_suppresses_what_the_public_pack_suppresses(public):
    info, pack, restricted_pack = public
    path = info.path
    summary = next(x for kind, _, x in section(path, "Overall view", 1) if kind == "t")
    assert summary == [pack.summary.header, *pack.summary.rows], "the public pack's summary, cell for cell"
    hidden = 0
    for page, open_page in zip(pack.kpis, restricted_pack.kpis):
        tables = [x for kind, _, x in section(path, f"{page.kpi.tor} {page.kpi.label}") if kind == "t"]
        assert [page.recent.header, *page.recent.rows] in tables, page.kpi.id
        if page.teams is not None:
            assert [page.teams.header, *page.teams.rows] in tables
        for shown, unsuppressed in zip(page.recent.rows, open_page.recent.rows):
            hidden += sum(c == SUPPRESSED and u != SUPPRESSED for c, u in zip(shown, unsuppressed))
        if page.row.suppressed:
            v = verdict(path, page.kpi)
            assert {v[x] for x in ("Actual", "RAG rating", "Variation", "Assurance", "Forecast")} == {SUPPRESSED}
    assert hidden, "the planted store has suppressed months"
    assert {r.metric for r in pack.summary_rows if r.suppressed} == set(PLANTED)
    assert info.suppressed_cells > 0


def test_public_report_never_shows_the_planted_values_or_authors(public):
    info, pack, _ = public
    text = all_text(info.path)
    assert "57.1%" not in text, "4 of 7 conferences"
    assert not re.search(r"\b4 of 7\b|\b4 of 11\b|36\.4%", text)
    assert "PUBLIC" in text and "Suppression rule" in [t for _, t in outline(info.path)]
    for secret in ("ana@council.gov.uk", "C000123", "commissioner", "tester"):
        assert secret not in text, secret
    assert "[removed]" in text
    d = docx.Document(str(info.path))
    assert "tester" not in (d.core_properties.author or "") + (d.core_properties.last_modified_by or "")


# --- long text -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_db(demo_db, env) -> Path:
    """The demo store with the team "Front Door" renamed to 500 characters and a 500-character comment."""
    from metrics.evidence import add_entry
    from metrics.store import connect

    path = env / "long.sqlite"
    shutil.copyfile(demo_db, path)
    conn = connect(path)
    renamed = 0
    for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        if any(c[1] == "team" for c in conn.execute(f"PRAGMA table_info({t})")):
            renamed += conn.execute(f"UPDATE {t} SET team = ? WHERE team = 'Front Door'", (LONG_TEAM,)).rowcount
    conn.commit()
    assert renamed
    add_entry(conn, REVIEW, LONG_COMMENT, "commissioner", kpi="audits_good_or_better")
    conn.close()
    return path


@pytest.mark.parametrize("public_report", [False, True], ids=["restricted", "public"])
def test_a_500_character_team_name_and_commentary(long_db, env, public_report):
    import dataclasses

    from metrics.store import connect
    from reports.tables import load
    from reports.word import build_report

    conn = connect(long_db)
    data = load(conn, REVIEW)
    data.settings = data.settings.model_copy(update={"council_name": "Council of " + LONG_TEAM})
    data.review = dataclasses.replace(data.review, label="Review of " + LONG_TEAM)
    path = env / f"long-{public_report}.docx"
    info = build_report(conn, REVIEW, path, public=public_report, by="Author " + LONG_TEAM, data=data)
    assert info.priorities == len(REGISTRY)
    text = all_text(path)
    assert LONG_TEAM not in text.replace("\n", " "), "names are shortened…"
    cells = [c for kind, _, x in blocks(path) if kind == "t" for row in x for c in row]
    teams = [c for c in cells if c.startswith("Assessment and Intervention Team North")]
    assert teams and all(len(c) <= 150 and c.endswith("…") for c in teams), "…with an ellipsis"
    assert all(len(t) < 400 for _, t in outline(path))
    k = REGISTRY["audits_good_or_better"]
    assert LONG_COMMENT in [t for kind, _, t in section(path, f"{k.tor} {k.label}") if kind == "p"], \
        "commentary is printed in full: Word wraps it"


# --- the command line -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["--review", "2025-03-01", "--out", "report.pdf"], ".docx"),
    (["--review", "2025-03-01", "--out", "report"], ".docx"),
    (["--review", "2025-02-30", "--out", "report.docx"], "--review"),
    (["--review", "01/03/2025", "--out", "report.docx"], "--review"),
])
def test_cli_usage_errors_exit_2(demo_db, env, argv, message):
    before = _audit(demo_db)
    code, _, err = run_kpi("report", "--db", demo_db, *argv)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (env / "report.pdf").exists() and _audit(demo_db) == before


def _audit(db: Path) -> list:
    with contextlib.closing(sqlite3.connect(db)) as c:
        return c.execute("SELECT actor, target, details, role FROM audit_log WHERE action = 'report' ORDER BY id"
                         ).fetchall()


def test_cli_refuses_an_empty_store_with_exit_1(fresh_db, tmp_path):
    out = tmp_path / "empty.docx"
    code, _, err = run_kpi("report", "--db", fresh_db, "--review", "2025-03-01", "--out", out)
    assert code == 1 and "no KPI figures" in err and "Nothing was written" in err
    assert not out.exists() and not list(tmp_path.glob(".*.part")) and _audit(fresh_db) == []


def test_cli_refuses_a_path_it_cannot_write_with_exit_1(demo_db, env):
    blocker = env / "a-file"
    blocker.write_text("not a folder")
    before = _audit(demo_db)
    code, _, err = run_kpi("report", "--db", demo_db, "--review", "2025-03-01", "--out", blocker / "report.docx")
    assert code == 1 and "could not be written" in err and "Traceback" not in err
    assert _audit(demo_db) == before


def test_the_audit_trail_records_who_made_which_report(restricted, demo_db):
    rows = [r for r in _audit(demo_db) if Path(r[1]).name == "report.docx"]
    # the command line records the operating-system user and the role "cli", never KPI_USER
    assert [(r[0], r[3]) for r in rows] == [(getpass.getuser(), "cli")]
    details = json.loads(rows[0][2])
    assert details["review"] == "2025-03-01" and details["format"] == "docx" and details["public"] is False
    assert details["priorities"] == len(REGISTRY)


def test_build_report_refuses_other_formats(demo_db, env):
    from metrics.store import connect
    from reports.word import build_report

    with pytest.raises(ValueError, match=r"\.docx"):
        build_report(connect(demo_db), REVIEW, env / "report.odt")


# --- the Reviews page -------------------------------------------------------------------------------


@pytest.fixture
def page_db(demo_template, tmp_path, monkeypatch) -> Path:
    """A private copy of the demo store, the dashboard pointed at it in local mode (an admin)."""
    from helpers_pages import SIGN_IN_ENV, demo_page_db

    yield from demo_page_db(demo_template, tmp_path, monkeypatch, (*SIGN_IN_ENV, "KPI_USER"))


@pytest.mark.slow
@pytest.mark.parametrize("public_report", [False, True], ids=["restricted", "public"])
def test_the_reviews_page_prepares_and_offers_the_report(page_db, public_report):
    from test_dashboard_reviews import choose_checkpoint, open_page, rerun

    at = choose_checkpoint(open_page("reviews"), "2024-06-01")
    if public_report:
        at.toggle(key="pack-public").set_value(True)
        at = rerun(at)
    assert _audit(page_db) == []
    at.button(key="report-build").click()
    at = rerun(at)
    name = f"commissioners-report-2024-06-01{'-public' if public_report else ''}.docx"
    assert [e for e in at.get("download_button") if name in e.proto.label], \
        [e.proto.label for e in at.get("download_button")]
    assert not at.error
    rows = _audit(page_db)
    assert len(rows) == 1 and json.loads(rows[0][2])["public"] is public_report
    assert rows[0][0] and rows[0][3], "who (the signed-in user) and their role"
