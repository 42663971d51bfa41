"""Settings changes in plain English (metrics.reviews.changes): hand-written expected wording for every
kind of key of the machine diff, the first version described against the defaults, and since when each
setting has been in force (issue 15 item 4, issue 11 last paragraph)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from metrics.store import connect
from metrics.reviews import Checkpoint, ReviewSettings, default_settings, diff_settings, save_settings, settings_history
from metrics.reviews.changes import in_force_since, summarise, tolerance_unit


def edited(**changes) -> ReviewSettings:
    """The defaults with ``changes`` applied to their JSON (dotted paths; a callable edits in place)."""
    d = default_settings().model_dump(mode="json")
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = d
        for p in parents:
            node = node.setdefault(p, {})
        if callable(value):
            value(node[last])
        else:
            node[last] = value
    return ReviewSettings.model_validate(d)


def drop_checkpoint(iso):
    return lambda cps: cps.remove(next(c for c in cps if c["date"] == iso))


def test_the_issue_example_in_words():
    new = edited(targets__agency_rate__final_target=18.0, checkpoints=drop_checkpoint("2023-12-01"),
                 judgement__reporting_lag_days=21)
    assert summarise(default_settings(), new) == [
        "Agency social workers (% of FTE): final target 20% → 18%",
        "checkpoint 1 Dec 2023 removed",
        "reporting lag 14 → 21 days",
    ]
    # the machine diff is kept as it was (the audit trail's)
    assert diff_settings(default_settings(), new) == [
        "checkpoint 2023-12-01 removed (was 'Review 3 – Dec 2023')", "agency_rate.final_target 20 → 18",
        "judgement.reporting_lag_days 14 → 21"]


@pytest.mark.parametrize(("changes", "words"), [
    ({"targets__agency_rate__tolerance": 4.0},
     "Agency social workers (% of FTE): amber tolerance 5 → 4 percentage points"),
    ({"targets__permanent_practitioners_fte__tolerance": 4.5},
     "Permanent social workers (FTE): amber tolerance 5 → 4.5 FTE"),
    ({"targets__permanent_team_managers__tolerance": 2.0},
     "Permanent front-line team managers: amber tolerance 1 → 2"),
    ({"targets__permanent_practitioners_fte__final_target": 90.0,
      "targets__permanent_practitioners_fte__baseline_value": 50.0},
     "Permanent social workers (FTE): baseline 53 FTE → 50 FTE, final target 85 FTE → 90 FTE"),
    ({"targets__permanent_team_managers__baseline_value": 7.0}, "Permanent front-line team managers: baseline 6 → 7"),
    ({"targets__audits_good_or_better__baseline_month": "2023-03"},
     "Audits graded good or outstanding (%): baseline month Feb 2023 → Mar 2023"),
    ({"targets__audits_good_or_better__final_date": "2025-06-30"},
     "Audits graded good or outstanding (%): final target due 31 Mar 2025 → 30 Jun 2025"),
    ({"targets__agency_rate__checkpoint_targets": {"2023-12-01": 40.0}},
     "Agency social workers (% of FTE): target at 1 Dec 2023 set: 40%"),
    ({"targets__face_to_face_conferences": None}, None),  # handled below (removal)
    ({"judgement__run_length": 6}, "run length (points in a row that make a shift) 7 → 6"),
    ({"judgement__screening": False}, "screening of unusual moving ranges on → off"),
    ({"judgement__two_of_three_counts_beyond_limits": False},
     "two-of-three rule: a point beyond the limits counts → a point beyond the limits does not count"),
    ({"judgement__kpis": {"audits_good_or_better": {"judge_on": "month"}}},
     "Audits graded good or outstanding (%): judged on three months pooled → the month alone"),
    ({"judgement__kpis": {"agency_rate": {"fix_after": 12}}},
     "Agency social workers (% of FTE): process limits fixed on every point → the first 12 points"),
    ({"judgement__kpis": {"agency_rate": {"rebases": [{"month": "2023-04", "reason": "statutory direction"}]}}},
     "Agency social workers (% of FTE): rebase from Apr 2023 added ('statutory direction')"),
    ({"council_name": "Newham"}, "council name 'Herefordshire Council' → 'Newham'"),
    ({"la_code": "316"}, "LA code 884 → 316"),
    ({"historic_complaints_cutoff": "2023-04-01"}, "historic complaints: received before 1 Mar 2023 → 1 Apr 2023"),
], ids=lambda x: next(iter(x)) if isinstance(x, dict) else None)
def test_each_kind_of_change_in_words(changes, words, monkeypatch):
    if words is None:
        new = default_settings().model_copy(deep=True)
        del new.targets["face_to_face_conferences"]
        assert summarise(default_settings(), new) == [
            "CP conferences and reviews held face to face (%): target removed: no longer rated at reviews"]
        assert summarise(new, default_settings()) == [
            "CP conferences and reviews held face to face (%): target added: rated at reviews"]
        return
    old = default_settings()
    if "council_name" in changes:
        old = old.model_copy(update={"council_name": "Herefordshire Council"})
        changes = {**changes}
    new = edited(**changes) if "council_name" not in changes else old.model_copy(update=changes)
    assert summarise(old, new) == [words]


def test_checkpoints_and_rebases_added_renamed_and_removed():
    old = edited(judgement__kpis={"agency_rate": {"rebases": [{"month": "2023-04", "reason": "direction"},
                                                              {"month": "2024-01", "reason": "new teams"}]}})
    new = old.model_copy(deep=True)
    new.checkpoints[0] = Checkpoint(date=dt.date(2023, 6, 1), label="First review")
    new.checkpoints[1] = Checkpoint(date=dt.date(2023, 9, 1), label="Six-month review – Sep 2023", six_month=False)
    new.checkpoints.append(Checkpoint(date=dt.date(2025, 9, 1), label="Extra", six_month=True))
    new = edited(checkpoints=[c.model_dump(mode="json") for c in new.checkpoints],
                 judgement__kpis={"agency_rate": {"rebases": [{"month": "2023-04", "reason": "statutory direction"},
                                                              {"month": "2024-06", "reason": "restructure"}]}})
    assert summarise(old, new) == [
        "Agency social workers (% of FTE): rebase from Apr 2023: reason 'direction' → 'statutory direction', "
        "rebase from Jan 2024 removed (was 'new teams'), rebase from Jun 2024 added ('restructure')",
        "checkpoint 1 Jun 2023 renamed 'Review 1 – Jun 2023' → 'First review'",
        "checkpoint 1 Sep 2023 no longer the six-month review",
        "checkpoint 1 Sep 2025 added ('Extra', the six-month review)",
    ]


def test_no_change_and_the_first_version_against_the_defaults():
    assert summarise(default_settings(), default_settings()) == ["no changes"]
    assert summarise(None, default_settings()) == ["first saved version (the built-in defaults, unchanged)"]
    assert summarise(None, edited(targets__agency_rate__final_target=18.0)) == [
        "first saved version, from the built-in defaults", "Agency social workers (% of FTE): final target 20% → 18%"]


def test_tolerance_units():
    assert tolerance_unit("agency_rate") == "percentage points"
    assert tolerance_unit("permanent_practitioners_fte") == "FTE"


@pytest.fixture
def conn(tmp_path):
    c = connect(tmp_path / "kpi.sqlite")
    yield c
    c.close()


def test_history_keeps_words_who_and_when_and_since_when(conn):
    fresh_db = conn
    save_settings(fresh_db, edited(targets__agency_rate__final_target=18.0), by="analyst", note="tougher")
    save_settings(fresh_db, edited(targets__agency_rate__final_target=18.0, judgement__reporting_lag_days=21),
                  by="lead", note="later data")
    save_settings(fresh_db, edited(targets__agency_rate__final_target=18.0, judgement__reporting_lag_days=21,
                                   judgement__run_length=6), by="lead", note="")
    h = settings_history(fresh_db)
    assert [v.summary for v in h] == [
        ["first saved version, from the built-in defaults",
         "Agency social workers (% of FTE): final target 20% → 18%"],
        ["reporting lag 14 → 21 days"],
        ["run length (points in a row that make a shift) 7 → 6"]]
    assert h[0].changes == ["first saved version"]  # the machine diff, unchanged
    audit = [json.loads(r[0]) for r in fresh_db.execute(
        "SELECT details FROM audit_log WHERE action = 'settings_change' ORDER BY id")]
    assert audit[1]["summary"] == ["reporting lag 14 → 21 days"]
    assert audit[1]["changes"] == ["judgement.reporting_lag_days 14 → 21"]
    since = in_force_since(h)
    assert (since["judgement.reporting_lag_days"].version, since["judgement.run_length"].version) == (2, 3)
    assert since["judgement.screening"].version == 1 and since["judgement.screening"].first
    assert since["agency_rate.final_target"].words() == f"since {_uk(h[0].saved_at)} (version 1)"
    assert in_force_since([])["judgement.reporting_lag_days"].words() == "the built-in default, never saved"


def _uk(iso: str) -> str:
    d = dt.date.fromisoformat(iso[:10])
    return f"{d.day} {d.strftime('%b %Y')}"
