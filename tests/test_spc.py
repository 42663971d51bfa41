"""metrics.spc: XmR process control after Making Data Count (judgement.md section 4).

Every expected mean, limit and flag below is worked out by hand from the series beside it (the
comments show the sums), never by calling the code under test.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.months import month_from_index, month_index
from metrics.spc import (
    ASSURANCES,
    MIN_POINTS_FOR_VERDICT,
    POINT_TYPES,
    RULES,
    VARIATION_TRAVEL,
    VARIATIONS,
    Rebase,
    SpcSettings,
    spc,
)

NEAR = 2 * 2.66 / 3  # the spec's 1.7733 ("2σ"), unrounded as in NHSRplotthedots


def months(n: int, first: str = "2023-01") -> list[str]:
    i = month_index(first)
    return [month_from_index(i + k) for k in range(n)]


def chart(values, *, direction="up", first="2023-01", **kw):
    return spc(list(zip(months(len(values), first), values)), direction=direction, **kw)


def flags(result) -> dict[int, tuple[str, str]]:
    """index → (rule, sense) of every flagged point."""
    return {i: (p.rule, p.sense) for i, p in enumerate(result.points) if p.rule}


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-12)


def test_the_agreed_names():
    assert RULES == ("outside_limits", "trend", "two_of_three", "shift")
    assert VARIATIONS == ("improvement", "concern", "common_cause", "not_enough_data")
    assert ASSURANCES == ("consistent_pass", "consistent_fail", "hit_or_miss", "not_enough_data")
    assert POINT_TYPES == ("special_cause_improvement", "special_cause_concern", "common_cause")
    assert MIN_POINTS_FOR_VERDICT == 13
    assert VARIATION_TRAVEL == {"improvement": "improving", "concern": "worsening",
                                "common_cause": "no_significant_change", "not_enough_data": "not_enough_data"}


# --- limits ---------------------------------------------------------------------------------------

def test_limits_hand_worked():
    # 10,12 six times then 11: sum 143 → mean 11; MRs eleven 2s and one 1 → AMR 23/12 (none ≥ 3.267 × AMR)
    seg = chart([10, 12] * 6 + [11]).segments[0]
    assert (seg.start, seg.end, seg.n, seg.trial) == ("2023-01", "2024-01", 13, False)
    assert seg.mean == approx(11)
    assert seg.amr == approx(23 / 12)
    assert seg.upl == approx(11 + 2.66 * 23 / 12)  # 16.098333…
    assert seg.lpl == approx(11 - 2.66 * 23 / 12)
    assert seg.near_upl == approx(11 + 1.7733333333333334 * 23 / 12)  # 14.398888…
    assert seg.near_lpl == approx(11 - 1.7733333333333334 * 23 / 12)


def test_limits_symmetric_about_the_mean_and_near_is_two_thirds():
    seg = chart([3, 8, 1, 9, 4, 4, 7, 2, 6, 5, 8, 3, 5]).segments[0]
    assert seg.upl - seg.mean == approx(seg.mean - seg.lpl)
    assert seg.near_upl - seg.mean == approx((seg.upl - seg.mean) * 2 / 3)


@pytest.mark.parametrize(("n", "trial", "variation"), [(12, True, "not_enough_data"), (13, False, "common_cause")])
def test_trial_limits_below_13_points(n, trial, variation):
    values = ([1, -1] * 7)[:n]
    r = chart(values, target=100.0)
    assert r.segments[0].trial is trial
    assert r.segments[0].amr == approx(2)  # trial limits are still drawn
    assert r.variation == variation
    assert r.assurance == ("not_enough_data" if trial else "consistent_fail")


def test_screening_drops_one_huge_moving_range():
    # 10,11 ×3 then 30,31 ×3 then 30: MRs 1×5, 19, 1×6 → AMR 30/12 = 2.5; 19 ≥ 3.267 × 2.5 = 8.1675 is
    # dropped → AMR 11/11 = 1; sum 63 + 183 + 30 = 276 → mean 276/13
    values = [10, 11] * 3 + [30, 31] * 3 + [30]
    seg = chart(values).segments[0]
    assert seg.mean == approx(276 / 13)
    assert seg.amr == approx(1.0)
    assert seg.upl == approx(276 / 13 + 2.66)
    unscreened = chart(values, settings=SpcSettings(screening=False)).segments[0]
    assert unscreened.amr == approx(2.5)
    assert unscreened.upl == approx(276 / 13 + 2.66 * 2.5)


def test_screening_that_drops_every_non_zero_moving_range():
    # 5 ×12 then 20: MRs 0 ×11 and 15 → AMR 15/12 = 1.25; 15 ≥ 3.267 × 1.25 = 4.08 is dropped, the zeros
    # stay → AMR 0; mean 80/13; the limits collapse onto the mean, so every point is outside them
    r = chart([5] * 12 + [20])
    seg = r.segments[0]
    assert seg.amr == 0.0
    assert seg.mean == approx(80 / 13)
    assert seg.upl == seg.lpl == seg.near_upl == seg.near_lpl == approx(80 / 13)
    assert flags(r) == {**{i: ("outside_limits", "low") for i in range(12)}, 12: ("outside_limits", "high")}
    assert r.variation == "improvement"


def test_a_flat_series_has_no_limits_width_and_no_flags():
    # every MR is 0 and 0 ≥ 3.267 × 0: all are dropped → AMR 0; every point is on the mean
    r = chart([5] * 13)
    assert r.segments[0].amr == 0.0 and r.segments[0].upl == 5.0
    assert flags(r) == {}
    assert r.variation == "common_cause"


def test_fix_after_takes_the_limits_from_the_first_points_and_extends_them():
    # first 12: 1,-1 ×6 → mean 0, MRs eleven 2s → AMR 2 (the MR from the 12th to the 13th is not used)
    values = [1, -1] * 6 + [20, 21]
    r = chart(values, settings=SpcSettings(fix_after=12))
    seg = r.segments[0]
    assert (seg.n, seg.trial, seg.mean, seg.amr) == (14, False, 0.0, 2.0)
    assert seg.upl == approx(5.32)
    assert flags(r) == {12: ("outside_limits", "high"), 13: ("outside_limits", "high")}
    # without fix_after: sum 41 → mean 41/14; MRs 2 ×11, 21, 1 → AMR 45/13, 21 ≥ 3.267 × 45/13 dropped → 23/12
    full = chart(values).segments[0]
    assert full.mean == approx(41 / 14)
    assert full.amr == approx(23 / 12)


def test_fix_after_longer_than_the_segment_uses_every_point():
    seg = chart([1, -1] * 7, settings=SpcSettings(fix_after=20)).segments[0]
    assert (seg.n, seg.mean, seg.amr) == (14, 0.0, 2.0)


def test_single_point_segment_has_no_moving_range():
    r = chart([5.0])
    seg = r.segments[0]
    assert (seg.n, seg.mean, seg.amr, seg.upl, seg.lpl, seg.trial) == (1, 5.0, None, None, None, True)
    assert r.points[0].type == "common_cause"
    assert r.variation == "not_enough_data"


# --- shift ----------------------------------------------------------------------------------------

def test_a_point_on_the_mean_breaks_a_shift():
    # sum 12 − 12 = 0 → mean 0: 1,3,1 above, 0 on the mean, 3,1,3 above; then six below
    r = chart([1, 3, 1, 0, 3, 1, 3] + [-1, -3, -1, -3, -1, -3])
    assert r.segments[0].mean == 0.0
    assert flags(r) == {}
    # the same without the point on the mean: seven above, seven below → all flagged
    r = chart([1, 3, 1, 3, 1, 3, 1] + [-1, -3, -1, -3, -1, -3, -1])
    assert flags(r) == {**{i: ("shift", "high") for i in range(7)}, **{i: ("shift", "low") for i in range(7, 14)}}


SHIFT_SERIES = {
    # mean 0 in each (below part sums to minus the run); the below part is broken by points on the mean
    6: [-3, 0, -3, 0, -3, 0, -3] + [1, 3] * 3,
    7: [-3, 0, -3, 0, -3, 0, -4] + [1, 3] * 3 + [1],
    8: [-4, 0, -4, 0, -4, 0, -4] + [1, 3] * 4,
}


@pytest.mark.parametrize(("run", "run_length", "flagged"),
                         [(6, 6, 6), (7, 6, 7), (8, 6, 8), (6, 7, 0), (7, 7, 7), (8, 7, 8)])
@pytest.mark.parametrize("sign", [1, -1])
def test_shift_runs_of_exactly_6_7_8(run, run_length, flagged, sign):
    values = [sign * v for v in SHIFT_SERIES[run]]
    r = chart(values, settings=SpcSettings(run_length=run_length))
    assert r.segments[0].mean == 0.0
    n = len(values)
    sense = "high" if sign > 0 else "low"
    assert flags(r) == {i: ("shift", sense) for i in range(n - flagged, n)}
    assert r.variation == ("common_cause" if not flagged else "improvement" if sign > 0 else "concern")


# --- trend ----------------------------------------------------------------------------------------

def test_trend_of_seven_crossing_the_mean():
    # sum 0 → mean 0; -3 … 3 rises in six strict steps (seven points) and crosses the mean
    values = [-5, 5, -5, 5, -5, 5, -3, -2, -1, 0, 1, 2, 3]
    for run_length in (6, 7):
        r = chart(values, settings=SpcSettings(run_length=run_length))
        assert flags(r) == {i: ("trend", "high") for i in range(6, 13)}
        assert [p.type for p in r.points[6:]] == ["special_cause_improvement"] * 7
    down = chart([-v for v in values], direction="down")
    assert flags(down) == {i: ("trend", "low") for i in range(6, 13)}
    assert down.points[-1].type == "special_cause_improvement"
    assert chart([-v for v in values], direction="up").points[-1].type == "special_cause_concern"


def test_equal_neighbours_break_a_trend():
    # -3,-2,-1,-1,1,2,3: the repeated -1 splits the rise into runs of 3 and 4 points
    assert flags(chart([-5, 5, -5, 5, -5, 5, -3, -2, -1, -1, 1, 2, 3])) == {}
    assert flags(chart([-5, 5, -5, 5, -5, 5, -3, -2, -1, -1, 1, 2, 3], settings=SpcSettings(run_length=6))) == {}


def test_trend_of_six_points_needs_run_length_6():
    # 5 → -2 falls; then -2 … 3 is six points rising; mean 3/14, no shift (sides -,-,-,+,+,+)
    values = [-5, 5, -5, 5, -5, 5, -5, 5, -2, -1, 0, 1, 2, 3]
    assert flags(chart(values)) == {}
    assert flags(chart(values, settings=SpcSettings(run_length=6))) == {i: ("trend", "high") for i in range(8, 14)}


def test_turning_point_of_a_rise_then_a_fall_keeps_the_rise():
    # the 7 ends a rise of seven and starts a fall of seven; -3,3 first widen the limits
    # (sum 49 → mean 49/19; MRs 6 ×5, 2, 1 ×12 → AMR 44/18, none dropped; UPL ≈ 9.08)
    r = chart([-3, 3, -3, 3, -3, 3, 1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1])
    assert r.segments[0].amr == approx(44 / 18)
    assert flags(r)[12] == ("trend", "high")
    assert flags(r)[13] == ("trend", "low")


# --- two of three ---------------------------------------------------------------------------------

def test_two_of_three_on_both_sides():
    # sum 0 → mean 0; MRs: 2 ×9, 7+5+5+7, 2 ×5, 7+5+5+7, 2 ×5 = 86 over 27 → AMR 86/27;
    # near limits ±1.77333 × 86/27 = ±5.648; process limits ±8.473: 6 is near, not outside
    values = [1, -1] * 5 + [6, 1, 6] + [-1, 1] * 3 + [-6, -1, -6] + [1, -1] * 3
    r = chart(values)
    seg = r.segments[0]
    assert seg.amr == approx(86 / 27)
    assert seg.near_upl == approx(NEAR * 86 / 27)
    assert flags(r) == {10: ("two_of_three", "high"), 12: ("two_of_three", "high"),
                        19: ("two_of_three", "low"), 21: ("two_of_three", "low")}
    assert r.points[10].type == "special_cause_improvement"
    assert r.points[19].type == "special_cause_concern"
    assert r.points[11].rule is None  # the 1 between the two 6s is not beyond the near limit


def test_two_of_three_needs_all_three_on_one_side():
    # the same but the point between the 6s is on the mean (sum 0 → mean 0): no window of three points on
    # one side holds both 6s. MRs 2 ×9, 7+6+6+7, 2 ×5, 7+6+6+7, 2 ×5 = 90 over 27 → near ±5.911
    values = [1, -1] * 5 + [6, 0, 6] + [-1, 1] * 3 + [-6, 0, -6] + [1, -1] * 3
    r = chart(values)
    assert r.segments[0].near_upl == approx(NEAR * 90 / 27) and r.segments[0].near_upl < 6
    assert flags(r) == {}


@pytest.mark.parametrize("counts_beyond", [True, False])
def test_two_of_three_with_a_point_beyond_the_process_limit(counts_beyond):
    # 8,1,12 and -8,-1,-12: sum 0 → mean 0; MRs 2 ×9, 9+7+11+13, 2 ×5, 9+7+11+13, 2 ×5 = 118 over 27;
    # near ±1.77333 × 118/27 = ±7.750 (8 is beyond), process ±2.66 × 118/27 = ±11.625 (12 is beyond)
    values = [1, -1] * 5 + [8, 1, 12] + [-1, 1] * 3 + [-8, -1, -12] + [1, -1] * 3
    r = chart(values, settings=SpcSettings(two_of_three_counts_beyond_limits=counts_beyond))
    assert r.segments[0].near_upl == approx(NEAR * 118 / 27)
    assert r.segments[0].upl == approx(2.66 * 118 / 27)
    outside = {12: ("outside_limits", "high"), 21: ("outside_limits", "low")}
    if counts_beyond:  # MDC 2023: the 12 counts towards two-of-three, so the 8 is flagged with it
        assert flags(r) == {10: ("two_of_three", "high"), 19: ("two_of_three", "low"), **outside}
    else:  # NHSRplotthedots 0.2.2: only points between the near and the process limit count
        assert flags(r) == outside


# --- precedence -----------------------------------------------------------------------------------

def test_precedence_outside_limits_then_trend():
    # sum 49 → mean 3.5; MRs 10 ×6, 7, 1 ×5, 34 → AMR 106/13; 34 ≥ 3.267 × 106/13 dropped → AMR 72/12 = 6;
    # UPL 3.5 + 15.96 = 19.46: 40 is outside, and the end of the 8-point rise -6,1,…,6,40
    values = [-6, 4, -6, 4, -6, 4, -6, 1, 2, 3, 4, 5, 6, 40]
    r = chart(values)
    assert (r.segments[0].mean, r.segments[0].amr) == (3.5, 6.0)
    assert flags(r) == {**{i: ("trend", "high") for i in range(6, 13)}, 13: ("outside_limits", "high")}
    # the -6 that starts the rise is below the mean but its label is the trend's: increasing = high
    assert r.points[6].type == "special_cause_improvement"


def test_precedence_trend_over_shift():
    # sum 23 → mean 23/14 ≈ 1.64: 2 … 8 are seven points above the mean (a shift) and part of the rise
    # -6, 2, …, 8 (a trend); MRs 10 ×6, 8, 1 ×6 → AMR 74/13, UPL ≈ 16.8: nothing outside
    r = chart([-6, 4, -6, 4, -6, 4, -6, 2, 3, 4, 5, 6, 7, 8])
    assert flags(r) == {i: ("trend", "high") for i in range(6, 14)}
    # the same sum and mean with the rise broken by an equal pair: the shift shows
    r = chart([-6, 4, -6, 4, -6, 4, -6, 2, 3, 4, 4, 6, 7, 9])
    assert r.segments[0].mean == approx(23 / 14)
    assert flags(r) == {i: ("shift", "high") for i in range(7, 14)}


def test_precedence_two_of_three_over_shift():
    # sum 0 → mean 0; MRs 2 ×12, 0, 7 ×4, 0, 4 ×20, 2 = 134 over 39 → near ±1.77333 × 134/39 = ±6.093,
    # process ±9.139: the seven points 1,1,8,1,8,1,1 are a shift holding a two-of-three (the 8s)
    values = [1, -1] * 6 + [1, 1, 8, 1, 8, 1, 1] + [-3, 1] * 10 + [-1]
    r = chart(values)
    assert r.segments[0].amr == approx(134 / 39)
    assert flags(r) == {12: ("shift", "high"), 13: ("shift", "high"), 14: ("two_of_three", "high"),
                        15: ("shift", "high"), 16: ("two_of_three", "high"), 17: ("shift", "high"),
                        18: ("shift", "high")}


# --- rebases --------------------------------------------------------------------------------------

REBASE_SERIES = [-4, -1, -4, 1, 3, 1, 3] + [1, 3, 1, -3, -1, -3, 2]


def test_without_a_rebase_the_run_is_a_shift():
    # sum -1 → mean -1/14: 1,3,1,3 | 1,3,1 are seven points above it
    r = chart(REBASE_SERIES)
    assert flags(r) == {i: ("shift", "high") for i in range(3, 10)}


def test_rebase_gives_each_segment_its_limits_and_runs_do_not_cross():
    r = chart(REBASE_SERIES, settings=SpcSettings(rebases=(Rebase("2023-08", "restructure"),)))
    first, second = r.segments
    # first: sum -1 → mean -1/7; MRs 3,3,5,2,2,2 → AMR 17/6.  second: sum 0 → mean 0; MRs 2,2,4,2,2,5 → 17/6
    assert (first.start, first.end, first.n, first.trial) == ("2023-01", "2023-07", 7, True)
    assert (second.start, second.end, second.n, second.trial) == ("2023-08", "2024-02", 7, True)
    assert first.mean == approx(-1 / 7) and first.amr == approx(17 / 6)
    assert first.upl == approx(-1 / 7 + 2.66 * 17 / 6)
    assert second.mean == approx(0) and second.amr == approx(17 / 6)
    assert flags(r) == {}  # 4 above in the first, 3 in the second: the run does not cross the rebase
    assert [p.segment for p in r.points] == [0] * 7 + [1] * 7
    assert r.segment_of("2023-07") is first and r.segment_of("2023-08") is second
    assert r.segment_of("2024-03") is None
    assert r.variation == "not_enough_data"  # the judged month's segment has trial limits


def test_rebase_month_without_a_point_starts_the_segment_at_the_next_point():
    pts = [("2023-01", 1.0), ("2023-02", 2.0), ("2023-04", 3.0), ("2023-05", 4.0)]
    r = spc(pts, direction="up", settings=SpcSettings(rebases=(Rebase("2023-03", "gap"), Rebase("2022-01", "x"),
                                                                Rebase("2030-01", "later"))))
    assert [(s.start, s.end) for s in r.segments] == [("2023-01", "2023-02"), ("2023-04", "2023-05")]


def test_verdict_from_the_judged_months_segment_only():
    # a long first segment (13 points, common cause) then a rebase and three points: trial → no verdict
    values = [1, -1] * 6 + [1] + [50, 51, 52]
    r = chart(values, target=0.0, settings=SpcSettings(rebases=(Rebase("2024-02", "new service"),)))
    assert [s.n for s in r.segments] == [13, 3]
    assert (r.variation, r.assurance) == ("not_enough_data", "not_enough_data")
    assert flags(r) == {}  # 50 is not compared with the first segment's limits


# --- assurance ------------------------------------------------------------------------------------

# 1,-1 ×7: mean 0, AMR 2 → UPL 5.32, LPL -5.32
@pytest.mark.parametrize(("direction", "target", "assurance"), [
    ("up", 6.0, "consistent_fail"), ("up", -6.0, "consistent_pass"), ("up", 0.0, "hit_or_miss"),
    ("up", 5.32, "hit_or_miss"), ("up", -5.32, "hit_or_miss"),  # strict: on the limit is hit or miss
    ("up", 5.33, "consistent_fail"), ("up", -5.33, "consistent_pass"),
    ("down", 6.0, "consistent_pass"), ("down", -6.0, "consistent_fail"), ("down", 0.0, "hit_or_miss"),
    ("down", 5.32, "hit_or_miss"), ("down", -5.32, "hit_or_miss"),
    ("up", None, None), ("down", None, None),
])
def test_assurance(direction, target, assurance):
    r = chart([1, -1] * 7, direction=direction, target=target)
    assert r.segments[0].upl == 5.32
    assert r.assurance == assurance
    assert r.target == target


def test_assurance_needs_a_point_at_the_judged_month():
    r = chart([1, -1] * 7, target=6.0, judged_month="2025-01")
    assert (r.variation, r.assurance) == ("not_enough_data", "not_enough_data")


# --- variation at the judged month ----------------------------------------------------------------

PRECEDENCE = [-6, 4, -6, 4, -6, 4, -6, 1, 2, 3, 4, 5, 6, 40]  # 2023-01 … 2024-02, see above


@pytest.mark.parametrize(("direction", "judged", "variation"), [
    ("up", None, "improvement"),  # the last point, 2024-02: 40 outside the limits, high
    ("down", None, "concern"),
    ("up", "2023-06", "common_cause"),
    ("up", "2023-07", "improvement"),  # the -6 that starts the rise
    ("down", "2023-07", "concern"),
    ("up", "2022-12", "not_enough_data"),  # no point that month
])
def test_variation_is_the_judged_months_point(direction, judged, variation):
    r = chart(PRECEDENCE, direction=direction, judged_month=judged)
    assert r.variation == variation
    assert r.judged_month == (judged or "2024-02")


def test_no_points():
    r = spc([], direction="up", target=5.0)
    assert (r.segments, r.points, r.judged_month, r.variation, r.assurance) == ((), (), None, "not_enough_data",
                                                                                 "not_enough_data")


def test_point_lookup():
    r = chart([1, 2, 3])
    assert r.point("2023-02").value == 2.0
    assert r.point("2023-05") is None


# --- json -----------------------------------------------------------------------------------------

def test_to_json_is_section_6():
    r = chart([10, 11] * 3 + [30, 31] * 3 + [30], metric="audits_good_or_better",
              settings=SpcSettings(rebases=(Rebase("2023-01", "statutory direction"),)), target=40.0)
    d = json.loads(json.dumps(r.to_json()))
    assert list(d) == ["metric", "direction", "settings", "segments", "points", "variation", "assurance"]
    assert d["metric"] == "audits_good_or_better" and d["direction"] == "up"
    assert d["settings"] == {"run_length": 7, "screening": True, "two_of_three_counts_beyond_limits": True,
                             "fix_after": None, "rebases": [{"month": "2023-01", "reason": "statutory direction"}]}
    assert list(d["segments"][0]) == ["from", "to", "n", "mean", "amr", "upl", "lpl", "near_upl", "near_lpl",
                                      "trial"]
    assert d["segments"][0]["from"] == "2023-01" and d["segments"][0]["to"] == "2024-01"
    assert d["segments"][0]["mean"] == 276 / 13  # unrounded
    assert list(d["points"][0]) == ["month", "value", "rule", "sense", "type"]
    # mean 276/13 ≈ 21.2, AMR 1 after screening: 10 is below the LPL and 30 above the UPL
    assert d["points"][0] == {"month": "2023-01", "value": 10.0, "rule": "outside_limits", "sense": "low",
                              "type": "special_cause_concern"}
    assert d["points"][-1] == {"month": "2024-01", "value": 30.0, "rule": "outside_limits", "sense": "high",
                               "type": "special_cause_improvement"}
    assert (d["variation"], d["assurance"]) == ("improvement", "consistent_fail")  # 40 is above the UPL


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"run_length": 8}, "run_length must be 6 or 7"),
    ({"fix_after": 11}, "fix_after must be"),
    ({"fix_after": True}, "fix_after must be"),
])
def test_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpcSettings(**kwargs)


def test_rebase_month_is_checked():
    with pytest.raises(ValueError, match="YYYY-MM"):
        Rebase("2023-13", "x")


@pytest.mark.parametrize(("points", "kwargs", "message"), [
    ([("2023-02", 1.0), ("2023-01", 2.0)], {}, "month order"),
    ([("2023-01", 1.0), ("2023-01", 2.0)], {}, "month order"),
    ([("2023-01", float("nan"))], {}, "finite number"),
    ([("2023-01", None)], {}, "finite number"),
    ([("2023-01", "12%")], {}, "finite number"),
    ([("2023-01", 1.0)], {"target": float("inf")}, "the target must be a finite number"),
    ([("2023-1", 1.0)], {}, "YYYY-MM"),
    ([("2023-01", 1.0)], {"direction": "sideways"}, "direction"),
    ([("2023-01", 1.0)], {"judged_month": "soon"}, "YYYY-MM"),
])
def test_bad_points_are_refused(points, kwargs, message):
    with pytest.raises(ValueError, match=message):
        spc(points, **{"direction": "up", **kwargs})


# --- properties -----------------------------------------------------------------------------------

def expected_rules(v, seg, run_length, counts_beyond) -> list[tuple[str, str] | None]:
    """A brute-force reading of section 4 over every window, for one segment with its limits."""
    n, m = len(v), seg.mean
    side = [(x > m) - (x < m) for x in v]
    out = []
    for i in range(n):
        found: dict[str, int] = {}
        if seg.amr is not None and (v[i] > seg.upl or v[i] < seg.lpl):
            found["outside_limits"] = 1 if v[i] > seg.upl else -1
        for j in range(max(0, i - run_length + 1), min(i, n - run_length) + 1):  # earliest window first
            steps = {(v[k + 1] > v[k]) - (v[k + 1] < v[k]) for k in range(j, j + run_length - 1)}
            if len(steps) == 1 and 0 not in steps:
                found.setdefault("trend", steps.pop())
        if seg.amr is not None:
            def beyond(k, s):
                if not counts_beyond and (v[k] > seg.upl or v[k] < seg.lpl):
                    return False
                return v[k] > seg.near_upl if s > 0 else v[k] < seg.near_lpl
            for j in range(max(0, i - 2), min(i, n - 3) + 1):
                s = side[j]
                if s and side[j + 1] == s and side[j + 2] == s and beyond(i, s) \
                        and sum(beyond(k, s) for k in range(j, j + 3)) >= 2:
                    found["two_of_three"] = s
        for j in range(max(0, i - run_length + 1), min(i, n - run_length) + 1):
            if side[j] and all(side[k] == side[j] for k in range(j, j + run_length)):
                found["shift"] = side[j]
        rule = next((r for r in RULES if r in found), None)
        out.append(None if rule is None else (rule, "high" if found[rule] > 0 else "low"))
    return out


values_st = st.lists(st.integers(-20, 20), min_size=1, max_size=40)
settings_st = st.builds(SpcSettings, run_length=st.sampled_from([6, 7]), screening=st.booleans(),
                        two_of_three_counts_beyond_limits=st.booleans(),
                        fix_after=st.sampled_from([None, 12, 15]))


@settings(max_examples=300, deadline=None)
@given(values=values_st, s=settings_st, direction=st.sampled_from(["up", "down"]))
def test_flags_exactly_where_a_rule_holds(values, s, direction):
    r = chart(values, direction=direction, settings=s)
    seg = r.segments[0]
    assert [(p.rule, p.sense) if p.rule else None for p in r.points] == \
        expected_rules([float(x) for x in values], seg, s.run_length, s.two_of_three_counts_beyond_limits)
    better = "high" if direction == "up" else "low"
    for p in r.points:
        assert p.type == ("common_cause" if p.rule is None else
                          "special_cause_improvement" if p.sense == better else "special_cause_concern")
    if seg.amr is not None:
        assert seg.upl - seg.mean == approx(seg.mean - seg.lpl)
        assert seg.upl >= seg.near_upl >= seg.mean >= seg.near_lpl >= seg.lpl


@settings(max_examples=200, deadline=None)
@given(values=values_st, s=settings_st, shift=st.integers(-1000, 1000))
def test_adding_a_constant_moves_the_limits_and_keeps_the_flags(values, s, shift):
    a = chart(values, settings=s)
    b = chart([x + shift for x in values], settings=s)
    for sa, sb in zip(a.segments, b.segments):
        assert sb.mean == pytest.approx(sa.mean + shift)
        assert sb.amr == sa.amr
        if sa.amr is not None:
            assert sb.upl == pytest.approx(sa.upl + shift) and sb.lpl == pytest.approx(sa.lpl + shift)
    assert [(p.rule, p.sense, p.type) for p in a.points] == [(p.rule, p.sense, p.type) for p in b.points]


@settings(max_examples=200, deadline=None)
@given(values=values_st)
def test_run_length_6_flags_everything_run_length_7_does(values):
    six = chart(values, settings=SpcSettings(run_length=6))
    seven = chart(values, settings=SpcSettings(run_length=7))
    assert {p.month for p in seven.points if p.rule} <= {p.month for p in six.points if p.rule}


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.integers(-20, 20), min_size=2, max_size=40),
       cuts=st.sets(st.integers(1, 39), max_size=3), s=settings_st)
def test_a_rebase_splits_the_chart_into_independent_charts(values, cuts, s):
    ms = months(len(values))
    cuts = sorted(c for c in cuts if c < len(values))
    rebased = SpcSettings(s.run_length, s.screening, s.two_of_three_counts_beyond_limits, s.fix_after,
                          tuple(Rebase(ms[c], "test") for c in cuts))
    r = chart(values, settings=rebased)
    parts = [chart(values[a:b], first=ms[a], settings=s) for a, b in zip([0, *cuts], [*cuts, len(values)])]
    assert [seg for seg in r.segments] == [p.segments[0] for p in parts]
    assert [(p.rule, p.sense, p.type) for p in r.points] == \
        [(p.rule, p.sense, p.type) for part in parts for p in part.points]
    assert [p.segment for p in r.points] == [k for k, part in enumerate(parts) for _ in part.points]
