"""The judgement rules of shared/spec/judgement.md that live outside metrics.spc: the judged month
(reporting lag), pooled values, Wilson intervals, the judgement settings (validated, defaulted, versioned)."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from metrics.intervals import Z95, judged_value, target_within_interval, wilson
from metrics.kpis import REGISTRY
from metrics.reviews import (JudgementSettings, ReviewSettings, default_settings, diff_settings, evaluate,
                             judged_month, load_settings, save_settings, settings_history)
from metrics.store import connect

D = dt.date


# --- the judged month (section 1) ---------------------------------------------------------------


@pytest.mark.parametrize(("at", "lag", "month"), [
    # on the 1st
    (D(2023, 12, 1), 0, "2023-11"),  # 30 Nov ≤ 1 Dec
    (D(2023, 12, 1), 14, "2023-10"),  # the spec's example: 17 Nov → October
    (D(2023, 12, 1), 31, "2023-10"),  # 31 Oct ≤ 31 Oct
    (D(2024, 1, 1), 0, "2023-12"),  # across the year end
    (D(2024, 3, 1), 31, "2023-12"),  # 30 Jan: January has not ended
    # the 15th
    (D(2023, 12, 15), 0, "2023-11"),
    (D(2023, 12, 15), 14, "2023-11"),  # the spec's example: 1 Dec → November
    (D(2023, 12, 15), 31, "2023-10"),  # 14 Nov → October
    (D(2024, 3, 15), 14, "2024-02"),  # 1 Mar → leap February
    (D(2024, 3, 15), 15, "2024-02"),  # the cut-off is 29 Feb itself
    (D(2024, 3, 15), 16, "2024-01"),  # 28 Feb: February has not ended
    # a month end
    (D(2023, 12, 31), 0, "2023-12"),  # the month's own last day
    (D(2023, 12, 31), 14, "2023-11"),
    (D(2023, 12, 31), 31, "2023-11"),  # 30 Nov
    (D(2024, 2, 29), 0, "2024-02"),
    (D(2023, 6, 30), 14, "2023-05"),
])
def test_judged_month(at, lag, month):
    assert judged_month(at, lag) == month
    assert judged_month(at.isoformat(), lag) == month


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)), st.integers(0, 365))
def test_judged_month_is_the_latest_month_ending_by_the_cutoff(at, lag):
    from metrics.months import month_end, month_from_index, month_index

    m = judged_month(at, lag)
    cutoff = at - dt.timedelta(days=lag)
    assert month_end(m) <= cutoff < month_end(month_from_index(month_index(m) + 1))


def test_a_review_held_on_time_judges_a_month_with_data():
    """Issue 11: 1 Dec with the default lag judges October, which the December review has."""
    s = default_settings("Test Council", "884")
    assert s.reporting_lag_days == 14
    r = evaluate(_series({"agency_rate": {"2023-10": (45.0, 45.0, 100.0)}}), s, D(2023, 12, 1))
    m = r.metric("agency_rate")
    assert (r.month, m.actual_month, m.actual) == ("2023-10", "2023-10", 45.0)
    # the target is the trajectory at the judged month's last day
    assert m.target == round(s.targets["agency_rate"].target_at(D(2023, 10, 31)), 4)


# --- Wilson intervals (section 3) -----------------------------------------------------------------


@pytest.mark.parametrize(("num", "den"), [(0, 1), (1, 1), (0, 25), (25, 25), (7, 25), (12, 25), (1, 3),
                                          (499, 1000), (3, 7), (14.5, 61.3), (61.3, 61.3), (0.4, 2.5)])
def test_wilson_matches_statsmodels(num, den):
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(num, den, alpha=0.05, method="wilson")
    got = wilson(num, den)
    # statsmodels uses the exact normal quantile (1.95996398…); the spec's z = 1.959964
    assert got == pytest.approx((low * 100, high * 100), abs=1e-5)


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_property_matches_statsmodels(num, den):
    from statsmodels.stats.proportion import proportion_confint

    num = min(num, den)
    low, high = proportion_confint(num, den, alpha=0.05, method="wilson")
    lo, hi = wilson(num, den)
    assert lo == pytest.approx(low * 100, abs=1e-5) and hi == pytest.approx(high * 100, abs=1e-5)
    assert 0 <= lo <= num / den * 100 + 1e-9 and num / den * 100 - 1e-9 <= hi <= 100


def test_wilson_formula_by_hand():
    # p = 0.25, n = 20: centre = (p + z²/2n)/(1 + z²/n), half = z√(p(1−p)/n + z²/4n²)/(1 + z²/n)
    z, p, n = Z95, 0.25, 20
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson(5, 20) == pytest.approx(((centre - half) * 100, (centre + half) * 100))


@pytest.mark.parametrize(("num", "den"), [(0, 0), (None, 10), (3, None), (math.nan, 10), (1, -1)])
def test_wilson_needs_a_positive_denominator(num, den):
    assert wilson(num, den) is None


@pytest.mark.parametrize(("target", "interval", "inside"), [
    (50.0, (40.0, 60.0), True), (40.0, (40.0, 60.0), True), (60.0, (40.0, 60.0), True),
    (39.99, (40.0, 60.0), False), (60.01, (40.0, 60.0), False), (None, (40.0, 60.0), None), (50.0, None, None)])
def test_target_within_interval(target, interval, inside):
    assert target_within_interval(target, interval) is inside


# --- pooled values (section 2) ------------------------------------------------------------------


ROWS = {"2023-01": (50.0, 5.0, 10.0), "2023-02": (25.0, 5.0, 20.0), "2023-03": (60.0, 6.0, 10.0),
        "2023-05": (40.0, 4.0, 10.0), "2023-06": (100.0, 1.0, 1.0)}


@pytest.mark.parametrize(("month", "basis", "value", "months"), [
    ("2023-03", "month", 60.0, ("2023-03",)),
    ("2023-03", "rolling_3_months", 16 / 40 * 100, ("2023-01", "2023-02", "2023-03")),
    ("2023-05", "rolling_3_months", 10 / 20 * 100, ("2023-03", "2023-05")),  # April has no value: left out
    ("2023-06", "rolling_3_months", 5 / 11 * 100, ("2023-05", "2023-06")),
    ("2023-02", "rolling_3_months", 10 / 30 * 100, ("2023-01", "2023-02")),  # nothing before January
    ("2023-04", "rolling_3_months", None, ()),  # the judged month has no value: no_data, never a fall-back
    ("2023-04", "month", None, ()),
])
def test_pooled_values_leave_out_months_without_a_value(month, basis, value, months):
    jv = judged_value(ROWS, month, basis, percent=True)
    assert jv.value == (None if value is None else pytest.approx(value))
    assert (jv.months, jv.months_pooled, jv.basis) == (months, len(months), basis)
    if value is None:
        assert jv.interval is None and jv.numerator is None
    else:
        assert jv.interval == pytest.approx(wilson(jv.numerator, jv.denominator))


def test_counts_and_fte_are_always_judged_on_the_month():
    rows = {"2023-01": (10.0, 10.0, None), "2023-02": (20.0, 20.0, None), "2023-03": (30.0, 30.0, None)}
    jv = judged_value(rows, "2023-03", "rolling_3_months", percent=False)
    assert (jv.value, jv.basis, jv.months, jv.interval) == (30.0, "month", ("2023-03",), None)


def test_a_month_with_a_zero_denominator_is_not_pooled():
    rows = {"2023-01": (math.nan, 0.0, 0.0), "2023-02": (50.0, 1.0, 2.0), "2023-03": (100.0, 2.0, 2.0)}
    jv = judged_value(rows, "2023-03", "rolling_3_months", percent=True)
    assert (jv.value, jv.months) == (75.0, ("2023-02", "2023-03"))


def test_evaluate_pools_the_default_kpis():
    """audits and conferences are judged on three months pooled by default; the rest on the month."""
    s = default_settings("Test Council", "884")
    assert {k for k in REGISTRY if s.judge_on(k) == "rolling_3_months"} == {
        "audits_good_or_better", "face_to_face_conferences"}
    assert REGISTRY["audits_good_or_better"].judge_on == "rolling_3_months"
    series = _series({"audits_good_or_better": {"2023-08": (50.0, 10.0, 20.0), "2023-09": (0.0, 0.0, 5.0),
                                                "2023-10": (80.0, 20.0, 25.0)},
                      "agency_rate": {"2023-09": (50.0, 5.0, 10.0), "2023-10": (40.0, 4.0, 10.0)}})
    r = evaluate(series, s, D(2023, 12, 1))
    a = r.metric("audits_good_or_better")
    assert (a.basis, a.months_pooled, a.actual) == ("rolling_3_months", 3, pytest.approx(30 / 50 * 100))
    assert a.interval == pytest.approx(wilson(30, 50))
    assert a.rag == ("green" if a.actual >= a.target else "amber" if a.target - a.actual <= 5 else "red")
    g = r.metric("agency_rate")
    assert (g.basis, g.months_pooled, g.actual) == ("month", 1, 40.0)


def _series(values: dict[str, dict[str, tuple[float, float | None, float | None]]]):
    import pandas as pd

    rows = [{"metric": m, "month": month, "value": v, "numerator": n, "denominator": d, "source": "records",
             "flags": ()} for m, by in values.items() for month, (v, n, d) in by.items()]
    return pd.DataFrame(rows, columns=["metric", "month", "value", "numerator", "denominator", "source", "flags"])


# --- the settings ---------------------------------------------------------------------------------


def _with(judgement: dict) -> dict:
    d = default_settings("Test Council", "884").model_dump(mode="json")
    d["judgement"] = judgement
    return d


@pytest.mark.parametrize(("judgement", "message"), [
    ({"run_length": 8}, "run_length must be 6 or 7 (got 8)"),
    ({"run_length": True}, "run_length must be 6 or 7"),
    ({"reporting_lag_days": -1}, "reporting_lag_days"),
    ({"reporting_lag_days": 400}, "reporting_lag_days"),
    ({"kpis": {"agency_rate": {"fix_after": 11}}}, "fix_after must be empty (limits on every point) or at least 12"),
    ({"kpis": {"agency_rate": {"fix_after": 0}}}, "at least 12 points (got 0)"),
    ({"kpis": {"agency_rate": {"rebases": [{"month": "2023-13", "reason": "restructure"}]}}},
     "a rebase month must be YYYY-MM between 1900 and 2099"),
    ({"kpis": {"agency_rate": {"rebases": [{"month": "0001-04", "reason": "restructure"}]}}}, "0001-04"),
    ({"kpis": {"agency_rate": {"rebases": [{"month": "2023-04", "reason": "  "}]}}}, "a rebase needs a reason"),
    ({"kpis": {"agency_rate": {"rebases": [{"month": "2023-04"}]}}}, "reason"),
    ({"kpis": {"agency_rate": {"rebases": [{"month": "2023-04", "reason": "a"}, {"month": "2023-04", "reason": "b"}]}}},
     "rebase month 2023-04 is given twice"),
    ({"kpis": {"permanent_team_managers": {"judge_on": "rolling_3_months"}}},
     "judgement.kpis.permanent_team_managers.judge_on: only a percentage KPI can be judged on 3 months pooled"),
    ({"kpis": {"agency_rate": {"judge_on": "quarter"}}}, "judge_on"),
    ({"kpis": {"not_a_kpi": {"fix_after": 12}}}, "judgement.kpis.not_a_kpi: unknown KPI id 'not_a_kpi'"),
    ({"screening": "sometimes"}, "screening"),
    ({"run_lenght": 6}, "run_lenght"),
])
def test_judgement_settings_validation_messages(fresh_db, judgement, message):
    data = _with(judgement)
    with pytest.raises(ValidationError) as e:
        ReviewSettings.model_validate(data)
    assert message in str(e.value)
    conn = connect(fresh_db)
    try:
        with pytest.raises(ValidationError):
            save_settings(conn, data, by="analyst")
        assert settings_history(conn) == []  # nothing stored
    finally:
        conn.close()


def test_valid_judgement_settings_build_the_spc_settings():
    s = ReviewSettings.model_validate(_with({
        "reporting_lag_days": 31, "run_length": 6, "screening": False, "two_of_three_counts_beyond_limits": False,
        "kpis": {"audits_good_or_better": {"judge_on": "month", "fix_after": 12,
                                           "rebases": [{"month": "2024-01", "reason": "new audit tool"},
                                                       {"month": "2023-04", "reason": "statutory direction"}]},
                 "permanent_team_managers": {"judge_on": "month"}}}))
    assert s.reporting_lag_days == 31 and s.judge_on("audits_good_or_better") == "month"
    assert s.judge_on("face_to_face_conferences") == "rolling_3_months"  # the KPI's default
    c = s.spc_settings("audits_good_or_better")
    assert (c.run_length, c.screening, c.two_of_three_counts_beyond_limits, c.fix_after) == (6, False, False, 12)
    assert [(r.month, r.reason) for r in c.rebases] == [("2023-04", "statutory direction"),
                                                       ("2024-01", "new audit tool")]
    assert s.spc_settings("agency_rate").rebases == () and s.spc_settings("agency_rate").fix_after is None


def test_old_settings_without_judgement_still_load(fresh_db):
    """A settings version saved before judgement.md (no ``judgement`` key) loads with the defaults."""
    old = default_settings("Test Council", "884").model_dump(mode="json")
    del old["judgement"]
    conn = connect(fresh_db)
    try:
        conn.execute("INSERT INTO review_settings_versions (saved_at, saved_by, note, settings_json)"
                     " VALUES ('2024-01-01T00:00:00Z', 'analyst', 'v1', ?)", (json.dumps(old),))
        s = load_settings(conn)
        assert s.judgement == JudgementSettings()
        assert (s.reporting_lag_days, s.judge_on("audits_good_or_better"), s.judge_on("agency_rate")) == (
            14, "rolling_3_months", "month")
        assert settings_history(conn)[0].settings == s
    finally:
        conn.close()


def test_a_judgement_change_is_versioned_and_audited(fresh_db):
    conn = connect(fresh_db)
    try:
        s = default_settings("Test Council", "884")
        save_settings(conn, s, by="analyst")
        j = JudgementSettings.model_validate({
            "reporting_lag_days": 21, "run_length": 6,
            "kpis": {"face_to_face_conferences": {"judge_on": "month", "fix_after": 12,
                                                  "rebases": [{"month": "2023-04", "reason": "statutory direction"}]}}})
        save_settings(conn, s.model_copy(update={"judgement": j}), by="commissioner", note="MDC options")
        changes = settings_history(conn)[1].changes
        assert changes == [
            "judgement.reporting_lag_days 14 → 21",
            "judgement.run_length 7 → 6",
            "judgement.face_to_face_conferences.judge_on 'rolling_3_months' → 'month'",
            "judgement.face_to_face_conferences.fix_after none → 12",
            "judgement.face_to_face_conferences.rebase 2023-04 added: 'statutory direction'",
        ]
        audit = conn.execute("SELECT details FROM audit_log WHERE action = 'settings_change' ORDER BY id DESC").fetchone()
        assert "judgement.run_length 7 → 6" in json.loads(audit[0])["changes"]
        assert load_settings(conn).judgement == j
    finally:
        conn.close()


def test_defaults_diff_as_no_change():
    a = default_settings("Test Council", "884")
    b = ReviewSettings.model_validate({k: v for k, v in a.model_dump(mode="json").items() if k != "judgement"})
    assert diff_settings(a, b) == ["no changes"]


# --- finals made under the v1 rules ---------------------------------------------------------------


V1_FINAL = {
    "checkpoint": "2023-06-01", "label": "Review 1 – Jun 2023", "six_month": False, "month": "2023-05",
    "previous_checkpoint": None, "final": True, "finalised_at": "2023-06-02T09:00:00Z", "finalised_by": "commissioner",
    "settings_version_id": 1, "data_as_of": None, "restated": False,
    "summary": {"green": 1, "amber": 0, "red": 0, "no_data": 0},
    "metrics": [{
        "metric": "agency_rate", "label": "Agency social workers (% of FTE)", "unit": "percent", "direction": "down",
        "actual": 48.0, "actual_month": "2023-05", "target": 50.0, "tolerance": 5.0, "rag": "green",
        "direction_of_travel": "no_change", "shortfall": 0.0, "previous_actual": 48.0, "previous_month": "2023-02",
        "latest_available_month": "2023-05", "latest_available_value": 48.0, "final_target": 20.0,
        "forecast": {"status": "on_trend", "month": "2024-10", "slope_per_month": -1.2, "points": 6, "target": 20.0},
        "restated": False, "current_actual": None, "current_rag": None}],
}


def test_a_v1_final_reads_back_as_it_was_made(fresh_db, run_kpi, monkeypatch):
    from metrics.reviews import review_at
    from metrics.reviews import store as review_store

    series = _series({"agency_rate": {"2023-04": (50.0, 50.0, 100.0), "2023-05": (48.0, 48.0, 100.0)}})
    monkeypatch.setattr(review_store, "_compute_series", lambda conn, **kw: series)
    conn = connect(fresh_db)
    try:
        save_settings(conn, default_settings("Test Council", "884"), by="analyst")
        conn.execute("INSERT INTO checkpoint_finals (checkpoint, finalised_at, finalised_by, evaluation_json,"
                     " settings_version_id, data_as_of) VALUES ('2023-06-01', '2023-06-02T09:00:00Z',"
                     " 'commissioner', ?, 1, NULL)", (json.dumps(V1_FINAL),))
        conn.commit()
        r = review_at(conn, "2023-06-01")
    finally:
        conn.close()
    m = r.metric("agency_rate")
    assert r.final and r.month == "2023-05" and r.reporting_lag_days is None  # the v1 judged month stands
    assert (m.actual, m.target, m.rag, m.direction_of_travel) == (48.0, 50.0, "green", "no_change")
    assert (m.basis, m.months_pooled, m.pooled_months, m.interval, m.variation, m.assurance) == (
        "month", 1, ("2023-05",), None, None, None)
    assert m.forecast.status == "reaches_target" and m.forecast.month == "2024-10"  # read as v2
    assert not m.restated and m.current_actual == 48.0
    d = run_kpi("review", "--at", "2023-06-01", "--json").json()
    assert (d["judged_month"], d["reporting_lag_days"], d["final"]) == ("2023-05", None, True)
    a = d["metrics"][0]
    assert (a["actual"], a["rag"], a["direction_of_travel"], a["basis"], a["interval"]) == (
        48.0, "green", "no_change", "month", None)
    assert a["forecast"] == {"status": "reaches_target", "month": "2024-10", "interval": None}
