"""Registers (metrics.registers; issue 13 items 2 and 3): the items behind a KPI at a month against
hand-computed fixtures, loaded through ingest as an upload is; team breakdowns at an earlier month against a
hand count; the public pack's register tables never give a small count away (independent brute force)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path

import pandas as pd
import pytest

from metrics import registers as R
from metrics import store
from metrics.compute import compute_series
from metrics.ingest import ingest_bytes
from metrics.settings import get_settings

KEY = "test-key-0123456789abcdef"
CUTOFF = dt.date(2023, 3, 1)


class Store:
    def __init__(self, path: Path) -> None:
        self.conn = store.connect(path)
        self.settings = get_settings().model_copy(update={"db_path": path, "pseudonym_key": KEY})

    def load(self, text: str, **kwargs) -> None:
        r = ingest_bytes(self.conn, text.encode(), "inline.csv", settings=self.settings, **kwargs)
        assert r.status == "accepted", [e.as_dict() for e in r.errors]

    def value(self, metric: str, month: str) -> dict:
        s = compute_series(self.conn, metrics=[metric], historic_cutoff=CUTOFF)
        return s[s["month"] == month].iloc[0].to_dict()

    def register(self, metric: str, month: str):
        return R.register_at(self.conn, metric, month, cutoff=CUTOFF,
                             series=compute_series(self.conn, historic_cutoff=CUTOFF))


@pytest.fixture
def st_(tmp_path):
    s = Store(tmp_path / "kpi.sqlite")
    yield s
    s.conn.close()


# --- milestones: E = 30 Apr 2024 -------------------------------------------------------------------------

MILESTONES = """milestone_id,tor_ref,title,due_date,completed_date,status
M1,2a,Due on the last day,2024-04-30,,on_track
M2,2a,Done two weeks late,2024-03-31,2024-04-15,complete
M3,2a,Done after the month,2024-02-29,2024-05-02,complete
M4,2a,Not yet due at risk,2024-06-30,,at_risk
M5,2a,Not yet due off track,2024-06-30,,off_track
M6,2a,Done on its due date,2024-03-31,2024-03-31,complete
M7,2a,Not yet due on track,2024-05-01,,on_track
M8,2b-vii,SEND item overdue,2024-01-31,,off_track
M9,2a,Done early,2024-04-30,2024-04-01,complete
"""


def test_milestone_register_by_hand(st_):
    st_.load(MILESTONES, month="2024-04")
    reg = st_.register("improvement_plan_milestones_complete", "2024-04")
    got = [(r.state, r.title, r.days) for r in reg.milestones.itertuples(index=False)]
    assert got == [
        ("overdue", "Done after the month", 61),  # 29 Feb → 30 Apr 2024; completed after E: still overdue at E
        ("overdue", "Due on the last day", 0),  # due on E and not done by E: overdue, by 0 days
        ("completed_late", "Done two weeks late", 15),
        ("off_track", "Not yet due off track", None),
        ("at_risk", "Not yet due at risk", None),
    ]
    late = reg.milestones[reg.milestones["state"] == "completed_late"].iloc[0]
    assert late["completed_date"] == dt.date(2024, 4, 15) and late["due_date"] == dt.date(2024, 3, 31)
    # the register explains the percentage: due by E = M1, M2, M3, M6, M9 (5); complete by E = M2, M6, M9 (3)
    v = st_.value("improvement_plan_milestones_complete", "2024-04")
    overdue = (reg.milestones["state"] == "overdue").sum()
    assert (v["denominator"], v["numerator"]) == (5, 3) and overdue == 2
    send = st_.register("send_milestones_complete", "2024-04").milestones
    assert list(send["title"]) == ["SEND item overdue"] and send.iloc[0]["days"] == 90  # 29 + 31 + 30


# --- complaints: E = 30 Apr 2024, cut-off 1 Mar 2023 ----------------------------------------------------

COMPLAINTS = """complaint_id,received_date,closed_date,stage
K1,2022-06-01,2024-04-30,1
K2,2022-06-01,2024-05-01,1
K3,2023-03-01,,2
K4,2023-02-28,,2
K5,2021-04-30,,ombudsman
K6,2020-01-15,,
K7,2022-11-01,2024-03-31,3
"""


def test_complaints_register_by_hand(st_):
    st_.load(COMPLAINTS, month="2024-04")
    reg = st_.register("historic_complaints_outstanding", "2024-04")
    got = [(r.stage, r.age_days, r.age_band) for r in reg.complaints.itertuples(index=False)]
    assert got == [
        ("Not recorded", 1567, "3 years or more"),  # K6
        ("Ombudsman", 1096, "3 years or more"),  # K5: three years and a leap day
        ("Stage 1", 699, "1 to 2 years"),  # K2: closed 1 May, after E — still open at E
        ("Stage 2", 427, "1 to 2 years"),  # K4: received the day before the cut-off
    ]  # K1 closed exactly on E: closed; K3 received on the cut-off: not historic; K7 closed before E
    assert st_.value("historic_complaints_outstanding", "2024-04")["value"] == len(got)
    table = R.complaints_table(reg.complaints)
    assert table.loc["Total", "Total"] == 4 and table.loc["Stage 1", "1 to 2 years"] == 1
    assert table.loc["Stage 3", "Total"] == 0 and "Not recorded" in table.index
    assert list(reg.burndown["month"])[0] == "2023-03" and reg.burndown["month"].iloc[-1] == "2024-04"
    assert reg.burndown["outstanding"].iloc[-1] == 4 and math.isnan(reg.burndown["outstanding"].iloc[0])
    assert not {"complaint_id", "child_id"} & set(reg.complaints.columns)


# --- children and their social workers: E = 30 Apr 2024, W = 1 May 2023 … 30 Apr 2024 --------------------

ALLOCATIONS = """child_id,worker_id,start_date,end_date,change_reason
C1,W1,2023-01-01,2023-06-30,LEFTRL
C1,W2,2023-07-01,2023-12-31,orgrst
C1,W3,2024-01-01,,
C2,W1,2023-01-01,2023-04-30,LEFTRL
C2,W2,2023-05-01,,
C3,W3,2022-01-01,2024-04-30,CASECL
C4,W4,2024-02-01,,
C5,W9,2023-09-01,,
C5,W1,2023-06-01,2023-08-31,ZZTOP
"""
WORKFORCE = """worker_id,role,agency,fte,team,start_date,end_date
W1,case_holder,N,1,North,2020-01-01,
W2,case_holder,N,1,South,2020-01-01,
W3,case_holder,N,1,North,2020-01-01,
W4,case_holder,Y,1,,2020-01-01,
"""


def test_worker_counts_teams_and_reasons_by_hand(st_):
    st_.load(ALLOCATIONS, month="2024-04")
    st_.load(WORKFORCE, month="2024-04")
    reg = st_.register("three_plus_social_workers", "2024-04")
    # C1: W1 (to 30 Jun 2023, overlaps W), W2, W3 → 3, team of W3 = North; C2: W1 ended 30 Apr 2023 (before W)
    # → 1 (W2, South); C3 closed on E: not in the cohort; C4: W4, no team → Not recorded; C5: W9 (not in the
    # workforce) and W1 → 2, Not recorded.
    children = sorted(map(tuple, reg.children[["team", "workers"]].itertuples(index=False)))
    assert children == [("North", 3), ("Not recorded", 1), ("Not recorded", 2), ("South", 1)]
    v = st_.value("three_plus_social_workers", "2024-04")
    assert (v["numerator"], v["denominator"]) == (1, 4)
    dist = R.worker_distribution(reg.children)
    assert dict(zip(dist["band"], dist["children"])) == {"1": 2, "2": 1, "3": 1, "4": 0, "5 or more": 0}
    teams = R.workers_by_team(reg.children)
    assert list(teams["team"]) == ["North", "South", "Not recorded"]
    assert list(teams["cohort"]) == [1, 1, 2] and list(teams["three_plus"]) == [1, 0, 0]
    # changes dated in W for cohort children: C1 LEFTRL (30 Jun 2023), C1 ORGRST (31 Dec 2023), C5 ZZTOP
    # (31 Aug 2023); C2's LEFTRL ended 30 Apr 2023, before W; C3 is not in the cohort
    reasons = dict(zip(reg.reasons["reason"], reg.reasons["changes"]))
    assert reasons == {"The social worker left the role": 1, "Organisational restructure": 1, "Other: ZZTOP": 1}
    assert not {"child_id", "worker_id"} & (set(reg.children.columns) | set(reg.reasons.columns))


@pytest.mark.parametrize("code, words", [("LEFTRL", "The social worker left the role"),
                                         ("orgrst", "Organisational restructure"), ("", "No reason recorded"),
                                         (None, "No reason recorded"), ("XYZ1", "Other: XYZ1")])
def test_reason_words(code, words):
    assert R.reason_words(code) == words


def test_tor_refs_of_the_milestone_kpis():
    assert R.tor_ref("send_milestones_complete") == "2b-vii"
    assert R.tor_ref("improvement_plan_milestones_complete") == "2a"
    assert R.register_kind("agency_rate") is None


# --- team breakdowns at an earlier month ---------------------------------------------------------------

WF_MARCH = """worker_id,role,agency,fte,team,start_date,end_date
A1,case_holder,Y,1,North,2020-01-01,
A2,case_holder,N,0.5,North,2020-01-01,
A3,case_holder,N,1,North,2020-01-01,2024-03-15
A4,case_holder,Y,0.8,South,2020-01-01,
A5,team_manager,N,1,South,2020-01-01,
A6,other,Y,1,South,2020-01-01,
"""
WF_APRIL = """worker_id,role,agency,fte,team,start_date,end_date
A1,case_holder,N,1,North,2020-01-01,
A4,case_holder,N,1,South,2020-01-01,
"""


def test_team_breakdown_at_an_earlier_month_equals_a_hand_count(st_):
    from metrics.compute import breakdown

    st_.load(WF_MARCH, month="2024-03")
    st_.load(WF_APRIL, month="2024-04")
    frame = breakdown(st_.conn, "agency_rate", by="team")
    march = R.team_view(frame, "agency_rate", "2024-03").set_index("group")
    # North in post at 31 Mar: A1 agency 1, A2 0.5 (A3 left 15 Mar) → 1 of 1.5; South: A4 0.8 of A4 0.8 + A5 1
    # (A6 'other' is not a qualified role)
    assert march.loc["North", "numerator"] == 1 and march.loc["North", "denominator"] == 1.5
    assert march.loc["South", "numerator"] == pytest.approx(0.8) and march.loc["South", "denominator"] == 1.8
    assert march.loc["North", "value"] == pytest.approx(100 / 1.5)
    assert march["small"].all()  # denominators under 10: flagged
    assert march.loc["North", "trend"] == [pytest.approx(100 / 1.5)]  # nothing after the month shown
    april = R.team_view(frame, "agency_rate", "2024-04").set_index("group")
    assert april.loc["North", "trend"] == [pytest.approx(100 / 1.5), 0.0]
    wide = R.team_trajectory(frame, "2024-04")
    assert list(wide.index) == ["2024-03", "2024-04"] and set(wide.columns) == {"North", "South"}
    count = R.team_view(breakdown(st_.conn, "permanent_team_managers", by="team"), "permanent_team_managers",
                        "2024-03").set_index("group")
    assert count.loc["South", "numerator"] == 1 and bool(count.loc["South", "small"])
    assert R.team_view(frame, "agency_rate", "2023-01").empty


# --- public pack: the register tables never give a small count away -------------------------------------


def _brute_force_pins(values: dict, groups: list, shown: dict, known: set) -> list[str]:
    """Independent check: every assignment of the unshown cells consistent with what an attacker sees (shown
    and known cells exact, a small unshown cell 1–5, a non-small unshown cell ≥ 6 — told apart, cautiously —,
    sums holding) — a small cell is recoverable when it takes only one value over all of them."""
    hidden = [c for c in values if not shown.get(c, False) and c not in known]
    top = int(max(values.values())) + 1

    def domain(c):
        return range(1, 6) if 0 < values[c] < 6 else range(6, max(top, 7))

    seen: dict[str, set] = {c: set() for c in hidden}
    for combo in itertools.product(*(domain(c) for c in hidden)):
        guess = {**values, **dict(zip(hidden, combo))}
        if all(abs(guess[t] - sum(guess[p] for p in ps)) < 1e-9 for t, ps in groups):
            for c, v in zip(hidden, combo):
                seen[c].add(v)
    return [c for c in hidden if 0 < values[c] < 6 and len(seen[c]) <= 1]


@pytest.mark.parametrize("stages, ages, total_known", [
    ({"Stage 1": 9, "Stage 2": 6, "Stage 3": 2, "Ombudsman": 1}, {"<1y": 0, "1-2y": 1, "2-3y": 6, "3y+": 11}, True),
    ({"Stage 1": 3, "Stage 2": 7, "Stage 3": 0, "Ombudsman": 0}, {"<1y": 3, "1-2y": 7, "2-3y": 0, "3y+": 0}, True),
    ({"Stage 1": 12, "Stage 2": 1, "Stage 3": 0, "Ombudsman": 0}, {"<1y": 8, "1-2y": 5, "2-3y": 0, "3y+": 0}, True),
    ({"a": 4, "b": 9, "c": 2}, {}, False),
    ({"a": 1, "b": 2}, {"x": 3}, True),
])
def test_register_tables_never_give_a_small_count_away(stages, ages, total_known):
    from reports.disclosure import breakdown_cells

    total = sum(stages.values())
    parts = {"stage": stages, **({"age": ages} if ages else {})}
    shown = breakdown_cells(total, parts, total_known=total_known)
    if shown is None:
        return  # withheld whole: nothing published
    values = {"total": float(total)}
    groups = []
    for name, counts in parts.items():
        cells = {f"{name}:{c}": float(v) for c, v in counts.items()}
        values.update(cells)
        groups.append(("total", list(cells)))
    known = {"total"} if total_known else set()
    assert not any(shown[c] for c, v in values.items() if 0 < v < 6 and c not in known), "a small count shown"
    assert _brute_force_pins(values, groups, shown, known) == []


def test_children_tables_are_whole_or_withheld_in_public():
    from reports.disclosure import none_small
    from reports.pack.registers import merged_top_bands

    dist = pd.DataFrame({"band": list(R.WORKER_BANDS), "children": [865, 427, 152, 28, 4]})
    merged = merged_top_bands(dist)
    assert list(merged["band"]) == ["1", "2", "3", "4 or more"] and list(merged["children"]) == [865, 427, 152, 32]
    assert none_small(merged["children"])
    tiny = merged_top_bands(pd.DataFrame({"band": list(R.WORKER_BANDS), "children": [40, 9, 2, 1, 0]}))
    assert list(tiny["band"]) == ["1", "2", "3 or more"] and not none_small(tiny["children"])


def test_the_brute_force_sees_a_small_count_given_away():
    values = {"total": 10.0, "stage:a": 3.0, "stage:b": 7.0}
    naive = {"total": True, "stage:a": False, "stage:b": True}  # only the small cell hidden: 10 − 7 = 3
    assert _brute_force_pins(values, [("total", ["stage:a", "stage:b"])], naive, {"total"}) == ["stage:a"]
