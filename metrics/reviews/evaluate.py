"""Judging the KPIs at a checkpoint (pure; shared/spec/judgement.md, v2 of the review rules): the judged
month (reporting lag), the judged value (one month or three pooled) with its Wilson interval, RAG,
statistical process control (variation, assurance, and direction of travel from them), the change since
the previous checkpoint, the forecast, and the frozen result's shape (:class:`CheckpointResult`, stored
as JSON when a checkpoint is marked final; v1 finals still load). See :mod:`metrics.reviews` for the
reading of the spec.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

import pandas as pd

from metrics.intervals import judged_value, target_within_interval
from metrics.kpis import get as get_kpi
from metrics.months import month_end, month_of
from metrics.projection import Forecast, forecast
from metrics.reviews.settings import ReviewSettings, as_date
from metrics.spc import VARIATION_TRAVEL, Spc, spc

EPS = 1e-9
TARGET_DECIMALS = 4
RAGS = ("green", "amber", "red", "no_data")
Rag = Literal["green", "amber", "red", "no_data"]
#: v2 values (judgement.md section 4); ``no_change`` only in v1 finals.
Travel = Literal["improving", "worsening", "no_significant_change", "not_enough_data", "no_change"]


def last_complete_month(at: dt.date) -> str:
    """The latest month whose last day is before ``at``: always the month before ``at``'s month."""
    return month_of(at.replace(day=1) - dt.timedelta(days=1))


def judged_month(at: dt.date | str, lag_days: int) -> str:
    """The latest calendar month whose last day is on or before ``at`` − ``lag_days`` (judgement.md
    section 1): 1 Dec 2023, lag 14 → 2023-10; 15 Dec 2023, lag 14 → 2023-11; 31 Dec 2023, lag 0 → 2023-12."""
    cutoff = as_date(at) - dt.timedelta(days=int(lag_days))
    if cutoff == month_end(month_of(cutoff)):
        return month_of(cutoff)
    return month_of(cutoff.replace(day=1) - dt.timedelta(days=1))


# --- rating (pure) ---------------------------------------------------------------------------


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def rag(metric: str, actual: float | None, target: float | None, tolerance: float) -> Rag:
    if _missing(actual) or _missing(target):
        return "no_data"
    gap = get_kpi(metric).shortfall(float(actual), float(target))
    if gap <= EPS:
        return "green"
    if gap <= tolerance + EPS:
        return "amber"
    return "red"


def direction_of_travel(variation: str | None) -> Travel | None:
    """Direction of travel from the SPC variation verdict (judgement.md section 4):
    improvement → improving, concern → worsening, common_cause → no_significant_change,
    not_enough_data → not_enough_data. None: not rated."""
    return None if variation is None else VARIATION_TRAVEL[variation]


def change_since(current: float | None, previous: float | None) -> float | None:
    """The raw change since the previous checkpoint's judged value (information, never the verdict)."""
    if _missing(current) or _missing(previous):
        return None
    return float(current) - float(previous)


@dataclass(frozen=True)
class MetricResult:
    metric: str
    label: str
    unit: str
    direction: str
    actual: float | None  # the judged value (pooled when basis is rolling_3_months)
    actual_month: str  # the judged month (also when actual is None)
    target: float | None  # the trajectory at the judged month's last day
    tolerance: float
    rag: Rag
    direction_of_travel: Travel | None
    shortfall: float | None = None
    previous_actual: float | None = None  # the previous checkpoint's judged value (same basis)
    previous_month: str | None = None  # the previous checkpoint's judged month
    latest_available_month: str | None = None  # latest month ≤ actual_month with a value
    latest_available_value: float | None = None
    final_target: float | None = None
    forecast: Forecast | None = None
    # restatement (final checkpoints only): the actual computed from today's data
    restated: bool = False
    current_actual: float | None = None
    current_rag: Rag | None = None
    # v2 (judgement.md); a v1 final reads back with these defaults
    basis: str = "month"
    months_pooled: int = 0
    interval: tuple[float, float] | None = None
    target_within_interval: bool | None = None
    variation: str | None = None
    assurance: str | None = None
    change_since_previous: float | None = None
    pooled_months: tuple[str, ...] = ()  # the months the judged value rests on

    def to_json(self) -> dict:
        d = asdict(self)
        d["forecast"] = self.forecast.to_json() if self.forecast else None
        d["interval"] = list(self.interval) if self.interval else None
        d["pooled_months"] = list(self.pooled_months)
        return d

    @classmethod
    def from_json(cls, d: dict) -> MetricResult:
        known = {f.name for f in fields(cls)}  # tolerate keys written by other versions of this code
        d = {k: v for k, v in d.items() if k in known}
        d["forecast"] = Forecast.from_json(d.get("forecast"))
        if d.get("interval") is not None:
            d["interval"] = tuple(d["interval"])
        if "pooled_months" in d:
            d["pooled_months"] = tuple(d["pooled_months"] or ())
        elif d.get("actual") is not None:  # v1: the one judged month
            d["months_pooled"], d["pooled_months"] = 1, (d["actual_month"],)
        return cls(**d)


@dataclass(frozen=True)
class CheckpointResult:
    checkpoint: dt.date
    label: str | None
    six_month: bool
    month: str  # the judged month (judged_month(checkpoint, reporting_lag_days))
    previous_checkpoint: dt.date | None
    metrics: list[MetricResult]
    final: bool = False
    finalised_at: str | None = None
    finalised_by: str | None = None
    settings_version_id: int | None = None
    data_as_of: str | None = None
    reporting_lag_days: int | None = None  # None: a v1 final (judged the last complete month)

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(RAGS, 0)
        for m in self.metrics:
            counts[m.rag] += 1
        return counts

    @property
    def restated(self) -> bool:
        return any(m.restated for m in self.metrics)

    @property
    def headline(self) -> str:
        s = self.summary
        return (f"{s['green']} of {len(self.metrics)} priorities green, {s['amber']} amber, {s['red']} red, "
                f"{s['no_data']} no data")

    def metric(self, metric_id: str) -> MetricResult:
        for m in self.metrics:
            if m.metric == metric_id:
                return m
        raise KeyError(f"{metric_id} is not rated at {self.checkpoint} (no target in the settings)")

    def to_json(self) -> dict:
        return {
            "checkpoint": self.checkpoint.isoformat(),
            "label": self.label,
            "six_month": self.six_month,
            "month": self.month,
            "previous_checkpoint": self.previous_checkpoint.isoformat() if self.previous_checkpoint else None,
            "final": self.final,
            "finalised_at": self.finalised_at,
            "finalised_by": self.finalised_by,
            "settings_version_id": self.settings_version_id,
            "data_as_of": self.data_as_of,
            "reporting_lag_days": self.reporting_lag_days,
            "restated": self.restated,
            "summary": self.summary,
            "metrics": [m.to_json() for m in self.metrics],
        }

    @classmethod
    def from_json(cls, d: dict) -> CheckpointResult:
        return cls(
            checkpoint=as_date(d["checkpoint"]), label=d.get("label"), six_month=bool(d.get("six_month")),
            month=d["month"],
            previous_checkpoint=as_date(d["previous_checkpoint"]) if d.get("previous_checkpoint") else None,
            metrics=[MetricResult.from_json(m) for m in d["metrics"]],
            final=bool(d.get("final")), finalised_at=d.get("finalised_at"), finalised_by=d.get("finalised_by"),
            settings_version_id=d.get("settings_version_id"), data_as_of=d.get("data_as_of"),
            reporting_lag_days=d.get("reporting_lag_days"),
        )


Rows = dict[str, tuple[float, float | None, float | None]]


def _f(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _value_lookup(series: pd.DataFrame | None) -> dict[str, Rows]:
    """{metric: {month: (value, numerator, denominator)}} for the months that have a value (NaN = no data
    is left out)."""
    out: dict[str, Rows] = {}
    if series is None or series.empty or not {"metric", "month", "value"} <= set(series.columns):
        return out
    nums = series["numerator"] if "numerator" in series.columns else [None] * len(series)
    dens = series["denominator"] if "denominator" in series.columns else [None] * len(series)
    for m, month, v, n, d in zip(series["metric"], series["month"], series["value"], nums, dens):
        if v is None or pd.isna(v):
            continue
        out.setdefault(str(m), {})[str(month)] = (float(v), _f(n), _f(d))
    return out


def _latest_upto(values: Rows, month: str) -> tuple[str | None, float | None]:
    months = [m for m in values if m <= month]
    if not months:
        return None, None
    m = max(months)
    return m, values[m][0]


def spc_points(values: Rows, month: str) -> list[tuple[str, float]]:
    """The SPC series at a checkpoint: the monthly values up to and including ``month``, in order."""
    return [(m, values[m][0]) for m in sorted(values) if m <= month]


def segment_points(chart: Spc, points: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The points of the current segment (the judged month's, else the last one) — the forecast's input."""
    seg = chart.segment_of(chart.judged_month) if chart.judged_month else None
    if seg is None and chart.segments:
        seg = chart.segments[-1]
    return [p for p in points if seg is None or p[0] >= seg.start]


def judge_metric(kpi_id: str, values: Rows, settings: ReviewSettings, at: dt.date, month: str,
                 prev_month: str | None) -> tuple[MetricResult, Spc]:
    """One KPI at checkpoint ``at`` judged on ``month``: the frozen result and its SPC chart."""
    kpi = get_kpi(kpi_id)
    t = settings.targets[kpi_id]
    basis = settings.judge_on(kpi_id)
    jv = judged_value(values, month, basis, percent=kpi.is_percent)
    actual = jv.value
    target = round(t.target_at(month_end(month)), TARGET_DECIMALS)
    previous = judged_value(values, prev_month, basis, percent=kpi.is_percent).value if prev_month else None
    points = spc_points(values, month)
    chart = spc(points, direction=kpi.direction, settings=settings.spc_settings(kpi_id), target=target,
                judged_month=month, metric=kpi_id)
    lam, lav = _latest_upto(values, month)
    result = MetricResult(
        metric=kpi_id, label=kpi.label, unit=kpi.unit, direction=kpi.direction,
        actual=actual, actual_month=month, target=target, tolerance=t.tolerance,
        rag=rag(kpi_id, actual, target, t.tolerance),
        direction_of_travel=direction_of_travel(chart.variation),
        shortfall=None if actual is None else round(kpi.shortfall(actual, target), 6),
        previous_actual=previous, previous_month=prev_month,
        latest_available_month=lam, latest_available_value=lav,
        final_target=t.end_target,
        forecast=forecast(segment_points(chart, points), t.end_target, direction=kpi.direction,
                          judged_value=actual, assurance=chart.assurance),
        basis=jv.basis, months_pooled=jv.months_pooled, interval=jv.interval,
        target_within_interval=target_within_interval(target, jv.interval),
        variation=chart.variation, assurance=chart.assurance,
        change_since_previous=change_since(actual, previous), pooled_months=jv.months,
    )
    return result, chart


def spc_chart(series: pd.DataFrame, settings: ReviewSettings, kpi_id: str, at: dt.date | str | None = None) -> Spc:
    """The SPC chart of one KPI (``kpi spc``): at date ``at`` over the monthly values up to the judged
    month, exactly as the review at ``at`` sees it; without ``at`` over every month (judged at the last
    point). The target (for assurance) is the trajectory at the judged month's end; None without one."""
    kpi = get_kpi(kpi_id)
    values = _value_lookup(series).get(kpi_id, {})
    if at is not None:
        month = judged_month(at, settings.reporting_lag_days)
    else:
        month = max(values) if values else None
    points = spc_points(values, month) if month else []
    t = settings.targets.get(kpi_id)
    target = round(t.target_at(month_end(month)), TARGET_DECIMALS) if t is not None and month else None
    return spc(points, direction=kpi.direction, settings=settings.spc_settings(kpi_id), target=target,
               judged_month=month, metric=kpi_id)


def evaluate_with_spc(series: pd.DataFrame, settings: ReviewSettings,
                      at: dt.date | str) -> tuple[CheckpointResult, dict[str, Spc]]:
    """:func:`evaluate`, with each rated KPI's SPC chart at the judged month."""
    at = as_date(at)
    lookup = _value_lookup(series)
    lag = settings.reporting_lag_days
    month = judged_month(at, lag)
    cp = settings.checkpoint_on(at)
    prev = settings.previous_checkpoint(at)
    prev_month = judged_month(prev.date, lag) if prev else None
    results, charts = [], {}
    for kpi_id in settings.targets:
        results.append((r := judge_metric(kpi_id, lookup.get(kpi_id, {}), settings, at, month, prev_month))[0])
        charts[kpi_id] = r[1]
    return CheckpointResult(checkpoint=at, label=cp.label if cp else None, six_month=bool(cp and cp.six_month),
                            month=month, previous_checkpoint=prev.date if prev else None, metrics=results,
                            reporting_lag_days=lag), charts


def evaluate(series: pd.DataFrame, settings: ReviewSettings, at: dt.date | str) -> CheckpointResult:
    """Judge every KPI with a target at date ``at`` (any date; labelled if it is a checkpoint)."""
    return evaluate_with_spc(series, settings, at)[0]


def evaluate_all(series: pd.DataFrame, settings: ReviewSettings) -> list[CheckpointResult]:
    """Every configured checkpoint, in date order (for the trajectory chart)."""
    return [evaluate(series, settings, c.date) for c in settings.checkpoints]


def targets_frame(settings: ReviewSettings) -> pd.DataFrame:
    """The target each checkpoint judges against (the trajectory at its judged month's last day):
    columns metric, checkpoint (date), label, target."""
    lag = settings.reporting_lag_days
    rows = [{"metric": k, "checkpoint": c.date, "label": c.label,
             "target": round(t.target_at(month_end(judged_month(c.date, lag))), TARGET_DECIMALS)}
            for k, t in settings.targets.items() for c in settings.checkpoints]
    return pd.DataFrame(rows, columns=["metric", "checkpoint", "label", "target"])


def restate(frozen: CheckpointResult, series: pd.DataFrame) -> CheckpointResult:
    """The frozen result, each KPI with today's actual for the same month (on the same basis);
    ``restated`` where it differs."""
    lookup = _value_lookup(series)
    metrics = []
    for m in frozen.metrics:
        now = judged_value(lookup.get(m.metric, {}), m.actual_month, m.basis,
                           percent=get_kpi(m.metric).is_percent).value
        same = (_missing(now) and _missing(m.actual)) or (
            not _missing(now) and not _missing(m.actual) and abs(now - m.actual) <= EPS)
        metrics.append(replace(m, current_actual=now, current_rag=rag(m.metric, now, m.target, m.tolerance),
                               restated=not same))
    return replace(frozen, metrics=metrics)
