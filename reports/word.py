"""The Commissioner's report: one review as an editable Word document (python-docx), the written account
the Children's Services Commissioner turns into a report to the Secretary of State.

It is built from the board pack's model (:func:`reports.pack.build.build_model` over
:func:`reports.tables.load`, or the dashboard's cached :class:`reports.tables.PackData`), so every figure,
verdict and sentence is the one the packs print — already suppressed and withheld in a public report by
:mod:`reports.disclosure`, exactly as in the public pack — and any section later added to the pack model
is at hand here (:attr:`ReportModel.pack`). Nothing is recomputed: the verdicts are the review model's
(:mod:`metrics.reviews.model`) in the words of :mod:`metrics.reviews.words`.

Contents (headings are Word's own Heading 1–3 styles, so Word's navigation pane lists them):

1. **The checkpoint** — review date, the month judged, data as of, final or not, six-month review.
2. **Overall view** — the count line, the summary table, the overall commentary.
3. **Progress on each priority** — per KPI (ToR priority): the verdict in words (actual, 95% interval,
   target, RAG, variation, direction of travel, assurance, forecast), its figures, the evidence entries and
   **Actions agreed** (:attr:`Priority.actions`, "No actions recorded" when empty).
4. **Qualitative Terms of Reference items** — 2(d), 2(e), 3, 4 and 5 in the words of the Terms of
   Reference, with their evidence.
5. **Data notes** and 6. **Definitions and sources**.

:func:`build_report` writes the file atomically and records an audit row (action ``report``). No charts:
they are in the pack, and the report stays fast (goal ≤ 5 s) and small enough to edit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from metrics.months import month_label
from metrics.reviews import words
from reports.disclosure import SUPPRESSED, redact_text
from reports.pack.model import Commentary, KpiPage, PackModel, Table, shorten
from reports.tables import PackData, ReviewRow

EXTENSION = ".docx"

#: The Terms of Reference (statutory direction of 1 March 2023, Annex) in their own words, for the items
#: judged by evidence rather than a KPI. Keys are :data:`metrics.evidence.TOR_ITEMS` codes.
TOR_WORDING: dict[str, str] = {
    "2a": "Strengthen the leadership of children's services to ensure that the pace of improvement increases "
          "rapidly in line with the agreed Improvement Plan.",
    "2c": "Resolve, as far as is possible, all outstanding historic complaints.",
    "2d": "Agree, with the council's partners, through a range of Strategic forums, actions which will "
          "demonstrate collectively their commitment to raising ambition and aspiration for children and young "
          "people, and responding to their views.",
    "2e": "Work with the Local Government Association to develop the knowledge and impact of members in key "
          "roles, including the leader, lead member and scrutiny members.",
    "3": "To oversee the securing of short-term external support, and to drive improvement, including working "
         "with the Council and its partners to increase the effectiveness of the Improvement Board.",
    "4": "To explore options for a long-term partnership with a good or outstanding local authority to deliver "
         "sustained improvement.",
    "5": "To conduct a further review after six months and, should the level and trajectory of progress "
         "required not be achieved, revisit the question of whether an alternative delivery model is required "
         "in Herefordshire.",
}
#: The qualitative items the report gives a section each (2(a) and 2(c) have KPIs: their evidence goes
#: with those priorities).
QUALITATIVE = ("2d", "2e", "3", "4", "5")
NO_ACTIONS = "No actions recorded."
NO_EVIDENCE = "No evidence recorded at this checkpoint."

#: Characters XML 1.0 cannot hold (python-docx refuses them): dropped from any text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
A4 = (210, 297)  # mm
MARGIN_MM = 20


class ReportError(RuntimeError):
    """The report could not be made (nothing was written)."""


def tor_reference(code: str) -> str:
    """'2d' → '2(d)'; '3' → '3' (the Terms of Reference's own numbering)."""
    return f"{code[0]}({code[1:]})" if len(code) > 1 else code


def uk_date(d: dt.date | str) -> str:
    """'1 March 2025' (UK order, the month in full)."""
    d = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10])
    return f"{d.day} {d:%B %Y}"


# --- the model -------------------------------------------------------------------------------------


@dataclass
class ActionItem:
    """One action agreed for a priority (the actions log, ``metrics.actions``, fills these)."""

    text: str
    owner: str | None = None  # None in a public report
    due: str = ""  # '1 June 2025'
    status: str = ""


@dataclass
class Priority:
    """One ToR priority (a KPI) as the report prints it."""

    page: KpiPage  # the pack's page for the KPI: its formatted row, recent months, details, teams, notes
    summary: str  # the verdict in a sentence or two
    verdict: list[tuple[str, str]]  # (what, in words): actual, interval, target, RAG, variation, …
    evidence: list[tuple[str, Commentary]]  # (what it is about, the entry), in the order written
    actions: list[ActionItem] = field(default_factory=list)

    @property
    def row(self) -> ReviewRow:
        return self.page.row

    @property
    def heading(self) -> str:
        return f"{self.page.kpi.tor} {self.page.kpi.label}"


@dataclass
class QualitativeItem:
    code: str  # '2d'
    title: str  # metrics.evidence.TOR_ITEMS
    wording: str  # the Terms of Reference's words
    entries: list[Commentary]

    @property
    def heading(self) -> str:
        return f"ToR {tor_reference(self.code)}: {self.title}"


@dataclass
class ReportModel:
    pack: PackModel  # everything the board pack prints, formatted (public: suppressed)
    title: str
    checkpoint_lines: list[str]
    priorities: list[Priority]
    qualitative: list[QualitativeItem]
    data_notes: list[str]

    @property
    def public(self) -> bool:
        return self.pack.public


@dataclass(frozen=True)
class ReportInfo:
    path: Path
    review: dt.date
    review_label: str
    public: bool
    priorities: int
    headings: int
    suppressed_cells: int
    seconds: float
    timings: dict = field(default_factory=dict)  # load, model, render (s)


def _entry(e, public: bool) -> Commentary:
    """An evidence entry as the pack prints it (public: redacted, no author), dated in full."""
    from reports.pack.build import entry_commentary

    c = entry_commentary(e, public)
    c.when = uk_date(dt.datetime.fromisoformat(e.created_at.replace("Z", "+00:00")).date())
    return c


def verdict_pairs(r: ReviewRow) -> list[tuple[str, str]]:
    """The verdict of a pack row, field by field in words (public: withheld fields are 'c')."""
    month = month_label(r.actual_month)
    if r.suppressed:
        return [(f"Actual, {month}", r.actual_text), ("RAG rating", r.rag_text or SUPPRESSED),
                ("Variation", r.variation_text), ("Direction of travel", r.travel_text),
                ("Assurance", r.assurance_text), ("Forecast", r.forecast_text)]
    pairs = [(f"Actual, {month}", r.actual_text)]
    if r.interval_text:
        pairs.append(("95% interval", r.interval_text + (f" ({words.CANNOT_TELL})" if r.cannot_tell else "")))
    pairs += [("Target", r.target_text), ("RAG rating", r.rag_text), ("Variation", r.variation_text),
              ("Direction of travel", r.travel_text), ("Assurance", r.assurance_text),
              ("Forecast", r.forecast_text)]
    if r.basis_text:
        pairs.append(("Judged on", r.basis_text))
    return pairs


def verdict_sentence(r: ReviewRow) -> str:
    """The verdict of a pack row in a sentence or two (UK spelling, months in full)."""
    month = month_label(r.actual_month)
    if r.suppressed:
        return (f"The figure for {month} is not shown: the numbers are too small to publish ('{SUPPRESSED}'). "
                "Its rating, variation, assurance and forecast are withheld with it.")
    if r.rag is None:
        return f"{month}: {r.actual_text}. Not rated: no target is set for this priority."
    if r.rag == "no_data":
        return f"No data for {month}: rated {r.rag_text} against a target of {r.target_text}."
    interval = f" (95% interval {r.interval_text})" if r.interval_text else ""
    text = f"{month}: {r.actual_text}{interval} against a target of {r.target_text}, rated {r.rag_text}."
    if r.cannot_tell:
        text += f" The target lies inside the 95% interval: the figure {words.CANNOT_TELL}."
    text += (f" Variation: {r.variation_text.lower()} (direction of travel: {r.travel_text});"
             f" assurance: {r.assurance_text.lower()}; forecast: {r.forecast_text}.")
    return text


def actions_for(conn: sqlite3.Connection, checkpoint: dt.date, kpi: str, public: bool) -> list[ActionItem]:
    """The actions the review at ``checkpoint`` looks at for ``kpi``, as the board pack lists them
    (:func:`metrics.actions.actions_for_review`: agreed at it or earlier, not closed before the previous
    review), in their current state."""
    from metrics.actions import actions_for_review
    from metrics.reviews import load_settings

    earlier = [c.date for c in load_settings(conn).checkpoints if c.date < checkpoint]
    return [ActionItem(f"A{a.id} {a.title}", a.owner, f"{a.due.day} {a.due:%B %Y}",
                       a.status_text + (" (overdue)" if a.overdue(checkpoint) else ""))
            for a in actions_for_review(conn, checkpoint, kpi, max(earlier) if earlier else None)]


def build_report_model(conn: sqlite3.Connection, data: PackData, *, public: bool, by: str) -> ReportModel:
    """Everything the report prints: the pack's model (public: suppressed) and, per priority, its verdict
    in words, every current evidence entry and its actions."""
    from metrics.evidence import TOR_ITEMS, list_entries
    from reports.pack.build import build_model, current_entries

    pack = build_model(conn, data, public=public, include_teams=True, by=by)
    board = data.review
    cp = pack.checkpoint
    # ToR items that also have a KPI (2(a), 2(c)): their evidence goes with the KPI's priority
    kpi_items = {code: tor_reference(code) for code in TOR_ITEMS if code not in QUALITATIVE}
    priorities = []
    for page in pack.kpis:
        evidence = [("", _entry(e, public)) for e in current_entries(list_entries(conn, cp, page.kpi.id))]
        for code, ref in kpi_items.items():
            if page.kpi.tor == ref:
                evidence += [(f"ToR {ref}: {TOR_ITEMS[code]}", _entry(e, public))
                             for e in current_entries(list_entries(conn, cp, tor_item=code))]
        actions = actions_for(conn, cp, page.kpi.id, public)
        if public:  # as commentary in the public pack: redacted, no names
            actions = [ActionItem(redact_text(a.text), None, a.due, a.status) for a in actions]
        summary = " ".join(filter(None, (verdict_sentence(page.row), page.apart)))  # + verdicts_apart
        priorities.append(Priority(page=page, summary=summary, verdict=verdict_pairs(page.row),
                                   evidence=evidence, actions=actions))
    by_code = {e.code: e for e in pack.evidence}
    qualitative = [QualitativeItem(code, TOR_ITEMS[code], TOR_WORDING[code],
                                   by_code[code].entries if code in by_code else [])
                   for code in QUALITATIVE]

    lines = list(pack.cover_lines)
    lag = board.reporting_lag_days
    lines.insert(1, f"Month judged: {month_label(board.month)}"
                 + (f" (the latest month ended at least {lag} days before the review)" if lag is not None else ""))
    lines = [x for x in lines if not x.startswith("Figures for the last complete month")]
    lines.append("Status: final — the figures are frozen as presented to the board." if board.final else
                 "Status: not final — the figures follow the current data and settings until the review is "
                 "marked final.")
    if board.six_month:
        lines.append(f"This is the six-month review (ToR 5: {TOR_ITEMS['5']}).")

    notes = list(pack.summary_notes)
    for p in priorities:
        notes += [f"{p.heading}: {q}" for q in p.page.quality]
    return ReportModel(
        pack=pack, title="Commissioner's report", checkpoint_lines=lines, priorities=priorities,
        qualitative=qualitative, data_notes=notes)


# --- writing the document --------------------------------------------------------------------------


def _t(text) -> str:
    """Text fit for Word: characters XML cannot hold are dropped."""
    return _NOT_XML.sub("", str(text))


class _Writer:
    """The document being written, with the few ways this report adds to it."""

    def __init__(self, model: ReportModel) -> None:
        import docx
        from docx.shared import Mm, Pt

        self.Pt = Pt
        self.doc = docx.Document()
        self.model = model
        self.headings = 0
        self._style_ids: dict[str, str] = {}
        sec = self.doc.sections[0]
        sec.page_width, sec.page_height = Mm(A4[0]), Mm(A4[1])
        sec.left_margin = sec.right_margin = sec.top_margin = sec.bottom_margin = Mm(MARGIN_MM)
        self.width_mm = A4[0] - 2 * MARGIN_MM
        self._language("en-GB")
        self._own_styles()
        self._header_footer()
        props = self.doc.core_properties
        pack = model.pack
        props.title = _t(f"{model.title}: {pack.council}, {pack.review_label}")[:250]
        props.subject = _t(f"Review on {uk_date(pack.checkpoint)}")
        props.author = props.last_modified_by = _t(pack.council)[:250]
        props.language = "en-GB"
        props.keywords = pack.marking
        props.comments = ""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
        props.created = props.modified = now
        props.revision = 1

    def _language(self, lang: str) -> None:
        """Every run in UK English (spelling and grammar checks, hyphenation): the document defaults."""
        from docx.oxml.ns import qn

        for el in self.doc.styles.element.iter(qn("w:lang")):
            el.set(qn("w:val"), lang)
            el.set(qn("w:eastAsia"), lang)

    def _own_styles(self) -> None:
        """Paragraph styles for table cells and the lines under an evidence entry (a style set once is
        much faster than formatting every run, and an editor can restyle them all at once)."""
        from docx.enum.style import WD_STYLE_TYPE
        from docx.shared import RGBColor

        for name, size, italic in (("Table text", 9, False), ("Table text small", 8, False),
                                   ("Entry details", 9, True)):
            style = self.doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = self.doc.styles["Normal"]
            style.font.size = self.Pt(size)
            style.font.italic = italic
            style.paragraph_format.space_after = self.Pt(0 if name.startswith("Table") else 8)
            style.paragraph_format.line_spacing = 1.0
            if name == "Entry details":
                style.font.color.rgb = RGBColor.from_string(words.RAG_COLOURS["no_data"].lstrip("#"))
            self._style_ids[name] = style.style_id

    def _field(self, paragraph, instr: str) -> None:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), instr)
        r = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = "1"
        r.append(t)
        fld.append(r)
        paragraph._p.append(fld)

    def _header_footer(self) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        pack = self.model.pack
        sec = self.doc.sections[0]
        head = sec.header.paragraphs[0]
        head.text = _t(pack.marking)
        head.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        head.runs[0].bold = True
        foot = sec.footer.paragraphs[0]
        foot.add_run(_t(f"{self.model.title} · {pack.footer} · page "))
        self._field(foot, "PAGE")
        for r in foot.runs:
            r.font.size = self.Pt(9)

    # --- pieces ---

    def _styled(self, style: str | None):
        """A new paragraph in ``style`` (a style name), set by its id: python-docx's own look-up by name
        walks every style of the template each time, which made the report several times slower."""
        p = self.doc.add_paragraph()
        if style:
            if style not in self._style_ids:
                self._style_ids[style] = self.doc.styles[style].style_id
            p._p.style = self._style_ids[style]
        return p

    def heading(self, text: str, level: int) -> None:
        """A Word heading (level 0: Title; 1–3: Heading 1–3, which the navigation pane lists)."""
        self._styled("Title" if level == 0 else f"Heading {level}").add_run(_t(text))
        self.headings += level > 0

    def para(self, text: str = "", *, bold_lead: str = "", style: str | None = None, italic: bool = False):
        p = self._styled(style)
        if bold_lead:
            p.add_run(_t(bold_lead)).bold = True
        if text:
            run = p.add_run(_t(text))
            if italic:
                run.italic = True
        return p

    def bullets(self, items: list[str]) -> None:
        for item in items:
            self.para(item, style="List Bullet")

    def _repeat_header(self, row) -> None:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        tr_pr = row._tr.get_or_add_trPr()
        el = OxmlElement("w:tblHeader")
        el.set(qn("w:val"), "true")
        tr_pr.append(el)

    def table(self, t: Table, *, rag_column: int | None = None, small: bool = False) -> None:
        """A pack table as a Word table: a header row repeated on each page, the columns' widths and
        alignment, the RAG word in its colour (the word carries the meaning)."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Mm, RGBColor

        align = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
                 "center": WD_ALIGN_PARAGRAPH.CENTER}
        colours = {words.rag_text(k, "upper"): v for k, v in words.RAG_COLOURS.items()}
        table = self.doc.add_table(rows=1 + len(t.rows), cols=len(t.header))
        if "Table Grid" not in self._style_ids:
            self._style_ids["Table Grid"] = self.doc.styles["Table Grid"].style_id
        table._tbl.tblPr.style = self._style_ids["Table Grid"]
        table.autofit = False
        widths = [Mm(self.width_mm * w / sum(t.widths)) for w in t.widths]
        for col, w in zip(table.columns, widths):
            col.width = w
        style = self._style_ids["Table text small" if small else "Table text"]
        for i, row in enumerate([t.header, *t.rows]):
            cells = table.rows[i].cells
            for j, (cell, value) in enumerate(zip(cells, row)):
                cell.width = widths[j]
                p = cell.paragraphs[0]
                p._p.style = style
                run = p.add_run(_t(value))
                if i == 0 or (t.last_row_bold and i == len(t.rows)):
                    run.bold = True
                if t.align and i > 0 and t.align[j] != "left":
                    p.alignment = align.get(t.align[j], WD_ALIGN_PARAGRAPH.LEFT)
                if i > 0 and j == rag_column and value in colours:
                    run.bold = True
                    run.font.color.rgb = RGBColor.from_string(colours[value].lstrip("#"))
        self._repeat_header(table.rows[0])
        self.doc.add_paragraph()

    def entries(self, entries: list[tuple[str, Commentary]] | list[Commentary], *, empty: str) -> None:
        if not entries:
            self.para(empty, italic=True)
            return
        for item in entries:
            about, c = item if isinstance(item, tuple) else ("", item)
            self.para(c.body)
            meta = [c.when] + ([c.author] if c.author else []) + ([c.note] if c.note else []) + (
                [about] if about else [])
            self.para(" · ".join(meta), style="Entry details")

    # --- the sections ---

    def write(self) -> None:
        m, pack = self.model, self.model.pack
        self.heading(m.title, 0)
        self.para(f"{pack.council} · {pack.review_label} · {uk_date(pack.checkpoint)}", style="Subtitle")
        self.para(f"{pack.marking}: {pack.marking_note}")

        self.heading("The checkpoint", 1)
        self.bullets(m.checkpoint_lines)

        self.heading("Overall view", 1)
        self.para(f"Overall: {pack.overall}.")
        self.table(pack.summary, rag_column=3, small=True)
        if pack.overall_commentary:
            self.heading("Overall commentary", 2)
            self.entries(pack.overall_commentary, empty="")

        self.heading("Progress on each priority", 1)
        for p in m.priorities:
            self.priority(p)

        self.heading("Qualitative Terms of Reference items", 1)
        self.para("Terms of Reference items judged by evidence rather than a measure, in the words of the Terms "
                  "of Reference (statutory direction of 1 March 2023, Annex), with the evidence recorded at "
                  "this checkpoint.")
        for q in m.qualitative:
            self.heading(q.heading, 2)
            self.para(q.wording, style="Quote")
            self.entries(q.entries, empty=NO_EVIDENCE)

        self.heading("Data notes", 1)
        self.bullets(m.data_notes or ["No data-quality notes for this review."])
        self.heading("How progress is judged", 2)
        self.bullets(pack.method)
        if pack.suppression_rules:
            self.heading("Suppression rule", 2)
            self.bullets(pack.suppression_rules)

        self.heading("Definitions and sources", 1)
        self.heading("Definitions", 2)
        for name, text in pack.definitions:
            self.para(text, bold_lead=f"{name}: ")
        self.heading("Data-quality terms", 2)
        for name, text in pack.quality_glossary:
            self.para(text, bold_lead=f"{name}: ")
        self.heading("Sources", 2)
        self.bullets(pack.sources)

    def priority(self, p: Priority) -> None:
        page = p.page
        self.heading(p.heading, 2)
        self.para(p.summary)
        self.table(Table(["Verdict", "In words"], [list(x) for x in p.verdict], [0.3, 0.7]),
                   rag_column=1)
        for note in page.row.notes:
            self.para(note, italic=True)
        self.heading("Figures", 3)
        self.table(page.recent)
        self.bullets(page.details)
        if page.teams is not None:
            self.para(f"By team, {month_label(page.row.actual_month)}")
            self.table(page.teams)
        elif page.teams_note:
            self.para(page.teams_note, italic=True)
        self.heading("Evidence", 3)
        self.entries(p.evidence, empty=NO_EVIDENCE)
        self.heading("Actions agreed", 3)
        if not p.actions:
            self.para(NO_ACTIONS, italic=True)
        for a in p.actions:
            extra = "; ".join(x for x in (f"owner: {a.owner}" if a.owner else "", f"due {a.due}" if a.due else "",
                                          a.status) if x)
            self.para(a.text + (f" ({extra})" if extra else ""), style="List Bullet")


def render(model: ReportModel, out: Path) -> tuple[int, int]:
    """Write ``model`` as a Word document at ``out``; (headings, cells shown as suppressed)."""
    w = _Writer(model)
    w.write()
    w.doc.save(str(out))
    suppressed = sum(c.text == SUPPRESSED for t in w.doc.tables for row in t.rows for c in row.cells)
    return w.headings, suppressed


def report_format(out: str | Path) -> None:
    """A ValueError naming the choice unless ``out`` ends in .docx."""
    suffix = Path(out).suffix.lower()
    if suffix != EXTENSION:
        raise ValueError(f"The Commissioner's report is written as a Word document: '{shorten(Path(out).name, 80)}' "
                         f"must end in .docx (got '{suffix or 'no extension'}').")


def build_report(conn: sqlite3.Connection, review_date: dt.date | str, out: str | Path, *, public: bool = False,
                 by: str = "cli", role: str = "", data: PackData | None = None) -> ReportInfo:
    """Write the Commissioner's report for the review at ``review_date`` to ``out`` (``.docx``).

    ``public=True``: the public pack's disclosure control (small numbers suppressed as 'c', verdicts
    resting on them withheld, commentary redacted and without authors). ``data``: what was already read
    for this review (the dashboard's cached :class:`reports.tables.PackData`); read from ``conn`` if not
    given. Written atomically; records an audit row (action ``report``) as ``by`` with ``role``. Raises
    ``ValueError`` for another extension or data for another review, :class:`ReportError` when there is
    nothing to report or the file cannot be written (nothing is written either way).
    """
    from metrics.audit import record_now
    from metrics.reviews import as_date, review_board
    from reports.tables import load

    t0 = time.perf_counter()
    report_format(out)
    review_date = as_date(review_date)
    out = Path(out)
    try:  # before anything is read: a folder that cannot be made is refused at once
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(f"The report could not be written to {shorten(str(out), 120)} "
                          f"({e.strerror or type(e).__name__}).") from e
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 2)
        return now

    if data is None:
        # the store read once, with the review model of this review only: the report draws no charts, so it
        # needs none of the earlier checkpoints' models that load(conn, at) also builds for the pack's charts
        data = load(conn)
        data.review = review_board(conn, review_date, settings=data.settings, series=data.series)
    elif data.review is None or data.review.checkpoint != review_date:
        raise ValueError(f"the data given are not for the review of {review_date.isoformat()}")
    if data.series.empty or not data.series["value"].notna().any():
        raise ReportError("There are no KPI figures in the store yet: load the extracts first (kpi ingest, or "
                          "kpi demo for the demo data).")
    t = lap("load", t0)
    model = build_report_model(conn, data, public=public, by=by)
    t = lap("model", t)
    tmp = out.with_name(f".{out.name}.part")
    try:
        headings, suppressed = render(model, tmp)
        tmp.replace(out)
    except OSError as e:
        raise ReportError(f"The report could not be written to {shorten(str(out), 120)} "
                          f"({e.strerror or type(e).__name__}).") from e
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    lap("render", t)
    info = ReportInfo(path=out, review=review_date, review_label=model.pack.review_label, public=public,
                      priorities=len(model.priorities), headings=headings, suppressed_cells=suppressed,
                      seconds=round(time.perf_counter() - t0, 2), timings=timings)
    record_now(conn, by, "report", str(out), {
        "review": review_date.isoformat(), "label": model.pack.review_label, "format": "docx", "public": public,
        "priorities": info.priorities, "suppressed_cells": suppressed, "file": out.name,
    }, role=role)
    return info
