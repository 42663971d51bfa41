"""Hostile text and errors, in a real browser (issue 17 points 9 and 10).

Text is text: Markdown image/link payloads in every user-supplied string the pages show (council name,
checkpoint labels, uploader names as KPI_USER would record them, the local user, file names, team
names, commentary, a dropped column's header) are visited on every page — with the checkpoint
dropdowns opened and a payload-named file put through the upload input — and the browser's request
log must hold no request to any host but the app's, and no page a link to the outside.

Errors: ``kpi serve`` started from a folder outside the project loads the project's Streamlit config
(its theme reaches the page), and an exception in a page or in the sign-in gate shows a plain notice —
no traceback, no file path, no exception text — whether started by ``kpi serve`` or by a bare
``streamlit run`` without any config.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from urllib.parse import urlsplit

import pytest

from browser_support import REPO_ROOT, VIEWPORT, StreamlitServer, after_rerun, navigate, server_env, wait_for_app

OUTSIDE = "127.0.0.2:9"
PAYLOAD = (f"![x](http://{OUTSIDE}/x.png) [click](http://{OUTSIDE}/) http://{OUTSIDE}/bare www.example.org "
           f"<img src=http://{OUTSIDE}/i.png> :red[red] **bold**")
FILE_PAYLOAD = f"![f](http://{OUTSIDE}/f.png) [file](http://{OUTSIDE}/f).csv"
HEADER_PAYLOAD = f"![h](http://{OUTSIDE}/h.png)"
PAGES = ["Overview", "KPI detail", "Reviews", "Present", "Upload", "Data coverage", "Settings", "Audit trail", "About"]
# the only links to the outside the dashboard itself writes (fixed text, not user input)
ALLOWED_LINKS = ("https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",)
FINAL_AT = "2024-12-01"


def _workforce(month_end: str, n: int, team: str, extra_header: str | None = None) -> bytes:
    head = "worker_id,role,agency,fte,team,start_date,end_date,snapshot_date"
    head += f',"{extra_header}"' if extra_header else ""
    rows = [f'W7{i:04d},case_holder,{"Y" if i % 5 == 0 else "N"},1.0,"{team}",2020-01-06,,{month_end}'
            + (",x" if extra_header else "") for i in range(n)]
    return ("\n".join([head, *rows]) + "\n").encode()


def demo_settings(db):
    """The demo store takes synthetic uploads under its own public key only (issue 17 point 6)."""
    from metrics.demo_store import DEMO_KEY
    from metrics.settings import get_settings

    return get_settings().model_copy(update={"db_path": db, "pseudonym_key": DEMO_KEY})


def _plant_payloads(db) -> None:
    """Every user-supplied string the store keeps, set to a payload (the demo data otherwise)."""
    from metrics import store
    from metrics.evidence import add_entry
    from metrics.ingest import ingest_bytes
    from metrics.review import AlreadyFinal, load_settings, mark_final, save_settings

    with contextlib.closing(store.connect(db)) as conn:
        s = load_settings(conn)
        s = s.model_copy(update={"council_name": PAYLOAD, "checkpoints": [
            c.model_copy(update={"label": f"{PAYLOAD} {i}"}) for i, c in enumerate(s.checkpoints)]})
        save_settings(conn, s, by=PAYLOAD, note=PAYLOAD, role="admin")
        add_entry(conn, FINAL_AT, PAYLOAD, PAYLOAD, kpi="agency_rate", role="uploader")
        add_entry(conn, FINAL_AT, PAYLOAD, PAYLOAD, role="uploader")
        with contextlib.suppress(AlreadyFinal):
            mark_final(conn, FINAL_AT, PAYLOAD, role="admin")
        # as `KPI_USER=<payload> kpi ingest <payload>.csv` records it
        r = ingest_bytes(conn, _workforce("2025-03-31", 40, PAYLOAD), FILE_PAYLOAD, uploaded_by=PAYLOAD,
                         role="cli", settings=demo_settings(db))
        assert r.ok, r.errors


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, demo_template):
    home = tmp_path_factory.mktemp("hostile-text")
    db = home / "kpi.sqlite"
    shutil.copyfile(demo_template, db)
    _plant_payloads(db)
    env = {**server_env(db), "KPI_COUNCIL_NAME": PAYLOAD, "KPI_LOCAL_USER": PAYLOAD}
    with StreamlitServer("dashboard/app.py", cwd=REPO_ROOT, env=env) as srv:
        yield srv


def _outside_links(page, origin: str) -> list[str]:
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    return [h for h in hrefs if not h.startswith(origin + "/") and h != origin and h not in ALLOWED_LINKS]


def _open_dropdown(page, label: str) -> None:
    """Open a selectbox's option list (so its options are drawn), then close it."""
    box = page.get_by_label(label, exact=True).first
    box.click()
    page.locator('[data-testid="stSelectboxVirtualDropdown"] [role="option"]').first.wait_for()
    page.keyboard.press("Escape")


def test_user_text_never_becomes_a_link_or_a_request(browser, hostile_app):
    origin = hostile_app.url
    ctx = browser.new_context(viewport=VIEWPORT, base_url=origin)
    ctx.set_default_timeout(30_000)
    requested: list[str] = []
    ctx.on("request", lambda r: requested.append(r.url))
    links: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    try:
        page = ctx.new_page()
        page.goto("/")
        wait_for_app(page, timeout=60_000)
        for title in PAGES:
            navigate(page, title)
            if title == "Overview":
                _open_dropdown(page, "Review checkpoint")
            if title == "Reviews":
                _open_dropdown(page, "Checkpoint")
                page.goto(f"/reviews?at={FINAL_AT}")  # the final one, with its commentary
                wait_for_app(page)
            if title == "Upload":  # a payload file name, replacing the payload uploader's upload
                file_input = page.locator('[data-testid="stFileUploader"] input[type="file"]')
                after_rerun(page, lambda: file_input.set_input_files(files=[{
                    "name": FILE_PAYLOAD, "mimeType": "text/csv",
                    "buffer": _workforce("2025-03-31", 12, "Front Door", extra_header=HEADER_PAYLOAD)}]))
                page.get_by_text("Ready:").first.wait_for()
            wait_for_app(page)
            links[title] = _outside_links(page, origin)
            # as read (the invisible word joiners that keep bare URLs from being linked are not text)
            shown[title] = page.locator('[data-testid="stAppViewContainer"]').inner_text().replace("\u2060", "")
    finally:
        ctx.close()
    outside = [u for u in requested if urlsplit(u).scheme not in ("data", "blob", "about")
               and f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != origin]
    assert not outside, f"requests to other hosts: {outside}"
    assert not any(links.values()), f"links to the outside: { {t: v for t, v in links.items() if v} }"
    # and the payloads are there, as the literal text that was typed
    assert PAYLOAD in shown["Overview"], "council name (review settings) not shown literally"
    assert PAYLOAD in shown["About"], "council name (KPI_COUNCIL_NAME) not shown literally"
    assert f"Signed in as {PAYLOAD} · admin" in shown["Overview"], "local user not shown literally"
    assert f"{PAYLOAD} 6" in shown["Reviews"], "checkpoint label not shown literally"
    assert f"by {PAYLOAD}." in shown["Reviews"], "finalised-by (an uploader name) not shown literally"
    assert FILE_PAYLOAD in shown["Upload"], "file name not shown literally"
    assert f"by {PAYLOAD} (upload" in shown["Upload"], "the replaced upload's uploader not shown literally"
    assert HEADER_PAYLOAD in shown["Upload"], "the dropped column's header not shown literally"


# --- point 10: the project's config wherever started, never a traceback ------------------------


class KpiServe(StreamlitServer):
    """``kpi serve`` (as ``python -m metrics serve``), started from ``cwd``."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "metrics", "serve", "--port", str(self.port)]


def _outside_env(db) -> dict[str, str]:
    """Started outside the project: the project on PYTHONPATH (as an install would be), bound to
    127.0.0.1, no file watcher."""
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**server_env(db), "PYTHONPATH": path, "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
            "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}


def _error_page(browser, url: str) -> dict:
    ctx = browser.new_context(viewport=VIEWPORT, base_url=url)
    try:
        page = ctx.new_page()
        page.goto("/")
        wait_for_app(page, timeout=60_000)
        page.locator('[data-testid="stException"], [data-testid="stAlert"]').first.wait_for()
        text = page.locator('[data-testid="stAppViewContainer"]').inner_text()
        sidebar_text = page.locator('[data-testid="stSidebar"] [data-testid="stText"]')
        colour = sidebar_text.first.evaluate("e => getComputedStyle(e).color") if sidebar_text.count() else None
        return {"text": text, "text_colour": colour}
    finally:
        ctx.close()


def _assert_plain(text: str, *secrets: str) -> None:
    assert "This app has encountered an error" in text, text
    for leak in ("Traceback", 'File "', ".py", str(REPO_ROOT), "/usr/", "site-packages", "Error:", *secrets):
        assert leak not in text, f"{leak!r} on the page:\n{text}"


def test_kpi_serve_from_another_folder_uses_the_project_config_and_hides_a_page_error(browser, tmp_path):
    db = tmp_path / "kpi.sqlite"
    db.write_bytes(b"this is not an SQLite store " * 200)  # every page that reads the store fails
    with KpiServe("unused", cwd=tmp_path, env=_outside_env(db)) as srv:
        seen = _error_page(browser, srv.url)
    # the theme of .streamlit/config.toml (textColor #0b0c0c; Streamlit's own is #31333f)
    assert seen["text_colour"] == "rgb(11, 12, 12)", seen
    _assert_plain(seen["text"], "DatabaseError", "not a database", str(tmp_path))


def test_bare_streamlit_run_without_config_hides_an_error_in_the_gate(browser, tmp_path, demo_template):
    db = tmp_path / "kpi.sqlite"
    shutil.copyfile(demo_template, db)
    env = {**_outside_env(db), "KPI_ROLES": '{"someone@council.gov.uk": "superuser"}'}  # fails in the gate
    with StreamlitServer(REPO_ROOT / "dashboard" / "app.py", cwd=tmp_path, env=env) as srv:
        seen = _error_page(browser, srv.url)
    _assert_plain(seen["text"], "ValueError", "superuser", "someone@council.gov.uk")
