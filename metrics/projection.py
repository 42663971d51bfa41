"""When will a KPI reach its final target on its current trend? (the forecast, judgement.md section 5)

- "already met" only when the judged value meets the final target **and** the process assurance is
  ``consistent_pass`` (checked first: one good month is not enough);
- least squares of value on calendar month index (:func:`metrics.months.month_index`, so a month with
  no value stretches the x-axis) over the last :data:`WINDOW` points of the current segment; fewer than
  :data:`MIN_POINTS` → ``not_enough_data``;
- the slope's two-sided 95% confidence interval (Student's t, n − 2 degrees of freedom) contains zero →
  ``trend_not_established``;
- otherwise the first month after the last point in which the fitted line meets or beats the target,
  with the 95% prediction interval of the fitted value then → ``reaches_target``; when no such month
  exists (the slope runs away from the target) → ``moving_away``.

Pure Python; the caller picks the points (the current segment, up to the judged month).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from metrics.months import month_from_index, month_index, short_month

WINDOW = 12
MIN_POINTS = 6
EPS = 1e-9  # the comparison tolerance of the RAG rating

#: Two-sided 95% Student's t quantiles (t_0.975) for the degrees of freedom a fit can have (n − 2).
T95 = {4: 2.776445, 5: 2.570582, 6: 2.446912, 7: 2.364624, 8: 2.306004, 9: 2.262157, 10: 2.228139}

Status = Literal["reaches_target", "trend_not_established", "already_met", "not_enough_data", "moving_away"]
STATUSES = ("reaches_target", "trend_not_established", "already_met", "not_enough_data", "moving_away")
V1_STATUS = {"on_trend": "reaches_target", "not_on_trend": "trend_not_established",
             "insufficient_data": "not_enough_data"}

STATUS_TEXT = {
    "trend_not_established": "trend not established",
    "already_met": "already met",
    "not_enough_data": "not enough data for a trend",
    "moving_away": "moving away from the target",
}


def _finite(v: object, what: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = math.nan
    if isinstance(v, bool) or not math.isfinite(x):
        raise ValueError(f"{what} must be a finite number, got {v!r}")
    return x


def _num(x: float) -> str:
    """A number for a sentence: at most one decimal, no trailing '.0'."""
    return f"{round(x, 1):g}" if abs(x) < 1e6 else f"{x:,.0f}"


@dataclass(frozen=True)
class Forecast:
    status: Status
    month: str | None = None  # 'YYYY-MM' when reaches_target
    interval: tuple[float, float] | None = None  # 95% prediction interval of the fitted value at `month`
    slope_per_month: float | None = None
    slope_interval: tuple[float, float] | None = None  # the slope's 95% confidence interval
    points: int = 0
    fitted_months: tuple[str, ...] = ()  # the months the line is fitted on
    target: float | None = None

    def describe(self, fmt: Callable[[float], str] = _num) -> str:
        """Plain English, numbers written with ``fmt`` (e.g. a KPI's unit formatter)."""
        if self.status == "reaches_target":
            text = f"on trend to reach {fmt(self.target)} by {short_month(self.month)}"
            if self.interval is not None:
                text += f" (95%: {fmt(self.interval[0])}–{fmt(self.interval[1])} then)"
            return text
        return STATUS_TEXT[self.status]

    @property
    def text(self) -> str:
        return self.describe()

    def to_json(self) -> dict:
        return {"status": self.status, "month": self.month,
                "interval": None if self.interval is None else list(self.interval),
                "slope_per_month": self.slope_per_month,
                "slope_interval": None if self.slope_interval is None else list(self.slope_interval),
                "points": self.points, "fitted_months": list(self.fitted_months), "target": self.target}

    @classmethod
    def from_json(cls, d: dict | None) -> Forecast | None:
        """Read :meth:`to_json`'s dict, or a v1 forecast's (``on_trend``, ``not_on_trend``,
        ``insufficient_data``; unknown keys ignored)."""
        if d is None:
            return None
        status = V1_STATUS.get(d.get("status"), d.get("status"))
        if status not in STATUSES:
            raise ValueError(f"unknown forecast status {d.get('status')!r}")

        def pair(v):
            return None if v is None else (float(v[0]), float(v[1]))

        return cls(status, d.get("month"), pair(d.get("interval")), d.get("slope_per_month"),
                   pair(d.get("slope_interval")), int(d.get("points") or 0),
                   tuple(d.get("fitted_months") or ()), d.get("target"))


def meets(value: float, target: float, direction: str) -> bool:
    """``value`` meets or beats ``target`` in ``direction`` (equal within :data:`EPS` counts)."""
    return value >= target - EPS if direction == "up" else value <= target + EPS


@dataclass(frozen=True)
class Fit:
    n: int
    slope: float
    intercept: float
    x_mean: float
    sxx: float
    s: float  # residual standard error, sqrt(SSE / (n - 2))
    t: float  # t_0.975 on n - 2 degrees of freedom

    def at(self, x: float) -> float:
        return self.intercept + self.slope * x

    def slope_interval(self) -> tuple[float, float]:
        half = self.t * self.s / math.sqrt(self.sxx)
        return self.slope - half, self.slope + half

    def prediction_interval(self, x0: float) -> tuple[float, float]:
        """95% prediction interval of a new value at ``x0``: ŷ ± t·s·√(1 + 1/n + (x0 − x̄)²/Sxx)."""
        y = self.at(x0)
        half = self.t * self.s * math.sqrt(1 + 1 / self.n + (x0 - self.x_mean) ** 2 / self.sxx)
        return y - half, y + half


def fit(xs: Sequence[float], ys: Sequence[float]) -> Fit:
    """Least squares of ``ys`` on ``xs`` (between :data:`MIN_POINTS` and :data:`WINDOW` points)."""
    n = len(xs)
    if n - 2 not in T95:
        raise ValueError(f"a trend is fitted on {MIN_POINTS} to {WINDOW} points, got {n}")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("a trend needs points in different months")
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    intercept = my - slope * mx
    sse = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys))
    return Fit(n, slope, intercept, mx, sxx, math.sqrt(sse / (n - 2)), T95[n - 2])


def forecast(points: Sequence[tuple[str, float]], target: float | None, *, direction: str,
             judged_value: float | None = None, assurance: str | None = None) -> Forecast:
    """The forecast of ``points`` ((month, value) of the current segment up to the judged month, in month
    order) against the final ``target``; ``judged_value`` and ``assurance`` decide "already met"."""
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
    window = [(m, _finite(v, "every point's value")) for m, v in list(points)[-WINDOW:]]
    months = [m for m, _ in window]
    if any(b <= a for a, b in zip(months, months[1:])):
        raise ValueError("points must be in month order with one value per month")
    target = None if target is None else _finite(target, "the target")
    judged_value = None if judged_value is None else _finite(judged_value, "the judged value")
    n = len(window)
    if target is None:
        return Forecast("not_enough_data", points=n)
    if judged_value is not None and assurance == "consistent_pass" and meets(judged_value, target, direction):
        return Forecast("already_met", points=n, target=target)
    if n < MIN_POINTS:
        return Forecast("not_enough_data", points=n, target=target)

    xs = [month_index(m) for m in months]
    f = fit(xs, [v for _, v in window])
    lo, hi = f.slope_interval()
    common = dict(slope_per_month=f.slope, slope_interval=(lo, hi), points=n, fitted_months=tuple(months),
                  target=target)
    if lo <= 0 <= hi:
        return Forecast("trend_not_established", **common)
    first = xs[-1] + 1
    if meets(f.at(first), target, direction):
        x0 = first
    elif (f.slope > 0) == (direction == "up"):
        crossing = (target - f.intercept) / f.slope  # the month index where the line equals the target
        x0 = max(first, math.ceil(crossing - EPS))
        while not meets(f.at(x0), target, direction):  # guard against rounding at the crossing
            x0 += 1
    else:
        return Forecast("moving_away", **common)
    return Forecast("reaches_target", month_from_index(x0), f.prediction_interval(x0), **common)
