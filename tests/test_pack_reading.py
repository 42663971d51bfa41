"""Packs that read well (issue 14 item 3): the board pack's text read back from the PDF (pypdf, pdftotext) and
the PowerPoint (text frames and table cells) — no heading or word broken mid-word, units in the headings,
every priority a heading and a PDF bookmark, alternative text on every chart, the verdicts of
`kpi review --json`, no near-empty page in the public PDF, and a 500-character team name and commentary
through all four packs (public and restricted, PDF and PowerPoint).

One demo store with the long team name and commentary; the four packs are drawn in one process, so the
charts are drawn once (the PNG cache) and the module takes about as long as two packs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from metrics.kpis import REGISTRY

pytestmark = pytest.mark.slow

REVIEW = dt.date(2025, 3, 1)
#: 500 characters: a team name and a piece of commentary as a user might paste them.
TEAM = ("Assessment and Intervention Service for Children and Families in the North Locality " * 7)[:500]
COMMENT = ("Agency reliance continues to fall across every locality team and the service has recruited "
           "permanently into the front door. " * 5)[:500]
#: Words the packs print in headings and tables that a narrow column used to break ("All confere nces",
#: "Good or o utstandin g"); every word of every table heading and KPI label is added below.
KNOWN = ["conferences", "outstanding", "assessments", "allocated", "Assurance", "Variation", "Forecast",
         "Priority", "milestones", "complaints", "practitioner", "Permanent", "further", "Target", "Actual"]


@pytest.fixture(scope="module")
def packs(demo_copy_of, tmp_path_factory) -> dict:
    """{(format, public): path} for the demo store with a 500-character team name (every extract's
    "Front Door", renamed in the store) and 500-character commentary on a KPI, a ToR item and overall."""
    from metrics.evidence import add_entry
    from metrics.store import connect
    from reports.boardpack import build_pack

    home = tmp_path_factory.mktemp("pack-reading")
    path = demo_copy_of(home / "kpi.sqlite")
    conn = connect(path)
    for t in [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]:
        if any(c[1] == "team" for c in conn.execute(f"PRAGMA table_info({t})")):
            conn.execute(f"UPDATE {t} SET team = ? WHERE team = 'Front Door'", (TEAM,))
    conn.commit()
    add_entry(conn, REVIEW, COMMENT, "ana.long", kpi="agency_rate")
    add_entry(conn, REVIEW, COMMENT, "commissioner", tor_item="2a")
    add_entry(conn, REVIEW, COMMENT, "commissioner")
    out = {}
    try:
        for public in (False, True):
            for fmt in ("pdf", "pptx"):
                info = build_pack(conn, REVIEW, home / f"pack{'-public' if public else ''}.{fmt}", public=public,
                                  by="tester")
                out[fmt, public] = info.path
    finally:
        conn.close()
    out["db"] = path
    return out


def pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def pptx_texts(path: Path) -> list[str]:
    """Every text frame and table cell of every slide."""
    from pptx import Presentation

    out = []
    for slide in Presentation(str(path)).slides:
        for sh in slide.shapes:
            if sh.has_text_frame:
                out.append(sh.text_frame.text)
            elif sh.has_table:
                out += [c.text for row in sh.table.rows for c in row.cells]
    return out


def pptx_tables(path: Path) -> list[list[list[str]]]:
    from pptx import Presentation

    return [[[c.text for c in row.cells] for row in sh.table.rows]
            for slide in Presentation(str(path)).slides for sh in slide.shapes if sh.has_table]


def known_words() -> set[str]:
    """Every word of at least five letters in the packs' table headings and KPI labels, and KNOWN."""
    from reports.pack.build import _summary  # noqa: F401  (the summary's headings are fixed text)

    text = " ".join(KNOWN)
    for k in REGISTRY.values():
        text += f" {k.label}"
        for part in (k.numerator, k.denominator):
            if part is not None:
                text += f" {part.label}"
    text += " Priority (ToR) Actual Target Variation Assurance Forecast Variation, assurance Month Number Team"
    return {w for w in re.findall(r"[A-Za-z]{5,}", text)}


def _broken_pattern(words: frozenset[str]) -> re.Pattern:
    parts = {f"{re.escape(w[:i])}{sep}{re.escape(w[i:])}" for w in words for i in range(1, len(w))
             for sep in (" ", "\n", "-\n")}
    # a word boundary before and after, so "Actual monthly" never counts as "Actual" broken
    return re.compile(rf"(?<![A-Za-z])(?:{'|'.join(sorted(parts, key=len, reverse=True))})(?![A-Za-z])")


_PATTERNS: dict[frozenset, re.Pattern] = {}


def splits(text: str, words: set[str]) -> list[str]:
    """Each known word found broken in ``text`` ("confere nces", "confere\\nnces")."""
    key = frozenset(words)
    if key not in _PATTERNS:
        _PATTERNS[key] = _broken_pattern(key)
    flat = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return _PATTERNS[key].findall(flat)


# --- no word broken, units right -------------------------------------------------------------


def test_known_headings_and_words_are_never_split(packs):
    words = known_words()
    assert {"conferences", "outstanding"} <= words
    for key in [k for k in packs if k != "db"]:
        fmt, _ = key
        texts = pdf_pages(packs[key]) if fmt == "pdf" else pptx_texts(packs[key])
        broken = sorted({b for t in texts for b in splits(t, words)})
        assert not broken, (key, broken)


def test_the_splitting_check_can_fail():
    words = known_words()
    assert splits("All confere nces", words) == ["confere nces"]
    assert "o utstanding" in splits("Good or o utstanding", words)
    assert splits("All conferences\nGood or outstanding", words) == []


def test_fte_figures_sit_under_an_fte_heading(packs):
    for public in (False, True):
        tables = pptx_tables(packs["pptx", public])
        assert not any(any("FTE" in c for row in t[1:] for c in row) and "Count" in t[0] for t in tables)
        fte = [t for t in tables if t[0] == ["Month", "%", "FTE"]]
        assert fte, "the agency rate's last three months: 'x of y FTE' under 'FTE'"
        assert all(re.fullmatch(r"[\d,.]+ of [\d,.]+ FTE|c of c FTE|[\dc,.]+ of [\dc,.]+ FTE|", r[2])
                   for t in fte for r in t[1:]), fte
    assert any(re.fullmatch(r"\d[\d,]*\.\d of \d[\d,]*\.\d FTE", r[2]) for t in fte for r in t[1:])


# --- headings, outline, alternative text -------------------------------------------------------


def test_every_priority_is_a_heading_and_a_bookmark(packs):
    from pypdf import PdfReader

    titles = [f"{k.tor}  {k.label}" for k in REGISTRY.values()]
    for public in (False, True):
        reader = PdfReader(str(packs["pdf", public]))
        text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in reader.pages))
        for t in titles:
            assert re.sub(r"\s+", " ", t) in text, t
        outline = reader.outline
        top = [o.title for o in outline if not isinstance(o, list)]
        assert top[:2] == ["Checkpoint summary", "Priorities"] and "Evidence log" in top, top
        children = outline[top.index("Priorities") + 1]
        assert isinstance(children, list)
        assert [c.title for c in children] == titles
        # each bookmark opens the page whose heading it names
        for c in children:
            page = reader.get_destination_page_number(c)
            assert re.sub(r"\s+", " ", c.title) in re.sub(r"\s+", " ", reader.pages[page].extract_text())


def test_every_chart_picture_has_alternative_text_with_its_data(packs):
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for public in (False, True):
        charts, others = [], []
        for slide in Presentation(str(packs["pptx", public])).slides:
            for sh in slide.shapes:
                if sh.shape_type == MSO_SHAPE_TYPE.PICTURE:
                    descr = sh._element.nvPicPr.cNvPr.get("descr") or ""
                    assert descr.strip(), "every picture has alternative text"
                    (charts if descr.startswith("Chart:") else others).append(descr)
        assert len(charts) == len(REGISTRY)
        assert all("Checkpoints:" in d and " against " in d for d in charts)
        if public:  # a withheld checkpoint is 'c' in the text too, never its value
            assert all("not shown" not in d or "c against" in d for d in charts)


def test_the_pdf_gives_each_chart_a_caption_and_a_data_table(packs):
    pages = pdf_pages(packs["pdf", False])
    flat = [re.sub(r"\s+", " ", p) for p in pages]
    assert sum("its checkpoint figures are in the table 'Chart data'" in p for p in flat) == len(REGISTRY)
    data = [p for p in flat if "Chart data: each priority at each checkpoint" in p]
    assert data, "the chart data table"
    assert "vs " in data[0] and all(k.tor in " ".join(flat[flat.index(data[0]):]) for k in REGISTRY.values())


# --- the verdicts of `kpi review --json` ---------------------------------------------------------


def test_the_packs_show_the_verdicts_of_kpi_review(packs):
    from kpi_cli import main as cli
    from metrics.reviews import words

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["review", "--db", str(packs["db"]), "--at", REVIEW.isoformat(), "--json"])
    assert code in (0, None), err.getvalue()
    review = {m["metric"]: m for m in json.loads(out.getvalue())["metrics"]}
    pdf = [re.sub(r"\s+", " ", p) for p in
           subprocess.run(["pdftotext", str(packs["pdf", False]), "-"], check=True, capture_output=True,
                          text=True).stdout.split("\f")]
    slides = "\n".join(pptx_texts(packs["pptx", False]))
    for metric, m in review.items():
        kpi = REGISTRY[metric]
        rated = m["rag"] is not None
        rag = words.rag_text(m["rag"], "upper")
        variation = words.variation_text(m["variation"] if rated else None, "upper", direction=m["direction"])
        assurance = words.assurance_text(m["assurance"] if rated else None, "upper")
        page = next(p for p in pdf if f"{kpi.tor} {kpi.label}" in p and "Variation:" in p)
        assert rag in page and f"Variation: {variation}" in page and f"Assurance: {assurance}" in page, metric
        assert rag in slides and variation in slides and assurance in slides, metric


# --- pagination --------------------------------------------------------------------------------


def page_fill(path: Path, tmp: Path) -> list[float]:
    """Each page's share of the body (below the running header, above the footer) down to its last ink."""
    prefix = tmp / path.stem
    subprocess.run(["pdftoppm", "-r", "24", "-gray", str(path), str(prefix)], check=True)
    out = []
    for f in sorted(tmp.glob(f"{path.stem}*.pgm")):
        data = f.read_bytes()
        m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
        w, h = int(m.group(1)), int(m.group(2))
        px = data[m.end():]
        top, bottom = int(h * 0.12), int(h * 0.9)
        inked = [y for y in range(top, bottom) if min(px[y * w + w // 20:y * w + w - w // 20]) < 200]
        out.append((max(inked) - top) / (bottom - top) if inked else 0.0)
    return out


@pytest.mark.parametrize("public", [True, False])
def test_no_near_empty_page_and_no_one_line_last_page(packs, tmp_path, public):
    path = packs["pdf", public]
    fill = page_fill(path, tmp_path)
    assert len(fill) > 12
    near_empty = [i for i, f in enumerate(fill[:-1], start=1) if f < 0.15]
    assert not near_empty, (near_empty, [round(f, 2) for f in fill])
    last = subprocess.run(["pdftotext", "-layout", "-f", str(len(fill)), "-l", str(len(fill)), str(path), "-"],
                          check=True, capture_output=True, text=True).stdout
    body = [line for line in last.splitlines()[1:] if line.strip() and not re.search(r"Page \d+ of \d+", line)]
    assert len(body) >= 3, body


def test_the_fill_measure_sees_a_near_empty_page(tmp_path):
    """page_fill on a PDF with a full page and a one-line page."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen import canvas

    path = tmp_path / "two.pdf"
    c = canvas.Canvas(str(path), pagesize=landscape(A4))
    w, h = landscape(A4)
    for y in range(int(h * 0.85), int(h * 0.12), -20):
        c.drawString(60, y, "A full page of text " * 8)
    c.showPage()
    c.drawString(60, h * 0.85, "One line")
    c.showPage()
    c.save()
    fill = page_fill(path, tmp_path)
    assert fill[0] > 0.9 and fill[1] < 0.15


# --- user text of any length -------------------------------------------------------------------


def test_a_500_character_team_name_and_commentary_go_through_every_pack(packs):
    start = TEAM[:30]
    for public in (False, True):
        pdf = re.sub(r"\s+", " ", " ".join(pdf_pages(packs["pdf", public])))
        assert start in pdf and TEAM not in pdf and "…" in pdf, "the team name is cut with an ellipsis"
        assert re.sub(r"\s+", " ", COMMENT).strip()[:200] in pdf, "the commentary wraps and is printed"
        slides = pptx_texts(packs["pptx", public])
        assert any(t.startswith(start) and t.endswith("…") for t in slides), "a team cell cut with an ellipsis"
        assert any(COMMENT[:60] in t for t in slides)
