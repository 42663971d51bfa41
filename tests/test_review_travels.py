"""The chosen review travels (issue 13 item 1): overview → KPI page → back in the URL (``?at=``); the KPI
page's own review picker; every figure on it at that review; breakdowns at its judged month; the review's
commentary beside the chart on the KPI and Present pages (item 5). AppTest, server side."""

from __future__ import annotations

import contextlib
import shutil

import pytest

from metrics import store
from metrics.evidence import add_entry
from metrics.kpis import REGISTRY
from tests.test_dashboard_pages import demo_db, open_page, use_db  # noqa: F401 — fixtures

EARLIER, JUDGED = "2023-12-01", "2023-10"  # Review 3 – Dec 2023 judges October 2023 (lag 14 days)


def headline_label(at) -> str:
    return at.metric[0].label


def test_overview_row_opens_the_kpi_page_at_the_same_review_and_back(use_db, demo_db):  # noqa: F811
    use_db(demo_db)
    at = open_page("views/overview.py")
    at.selectbox(key="overview_at").set_value(EARLIER).run()
    assert at.query_params["at"] == EARLIER  # the overview's review is in its URL too
    at.selectbox(key="open_kpi").set_value("face_to_face_conferences").run()
    assert not at.exception
    assert at.title[0].value == REGISTRY["face_to_face_conferences"].label
    assert at.query_params["kpi"] == "face_to_face_conferences"
    assert at.query_params["at"] == EARLIER
    assert at.selectbox(key="kpi_at").value == EARLIER
    assert headline_label(at) == "Value, Oct 2023"  # the review's judged month, not the latest data
    assert at.metric[1].label == "Target, Dec 2023 review"
    at.button(key="kpi-back").click().run()
    assert not at.exception
    assert at.selectbox(key="overview_at").value == EARLIER
    assert at.header[0].value.startswith("At the Dec 2023 review")
    assert at.query_params["at"] == EARLIER


def test_kpi_page_picker_changes_the_url_and_every_figure(use_db, demo_db):  # noqa: F811
    import json

    use_db(demo_db)
    at = open_page("views/kpi.py", kpi="agency_rate")
    default = at.selectbox(key="kpi_at").value
    assert at.query_params["at"] == default
    at.selectbox(key="kpi_at").set_value("2024-09-01").run()
    assert not at.exception
    assert at.query_params["at"] == "2024-09-01"
    assert headline_label(at) == "Value, Jul 2024"
    spc = json.loads(at.get("plotly_chart")[1].proto.spec)
    judged = {tr["name"]: tr["x"] for tr in spc["data"]}
    assert judged["Judged month"] == ["2024-07-31T00:00:00"]  # the SPC view at the chosen review
    assert judged["Monthly value"][-1] == "2024-07-31T00:00:00"
    assert any("judged month (Jul 2024) is ringed" in c.value for c in at.caption)


@pytest.mark.parametrize("url_at, label", [("2024-06-01", "Value, Apr 2024"), (EARLIER, "Value, Oct 2023")])
def test_a_shared_url_opens_that_review(use_db, demo_db, url_at, label):  # noqa: F811
    use_db(demo_db)
    at = open_page("views/kpi.py", kpi="agency_rate", at=url_at)
    assert at.selectbox(key="kpi_at").value == url_at
    assert headline_label(at) == label
    assert at.query_params["at"] == url_at


def test_a_url_naming_no_review_opens_the_default_review(use_db, demo_db):  # noqa: F811
    use_db(demo_db)
    default = open_page("views/kpi.py", kpi="agency_rate").selectbox(key="kpi_at").value
    at = open_page("views/kpi.py", kpi="agency_rate", at="2099-13-45")
    assert not at.exception
    assert at.selectbox(key="kpi_at").value == default
    assert at.query_params["at"] == default


def test_breakdowns_open_at_the_judged_month_with_a_month_picker(use_db, demo_db):  # noqa: F811
    use_db(demo_db)
    at = open_page("views/kpi.py", kpi="face_to_face_conferences", at=EARLIER)
    picker = at.selectbox(key=f"breakdown-month-{EARLIER}")
    assert picker.value == JUDGED
    assert any(m.value.startswith("**By conference format** — Oct 2023") for m in at.markdown)
    picker.set_value("2023-08").run()
    assert any(m.value.startswith("**By conference format** — Aug 2023") for m in at.markdown)
    assert at.query_params["at"] == EARLIER  # the review is unchanged


@pytest.fixture
def with_commentary(demo_db, tmp_path):  # noqa: F811
    path = tmp_path / "commentary.sqlite"
    shutil.copyfile(demo_db, path)
    with contextlib.closing(store.connect(path)) as conn:
        add_entry(conn, EARLIER, "Agency fell after the recruitment drive.", "Lead", kpi="agency_rate")
        add_entry(conn, EARLIER, "Conferences back in the civic centre.", "Lead", kpi="face_to_face_conferences")
        add_entry(conn, "2024-09-01", "A later word on agency.", "Lead", kpi="agency_rate")
        add_entry(conn, EARLIER, "The review as a whole.", "Lead")
    return path


def texts(at) -> list[str]:
    return [t.value for t in at.text if not t.value.startswith("Signed in as")]


def test_commentary_beside_the_chart_is_that_kpi_and_review_only(use_db, with_commentary):
    use_db(with_commentary)
    at = open_page("views/kpi.py", kpi="agency_rate", at=EARLIER)
    assert any(s.value == "Commentary and evidence" for s in at.subheader)
    assert texts(at) == ["Agency fell after the recruitment drive."]
    at.selectbox(key="kpi_at").set_value("2024-09-01").run()
    assert texts(at) == ["A later word on agency."]
    at.selectbox(key="kpi_at").set_value("2024-06-01").run()
    assert texts(at) == []
    assert any(c.value.startswith("No commentary on this priority for") for c in at.caption)


def test_present_shows_the_commentary_below_the_chart(use_db, with_commentary):
    use_db(with_commentary)
    at = open_page("views/present.py")
    at.selectbox(key="present_at").set_value(EARLIER).run()
    assert at.title[0].value == REGISTRY["agency_rate"].label
    assert texts(at) == ["Agency fell after the recruitment drive."]
    at.button(key="present_i-next").click().run()
    at.button(key="present_i-next").click().run()
    at.button(key="present_i-next").click().run()
    assert at.title[0].value == REGISTRY["face_to_face_conferences"].label
    assert texts(at) == ["Conferences back in the civic centre."]
