"""`kpi review --json` and `kpi spc --json` against the review model (shared/spec/judgement.md section 6),
on the synthetic demo store: the CLI prints the model's fields exactly, for random judgement settings."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from metrics import store
from metrics.kpis import REGISTRY
from metrics.reviews import JudgementSettings, default_settings, load_settings, review_board, save_settings

PERCENT = [k for k, v in REGISTRY.items() if v.unit == "percent"]
#: judgement.md section 6: what `kpi review --json` adds per metric, and at the top level.
JUDGEMENT_FIELDS = {"basis", "months_pooled", "interval", "target_within_interval", "variation", "assurance",
                    "direction_of_travel", "change_since_previous", "forecast"}
V1_FIELDS = {"metric", "actual", "actual_month", "target", "rag", "direction_of_travel"}


@pytest.fixture(scope="module")
def demo_db(demo_template, tmp_path_factory):
    import shutil

    path = tmp_path_factory.mktemp("judgement-cli") / "kpi.sqlite"
    shutil.copyfile(demo_template, path)
    return path


def _plain(x):
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, tuple | list):
        return [_plain(v) for v in x]
    return x


months = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2022, 2025), st.integers(1, 12))
judgements = st.builds(
    lambda lag, run, screening, two, kpis: {"reporting_lag_days": lag, "run_length": run, "screening": screening,
                                            "two_of_three_counts_beyond_limits": two, "kpis": kpis},
    st.integers(0, 62), st.sampled_from([6, 7]), st.booleans(), st.booleans(),
    st.dictionaries(
        st.sampled_from(sorted(REGISTRY)),
        st.fixed_dictionaries({
            "fix_after": st.one_of(st.none(), st.integers(12, 20)),
            "rebases": st.lists(st.builds(lambda m: {"month": m, "reason": "a change"}, months), max_size=2,
                                unique_by=lambda r: r["month"]),
        }), max_size=4),
)


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(judgement=judgements, judge_on=st.dictionaries(st.sampled_from(PERCENT),
                                                      st.sampled_from(["month", "rolling_3_months"])),
       at=st.dates(min_value=dt.date(2022, 6, 1), max_value=dt.date(2025, 6, 30)))
def test_kpi_review_json_agrees_with_the_model_on_every_field(demo_db, run_kpi, judgement, judge_on, at):
    for k, basis in judge_on.items():
        judgement["kpis"].setdefault(k, {})["judge_on"] = basis
    conn = store.connect(demo_db)
    try:
        s = default_settings().model_copy(update={"judgement": JudgementSettings.model_validate(judgement)})
        save_settings(conn, s, by="analyst", note="property test")
        assert load_settings(conn).judgement == s.judgement
        board = review_board(conn, at)
    finally:
        conn.close()
    res = run_kpi("review", "--db", str(demo_db), "--at", at.isoformat(), "--json")
    assert res.code == 0, res.err
    d = res.json()
    assert (d["judged_month"], d["reporting_lag_days"]) == (board.judged_month, judgement["reporting_lag_days"])
    assert d["month"] == board.month and d["summary"] == board.summary
    assert [m["metric"] for m in d["metrics"]] == [r.metric for r in board.rated]
    for m, r in zip(d["metrics"], board.rated):
        assert V1_FIELDS | JUDGEMENT_FIELDS <= set(m)
        for key, value in m.items():
            if key == "forecast":
                fc = r.forecast
                assert value == (None if fc is None else {
                    "status": fc.status, "month": fc.month, "interval": _plain(fc.interval)}), r.metric
            else:
                assert value == _plain(getattr(r, key)), (r.metric, key)
        assert r.basis == (s.judge_on(r.metric))
        assert r.spc is not None and r.spc.variation == r.variation and r.spc.assurance == r.assurance
        # one verdict: the names the pages still read are the judgement
        assert (r.shown_value, r.shown_month, r.shown_rag, r.shown_travel) == (
            r.actual, r.actual_month, r.rag, r.direction_of_travel)


# --- kpi spc ----------------------------------------------------------------------------------------


SEGMENT_KEYS = ["from", "to", "n", "mean", "amr", "upl", "lpl", "near_upl", "near_lpl", "trial"]


def test_kpi_spc_json_shape(demo_template, run_kpi):
    res = run_kpi("spc", "--db", str(demo_template), "--metric", "audits_good_or_better", "--json")
    assert res.code == 0, res.err
    d = res.json()
    assert list(d) == ["metric", "direction", "settings", "segments", "points", "variation", "assurance"]
    assert (d["metric"], d["direction"]) == ("audits_good_or_better", "up")
    assert d["settings"] == {"run_length": 7, "screening": True, "two_of_three_counts_beyond_limits": True,
                             "fix_after": None, "rebases": []}
    assert d["segments"] and all(list(s) == SEGMENT_KEYS for s in d["segments"])
    assert sum(s["n"] for s in d["segments"]) == len(d["points"])
    for p in d["points"]:
        assert list(p) == ["month", "value", "rule", "sense", "type"]
        assert p["rule"] in ("outside_limits", "trend", "two_of_three", "shift", None)
        assert p["sense"] in ("high", "low", None) and (p["rule"] is None) == (p["sense"] is None)
        assert p["type"] in ("special_cause_improvement", "special_cause_concern", "common_cause")
    assert d["variation"] in ("improvement", "concern", "common_cause", "not_enough_data")
    assert d["assurance"] in ("consistent_pass", "consistent_fail", "hit_or_miss", "not_enough_data")
    # every month with a value, unrounded
    conn = store.connect(demo_template)
    try:
        from metrics.reviews import current_series

        series = current_series(conn, load_settings(conn))
    finally:
        conn.close()
    s = series[(series["metric"] == "audits_good_or_better") & series["value"].notna()]
    assert [p["month"] for p in d["points"]] == list(s["month"])
    assert [p["value"] for p in d["points"]] == [float(v) for v in s["value"]]


def test_kpi_spc_at_a_date_is_the_reviews_chart(demo_template, run_kpi):
    res = run_kpi("spc", "--db", str(demo_template), "--metric", "face_to_face_conferences", "--at", "2024-06-01",
                  "--json")
    assert res.code == 0, res.err
    d = res.json()
    conn = store.connect(demo_template)
    try:
        row = review_board(conn, "2024-06-01").row("face_to_face_conferences")
    finally:
        conn.close()
    assert d == json.loads(json.dumps(row.spc.to_json()))
    assert d["points"][-1]["month"] == row.actual_month == "2024-04"  # lag 14: 1 June judges April
    assert (d["variation"], d["assurance"]) == (row.variation, row.assurance)
    text = run_kpi("spc", "--db", str(demo_template), "--metric", "face_to_face_conferences", "--at", "2024-06-01")
    assert text.code == 0 and "Segment 1:" in text.out and "Variation at Apr 2024:" in text.out


def test_kpi_spc_with_settings_rebases(demo_copy_of, tmp_path, run_kpi):
    path = demo_copy_of(tmp_path / "kpi.sqlite")
    conn = store.connect(path)
    try:
        s = default_settings()
        j = JudgementSettings.model_validate({"run_length": 6, "kpis": {"agency_rate": {
            "fix_after": 12, "rebases": [{"month": "2023-03", "reason": "statutory direction"}]}}})
        save_settings(conn, s.model_copy(update={"judgement": j}), by="analyst")
    finally:
        conn.close()
    d = run_kpi("spc", "--db", str(path), "--metric", "agency_rate", "--json").json()
    assert d["settings"] == {"run_length": 6, "screening": True, "two_of_three_counts_beyond_limits": True,
                             "fix_after": 12, "rebases": [{"month": "2023-03", "reason": "statutory direction"}]}
    assert [seg["from"] for seg in d["segments"]][1:] == ["2023-03"]


@pytest.mark.parametrize(("args", "words"), [
    (("--metric", "not_a_kpi"), ["unknown metric 'not_a_kpi'", *REGISTRY]),
    (("--metric", "agency_rate", "--at", "2024-13-01"), ["--at"]),
    (("--at", "2024-06-01"), ["--metric"]),
])
def test_kpi_spc_usage_errors(demo_template, run_kpi, args, words):
    res = run_kpi("spc", "--db", str(demo_template), *args)
    assert res.code == 2 and res.out == ""
    for w in words:
        assert w in res.err
    assert "Traceback" not in res.err
