"""The portfolio page in a real browser (issue 16 item 3): three synthetic councils side by side, at
1280×720 and 1920×1080 — axe-core finds nothing critical or serious, nothing overflows the page, and each
council's link opens that council's dashboard. Screenshots go to docs/screenshots/ (``KPI_SCREENSHOTS=1``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from urllib.parse import parse_qs, urlparse

import pytest

from browser_support import REPO_ROOT, StreamlitServer, format_violations, run_axe, server_env, wait_for_app

CODES = {"884": "Herefordshire (synthetic demo)", "881": "Essex (synthetic demo)", "880": "Torbay (synthetic demo)"}
SIZES = [{"width": 1280, "height": 720}, {"width": 1920, "height": 1080}]


@pytest.fixture(scope="module")
def portfolio_url(demo_store, tmp_path_factory):
    """A second server: three councils, each a copy of the demo store bound to its own LA code."""
    root = tmp_path_factory.mktemp("portfolio")
    with contextlib.closing(sqlite3.connect(demo_store)) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    councils = {}
    for code, name in CODES.items():
        path = root / code / "kpi.sqlite"
        path.parent.mkdir()
        shutil.copyfile(demo_store, path)
        with contextlib.closing(sqlite3.connect(path)) as c:
            c.execute("DELETE FROM store_meta WHERE key IN ('la_code', 'council_name')")
            c.execute("INSERT INTO store_meta (key, value) VALUES ('la_code', ?)", (code,))
            c.commit()
        councils[code] = {"name": name, "db": str(path), "key_file": str(path.parent / "pseudonym.key")}
    env = server_env(root / "unused.sqlite")
    env.pop("KPI_PSEUDONYM_KEY")  # one key for several councils is refused: each has its own
    env["KPI_COUNCILS"] = json.dumps(councils)
    srv = StreamlitServer("dashboard/app.py", cwd=REPO_ROOT, env=env)
    srv.start()
    try:
        yield srv.url
    finally:
        srv.stop()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s['width']}x{s['height']}")
def test_portfolio_is_accessible_and_fits(browser, portfolio_url, size):
    ctx = browser.new_context(viewport=size, base_url=portfolio_url)
    ctx.set_default_timeout(60_000)
    try:
        page = ctx.new_page()
        page.goto("/portfolio?council=884")
        wait_for_app(page, timeout=120_000)
        main = page.locator('[data-testid="stMain"]')
        assert main.locator("h1").first.inner_text().startswith("Portfolio")
        assert page.locator('[data-testid="stException"]').count() == 0
        for name in CODES.values():
            assert main.get_by_text(name).count() >= 1, name
        blocking = [v for v in run_axe(page) if v["impact"] in ("critical", "serious")]
        assert not blocking, format_violations(blocking)
        overflow = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth"
                                 " - document.querySelector('[data-testid=\"stMain\"]').clientWidth")
        assert overflow <= 1, f"the page scrolls sideways by {overflow} px"
        if os.environ.get("KPI_SCREENSHOTS"):
            page.screenshot(path=str(REPO_ROOT / "docs" / "screenshots" /
                                     f"portfolio-{size['width']}x{size['height']}.png"), full_page=False)
    finally:
        ctx.close()


def test_a_council_link_opens_that_councils_dashboard(browser, portfolio_url):
    ctx = browser.new_context(viewport=SIZES[0], base_url=portfolio_url)
    ctx.set_default_timeout(60_000)
    try:
        page = ctx.new_page()
        page.goto("/portfolio?council=884")
        wait_for_app(page, timeout=120_000)
        page.locator('[data-testid="stMain"] [data-testid="stPageLink"] a').filter(has_text="(881)").click()
        page.wait_for_url("**/?council=881*")
        wait_for_app(page, timeout=120_000)
        assert parse_qs(urlparse(page.url).query)["council"] == ["881"]
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert "Essex (synthetic demo) — the service priorities" in main  # that council's overview
        assert "Herefordshire" not in main
    finally:
        ctx.close()
