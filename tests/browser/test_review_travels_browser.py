"""The chosen review travels in a real browser (issue 13 item 1): an overview row at an earlier review opens
the KPI page at that review (``?at=`` in the URL, the headline at its judged month) and back; the KPI page's
picker changes the URL; a shared URL opens that review. Screenshot at 1280×720: docs/screenshots/kpi-review.png."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from browser_support import REPO_ROOT, after_rerun, wait_for_app

SHOTS = REPO_ROOT / "docs" / "screenshots"
SMALL = {"width": 1280, "height": 720}
EARLIER, EARLIER_LABEL, JUDGED = "2023-12-01", "Review 3 – Dec 2023", "Oct 2023"


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def choose(page, label: str, typed: str) -> None:
    """Open the selectbox labelled ``label``, type ``typed`` to filter its options and pick the first."""
    page.get_by_label(label, exact=True).first.click()
    page.keyboard.type(typed)
    option = page.locator('[data-testid="stSelectboxVirtualDropdown"] [role="option"]').filter(has_text=typed)
    after_rerun(page, option.first.click, timeout=90_000)


def headline(page) -> str:
    return page.locator('[data-testid="stMetricLabel"]').first.inner_text().strip()


def click_table_row(page, row: int) -> None:
    """Select a row of the overview table: its row marker, at the table's left edge (rows 40 px high)."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 40 * (row + 1) + 20)


def test_overview_row_at_an_earlier_review_opens_the_kpi_page_at_it_and_back(new_page):
    page = new_page("/")
    choose(page, "Review checkpoint", EARLIER_LABEL)
    assert query(page).get("at") == EARLIER
    page.evaluate("() => { window.__stSettle = null; }")
    click_table_row(page, 3)  # ToR 2b(iii): face-to-face conferences (registry order)
    page.wait_for_url(re.compile(r"/kpi\?"), timeout=30_000)
    wait_for_app(page, timeout=90_000)
    q = query(page)
    assert q == {"kpi": "face_to_face_conferences", "at": EARLIER}, page.url
    assert page.locator('[data-testid="stMain"] h1').first.inner_text().startswith("CP conferences")
    assert headline(page) == f"Value, {JUDGED}"
    assert page.locator('[data-testid="stException"]').count() == 0
    page.get_by_role("button", name="← Overview at this review").click()
    page.wait_for_url(re.compile(r"/(\?|$)"), timeout=30_000)
    wait_for_app(page, timeout=90_000)
    assert query(page).get("at") == EARLIER
    assert page.locator('[data-testid="stMain"] h2').first.inner_text().startswith("At the Dec 2023 review")


def test_kpi_page_picker_changes_the_url(new_page):
    page = new_page("/kpi?kpi=agency_rate", wait=False)
    wait_for_app(page, timeout=90_000)
    choose(page, "Review", "Review 6 – Sep 2024")
    assert query(page) == {"kpi": "agency_rate", "at": "2024-09-01"}
    assert headline(page) == "Value, Jul 2024"


def test_a_shared_url_opens_that_review_and_looks_right(new_page):
    page = new_page(f"/kpi?kpi=face_to_face_conferences&at={EARLIER}", wait=False)
    wait_for_app(page, timeout=90_000)
    assert headline(page) == f"Value, {JUDGED}"
    assert query(page)["at"] == EARLIER
    assert page.get_by_text("In person only:", exact=False).count() >= 1
    assert page.get_by_text("Commentary and evidence", exact=True).count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    page.set_viewport_size(SMALL)
    wait_for_app(page, timeout=90_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(SMALL["width"] - 5, SMALL["height"] - 5)
    page.screenshot(path=str(SHOTS / "kpi-review.png"))
