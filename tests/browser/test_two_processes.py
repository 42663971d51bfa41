"""Two app processes on one PostgreSQL store (issue 16 item 4), in the real browser: two ``kpi serve`` processes,
as behind a load balancer; a file uploaded through one is seen in the other at its next rerun. The dashboard's
caches are keyed by the store's audit version (dashboard/loaders.py ``data_version``), read from the store on
every run, so no process serves what another has made stale."""

from __future__ import annotations

import re
import sys

import pytest

from browser_support import VIEWPORT, StreamlitServer, after_rerun, server_env, wait_for_app
from test_upload_trust import upload, workforce


class KpiServe(StreamlitServer):
    """``kpi serve --db URL --port P`` (the product's own command), not a bare ``streamlit run``."""

    def __init__(self, db: str, **kw):
        super().__init__("dashboard/app.py", **kw)
        self.db = db

    def command(self) -> list[str]:
        return [sys.executable, "-m", "kpi_cli", "serve", "--db", self.db, "--port", str(self.port)]


@pytest.fixture
def two_servers(pg_cluster):
    from metrics import store

    url = pg_cluster.new_schema_url("two")
    store.connect(url).close()
    env = {k: v for k, v in server_env("unused").items() if k != "KPI_DB_PATH"}
    env |= {"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", "STREAMLIT_SERVER_ADDRESS": "127.0.0.1"}
    with KpiServe(url, env=env) as one, KpiServe(url, env=env) as two:
        yield url, one, two


def _page(browser, server, path: str):
    ctx = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    page.goto(path)
    wait_for_app(page, timeout=60_000)
    return ctx, page


def test_an_upload_through_one_process_is_seen_by_the_other_at_its_next_rerun(two_servers, browser):
    from metrics import store

    url, one, two = two_servers
    ctx_a, a = _page(browser, one, "/upload")
    ctx_b, b = _page(browser, two, "/upload")
    try:
        history_b = b.get_by_text("No uploads yet.")
        history_b.wait_for()  # process two has read (and cached) the empty store

        upload(a, "workforce_2025-04.csv", workforce("2025-04-30", 12))
        load = a.get_by_role("button", name=re.compile(r"^Load [\d,]+ rows$"))
        load.wait_for()
        after_rerun(a, lambda: load.click(), timeout=60_000)
        a.locator('[data-testid="stAlert"]').filter(has_text="Loaded as upload").wait_for(timeout=60_000)
        with store.connect(url) as conn:
            assert [u["file_name"] for u in store.list_uploads(conn)] == ["workforce_2025-04.csv"]

        assert history_b.is_visible()  # nothing pushes to process two: it shows what it had …
        b.get_by_role("heading", name="Upload history").click()  # focus the page (not an input), then R reruns
        after_rerun(b, lambda: b.keyboard.press("r"), timeout=60_000)  # … until its next rerun
        wait_for_app(b, timeout=60_000)
        assert b.get_by_text("No uploads yet.").count() == 0
        b.get_by_text("Withdraw an upload (admin)").wait_for()  # the history now lists the upload
        assert b.locator('[data-testid="stDataFrame"]').count() >= 1
    finally:
        ctx_a.close()
        ctx_b.close()
