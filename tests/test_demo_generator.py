"""The synthetic demo generator: contract-valid, reproducible, and telling the intended story."""

from __future__ import annotations

import csv
import datetime as dt
import pathlib
import re
import time

import pandas as pd
import pytest

from metrics import demo
from metrics.contract import (
    EVENT_KINDS,
    KINDS,
    KPI_IDS,
    PERCENT_KPI_IDS,
    PRACTITIONER_ROLES,
    QUALIFIED_ROLES,
    SNAPSHOT_KINDS,
    TOR_REFS,
    normalise_header,
)

MONTHS = [p.strftime("%Y-%m") for p in pd.period_range("2022-04", "2025-03", freq="M")]
FIRST, LAST = MONTHS[0], MONTHS[-1]
RECORD_KINDS = SNAPSHOT_KINDS + EVENT_KINDS
ID_PATTERNS = {
    "child_id": r"C\d{6}",
    "worker_id": r"W\d{5}",
    "assessment_id": r"A\d{6}",
    "conference_id": r"CP\d{5}",
    "audit_id": r"AU\d{5}",
    "complaint_id": r"CO\d{5}",
    "milestone_id": r"M\d{3}",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[pathlib.Path, list[pathlib.Path], float]:
    out = tmp_path_factory.mktemp("demo")
    t0 = time.perf_counter()
    paths = demo.generate(out)
    return out, paths, time.perf_counter() - t0


@pytest.fixture(scope="module")
def out_dir(generated) -> pathlib.Path:
    return generated[0]


def month_end(month: str) -> dt.date:
    return (pd.Period(month, freq="M").end_time).date()


def read(out_dir: pathlib.Path, kind: str, month: str) -> pd.DataFrame:
    return pd.read_csv(out_dir / f"{kind}_{month}.csv", dtype=str, keep_default_na=False)


def date_columns(kind: str) -> list[str]:
    return [c.name for c in KINDS[kind].columns if c.type == "date"]


def in_post(df: pd.DataFrame, month: str) -> pd.DataFrame:
    e = month_end(month).isoformat()
    return df[(df.start_date <= e) & ((df.end_date == "") | (df.end_date > e))]


# ---------------------------------------------------------------------------------------------
# Files, reproducibility, speed

def test_same_seed_gives_identical_bytes(generated, tmp_path):
    out, paths, _ = generated
    again = demo.generate(tmp_path / "again")
    assert [p.name for p in again] == [p.name for p in paths]
    for a, b in zip(paths, again):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_another_seed_gives_other_data(generated, tmp_path):
    other = demo.generate(tmp_path / "other", seed=7, first="2022-04", last="2022-06")
    by_name = {p.name: p for p in generated[1]}
    assert (tmp_path / "other" / "workforce_2022-04.csv").read_bytes() != \
        by_name["workforce_2022-04.csv"].read_bytes()
    assert [p.name for p in other][0] == "figures_2022-01_2022-03.csv"


def test_a_file_per_kind_and_month_in_load_order(generated):
    out, paths, _ = generated
    names = [p.name for p in paths]
    assert names[0] == "figures_2022-01_2022-03.csv"
    expected = {f"{k}_{m}.csv" for k in RECORD_KINDS for m in MONTHS} | {names[0]}
    assert set(names) == expected
    assert len(names) == len(expected) == 1 + 7 * 36
    assert {p.name for p in out.iterdir()} == expected
    assert all(p.parent == out for p in paths)
    # month by month after the figures
    month_seq = [re.search(r"_(\d{4}-\d{2})\.csv$", n).group(1) for n in names[1:]]
    assert month_seq == sorted(month_seq)


def test_a_shorter_range(tmp_path):
    paths = demo.generate(tmp_path, first="2023-01", last="2023-02")
    names = [p.name for p in paths]
    assert names[0] == "figures_2022-10_2022-12.csv"
    assert len(names) == 1 + 7 * 2
    with pytest.raises(ValueError):
        demo.generate(tmp_path / "bad", first="2023-03", last="2023-01")


# ---------------------------------------------------------------------------------------------
# The contract

def test_headers_are_canonical(generated):
    for p in generated[1]:
        with p.open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        kind = p.name.split("_")[0]
        expected = [c.name for c in KINDS[kind].columns]
        if KINDS[kind].period == "snapshot":
            expected.append("snapshot_date")
        assert header == expected, p.name
        hm = KINDS[kind].header_map()
        assert all(hm[normalise_header(h)] == h for h in header)


def test_plain_utf8_comma_csv(generated):
    for p in generated[1][:20]:
        raw = p.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("utf-8")
        assert b"\r" not in raw


@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_values_follow_the_contract(out_dir, kind):
    spec = KINDS[kind]
    for month in MONTHS:
        df = read(out_dir, kind, month)
        assert len(df) > 0, (kind, month)
        for col in spec.columns:
            values = df[col.name]
            if col.required:
                assert (values != "").all(), (kind, month, col.name)
            present = values[values != ""]
            if col.type == "enum":
                assert set(present) <= set(col.values), (kind, month, col.name, set(present) - set(col.values))
            elif col.type == "bool":
                assert set(present) <= {"Y", "N"}
            elif col.type == "date":
                assert present.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
                pd.to_datetime(present, format="%Y-%m-%d")  # real dates
            elif col.type == "number":
                x = present.astype(float)
                assert ((x > 0) & (x <= 1)).all()
            elif col.type == "id" and col.name in ID_PATTERNS:
                assert present.str.fullmatch(ID_PATTERNS[col.name]).all(), (kind, col.name)


@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_keys_unique_and_dates_ordered(out_dir, kind):
    spec = KINDS[kind]
    for month in MONTHS:
        df = read(out_dir, kind, month)
        assert not df.duplicated(list(spec.key)).any(), (kind, month)
        for earlier, later in spec.ordered_dates:
            both = df[(df[earlier] != "") & (df[later] != "")]
            assert (both[later] >= both[earlier]).all(), (kind, month, earlier, later)


@pytest.mark.parametrize("kind", SNAPSHOT_KINDS)
def test_snapshots_know_nothing_after_their_month_end(out_dir, kind):
    for month in MONTHS:
        df = read(out_dir, kind, month)
        e = month_end(month).isoformat()
        assert (df.snapshot_date == e).all()
        for col in date_columns(kind):
            if kind == "milestones" and col == "due_date":
                continue  # plans are dated in the future
            assert (df[col][df[col] != ""] <= e).all(), (kind, month, col)


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_events_are_dated_in_their_month(out_dir, kind):
    date_col = KINDS[kind].event_date
    for month in MONTHS:
        df = read(out_dir, kind, month)
        assert (df[date_col].str[:7] == month).all()
    # ids unique across all months too
    key = KINDS[kind].key
    allm = pd.concat([read(out_dir, kind, m) for m in MONTHS])
    assert not allm.duplicated(list(key)).any()


def test_figures_file(out_dir):
    f = pd.read_csv(out_dir / "figures_2022-01_2022-03.csv", dtype=str, keep_default_na=False)
    assert list(f.columns) == ["month", "metric", "numerator", "denominator"]
    assert len(f) == 30
    for month in ("2022-01", "2022-02", "2022-03"):
        assert set(f[f.month == month].metric) == set(KPI_IDS)
    assert not f.duplicated(["month", "metric"]).any()
    assert (f.numerator.astype(float) >= 0).all()
    pct = f[f.metric.isin(PERCENT_KPI_IDS)]
    assert (pct.denominator.astype(float) > 0).all()
    assert (pct.numerator.astype(float) <= pct.denominator.astype(float)).all()
    assert (f[~f.metric.isin(PERCENT_KPI_IDS)].denominator == "").all()
    v = {(r.month, r.metric): float(r.numerator) / (float(r.denominator) if r.denominator else 1)
         for r in f.itertuples()}
    assert 0.5 <= v[("2022-03", "agency_rate")] <= 0.62
    assert 0.2 <= v[("2022-03", "three_plus_social_workers")] <= 0.4
    assert 40 <= v[("2022-03", "historic_complaints_outstanding")] <= 90


def test_figures_continue_into_the_first_record_level_month(out_dir):
    """The figures come from the same simulation: March 2022 sits next to April 2022."""
    f = pd.read_csv(out_dir / "figures_2022-01_2022-03.csv", dtype=str, keep_default_na=False)
    mar = f[f.month == "2022-03"].set_index("metric")
    w = in_post(read(out_dir, "workforce", FIRST), FIRST)
    w = w[w.role.isin(QUALIFIED_ROLES)]
    assert abs(float(mar.loc["agency_rate", "numerator"]) / float(mar.loc["agency_rate", "denominator"])
               - w[w.agency == "Y"].fte.astype(float).sum() / w.fte.astype(float).sum()) < 0.06


# ---------------------------------------------------------------------------------------------
# A plausible county

def test_workforce_size_and_persistence(out_dir):
    for month in MONTHS:
        w = read(out_dir, "workforce", month)
        assert 140 <= len(w) <= 170, month
        ip = in_post(w, month)
        q = ip[ip.role.isin(QUALIFIED_ROLES)]
        assert 120 <= q.fte.astype(float).sum() <= 145, month
        assert 13 <= (q.role == "team_manager").sum() <= 17, month
        assert (w.role == "other").sum() > 0
        # leavers listed are those who left in the month
        left = w[w.end_date != ""]
        assert (left.end_date.str[:7] == month).all()
    first = set(read(out_dir, "workforce", FIRST).worker_id)
    second = set(read(out_dir, "workforce", MONTHS[1]).worker_id)
    assert len(first & second) > 130  # the same people, month to month
    fte = pd.concat([read(out_dir, "workforce", m) for m in MONTHS]).fte.astype(float)
    assert set(fte) <= {1.0, 0.8, 0.6, 0.5}


def test_worker_records_stay_consistent_across_months(out_dir):
    allw = pd.concat([read(out_dir, "workforce", m) for m in MONTHS])
    stable = allw.groupby("worker_id")[["role", "agency", "fte", "team", "start_date"]].nunique()
    assert (stable == 1).all().all()
    ends = allw[allw.end_date != ""].groupby("worker_id").end_date.nunique()
    assert (ends == 1).all()


def test_allocated_workers_are_practitioners_in_post(out_dir):
    for month in (FIRST, "2023-09", LAST):
        a = read(out_dir, "allocations", month)
        open_eps = a[a.end_date == ""]
        w = in_post(read(out_dir, "workforce", month), month)
        holders = set(w[w.role.isin(PRACTITIONER_ROLES)].worker_id)
        assert set(open_eps.worker_id) <= holders
        assert 1300 <= open_eps.child_id.nunique() <= 1700
        assert open_eps.child_id.is_unique  # one allocated worker per child at month end
        assert 2500 <= len(a) <= 5000
        assert set(a[a.end_date != ""].change_reason) <= {"LEFTRL", "ORGRST", "CASETR", "CASECL"}
        assert (a[a.end_date == ""].change_reason == "").all()


def test_allocation_history_is_stable_between_snapshots(out_dir):
    """An episode closed in an earlier snapshot is shown the same way later (history is not rewritten)."""
    a1 = read(out_dir, "allocations", "2023-06")
    a2 = read(out_dir, "allocations", "2023-07")
    key = ["child_id", "worker_id", "start_date"]
    closed1 = a1[a1.end_date != ""].drop(columns="snapshot_date")
    m = closed1.merge(a2.drop(columns="snapshot_date"), on=key, suffixes=("", "_later"))
    assert len(m) > 1000
    assert (m.end_date == m.end_date_later).all()
    assert (m.change_reason == m.change_reason_later).all()


def test_event_volumes(out_dir):
    ass = [len(read(out_dir, "assessments", m)) for m in MONTHS]
    assert all(130 <= n <= 220 for n in ass)
    assert 1800 <= sum(ass[:12]) <= 2300
    conf = [read(out_dir, "conferences", m) for m in MONTHS]
    assert all(35 <= len(c) <= 80 for c in conf)
    allc = pd.concat(conf)
    sizes = allc.groupby("conference_id").child_id.nunique()
    assert sizes.max() <= 3 and (sizes > 1).mean() > 0.2  # siblings share a conference
    per_conf = allc.groupby("conference_id")[["conference_type", "conference_date", "format"]].nunique()
    assert (per_conf == 1).all().all()
    assert 0.28 <= (allc.conference_type == "initial").mean() <= 0.42
    aud = [len(read(out_dir, "audits", m)) for m in MONTHS]
    assert all(20 <= n <= 35 for n in aud)
    a = pd.concat([read(out_dir, "assessments", m) for m in MONTHS])
    gap = (pd.to_datetime(a.completed_date) - pd.to_datetime(a.start_date)).dt.days
    assert gap.between(0, 60).all()


def test_milestones_register(out_dir):
    ids = None
    for month in MONTHS:
        m = read(out_dir, "milestones", month)
        assert 35 <= len(m) <= 50
        ids = ids or set(m.milestone_id)
        assert set(m.milestone_id) == ids  # every milestone in every month
        assert set(m.tor_ref) == set(TOR_REFS)
        assert ((m.completed_date != "") == (m.status == "complete")).all()
        e = month_end(month).isoformat()
        overdue = m[(m.completed_date == "") & (m.due_date <= e)]
        assert (overdue.status == "off_track").all()
    last = read(out_dir, "milestones", LAST)
    assert (last.tor_ref == "2a").sum() >= 12 and (last.tor_ref == "2b-vii").sum() >= 10
    assert last.due_date.min() < "2022-04" and last.due_date.max() >= "2025-04"
    done = last[last.completed_date != ""]
    on_time = (done.completed_date <= done.due_date).mean()
    assert 0.65 <= on_time <= 0.92
    assert last.title.str.len().max() <= 60
    assert set(read(out_dir, "milestones", FIRST).status) >= {"complete", "not_started"}


def test_complaints_register(out_dir):
    new_per_month = []
    for month in MONTHS:
        c = read(out_dir, "complaints", month)
        new_per_month.append((c.received_date.str[:7] == month).sum())
    assert all(4 <= n <= 10 for n in new_per_month)
    last = read(out_dir, "complaints", LAST)
    recent = last[(last.received_date >= "2023-03-01") & (last.closed_date != "")]
    days = (pd.to_datetime(recent.closed_date) - pd.to_datetime(recent.received_date)).dt.days
    assert (days <= 95).mean() > 0.7  # new complaints mostly close within three months


def test_no_personal_data_columns(generated):
    allowed = {c.name for k in KINDS.values() for c in k.columns} | {"snapshot_date"}
    for p in generated[1]:
        with p.open(encoding="utf-8") as fh:
            assert set(next(csv.reader(fh))) <= allowed


# ---------------------------------------------------------------------------------------------
# The story

def agency_rate(out_dir, month) -> float:
    w = in_post(read(out_dir, "workforce", month), month)
    q = w[w.role.isin(QUALIFIED_ROLES)]
    fte = q.fte.astype(float)
    return fte[q.agency == "Y"].sum() / fte.sum()


def permanent_team_managers(out_dir, month) -> int:
    w = in_post(read(out_dir, "workforce", month), month)
    return w[(w.role == "team_manager") & (w.agency == "N")].worker_id.nunique()


def three_plus_share(out_dir, month) -> float:
    a = read(out_dir, "allocations", month)
    e = pd.Timestamp(month_end(month))
    w0 = e - pd.DateOffset(months=12) + pd.Timedelta(days=1)
    start = pd.to_datetime(a.start_date)
    end = pd.to_datetime(a.end_date.replace("", None))
    cohort = a[(start <= e) & (end.isna() | (end > e))].child_id.unique()
    window = a[(start <= e) & (end.isna() | (end >= w0))]
    n = window.groupby("child_id").worker_id.nunique().reindex(cohort)
    return float((n >= 3).mean())


def in_person_share(out_dir, months) -> float:
    c = pd.concat([read(out_dir, "conferences", m) for m in months])
    return float(c.format.isin(["face_to_face", "hybrid"]).mean())


def nfa_rate(out_dir, months) -> float:
    a = pd.concat([read(out_dir, "assessments", m) for m in months])
    return float((a.nfa == "Y").mean())


def historic_open(out_dir, month) -> int:
    c = read(out_dir, "complaints", month)
    return int(((c.received_date < "2023-03-01") & (c.closed_date == "")).sum())


def test_story_agency_falls_and_permanent_managers_rise(out_dir):
    assert 0.50 <= agency_rate(out_dir, FIRST) <= 0.60
    assert 0.50 <= agency_rate(out_dir, "2022-12") <= 0.60
    assert 0.15 <= agency_rate(out_dir, LAST) <= 0.25
    assert permanent_team_managers(out_dir, FIRST) <= 7
    assert permanent_team_managers(out_dir, LAST) >= 12


def test_story_fewer_changes_of_social_worker(out_dir):
    first, last = three_plus_share(out_dir, FIRST), three_plus_share(out_dir, LAST)
    assert 0.25 <= first <= 0.36
    assert 0.08 <= last <= 0.17
    assert three_plus_share(out_dir, "2023-09") < first


def test_story_conferences_back_in_the_room(out_dir):
    assert in_person_share(out_dir, MONTHS[:9]) < 0.2
    assert in_person_share(out_dir, MONTHS[-3:]) > 0.55


def test_story_fewer_assessments_end_in_nfa(out_dir):
    assert 0.34 <= nfa_rate(out_dir, MONTHS[:9]) <= 0.42
    assert 0.21 <= nfa_rate(out_dir, MONTHS[-6:]) <= 0.30


def test_story_audits_improve(out_dir):
    early = pd.concat([read(out_dir, "audits", m) for m in MONTHS[:6]])
    late = pd.concat([read(out_dir, "audits", m) for m in MONTHS[-6:]])
    gob = lambda d: d.grade.isin(["good", "outstanding"]).mean()  # noqa: E731
    inad = lambda d: (d.grade == "inadequate").mean()  # noqa: E731
    assert gob(early) < 0.3 and gob(late) > 0.45
    assert inad(early) > 0.22 and inad(late) < 0.15


def test_story_historic_complaints_resolved(out_dir):
    peak = historic_open(out_dir, "2023-02")
    assert 60 <= peak <= 100
    assert historic_open(out_dir, LAST) < 12
    assert historic_open(out_dir, "2024-03") < peak
