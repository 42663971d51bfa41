"""The Improvement Board pack: one review, as a PDF (A4 landscape) or a PowerPoint deck (16:9).

:func:`build_pack` reads the store once (:func:`reports.tables.load`), builds a renderer-neutral
:class:`PackModel` (every figure already formatted — and, for a public pack, already suppressed by
:mod:`reports.disclosure`), draws each KPI's trajectory chart with the dashboard's own
:func:`reports.charts.kpi_figure` through ONE kaleido session, and hands the model to
:mod:`reports.pdf` or :mod:`reports.slides`. An audit row (action ``boardpack``) records who made
which pack.

Contents, in order: cover; checkpoint summary (actual, target, RAG as text and colour, direction of
travel, forecast, the overall count line); one page per KPI (chart, status, last three months,
breakdowns, latest commentary, definition, data-quality notes); the evidence log for the qualitative
Terms of Reference items; definitions and sources (and, in a public pack, the suppression rule).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from metrics.kpis import REGISTRY, KPI
from reports import disclosure
from reports.tables import (PackData, ReviewRow, actual_shown, load, month_label, overall_line, review_rows,
                            short_month)

FORMATS = (".pdf", ".pptx")
SUPPRESSED = disclosure.SUPPRESSED

#: Charts are 16:9 (each renderer sets its size in CSS pixels, CHART_SIZE, so that the chart's 20 px
#: type comes out large enough where it is placed) and rendered at CHART_SCALE for sharpness.
CHART_WIDTH, CHART_HEIGHT, CHART_SCALE = 16, 9, 1.5

#: Column captions for a percentage KPI's numerator and denominator.
NUM_DEN_LABELS: dict[str, tuple[str, str]] = {
    "agency_rate": ("Agency FTE", "All FTE"),
    "face_to_face_conferences": ("Face to face or hybrid", "All conferences"),
    "assessment_nfa_rate": ("No further action", "All assessments"),
    "three_plus_social_workers": ("3+ social workers", "Children allocated"),
    "audits_good_or_better": ("Good or outstanding", "All audits"),
    "send_milestones_complete": ("Complete", "Due"),
    "improvement_plan_milestones_complete": ("Complete", "Due"),
}

#: Data-quality flags in plain words, for the KPI pages (compute.FLAGS has the full definitions).
FLAG_WORDS: dict[str, str] = {
    "month_missing": "No data (no extract and no totals uploaded)",
    "zero_denominator": "Nothing to count that month (zero denominator), so no value",
    "small_denominator": "Fewer than 10 in the denominator: one case moves the percentage a lot",
    "figures_sourced": "From monthly totals (a figures upload), not record-level data",
    "snapshot_stale": "Snapshot taken before the month ended",
}

#: Names from users or data (council, review label, team, author) are cut to this many characters,
#: with an ellipsis, in the pack; renderers also fit every line and table cell to its box.
NAME_LIMIT = 150

RAG_COLOURS = {"green": "#00703c", "amber": "#8a5300", "red": "#b10e1e", "no_data": "#505a5f", None: "#505a5f"}


class PackError(RuntimeError):
    """The pack could not be made (nothing was written)."""


# --- the model -------------------------------------------------------------------------------


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
    summary_rows: list[ReviewRow]
    overall: str
    summary_notes: list[str]
    kpis: list[KpiPage]
    overall_commentary: list[Commentary]
    evidence: list[EvidenceItem]
    definitions: list[tuple[str, str]]
    sources: list[str]
    quality_glossary: list[tuple[str, str]]
    suppression_rules: list[str] = field(default_factory=list)

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


# --- helpers -----------------------------------------------------------------------------------


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


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


def _num(unit: str, x: float | None) -> str:
    if _missing(x):
        return "–"
    return f"{x:,.1f}" if unit == "fte" or not float(x).is_integer() else f"{x:,.0f}"


def _date(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"


def _utc(ts: str | None) -> str:
    if not ts:
        return "no uploads yet"
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return f"{t.day} {t:%B %Y}, {t:%H:%M} UTC"


def _month_ranges(months: list[str], limit: int = 4) -> str:
    """['2022-01','2022-02','2022-03','2022-06'] → 'Jan 2022 – Mar 2022, Jun 2022'."""
    from metrics.forecast import month_index

    ms = sorted(set(months))
    runs: list[list[str]] = []
    for m in ms:
        if runs and month_index(m) == month_index(runs[-1][-1]) + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    parts = [short_month(r[0]) if len(r) == 1 else f"{short_month(r[0])} – {short_month(r[-1])}" for r in runs]
    if len(parts) > limit:
        rest = sum(len(r) for r in runs[limit:])
        parts = parts[:limit] + [f"and {rest} more month{'s' if rest != 1 else ''}"]
    return ", ".join(parts)


def _last_months(month: str, n: int = 3) -> list[str]:
    from metrics.forecast import month_from_index, month_index

    i = month_index(month)
    return [month_from_index(j) for j in range(i - n + 1, i + 1)]


def _entry(e, public: bool) -> Commentary:
    when = dt.datetime.fromisoformat(e.created_at.replace("Z", "+00:00"))
    body = disclosure.redact_text(e.body) if public else e.body
    note = "correction of an earlier entry" if e.corrects else ""
    if not public and e.edited_at:
        note = "; ".join(x for x in (note, f"edited by {shorten(e.edited_by)}") if x)
    return Commentary(f"{when.day} {when:%b %Y}", None if public else shorten(e.author), body, note)


def _current_entries(entries) -> list:
    """Entries not replaced by a correction, in the order written."""
    return [e for e in entries if not e.corrected_by]


# --- building the model ---------------------------------------------------------------------


def _summary(rows: list[ReviewRow], month: str) -> Table:
    body = []
    for r in rows:
        body.append([f"{r.tor}  {r.label}", r.actual_text, r.target_text, r.rag_text, r.travel_text,
                     r.forecast_text])
    return Table(header=["Priority (ToR)", f"Actual, {short_month(month)}", "Target", "RAG", "Travel",
                         "Forecast"],
                 rows=body, widths=[0.40, 0.115, 0.10, 0.10, 0.11, 0.175],
                 align=["left", "right", "right", "center", "left", "left"])


def _recent_table(data: PackData, kpi: KPI, month: str, public: bool) -> Table:
    dec = data.decisions if public else None
    rows = []
    for m in _last_months(month):
        r = data.value(kpi.id, m)
        if r is None or (_missing(r["value"]) and _missing(r["numerator"])):
            rows.append([short_month(m), "no data", "", ""] if kpi.unit == "percent" else [short_month(m), "no data"])
            continue
        shown_v = dec is None or dec.value_shown(kpi.id, m)
        if kpi.unit == "percent":
            unit_nd = "fte" if kpi.id == "agency_rate" else "count"
            n_text = _num(unit_nd, r["numerator"]) if dec is None or dec.shown(kpi.id, m, "n") else SUPPRESSED
            d_text = _num(unit_nd, r["denominator"]) if dec is None or dec.shown(kpi.id, m, "d") else SUPPRESSED
            rows.append([short_month(m), kpi.format(r["value"]) if shown_v else SUPPRESSED, n_text, d_text])
        else:
            rows.append([short_month(m), kpi.format(r["value"]) if shown_v else SUPPRESSED])
    if kpi.unit == "percent":
        num, den = NUM_DEN_LABELS.get(kpi.id, ("Count", "Out of"))
        return Table(["Month", "%", num, den], rows, [0.27, 0.21, 0.26, 0.26], ["left", "right", "right", "right"])
    return Table(["Month", {"fte": "FTE", "count": "Number"}[kpi.unit]], rows, [0.5, 0.5], ["left", "right"])


def _sec(data: PackData, sid: str, month: str) -> tuple[float, float] | None:
    s = data.secondary
    r = s[(s["metric"] == sid) & (s["month"] == month)]
    if r.empty:
        return None
    return float(r.iloc[0]["numerator"]), float(r.iloc[0]["denominator"])


def _details(data: PackData, kpi: KPI, month: str, public: bool) -> list[str]:
    """Secondary measures for the month, in sentences (suppressed cells as c)."""
    dec = data.decisions if public else None
    row = data.value(kpi.id, month)
    if row is None or row["source"] != "records":
        return []

    def show(cell: str, text: str) -> str:
        return text if dec is None or dec.shown(kpi.id, month, cell) else SUPPRESSED

    if dec is not None and not dec.breakdowns_shown(kpi.id, month):
        return ["Breakdowns are not shown for this month: the numbers are too small to publish."]
    out = []
    if kpi.id == "permanent_team_managers":
        tm = _sec(data, "team_manager_permanence_pct", month)
        if tm and tm[1] > 0:
            pct = tm[0] * 100 / tm[1]
            out.append(f"{show('n', _num('count', tm[0]))} of {show('all_tm', _num('count', tm[1]))} team managers "
                       f"in post are permanent ({show('tm_permanent_pct', f'{pct:.1f}%')}).")
    elif kpi.id == "face_to_face_conferences":
        f = {g: _sec(data, f"conference_format_{g}", month) for g in ("face_to_face", "hybrid", "virtual")}
        t = {g: _sec(data, f"conference_{g}", month) for g in ("initial", "review")}
        if all(f.values()) and all(t.values()):
            c = {g: show(f"format:{g}", _num("count", v[0])) for g, v in f.items()}
            ty = {g: show(f"type:{g}", _num("count", v[0])) for g, v in t.items()}
            out.append(f"{show('d', _num('count', row['denominator']))} conferences: {c['face_to_face']} face to face, "
                       f"{c['hybrid']} hybrid, {c['virtual']} virtual; {ty['initial']} initial, {ty['review']} review.")
    elif kpi.id == "three_plus_social_workers":
        mw = _sec(data, "mean_distinct_workers", month)
        if mw and mw[1] > 0:
            out.append("Average number of different social workers in the 12 months: "
                       f"{show('mean_workers', f'{mw[0] / mw[1]:.2f}')}.")
    elif kpi.id == "audits_good_or_better":
        g = data.breakdowns.get((kpi.id, "grade"))
        if g is not None and not g.empty:
            gm = g[g["month"] == month].set_index("group")["numerator"]
            if not gm.empty:
                words = {"outstanding": "outstanding", "good": "good", "requires_improvement": "requires improvement",
                         "inadequate": "inadequate"}
                parts = [f"{show(f'grade:{k}', _num('count', gm.get(k, 0.0)))} {w}" for k, w in words.items()]
                d = float(row["denominator"])
                inad = gm.get("inadequate", 0.0) * 100 / d if d else float("nan")
                out.append(f"{show('d', _num('count', d))} audits: " + ", ".join(parts)
                           + (f" ({show('inadequate_pct', f'{inad:.1f}%')} inadequate)." if d else "."))
    return out


def _teams(data: PackData, kpi: KPI, month: str, public: bool) -> tuple[Table | None, str]:
    b = data.breakdowns.get((kpi.id, "team"))
    if b is None or b.empty:
        return None, ""
    b = b[b["month"] == month]
    if b.empty:
        return None, ""
    dec = data.decisions if public else None
    if dec is not None and not dec.breakdowns_shown(kpi.id, month):
        return None, "Team figures are not shown for this month: the numbers are too small to publish."
    if dec is not None and not dec.teams_available(kpi.id, month):
        return None, "Team figures are not shown: they do not add up to the council total."
    from metrics.compute import NO_TEAM

    b = b.assign(_last=b["group"] == NO_TEAM).sort_values(["_last", "group"])
    total = data.value(kpi.id, month)
    rows = []
    unit_nd = "fte" if kpi.id == "agency_rate" else "count"

    def show(cell: str, text: str) -> str:
        return text if dec is None or dec.shown(kpi.id, month, cell) else SUPPRESSED

    for g, v, n, d in zip(b["group"], b["value"], b["numerator"], b["denominator"]):
        name = shorten(g)
        if kpi.unit == "percent":
            if _missing(d) or d == 0:
                rows.append([name, "no data", _num(unit_nd, n), _num(unit_nd, d)])
                continue
            rows.append([name, show(f"team:{g}:value", kpi.format(v)), show(f"team:{g}:n", _num(unit_nd, n)),
                         show(f"team:{g}:d", _num(unit_nd, d))])
        else:
            rows.append([name, show(f"team:{g}:n", kpi.format(v))])
    if kpi.unit == "percent":
        rows.append(["All teams", show("value", kpi.format(total["value"])),
                     show("n", _num(unit_nd, total["numerator"])), show("d", _num(unit_nd, total["denominator"]))])
        num, den = NUM_DEN_LABELS.get(kpi.id, ("Count", "Out of"))
        return Table(["Team", "%", num, den], rows, [0.4, 0.16, 0.22, 0.22], ["left", "right", "right", "right"],
                     last_row_bold=True), ""
    rows.append(["All teams", show("n", kpi.format(total["value"]))])
    return Table(["Team", {"fte": "FTE", "count": "Number"}[kpi.unit]], rows, [0.6, 0.4], ["left", "right"],
                 last_row_bold=True), ""


def _quality(data: PackData, kpi: KPI, month: str, row: ReviewRow, public: bool) -> list[str]:
    s = data.kpi_series(kpi.id, month)
    out = []
    for code, words in FLAG_WORDS.items():
        months = [m for m, f in zip(s["month"], s["flags"]) if isinstance(f, (tuple, list)) and code in f]
        if months:
            out.append(f"{words}: {_month_ranges(months)}.")
    if public:
        dec = data.decisions
        hidden = [m for m in s["month"] if not dec.value_shown(kpi.id, m)]
        if hidden:
            out.append(f"Not shown because of small numbers ('{SUPPRESSED}'): {_month_ranges(hidden)}.")
    if row.restated:
        out.append("Restated: the figures were re-uploaded after this review was made final; the summary shows "
                   "the final record and the chart today's data.")
    return out


def _chart_inputs(data: PackData, kpi: KPI, row: ReviewRow, public: bool):
    """(series for the chart, trajectory, checkpoint marks, benchmarks, suppressed-mark labels)."""
    from metrics.benchmarks import BENCHMARKED_METRICS, benchmark_series
    from reports.charts import CheckpointMark

    s = data.kpi_series(kpi.id, row.actual_month).copy()
    dec = data.decisions if public else None
    if dec is not None:
        hide = [not dec.value_shown(kpi.id, m) for m in s["month"]]
        s.loc[hide, ["value", "numerator", "denominator"]] = float("nan")
    trajectory = None
    t = data.settings.targets.get(kpi.id)
    if t is not None:
        trajectory = pd.DataFrame(t.points(), columns=["date", "target"])
    marks, hidden_marks = [], []
    for h in data.history:
        try:
            m = h.metric(kpi.id)
        except KeyError:
            continue
        label = f"{h.checkpoint:%b %y}"
        shown = dec is None or actual_shown(dec, kpi, m)
        if shown:
            marks.append(CheckpointMark(h.checkpoint, label, m.rag, m.actual, m.target))
        else:
            marks.append(CheckpointMark(h.checkpoint, label, "no_data", None, m.target))
            hidden_marks.append(label)
    bench = None
    if kpi.id in BENCHMARKED_METRICS:
        try:
            bench = benchmark_series(kpi.id, data.settings.la_code)
        except (ValueError, FileNotFoundError):
            bench = None
        if bench is not None and not bench.empty:
            end = max([pd.Timestamp(row.actual_month + "-01") + pd.offsets.MonthEnd(0)]
                      + ([pd.Timestamp(trajectory["date"].max())] if trajectory is not None else []))
            bench = bench[pd.to_datetime(bench["period_end"]) <= end]
            start = pd.Timestamp(s["month"].min() + "-01") - pd.DateOffset(years=1) if not s.empty else None
            if start is not None:
                bench = bench[pd.to_datetime(bench["period_end"]) >= start]
    return s, trajectory, marks, bench, hidden_marks


def _figure(data: PackData, kpi: KPI, row: ReviewRow, public: bool, size: tuple[int, int] = (960, 540)):
    """The dashboard's chart (``reports.charts.kpi_figure``) for the pack, ``size`` CSS pixels."""
    from reports.charts import kpi_figure

    s, trajectory, marks, bench, hidden_marks = _chart_inputs(data, kpi, row, public)
    fig = kpi_figure(kpi, s, trajectory=trajectory, checkpoints=marks, benchmarks=bench, large=True,
                     height=size[1])
    if hidden_marks:  # a suppressed checkpoint: say so, not "NO DATA"
        for a in fig.layout.annotations:
            if a.text and a.text.split("<br>")[0] in hidden_marks:
                a.text = a.text.replace("NO DATA", f"'{SUPPRESSED}'")
    fig.update_layout(width=size[0], margin=dict(r=30))
    return fig


def build_model(conn: sqlite3.Connection, data: PackData, *, public: bool, include_teams: bool,
                by: str) -> PackModel:
    """Everything the renderers print, formatted and (public) suppressed. Charts are added later."""
    from metrics.benchmarks import BENCHMARKED_METRICS, LICENCE, PUBLISHER
    from metrics.evidence import TOR_ITEMS, list_entries
    from metrics.review import data_as_of
    from metrics.store import is_demo

    result = data.review
    settings = data.settings
    rows = review_rows(data, public=public)
    month = result.month
    demo = is_demo(conn)
    latest_month = conn.execute("SELECT MAX(month) FROM current_months").fetchone()[0]
    label = shorten(result.label or f"Review at {_date(result.checkpoint)}")
    by = shorten(by)
    marking = "PUBLIC" if public else "RESTRICTED"
    marking_note = (f"Small numbers are suppressed (shown as '{SUPPRESSED}'); see the suppression rule."
                    if public else "Contains unsuppressed small numbers: not for publication.")
    cover = [
        f"Review date: {_date(result.checkpoint)}",
        f"Figures for the last complete month: {month_label(month)}",
        f"Data as of: {_utc(result.data_as_of if result.final else data_as_of(conn))} (latest upload)"
        + (f"; latest month with data: {month_label(latest_month)}" if latest_month else ""),
    ]
    if result.final:
        when = _utc(result.finalised_at)
        cover.append(f"FINAL: this review was marked final on {when}"
                     + ("" if public else f" by {shorten(result.finalised_by)}") + ".")
    cover.append(f"Prepared {_utc(dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())}"
                 + ("" if public else f" by {by}") + ".")
    if demo:
        cover.append("Synthetic demo data: these are not real figures about real children or staff.")

    notes = [n for r in rows for n in r.notes]
    if public:
        notes.append(f"'{SUPPRESSED}' = suppressed because of small numbers; a suppressed figure's RAG rating, "
                     "direction of travel and forecast are not shown either. See the suppression rule at the end.")

    pages = []
    for r in rows:
        kpi = REGISTRY[r.metric]
        entries = list_entries(conn, result.checkpoint, kpi.id)
        current = _current_entries(entries)
        teams, teams_note = (None, "")
        if include_teams:
            teams, teams_note = _teams(data, kpi, r.actual_month, public)
        pages.append(KpiPage(
            kpi=kpi, title=f"{kpi.tor}  {kpi.label}", row=r, chart_png=None,
            chart_caption=_chart_caption(kpi, r, data),
            recent=_recent_table(data, kpi, r.actual_month, public),
            details=_details(data, kpi, r.actual_month, public),
            teams=teams, teams_note=teams_note,
            commentary=_entry(current[-1], public) if current else None,
            earlier_entries=max(len(current) - 1, 0),
            definition=f"{kpi.definition} {'Higher' if kpi.higher_is_better else 'Lower'} is better.",
            quality=_quality(data, kpi, r.actual_month, r, public),
        ))

    overall_entries = [_entry(e, public) for e in _current_entries(list_entries(conn, result.checkpoint))
                       if e.kpi is None and e.tor_item is None]
    evidence = [EvidenceItem(code, title, [_entry(e, public) for e in
                                           _current_entries(list_entries(conn, result.checkpoint, tor_item=code))])
                for code, title in TOR_ITEMS.items()]
    definitions = [(f"{k.tor}  {k.label}",
                    f"{k.definition} {'Higher' if k.higher_is_better else 'Lower'} is better.")
                   for k in REGISTRY.values()]
    sources = [
        f"KPIs: {shorten(settings.council_name)}'s monthly extracts, loaded into the intervention KPI store "
        f"(record-level extracts, or monthly totals where marked).",
        "Targets and amber tolerances: the review settings (baseline February 2023, trajectory to the final "
        "targets)." + (f" Settings version {result.settings_version_id}." if result.settings_version_id else ""),
    ]
    for src in BENCHMARKED_METRICS.values():
        sources.append(f"Benchmark — {src.label}: {src.publication}, {src.publisher}, {src.measured_at}. "
                       f"{src.caveat}")
    sources.append(f"Benchmarks contain public sector information from the {PUBLISHER} licensed under the "
                   f"{LICENCE}.")
    from metrics.compute import FLAGS

    glossary = [(FLAG_WORDS.get(code, code), text) for code, text in FLAGS.items()]
    return PackModel(
        council=shorten(settings.council_name), title="Improvement Board pack", review_label=label,
        checkpoint=result.checkpoint, month=month, public=public, demo=demo, marking=marking,
        marking_note=marking_note, cover_lines=cover, summary=_summary(rows, month),
        summary_rags=[r.rag for r in rows], summary_rows=rows, overall=overall_line(rows),
        summary_notes=notes, kpis=pages, overall_commentary=overall_entries, evidence=evidence,
        definitions=definitions, sources=sources, quality_glossary=glossary,
        suppression_rules=list(disclosure.RULES) if public else [],
    )


def _chart_caption(kpi: KPI, row: ReviewRow, data: PackData) -> str:
    parts = ["Monthly actual (solid)", "target trajectory (dashed)", "review checkpoints with their RAG"]
    from metrics.benchmarks import BENCHMARKED_METRICS

    if kpi.id in BENCHMARKED_METRICS:
        parts.append("published DfE benchmarks")
    return "Chart: " + ", ".join(parts) + f". Months up to {short_month(row.actual_month)}."


# --- charts ----------------------------------------------------------------------------------

_KALEIDO_LOCK = threading.Lock()


class _ChartSession:
    """ONE kaleido (headless Chromium) session per pack: started early so the browser boots while the
    store is read, stopped in ``close`` (call it in a ``finally``)."""

    def __init__(self) -> None:
        import kaleido

        self._k = kaleido
        _KALEIDO_LOCK.acquire()
        try:
            kaleido.start_sync_server(silence_warnings=True)
        except BaseException:
            _KALEIDO_LOCK.release()
            raise

    def png(self, fig, size: tuple[int, int] = (960, 540)) -> bytes:
        try:
            return self._k.calc_fig_sync(fig, opts=dict(format="png", width=size[0], height=size[1],
                                                         scale=CHART_SCALE))
        except Exception as e:  # a missing Chromium shows up here
            raise PackError(f"The charts could not be drawn ({type(e).__name__}: {e}). Kaleido needs a "
                            "Chromium browser (Debian: apt-get install chromium).") from e

    def close(self) -> None:
        try:
            self._k.stop_sync_server(silence_warnings=True)
        finally:
            _KALEIDO_LOCK.release()


# --- the entry point -------------------------------------------------------------------------


def pack_format(out: str | Path) -> str:
    """'pdf' or 'pptx' from the file name; anything else is a ValueError naming the choices."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"The board pack is written as PDF or PowerPoint: '{Path(out).name}' must end in "
                         f".pdf or .pptx (got '{suffix or 'no extension'}').")
    return suffix[1:]


def build_pack(conn: sqlite3.Connection, review_date: dt.date, out: Path, *, public: bool = False,
               include_teams: bool = True, by: str = "cli") -> PackInfo:
    """Write the board pack for the review at ``review_date`` to ``out`` (``.pdf`` or ``.pptx``).

    ``public=True`` applies the disclosure rules of :mod:`reports.disclosure` and leaves out who wrote
    each piece of commentary; ``include_teams=False`` leaves out team breakdowns. The file is written
    atomically (a temporary file renamed into place). Records an audit row (action ``boardpack``)
    as ``by``. Raises ``ValueError`` for an unsupported extension, :class:`PackError` if the charts
    cannot be drawn, ``RuntimeError`` if the DejaVu fonts are missing.
    """
    from metrics.audit import record_now
    from metrics.review import as_date

    t0 = time.perf_counter()
    fmt = pack_format(out)
    review_date = as_date(review_date)
    out = Path(out)
    if fmt == "pdf":
        from reports import pdf as renderer
    else:
        from reports import slides as renderer
    renderer.check_fonts()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 2)
        return now

    session = _ChartSession()  # Chromium boots in the background while the store is read
    try:
        t = time.perf_counter()
        data = load(conn, review_date)
        t = lap("load", t)
        model = build_model(conn, data, public=public, include_teams=include_teams, by=by)
        t = lap("model", t)
        # Build each figure here while the previous one is drawn by kaleido in a worker thread.
        from concurrent.futures import ThreadPoolExecutor

        size = renderer.CHART_SIZE
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="boardpack-charts") as pool:
            futures = [pool.submit(session.png, _figure(data, page.kpi, page.row, public, size), size)
                       for page in model.kpis]
            t = lap("figures", t)
            for page, future in zip(model.kpis, futures):
                page.chart_png = future.result()
        t = lap("charts", t)
    finally:
        session.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    try:
        pages = renderer.render(model, tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    lap("render", t)
    shown_c = _count_suppressed(model)
    info = PackInfo(path=out, format=fmt, pages=pages, review=review_date, review_label=model.review_label,
                    public=public, include_teams=include_teams, kpis=len(model.kpis), suppressed_cells=shown_c,
                    seconds=round(time.perf_counter() - t0, 2), timings=timings)
    record_now(conn, by, "boardpack", str(out), {
        "review": review_date.isoformat(), "label": model.review_label, "format": fmt, "public": public,
        "include_teams": include_teams, "pages": pages, "suppressed_cells": shown_c, "file": out.name,
    })
    return info


def _count_suppressed(model: PackModel) -> int:
    """How many figures the pack shows as c (tables and sentences)."""
    n = sum(c == SUPPRESSED for row in model.summary.rows for c in row)
    for p in model.kpis:
        n += sum(c == SUPPRESSED for row in p.recent.rows for c in row)
        if p.teams:
            n += sum(c == SUPPRESSED for row in p.teams.rows for c in row)
        n += sum(len(re.findall(rf"(?<![\w']){SUPPRESSED}(?![\w'])", d)) for d in p.details)
    return n
