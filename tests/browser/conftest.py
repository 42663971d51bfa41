"""Real-browser tests: Playwright driving Debian's Chromium against the dashboard on the demo store.

Every test in this directory is marked ``browser`` (deselect with ``-m "not browser"``). Without
/usr/bin/chromium, the axe-core file (``make browser-deps``) or Playwright the directory is
skipped — except under ``CI=true``, where it fails, so CI cannot pass without the browser.

Session fixtures: ``server`` (Streamlit on a free 127.0.0.1 port, local-auth demo mode, on a store
built by ``build_demo`` in a temporary directory), ``demo_store`` (that store's path),
``base_url``, ``browser``. Per test: ``new_page(path)`` (a factory: each call is a new browser
context, i.e. a new Streamlit session, 1366×900, loaded and settled) and ``page`` (one, not yet
navigated). Helpers — ``wait_for_app``, ``after_rerun``, ``navigate``, ``run_axe`` — live in
``browser_support.py`` (shared with bench/bench_browser.py).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from browser_support import (REPO_ROOT, VIEWPORT, StreamlitServer, launch_browser, missing_prerequisites, server_env,
                             wait_for_app)

HERE = Path(__file__).resolve().parent
MISSING = missing_prerequisites()
IN_CI = os.environ.get("CI", "").strip().lower() == "true"
REASON = "browser tests need " + "; ".join(MISSING) if MISSING else ""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if MISSING and not IN_CI:
            item.add_marker(pytest.mark.skip(reason=REASON))


@pytest.fixture(scope="session", autouse=True)
def _browser_prerequisites():
    if MISSING:  # only reached under CI=true (otherwise every test here is skipped at collection)
        pytest.fail(f"CI=true and {REASON}", pytrace=False)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Streamlit on the demo store. The store is built while the server starts (nothing reads it
    before the first page load); the fixture returns only when both are ready."""
    from metrics.demo_store import build_demo

    db = tmp_path_factory.mktemp("browser-store") / "kpi.sqlite"
    with ThreadPoolExecutor(max_workers=1) as pool:
        built = pool.submit(build_demo, db)
        srv = StreamlitServer("dashboard/app.py", cwd=REPO_ROOT, env=server_env(db))
        try:
            srv.start()
            built.result()
        except BaseException:
            srv.stop(kill=True)
            raise
    srv.db = db
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def demo_store(server) -> Path:
    return server.db


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def base_url(server, browser) -> str:
    """The server's address, after one visit to the entry page "/".

    A warm-up visit, so that the first test's timings do not include the server's first script run.
    (Deep links on a fresh server are tested by test_browser.py::test_deep_link_on_a_fresh_server.)
    """
    ctx = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    try:
        page = ctx.new_page()
        page.goto("/")
        wait_for_app(page, timeout=60_000)
    finally:
        ctx.close()
    return server.url


@pytest.fixture
def new_page(browser, base_url):
    """new_page(path="/") -> a page in a fresh context (a new Streamlit session), loaded and settled."""
    contexts = []

    def _new(path: str | None = "/", *, wait: bool = True):
        ctx = browser.new_context(viewport=VIEWPORT, base_url=base_url)
        ctx.set_default_timeout(20_000)
        contexts.append(ctx)
        page = ctx.new_page()
        if path is not None:
            page.goto(path)
            if wait:
                wait_for_app(page)
        return page

    yield _new
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_page):
    """A page in a fresh context, not yet navigated."""
    return new_page(None)
