"""The numbers behind the board pack, as tables: one load of the store, the review table, the series
table, their public (suppressed) variants and formula-safe CSV.

* :func:`load` — everything a pack or an export needs, read once (:class:`PackData`), with the review
  model (:class:`metrics.reviews.ReviewBoard`) of the review date and of the checkpoints up to it.
* :func:`review_rows` — the checkpoint summary as the pack and the review CSV print it: one
  :class:`ReviewRow` per KPI, a *formatting* of the model's rows (words from :mod:`metrics.reviews.words`).
  Public: a judgement is withheld when any month it rests on (:attr:`metrics.reviews.ReviewRow.depends_on`)
  is suppressed by :mod:`reports.disclosure` — nothing is re-derived here.
* :func:`review_table` / :func:`series_table` — the same as DataFrames (``public=True`` suppressed).
* :func:`to_csv` — CSV bytes through :func:`metrics.export.safe_csv` (cells starting ``= + - @`` are
  neutralised), optionally written to a path.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from metrics.months import short_month
from metrics.kpis import REGISTRY
from metrics.reviews import ReviewBoard, words
from metrics.reviews import ReviewRow as ModelRow
from reports.disclosure import SUPPRESSED, Decisions, decide, is_small, suppress_series

WITHHELD = SUPPRESSED  # what a withheld judgement shows in the public pack
#: Where the method is explained: a column of the CSV exports, a line in the packs.
JUDGEMENT_DOC = "docs/judgement.md"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


@dataclass
class PackData:
    """Everything read from the store for one review (or for an export)."""

    settings: object  # metrics.reviews.ReviewSettings
    series: pd.DataFrame
    secondary: pd.DataFrame
    breakdowns: dict[tuple[str, str], pd.DataFrame]
    review: ReviewBoard | None = None  # the review model at the review date
    history: list[ReviewBoard] = field(default_factory=list)  # the boards of the checkpoints up to the review
    _decisions: Decisions | None = None
    _rows: dict = field(default_factory=dict, repr=False)
    _rows_of: object = field(default=None, repr=False)

    @property
    def decisions(self) -> Decisions:
        """Public-mode decisions (computed on first use)."""
        if self._decisions is None:
            self._decisions = decide(self.series, self.secondary, self.breakdowns)
        return self._decisions

    def kpi_series(self, metric: str, last: str | None = None) -> pd.DataFrame:
        s = self.series[self.series["metric"] == metric]
        return s[s["month"] <= last] if last else s

    def value(self, metric: str, month: str | None) -> pd.Series | None:
        """The series row of ``metric`` at ``month`` (the first, as a filter gives it), or None."""
        if not month:
            return None
        if self._rows_of is not self.series:  # (metric, month) → position, built once per series frame
            rows: dict = {}
            for i, key in enumerate(zip(self.series["metric"], self.series["month"])):
                rows.setdefault(key, i)
            self._rows, self._rows_of = rows, self.series
        i = self._rows.get((metric, month))
        return None if i is None else self.series.iloc[i]


def load(conn: sqlite3.Connection, at: dt.date | None = None) -> PackData:
    """Read the series, secondary measures and every breakdown; with ``at``, also the review model at
    that date and the models of the configured (and final) checkpoints up to it."""
    from metrics.compute import BREAKDOWNS, breakdown, secondary_series
    from metrics.reviews import build_board, current_series, final_checkpoints, load_settings, review_at

    settings = load_settings(conn)
    series = current_series(conn, settings)
    secondary = secondary_series(conn)
    breakdowns = {(m, by): breakdown(conn, m, by=by) for m, bys in BREAKDOWNS.items() for by in bys}
    data = PackData(settings=settings, series=series, secondary=secondary, breakdowns=breakdowns)
    if at is not None:
        def board(d: dt.date) -> ReviewBoard:
            return build_board(review_at(conn, d, settings=settings, series=series), series, settings)

        data.review = board(at)
        dates = sorted({c.date for c in settings.checkpoints if c.date <= at}
                       | {dt.date.fromisoformat(f["checkpoint"]) for f in final_checkpoints(conn)
                          if dt.date.fromisoformat(f["checkpoint"]) <= at})
        data.history = [data.review if d == at else board(d) for d in dates]
        if at not in dates:
            data.history.append(data.review)
    return data


# --- the review, row by row ------------------------------------------------------------------


@dataclass
class ReviewRow:
    """A model row as the pack and the review CSV print it (public: suppressed and withheld)."""

    metric: str
    tor: str
    label: str
    unit: str
    actual_month: str
    actual: float | None  # None when no data or withheld (public)
    actual_text: str
    target: float | None
    target_text: str
    rag: str | None  # green/amber/red/no_data; None = not rated or withheld
    rag_text: str
    travel_text: str
    forecast_text: str
    suppressed: bool = False  # public: the actual (and so its judgements) is not shown
    notes: list[str] = field(default_factory=list)
    restated: bool = False
    # the v2 judgement (shared/spec/judgement.md), as printed; withheld with the actual in a public pack
    direction: str = "up"  # the KPI's better direction (the variation icon's high/low)
    variation: str | None = None  # metrics.spc.VARIATIONS; None = not rated or withheld
    variation_text: str = ""
    assurance: str | None = None
    assurance_text: str = ""
    interval_text: str = ""  # '41.2%–63.0%' ('' for none)
    forecast_short: str = ""  # 'on trend: Feb 2025' (the summary table; forecast_text is the sentence)
    basis_text: str = ""  # 'the month (Oct 2023)', '3 months pooled (Aug–Oct 2023)'
    cannot_tell: bool = False  # the target lies inside the interval
    judgement: dict = field(default_factory=dict)  # judgement_columns(): the CSV's columns


def shown(row: ModelRow, decisions: Decisions | None, what: str) -> bool:
    """May the judgement ``what`` (a key of :attr:`ReviewRow.depends_on`) be published? True unless a
    month it rests on is suppressed (restricted: ``decisions`` is None, always True)."""
    return decisions is None or all(decisions.value_shown(row.metric, m) for m in row.depends_on[what])


def actual_shown(row: ModelRow, decisions: Decisions | None) -> bool:
    """May a rated row's actual (and with it its RAG) be published? Normally the judged month's decision;
    for a final review restated since, the frozen figure came from data that are no longer current and
    its denominator is not kept, so a frozen percentage is withheld and a frozen count shown unless small."""
    if decisions is None or row.actual is None:
        return True
    if row.restated:
        return row.unit != "percent" and not is_small(row.actual)
    return shown(row, decisions, "actual")


def judgement_columns(r: ModelRow, shown_ok: bool = True) -> dict:
    """The v2 judgement of a model row as CSV columns (review CSV, review table): basis, months pooled,
    interval low/high, target within the interval, variation, assurance, change since the previous review,
    the forecast's status, month and interval, and where the method is explained. ``shown_ok`` False
    (public, withheld): every one is ``c``."""
    fc = r.forecast
    cols = {
        "basis": r.basis, "months_pooled": r.months_pooled,
        "interval_low": None if not r.interval else round(r.interval[0], 4),
        "interval_high": None if not r.interval else round(r.interval[1], 4),
        "target_within_interval": r.target_within_interval, "variation": r.variation, "assurance": r.assurance,
        "change_since_previous": None if _missing(r.change_since_previous) else round(r.change_since_previous, 4),
        "forecast_status": fc.status if fc else None, "forecast_month": getattr(fc, "month", None) if fc else None,
        "forecast_low": round(fc.interval[0], 4) if fc and getattr(fc, "interval", None) else None,
        "forecast_high": round(fc.interval[1], 4) if fc and getattr(fc, "interval", None) else None,
    }
    if not shown_ok:
        cols = {k: (v if k in ("basis", "months_pooled") else SUPPRESSED) for k, v in cols.items()}
    return cols | {"method": JUDGEMENT_DOC}


def _verdicts(r: ModelRow, ok: bool) -> dict:
    """The pack row's v2 fields (withheld when the actual is: a pooled value rests on every month pooled)."""
    if not ok or not r.rated:
        return dict(direction=r.direction, variation=None,
                    variation_text=WITHHELD if not ok else words.variation_text(None, "upper"),
                    assurance=None, assurance_text=WITHHELD if not ok else words.assurance_text(None, "upper"),
                    interval_text="" if not ok or not r.interval else
                    f"{r.kpi.format(r.interval[0])}–{r.kpi.format(r.interval[1])}",
                    basis_text=words.basis_text(r.basis, r.actual_month, r.months_pooled) if ok else "",
                    cannot_tell=False, judgement=judgement_columns(r, ok))
    k = r.kpi
    return dict(
        direction=r.direction, variation=r.variation,
        variation_text=words.variation_text(r.variation, "upper", direction=r.direction),
        assurance=r.assurance, assurance_text=words.assurance_text(r.assurance, "upper"),
        interval_text=f"{k.format(r.interval[0])}–{k.format(r.interval[1])}" if r.interval else "",
        basis_text=words.basis_text(r.basis, r.actual_month, r.months_pooled),
        cannot_tell=bool(r.target_within_interval), judgement=judgement_columns(r, True))


def review_row(r: ModelRow, decisions: Decisions | None = None) -> ReviewRow:
    """One model row, formatted (public when ``decisions`` are given)."""
    k = r.kpi
    if not r.rated:
        ok = shown(r, decisions, "actual")
        return ReviewRow(r.metric, r.tor, r.label, r.unit, r.actual_month, r.actual if ok else None,
                         k.format(r.actual) if ok else WITHHELD, None, "no target", None,
                         words.rag_text(None, "upper"), words.NO_TRAVEL, words.forecast_text(None),
                         suppressed=not ok, **_verdicts(r, ok), forecast_short=words.forecast_text(None))
    ok = actual_shown(r, decisions)
    notes = []
    if r.restated:
        now_ok = shown(r, decisions, "actual")
        now = k.format(r.current_actual) if now_ok else WITHHELD
        rag_now = (words.rag_text(r.current_rag, "upper") if r.current_rag else "") if now_ok else WITHHELD
        notes.append(f"* {r.label}: restated after the review was made final — from re-uploaded data the "
                     f"{short_month(r.actual_month)} figure is now {now} ({rag_now}). The final record stands.")
    if r.actual is None and r.latest_available_month:
        latest = k.format(r.latest_available_value) if shown(r, decisions, "latest_available") else WITHHELD
        notes.append(f"{r.label}: no data for {short_month(r.actual_month)}; latest is "
                     f"{short_month(r.latest_available_month)}: {latest}.")
    return ReviewRow(
        r.metric, r.tor, r.label, r.unit, r.actual_month, r.actual if ok else None,
        (k.format(r.actual) if ok else WITHHELD) + ("*" if r.restated else ""),
        r.target, k.format_target(r.target), r.rag if ok else None,
        words.rag_text(r.rag, "upper") if ok else WITHHELD,
        words.travel_text(r.direction_of_travel) if ok and shown(r, decisions, "direction_of_travel") else WITHHELD,
        words.forecast_text(r.forecast, fmt=k.format) if ok and shown(r, decisions, "forecast") else WITHHELD,
        suppressed=not ok, notes=notes, restated=r.restated, **_verdicts(r, ok),
        forecast_short=words.forecast_text(r.forecast, "short") if ok and shown(r, decisions, "forecast") else WITHHELD)


def review_rows(data: PackData, *, public: bool = False) -> list[ReviewRow]:
    """One row per KPI in registry order (KPIs without a target: actual only, "not rated")."""
    if data.review is None:
        raise ValueError("review_rows needs PackData loaded with a review date")
    dec = data.decisions if public else None
    return [review_row(r, dec) for r in data.review.rows]


def overall_line(rows: list[ReviewRow]) -> str:
    """'7 of 10 priorities green, 1 amber, 2 red, 0 no data' (+ how many were not shown, public)."""
    rated = [r for r in rows if r.rag is not None or r.suppressed]
    counts = {k: sum(r.rag == k for r in rated) for k in words.RAGS}
    hidden = sum(r.suppressed for r in rated)
    line = (f"{counts['green']} of {len(rated)} priorities green, {counts['amber']} amber, {counts['red']} red, "
            f"{counts['no_data']} no data")
    if hidden:
        line += f"; {hidden} not shown (small numbers, '{SUPPRESSED}')"
    return line


def review_table(conn: sqlite3.Connection | None, at: dt.date | str, *, public: bool = False,
                 data: PackData | None = None) -> pd.DataFrame:
    """The checkpoint summary as a table: one row per KPI. Public: suppressed actuals and withheld
    judgements are ``"c"``."""
    from metrics.reviews import as_date

    at = as_date(at)
    if data is None or data.review is None or data.review.checkpoint != at:
        data = load(conn, at)
    rows = review_rows(data, public=public)
    return pd.DataFrame({
        "checkpoint": at.isoformat(),
        "tor": [r.tor for r in rows],
        "metric": [r.metric for r in rows],
        "label": [r.label for r in rows],
        "unit": [r.unit for r in rows],
        "actual_month": [r.actual_month for r in rows],
        "actual": [SUPPRESSED if r.suppressed else (None if r.actual is None else round(r.actual, 4))
                   for r in rows],
        "target": [None if r.target is None else round(r.target, 4) for r in rows],
        "rag": [r.rag if r.rag else (SUPPRESSED if r.suppressed else None) for r in rows],
        "direction_of_travel": [r.travel_text for r in rows],
        "forecast": [r.forecast_text for r in rows],
        "restated": [r.restated for r in rows],
    }).join(pd.DataFrame([r.judgement for r in rows]))


def month_intervals(s: pd.DataFrame) -> tuple[list, list]:
    """The 95% Wilson interval (low, high columns, 0–100, 4 dp) of each percentage row of a series frame
    (``metrics.intervals.wilson``); None for counts, FTE and rows without a denominator."""
    from metrics.intervals import wilson

    lows, highs = [], []
    for m, n, d in zip(s["metric"], s["numerator"], s["denominator"]):
        ci = None
        if REGISTRY[m].unit == "percent" and not isinstance(n, str) and not isinstance(d, str) \
                and not _missing(n) and not _missing(d) and float(d) > 0:
            ci = wilson(float(n), float(d))
        lows.append(None if ci is None else round(ci[0], 4))
        highs.append(None if ci is None else round(ci[1], 4))
    return lows, highs


def series_table(conn: sqlite3.Connection | None, *, public: bool = False,
                 data: PackData | None = None) -> pd.DataFrame:
    """Every KPI for every month: metric, label, unit, month, value, its 95% interval (percentages:
    interval_low, interval_high), numerator, denominator, source, flags (codes joined by '; ') and where the
    method is explained. Public: suppressed cells are ``"c"`` (see :mod:`reports.disclosure`), and so is the
    interval of a month with any part suppressed (its centre gives the value away, its width the denominator)."""
    data = data or load(conn)
    s = data.series
    lows, highs = month_intervals(s)
    if public:
        s = suppress_series(s, data.decisions)
        # an interval's width gives the denominator away: hidden when any of value, numerator, denominator is
        hide = [SUPPRESSED in (v, n, d) for v, n, d in zip(s["value"], s["numerator"], s["denominator"])]
        lows = [SUPPRESSED if h and lo is not None else lo for h, lo in zip(hide, lows)]
        highs = [SUPPRESSED if h and hi is not None else hi for h, hi in zip(hide, highs)]
        s = s.drop(columns=["suppressed"])
    out = pd.DataFrame({
        "metric": s["metric"],
        "label": s["metric"].map(lambda m: REGISTRY[m].label),
        "unit": s["metric"].map(lambda m: REGISTRY[m].unit),
        "month": s["month"],
        "value": s["value"].map(lambda v: v if isinstance(v, str) or _missing(v) else round(float(v), 4)),
        "interval_low": lows,
        "interval_high": highs,
        "numerator": s["numerator"],
        "denominator": s["denominator"],
        "source": s["source"],
        "flags": s["flags"].map(lambda f: "; ".join(f) if isinstance(f, (tuple, list)) else ""),
        "method": JUDGEMENT_DOC,
    })
    return out.reset_index(drop=True)


def to_csv(frame: pd.DataFrame, path: str | Path | None = None) -> bytes:
    """Formula-safe CSV bytes (UTF-8 with BOM); also written to ``path`` if given."""
    from metrics.export import safe_csv

    data = safe_csv(frame)
    if path is not None:
        Path(path).write_bytes(data)
    return data
