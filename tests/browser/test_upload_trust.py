"""The Upload page in a real browser (issue 15): a double click or the same file again makes no extra
upload, and the error report's messages are never cut off at 1366 px. Screenshots of the upload and
coverage pages at 1280×720 and 1920×1080 go to $TMPDIR/issue15-screenshots/ (to look at, not committed)."""

from __future__ import annotations

import re
import sqlite3
import tempfile
from pathlib import Path

from browser_support import after_rerun, wait_for_app

SHOTS = Path(tempfile.gettempdir()) / "issue15-screenshots"
HEADER = "worker_id,role,agency,fte,team,start_date,end_date,snapshot_date\n"


def workforce(month_end: str, n: int, *, fte: str = "1.0", start: str = "2020-01-01") -> bytes:
    return (HEADER + "".join(f"W{70000 + i},case_holder,N,{fte},Front Door,{start},,{month_end}\n"
                             for i in range(n))).encode()


def upload(page, name: str, data: bytes) -> None:
    box = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    box.wait_for(state="attached")
    after_rerun(page, lambda: box.set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": data}]))


def uploads_of(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM uploads").fetchone()[0]


def shot(page, name: str, *at) -> None:
    """The viewport, then (the page scrolls inside Streamlit's main block) one more per locator in ``at``,
    scrolled to the top of the view: NAME-2.png, NAME-3.png…"""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))
    for n, loc in enumerate(at, start=2):
        loc.first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(150)
        page.screenshot(path=str(SHOTS / name.replace(".png", f"-{n}.png")))


def test_a_double_click_and_the_same_file_again_make_one_upload(new_page, demo_store):
    page = new_page("/upload")
    before = uploads_of(demo_store)
    data = workforce("2025-04-30", 12)
    upload(page, "workforce_2025-04.csv", data)
    page.locator('[data-testid="stAlert"]').filter(has_text="Ready:").wait_for()
    load = page.get_by_role("button", name=re.compile(r"^Load [\d,]+ rows$"))
    load.wait_for()
    after_rerun(page, lambda: load.dblclick(), timeout=60_000)
    page.locator('[data-testid="stAlert"]').filter(has_text="Loaded as upload").wait_for(timeout=60_000)
    wait_for_app(page, timeout=60_000)
    assert uploads_of(demo_store) == before + 1
    # the drop zone is empty again; the same file dropped again is said to be identical, with nothing to click
    assert page.locator('[data-testid="stFileUploaderFile"]').count() == 0
    upload(page, "workforce_2025-04 (copy).csv", data)
    page.locator('[data-testid="stAlert"]').filter(has_text="nothing to load").wait_for()
    assert page.get_by_role("button", name=re.compile(r"^Load ")).count() == 0
    assert uploads_of(demo_store) == before + 1


def test_no_error_message_is_cut_off_at_1366_px(new_page, demo_store):
    page = new_page("/upload")
    assert page.viewport_size["width"] == 1366
    rows = workforce("2025-05-31", 12, fte="1.5", start="2024-02-30").decode().splitlines()
    upload(page, "workforce_bad.csv", ("\n".join(rows) + "\n").encode())
    page.locator('[data-testid="stAlert"]').filter(has_text="Refused — nothing was stored").wait_for()
    cells = page.locator('[data-testid="stMain"] [data-testid="stTable"] td')
    assert cells.count() > 0
    clipped = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stTable"] td, [data-testid="stMain"] [data-testid="stTable"] th'))
        .filter(td => td.scrollWidth > td.clientWidth + 1 || td.scrollHeight > td.clientHeight + 1
                      || getComputedStyle(td).textOverflow === 'ellipsis')
        .map(td => td.innerText)""")
    assert clipped == [], clipped
    tables = page.locator('[data-testid="stMain"] [data-testid="stTable"]')
    for i in range(tables.count()):  # no table wider than the page (no hidden, scrolled-off text)
        box = tables.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1366, box
    shown = page.locator('[data-testid="stMain"]').inner_text()
    assert "Date does not exist" in shown and "date_impossible" not in shown
    assert "Number out of range" in shown
    # a full message, word for word (from the contract's fix text)
    from metrics.contract import RULES

    assert RULES["date_impossible"] in shown
    shot(page, "upload-errors-1366.png", tables.nth(0), tables.nth(1))


def test_screenshots_of_the_upload_and_coverage_pages(browser, base_url):
    for w, h in ((1280, 720), (1920, 1080)):
        ctx = browser.new_context(viewport={"width": w, "height": h}, base_url=base_url)
        ctx.set_default_timeout(30_000)
        try:
            page = ctx.new_page()
            page.goto("/upload")
            wait_for_app(page)
            upload(page, "workforce_2025-05.csv", workforce("2025-05-31", 20))
            page.locator('[data-testid="stAlert"]').filter(has_text="Ready:").wait_for()
            wait_for_app(page, timeout=60_000)
            heads = page.locator('[data-testid="stMain"] h3, [data-testid="stMain"] h2')
            shot(page, f"upload-{w}x{h}.png", heads.filter(has_text="workforce_2025-05.csv"),
                 heads.filter(has_text="Load"), heads.filter(has_text="Upload history"))
            page.goto("/coverage")
            wait_for_app(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            shot(page, f"coverage-{w}x{h}.png", page.locator('[data-testid="stDataFrame"]'))
        finally:
            ctx.close()
