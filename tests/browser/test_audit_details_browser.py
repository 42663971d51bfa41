"""The audit trail at a laptop's 1280×720, in a real browser: Details in words start on screen (not JSON), and
selecting a row shows its details in full below the table (dashboard/components/audit.py)."""

from __future__ import annotations

from browser_support import after_rerun

LAPTOP = {"width": 1280, "height": 720}


def test_details_read_as_words_and_a_selected_row_shows_them_in_full(new_page):
    page = new_page("/audit")
    page.set_viewport_size(LAPTOP)
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.wait_for()
    assert page.get_by_text("Select a row to read its details in full.").is_visible()
    box = grid.bounding_box()
    # the row marker of the newest row (the demo's last sample action, metrics/demo_store.py DEMO_ACTIONS)
    after_rerun(page, lambda: page.mouse.click(box["x"] + 18, box["y"] + 52))
    panel = page.locator(".st-key-audit-row")
    panel.wait_for()
    text = panel.inner_text()
    assert "· Action add · action " in text, text
    assert "review: " in text and "KPI: " in text and "owner: " in text and "due: " in text and "status: " in text
    assert "{" not in text and '"' not in text
    assert panel.bounding_box()["width"] <= box["width"] + 1  # wraps within the page, no sideways scroll
