"""Face to face (ToR 2b(iii), issue 13 item 7): whether a hybrid conference counts is a review setting —
validated, versioned, audited, in words — and the in-person-only figure is always shown beside the KPI.

Hand-computed from tests/fixtures/kpi/conferences_2024-01_to_03.csv: January CP1 face to face (1 child), CP2
virtual (1), CP3 hybrid (2 children) → 3 of 4 with hybrid, 1 of 4 in person only; February CP5 face to face,
CP4 and CP6 virtual → 1 of 3 either way. December 2023 comes from figures (5 of 8, hybrid included): no
in-person-only value."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from pydantic import ValidationError

from metrics import store
from metrics.compute import breakdown, compute_series
from metrics.reviews import default_settings, load_settings, save_settings
from metrics.reviews.changes import summarise
from metrics.reviews.views import in_person_view
from tests.test_dashboard_pages import open_page, use_db  # noqa: F401 — fixtures
from tests.test_kpis import FIXTURES, Store

F2F = "face_to_face_conferences"


@pytest.fixture
def conf_store(tmp_path):
    s = Store(tmp_path / "kpi.sqlite")
    s.load("conferences_2024-01_to_03.csv", months=("2024-01", "2024-03"))
    s.load("figures_2023-12_to_2024-03.csv")
    yield s
    s.conn.close()


def rows(frame):
    return {m: (v, n, d, f) for m, v, n, d, f in
            frame[["month", "value", "numerator", "denominator", "flags"]].itertuples(index=False)}


def same(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


@pytest.mark.parametrize("hybrid, expected", [
    (True, {"2023-12": (62.5, 5, 8), "2024-01": (75.0, 3, 4), "2024-02": (100 / 3, 1, 3)}),
    (False, {"2023-12": (math.nan, math.nan, math.nan), "2024-01": (25.0, 1, 4), "2024-02": (100 / 3, 1, 3)}),
])
def test_the_setting_changes_the_rate_as_hand_computed(conf_store, hybrid, expected):
    got = rows(compute_series(conf_store.conn, metrics=[F2F], hybrid_face_to_face=hybrid))
    for month, want in expected.items():
        assert all(same(g, w) for g, w in zip(got[month][:3], want)), (month, got[month])
    assert ("hybrid_not_separable" in got["2023-12"][3]) is (not hybrid)  # totals cannot be split


def test_initial_and_review_breakdown_follows_the_setting(conf_store):
    b = breakdown(conf_store.conn, F2F, by="conference_type", hybrid_face_to_face=False)
    jan = b[b["month"] == "2024-01"].set_index("group")
    assert jan.loc["initial", "value"] == 100.0  # CP1, in person
    assert jan.loc["review", "value"] == 0.0  # CP2 virtual, CP3 hybrid ×2: 0 of 3 in person


def test_the_in_person_only_figure_pools_the_same_months(conf_store):
    from metrics.compute import secondary_series

    sec = secondary_series(conf_store.conn, parents=[F2F])
    fig = in_person_view(sec, ("2023-12", "2024-01", "2024-02"))
    assert fig.months == ("2024-01", "2024-02")  # December is figures only: no record-level split
    assert (fig.in_person, fig.hybrid, fig.conferences) == (2, 2, 7)
    assert fig.in_person_pct == pytest.approx(200 / 7) and fig.with_hybrid_pct == pytest.approx(400 / 7)
    assert in_person_view(sec, ("2023-12",)) is None


@pytest.mark.parametrize("bad", ["maybe", 1, None, "yes"])
def test_a_setting_that_is_not_yes_or_no_is_refused_with_its_name(bad):
    data = json.loads(default_settings().model_dump_json()) | {"hybrid_counts_as_face_to_face": bad}
    with pytest.raises(ValidationError, match="must be true or false") as err:
        type(default_settings()).model_validate(data)
    assert "hybrid_counts_as_face_to_face" in str(err.value)


def test_saved_versioned_audited_and_said_in_words(conf_store):
    conn = conf_store.conn
    before = default_settings()
    assert before.hybrid_counts_as_face_to_face is True  # the default is today's rule
    after = before.model_copy(update={"hybrid_counts_as_face_to_face": False})
    assert summarise(before, after) == [
        "face-to-face conferences: hybrid counts as face to face → in person only (hybrid not counted)"]
    save_settings(conn, before, by="Lead")
    vid = save_settings(conn, after, by="Lead", note="ToR 2b(iii): in person only")
    assert load_settings(conn).hybrid_counts_as_face_to_face is False
    audit = conn.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert "hybrid" in json.dumps(dict(audit))
    assert vid


def test_the_kpi_page_shows_the_in_person_figure_beside_it(use_db, conf_store):  # noqa: F811
    use_db(conf_store.path)
    at = open_page("views/kpi.py", kpi=F2F, at="2024-03-01")  # judges January 2024 (lag 14 days)
    assert at.metric[0].label == "Value, Jan 2024"
    assert at.metric[0].value == "66.7%"  # default: Dec figures 5/8 + Jan 3/4 pooled
    line = next(m.value for m in at.markdown if m.value.startswith("**In person only"))
    assert line.startswith("**In person only: 25.0%** (1 of 4 conferences, Jan 2024) · in person or hybrid: "
                           "75.0% (2 hybrid). Hybrid counts as face to face")
    with contextlib.closing(store.connect(conf_store.path)) as conn:
        save_settings(conn, load_settings(conn).model_copy(update={"hybrid_counts_as_face_to_face": False}),
                      by="Lead")
    at = open_page("views/kpi.py", kpi=F2F, at="2024-03-01")
    assert at.metric[0].value == "25.0%"  # Dec has no in-person value: January alone, 1 of 4
    line = next(m.value for m in at.markdown if m.value.startswith("**In person only"))
    assert line.startswith("**In person only: 25.0%**") and "counts conferences held in person only" in line


def test_settings_page_explains_previews_and_saves_the_setting(use_db, conf_store):  # noqa: F811
    use_db(conf_store.path)
    at = open_page("views/settings.py")
    radio = at.radio(key="sf-hybrid")
    assert radio.value is True
    assert any("The in-person-only figure is shown beside the KPI either way" in c.value for c in at.caption)
    radio.set_value(False).run()
    impact = " ".join(m.value for m in at.markdown).replace("\\", "")  # markdown escapes made inert
    assert "face-to-face conferences: hybrid counts as face to face → in person only" in impact
    assert "**1 rating would change** at 1 review that is not final" in impact  # 1 Mar 2024: 66.7% → 25.0%
    at.button(key="save-settings").click().run()
    assert not at.exception
    with contextlib.closing(store.connect(conf_store.path)) as conn:
        assert load_settings(conn).hybrid_counts_as_face_to_face is False
