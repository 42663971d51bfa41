"""The review model: one checkpoint, one :class:`ReviewRow` per KPI with everything any surface shows.

The overview, reviews, present and KPI pages, the board pack (PDF and PowerPoint), the CSV exports and
``kpi review`` are formattings of a :class:`ReviewBoard`; none re-derives a field. Pure Python and
pandas. Built from the judgement of :mod:`metrics.reviews.evaluate` (frozen when the checkpoint is
final), the series it judged and the settings in force::

    board = review_board(conn, "2024-06-01")          # or build_board(result, series, settings)
    board.headline                                     # '7 of 10 priorities green, 1 amber, 2 red, 0 no data'
    board.row("agency_rate").rag                       # 'green'

Two views of the same checkpoint live side by side (issue 11 unifies them):

* **the judgement** (``actual``, ``rag``, ``direction_of_travel``, ``forecast`` …): what the review
  rates — the last complete month, exactly as ``kpi review``, the Reviews page and the packs show it;
* **what the overview shows** (``shown_*``): the same, except that while the board is *provisional*
  (not final, and its judged month has no data anywhere yet) each KPI's latest value up to then is
  shown and rated against this checkpoint's target.

Public suppression is not applied here (``reports.disclosure`` decides it); :attr:`ReviewRow.depends_on`
says which months each judgement rests on, so the public layer can withhold it without re-deriving.

Room for the judgement rules of shared/spec/judgement.md (issue 11): each is a field of the judgement
section of :class:`ReviewRow` (``basis``, ``months_pooled``, ``interval``, ``target_within_interval``,
``variation``, ``assurance``, ``change_since_previous``, the forecast's interval) or of the board
(``reporting_lag_days``; :attr:`ReviewBoard.judged_month` is already the one judged month); pooled values
extend ``depends_on["actual"]`` to the months pooled, and the ``shown_*`` view then disappears ("one
verdict per checkpoint on every surface"). ``kpi review --json`` prints the new fields from the rows.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from dataclasses import dataclass
from typing import Any

import pandas as pd

from metrics.forecast import Forecast, fitted_months
from metrics.kpis import KPI, REGISTRY
from metrics.reviews.evaluate import RAGS, CheckpointResult, Rag, Travel, direction_of_travel, rag
from metrics.reviews.settings import ReviewSettings, as_date

#: Months in a row's ``trend`` (the overview's sparkline).
TREND_MONTHS = 24


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


@dataclass(frozen=True)
class ReviewRow:
    """One KPI at one checkpoint. Values are in the KPI's unit, unrounded; ``None`` = no value."""

    # the KPI (its declaration: :attr:`kpi`)
    metric: str
    tor: str
    label: str
    unit: str
    direction: str
    # the judgement (frozen when the checkpoint is final). ``rated`` is False for a KPI without a
    # target in the settings: it is shown (its actual) but not judged, and every judgement is None.
    rated: bool
    actual_month: str  # the judged month: the last complete month before the checkpoint
    actual: float | None
    target: float | None
    tolerance: float | None
    rag: Rag | None
    direction_of_travel: Travel | None
    shortfall: float | None
    previous_month: str | None  # the judged month of the previous checkpoint (travel compares with it)
    previous_actual: float | None
    latest_available_month: str | None  # latest month ≤ actual_month with a value (when actual is None)
    latest_available_value: float | None
    final_target: float | None  # the trajectory's last point (frozen with the judgement)
    final_date: str | None  # ISO date of that point, from the settings in force
    forecast: Forecast | None
    forecast_months: tuple[str, ...]  # the months the forecast's trend is fitted on (today's data)
    restated: bool  # final, and today's data give a different actual for the judged month
    current_actual: float | None  # final only: today's actual for the judged month
    current_rag: Rag | None
    # what the overview, present and KPI pages show (see the module docstring)
    shown_value: float | None
    shown_month: str  # the month shown_value is for
    shown_rag: Rag | None
    shown_travel: Travel | None
    prev_value: float | None  # the latest value before shown_month (the KPI page's delta)
    prev_month: str | None
    flags: tuple[str, ...]  # data-quality flags of shown_month (metrics.compute.FLAGS)
    trend: tuple[float, ...] | None  # up to TREND_MONTHS values to shown_month, oldest first, 2 dp
    latest_month: str | None  # the KPI's latest month with a value, up to actual_month

    @property
    def kpi(self) -> KPI:
        return REGISTRY[self.metric]

    @property
    def outlook(self) -> str | None:
        """The forecast in a sentence ('on trend to meet by May 2025'); None without a forecast."""
        return self.forecast.text if self.forecast else None

    @property
    def outlook_status(self) -> str | None:
        return self.forecast.status if self.forecast else None

    @property
    def depends_on(self) -> dict[str, tuple[str, ...]]:
        """Which months each judgement rests on — for the public layer, which withholds a judgement
        when any of its months is suppressed: ``actual``/``rag`` (the judged month), ``direction_of_travel``
        (and the previous checkpoint's month), ``forecast`` (and the months its trend is fitted on),
        ``latest_available`` and ``shown`` (the overview's value and the month before it)."""
        judged = (self.actual_month,)
        return {
            "actual": judged,
            "rag": judged,
            "direction_of_travel": judged + ((self.previous_month,) if self.previous_month else ()),
            "forecast": tuple(dict.fromkeys(judged + self.forecast_months)),
            "latest_available": (self.latest_available_month,) if self.latest_available_month else (),
            "shown": (self.shown_month,) + ((self.prev_month,) if self.prev_month else ()),
        }


@dataclass(frozen=True)
class ReviewBoard:
    """Every KPI at one checkpoint (registry order), with the checkpoint's context."""

    checkpoint: dt.date
    label: str | None  # the checkpoint's label as evaluated (frozen when final); None off-schedule
    title: str  # the configured label for the date now, else ``label``, else the ISO date
    six_month: bool
    month: str  # the judged month (last complete month before the checkpoint)
    previous_checkpoint: dt.date | None  # direction of travel is judged against it
    final: bool
    finalised_at: str | None
    finalised_by: str | None
    settings_version_id: int | None
    data_as_of: str | None  # final: the data's as-of time when frozen
    latest_month: str | None  # the latest month with any KPI value in the store
    provisional: bool  # not final, and the judged month has no data yet
    rows: tuple[ReviewRow, ...]

    @property
    def at(self) -> str:
        return self.checkpoint.isoformat()

    @property
    def judged_month(self) -> str:
        return self.month

    @property
    def rated(self) -> tuple[ReviewRow, ...]:
        """The rows of the KPIs with a target (the ones the review judges)."""
        return tuple(r for r in self.rows if r.rated)

    @property
    def summary(self) -> dict[str, int]:
        """How many rated KPIs are green, amber, red, no data (the review's verdict)."""
        counts = dict.fromkeys(RAGS, 0)
        for r in self.rated:
            counts[r.rag] += 1
        return counts

    @property
    def shown_summary(self) -> dict[str, int]:
        """The same over what the overview shows (provisional ratings while the board is provisional)."""
        counts = dict.fromkeys(RAGS, 0)
        for r in self.rows:
            if r.shown_rag in counts:
                counts[r.shown_rag] += 1
        return counts

    @property
    def headline(self) -> str:
        s = self.summary
        return (f"{s['green']} of {len(self.rated)} priorities green, {s['amber']} amber, {s['red']} red, "
                f"{s['no_data']} no data")

    @property
    def restated(self) -> bool:
        return any(r.restated for r in self.rows)

    def row(self, metric: str) -> ReviewRow:
        for r in self.rows:
            if r.metric == metric:
                return r
        raise KeyError(f"{metric} is not a KPI at {self.checkpoint} (known: {', '.join(r.metric for r in self.rows)})")


def _latest_data_month(series: pd.DataFrame) -> str | None:
    months = series.loc[series["value"].notna(), "month"] if len(series) else []
    return str(months.max()) if len(months) else None


def _trend(values: pd.Series) -> tuple[float, ...] | None:
    out = tuple(round(float(v), 2) for v in values.tail(TREND_MONTHS) if v == v and v is not None)
    return out or None


def _num(x: Any) -> float | None:
    return None if _missing(x) else float(x)


def build_board(result: CheckpointResult, series: pd.DataFrame, settings: ReviewSettings) -> ReviewBoard:
    """The model of ``result`` (``metrics.reviews.review_at``) over the ``series`` it judged (for the
    overview's latest values, flags, trend and the forecast's months) and the ``settings`` in force."""
    month = result.month
    latest = _latest_data_month(series)
    provisional = not result.final and (latest is None or month > latest)
    rated = {m.metric: m for m in result.metrics}
    by_metric = dict(tuple(series.groupby("metric", sort=False))) if len(series) else {}
    empty = series.iloc[0:0]
    rows = []
    for kpi in REGISTRY.values():
        s = by_metric.get(kpi.id, empty)
        s = s[s["month"] <= month]
        with_value = s[s["value"].notna()]
        kpi_latest = str(with_value["month"].iloc[-1]) if len(with_value) else None
        last_value = float(with_value["value"].iloc[-1]) if len(with_value) else None
        t = settings.targets.get(kpi.id)
        m = rated.get(kpi.id)
        if m is not None:
            actual = m.actual
            shown = (m.actual, month, m.rag, m.direction_of_travel)
            if provisional and _missing(m.actual) and not _missing(m.latest_available_value):
                lav = m.latest_available_value
                shown = (lav, m.latest_available_month, rag(kpi.id, lav, m.target, m.tolerance),
                         direction_of_travel(kpi.id, lav, m.previous_actual))
        else:
            actual = last_value if kpi_latest == month else None
            shown = ((last_value, kpi_latest, None, None) if provisional and kpi_latest
                     else (actual, month, None, None))
        shown_month = shown[1]
        upto = s[s["month"] <= shown_month]
        this = upto[upto["month"] == shown_month]
        before = upto[(upto["month"] < shown_month) & upto["value"].notna()]
        rows.append(ReviewRow(
            metric=kpi.id, tor=kpi.tor, label=kpi.label, unit=kpi.unit, direction=kpi.direction,
            rated=m is not None, actual_month=m.actual_month if m else month, actual=actual,
            target=m.target if m else None, tolerance=m.tolerance if m else None, rag=m.rag if m else None,
            direction_of_travel=m.direction_of_travel if m else None, shortfall=m.shortfall if m else None,
            previous_month=m.previous_month if m else None, previous_actual=m.previous_actual if m else None,
            latest_available_month=m.latest_available_month if m else None,
            latest_available_value=m.latest_available_value if m else None,
            final_target=m.final_target if m else None,
            final_date=(t.final_date or t.points()[-1][0]).isoformat() if t else None,
            forecast=m.forecast if m else None,
            forecast_months=fitted_months(s, kpi.id, month) if m else (),
            restated=bool(m.restated) if m else False, current_actual=m.current_actual if m else None,
            current_rag=m.current_rag if m else None,
            shown_value=_num(shown[0]), shown_month=shown_month, shown_rag=shown[2], shown_travel=shown[3],
            prev_value=float(before["value"].iloc[-1]) if len(before) else None,
            prev_month=str(before["month"].iloc[-1]) if len(before) else None,
            flags=tuple(this["flags"].iloc[0]) if len(this) else (),
            trend=_trend(upto["value"]), latest_month=kpi_latest,
        ))
    cp = settings.checkpoint_on(result.checkpoint)
    return ReviewBoard(
        checkpoint=result.checkpoint, label=result.label,
        title=(cp.label if cp else None) or result.label or result.checkpoint.isoformat(),
        six_month=result.six_month, month=month, previous_checkpoint=result.previous_checkpoint,
        final=result.final, finalised_at=result.finalised_at, finalised_by=result.finalised_by,
        settings_version_id=result.settings_version_id, data_as_of=result.data_as_of,
        latest_month=latest, provisional=provisional, rows=tuple(rows),
    )


def review_board(conn: sqlite3.Connection, at: dt.date | str, *, settings: ReviewSettings | None = None,
                 series: pd.DataFrame | None = None) -> ReviewBoard:
    """The model of the review at ``at`` (any date; frozen and restated if final)."""
    from metrics.reviews.store import current_series, load_settings, review_at

    settings = settings or load_settings(conn)
    if series is None:
        series = current_series(conn, settings)
    return build_board(review_at(conn, as_date(at), settings=settings, series=series), series, settings)
