"""The review model: one checkpoint, one :class:`ReviewRow` per KPI with everything any surface shows.

The overview, reviews, present and KPI pages, the board pack (PDF and PowerPoint), the CSV exports and
``kpi review`` are formattings of a :class:`ReviewBoard`; none re-derives a field. Pure Python and
pandas. Built from the judgement of :mod:`metrics.reviews.evaluate` (frozen when the checkpoint is
final), the series it judged and the settings in force::

    board = review_board(conn, "2024-06-01")          # or build_board(result, series, settings)
    board.headline                                     # '7 of 10 priorities green, 1 amber, 2 red, 0 no data'
    board.row("agency_rate").rag                       # 'green'

One verdict per checkpoint (shared/spec/judgement.md, v2 of the review rules): every field is the
judgement of the **judged month** — the latest month whose last day is on or before the checkpoint minus
the reporting lag (:attr:`ReviewBoard.reporting_lag_days`) — as ``kpi review``, the Reviews page, the
overview and the packs show it. ``provisional`` means only: not yet marked final. The ``shown_*`` fields
are kept (for the pages that still read them) and equal the judgement (value, month, RAG, travel of the
judged month).

Each row carries the judgement of judgement.md: ``actual`` is the judged value on ``basis`` (``month``
or ``rolling_3_months``: ``months_pooled`` months pooled), with its 95% Wilson ``interval`` and
``target_within_interval``; ``variation`` and ``assurance`` from statistical process control (``spc``:
the :class:`metrics.spc.Spc` chart at the judged month, never stored with a final);
``direction_of_travel`` from the variation; ``change_since_previous`` as information; ``forecast``
(:class:`metrics.projection.Forecast`).

Public suppression is not applied here (``reports.disclosure`` decides it); :attr:`ReviewRow.depends_on`
says which months each judgement rests on (a pooled value: every month pooled), so the public layer can
withhold it without re-deriving.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from dataclasses import dataclass
from typing import Any

import pandas as pd

from metrics.intervals import judged_value
from metrics.kpis import KPI, REGISTRY
from metrics.projection import Forecast
from metrics.reviews.evaluate import RAGS, CheckpointResult, Rag, Travel, _value_lookup, spc_points
from metrics.reviews.settings import ReviewSettings, as_date
from metrics.spc import Spc, spc

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
    actual_month: str  # the judged month (checkpoint − reporting lag; judgement.md section 1)
    actual: float | None  # the judged value on ``basis``
    target: float | None
    tolerance: float | None
    rag: Rag | None
    direction_of_travel: Travel | None
    shortfall: float | None
    previous_month: str | None  # the judged month of the previous checkpoint (change_since_previous)
    previous_actual: float | None
    latest_available_month: str | None  # latest month ≤ actual_month with a value (when actual is None)
    latest_available_value: float | None
    final_target: float | None  # the trajectory's last point (frozen with the judgement)
    final_date: str | None  # ISO date of that point, from the settings in force
    forecast: Forecast | None  # v2 (metrics.projection; a v1 final's forecast reads as v2)
    forecast_months: tuple[str, ...]  # the months the forecast's trend is fitted on
    restated: bool  # final, and today's data give a different actual for the judged month
    current_actual: float | None  # final only: today's actual for the judged month
    current_rag: Rag | None
    # judgement.md v2 (None / 0 / "month" for a KPI that is not rated, or a v1 final's missing fields)
    basis: str  # "month" | "rolling_3_months"
    months_pooled: int  # how many months the judged value pools (0: no value)
    pooled_months: tuple[str, ...]  # those months, oldest first
    interval: tuple[float, float] | None  # 95% Wilson interval of the judged value (percentages)
    target_within_interval: bool | None  # the target lies inside the interval
    variation: str | None  # metrics.spc.VARIATIONS
    assurance: str | None  # metrics.spc.ASSURANCES
    change_since_previous: float | None  # judged value − the previous checkpoint's (information only)
    spc: Spc | None  # the SPC chart up to the judged month (today's data; not stored with a final)
    # the same judgement under the names the pages still read (the one verdict; see the module docstring)
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
        when any of its months is suppressed: ``actual``/``rag`` (the judged month and every month
        pooled with it), ``direction_of_travel`` (and the previous checkpoint's month), ``forecast`` (and
        the months its trend is fitted on), ``latest_available`` and ``shown`` (the overview's value and
        the month before it)."""
        judged = tuple(dict.fromkeys((*self.pooled_months, self.actual_month)))
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
    month: str  # the judged month (checkpoint − reporting lag)
    previous_checkpoint: dt.date | None  # change_since_previous is measured against it
    final: bool
    finalised_at: str | None
    finalised_by: str | None
    settings_version_id: int | None
    data_as_of: str | None  # final: the data's as-of time when frozen
    latest_month: str | None  # the latest month with any KPI value in the store
    provisional: bool  # not yet marked final (judgement.md section 1)
    rows: tuple[ReviewRow, ...]
    reporting_lag_days: int | None = None  # the lag the judged month was found with (None: a v1 final)

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
        """The same over what the overview shows (the same verdict; kept for the pages that read it)."""
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


def _trend(values: pd.Series | list) -> tuple[float, ...] | None:
    out = tuple(round(float(v), 2) for v in list(values)[-TREND_MONTHS:] if v == v and v is not None)
    return out or None


def _num(x: Any) -> float | None:
    return None if _missing(x) else float(x)


def build_board(result: CheckpointResult, series: pd.DataFrame, settings: ReviewSettings) -> ReviewBoard:
    """The model of ``result`` (``metrics.reviews.review_at``) over the ``series`` it judged (for the
    latest values, flags, trend and the SPC chart) and the ``settings`` in force."""
    month = result.month
    latest = _latest_data_month(series)
    rated = {m.metric: m for m in result.metrics}
    # each KPI's (month, value, flags) in the series' order: plain lists, as pandas filters per KPI and board
    # cost a board pack's eight boards most of their time
    by_metric: dict[str, list[tuple[str, Any, Any]]] = {}
    if len(series):
        flags = series["flags"] if "flags" in series.columns else [()] * len(series)
        for metric, m, v, f in zip(series["metric"], series["month"], series["value"], flags):
            by_metric.setdefault(metric, []).append((m, v, f))
    lookup = _value_lookup(series)
    rows = []
    for kpi in REGISTRY.values():
        s = [r for r in by_metric.get(kpi.id, ()) if r[0] <= month]
        with_value = [r for r in s if pd.notna(r[1])]
        kpi_latest = str(with_value[-1][0]) if with_value else None
        t = settings.targets.get(kpi.id)
        m = rated.get(kpi.id)
        values = lookup.get(kpi.id, {})
        chart = spc(spc_points(values, month), direction=kpi.direction, settings=settings.spc_settings(kpi.id),
                    target=m.target if m else None, judged_month=month, metric=kpi.id)
        if m is not None:
            actual = m.actual
            judged = dict(basis=m.basis, months_pooled=m.months_pooled, pooled_months=tuple(m.pooled_months),
                          interval=m.interval, target_within_interval=m.target_within_interval,
                          variation=m.variation, assurance=m.assurance,
                          change_since_previous=m.change_since_previous)
        else:
            jv = judged_value(values, month, "month", percent=kpi.is_percent)
            actual = jv.value
            judged = dict(basis="month", months_pooled=jv.months_pooled, pooled_months=jv.months,
                          interval=jv.interval, target_within_interval=None, variation=None, assurance=None,
                          change_since_previous=None)
        this = [r for r in s if r[0] == month]
        before = [r for r in with_value if r[0] < month]
        fc = m.forecast if m else None
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
            forecast=fc, forecast_months=tuple(fc.fitted_months) if fc else (),
            restated=bool(m.restated) if m else False, current_actual=m.current_actual if m else None,
            current_rag=m.current_rag if m else None,
            **judged, spc=chart,
            shown_value=_num(actual), shown_month=month, shown_rag=m.rag if m else None,
            shown_travel=m.direction_of_travel if m else None,
            prev_value=float(before[-1][1]) if before else None,
            prev_month=str(before[-1][0]) if before else None,
            flags=tuple(this[0][2]) if this else (),
            trend=_trend([r[1] for r in s]), latest_month=kpi_latest,
        ))
    cp = settings.checkpoint_on(result.checkpoint)
    return ReviewBoard(
        checkpoint=result.checkpoint, label=result.label,
        title=(cp.label if cp else None) or result.label or result.checkpoint.isoformat(),
        six_month=result.six_month, month=month, previous_checkpoint=result.previous_checkpoint,
        final=result.final, finalised_at=result.finalised_at, finalised_by=result.finalised_by,
        settings_version_id=result.settings_version_id, data_as_of=result.data_as_of,
        latest_month=latest, provisional=not result.final, rows=tuple(rows),
        reporting_lag_days=result.reporting_lag_days,
    )


def review_board(conn: sqlite3.Connection, at: dt.date | str, *, settings: ReviewSettings | None = None,
                 series: pd.DataFrame | None = None) -> ReviewBoard:
    """The model of the review at ``at`` (any date; frozen and restated if final)."""
    from metrics.reviews.store import current_series, load_settings, review_at

    settings = settings or load_settings(conn)
    if series is None:
        series = current_series(conn, settings)
    return build_board(review_at(conn, as_date(at), settings=settings, series=series), series, settings)
