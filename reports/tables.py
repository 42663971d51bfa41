"""The numbers behind the board pack, as tables: one load of the store, the review table, the series
table, their public (suppressed) variants and formula-safe CSV.

* :func:`load` — everything a pack or an export needs, read once (:class:`PackData`).
* :func:`review_rows` — the checkpoint summary, one :class:`ReviewRow` per KPI, with the public rules
  of :mod:`reports.disclosure` applied when asked (the pack and the CSV share it, so they agree).
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

from metrics.kpis import REGISTRY, KPI
from reports.disclosure import SUPPRESSED, Decisions, decide, is_small, suppress_series

#: Breakdowns the disclosure decisions take into account (every one compute.breakdown offers).
_BREAKDOWN_KINDS = ("team", "format", "conference_type", "grade")

RAG_TEXT = {"green": "GREEN", "amber": "AMBER", "red": "RED", "no_data": "NO DATA", None: "not rated"}
TRAVEL_TEXT = {"improving": "improving", "no_change": "no change", "worsening": "worsening", None: "–"}
WITHHELD = SUPPRESSED  # what a withheld judgement shows in the public pack


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def month_label(month: str | None) -> str:
    """'2024-05' → 'May 2024'."""
    if not month:
        return ""
    import calendar

    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


def short_month(month: str | None) -> str:
    """'2024-05' → 'May 2024' with a short month name: 'Sep 2024'."""
    if not month:
        return ""
    import calendar

    return f"{calendar.month_abbr[int(month[5:7])]} {month[:4]}"


@dataclass
class PackData:
    """Everything read from the store for one review (or for an export)."""

    settings: object  # metrics.review.ReviewSettings
    series: pd.DataFrame
    secondary: pd.DataFrame
    breakdowns: dict[tuple[str, str], pd.DataFrame]
    review: object | None = None  # metrics.review.CheckpointResult at the review date
    history: list = field(default_factory=list)  # CheckpointResults of checkpoints up to the review
    _decisions: Decisions | None = None

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
        if not month:
            return None
        s = self.series[(self.series["metric"] == metric) & (self.series["month"] == month)]
        return None if s.empty else s.iloc[0]


def load(conn: sqlite3.Connection, at: dt.date | None = None) -> PackData:
    """Read the series, secondary measures and every breakdown; with ``at``, also the review at that
    date and the reviews of the configured (and final) checkpoints up to it."""
    from metrics.compute import BREAKDOWNS, breakdown, secondary_series
    from metrics.review import current_series, final_checkpoints, load_settings, review_at

    settings = load_settings(conn)
    series = current_series(conn, settings)
    secondary = secondary_series(conn)
    breakdowns = {(m, by): breakdown(conn, m, by=by) for m, bys in BREAKDOWNS.items() for by in bys
                  if by in _BREAKDOWN_KINDS}
    data = PackData(settings=settings, series=series, secondary=secondary, breakdowns=breakdowns)
    if at is not None:
        data.review = review_at(conn, at, settings=settings, series=series)
        dates = sorted({c.date for c in settings.checkpoints if c.date <= at}
                       | {dt.date.fromisoformat(f["checkpoint"]) for f in final_checkpoints(conn)
                          if dt.date.fromisoformat(f["checkpoint"]) <= at})
        data.history = [data.review if d == at else review_at(conn, d, settings=settings, series=series)
                        for d in dates]
        if at not in dates:
            data.history.append(data.review)
    return data


# --- the review, row by row ------------------------------------------------------------------


@dataclass
class ReviewRow:
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


def _fmt(kpi: KPI, value: float | None, shown: bool = True) -> str:
    if not shown:
        return SUPPRESSED
    return kpi.format(value)


def _forecast_months(data: PackData, metric: str, up_to: str) -> list[str]:
    """The months :func:`metrics.forecast.forecast` fits its trend on (the last WINDOW with a value)."""
    from metrics.forecast import WINDOW

    s = data.kpi_series(metric, up_to)
    return sorted(s.loc[s["value"].notna(), "month"].astype(str))[-WINDOW:]


def actual_shown(dec: Decisions, kpi: KPI, m) -> bool:
    """May a review's actual (a MetricResult) be published? Normally the month's decision; for a final
    review restated since, the frozen figure came from data that are no longer current and its
    denominator is not kept, so a frozen percentage is withheld and a frozen count shown unless small."""
    if m.actual is None:
        return True
    if m.restated:
        return kpi.unit != "percent" and not is_small(m.actual)
    return dec.value_shown(kpi.id, m.actual_month)


def review_rows(data: PackData, *, public: bool = False) -> list[ReviewRow]:
    """One row per KPI in registry order (KPIs without a target: actual only, "not rated")."""
    from metrics.review import last_complete_month

    result = data.review
    if result is None:
        raise ValueError("review_rows needs PackData loaded with a review date")
    dec = data.decisions if public else None
    rows = []
    for kpi in REGISTRY.values():
        try:
            m = result.metric(kpi.id)
        except KeyError:
            m = None
        month = m.actual_month if m else last_complete_month(result.checkpoint)
        notes: list[str] = []
        if m is None:
            cur = data.value(kpi.id, month)
            actual = None if cur is None or _missing(cur["value"]) else float(cur["value"])
            shown = dec is None or dec.value_shown(kpi.id, month)
            rows.append(ReviewRow(kpi.id, kpi.tor, kpi.label, kpi.unit, month, actual if shown else None,
                                  _fmt(kpi, actual, shown), None, "no target", None, "not rated", "–", "–",
                                  suppressed=not shown))
            continue
        shown = dec is None or actual_shown(dec, kpi, m)
        actual_text = _fmt(kpi, m.actual, shown)
        if m.restated:
            actual_text += "*"
            now_shown = dec is None or dec.value_shown(kpi.id, month)
            now = _fmt(kpi, m.current_actual, now_shown)
            rag_now = RAG_TEXT.get(m.current_rag, "") if now_shown else WITHHELD
            notes.append(f"* {kpi.label}: restated after the review was made final — from re-uploaded data "
                         f"the {short_month(month)} figure is now {now} ({rag_now}). The final record stands.")
        if m.actual is None and m.latest_available_month:
            lam = m.latest_available_month
            latest_shown = dec is None or dec.value_shown(kpi.id, lam)
            notes.append(f"{kpi.label}: no data for {short_month(month)}; latest is {short_month(lam)}: "
                         f"{_fmt(kpi, m.latest_available_value, latest_shown)}.")
        rag, rag_text = (m.rag, RAG_TEXT[m.rag]) if shown else (None, WITHHELD)
        travel_ok = shown and (dec is None or dec.value_shown(kpi.id, m.previous_month))
        travel_text = TRAVEL_TEXT[m.direction_of_travel] if travel_ok else WITHHELD
        forecast_ok = shown and (dec is None or all(dec.value_shown(kpi.id, x)
                                                    for x in _forecast_months(data, kpi.id, month)))
        forecast_text = (m.forecast.text if m.forecast else "–") if forecast_ok else WITHHELD
        rows.append(ReviewRow(
            kpi.id, kpi.tor, kpi.label, kpi.unit, month, m.actual if shown else None, actual_text,
            m.target, kpi.format(m.target), rag, rag_text, travel_text, forecast_text,
            suppressed=not shown, notes=notes, restated=m.restated))
    return rows


def overall_line(rows: list[ReviewRow]) -> str:
    """'7 of 10 priorities green, 1 amber, 2 red, 0 no data' (+ how many were not shown, public)."""
    rated = [r for r in rows if r.rag is not None or r.suppressed]
    counts = {k: sum(r.rag == k for r in rated) for k in ("green", "amber", "red", "no_data")}
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
    from metrics.review import as_date

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
    })


def series_table(conn: sqlite3.Connection | None, *, public: bool = False,
                 data: PackData | None = None) -> pd.DataFrame:
    """Every KPI for every month: metric, label, unit, month, value, numerator, denominator, source,
    flags (codes joined by '; '). Public: suppressed cells are ``"c"`` (see :mod:`reports.disclosure`)."""
    data = data or load(conn)
    s = data.series
    if public:
        s = suppress_series(s, data.decisions).drop(columns=["suppressed"])
    out = pd.DataFrame({
        "metric": s["metric"],
        "label": s["metric"].map(lambda m: REGISTRY[m].label),
        "unit": s["metric"].map(lambda m: REGISTRY[m].unit),
        "month": s["month"],
        "value": s["value"].map(lambda v: v if isinstance(v, str) or _missing(v) else round(float(v), 4)),
        "numerator": s["numerator"],
        "denominator": s["denominator"],
        "source": s["source"],
        "flags": s["flags"].map(lambda f: "; ".join(f) if isinstance(f, (tuple, list)) else ""),
    })
    return out.reset_index(drop=True)


def to_csv(frame: pd.DataFrame, path: str | Path | None = None) -> bytes:
    """Formula-safe CSV bytes (UTF-8 with BOM); also written to ``path`` if given."""
    from metrics.export import safe_csv

    data = safe_csv(frame)
    if path is not None:
        Path(path).write_bytes(data)
    return data
