"""The board pack's model: what the PDF and the PowerPoint renderers print, already formatted (and, for a
public pack, already suppressed). :mod:`reports.pack.build` fills it in; :mod:`reports.pdf` and
:mod:`reports.slides` lay it out; :mod:`reports.boardpack` is the entry point. This room imports none of
them, so the pack's modules form no cycle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from metrics.kpis import KPI
from metrics.reviews import words
from reports.tables import WITHHELD, ReviewRow

#: Charts are 16:9 (each renderer sets its size in CSS pixels, CHART_SIZE, so that the chart's 20 px
#: type comes out large enough where it is placed) and rendered at CHART_SCALE for sharpness.
CHART_WIDTH, CHART_HEIGHT, CHART_SCALE = 16, 9, 1.5
#: The one chart size (CSS pixels) of both renderers, so a chart drawn once serves the PDF and the PowerPoint:
#: placed 456 pt wide in the PDF its 20 px type prints at about 10.6 pt, 7.5 in wide on a slide about 12.5 pt.
CHART_SIZE = (860, 484)

#: Names from users or data (council, review label, team, author) are cut to this many characters,
#: with an ellipsis, in the pack; renderers also fit every line and table cell to its box.
NAME_LIMIT = 150


class PackError(RuntimeError):
    """The pack could not be made (nothing was written)."""


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    widths: list[float]  # fractions of the available width
    align: list[str] | None = None  # per column: "left" | "right" | "center"
    last_row_bold: bool = False


@dataclass
class Commentary:
    when: str  # '3 Jun 2024'
    author: str | None  # None in a public pack
    body: str
    note: str = ""  # e.g. 'correction of an earlier entry'


@dataclass
class ContextBlock:
    """Published context on a KPI's page (issue 13 item 6): a heading, a table and lines under it."""

    title: str
    table: Table | None
    lines: list[str] = field(default_factory=list)


@dataclass
class RegisterSection:
    """A register's table (or, where there is nothing to show or it cannot be published, a note) on a KPI's
    page: the items behind the number at the judged month (:mod:`reports.pack.registers`)."""

    title: str
    table: Table | None
    note: str = ""


@dataclass
class ActionItem:
    """One action of the actions log (:mod:`metrics.actions`) as the packs print it (and a Word report can)."""

    ref: str  # 'A12'
    title: str  # shortened to ACTION_TITLE_LIMIT; redacted in a public pack
    owner: str  # a role or team
    due: str  # '30 Jun 2025'
    status: str  # 'Open', 'In progress', 'Done', 'Dropped'
    agreed: str  # the review where it was agreed: '1 Mar 2025'
    overdue: bool = False  # not closed and due before the review
    last_update: str = ""  # '3 Apr 2025: status Open → Done'

    @property
    def status_text(self) -> str:
        return self.status + (" (overdue)" if self.overdue else "")


#: an action's text in the packs: cut (with an ellipsis) to this many characters; cells are also fitted
ACTION_TITLE_LIMIT = 300


def actions_table(items: list[ActionItem]) -> Table | None:
    """The actions of one priority as a table: owner, due, status, action (None without actions)."""
    if not items:
        return None
    return Table(["Owner", "Due", "Status", "Action"],
                 [[a.owner, a.due, a.status_text, f"{a.ref}  {a.title}"] for a in items], [0.25, 0.13, 0.15, 0.47])


@dataclass
class KpiPage:
    kpi: KPI
    title: str
    row: ReviewRow
    chart_png: bytes | None
    chart_caption: str
    recent: Table
    details: list[str]  # secondary measures, in sentences
    teams: Table | None
    teams_note: str
    commentary: Commentary | None
    earlier_entries: int
    definition: str
    quality: list[str]
    #: Under the chart: a published benchmark whose definition differs from the KPI's says so here ("" = none)
    benchmark_note: str = ""
    #: The council's rank and quartile, and for the workforce priorities turnover, vacancy and caseload
    context: list[ContextBlock] = field(default_factory=list)
    registers: list[RegisterSection] = field(default_factory=list)
    #: the actions log for this priority at this review: agreed at it or earlier, not closed before the
    #: previous review (metrics.actions.actions_for_review), current state
    actions: list[ActionItem] = field(default_factory=list)

    @property
    def actions_table(self) -> Table | None:
        return actions_table(self.actions)
    #: The chart's checkpoints as data (its text alternative): (checkpoint, actual, target, RAG word), public
    #: figures already suppressed ('c', the RAG withheld).
    chart_points: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: metrics.reviews.words.verdicts_apart: where the RAG and the assurance seem to disagree, that both are
    #: against the same target and why they differ ('' otherwise, and where the verdicts are withheld)
    apart: str = ""
    apart_short: str = ""  # the same, as a table cell's note (slides: three lines' room)


@dataclass
class EvidenceItem:
    code: str
    title: str
    entries: list[Commentary]


@dataclass
class PackModel:
    council: str
    title: str
    review_label: str
    checkpoint: dt.date
    month: str
    public: bool
    demo: bool
    marking: str
    marking_note: str
    cover_lines: list[str]
    summary: Table
    summary_rags: list[str | None]  # per summary row, for the RAG cell colour
    summary_rows: list[ReviewRow]  # each with its v2 verdicts (variation, assurance: the icons beside the words)
    overall: str
    summary_notes: list[str]
    kpis: list[KpiPage]
    overall_commentary: list[Commentary]
    evidence: list[EvidenceItem]
    definitions: list[tuple[str, str]]
    sources: list[str]
    quality_glossary: list[tuple[str, str]]
    suppression_rules: list[str] = field(default_factory=list)
    #: How progress is judged, in a few sentences, and where the method is written down (docs/judgement.md)
    method: list[str] = field(default_factory=list)

    @property
    def footer(self) -> str:
        return f"{self.council} · {self.review_label}"


@dataclass(frozen=True)
class PackInfo:
    path: Path
    format: str  # "pdf" | "pptx"
    pages: int
    review: dt.date
    review_label: str
    public: bool
    include_teams: bool
    kpis: int
    suppressed_cells: int
    seconds: float
    #: seconds per stage: load (store → frames), model, figures, charts (kaleido), render
    timings: dict = field(default_factory=dict)


def shorten(text, limit: int = NAME_LIMIT) -> str:
    """``text`` as a string of at most ``limit`` characters: cut at a word if one ends in the last
    fifth, and ended with "…" when cut."""
    text = str(text)
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit * 4 // 5:
        cut = cut[:space]
    return cut.rstrip() + "…"


def verdict_line(r: ReviewRow, apart: str = "") -> str:
    """The v2 judgement of a pack row in one sentence: basis, interval, 'cannot be told apart' (and, where the
    RAG and the assurance seem to disagree, ``apart``: the page's :attr:`KpiPage.apart`)."""
    parts = [f"Judged on {r.basis_text}"] if r.basis_text else []
    if r.interval_text:
        parts.append(f"95% interval {r.interval_text}" + (f": {words.CANNOT_TELL}" if r.cannot_tell else ""))
    line = "; ".join(parts) + "." if parts else ""
    return f"{line} {apart}".strip()


def row_icons(r) -> tuple:
    """(variation icon, assurance icon) of a pack row; None where the verdict is withheld (public)."""
    from reports.icons import assurance_icon, variation_icon

    v = None if r.variation_text in (WITHHELD, "") else variation_icon(r.variation, r.direction)
    a = None if r.assurance_text in (WITHHELD, "") else assurance_icon(r.assurance)
    return v, a
