"""Judging the KPIs at a checkpoint (pure): RAG, direction of travel, the forecast, and the frozen
result's shape (:class:`CheckpointResult`, stored as JSON when a checkpoint is marked final).
See :mod:`metrics.reviews` for the reading of the spec.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

import pandas as pd

from metrics.forecast import Forecast, forecast
from metrics.kpis import get as get_kpi
from metrics.months import month_of
from metrics.reviews.settings import ReviewSettings, as_date

EPS = 1e-9
TARGET_DECIMALS = 4
RAGS = ("green", "amber", "red", "no_data")
Rag = Literal["green", "amber", "red", "no_data"]
Travel = Literal["improving", "no_change", "worsening"]


def last_complete_month(at: dt.date) -> str:
    """The latest month whose last day is before ``at``: always the month before ``at``'s month."""
    return month_of(at.replace(day=1) - dt.timedelta(days=1))


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


def direction_of_travel(metric: str, current: float | None, previous: float | None) -> Travel | None:
    if _missing(current) or _missing(previous):
        return None
    if abs(float(current) - float(previous)) <= EPS:
        return "no_change"
    return "improving" if get_kpi(metric).better(float(current), float(previous)) else "worsening"


@dataclass(frozen=True)
class MetricResult:
    metric: str
    label: str
    unit: str
    direction: str
    actual: float | None
    actual_month: str  # the last complete month before the checkpoint (also when actual is None)
    target: float | None
    tolerance: float
    rag: Rag
    direction_of_travel: Travel | None
    shortfall: float | None = None
    previous_actual: float | None = None
    previous_month: str | None = None
    latest_available_month: str | None = None  # latest month ≤ actual_month with a value
    latest_available_value: float | None = None
    final_target: float | None = None
    forecast: Forecast | None = None
    # restatement (final checkpoints only): the actual computed from today's data
    restated: bool = False
    current_actual: float | None = None
    current_rag: Rag | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d["forecast"] = self.forecast.to_json() if self.forecast else None
        return d

    @classmethod
    def from_json(cls, d: dict) -> MetricResult:
        known = {f.name for f in fields(cls)}  # tolerate keys written by other versions of this code
        d = {k: v for k, v in d.items() if k in known}
        d["forecast"] = Forecast.from_json(d.get("forecast"))
        return cls(**d)


@dataclass(frozen=True)
class CheckpointResult:
    checkpoint: dt.date
    label: str | None
    six_month: bool
    month: str  # the last complete month whose values are judged
    previous_checkpoint: dt.date | None
    metrics: list[MetricResult]
    final: bool = False
    finalised_at: str | None = None
    finalised_by: str | None = None
    settings_version_id: int | None = None
    data_as_of: str | None = None

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
        )


def _value_lookup(series: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    """{metric: {month: value}} for the months that have a value (NaN = no data is left out)."""
    out: dict[str, dict[str, float]] = {}
    if series is None or series.empty or not {"metric", "month", "value"} <= set(series.columns):
        return out
    for m, month, v in zip(series["metric"], series["month"], series["value"]):
        if v is None or pd.isna(v):
            continue
        out.setdefault(str(m), {})[str(month)] = float(v)
    return out


def _latest_upto(values: dict[str, float], month: str) -> tuple[str | None, float | None]:
    months = [m for m in values if m <= month]
    if not months:
        return None, None
    m = max(months)
    return m, values[m]


def evaluate(series: pd.DataFrame, settings: ReviewSettings, at: dt.date | str) -> CheckpointResult:
    """Judge every KPI with a target at date ``at`` (any date; labelled if it is a checkpoint)."""
    at = as_date(at)
    lookup = _value_lookup(series)
    month = last_complete_month(at)
    cp = settings.checkpoint_on(at)
    prev = settings.previous_checkpoint(at)
    prev_month = last_complete_month(prev.date) if prev else None
    results = []
    for kpi_id, t in settings.targets.items():
        kpi = get_kpi(kpi_id)
        values = lookup.get(kpi_id, {})
        actual = values.get(month)
        target = round(t.target_at(at), TARGET_DECIMALS)
        previous = values.get(prev_month) if prev_month else None
        lam, lav = _latest_upto(values, month)
        results.append(MetricResult(
            metric=kpi_id, label=kpi.label, unit=kpi.unit, direction=kpi.direction,
            actual=actual, actual_month=month, target=target, tolerance=t.tolerance,
            rag=rag(kpi_id, actual, target, t.tolerance),
            direction_of_travel=direction_of_travel(kpi_id, actual, previous),
            shortfall=None if actual is None else round(kpi.shortfall(actual, target), 6),
            previous_actual=previous, previous_month=prev_month,
            latest_available_month=lam, latest_available_value=lav,
            final_target=t.end_target,
            forecast=forecast(series, kpi_id, t.end_target, up_to_month=month),
        ))
    return CheckpointResult(checkpoint=at, label=cp.label if cp else None, six_month=bool(cp and cp.six_month),
                            month=month, previous_checkpoint=prev.date if prev else None, metrics=results)


def evaluate_all(series: pd.DataFrame, settings: ReviewSettings) -> list[CheckpointResult]:
    """Every configured checkpoint, in date order (for the trajectory chart)."""
    return [evaluate(series, settings, c.date) for c in settings.checkpoints]


def targets_frame(settings: ReviewSettings) -> pd.DataFrame:
    """The trajectory at each checkpoint: columns metric, checkpoint (date), label, target."""
    rows = [{"metric": k, "checkpoint": c.date, "label": c.label,
             "target": round(t.target_at(c.date), TARGET_DECIMALS)}
            for k, t in settings.targets.items() for c in settings.checkpoints]
    return pd.DataFrame(rows, columns=["metric", "checkpoint", "label", "target"])


def restate(frozen: CheckpointResult, series: pd.DataFrame) -> CheckpointResult:
    """The frozen result, each KPI with today's actual for the same month; ``restated`` where it differs."""
    lookup = _value_lookup(series)
    metrics = []
    for m in frozen.metrics:
        now = lookup.get(m.metric, {}).get(m.actual_month)
        same = (_missing(now) and _missing(m.actual)) or (
            not _missing(now) and not _missing(m.actual) and abs(now - m.actual) <= EPS)
        metrics.append(replace(m, current_actual=now, current_rag=rag(m.metric, now, m.target, m.tolerance),
                               restated=not same))
    return replace(frozen, metrics=metrics)
