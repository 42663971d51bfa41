"""KPI computation (metrics.compute) against hand-computed values on small readable fixtures.

The fixtures in tests/fixtures/kpi/ (see the README there) go through the real ingest path into a
temporary store. Every expected value below is worked out by hand from those files; the comments
say which rows make up each numerator and denominator.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics import store
from metrics.compute import (
    BREAKDOWN_COLUMNS,
    BREAKDOWNS,
    FLAGS,
    SECONDARY_COLUMNS,
    SERIES_COLUMNS,
    _cohort_counts,
    _codes,
    _row_codes,
    breakdown,
    compute_series,
    secondary_series,
    window_start,
)
from metrics.ingest import ingest_bytes
from metrics.kpis import REGISTRY, SECONDARY
from metrics.settings import get_settings

from pg_support import ENGINES  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "kpi"
KEY = "test-key-0123456789abcdef"
NAN = math.nan


class Store:
    """A temporary store loaded through ingest, as the CLI and upload page do."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = store.connect(path)
        where = {"db_url": path} if isinstance(path, str) else {"db_path": path}
        self.settings = get_settings().model_copy(update={**where, "pseudonym_key": KEY})

    def load_bytes(self, data: bytes, name: str, **kwargs) -> int:
        r = ingest_bytes(self.conn, data, name, settings=self.settings, **kwargs)
        assert r.status == "accepted", [e.as_dict() for e in r.errors]
        return r.upload_id

    def load(self, name: str, **kwargs) -> int:
        return self.load_bytes((FIXTURES / name).read_bytes(), name, **kwargs)

    def load_text(self, text: str, name: str = "inline.csv", **kwargs) -> int:
        return self.load_bytes(text.encode(), name, **kwargs)

    def series(self, **kwargs) -> pd.DataFrame:
        return compute_series(self.conn, **kwargs)

    def one(self, metric: str, month: str, **kwargs) -> dict:
        s = compute_series(self.conn, metrics=[metric], **kwargs)
        rows = s[s["month"] == month]
        assert len(rows) == 1, f"{metric} {month}: {len(rows)} rows"
        return rows.iloc[0].to_dict()


def _target(request, tmp_path: Path) -> Path | str:
    """Where a test's store lives: a SQLite file, or a fresh PostgreSQL schema (the same tests, both engines)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_cluster").new_schema_url("kpi")
    return tmp_path / "kpi.sqlite"


@pytest.fixture(params=ENGINES)
def kpi_store(request, tmp_path) -> Store:
    s = Store(_target(request, tmp_path))
    yield s
    s.conn.close()


def _load_scenario(s: Store) -> Store:
    s.load("workforce_2024-03.csv", month="2024-03")
    s.load("workforce_2024-04_stale.csv")  # month from its snapshot_date 15/04/2024
    s.load("conferences_2024-01_to_03.csv", months=("2024-01", "2024-03"))
    s.load("assessments_2024-01_to_02.csv")
    s.load("audits_2024-01.csv")
    s.load("milestones_2024-03.csv", month="2024-03")
    s.load("complaints_2024-03.csv", month="2024-03")
    s.load("complaints_2024-04_empty.csv", month="2024-04")
    s.load("allocations_2024-02.csv", month="2024-02")
    s.load("figures_2023-12_to_2024-03.csv")
    return s


@pytest.fixture(scope="module", params=ENGINES)
def scenario(request, tmp_path_factory) -> Store:
    s = _load_scenario(Store(_target(request, tmp_path_factory.mktemp("scenario"))))
    yield s
    s.conn.close()


@pytest.fixture(scope="module")
def scenario_series(scenario) -> pd.DataFrame:
    return scenario.series()


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


# --- the full scenario ------------------------------------------------------------------------

SMALL, FIG, STALE, ZERO = "small_denominator", "figures_sourced", "snapshot_stale", "zero_denominator"

# (metric, month, value, numerator, denominator, source, flags). Every other KPI-month of the store's
# span (2023-12 .. 2024-04) has no data: value NaN, source None, flags ("month_missing",).
EXPECTED = [
    # workforce 2024-03, E = 31 Mar. In post, qualified: W01 0.1, W02 0.2, W03 1.0 (agency), W05 0.7
    # (agency; leaves 1 Apr = E+1), W06 1.0, W07 1.0 (agency), W11 0.3 (starts on E), W12 1.0 = 5.3 FTE;
    # agency 2.7. Not in post: W04 and W13 (leave on E), W08 (starts after E). W09/W10 are `other`.
    ("agency_rate", "2023-12", 25.0, 30, 120, "figures", (FIG,)),
    ("agency_rate", "2024-03", 2.7 / 5.3 * 100, 2.7, 5.3, "records", (SMALL,)),  # figures 99/100 ignored
    ("agency_rate", "2024-04", 50.0, 1.0, 2.0, "records", (SMALL, STALE)),  # snapshot_date 15 Apr < 30 Apr
    ("permanent_practitioners_fte", "2024-03", 0.6, 0.6, NAN, "records", ()),  # W01 0.1 + W02 0.2 + W11 0.3
    ("permanent_practitioners_fte", "2024-04", 1.0, 1.0, NAN, "records", (STALE,)),
    ("permanent_team_managers", "2024-03", 1, 1, NAN, "records", ()),  # W06 (W07 agency, W13 left on E)
    ("permanent_team_managers", "2024-04", 0, 0, NAN, "records", (STALE,)),  # snapshot exists, no TMs: 0
    # conferences: Jan CP1 f2f (1 Jan), CP2 virtual (31 Jan), CP3 hybrid ×2 children → 3/4;
    # Feb CP4 virtual (1 Feb), CP5 f2f (29 Feb), CP6 virtual → 1/3; Mar: the upload covers it, none held.
    ("face_to_face_conferences", "2023-12", 62.5, 5, 8, "figures", (SMALL, FIG)),
    ("face_to_face_conferences", "2024-01", 75.0, 3, 4, "records", (SMALL,)),  # figures 9/10 ignored
    ("face_to_face_conferences", "2024-02", 100 / 3, 1, 3, "records", (SMALL,)),
    ("face_to_face_conferences", "2024-03", NAN, 0, 0, "records", (ZERO,)),  # records win over figures 5/8
    # assessments: Jan A01–A10 (A10 completed 31 Jan), NFA A01, A04, A07; Feb A11 (1 Feb), A12 (29 Feb)
    ("assessment_nfa_rate", "2024-01", 30.0, 3, 10, "records", ()),  # 10 is not a small denominator
    ("assessment_nfa_rate", "2024-02", 100.0, 2, 2, "records", (SMALL,)),
    # allocations 2024-02, E = 29 Feb 2024, W from 1 Mar 2023. Cohort C1 (3), C2 (2: W1 ended 28 Feb
    # 2023, the day before W), C3 (3: W1 ended on 1 Mar 2023, W's first day), C4 (2: W1 twice), C6 (1:
    # ends 1 Mar 2024 = E+1), C7 (2: W2 starts after E). Not in cohort: C5 (ends on E), C8 (starts after E).
    ("three_plus_social_workers", "2024-02", 100 * 2 / 6, 2, 6, "records", (SMALL,)),
    # audits Jan: outstanding, good, good of 5
    ("audits_good_or_better", "2024-01", 60.0, 3, 5, "records", (SMALL,)),
    # milestones 2024-03: SEND due M5, M6; complete M5. Plan due M1 (due and completed on E), M2, M3
    # (completed after E); M4 not yet due.
    ("send_milestones_complete", "2024-03", 50.0, 1, 2, "records", (SMALL,)),
    ("improvement_plan_milestones_complete", "2024-03", 100 / 3, 1, 3, "records", (SMALL,)),
    # complaints, cut-off 1 Mar 2023: CO1 (open), CO3 (closed E+1). Not: CO2 (closed on E), CO4
    # (received on the cut-off), CO5 (closed before), CO6 (recent). 2024-04: an empty register → 0.
    ("historic_complaints_outstanding", "2023-12", 7, 7, NAN, "figures", (FIG,)),
    ("historic_complaints_outstanding", "2024-03", 2, 2, NAN, "records", ()),
    ("historic_complaints_outstanding", "2024-04", 0, 0, NAN, "records", ()),
]
MONTHS = ["2023-12", "2024-01", "2024-02", "2024-03", "2024-04"]


def test_series_shape(scenario_series):
    s = scenario_series
    assert tuple(s.columns) == SERIES_COLUMNS
    assert len(s) == len(REGISTRY) * len(MONTHS)  # one row per KPI per month, missing months included
    assert list(s["metric"].drop_duplicates()) == list(REGISTRY)  # registry order
    for _, g in s.groupby("metric", sort=False):
        assert list(g["month"]) == MONTHS
    assert s["value"].dtype == float and s["numerator"].dtype == float and s["denominator"].dtype == float
    assert all(isinstance(f, tuple) and set(f) <= set(FLAGS) for f in s["flags"])


@pytest.mark.parametrize("metric, month, value, numerator, denominator, source, flags", EXPECTED,
                         ids=[f"{e[0]}-{e[1]}" for e in EXPECTED])
def test_hand_computed(scenario_series, metric, month, value, numerator, denominator, source, flags):
    row = scenario_series.set_index(["metric", "month"]).loc[(metric, month)]
    assert _close(row["value"], value)
    assert _close(row["numerator"], numerator)
    assert _close(row["denominator"], denominator)
    assert row["source"] == source
    assert row["flags"] == flags


def test_every_other_month_is_missing(scenario_series):
    have = {(e[0], e[1]) for e in EXPECTED}
    rest = scenario_series[[(m, mo) not in have for m, mo in zip(scenario_series["metric"], scenario_series["month"])]]
    assert len(rest) == len(REGISTRY) * len(MONTHS) - len(EXPECTED)
    assert rest["value"].isna().all() and rest["numerator"].isna().all()
    assert rest["source"].isna().all()
    assert all(f == ("month_missing",) for f in rest["flags"])


def test_count_and_fte_kpis_have_no_denominator(scenario_series):
    for metric in ("permanent_practitioners_fte", "permanent_team_managers", "historic_complaints_outstanding"):
        assert scenario_series.loc[scenario_series["metric"] == metric, "denominator"].isna().all()


def test_no_value_is_a_zero_percent(scenario_series):
    """A zero denominator is 'no data', never 0%."""
    pct = scenario_series[scenario_series["metric"].map(lambda m: REGISTRY[m].unit == "percent")]
    assert not (pct["value"] == 0).any()
    assert pct.loc[pct["denominator"] == 0, "value"].isna().all()


@pytest.mark.parametrize("first, last, months", [
    ("2024-01", "2024-02", ["2024-01", "2024-02"]),
    ("2024-03", None, ["2024-03", "2024-04"]),
    (None, "2023-12", ["2023-12"]),
    ("2020-01", "2030-12", MONTHS),  # clipped to the months the store holds
    ("2025-01", None, []),
])
def test_first_last(scenario, first, last, months):
    s = scenario.series(first=first, last=last)
    assert sorted(set(s["month"])) == months
    assert tuple(s.columns) == SERIES_COLUMNS


def test_metric_selection_keeps_registry_order(scenario):
    s = scenario.series(metrics=["historic_complaints_outstanding", "agency_rate"])
    assert list(s["metric"].drop_duplicates()) == ["agency_rate", "historic_complaints_outstanding"]


def test_unknown_metric_raises(scenario):
    with pytest.raises(ValueError, match="Unknown KPI 'nope'"):
        scenario.series(metrics=["nope"])


def test_empty_store(kpi_store):
    s = kpi_store.series()
    assert s.empty and tuple(s.columns) == SERIES_COLUMNS
    assert secondary_series(kpi_store.conn).empty
    assert breakdown(kpi_store.conn, "agency_rate").empty


@pytest.mark.parametrize("cutoff, expected", [
    (None, 2),  # default 2023-03-01: CO1, CO3
    (dt.date(2023, 3, 2), 3),  # CO4, received 1 Mar 2023, is now before the cut-off
    (dt.date(2023, 3, 1), 2),
    (dt.date(2022, 5, 1), 0),  # received on the cut-off is not historic (CO1)
    (dt.date(2022, 5, 2), 1),
])
def test_historic_cutoff(scenario, cutoff, expected):
    row = scenario.one("historic_complaints_outstanding", "2024-03", historic_cutoff=cutoff)
    assert row["value"] == expected


# --- secondary measures and breakdowns ---------------------------------------------------------

SECONDARY_EXPECTED = [
    ("team_manager_permanence_pct", "2024-03", 50.0, 1, 2),  # W06 permanent, W07 agency
    ("team_manager_permanence_pct", "2024-04", NAN, 0, 0),
    ("conference_format_face_to_face", "2024-01", 1, 1, NAN),
    ("conference_format_hybrid", "2024-01", 2, 2, NAN),
    ("conference_format_virtual", "2024-01", 1, 1, NAN),
    ("conference_initial", "2024-01", 1, 1, NAN),
    ("conference_review", "2024-01", 3, 3, NAN),
    ("conference_format_face_to_face", "2024-02", 1, 1, NAN),
    ("conference_format_virtual", "2024-02", 2, 2, NAN),
    ("conference_initial", "2024-02", 2, 2, NAN),
    ("conference_review", "2024-03", 0, 0, NAN),
    ("mean_distinct_workers", "2024-02", 13 / 6, 13, 6),  # 3 + 2 + 3 + 2 + 1 + 2 over 6 children
    ("audits_inadequate_pct", "2024-01", 20.0, 1, 5),
]


@pytest.mark.parametrize("metric, month, value, numerator, denominator", SECONDARY_EXPECTED)
def test_secondary(scenario, metric, month, value, numerator, denominator):
    s = secondary_series(scenario.conn)
    assert tuple(s.columns) == SECONDARY_COLUMNS
    row = s.set_index(["metric", "month"]).loc[(metric, month)]
    assert _close(row["value"], value)
    assert _close(row["numerator"], numerator)
    assert _close(row["denominator"], denominator)


def test_secondary_registry_is_complete(scenario):
    s = secondary_series(scenario.conn)
    assert list(s["metric"].drop_duplicates()) == list(SECONDARY)
    assert all(m.parent in REGISTRY for m in SECONDARY.values())


BREAKDOWN_EXPECTED = [
    # (metric, by, month, group, value, numerator, denominator)
    ("agency_rate", "team", "2024-03", "Team A", 0.0, 0.0, 1.6),  # W01, W02, W06, W11
    ("agency_rate", "team", "2024-03", "Team B", 100.0, 2.7, 2.7),  # W03, W05, W07 (W10 is other)
    ("agency_rate", "team", "2024-03", "Not recorded", 0.0, 0.0, 1.0),  # W12 has no team
    ("permanent_practitioners_fte", "team", "2024-03", "Team A", 0.6, 0.6, NAN),
    ("permanent_team_managers", "team", "2024-03", "Team A", 1, 1, NAN),
    ("permanent_team_managers", "team", "2024-03", "Team B", 0, 0, NAN),
    ("assessment_nfa_rate", "team", "2024-01", "North", 100 * 2 / 6, 2, 6),
    ("assessment_nfa_rate", "team", "2024-01", "South", 25.0, 1, 4),
    ("assessment_nfa_rate", "team", "2024-02", "Not recorded", 100.0, 1, 1),
    ("audits_good_or_better", "team", "2024-01", "Team A", 100 * 2 / 3, 2, 3),
    ("audits_good_or_better", "team", "2024-01", "Team B", 50.0, 1, 2),
    ("audits_good_or_better", "grade", "2024-01", "good", 2, 2, 5),
    ("audits_good_or_better", "grade", "2024-01", "outstanding", 1, 1, 5),
    ("audits_good_or_better", "grade", "2024-01", "requires_improvement", 1, 1, 5),
    ("audits_good_or_better", "grade", "2024-01", "inadequate", 1, 1, 5),
    ("face_to_face_conferences", "format", "2024-01", "face_to_face", 1, 1, 4),
    ("face_to_face_conferences", "format", "2024-01", "hybrid", 2, 2, 4),
    ("face_to_face_conferences", "format", "2024-01", "virtual", 1, 1, 4),
    ("face_to_face_conferences", "format", "2024-03", "virtual", 0, 0, 0),
    ("face_to_face_conferences", "conference_type", "2024-01", "initial", 100.0, 1, 1),
    ("face_to_face_conferences", "conference_type", "2024-01", "review", 100 * 2 / 3, 2, 3),
    ("face_to_face_conferences", "conference_type", "2024-02", "initial", 50.0, 1, 2),
    ("face_to_face_conferences", "conference_type", "2024-03", "initial", NAN, 0, 0),
]


@pytest.mark.parametrize("metric, by, month, group, value, numerator, denominator", BREAKDOWN_EXPECTED)
def test_breakdown(scenario, metric, by, month, group, value, numerator, denominator):
    b = breakdown(scenario.conn, metric, by=by)
    assert tuple(b.columns) == BREAKDOWN_COLUMNS
    assert set(b["metric"]) == {metric}
    row = b.set_index(["month", "group"]).loc[(month, group)]
    assert _close(row["value"], value)
    assert _close(row["numerator"], numerator)
    assert _close(row["denominator"], denominator)


def test_breakdown_groups_add_up_to_the_kpi(scenario):
    kpi = scenario.series().set_index(["metric", "month"])
    for metric, bys in BREAKDOWNS.items():
        for by in bys:
            b = breakdown(scenario.conn, metric, by=by)
            if by in ("format", "grade"):
                continue  # counts per category, not the KPI's numerator
            sums = b.groupby("month")[["numerator"]].sum()
            for month, r in sums.iterrows():
                assert r["numerator"] == pytest.approx(kpi.loc[(metric, month), "numerator"]), (metric, by, month)


@pytest.mark.parametrize("metric, by, message", [
    ("three_plus_social_workers", "team", "has no breakdowns"),
    ("historic_complaints_outstanding", "team", "has no breakdowns"),
    ("face_to_face_conferences", "team", "cannot be broken down by 'team'"),
    ("agency_rate", "grade", "cannot be broken down by 'grade'"),
    ("nope", "team", "Unknown KPI"),
])
def test_unsupported_breakdown(scenario, metric, by, message):
    with pytest.raises(ValueError, match=message):
        breakdown(scenario.conn, metric, by=by)


# --- edges, one rule at a time ------------------------------------------------------------------

WORKFORCE_HEADER = "worker_id,role,agency,fte,team,start_date,end_date\n"


@pytest.mark.parametrize("start, end, in_post", [
    ("", "", True),
    ("2024-03-31", "", True),  # starts on E
    ("2024-04-01", "", False),  # starts after E
    ("", "2024-03-31", False),  # leaves on E: not in post
    ("", "2024-04-01", True),  # leaves on E+1: in post
    ("2024-03-01", "2024-03-30", False),
])
def test_in_post_at_e(kpi_store, start, end, in_post):
    kpi_store.load_text(WORKFORCE_HEADER + f"W1,case_holder,N,1.0,T,{start},{end}\n", month="2024-03")
    row = kpi_store.one("permanent_practitioners_fte", "2024-03")
    assert row["value"] == (1.0 if in_post else 0.0)
    assert row["source"] == "records"


@pytest.mark.parametrize("ftes, total", [
    ([0.1, 0.2], 0.3),
    ([0.1] * 10, 1.0),
    ([0.7, 0.1, 0.2], 1.0),
    ([0.33, 0.33, 0.34], 1.0),
    ([0.15, 0.15, 0.15], 0.45),
])
def test_fte_sums_with_decimals(kpi_store, ftes, total):
    rows = "".join(f"W{i},case_holder,N,{f},T,,\n" for i, f in enumerate(ftes))
    kpi_store.load_text(WORKFORCE_HEADER + rows, month="2024-03")
    assert kpi_store.one("permanent_practitioners_fte", "2024-03")["value"] == pytest.approx(total)


@pytest.mark.parametrize("role, agency, agency_rate, practitioners, managers", [
    ("other", "Y", NAN, 0.0, 0),  # `other` excluded everywhere: no qualified FTE at all
    ("other", "N", NAN, 0.0, 0),
    ("senior_manager", "Y", 100.0, 0.0, 0),
    ("middle_manager", "N", 0.0, 0.0, 0),
    ("team_manager", "N", 0.0, 0.0, 1),
    ("team_manager", "Y", 100.0, 0.0, 0),
    ("senior_practitioner", "N", 0.0, 1.0, 0),
    ("case_holder", "Y", 100.0, 0.0, 0),
    ("qualified_no_cases", "N", 0.0, 1.0, 0),
])
def test_roles(kpi_store, role, agency, agency_rate, practitioners, managers):
    kpi_store.load_text(WORKFORCE_HEADER + f"W1,{role},{agency},1.0,T,,\n", month="2024-03")
    s = kpi_store.series().set_index("metric")
    assert _close(s.loc["agency_rate", "value"], agency_rate)
    assert s.loc["permanent_practitioners_fte", "value"] == practitioners
    assert s.loc["permanent_team_managers", "value"] == managers


def test_team_managers_are_counted_once_per_worker(kpi_store):
    # worker_id is the workforce key, so the same id cannot repeat in a file; distinct ids count.
    kpi_store.load_text(WORKFORCE_HEADER + "W1,team_manager,N,0.5,T,,\nW2,team_manager,N,0.5,T,,\n", month="2024-03")
    assert kpi_store.one("permanent_team_managers", "2024-03")["value"] == 2


@pytest.mark.parametrize("e, start", [
    (dt.date(2024, 2, 29), dt.date(2023, 3, 1)),  # leap day E
    (dt.date(2023, 2, 28), dt.date(2022, 3, 1)),
    (dt.date(2025, 2, 28), dt.date(2024, 3, 1)),  # month end → month end: not 29 Feb 2024
    (dt.date(2024, 3, 31), dt.date(2023, 4, 1)),
    (dt.date(2024, 4, 30), dt.date(2023, 5, 1)),
    (dt.date(2024, 12, 31), dt.date(2024, 1, 1)),
    (dt.date(2024, 1, 31), dt.date(2023, 2, 1)),
    (dt.date(2024, 2, 28), dt.date(2023, 3, 1)),  # not a month end: same day a year earlier, + 1
    (dt.date(2024, 3, 15), dt.date(2023, 3, 16)),
])
def test_window_start(e, start):
    assert window_start(e) == start


ALLOC_HEADER = "child_id,worker_id,start_date,end_date,change_reason\n"


@pytest.mark.parametrize("month, earlier_end, counts", [
    ("2024-02", "2023-03-01", True),  # ends on W's first day (E = 29 Feb 2024): overlaps W
    ("2024-02", "2023-02-28", False),  # ends the day before W
    ("2023-02", "2022-03-01", True),  # E = 28 Feb 2023
    ("2023-02", "2022-02-28", False),
    ("2025-02", "2024-03-01", True),  # E = 28 Feb 2025, W from 1 Mar 2024
    ("2025-02", "2024-02-29", False),
    ("2024-06", "2023-07-01", True),
    ("2024-06", "2023-06-30", False),
])
def test_window_boundary(kpi_store, month, earlier_end, counts):
    e = pd.Period(month, "M").end_time.date().isoformat()
    kpi_store.load_text(
        ALLOC_HEADER
        + f"C1,W1,2020-01-01,{earlier_end},LEFTRL\n"
        + f"C1,W2,{earlier_end[:8]}28,{e},CASETR\n"  # W2 closes on E: does not keep C1 in the cohort
        + f"C1,W3,{e},,\n",  # W3 opens on E: C1 is in the cohort
        month=month)
    row = kpi_store.one("three_plus_social_workers", month)
    assert row["denominator"] == 1
    assert row["numerator"] == (1 if counts else 0)


@pytest.mark.parametrize("episodes, cohort, three_plus", [
    (["C1,W1,2024-01-01,2024-02-29"], 0, 0),  # ends on E: not in the cohort
    (["C1,W1,2024-01-01,2024-03-01"], 1, 0),  # ends on E+1: in the cohort
    (["C1,W1,2024-03-01,"], 0, 0),  # starts after E: not in the cohort
    (["C1,W1,2023-06-01,2023-07-01", "C1,W2,2023-07-02,2023-08-01", "C1,W1,2023-08-02,"], 1, 0),  # same worker twice
    (["C1,W1,2023-06-01,2023-07-01", "C1,W2,2023-07-02,2023-08-01", "C1,W3,2023-08-02,"], 1, 1),
    (["C1,W1,2023-06-01,", "C1,W2,2023-07-02,2023-08-01", "C1,W3,2024-03-01,"], 1, 0),  # W3 after E
    (["C1,W1,2023-06-01,", "C1,W2,2023-06-01,", "C1,W3,2023-06-01,"], 1, 1),  # three at once
])
def test_allocation_cohort(kpi_store, episodes, cohort, three_plus):
    kpi_store.load_text(ALLOC_HEADER + "".join(e + ",\n" for e in episodes), month="2024-02")
    row = kpi_store.one("three_plus_social_workers", "2024-02")
    assert row["denominator"] == cohort
    assert row["numerator"] == three_plus
    if cohort == 0:
        assert math.isnan(row["value"]) and row["flags"] == ("zero_denominator",)


CONF_HEADER = "conference_id,child_id,conference_type,conference_date,format\n"


@pytest.mark.parametrize("date, month", [
    ("2024-01-01", "2024-01"), ("2024-01-31", "2024-01"), ("2024-02-01", "2024-02"),
    ("2024-02-29", "2024-02"), ("2023-02-28", "2023-02"), ("2024-12-31", "2024-12"),
])
def test_conference_month_edges(kpi_store, date, month):
    kpi_store.load_text(CONF_HEADER + f"CP1,C1,initial,{date},hybrid\n")
    row = kpi_store.one("face_to_face_conferences", month)
    assert (row["value"], row["numerator"], row["denominator"]) == (100.0, 1, 1)


def test_event_upload_with_an_empty_month(kpi_store):
    kpi_store.load_text(CONF_HEADER + "CP1,C1,initial,2024-01-10,virtual\n", months=("2024-01", "2024-02"))
    jan, feb = (kpi_store.one("face_to_face_conferences", m) for m in ("2024-01", "2024-02"))
    assert jan["value"] == 0.0 and jan["source"] == "records"  # a real 0%: one conference, none in person
    assert math.isnan(feb["value"]) and feb["denominator"] == 0 and feb["source"] == "records"
    assert feb["flags"] == ("zero_denominator",)


MILESTONE_HEADER = "milestone_id,tor_ref,title,due_date,completed_date,status\n"


@pytest.mark.parametrize("due, completed, numerator, denominator", [
    ("2024-03-31", "2024-03-31", 1, 1),  # due on E, completed on E
    ("2024-03-31", "", 0, 1),
    ("2024-03-31", "2024-04-01", 0, 1),  # completed after E
    ("2024-04-01", "2024-03-01", 0, 0),  # not yet due
    ("2024-01-01", "2023-12-01", 1, 1),  # completed early
])
@pytest.mark.parametrize("tor, metric", [("2a", "improvement_plan_milestones_complete"),
                                         ("2b-vii", "send_milestones_complete")])
def test_milestones(kpi_store, tor, metric, due, completed, numerator, denominator):
    kpi_store.load_text(MILESTONE_HEADER + f"M1,{tor},A milestone,{due},{completed},\n"
                       + "M2,3,Another priority,2024-01-01,,\n", month="2024-03")
    row = kpi_store.one(metric, "2024-03")
    assert (row["numerator"], row["denominator"]) == (numerator, denominator)


COMPLAINT_HEADER = "complaint_id,received_date,closed_date,stage\n"


@pytest.mark.parametrize("received, closed, outstanding", [
    ("2023-02-28", "", 1),  # received the day before the cut-off, open
    ("2023-03-01", "", 0),  # received on the cut-off: not historic
    ("2022-01-01", "2024-03-31", 0),  # closed on E
    ("2022-01-01", "2024-04-01", 1),  # closed on E+1: still open at E
    ("2022-01-01", "2024-03-30", 0),
])
def test_complaints(kpi_store, received, closed, outstanding):
    kpi_store.load_text(COMPLAINT_HEADER + f"CO1,{received},{closed},1\n", month="2024-03")
    row = kpi_store.one("historic_complaints_outstanding", "2024-03")
    assert row["value"] == outstanding and math.isnan(row["denominator"])


# --- sources, supersession, staleness ----------------------------------------------------------

def test_figures_only_months(kpi_store):
    kpi_store.load("figures_2023-12_to_2024-03.csv")
    s = kpi_store.series()
    assert set(s["month"]) == {"2023-12", "2024-01", "2024-02", "2024-03"}
    got = s.dropna(subset=["value"]).set_index(["metric", "month"])
    assert got.loc[("agency_rate", "2024-03"), "value"] == 99.0
    assert got.loc[("face_to_face_conferences", "2024-01"), "value"] == 90.0
    assert got.loc[("historic_complaints_outstanding", "2023-12"), "value"] == 7
    assert set(got["source"]) == {"figures"}
    assert all("figures_sourced" in f for f in got["flags"])


def test_superseded_snapshot_is_not_counted(kpi_store):
    old = kpi_store.load("workforce_2024-03_superseded.csv", month="2024-03")
    assert kpi_store.one("agency_rate", "2024-03")["value"] == 25.0  # W01 agency 1.0 of 4.0
    kpi_store.load("workforce_2024-03.csv", month="2024-03")
    assert kpi_store.one("agency_rate", "2024-03")["value"] == pytest.approx(2.7 / 5.3 * 100)
    assert kpi_store.one("permanent_team_managers", "2024-03")["value"] == 1
    store.restore(kpi_store.conn, old)
    assert kpi_store.one("agency_rate", "2024-03")["value"] == 25.0
    assert kpi_store.one("permanent_team_managers", "2024-03")["value"] == 2


def test_superseded_events_are_not_counted(kpi_store):
    kpi_store.load("conferences_2024-01_to_02_superseded.csv", months=("2024-01", "2024-02"))
    kpi_store.load("conferences_2024-01_to_03.csv", months=("2024-01", "2024-03"))
    s = kpi_store.series(metrics=["face_to_face_conferences"]).set_index("month")
    assert (s.loc["2024-01", "numerator"], s.loc["2024-01", "denominator"]) == (3, 4)
    assert (s.loc["2024-02", "numerator"], s.loc["2024-02", "denominator"]) == (1, 3)


def test_partial_supersession_of_an_event_period(kpi_store):
    kpi_store.load("assessments_2024-01_to_02.csv")
    kpi_store.load("assessments_2024-02_replacement.csv", months=("2024-02", "2024-02"))
    s = kpi_store.series(metrics=["assessment_nfa_rate"]).set_index("month")
    assert (s.loc["2024-01", "numerator"], s.loc["2024-01", "denominator"]) == (3, 10)  # still the first upload
    assert (s.loc["2024-02", "numerator"], s.loc["2024-02", "denominator"]) == (1, 4)  # A12 only


@pytest.mark.parametrize("snapshot_date, stale", [
    ("15/04/2024", True),
    ("29/04/2024", True),
    ("30/04/2024", False),  # taken on E
    ("", False),  # no snapshot_date: the upload date (today) is after E
])
def test_snapshot_stale(kpi_store, snapshot_date, stale):
    kpi_store.load_text("worker_id,role,agency,fte,snapshot_date\n"
                       f"W1,case_holder,N,1.0,{snapshot_date}\n", month="2024-04")
    row = kpi_store.one("permanent_practitioners_fte", "2024-04")
    assert ("snapshot_stale" in row["flags"]) is stale


def test_stale_flag_only_for_snapshot_kinds(scenario_series):
    stale = scenario_series[scenario_series["flags"].map(lambda f: "snapshot_stale" in f)]
    assert set(stale["metric"].map(lambda m: REGISTRY[m].source_kind)) == {"workforce"}


# --- the fast path for allocations is exact ----------------------------------------------------

def test_codes_fixed_width_and_fallback():
    ids = ["aa", "bb", "aa", "cc", "bb"]
    codes = _codes("\x1f".join(ids), len(ids))
    assert codes is not None and list(pd.factorize(codes)[0]) == list(pd.factorize(pd.Series(ids))[0])
    assert _codes("\x1f".join(["a", "bb"]), 2) is None  # not one width
    assert _codes("\x1f".join(["é", "b"]), 2) is None  # not ASCII
    assert _codes("\x1f".join(["a\x1f", "bc"]), 2) is None  # a separator inside an id
    assert _codes("aa", 2) is None  # one id missing (group_concat skips NULL)


def test_row_codes_by_column_agree_with_hash():
    rng = np.random.default_rng(1)
    mat = rng.integers(0, 3, size=(500, 4)).astype(np.uint64)
    a = _row_codes(mat)
    b = _row_codes(mat, hashed=False)
    key = [tuple(r) for r in mat]
    assert list(pd.factorize(a)[0]) == list(pd.factorize(pd.Series(key))[0]) == list(pd.factorize(b)[0])


def test_cohort_counts():
    child = np.array([0, 0, 0, 1, 1, 2])
    worker = np.array([0, 1, 2, 0, 0, 1])
    is_open = np.array([False, False, True, True, False, False])
    assert _cohort_counts(child, worker, is_open) == (1, 2, 4)  # child 0: 3 workers, child 1: 1; 2 not open


def test_allocations_with_unusual_ids_take_the_exact_path(kpi_store):
    """Rows written without pseudonyms of one width (not via ingest) still compute exactly."""
    frame = pd.DataFrame({
        "child_id": ["c1", "c1", "c1", "child-two", "child-two"],
        "worker_id": ["w1", "w-22", "w333", "w1", "w1"],
        "start_date": ["2023-05-01", "2023-06-01", "2023-07-01", "2023-05-01", "2023-09-01"],
        "end_date": ["2023-05-31", "2023-06-30", None, "2023-08-31", None],
        "change_reason": [None] * 5,
    })
    store.write_upload(kpi_store.conn, kind="allocations", months=["2024-02"], frame=frame, sha256="0" * 64,
                       file_name="direct.csv", uploaded_by="test", warnings=[])
    row = kpi_store.one("three_plus_social_workers", "2024-02")
    assert (row["numerator"], row["denominator"]) == (1, 2)


# --- the command line ---------------------------------------------------------------------------

def _cli(capsys, *argv):
    from kpi_cli.main import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json(scenario, capsys):
    code, out, _ = _cli(capsys, "metrics", "--db", str(scenario.path), "--json")
    assert code == 0
    rows = json.loads(out)
    assert all(set(r) == {"metric", "month", "value", "numerator", "denominator", "source"} for r in rows)
    with_value = [e for e in EXPECTED if not math.isnan(e[2])]
    assert len(rows) == len(with_value)  # months without a value are left out
    by_key = {(r["metric"], r["month"]): r for r in rows}
    for metric, month, value, numerator, denominator, source, _ in with_value:
        r = by_key[(metric, month)]
        assert r["value"] == pytest.approx(value) and r["numerator"] == pytest.approx(numerator)
        assert r["source"] == source
        assert (r["denominator"] is None) == math.isnan(denominator)


def test_cli_filters(scenario, capsys):
    code, out, _ = _cli(capsys, "metrics", "--db", str(scenario.path), "--metric", "agency_rate",
                        "--from", "2024-01", "--to", "2024-03", "--json")
    assert code == 0
    assert [(r["metric"], r["month"]) for r in json.loads(out)] == [("agency_rate", "2024-03")]


def test_cli_table(scenario, capsys):
    code, out, _ = _cli(capsys, "metrics", "--db", str(scenario.path), "--metric", "historic_complaints_outstanding")
    assert code == 0
    assert "historic_complaints_outstanding" in out and "month_missing" in out and "figures" in out


@pytest.mark.parametrize("argv", [
    ("--metric", "nope"),
    ("--from", "2024-13"),
    ("--from", "2024-03", "--to", "2024-01"),
])
def test_cli_usage_errors(scenario, capsys, argv):
    code, out, err = _cli(capsys, "metrics", "--db", str(scenario.path), *argv)
    assert code == 2 and out == "" and err


# --- the demo data ------------------------------------------------------------------------------

DEMO_MONTHS = [str(p) for p in pd.period_range("2022-04", "2025-03", freq="M")]


@pytest.fixture(scope="module")
def demo_path(demo_copy_of, tmp_path_factory):
    return demo_copy_of(tmp_path_factory.mktemp("demo") / "kpi.sqlite")


@pytest.fixture(scope="module")
def demo_series(demo_path) -> pd.DataFrame:
    conn = store.connect(demo_path)
    try:
        return compute_series(conn)
    finally:
        conn.close()


def test_secondary_for_one_parent_equals_the_full_computation(demo_path):
    conn = store.connect(demo_path)
    try:
        full = secondary_series(conn)
        for parent in ("three_plus_social_workers", "face_to_face_conferences"):
            part = secondary_series(conn, parents=[parent])
            ids = {sid for sid, m in SECONDARY.items() if m.parent == parent}
            assert set(part["metric"]) == ids
            expected = full[full["metric"].isin(ids)].reset_index(drop=True)
            pd.testing.assert_frame_equal(part.reset_index(drop=True), expected)
    finally:
        conn.close()


def test_demo_has_every_kpi_for_every_month(demo_series):
    s = demo_series.set_index(["metric", "month"])
    for metric in REGISTRY:
        for month in DEMO_MONTHS:
            row = s.loc[(metric, month)]
            assert not math.isnan(row["value"]), (metric, month, row["flags"])
            assert row["source"] == "records", (metric, month)
        for month in ("2022-01", "2022-02", "2022-03"):
            row = s.loc[(metric, month)]
            assert not math.isnan(row["value"]), (metric, month)
            assert row["source"] == "figures" and "figures_sourced" in row["flags"], (metric, month)
    pct = demo_series[demo_series["metric"].map(lambda m: REGISTRY[m].unit == "percent")]
    assert pct["value"].between(0, 100).all()
