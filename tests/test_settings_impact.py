"""The settings impact preview (metrics.reviews.impact.settings_impact) lists exactly the ratings that
change: checked against the review model built with the old and the new settings over the same series,
at every non-final checkpoint, on the demo store (issue 15 item 4)."""

from __future__ import annotations

import contextlib

import pytest

from metrics import store
from metrics.reviews import (ReviewSettings, build_board, current_series, evaluate, load_settings, mark_final,
                             review_board)
from metrics.reviews.impact import settings_impact


@pytest.fixture(scope="module")
def demo(demo_template):
    with contextlib.closing(store.connect(demo_template)) as conn:
        settings = load_settings(conn)
        yield settings, current_series(conn, settings)


def edit(s: ReviewSettings, fn) -> ReviewSettings:
    d = s.model_dump(mode="json")
    fn(d)
    return ReviewSettings.model_validate(d)


def recomputed(series, old: ReviewSettings, new: ReviewSettings, finals=()) -> set[tuple]:
    """The rating changes by building the review model twice, checkpoint by checkpoint."""
    out = set()
    dates = ({c.date for c in old.checkpoints} | {c.date for c in new.checkpoints}) - set(finals)
    for d in dates:
        a = build_board(evaluate(series, old, d), series, old) if old.checkpoint_on(d) else None
        b = build_board(evaluate(series, new, d), series, new) if new.checkpoint_on(d) else None
        for kpi in (b or a).rows:
            x = a.row(kpi.metric) if a else None
            y = b.row(kpi.metric) if b else None
            ox = x.rag if x is not None and x.rated else None
            oy = y.rag if y is not None and y.rated else None
            if ox != oy:
                out.add((d.isoformat(), kpi.metric, ox, oy))
    return out


def as_set(changes) -> set[tuple]:
    return {(c.checkpoint, c.metric, c.old_rag, c.new_rag) for c in changes}


def test_agency_final_target_20_to_18_changes_exactly_the_recomputed_ratings(demo):
    old, series = demo
    new = edit(old, lambda d: d["targets"]["agency_rate"].update(final_target=18.0))
    changes = settings_impact(series, old, new)
    assert changes and as_set(changes) == recomputed(series, old, new)
    assert {c.metric for c in changes} == {"agency_rate"}
    c = changes[0]
    board_old = build_board(evaluate(series, old, c.checkpoint), series, old).row("agency_rate")
    board_new = build_board(evaluate(series, new, c.checkpoint), series, new).row("agency_rate")
    assert (c.old_value, c.new_value) == (board_old.actual, board_new.actual)
    assert (c.old_target, c.new_target) == (board_old.target, board_new.target)
    assert c.new_target < c.old_target
    assert c.text.startswith(f"{c.title}, Agency social workers (% of FTE): green → ")


@pytest.mark.parametrize("change", [
    lambda d: d["judgement"].update(reporting_lag_days=0),
    lambda d: d["judgement"].update(kpis={"audits_good_or_better": {"judge_on": "month"},
                                          "face_to_face_conferences": {"judge_on": "month"}}),
    lambda d: [d["targets"][k].update(tolerance=0.0) for k in d["targets"]],
    lambda d: d["targets"].pop("three_plus_social_workers"),
    lambda d: d["checkpoints"].pop(2),
    lambda d: d["checkpoints"].append({"date": "2024-07-15", "label": "Extra review", "six_month": False}) or
    d["checkpoints"].sort(key=lambda c: c["date"]),
], ids=["lag 0", "audits and conferences on the month", "no tolerance", "KPI unrated", "checkpoint removed",
        "checkpoint added"])
def test_every_kind_of_change_matches_the_recomputed_review(demo, change):
    old, series = demo
    new = edit(old, change)
    changes = settings_impact(series, old, new)
    assert changes, "each of these changes moves at least one rating on the demo data"
    assert as_set(changes) == recomputed(series, old, new)


def test_no_change_no_impact(demo):
    old, series = demo
    assert settings_impact(series, old, old.model_copy(deep=True)) == []


def test_a_removed_checkpoint_reads_not_reviewed(demo):
    old, series = demo
    gone = old.checkpoints[2]
    new = edit(old, lambda d: d["checkpoints"].pop(2))
    changes = [c for c in settings_impact(series, old, new) if c.checkpoint == gone.date.isoformat()]
    assert len(changes) == len(old.targets)
    assert all(c.new_rag is None and c.old_rag and c.title == gone.label for c in changes)
    assert changes[0].text.endswith("→ not reviewed")


def test_final_reviews_are_frozen_and_left_out(demo_copy_of, tmp_path):
    db = demo_copy_of(tmp_path / "kpi.sqlite")
    with contextlib.closing(store.connect(db)) as conn:
        old = load_settings(conn)
        series = current_series(conn, old)
        new = edit(old, lambda d: d["targets"]["agency_rate"].update(final_target=18.0))
        everything = settings_impact(series, old, new)
        hit = everything[0].checkpoint
        mark_final(conn, hit, by="tester")
        finals = [hit]
        changes = settings_impact(series, old, new, finals)
        assert hit not in {c.checkpoint for c in changes}
        assert as_set(changes) == as_set(everything) - {t for t in as_set(everything) if t[0] == hit}
        # the frozen review really does not move with the new settings
        assert review_board(conn, hit, settings=new, series=series).row("agency_rate").rag == \
            review_board(conn, hit, settings=old, series=series).row("agency_rate").rag
