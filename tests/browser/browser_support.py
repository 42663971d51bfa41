"""Plumbing shared by the browser tests and ``bench/bench_browser.py``.

No tests here: the Debian Chromium launch recipe, a free port, a Streamlit server run as a
subprocess (its own process group, so everything it starts goes with it), ``wait_for_app`` and the
axe-core runner. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = REPO_ROOT / "build" / "node" / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 900}


def missing_prerequisites() -> list[str]:
    """What the browser suite needs but cannot find (empty list = all present)."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not AXE_JS.exists():
        missing.append(f"{AXE_JS.relative_to(REPO_ROOT)} (run `make browser-deps`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install -e '.[dev]')")
    return missing


def server_env(db: str | Path) -> dict[str, str]:
    """The dashboard's environment for the browser tests and the bench: local sign-in, demo mode."""
    from metrics.demo_store import DEMO_KEY

    return {
        "KPI_DB_PATH": str(db),
        "KPI_AUTH_MODE": "local",
        "KPI_DEMO_MODE": "true",
        "KPI_PSEUDONYM_KEY": DEMO_KEY,  # uploads made in the browser use the demo store's key
        "KPI_SHOW_ERROR_DETAILS": "false",
    }


def launch_browser(playwright):
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """``streamlit run SCRIPT`` on a free 127.0.0.1 port, from ``cwd``; a context manager.

    The file watcher is off: other people edit the dashboard while the suite runs, and a
    "source file changed" prompt must not appear in the page under test.
    """

    def __init__(self, script: str | Path, *, cwd: str | Path = REPO_ROOT, env: dict[str, str] | None = None,
                 port: int | None = None, startup_timeout: float = 60.0):
        self.script = str(script)
        self.cwd = str(cwd)
        self.env = {**os.environ, **(env or {})}
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "streamlit", "run", self.script,
                "--server.port", str(self.port), "--server.headless", "true",
                "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none"]

    def start(self) -> "StreamlitServer":
        self._log = tempfile.TemporaryFile(mode="w+b")
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop(kill=True)
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Streamlit exited with status {self.proc.returncode} before it was ready:\n"
                                   f"{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    body = r.read().decode().strip()
                    if r.status == 200 and body == "ok":
                        return
                    last = f"HTTP {r.status}: {body!r}"
            except OSError as e:
                last = str(e)
            time.sleep(0.25)
        raise TimeoutError(f"Streamlit was not healthy within {self.startup_timeout:.0f} s ({last}):\n"
                           f"{self.log_text()}")

    def log_text(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self, kill: bool = False) -> None:
        """SIGTERM the server's process group (SIGKILL if asked, or if it does not go within 10 s)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            pgid = proc.pid  # start_new_session: the group id is the server's pid
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "StreamlitServer":
        return self.start()

    def __exit__(self, exc_type, *_) -> None:
        self.stop(kill=exc_type is not None)


# --- waiting for Streamlit ---------------------------------------------------------------------

# True once Streamlit says the script has finished (not 'initial', not 'running'), the websocket
# is connected, no "Running…/Stop" status is shown, no element is stale (left over from an
# earlier run) or a skeleton placeholder, the main block has content, every plotly chart has
# drawn its SVG — and the main block's text has not changed for `stableMs`.
_SETTLED_JS = """
({stableMs, needText}) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  const ready = app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning';
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  const busy = status && /running|stop|connecting/i.test(status.innerText || '');
  const main = document.querySelector('[data-testid="stMainBlockContainer"]')
    || document.querySelector('[data-testid="stMain"]');
  const pending = document.querySelector('[data-stale="true"], [data-testid="stSkeleton"]');
  const charts = Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'));
  const chartsDrawn = charts.every(c => c.querySelector('.js-plotly-plot .main-svg'));
  const text = main ? main.innerText.trim() : '';
  if (!ready || busy || pending || !chartsDrawn || !main || (needText && !text)) {
    window.__stSettle = null;
    return false;
  }
  const now = performance.now();
  const sig = text.length + ':' + main.querySelectorAll('*').length;
  if (!window.__stSettle || window.__stSettle.sig !== sig) {
    window.__stSettle = {sig, since: now};
    return false;
  }
  return now - window.__stSettle.since >= stableMs ? window.__stSettle.since : false;
}
"""


def wait_for_app(page, *, timeout: float = 30_000, stable_ms: int = 300, need_text: bool = True) -> float:
    """Wait until Streamlit has finished running the page and its content is still; return the
    page's ``performance.now()`` (ms since navigation start) when the content reached its final
    state (it then stayed unchanged for ``stable_ms``).

    After a click that triggers a rerun, first wait for something the rerun must show (the
    script state may still read 'notRunning' for a moment before the rerun starts).
    """
    page.wait_for_selector('[data-testid="stApp"]', state="attached", timeout=timeout)
    page.evaluate("() => { window.__stSettle = null; }")
    handle = page.wait_for_function(_SETTLED_JS, arg={"stableMs": stable_ms, "needText": need_text},
                                    timeout=timeout, polling=50)
    settled_at = float(handle.json_value())
    # fonts and two animation frames: what is in the DOM is also painted (for screenshots)
    page.evaluate("async () => { await document.fonts.ready;"
                  " await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); }")
    return settled_at


_ARM_RERUN_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__stRunsSeen = 0;
  window.__stSettle = null;
  if (window.__stRunObserver) window.__stRunObserver.disconnect();
  window.__stRunObserver = new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') window.__stRunsSeen += 1;
  });
  window.__stRunObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}
"""


def after_rerun(page, action, *, timeout: float = 30_000, or_when: str | None = None) -> float:
    """Do ``action()`` (a click, a file upload…) and wait for the rerun it causes to finish.

    A MutationObserver armed *before* the action counts the script state turning 'running', so a
    rerun cannot be missed however fast it is, and the old content is never taken for the new.

    ``or_when`` is a JavaScript expression that also proves the rerun happened. It is needed when
    the run is so quick that the browser handles its "started" and "finished" messages in one
    batch: React then renders once, and the script state never visibly leaves 'notRunning'.
    """
    page.evaluate(_ARM_RERUN_JS)
    action()
    seen = "window.__stRunsSeen > 0" + (f" || ({or_when})" if or_when else "")
    page.wait_for_function(f"() => {seen}", timeout=timeout, polling=50)
    return wait_for_app(page, timeout=timeout)


_MARK_OLD_PAGE_JS = """
() => { const h = document.querySelector('[data-testid="stMain"] h1');
        window.__stOldTitle = h ? h.innerText : null; }
"""

# a page title other than the old page's is drawn: the new page (React may reuse the title's node, so
# its text is compared, not the node; every page has a title of its own)
_NEW_PAGE_DRAWN_JS = ("(h => h !== null && h.innerText !== window.__stOldTitle)"
                      "(document.querySelector('[data-testid=\"stMain\"] h1'))")


NAV_LINK = '[data-testid="stSidebarNav"] a[data-testid="stSidebarNavLink"]'


def nav_titles(page) -> list[str]:
    """The page titles in the sidebar navigation, in order (without the icons' ligature names)."""
    return [t.strip() for t in page.locator(f'{NAV_LINK} [data-testid="stMarkdownContainer"]').all_inner_texts()]


def navigate(page, title: str, *, timeout: float = 30_000) -> None:
    """Go to a page the way a person does: click its link in the sidebar navigation (opening the sidebar
    first where the page starts with it collapsed, as Present does)."""
    expand = page.locator('[data-testid="stExpandSidebarButton"]')
    if expand.count() and expand.first.is_visible():
        expand.first.click()
        page.locator(NAV_LINK).first.wait_for(state="visible", timeout=timeout)
    link = page.locator(NAV_LINK).filter(
        has=page.locator('[data-testid="stMarkdownContainer"]').get_by_text(title, exact=True))
    if link.get_attribute("aria-current", timeout=timeout) == "page":
        return
    # once another page's title is drawn, the new page's run has happened (see ``after_rerun``'s or_when)
    page.evaluate(_MARK_OLD_PAGE_JS)
    after_rerun(page, link.click, timeout=timeout, or_when=_NEW_PAGE_DRAWN_JS)
    if link.get_attribute("aria-current") != "page":
        raise AssertionError(f"after clicking {title!r} the navigation does not mark it as the current page")


# --- axe-core ----------------------------------------------------------------------------------


def run_axe(page, options: dict | None = None, context: dict | str | None = None) -> list[dict]:
    """Inject axe-core (once per document) and return its violations."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    opts = {"resultTypes": ["violations"], **(options or {})}
    result = page.evaluate("async ([ctx, opts]) => await axe.run(ctx || document, opts)", [context, opts])
    return result["violations"]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
        more = f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else ""
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']}\n    targets: {targets}{more}\n    {v['helpUrl']}")
        summary = (v["nodes"][0].get("failureSummary") or "").strip().replace("\n", " ")
        if summary:
            lines.append(f"    first: {summary[:300]}")
    return "\n".join(lines)
