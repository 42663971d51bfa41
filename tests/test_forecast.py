"""Tests for metrics.forecast: when each KPI is projected to meet its final target."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics.forecast import HORIZON_MONTHS, Forecast, fit, forecast, forecast_all
from metrics.months import month_from_index, month_index


def series(metric: str, values: dict[str, float | None]) -> pd.DataFrame:
    return pd.DataFrame({
        "metric": metric,
        "month": list(values),
        "value": [math.nan if v is None else float(v) for v in values.values()],
    })


def months(first: str, values: list[float | None]) -> dict[str, float | None]:
    i = month_index(first)
    return {month_from_index(i + k): v for k, v in enumerate(values)}


@pytest.mark.parametrize(
    ("metric", "values", "target", "status", "month"),
    [
        # down KPI improving on trend: 50 → 40 by -2 a month; 20 reached exactly in Apr 2024
        ("agency_rate", months("2023-01", [50, 48, 46, 44, 42, 40]), 20.0, "on_trend", "2024-04"),
        # up KPI improving on trend: +5 a month from 45 in Jun 2023 reaches 75 in Dec 2023
        ("face_to_face_conferences", months("2023-01", [20, 25, 30, 35, 40, 45]), 75.0, "on_trend", "2023-12"),
        # crossing between months rounds up to the first month that meets it
        ("agency_rate", months("2023-01", [50, 48, 46, 44, 42, 40]), 21.0, "on_trend", "2024-04"),
        # already met: the latest value meets the target (exact equality counts)
        ("agency_rate", months("2023-01", [30, 26, 24, 22, 21, 20]), 20.0, "already_met", "2023-06"),
        ("face_to_face_conferences", months("2023-01", [60, 70, 80]), 75.0, "already_met", "2023-03"),
        # wrong direction
        ("agency_rate", months("2023-01", [40, 41, 42, 43, 44, 45]), 20.0, "not_on_trend", None),
        ("face_to_face_conferences", months("2023-01", [50, 48, 46, 44]), 75.0, "not_on_trend", None),
        # flat
        ("historic_complaints_outstanding", months("2023-01", [30, 30, 30, 30]), 0.0, "not_on_trend", None),
        # right direction but more than HORIZON_MONTHS away
        ("agency_rate", months("2023-01", [40.5, 40.4, 40.3, 40.2, 40.1, 40.0]), 20.0, "not_on_trend", None),
        # insufficient data: fewer than three values (NaN = no data does not count)
        ("agency_rate", months("2023-01", [50, 48]), 20.0, "insufficient_data", None),
        ("agency_rate", months("2023-01", [50, None, 46]), 20.0, "insufficient_data", None),
        ("agency_rate", {}, 20.0, "insufficient_data", None),
    ],
)
def test_forecast_cases(metric, values, target, status, month):
    f = forecast(series(metric, values), metric, target)
    assert (f.status, f.month) == (status, month)


def test_slope_reported_per_month():
    f = forecast(series("agency_rate", months("2023-01", [50, 48, 46, 44, 42, 40])), "agency_rate", 20.0)
    assert f.slope_per_month == pytest.approx(-2.0)
    assert f.points == 6
    assert f.text == "on trend to meet by Apr 2024"


def test_only_the_last_six_values_count():
    # rising for a year, then falling for six months: the trend is the recent fall
    vals = months("2022-01", [30 + k for k in range(12)] + [41, 39, 37, 35, 33, 31])
    f = forecast(series("agency_rate", vals), "agency_rate", 20.0)
    assert f.status == "on_trend" and f.slope_per_month == pytest.approx(-2.0)
    assert f.month == "2023-12"  # 31 in Jun 2023, -2 a month → 21 in Nov, 19 in Dec


def test_gaps_stretch_the_month_axis():
    # 50 in Jan, 44 in Apr, 40 in Jun: fitted on calendar months, not on positions
    vals = {"2023-01": 50.0, "2023-04": 44.0, "2023-06": 40.0}
    slope, _ = fit([(month_index(m), v) for m, v in vals.items()])
    assert slope == pytest.approx(-2.0)
    assert forecast(series("agency_rate", vals), "agency_rate", 20.0).month == "2024-04"


def test_up_to_month_ignores_later_values():
    vals = months("2023-01", [50, 48, 46, 44, 42, 40, 10, 10, 10])
    assert forecast(series("agency_rate", vals), "agency_rate", 20.0, up_to_month="2023-06").month == "2024-04"
    assert forecast(series("agency_rate", vals), "agency_rate", 20.0).status == "already_met"


def test_horizon_boundary():
    # 36 months out is still on trend; 37 is not
    base = {"2023-01": 43.0, "2023-02": 42.0, "2023-03": 41.0}  # slope -1, 41 in Mar 2023
    assert forecast(series("agency_rate", base), "agency_rate", 41.0 - HORIZON_MONTHS).status == "on_trend"
    assert forecast(series("agency_rate", base), "agency_rate", 41.0 - HORIZON_MONTHS - 1).status == "not_on_trend"


def test_forecast_all_and_json_round_trip():
    s = pd.concat([series("agency_rate", months("2023-01", [50, 48, 46, 44, 42, 40])),
                   series("face_to_face_conferences", months("2023-01", [20, 25]))])
    out = forecast_all(s, {"agency_rate": 20.0, "face_to_face_conferences": 75.0})
    assert out["agency_rate"].status == "on_trend"
    assert out["face_to_face_conferences"].status == "insufficient_data"
    assert Forecast.from_json(out["agency_rate"].to_json()) == out["agency_rate"]
    assert forecast(s, "agency_rate", None).status == "insufficient_data"
