"""metrics.projection: the forecast v2 (judgement.md section 5)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.months import month_from_index, month_index
from metrics.projection import MIN_POINTS, T95, WINDOW, Forecast, forecast


def pts(values, first="2023-01"):
    i = month_index(first)
    return [(month_from_index(i + k), float(v)) for k, v in enumerate(values)]


def reference_fit(points):
    """The fit written out with numpy: slope, intercept, residual s, x̄, Sxx, n, x."""
    x = np.array([month_index(m) for m, _ in points], float)
    y = np.array([v for _, v in points], float)
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    n = len(x)
    s = math.sqrt(float(resid @ resid) / (n - 2))
    sxx = float(((x - x.mean()) ** 2).sum())
    return slope, intercept, s, float(x.mean()), sxx, n, x


def test_window_and_minimum():
    assert (WINDOW, MIN_POINTS) == (12, 6)


def test_t_quantiles_are_the_975th_percentiles():
    # P(0 < T < t) = 0.475 for Student's t with df degrees of freedom, by Simpson's rule on the density
    for df, t in T95.items():
        c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
        xs = np.linspace(0.0, t, 20001)
        fx = c * (1 + xs ** 2 / df) ** (-(df + 1) / 2)
        h = xs[1] - xs[0]
        area = h / 3 * (fx[0] + fx[-1] + 4 * fx[1:-1:2].sum() + 2 * fx[2:-1:2].sum())
        assert area == pytest.approx(0.475, abs=1e-6), df
    assert sorted(T95) == list(range(4, 11))


@pytest.mark.parametrize("values", [[], [50], [50, 48, 46, 44, 42]])
def test_fewer_than_6_points_is_not_enough_data(values):
    f = forecast(pts(values), 20.0, direction="down")
    assert (f.status, f.month, f.interval, f.points) == ("not_enough_data", None, None, len(values))
    assert f.text == "not enough data for a trend"


def test_no_target_is_not_enough_data():
    assert forecast(pts([50, 48, 46, 44, 42, 40]), None, direction="down").status == "not_enough_data"


def test_exactly_6_points_on_a_line():
    # 50 … 40 falling by 2 a month to Jun 2023: the line reaches 20 ten months later, Apr 2024; a perfect
    # fit has no spread, so both intervals collapse
    f = forecast(pts([50, 48, 46, 44, 42, 40]), 20.0, direction="down")
    assert (f.status, f.month, f.points) == ("reaches_target", "2024-04", 6)
    assert f.slope_per_month == pytest.approx(-2.0)
    assert f.slope_interval == pytest.approx((-2.0, -2.0))
    assert f.interval == pytest.approx((20.0, 20.0))
    assert f.fitted_months == ("2023-01", "2023-02", "2023-03", "2023-04", "2023-05", "2023-06")
    assert f.text == "on trend to reach 20 by Apr 2024 (95%: 20–20 then)"


def test_crossing_between_months_rounds_up():
    # 21 is crossed half-way through the tenth month after Jun 2023: the first month that meets it is Apr 2024
    assert forecast(pts([50, 48, 46, 44, 42, 40]), 21.0, direction="down").month == "2024-04"


def test_slope_interval_containing_zero_is_trend_not_established():
    # 10,12,… : slope 3/17.5 ≈ 0.17 a month, its 95% interval ≈ ±0.71
    f = forecast(pts([10, 12, 10, 12, 10, 12]), 20.0, direction="up")
    assert f.status == "trend_not_established"
    assert (f.month, f.interval) == (None, None)
    lo, hi = f.slope_interval
    assert lo < 0 < hi
    assert f.slope_per_month == pytest.approx(3 / 17.5)
    assert f.text == "trend not established"


def test_prediction_interval_against_numpy():
    values = [40, 43, 41, 46, 47, 50, 49, 53]
    f = forecast(pts(values), 60.0, direction="up")
    slope, intercept, s, xbar, sxx, n, x = reference_fit(pts(values))
    assert n - 2 == 6
    t = 2.446912  # t_0.975 on 6 degrees of freedom
    half = t * s / math.sqrt(sxx)
    assert f.slope_interval == pytest.approx((slope - half, slope + half), rel=1e-9)
    assert f.status == "reaches_target"
    # the first month after Aug 2023 where the fitted line meets 60
    x0 = int(x[-1]) + 1
    while intercept + slope * x0 < 60:
        x0 += 1
    assert f.month == month_from_index(x0)
    y0 = intercept + slope * x0
    pi = t * s * math.sqrt(1 + 1 / n + (x0 - xbar) ** 2 / sxx)
    assert f.interval == pytest.approx((y0 - pi, y0 + pi), rel=1e-9)
    assert f.interval[0] < 60 <= y0 < f.interval[1]


def test_only_the_last_12_points_are_used():
    wild = [100, 0, 100, 0, 100, 0, 100, 0]
    rise = [40, 43, 41, 46, 47, 50, 49, 53, 52, 55, 56, 58]
    points = pts(wild + rise)
    f = forecast(points, 70.0, direction="up")
    assert f.points == 12
    assert f.fitted_months == tuple(m for m, _ in points[-12:])
    slope, *_ = reference_fit(points[-12:])
    assert f.slope_per_month == pytest.approx(slope, rel=1e-9)
    assert f.status == "reaches_target"


def test_gaps_stretch_the_month_axis():
    # Apr is missing: on the calendar the values rise by 2 a month (on the point count they would not)
    points = [("2023-01", 2.0), ("2023-02", 4.0), ("2023-03", 6.0), ("2023-05", 10.0), ("2023-06", 12.0),
              ("2023-07", 14.0)]
    f = forecast(points, 20.0, direction="up")
    assert f.slope_per_month == pytest.approx(2.0)
    assert f.month == "2023-10"  # 14 + 3 × 2 = 20


@pytest.mark.parametrize(("direction", "judged", "assurance", "status"), [
    ("up", 61.0, "consistent_pass", "already_met"),
    ("up", 60.0, "consistent_pass", "already_met"),  # meeting exactly counts
    ("up", 61.0, "hit_or_miss", "trend_not_established"),  # one good month is not enough
    ("up", 61.0, None, "trend_not_established"),
    ("up", 59.0, "consistent_pass", "trend_not_established"),
    ("down", 59.0, "consistent_pass", "already_met"),
    ("down", 61.0, "consistent_pass", "trend_not_established"),
])
def test_already_met_needs_the_judged_value_and_consistent_pass(direction, judged, assurance, status):
    values = [58, 62, 58, 62, 58, 62]  # no trend
    f = forecast(pts(values), 60.0, direction=direction, judged_value=judged, assurance=assurance)
    assert f.status == status


def test_already_met_is_checked_first():
    f = forecast(pts([61, 62]), 60.0, direction="up", judged_value=62.0, assurance="consistent_pass")
    assert (f.status, f.month, f.interval, f.text) == ("already_met", None, None, "already met")


def test_significant_slope_away_from_the_target_is_moving_away():
    f = forecast(pts([50, 48, 46, 44, 43, 40]), 60.0, direction="up")
    assert (f.status, f.month, f.interval) == ("moving_away", None, None)
    assert f.slope_interval[1] < 0
    assert f.text == "moving away from the target"
    assert forecast(pts([40, 42, 44, 46, 47, 50]), 20.0, direction="down").status == "moving_away"


def test_line_already_beyond_the_target_reaches_it_the_next_month():
    # falling, but the line is still above 60 next month: the first month after the last point meets it
    f = forecast(pts([80, 78, 76, 74, 72, 70]), 60.0, direction="up")
    assert (f.status, f.month) == ("reaches_target", "2023-07")
    f = forecast(pts([40, 42, 44, 46, 48, 50]), 60.0, direction="up")
    assert f.month == "2023-11"  # never earlier than the month after the last point, here the crossing


def test_bad_input():
    with pytest.raises(ValueError, match="direction"):
        forecast(pts([1, 2, 3, 4, 5, 6]), 10.0, direction="higher")
    with pytest.raises(ValueError, match="month order"):
        forecast([("2023-02", 1.0), ("2023-01", 2.0)], 10.0, direction="up")
    with pytest.raises(ValueError, match="every point's value must be a finite number"):
        forecast([("2023-01", None)], 10.0, direction="up")
    with pytest.raises(ValueError, match="the target must be a finite number"):
        forecast(pts([1, 2, 3, 4, 5, 6]), float("nan"), direction="up")


# --- json -----------------------------------------------------------------------------------------

def test_json_round_trip():
    f = forecast(pts([40, 43, 41, 46, 47, 50, 49, 53]), 60.0, direction="up")
    d = json.loads(json.dumps(f.to_json()))
    assert list(d)[:3] == ["status", "month", "interval"]
    assert d["status"] == "reaches_target" and isinstance(d["interval"], list)
    assert Forecast.from_json(d) == f
    assert Forecast.from_json(None) is None


@pytest.mark.parametrize(("v1", "status"), [
    ({"status": "on_trend", "month": "2024-04", "slope_per_month": -2.0, "points": 6, "target": 20.0},
     "reaches_target"),
    ({"status": "not_on_trend", "month": None, "slope_per_month": 0.5, "points": 6, "target": 20.0},
     "trend_not_established"),
    ({"status": "insufficient_data", "month": None, "slope_per_month": None, "points": 2, "target": 20.0},
     "not_enough_data"),
    ({"status": "already_met", "month": "2023-06", "slope_per_month": -2.0, "points": 6, "target": 20.0,
      "old_key": 1}, "already_met"),
])
def test_from_json_reads_v1_forecasts(v1, status):
    f = Forecast.from_json(v1)
    assert f.status == status
    assert (f.month, f.points, f.target, f.interval) == (v1["month"], v1["points"], 20.0, None)


def test_from_json_refuses_an_unknown_status():
    with pytest.raises(ValueError, match="unknown forecast status"):
        Forecast.from_json({"status": "maybe"})


# --- properties -----------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(noise=st.lists(st.integers(-3, 3), min_size=6, max_size=16), base=st.integers(0, 100),
       step=st.integers(-5, 5), target=st.integers(-50, 150), direction=st.sampled_from(["up", "down"]))
def test_the_month_is_the_first_the_line_meets(noise, base, step, target, direction):
    points = pts([base + step * k + e for k, e in enumerate(noise)])  # a straight line plus noise
    f = forecast(points, float(target), direction=direction)
    window = points[-12:]
    assert f.points == len(window)
    if f.status != "reaches_target":
        assert f.status in ("trend_not_established", "moving_away")
        return
    slope, intercept, *_ = reference_fit(window)
    last = month_index(window[-1][0])
    x0 = month_index(f.month)

    sign = 1 if direction == "up" else -1

    def gap(x):  # how far the line is beyond the target at month index x (positive = meets it)
        return sign * (intercept + slope * x - target)

    assert x0 > last and gap(x0) >= -1e-6
    assert x0 == last + 1 or gap(x0 - 1) < 1e-6
    lo, hi = f.interval  # around the fitted value (numpy's fit on raw month indices agrees to ~1e-9)
    assert lo - 1e-6 <= intercept + slope * x0 <= hi + 1e-6
    assert hi - lo == pytest.approx(0, abs=1e-9) or lo < intercept + slope * x0 < hi
