"""Building the board pack's model (:class:`reports.pack.model.PackModel`) from one load of the store
(:class:`reports.tables.PackData`): the summary from the review model's rows (:func:`reports.tables.review_rows`),
one page per KPI (its recent months, breakdowns, secondary measures, commentary, actions, definition and
data-quality notes, with the captions and nouns its declaration in :mod:`metrics.kpis` gives), the evidence log and the
definitions. :func:`figure` is the KPI's chart in the pack's style, from the one chart builder
(:func:`reports.charts.review_chart`).
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3

from metrics.months import short_month
from metrics.kpis import KPI, REGISTRY
from metrics.months import month_label
from metrics.reviews import words
from reports import disclosure
from reports.charts import PACK, review_chart
from reports.pack.model import (ACTION_TITLE_LIMIT, NAME_LIMIT, ActionItem, Commentary, ContextBlock,
                                EvidenceItem, KpiPage, PackModel, Table, shorten)
from reports.pack.registers import register_sections
from reports.tables import JUDGEMENT_DOC, PackData, ReviewRow, overall_line, review_rows

SUPPRESSED = disclosure.SUPPRESSED


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


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
    from metrics.months import month_index

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
    from metrics.months import month_from_index, month_index

    i = month_index(month)
    return [month_from_index(j) for j in range(i - n + 1, i + 1)]


def entry_commentary(e, public: bool) -> Commentary:
    """An evidence entry as the pack prints it (public: redacted, no author); the Word report uses it too."""
    when = dt.datetime.fromisoformat(e.created_at.replace("Z", "+00:00"))
    body = disclosure.redact_text(e.body) if public else e.body
    note = "correction of an earlier entry" if e.corrects else ""
    if not public and e.edited_at:
        note = "; ".join(x for x in (note, f"edited by {shorten(e.edited_by)}") if x)
    return Commentary(f"{when.day} {when:%b %Y}", None if public else shorten(e.author), body, note)


def _actions(conn: sqlite3.Connection, result, kpi_id: str, public: bool) -> list[ActionItem]:
    """The priority's actions at this review (``metrics.actions.actions_for_review``), for the pack: user text
    shortened, and in a public pack passed through the commentary's redaction."""
    from metrics.actions import actions_for_review, changes

    def text(value: str, limit: int) -> str:
        return shorten(disclosure.redact_text(value) if public else value, limit)

    out = []
    for a in actions_for_review(conn, result.checkpoint, kpi_id, result.previous_checkpoint):
        last = a.history[-1]
        update = "" if not a.updated else (f"{_date(dt.date.fromisoformat(last.created_at[:10]))}: "
                                           + ("; ".join(changes(a.history[-2], last)) or "note added"))
        out.append(ActionItem(ref=f"A{a.id}", title=text(a.title, ACTION_TITLE_LIMIT),
                              owner=text(a.owner, NAME_LIMIT), due=_date(a.due), status=a.status_text,
                              agreed=_date(a.checkpoint), overdue=a.overdue(result.checkpoint),
                              last_update=text(update, NAME_LIMIT)))
    return out


def current_entries(entries) -> list:
    """Entries not replaced by a correction, in the order written."""
    return [e for e in entries if not e.corrected_by]


# --- building the model ---------------------------------------------------------------------


def _summary(rows: list[ReviewRow], month: str) -> Table:
    """The checkpoint summary: the actual with its 95% interval under it, target, RAG, the variation and
    assurance verdicts in words (the renderers draw their icons beside them), the forecast."""
    body = []
    for r in rows:
        actual = r.actual_text + (f"\n{r.interval_text}" if r.interval_text else "") + (" ≈" if r.cannot_tell else "")
        variation = r.variation_text.removeprefix("Special cause ").capitalize() if r.variation else r.variation_text
        body.append([f"{r.tor}  {r.label}", actual, r.target_text, r.rag_text, variation, r.assurance_text,
                     r.forecast_short or r.forecast_text])
    return Table(header=["Priority (ToR)", f"Actual, {short_month(month)}", "Target", "RAG", "Variation",
                         "Assurance", "Forecast"],
                 rows=body, widths=[0.26, 0.14, 0.09, 0.09, 0.15, 0.15, 0.12],
                 align=["left", "right", "right", "center", "left", "left", "left"])


METHOD = [
    "Variation (statistical process control, NHS England's Making Data Count rules) says whether the judged "
    "month's change is real or noise: special cause improvement or concern, or common cause (no significant "
    "change). The direction of travel comes from it.",
    "Assurance says whether the target will be met if nothing changes: consistently passing, consistently "
    "failing, or hit or miss. Same target as the RAG: the RAG rates the value, assurance the process limits "
    "(green beside consistently failing: the value has moved beyond the limits).",
    "Percentages carry a 95% interval; where the target lies inside it the figure cannot be told apart from the "
    "target. Audits and face-to-face conferences are judged on three months pooled.",
]


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
            unit_nd = kpi.parts_unit
            n_text = _num(unit_nd, r["numerator"]) if dec is None or dec.shown(kpi.id, m, "n") else SUPPRESSED
            d_text = _num(unit_nd, r["denominator"]) if dec is None or dec.shown(kpi.id, m, "d") else SUPPRESSED
            rows.append([short_month(m), kpi.format(r["value"]) if shown_v else SUPPRESSED, n_text, d_text])
        else:
            rows.append([short_month(m), kpi.format(r["value"]) if shown_v else SUPPRESSED])
    if kpi.unit == "percent":
        return Table(["Month", "%", kpi.numerator.label, kpi.denominator.label], rows, [0.27, 0.21, 0.26, 0.26],
                     ["left", "right", "right", "right"])
    return Table(["Month", {"fte": "FTE", "count": "Number"}[kpi.unit]], rows, [0.5, 0.5], ["left", "right"])


def _sec(data: PackData, sid: str, month: str) -> tuple[float, float] | None:
    s = data.secondary
    r = s[(s["metric"] == sid) & (s["month"] == month)]
    if r.empty:
        return None
    return float(r.iloc[0]["numerator"]), float(r.iloc[0]["denominator"])


def _details(data: PackData, kpi: KPI, month: str, public: bool) -> list[str]:
    """Secondary measures and category breakdowns for the month, in sentences (suppressed cells as c),
    from the KPI's declaration: each secondary measure with a pack sentence, and the month's total by
    category ("52 conferences: 37 face to face, …; 20 initial, 32 review.") with any secondary percentage
    of a category ("(7.1% inadequate)") unless it has its own sentence (held in person only). Cells are the ones :mod:`reports.disclosure` decides."""
    dec = data.decisions if public else None
    row = data.value(kpi.id, month)
    if row is None or row["source"] != "records":
        return []

    def show(cell: str, text: str) -> str:
        return text if dec is None or dec.shown(kpi.id, month, cell) else SUPPRESSED

    if dec is not None and not dec.breakdowns_shown(kpi.id, month):
        return ["Breakdowns are not shown for this month: the numbers are too small to publish."]
    out = []
    for s in kpi.secondary:
        v = _sec(data, s.id, month) if s.pack else None
        if v is None or (s.denominator is not None and not v[1] > 0):
            continue
        value = v[0] if s.denominator is None else v[0] * (100 if s.unit == "percent" else 1) / v[1]
        num_cell = "n" if s.numerator == kpi.numerator.column else s.id
        out.append(s.pack.format(value=show(s.id, s.format(value)), numerator=show(num_cell, _num("count", v[0])),
                                 denominator=show(s.denominator or s.id, _num("count", v[1]))))
    kinds = []
    for by in kpi.breakdowns:
        if by not in disclosure.CATEGORY_BREAKDOWNS:
            continue
        _, prefix, categories, col = disclosure.CATEGORY_BREAKDOWNS[by]
        b = data.breakdowns.get((kpi.id, by))
        counts = b[b["month"] == month].set_index("group")[col] if b is not None and not b.empty else None
        if counts is None or counts.empty:
            return out
        kinds.append(", ".join(f"{show(f'{prefix}:{c}', _num('count', counts.get(c, 0.0)))} {c.replace('_', ' ')}"
                               for c in categories))
    if kinds and kpi.denominator is not None:
        d = float(row["denominator"])
        cell_of = {f"{prefix}_{c}": (f"{prefix}:{c}", c) for _, prefix, cats, _ in
                   disclosure.CATEGORY_BREAKDOWNS.values() for c in cats}
        shares = [f"{show(s.id, s.format(_sec(data, s.id, month)[0] * 100 / d))} "
                  f"{cell_of[s.numerator][1].replace('_', ' ')}"
                  for s in kpi.secondary if s.unit == "percent" and s.numerator in cell_of and not s.pack
                  and s.denominator == kpi.denominator.column and d and _sec(data, s.id, month)]
        out.append(f"{show('d', _num('count', d))} {kpi.denominator.noun}: " + "; ".join(kinds)
                   + (f" ({', '.join(shares)})." if shares else "."))
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
    unit_nd = kpi.parts_unit

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
        return Table(["Team", "%", kpi.numerator.label, kpi.denominator.label], rows, [0.4, 0.16, 0.22, 0.22],
                     ["left", "right", "right", "right"],
                     last_row_bold=True), ""
    rows.append(["All teams", show("n", kpi.format(total["value"]))])
    return Table(["Team", {"fte": "FTE", "count": "Number"}[kpi.unit]], rows, [0.6, 0.4], ["left", "right"],
                 last_row_bold=True), ""


def _quality(data: PackData, kpi: KPI, month: str, row: ReviewRow, public: bool) -> list[str]:
    s = data.kpi_series(kpi.id, month)
    out = []
    for code in words.FLAG_WORDS:
        months = [m for m, f in zip(s["month"], s["flags"]) if isinstance(f, (tuple, list)) and code in f]
        if months:
            out.append(f"{words.flag_text(code, 'sentence')}: {_month_ranges(months)}.")
    if public:
        dec = data.decisions
        hidden = [m for m in s["month"] if not dec.value_shown(kpi.id, m)]
        if hidden:
            out.append(f"Not shown because of small numbers ('{SUPPRESSED}'): {_month_ranges(hidden)}.")
    if row.restated:
        out.append("Restated: the figures were re-uploaded after this review was made final; the summary shows "
                   "the final record and the chart today's data.")
    return out


def figure(data: PackData, kpi: KPI, public: bool, size: tuple[int, int] = (960, 540)):
    """The KPI's chart in the pack (``size`` CSS pixels): :func:`reports.charts.review_chart` over the review's
    board and the boards of the checkpoints up to it, public with gaps and withheld marks."""
    from metrics.benchmarks import benchmark_series

    bench = None
    if kpi.benchmark:
        try:
            bench = benchmark_series(kpi.id, data.settings.la_code)
        except (ValueError, FileNotFoundError):
            bench = None
    return review_chart(kpi, data.series, data.settings, data.history, current=data.review, benchmarks=bench,
                        decisions=data.decisions if public else None, style=PACK.sized(*size))


def build_model(conn: sqlite3.Connection, data: PackData, *, public: bool, include_teams: bool,
                by: str) -> PackModel:
    """Everything the renderers print, formatted and (public) suppressed. Charts are added later."""
    from metrics.benchmarks import BENCHMARKED_METRICS, LICENCE, PUBLISHER
    from metrics.evidence import TOR_ITEMS, list_entries
    from metrics.reviews import data_as_of
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
    if any(r.cannot_tell for r in rows):
        notes.append(f"≈ the target lies inside the value's 95% interval: {words.CANNOT_TELL}.")
    if public:
        notes.append(f"'{SUPPRESSED}' = suppressed because of small numbers; a suppressed figure's RAG rating, "
                     "direction of travel and forecast are not shown either. See the suppression rule at the end.")

    pages = []
    for r in rows:
        kpi = REGISTRY[r.metric]
        entries = list_entries(conn, result.checkpoint, kpi.id)
        current = current_entries(entries)
        teams, teams_note = (None, "")
        if include_teams:
            teams, teams_note = _teams(data, kpi, r.actual_month, public)
        pages.append(KpiPage(
            kpi=kpi, title=f"{kpi.tor}  {kpi.label}", row=r, chart_png=None,
            chart_caption=_chart_caption(kpi, r, data),
            recent=_recent_table(data, kpi, r.actual_month, public),
            details=_details(data, kpi, r.actual_month, public),
            teams=teams, teams_note=teams_note,
            commentary=entry_commentary(current[-1], public) if current else None,
            earlier_entries=max(len(current) - 1, 0),
            definition=f"{kpi.definition} {'Higher' if kpi.higher_is_better else 'Lower'} is better.",
            quality=_quality(data, kpi, r.actual_month, r, public),
            benchmark_note=benchmark_note(kpi),
            context=context_blocks(kpi, settings.la_code, result.checkpoint),
            registers=register_sections(conn, data, kpi, r.actual_month, public=public, include_teams=include_teams),
            actions=_actions(conn, result, kpi.id, public),
            chart_points=chart_points(data, kpi, public),
            # green beside 'consistently failing': the same target, said so (withheld with the verdicts)
            apart="" if r.assurance is None else words.verdicts_apart(data.review.row(kpi.id)),
            apart_short="" if r.assurance is None else words.verdicts_apart(data.review.row(kpi.id), "short"),
        ))
        pages[-1].chart_caption += " " + chart_points_text(pages[-1].chart_points)

    overall_entries = [entry_commentary(e, public) for e in current_entries(list_entries(conn, result.checkpoint))
                       if e.kpi is None and e.tor_item is None]
    evidence = [EvidenceItem(code, title, [entry_commentary(e, public) for e in
                                           current_entries(list_entries(conn, result.checkpoint, tor_item=code))])
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

    glossary = [(words.flag_text(code, "sentence"), text) for code, text in FLAGS.items()]
    return PackModel(
        council=shorten(settings.council_name), title="Improvement Board pack", review_label=label,
        checkpoint=result.checkpoint, month=month, public=public, demo=demo, marking=marking,
        marking_note=marking_note, cover_lines=cover, summary=_summary(rows, month),
        summary_rags=[r.rag for r in rows], summary_rows=rows, overall=overall_line(rows),
        summary_notes=notes, kpis=pages, overall_commentary=overall_entries, evidence=evidence,
        definitions=definitions, sources=sources, quality_glossary=glossary,
        suppression_rules=list(disclosure.RULES) if public else [],
        method=METHOD + [f"The method in plain English: {JUDGEMENT_DOC} (How progress is judged)."],
    )


def benchmark_note(kpi: KPI) -> str:
    """The sentence under a KPI's chart when its published benchmark's definition differs from the KPI's."""
    from metrics.benchmarks import BENCHMARKED_METRICS

    src = BENCHMARKED_METRICS.get(kpi.id)
    if src is None or not src.differs:
        return ""
    return f"Published benchmark not like for like ({src.differs}): {src.caveat}"


def context_blocks(kpi: KPI, la_code: str, checkpoint: dt.date) -> list[ContextBlock]:
    """Published context on the KPI's page, reference dates on or before the review date
    (:func:`metrics.context.at_review`, as the dashboard's KPI page): the
    council's rank and quartile on the KPI's benchmark (its last three years) and on the workforce context
    measures, and the latest census year beside the statistical neighbours. Published figures only, so the
    same in a public pack."""
    from metrics import context
    from reports.context import neighbour_display

    if not kpi.benchmark and not kpi.context:
        return []
    try:
        known = context.at_review(kpi.id, la_code, checkpoint.isoformat())  # the KPI page's rule too
        standing, year, neighbours = known.standing, known.year, known.neighbours
    except (ValueError, FileNotFoundError) as e:
        return [ContextBlock("Context from published data", None, [f"Not shown: {e}"])]
    out = []
    if not standing.empty:
        rows = [[shorten(r[0], 60), *r[1:]] for r in standing.astype(str).values.tolist()]
        out.append(ContextBlock(
            "Where the council stands (published figures)",
            Table(["Measure", "Date", "Council", "Rank among neighbours", "Quartile", "Rank in England",
                   "Quartile"], rows, [0.3, 0.1, 0.1, 0.13, 0.12, 0.12, 0.13],
                  ["left", "left", "right", "right", "left", "right", "left"]),
            ["Rank 1 = best for the measure's direction; ties share the best rank of the tie (1, 2, 2, 4); "
             "quartile 1 = best quarter. Among the council and its 10 DfE statistical neighbours, and among "
             "every council in England with a published figure (docs/context.md)."]))
    if neighbours is not None and not neighbours.empty:
        shown = neighbour_display(kpi.id, neighbours)
        out.append(ContextBlock(
            f"Workforce census, 30 September {year}: the council and its statistical neighbours",
            Table(list(shown.columns), shown.astype(str).values.tolist(), [0.4, 0.2, 0.2, 0.2],
                  ["left", "right", "right", "right"]),
            [" ".join(f"{m.short}: {m.source.definition}" for m in context.context_measures(kpi.id))
             + " Annual figures at the census date, not monthly."]))
    return out


def chart_points(data: PackData, kpi: KPI, public: bool) -> list[tuple[str, str, str, str]]:
    """The checkpoints the pack's chart marks, as data: (checkpoint, actual, target, RAG word) — the same marks
    as :func:`reports.charts.checkpoint_marks` draws (a public pack's withheld mark: 'c', RAG not shown)."""
    from reports.charts import checkpoint_marks

    out = []
    for m in checkpoint_marks(kpi.id, data.history, PACK, data.decisions if public else None):
        actual = SUPPRESSED if m.withheld else ("–" if _missing(m.actual) else kpi.format(m.actual))
        target = "–" if _missing(m.target) else kpi.format_target(m.target)
        rag = "not shown" if m.withheld else words.RAG_WORDS.get(m.rag or "no_data", "No data")
        out.append((m.label, actual, target, rag))
    return out


def chart_points_text(points: list[tuple[str, str, str, str]]) -> str:
    """The chart's checkpoints in a sentence (its alternative text)."""
    if not points:
        return "No checkpoint rated yet."
    return "Checkpoints: " + "; ".join(f"{c} {a} against {t}, {r}" for c, a, t, r in points) + "."


def _chart_caption(kpi: KPI, row: ReviewRow, data: PackData) -> str:
    parts = ["Monthly actual (solid)", "target trajectory (dashed)", "review checkpoints with their RAG"]
    if kpi.benchmark:
        parts.append("published DfE benchmarks as annual points at their reference date"
                     + (f" ({benchmark_note(kpi)})" if benchmark_note(kpi) else ""))
    return ("Chart: " + ", ".join(parts) + f". Months up to {short_month(row.actual_month)}. "
            f"How progress is judged: {JUDGEMENT_DOC}.")


