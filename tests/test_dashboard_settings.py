"""The Settings page a performance lead and the Commissioner can trust (issue 15 items 4 and 7, issue 11's
last paragraph), through Streamlit's AppTest on a copy of the demo store: how progress is judged, shown
with its explanation and since when, saved through the page; the impact preview lists exactly the ratings
that change; the history in words with UK times; tolerance labels in percentage points."""

from __future__ import annotations

import contextlib
import re

import pytest
from test_dashboard_reviews import count, demo_db, open_page, rerun, texts  # noqa: F401 (demo_db: a fixture)

from metrics import store
from metrics.reviews import load_settings, mark_final
from metrics.reviews.impact import settings_impact

UK_TIME = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}$")  # '3 May 2024 09:14'


def table(at, i: int):
    """A table as the reader sees it (cells are escaped for markdown, with word joiners before '@')."""
    return at.table[i].value.map(lambda x: str(x).replace("\\", "").replace("\u2060", ""))


def captions(at) -> str:
    return " ".join(c.replace("\\", "") for c in texts(at, "caption"))


def markdown(at) -> str:
    return " ".join(m.replace("\\", "").replace("**", "") for m in texts(at, "markdown"))


def test_judgement_settings_are_explained_dated_and_saved_through_the_page(demo_db):
    s = open_page("settings")
    shown = captions(s)
    assert "with 14 days, a review on 1 Dec 2023 judges Oct 2023" in shown
    assert "The built-in default, never saved." in shown
    for words in ("A shift is this many points in a row", "3.267 times the average", "Two of three points"):
        assert words in shown
    assert "pooled with the two before" in markdown(s) and "starts a new segment" in markdown(s)
    assert s.radio(key="sf-run_length").value == 7 and s.checkbox(key="sf-screening").value
    s.number_input(key="sf-lag").set_value(21)
    s.radio(key="sf-run_length").set_value(6)
    s = rerun(s)
    assert "with 21 days, a review on 1 Dec 2023 judges Oct 2023" in captions(s)
    assert "Saving would change: reporting lag 14 → 21 days; run length (points in a row that make a shift) " \
           "7 → 6. No rating would change at any review that is not final." in markdown(s)
    s.button(key="save-settings").click()
    s = rerun(s)
    with contextlib.closing(store.connect(demo_db)) as conn:
        j = load_settings(conn).judgement
        assert (j.reporting_lag_days, j.run_length) == (21, 6)
    assert count(demo_db, "audit_log", "WHERE action = 'settings_change'") == 1
    shown = captions(s)
    assert re.search(r"with 21 days, .*In force since \d{1,2} [A-Z][a-z]{2} 20\d\d \(version 1\)", shown), shown
    history = table(s, -1)
    assert list(history.columns) == ["Version", "Saved (UK time)", "By", "Note", "What changed"]
    assert UK_TIME.match(history["Saved (UK time)"].iloc[0]), history["Saved (UK time)"].iloc[0]
    assert history["What changed"].iloc[0] == ("first saved version, from the built-in defaults; reporting lag 14 → "
                                               "21 days; run length (points in a row that make a shift) 7 → 6")


def test_rebases_and_per_kpi_settings_are_saved_through_the_tables(demo_db):
    at = open_page("settings")
    at.session_state["sf-rebases"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"KPI": "Agency social workers (% of FTE)", "First month (YYYY-MM)": "2023-04",
         "Reason": "statutory direction"}]}
    at.session_state["sf-judge_kpis"] = {"edited_rows": {6: {"Judged on": "the month"},
                                                         0: {"Fix limits on the first N points": "12"}},
                                         "added_rows": [], "deleted_rows": []}
    at = rerun(at)
    assert ("Saving would change: Agency social workers (% of FTE): process limits fixed on every point → the "
            "first 12 points, rebase from Apr 2023 added ('statutory direction'); Audits graded good or outstanding "
            "(%): judged on three months pooled → the month alone.") in markdown(at)
    at.button(key="save-settings").click()
    at = rerun(at)
    with contextlib.closing(store.connect(demo_db)) as conn:
        j = load_settings(conn).judgement
    assert [(r.month, r.reason) for r in j.of("agency_rate").rebases] == [("2023-04", "statutory direction")]
    assert j.of("agency_rate").fix_after == 12 and j.judge_on("audits_good_or_better") == "month"
    rebases = at.data_editor(key="sf-rebases").value
    assert rebases["In force"].str.match(r"since \d{1,2} [A-Z][a-z]{2} 20\d\d \(version 1\)").all()


@pytest.mark.parametrize(("state", "message"), [
    ({"sf-rebases": {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"KPI": "Agency social workers (% of FTE)", "First month (YYYY-MM)": "April 2023", "Reason": "x"}]}},
     "a rebase month must be YYYY-MM"),
    ({"sf-rebases": {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"KPI": "Agency social workers (% of FTE)", "First month (YYYY-MM)": "2023-04", "Reason": ""}]}},
     "a rebase needs a reason"),
    ({"sf-rebases": {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"First month (YYYY-MM)": "2023-04", "Reason": "restructure"}]}}, "choose the KPI the rebase is for"),
    ({"sf-judge_kpis": {"edited_rows": {0: {"Fix limits on the first N points": "6"}}, "added_rows": [],
                        "deleted_rows": []}}, "fix_after must be empty (limits on every point) or at least 12"),
    ({"sf-judge_kpis": {"edited_rows": {0: {"Fix limits on the first N points": "twelve"}}, "added_rows": [],
                        "deleted_rows": []}}, "'twelve' is not a whole number"),
    ({"sf-judge_kpis": {"edited_rows": {2: {"Judged on": "3 months pooled"}}, "added_rows": [], "deleted_rows": []}},
     "only a percentage KPI can be judged on 3 months pooled"),
], ids=["bad month", "no reason", "no KPI", "fix after 6", "fix after in words", "count pooled"])
def test_bad_judgement_settings_say_what_to_fix_and_save_nothing(demo_db, state, message):
    at = open_page("settings")
    for key, value in state.items():
        at.session_state[key] = value
    at = rerun(at)
    at.button(key="save-settings").click()
    at = rerun(at)
    shown = [e.replace("\\", "") for e in texts(at, "error") if "Not saved" in e]
    assert shown and message in shown[0], texts(at, "error")
    assert "Traceback" not in shown[0]
    assert count(demo_db, "review_settings_versions") == 0 and not at.exception


def test_lag_out_of_range_is_refused_in_words(demo_db):
    at = open_page("settings")
    at.number_input(key="sf-lag").set_value(-1)
    at.button(key="save-settings").click()
    at = rerun(at)
    shown = [e.replace("\\", "") for e in texts(at, "error") if "Not saved" in e]
    assert shown and "judgement → reporting_lag_days: must be ≥ 0" in shown[0]
    assert count(demo_db, "review_settings_versions") == 0


def test_impact_preview_lists_exactly_the_ratings_that_change(demo_db):
    with contextlib.closing(store.connect(demo_db)) as conn:
        old = load_settings(conn)
        new = old.model_copy(deep=True)
        new.targets["agency_rate"] = new.targets["agency_rate"].model_copy(update={"final_target": 15.0})
        from metrics.reviews import current_series

        series = current_series(conn, old)
        expected = settings_impact(series, old, new)
        final = expected[0].checkpoint
        mark_final(conn, final, by="tester")
    at = open_page("settings")
    at.number_input(key="sf-agency_rate-final_target").set_value(15.0)
    at = rerun(at)
    assert "Saving would change: Agency social workers (% of FTE): final target 20% → 15%." in markdown(at)
    preview = table(at, 0)  # the preview, above the history
    want = [(c.title, c.label) for c in expected if c.checkpoint != final]
    assert len(want) == 4 and f"{len(want)} ratings would change at 4 reviews" in markdown(at)
    assert list(zip(preview["Review"], preview["KPI"])) == want
    assert list(preview["Rating"]) == ["● Green → ◆ Amber"] * 4
    assert all("→" in t for t in preview["Target"])
    note = captions(at)
    assert "Final reviews are frozen" in note and "would not change" in note
    assert count(demo_db, "review_settings_versions") == 1  # only the one mark_final saved


def test_tolerance_labels_say_percentage_points_for_percent_kpis(demo_db):
    at = open_page("settings")
    assert at.number_input(key="sf-agency_rate-tolerance").label == "Amber tolerance (percentage points)"
    assert at.number_input(key="sf-permanent_practitioners_fte-tolerance").label == "Amber tolerance (FTE)"
    assert at.number_input(key="sf-permanent_team_managers-tolerance").label == "Amber tolerance (count)"


def test_user_text_in_the_history_and_preview_is_inert(demo_db):
    """st.table renders markdown in its cells: a note or a checkpoint label is shown as typed, never as a
    link, emphasis or HTML."""
    from dashboard.components.text import plain

    payload = "<script>alert(1)</script> [x](http://e.org) **b** a@b.org"
    at = open_page("settings")
    at.text_input(key="sf-note").set_value(payload)
    at.number_input(key="sf-agency_rate-final_target").set_value(15.0)
    at.button(key="save-settings").click()
    at = rerun(at)
    raw = at.table[-1].value
    assert raw["Note"].iloc[0] == plain(payload)
    assert raw["By"].iloc[0] == plain("demo.admin@example.org")
