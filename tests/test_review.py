"""Tests for metrics.reviews: settings, trajectories, RAG, direction of travel, finals, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from metrics.reviews import store as review
from metrics.kpis import REGISTRY
from metrics.reviews import (
    AlreadyFinal,
    Checkpoint,
    KpiTarget,
    NotACheckpoint,
    ReviewSettings,
    default_settings,
    direction_of_travel,
    evaluate,
    evaluate_all,
    last_complete_month,
    load_settings,
    mark_final,
    rag,
    review_all,
    review_at,
    save_settings,
    settings_history,
    targets_frame,
)
from metrics.store import connect

pytestmark = pytest.mark.both_engines

D = dt.date
JUN, SEP, DEC = D(2023, 6, 1), D(2023, 9, 1), D(2023, 12, 1)
#: The last days of the months JUN and SEP judge with no reporting lag (judgement.md section 1: the target
#: is the trajectory at the judged month's last day, so explicit targets sit there).
MAY31, AUG31 = D(2023, 5, 31), D(2023, 8, 31)


@pytest.fixture
def fresh_db(tmp_path):
    conn = connect(tmp_path / "kpi.sqlite")
    yield conn
    conn.close()


def frame(values: dict[str, dict[str, float | None]]) -> pd.DataFrame:
    """A compute_series-shaped frame from {metric: {month: value}} (None = no data); a percentage's
    value is given as value of 100 (so three months pool to their mean)."""
    def parts(m, v):
        if v is None or REGISTRY[m].unit != "percent":
            return math.nan, math.nan
        return float(v), 100.0

    rows = [{"metric": m, "month": month, "value": math.nan if v is None else float(v),
             "numerator": parts(m, v)[0], "denominator": parts(m, v)[1], "source": "records", "flags": ()}
            for m, by_month in values.items() for month, v in by_month.items()]
    return pd.DataFrame(rows, columns=["metric", "month", "value", "numerator", "denominator", "source", "flags"])


def small_settings(**changes) -> ReviewSettings:
    """Two KPIs, one each way, with round explicit targets at the judged months' ends, judged on the month
    with no reporting lag (the lag and pooling have their own tests below)."""
    data = {
        "checkpoints": [
            {"date": JUN, "label": "Review 1 – Jun 2023"},
            {"date": SEP, "label": "Six-month review – Sep 2023", "six_month": True},
            {"date": DEC, "label": "Review 3 – Dec 2023"},
        ],
        "targets": {
            "agency_rate": {"baseline_month": "2023-02", "baseline_value": 55, "final_target": 20,
                            "final_date": D(2025, 3, 31), "tolerance": 5,
                            "checkpoint_targets": {MAY31: 50, AUG31: 45}},
            "face_to_face_conferences": {"baseline_month": "2023-02", "baseline_value": 20, "final_target": 75,
                                         "final_date": D(2025, 3, 31), "tolerance": 5,
                                         "checkpoint_targets": {MAY31: 30, AUG31: 40}},
        },
        "judgement": {"reporting_lag_days": 0, "kpis": {"face_to_face_conferences": {"judge_on": "month"}}},
        "council_name": "Test Council",
        "la_code": "884",
    }
    data.update(changes)
    return ReviewSettings.model_validate(data)


# --- the last complete month ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "month"),
    [
        (D(2023, 6, 1), "2023-05"),  # on the 1st: May ended the day before
        (D(2023, 6, 15), "2023-05"),  # mid-month: June's last day is not before 15 June
        (D(2023, 6, 30), "2023-05"),  # June 30 is not *before* June 30
        (D(2023, 7, 1), "2023-06"),
        (D(2024, 1, 1), "2023-12"),  # across the year end
        (D(2024, 3, 1), "2024-02"),  # leap February
    ],
)
def test_last_complete_month(at, month):
    assert last_complete_month(at) == month


@pytest.mark.parametrize(("at", "actual"), [(D(2023, 6, 1), 48.0), (D(2023, 6, 15), 48.0), (D(2023, 7, 1), 46.0)])
def test_checkpoint_on_the_first_vs_mid_month(at, actual):
    s = frame({"agency_rate": {"2023-04": 49.0, "2023-05": 48.0, "2023-06": 46.0}})
    m = evaluate(s, small_settings(), at).metric("agency_rate")
    assert (m.actual_month, m.actual) == (last_complete_month(at), actual)


def test_off_schedule_date_has_no_label_and_compares_with_last_checkpoint():
    s = frame({"agency_rate": {"2023-05": 48.0, "2023-06": 46.0}})
    r = evaluate(s, small_settings(), D(2023, 7, 10))
    assert r.label is None and r.previous_checkpoint == JUN
    # the change against the previous checkpoint's judged month (May) is shown as information
    assert r.metric("agency_rate").change_since_previous == -2.0
    on = evaluate(s, small_settings(), SEP)
    assert on.label == "Six-month review – Sep 2023" and on.six_month


# --- trajectory --------------------------------------------------------------------------------


LINEAR = KpiTarget(baseline_month="2023-02", baseline_value=55, final_target=20, final_date=D(2025, 3, 31),
                   tolerance=5)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (D(2022, 12, 1), 55.0),  # before the baseline point: the baseline
        (D(2023, 2, 28), 55.0),  # the baseline holds on the baseline month's last day
        (D(2025, 3, 31), 20.0),  # the final date
        (D(2025, 6, 1), 20.0),  # after it: the final target
        (D(2024, 3, 15), 55 - 35 * (D(2024, 3, 15) - D(2023, 2, 28)).days / (D(2025, 3, 31) - D(2023, 2, 28)).days),
    ],
)
def test_linear_trajectory(at, expected):
    assert LINEAR.target_at(at) == pytest.approx(expected)


def test_explicit_checkpoint_target_wins_and_segments_are_linear():
    t = small_settings().targets["agency_rate"]
    assert t.target_at(MAY31) == 50 and t.target_at(AUG31) == 45
    mid = MAY31 + (AUG31 - MAY31) / 2
    assert t.target_at(mid) == pytest.approx(47.5, abs=0.03)
    # a checkpoint target on the final date wins over final_target
    t2 = KpiTarget(baseline_month="2023-02", baseline_value=55, final_target=20, final_date=D(2025, 3, 31),
                   checkpoint_targets={D(2025, 3, 31): 22}, tolerance=5)
    assert t2.target_at(D(2025, 3, 31)) == 22 and t2.target_at(D(2026, 1, 1)) == 22
    # checkpoint targets alone: the last one holds after it
    t3 = KpiTarget(baseline_month="2023-02", baseline_value=55, checkpoint_targets={JUN: 50}, tolerance=5)
    assert t3.target_at(D(2030, 1, 1)) == 50 and t3.end_target == 50


@given(st.dates(min_value=D(2022, 1, 1), max_value=D(2027, 1, 1)), st.dates(min_value=D(2022, 1, 1),
                                                                             max_value=D(2027, 1, 1)))
def test_linear_trajectory_is_bounded_and_monotone(a, b):
    a, b = sorted((a, b))
    ta, tb = LINEAR.target_at(a), LINEAR.target_at(b)
    assert 20 <= tb <= ta <= 55


def test_targets_frame_has_every_kpi_at_every_checkpoint():
    tf = targets_frame(small_settings())
    assert len(tf) == 6
    # judgement.md section 1: the target at a checkpoint is the trajectory at its judged month's end
    assert tf.set_index(["metric", "checkpoint"]).loc[("agency_rate", JUN), "target"] == 50


# --- RAG -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "actual", "expected"),
    [
        # agency_rate: direction down, target at 31 May 2023 (the judged month's end) = 50, tolerance 5
        ("agency_rate", 50.0, "green"),  # exactly the target
        ("agency_rate", 42.0, "green"),  # beats it
        ("agency_rate", 52.5, "amber"),  # misses within tolerance
        ("agency_rate", 55.0, "amber"),  # misses by exactly the tolerance
        ("agency_rate", 55.01, "red"),  # beyond it
        ("agency_rate", None, "no_data"),
        # face_to_face_conferences: direction up, target 30, tolerance 5
        ("face_to_face_conferences", 30.0, "green"),
        ("face_to_face_conferences", 60.0, "green"),
        ("face_to_face_conferences", 27.5, "amber"),
        ("face_to_face_conferences", 25.0, "amber"),
        ("face_to_face_conferences", 24.99, "red"),
        ("face_to_face_conferences", None, "no_data"),
    ],
)
def test_rag_at_a_checkpoint(metric, actual, expected):
    s = frame({metric: {"2023-05": actual}})
    r = evaluate(s, small_settings(), JUN)
    m = r.metric(metric)
    assert (m.target, m.rag) == ({"agency_rate": 50, "face_to_face_conferences": 30}[metric], expected)
    assert r.summary[expected] >= 1


@pytest.mark.parametrize(
    ("metric", "actual", "target", "tolerance", "expected"),
    [
        ("agency_rate", 0.1 + 0.2, 0.3, 0.0, "green"),  # float noise is not a miss
        ("face_to_face_conferences", 0.3, 0.1 + 0.2, 0.0, "green"),
        ("agency_rate", 20.0 + 5.0 + 1e-12, 20.0, 5.0, "amber"),
        ("historic_complaints_outstanding", 0.0, 0.0, 5.0, "green"),
        ("historic_complaints_outstanding", 6.0, 0.0, 5.0, "red"),
        ("permanent_team_managers", 8.0, 9.0, 1.0, "amber"),
        ("agency_rate", math.nan, 20.0, 5.0, "no_data"),
    ],
)
def test_rag_function(metric, actual, target, tolerance, expected):
    assert rag(metric, actual, target, tolerance) == expected


@given(st.sampled_from(sorted(REGISTRY)), st.floats(0, 100), st.floats(0, 100), st.floats(0, 20))
def test_rag_agrees_with_the_kpi_direction(metric, actual, target, tol):
    kpi = REGISTRY[metric]
    r = rag(metric, actual, target, tol)
    if kpi.meets(actual, target):
        assert r == "green"
    else:
        assert r in ("green", "amber", "red")  # green only within float noise
        if kpi.shortfall(actual, target) > tol + 1e-9:
            assert r == "red"


# --- direction of travel -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "previous", "current", "change"),
    [
        ("agency_rate", 50.0, 48.0, -2.0),
        ("agency_rate", 50.0, 50.0, 0.0),
        ("agency_rate", 50.0, 52.0, 2.0),
        ("agency_rate", None, 48.0, None),
        ("agency_rate", 50.0, None, None),
        ("face_to_face_conferences", 30.0, 35.0, 5.0),
        ("face_to_face_conferences", 30.0, 30.0, 0.0),
        ("face_to_face_conferences", None, None, None),
    ],
)
def test_change_since_the_previous_checkpoint_is_information_not_the_verdict(metric, previous, current, change):
    # judgement.md section 4: Sep 2023 judges August; the raw change against the Jun 2023 checkpoint's
    # judged value (May) is shown, but the direction of travel comes from SPC (two points: not enough data)
    s = frame({metric: {"2023-05": previous, "2023-08": current}})
    m = evaluate(s, small_settings(), SEP).metric(metric)
    assert m.previous_month == "2023-05" and m.actual_month == "2023-08"
    assert m.change_since_previous == change
    assert m.direction_of_travel == "not_enough_data" == direction_of_travel(m.variation)


@pytest.mark.parametrize(("variation", "travel"), [("improvement", "improving"), ("concern", "worsening"),
                                                   ("common_cause", "no_significant_change"),
                                                   ("not_enough_data", "not_enough_data"), (None, None)])
def test_direction_of_travel_follows_the_variation(variation, travel):
    assert direction_of_travel(variation) == travel


def _steady(metric: str, last: float, months: int = 20) -> dict[str, float]:
    """``months`` monthly values from 2022-01 alternating around 50, then ``last``."""
    from metrics.months import month_from_index, month_index

    start = month_index("2022-01")
    out = {month_from_index(start + i): 50.0 + (1.0 if i % 2 else -1.0) for i in range(months)}
    out[month_from_index(start + months)] = last
    return out


@pytest.mark.parametrize(("metric", "last", "travel"), [
    ("agency_rate", 40.0, "improving"),  # far below the lower limit, down is better
    ("agency_rate", 60.0, "worsening"),
    ("agency_rate", 50.5, "no_significant_change"),
    ("face_to_face_conferences", 60.0, "improving"),  # up is better
    ("face_to_face_conferences", 40.0, "worsening"),
])
def test_direction_of_travel_at_a_checkpoint_is_the_spc_verdict(metric, last, travel):
    values = _steady(metric, last)
    at = D(2023, 10, 1)  # judges 2023-09 (lag 0), the 21st point
    assert max(values) == "2023-09"
    m = evaluate(frame({metric: values}), small_settings(), at).metric(metric)
    assert m.direction_of_travel == travel
    assert m.previous_month == "2023-08" and m.change_since_previous == pytest.approx(last - values["2023-08"])


def test_first_checkpoint_has_no_change_since_previous():
    s = frame({"agency_rate": {"2023-02": 55.0, "2023-05": 48.0}})
    m = evaluate(s, small_settings(), JUN).metric("agency_rate")
    assert m.previous_actual is None and m.change_since_previous is None
    assert m.direction_of_travel == "not_enough_data"  # judgement.md section 4: two points, no verdict


# --- no data -----------------------------------------------------------------------------------


def test_no_data_for_last_complete_month_does_not_fall_back():
    s = frame({"agency_rate": {"2023-03": 52.0, "2023-04": 49.0, "2023-05": None, "2023-06": 40.0}})
    m = evaluate(s, small_settings(), JUN).metric("agency_rate")
    assert m.actual is None and m.rag == "no_data" and m.actual_month == "2023-05"
    assert (m.latest_available_month, m.latest_available_value) == ("2023-04", 49.0)
    assert m.months_pooled == 0 and m.interval is None and m.variation == "not_enough_data"


def test_empty_series_is_all_no_data():
    r = evaluate(frame({}), small_settings(), JUN)
    assert r.summary == {"green": 0, "amber": 0, "red": 0, "no_data": 2}


def test_summary_counts_and_evaluate_all():
    s = frame({"agency_rate": {"2023-05": 50.0, "2023-08": 60.0, "2023-11": 40.0},
               "face_to_face_conferences": {"2023-05": 27.0, "2023-08": 40.0}})
    results = evaluate_all(s, small_settings())
    assert [r.checkpoint for r in results] == [JUN, SEP, DEC]
    assert [r.summary for r in results] == [
        {"green": 1, "amber": 1, "red": 0, "no_data": 0},
        {"green": 1, "amber": 0, "red": 1, "no_data": 0},
        {"green": 1, "amber": 0, "red": 0, "no_data": 1},
    ]
    assert results[0].headline == "1 of 2 priorities green, 1 amber, 0 red, 0 no data"


# --- settings validation ------------------------------------------------------------------------


def _valid() -> dict:
    return small_settings().model_dump(mode="json")


def _set(path: str, value):
    def mutate(d: dict) -> dict:
        node = d
        keys = path.split("/")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        if value is _DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
        return d
    return mutate


_DELETE = object()


def _unknown_kpi(d):
    d["targets"]["not_a_kpi"] = d["targets"]["agency_rate"]
    return d


def _duplicate_checkpoint(d):
    d["checkpoints"][1]["date"] = d["checkpoints"][0]["date"]
    return d


def _decreasing_checkpoints(d):
    d["checkpoints"][2]["date"] = "2023-07-01"
    return d


def _neither_target(d):
    t = d["targets"]["agency_rate"]
    t["final_target"], t["final_date"], t["checkpoint_targets"] = None, None, {}
    return d


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (_unknown_kpi, "not_a_kpi"),
        (_duplicate_checkpoint, "checkpoints[1].date"),
        (_decreasing_checkpoints, "checkpoints[2].date"),
        (_set("targets/agency_rate/tolerance", -1), "tolerance"),
        (_set("targets/agency_rate/final_target", 120), "targets.agency_rate.final_target"),
        (_set("targets/face_to_face_conferences/baseline_value", -3), "targets.face_to_face_conferences.baseline_value"),
        (_set("targets/agency_rate/checkpoint_targets", {"2023-06-01": 101}), "checkpoint_targets[2023-06-01]"),
        (_set("targets/agency_rate/final_date", "2023-01-31"), "final_date"),
        (_set("targets/agency_rate/final_date", "2023-02-28"), "final_date"),
        (_neither_target, "final_target"),
        (_set("targets/agency_rate/final_date", None), "final_date"),
        (_set("targets/agency_rate/baseline_month", "2023-2"), "baseline_month"),
        (_set("targets/agency_rate/baseline_month", "2023-13"), "baseline_month"),
        (_set("targets/agency_rate/baseline_month", "Feb 2023"), "baseline_month"),
        (_set("targets/agency_rate/final_targt", 18), "final_targt"),
        (_set("council_name", ""), "council_name"),
        (_set("la_code", _DELETE), "la_code"),
        (_set("la_code", "999"), "la_code"),  # benchmarks follow it: must be a real DfE LA code
        (_set("checkpoints", []), "checkpoints"),
        (_set("checkpoints/0/label", " "), "label"),
    ],
)
def test_settings_validation_errors_name_the_field(fresh_db, mutate, field):
    data = mutate(_valid())
    with pytest.raises(ValidationError) as e:
        ReviewSettings.model_validate(data)
    assert field in str(e.value)
    with pytest.raises(ValidationError):  # save refuses it too, and stores nothing
        save_settings(fresh_db, data, by="analyst")
    assert settings_history(fresh_db) == []


def test_settings_change_is_audited_with_who_role_and_what_changed(fresh_db):
    s = small_settings()
    save_settings(fresh_db, s, by="analyst", role="admin")
    changed = s.model_copy(update={"la_code": "301"})
    save_settings(fresh_db, changed, by="adviser", note="neighbours of 301", role="admin")
    rows = fresh_db.execute("SELECT actor, role, action, details FROM audit_log ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("analyst", "admin", "settings_change"),
                                                  ("adviser", "admin", "settings_change")]
    assert "la_code" in rows[1][3] and "301" in rows[1][3]


def test_save_revalidates_a_model_copy(fresh_db):
    bad = small_settings()
    bad.targets["agency_rate"] = bad.targets["agency_rate"].model_copy(update={"tolerance": -2})
    with pytest.raises(ValidationError, match="tolerance"):
        save_settings(fresh_db, bad, by="analyst")


# --- defaults ----------------------------------------------------------------------------------


def test_default_settings():
    s = default_settings("Herefordshire Council", "884")
    dates = [c.date for c in s.checkpoints]
    assert dates[:4] == [D(2023, 6, 1), D(2023, 9, 1), D(2023, 12, 1), D(2024, 3, 1)]
    assert dates[-1] >= D(2025, 6, 1)
    assert all((b.year * 12 + b.month) - (a.year * 12 + a.month) == 3 for a, b in zip(dates, dates[1:]))
    six = [c for c in s.checkpoints if c.six_month]
    assert [c.date for c in six] == [D(2023, 9, 1)] and "Six-month review" in six[0].label
    assert s.checkpoints[0].label == "Review 1 – Jun 2023"
    assert set(s.targets) == set(REGISTRY)
    a = s.targets["agency_rate"]
    assert (a.baseline_month, a.baseline_value, a.final_target, a.final_date, a.tolerance) == \
        ("2023-02", 55.0, 20.0, D(2025, 3, 31), 5.0)
    assert s.targets["historic_complaints_outstanding"].final_target == 0
    assert s.historic_complaints_cutoff == D(2023, 3, 1)
    assert (s.council_name, s.la_code) == ("Herefordshire Council", "884")
    ReviewSettings.model_validate(s.model_dump(mode="json"))


def test_default_council_from_deployment_settings():
    from metrics.settings import get_settings

    s = default_settings()
    assert (s.council_name, s.la_code) == (get_settings().council_name, get_settings().la_code)


# --- storage and history -----------------------------------------------------------------------


def test_load_settings_defaults_then_latest(fresh_db):
    assert load_settings(fresh_db) == default_settings()
    v1 = save_settings(fresh_db, small_settings(), by="analyst", note="first")
    assert load_settings(fresh_db) == small_settings()
    s2 = small_settings()
    s2.targets["agency_rate"] = s2.targets["agency_rate"].model_copy(update={"final_target": 18.0})
    v2 = save_settings(fresh_db, s2, by="commissioner", note="tougher")
    assert v2 > v1
    assert load_settings(fresh_db).targets["agency_rate"].final_target == 18
    assert load_settings(fresh_db, v1).targets["agency_rate"].final_target == 20


def test_settings_history_with_diffs(fresh_db):
    save_settings(fresh_db, small_settings(), by="analyst", note="first")
    s2 = small_settings()
    s2.targets["agency_rate"] = s2.targets["agency_rate"].model_copy(update={"final_target": 18.0, "tolerance": 4.0})
    s2.checkpoints[0] = Checkpoint(date=JUN, label="First review")
    del s2.targets["face_to_face_conferences"]
    save_settings(fresh_db, s2, by="commissioner", note="tougher")
    h = settings_history(fresh_db)
    assert [(v.saved_by, v.note) for v in h] == [("analyst", "first"), ("commissioner", "tougher")]
    assert h[0].saved_at.endswith("Z")
    assert h[0].changes == ["first saved version"]
    assert "agency_rate.final_target 20 → 18" in h[1].changes
    assert "agency_rate.tolerance 5 → 4" in h[1].changes
    assert "checkpoint 2023-06-01 'Review 1 – Jun 2023' → 'First review'" in h[1].changes
    assert "face_to_face_conferences target removed" in h[1].changes


@pytest.mark.parametrize("sql", ["UPDATE review_settings_versions SET saved_by = 'someone else'",
                                 "DELETE FROM review_settings_versions"])
def test_settings_versions_are_append_only(fresh_db, sql):
    save_settings(fresh_db, small_settings(), by="analyst")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        fresh_db.execute(sql)
    assert [v.saved_by for v in settings_history(fresh_db)] == ["analyst"]


# --- final means final -------------------------------------------------------------------------


@pytest.fixture
def data(monkeypatch):
    """A mutable 'store': review_at / mark_final read it through the patched compute_series."""
    box = {"series": frame({"agency_rate": {"2023-05": 50.0, "2023-08": 44.0},
                            "face_to_face_conferences": {"2023-05": 27.0, "2023-08": 38.0}})}
    calls = []

    def fake(conn, **kwargs):
        calls.append(kwargs)
        return box["series"]

    monkeypatch.setattr(review, "_compute_series", fake)
    box["calls"] = calls
    return box


def test_review_at_uses_compute_series(fresh_db, data):
    save_settings(fresh_db, small_settings(historic_complaints_cutoff=D(2023, 4, 1)), by="analyst")
    r = review_at(fresh_db, JUN)
    assert not r.final and r.metric("agency_rate").rag == "green"
    assert data["calls"][-1]["historic_cutoff"] == D(2023, 4, 1)


def test_mark_final_freezes_the_evaluation(fresh_db, data):
    v = save_settings(fresh_db, small_settings(), by="analyst")
    frozen = mark_final(fresh_db, JUN, by="commissioner")
    assert frozen.final and frozen.settings_version_id == v and frozen.finalised_by == "commissioner"
    r = review_at(fresh_db, JUN)
    assert r.final and r.finalised_at == frozen.finalised_at
    assert r.to_json()["metrics"] == [
        {**m, "current_actual": m["actual"], "current_rag": m["rag"]} for m in frozen.to_json()["metrics"]]
    assert not r.restated
    with pytest.raises(AlreadyFinal):
        mark_final(fresh_db, JUN, by="someone")


def test_changed_trajectory_after_final_does_not_change_earlier_verdicts(fresh_db, data):
    save_settings(fresh_db, small_settings(), by="analyst")
    mark_final(fresh_db, JUN, by="commissioner")
    before_sep = review_at(fresh_db, SEP)
    s2 = small_settings()
    s2.targets["agency_rate"] = s2.targets["agency_rate"].model_copy(
        update={"checkpoint_targets": {MAY31: 40.0, AUG31: 40.0}, "tolerance": 1.0})
    save_settings(fresh_db, s2, by="commissioner", note="new trajectory")

    jun = review_at(fresh_db, JUN).metric("agency_rate")
    assert (jun.target, jun.tolerance, jun.rag) == (50.0, 5.0, "green")  # frozen
    assert evaluate(data["series"], s2, JUN).metric("agency_rate").rag == "red"  # what it would be now
    sep = review_at(fresh_db, SEP).metric("agency_rate")
    assert (before_sep.metric("agency_rate").rag, sep.target, sep.rag) == ("green", 40.0, "red")  # not final
    assert [r.final for r in review_all(fresh_db)] == [True, False, False]


def test_restatement_flagged_when_a_month_is_re_uploaded(fresh_db, data):
    save_settings(fresh_db, small_settings(), by="analyst")
    mark_final(fresh_db, JUN, by="commissioner")
    # May's workforce extract re-uploaded: agency 50% → 53%; conferences unchanged
    data["series"] = frame({"agency_rate": {"2023-05": 53.0, "2023-08": 44.0},
                            "face_to_face_conferences": {"2023-05": 27.0, "2023-08": 38.0}})
    r = review_at(fresh_db, JUN)
    a, f = r.metric("agency_rate"), r.metric("face_to_face_conferences")
    assert (a.actual, a.rag) == (50.0, "green")  # the board's record
    assert (a.restated, a.current_actual, a.current_rag) == (True, 53.0, "amber")
    assert (f.restated, f.current_actual) == (False, 27.0)
    assert r.restated and r.to_json()["restated"] is True
    # a month that now has no data is a restatement too
    data["series"] = frame({"face_to_face_conferences": {"2023-05": 27.0}})
    assert review_at(fresh_db, JUN).metric("agency_rate").restated


@pytest.mark.parametrize("sql", ["UPDATE checkpoint_finals SET finalised_by = 'x'", "DELETE FROM checkpoint_finals"])
def test_finals_cannot_be_changed_in_sql(fresh_db, data, sql):
    save_settings(fresh_db, small_settings(), by="analyst")
    mark_final(fresh_db, JUN, by="commissioner")
    with pytest.raises(sqlite3.IntegrityError, match="final"):
        fresh_db.execute(sql)
    assert review_at(fresh_db, JUN).final


def test_mark_final_refusals(fresh_db, data):
    save_settings(fresh_db, small_settings(), by="analyst")
    with pytest.raises(NotACheckpoint, match="not a configured checkpoint"):
        mark_final(fresh_db, D(2023, 6, 15), by="commissioner")
    with pytest.raises(NotACheckpoint, match="future"):
        mark_final(fresh_db, DEC, by="commissioner", today=D(2023, 11, 30))
    with pytest.raises(ValueError, match="by"):
        mark_final(fresh_db, JUN, by=" ")
    assert review.final_checkpoints(fresh_db) == []


def test_mark_final_with_defaults_saves_them_as_a_version(fresh_db, data):
    r = mark_final(fresh_db, JUN, by="commissioner")
    h = settings_history(fresh_db)
    assert len(h) == 1 and r.settings_version_id == h[0].id and h[0].saved_by == "commissioner"
    assert "marked final" in h[0].note


def test_mark_final_records_data_as_of(fresh_db, data):
    fresh_db.execute(
        "INSERT INTO uploads (kind, months, rows, sha256, file_name, uploaded_by, uploaded_at, status)"
        " VALUES ('workforce', '[\"2023-05\"]', 0, 'x', 'f.csv', 'a', '2023-06-02T09:00:00Z', 'current')")
    r = mark_final(fresh_db, JUN, by="commissioner")
    assert r.data_as_of == "2023-06-02T09:00:00Z" == review_at(fresh_db, JUN).data_as_of


# --- end to end through ingest and the real compute_series ---------------------------------------


def _workforce_csv(agency_flags: list[str]) -> bytes:
    lines = ["worker_id,role,agency,fte"]
    lines += [f"W{10000 + i},case_holder,{flag},1" for i, flag in enumerate(agency_flags)]
    return ("\n".join(lines) + "\n").encode()


def test_restatement_after_real_re_upload(tmp_path):
    from metrics.ingest import ingest_bytes
    from metrics.settings import get_settings

    path = tmp_path / "kpi.sqlite"
    settings = get_settings().model_copy(update={"db_path": path, "pseudonym_key": "test-key-0123456789abcdef"})
    conn = connect(path)
    first = ingest_bytes(conn, _workforce_csv(["Y"] * 5 + ["N"] * 5), "wf_2023-04.csv", kind="workforce",
                         month="2023-04", settings=settings)
    assert first.ok, first.errors
    save_settings(conn, default_settings("Test Council", "884"), by="analyst")
    frozen = mark_final(conn, JUN, by="commissioner")  # judges April (default reporting lag 14 days)
    assert frozen.metric("agency_rate").actual_month == "2023-04"
    assert frozen.metric("agency_rate").actual == pytest.approx(50.0)
    assert not review_at(conn, JUN).restated

    again = ingest_bytes(conn, _workforce_csv(["Y"] * 4 + ["N"] * 6), "wf_2023-04_v2.csv", kind="workforce",
                         month="2023-04", settings=settings)
    assert again.ok, again.errors
    r = review_at(conn, JUN)
    a = r.metric("agency_rate")
    assert a.actual == pytest.approx(50.0) and a.restated and a.current_actual == pytest.approx(40.0)
    assert not r.metric("assessment_nfa_rate").restated  # still no data, as frozen
    assert r.data_as_of == frozen.data_as_of  # the record states what it was based on


# --- CLI ---------------------------------------------------------------------------------------


def _cli(args, capsys):
    from kpi_cli.main import main

    rc = main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_review_json_contract(tmp_path, data, capsys):
    path = tmp_path / "kpi.sqlite"
    save_settings(connect(path), small_settings(), by="analyst")
    rc, out, _ = _cli(["review", "--db", str(path), "--at", "2023-06-01", "--json"], capsys)
    assert rc == 0
    d = json.loads(out)
    assert {"checkpoint", "summary", "metrics"} <= set(d)
    assert d["checkpoint"] == "2023-06-01" and d["label"] == "Review 1 – Jun 2023"
    assert d["summary"] == {"green": 1, "amber": 1, "red": 0, "no_data": 0}
    assert list(d["summary"]) == ["green", "amber", "red", "no_data"]
    for m in d["metrics"]:
        assert list(m)[:6] == ["metric", "actual", "actual_month", "target", "rag", "direction_of_travel"]
    agency = next(m for m in d["metrics"] if m["metric"] == "agency_rate")
    assert (agency["actual"], agency["actual_month"], agency["target"], agency["rag"],
            agency["direction_of_travel"]) == (50.0, "2023-05", 50.0, "green", "not_enough_data")
    # judgement.md section 6: the judgement fields, per metric and at the top level
    assert (agency["basis"], agency["months_pooled"], agency["target_within_interval"], agency["variation"],
            agency["assurance"], agency["change_since_previous"]) == (
        "month", 1, True, "not_enough_data", "not_enough_data", None)
    assert agency["interval"] == pytest.approx([40.38, 59.62], abs=0.01)
    assert agency["forecast"] == {"status": "not_enough_data", "month": None, "interval": None}
    assert (d["judged_month"], d["reporting_lag_days"]) == ("2023-05", 0)


def test_cli_review_any_date_and_no_data_is_null(tmp_path, data, capsys):
    path = tmp_path / "kpi.sqlite"
    save_settings(connect(path), small_settings(), by="analyst")
    data["series"] = frame({"agency_rate": {"2023-05": 50.0, "2023-08": 44.0}})
    rc, out, _ = _cli(["review", "--db", str(path), "--at", "2023-09-20", "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["label"] is None
    f2f = next(m for m in d["metrics"] if m["metric"] == "face_to_face_conferences")
    assert (f2f["actual"], f2f["rag"], f2f["direction_of_travel"]) == (None, "no_data", "not_enough_data")
    agency = next(m for m in d["metrics"] if m["metric"] == "agency_rate")
    # the previous checkpoint (1 Sep) also judged August: the same month, a change of 0 (information);
    # the travel verdict is SPC's (judgement.md section 4): two points are not enough
    assert (agency["actual_month"], agency["change_since_previous"], agency["direction_of_travel"]) == (
        "2023-08", 0.0, "not_enough_data")


def test_cli_review_table(tmp_path, data, capsys):
    path = tmp_path / "kpi.sqlite"
    save_settings(connect(path), small_settings(), by="analyst")
    rc, out, _ = _cli(["review", "--db", str(path), "--at", "2023-09-01"], capsys)
    assert rc == 0
    assert "Six-month review – Sep 2023" in out and "Agency social workers (% of FTE)" in out
    assert "Summary: 1 green, 1 amber, 0 red, 0 no data" in out


@pytest.mark.parametrize("bad", ["2023-13-01", "01/06/2023", "2023-06", "tomorrow", "2023-02-30"])
def test_cli_review_bad_date_is_usage_error(tmp_path, data, capsys, bad):
    rc, out, err = _cli(["review", "--db", str(tmp_path / "kpi.sqlite"), "--at", bad], capsys)
    assert rc == 2 and out == "" and "--at" in err


# --- docs --------------------------------------------------------------------------------------


def test_docs_list_the_default_checkpoints_targets_and_tor_items():
    from pathlib import Path

    from metrics.evidence import TOR_ITEMS
    from metrics.reviews import DEFAULT_TRAJECTORIES

    text = (Path(__file__).resolve().parent.parent / "docs" / "reviews.md").read_text(encoding="utf-8")
    for c in default_settings().checkpoints:
        assert c.label in text
    for kpi_id, (base, final, tol) in DEFAULT_TRAJECTORIES.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{kpi_id}` |"))
        for number in (base, final, tol):
            assert f"{number:g}" in row, (kpi_id, number)
    for item, label in TOR_ITEMS.items():
        assert f"| {item} | {label} |" in text
    assert "kpi review --at" in text


@pytest.mark.parametrize("month", ["0000-01", "0001-06", "9999-12"])
def test_a_baseline_month_in_an_implausible_year_is_refused(month):
    # year 0 stored once made every page fail ("year 0 is out of range") through month arithmetic
    with pytest.raises(ValidationError, match="baseline_month"):
        KpiTarget(baseline_month=month, baseline_value=55, tolerance=5)
