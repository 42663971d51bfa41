"""When will each KPI reach its final target on the current trend?

A deliberately simple, explainable projection for the review pack (see ``docs/reviews.md``):

- take the last :data:`WINDOW` months that have a value (gaps are allowed: the trend is fitted on
  the calendar month index, so a missing month stretches the x-axis rather than being ignored);
- fewer than :data:`MIN_POINTS` values → ``insufficient_data``;
- the latest value already meets the target in the KPI's direction → ``already_met``;
- otherwise fit a least-squares straight line (value against month index). If the slope is flat or
  runs the wrong way → ``not_on_trend``. Else the projected month is the first calendar month after
  the latest value where the line meets or beats the target; if that is more than
  :data:`HORIZON_MONTHS` months after the latest value → ``not_on_trend``; otherwise ``on_trend``.

Pure functions over the ``compute_series`` frame (columns ``metric``, ``month``, ``value``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Literal

import pandas as pd

from metrics.kpis import get as get_kpi
from metrics.months import month_from_index, month_index
from metrics.months import short_month as month_label

WINDOW = 6
MIN_POINTS = 3
HORIZON_MONTHS = 36
EPS = 1e-9  # the same comparison tolerance as the RAG rating (metrics.reviews)

Status = Literal["on_trend", "already_met", "not_on_trend", "insufficient_data"]

STATUS_TEXT: dict[str, str] = {
    "on_trend": "projected to meet the target",
    "already_met": "already met",
    "not_on_trend": "not on current trend",
    "insufficient_data": "insufficient data",
}


@dataclass(frozen=True)
class Forecast:
    status: Status
    month: str | None = None  # 'YYYY-MM': projected month (on_trend) or the latest month (already_met)
    slope_per_month: float | None = None  # change per month of the fitted line (None below MIN_POINTS)
    points: int = 0  # how many monthly values the trend was fitted on
    target: float | None = None

    @property
    def text(self) -> str:
        if self.status == "on_trend":
            return f"on trend to meet by {month_label(self.month)}"
        if self.status == "already_met":
            return "already met"
        return STATUS_TEXT[self.status]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict | None) -> Forecast | None:
        if d is None:
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def _values(series: pd.DataFrame, metric: str, up_to_month: str | None) -> dict[str, float]:
    """month → value for the months of ``metric`` (up to ``up_to_month``) that have a value, in order."""
    if series is None or series.empty or "metric" not in series.columns:
        return {}
    part = series.loc[series["metric"] == metric, ["month", "value"]]
    if up_to_month is not None:
        part = part[part["month"] <= up_to_month]
    by_month: dict[str, float] = {}
    for m, v in zip(part["month"], part["value"]):
        if v is not None and not (isinstance(v, float) and math.isnan(v)) and not pd.isna(v):
            by_month[str(m)] = float(v)
    return dict(sorted(by_month.items()))


def fitted_months(series: pd.DataFrame, metric: str, up_to_month: str | None = None) -> tuple[str, ...]:
    """The months :func:`forecast` fits its trend on: the last :data:`WINDOW` with a value up to
    ``up_to_month`` (what a forecast depends on, e.g. for public suppression)."""
    return tuple(_values(series, metric, up_to_month))[-WINDOW:]


def _points(series: pd.DataFrame, metric: str, up_to_month: str | None) -> list[tuple[int, float]]:
    by_month = _values(series, metric, up_to_month)
    months = list(by_month)[-WINDOW:]
    return [(month_index(m), by_month[m]) for m in months]


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares (slope, intercept) of value on month index."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    slope = sxy / sxx if sxx else 0.0
    return slope, my - slope * mx


def forecast(series: pd.DataFrame, metric: str, target: float | None, *,
             up_to_month: str | None = None) -> Forecast:
    """Project when ``metric`` meets ``target`` (its final target) on the trend of its last values.

    ``up_to_month`` ('YYYY-MM') ignores later months, so a review forecasts from what it could see.
    """
    kpi = get_kpi(metric)
    pts = _points(series, metric, up_to_month)
    if target is None or len(pts) < MIN_POINTS:
        return Forecast("insufficient_data", points=len(pts), target=target)
    slope, intercept = fit(pts)
    slope_r = round(slope, 6)
    last_x, last_y = pts[-1]
    if kpi.meets(last_y, target) or abs(last_y - target) <= EPS:
        return Forecast("already_met", month_from_index(last_x), slope_r, len(pts), target)
    good = slope if kpi.higher_is_better else -slope
    if good <= EPS:
        return Forecast("not_on_trend", None, slope_r, len(pts), target)
    crossing = (target - intercept) / slope  # month index where the line equals the target
    month = max(math.ceil(crossing - EPS), last_x + 1)
    if month - last_x > HORIZON_MONTHS:
        return Forecast("not_on_trend", None, slope_r, len(pts), target)
    return Forecast("on_trend", month_from_index(month), slope_r, len(pts), target)


def forecast_all(series: pd.DataFrame, targets: dict[str, float | None], *,
                 up_to_month: str | None = None) -> dict[str, Forecast]:
    """:func:`forecast` for each ``{metric: final target}``."""
    return {m: forecast(series, m, t, up_to_month=up_to_month) for m, t in targets.items()}
