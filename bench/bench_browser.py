"""Browser benchmark: how long until the overview is fully rendered, in a real browser.

Starts the dashboard on the synthetic demo store (built in a temporary directory, or ``--db``), and
times in Debian's Chromium, from navigation start to the moment Streamlit has finished running and
the main content is final (``wait_for_app``: script state 'notRunning', nothing stale or still
loading, charts drawn, content unchanged since). Every load is a new browser context, i.e. a new
Streamlit session with a cold browser cache. The floor is the same measurement for a bare
one-chart Streamlit page served the same way. Goal: overview ≤ 3 s.

Run: ``.venv/bin/python bench/bench_browser.py [--loads 5] [--db PATH]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_support import (VIEWPORT, StreamlitServer, launch_browser, missing_prerequisites,  # noqa: E402
                             server_env, wait_for_app)

GOAL_S = 3.0
BARE_APP = """import streamlit as st, plotly.express as px
st.plotly_chart(px.line(x=[1, 2, 3], y=[1, 3, 2]))
"""


def time_loads(browser, url: str, loads: int, check=None) -> tuple[float, list[float]]:
    """One untimed warm-up load (server-side imports, caches), then ``loads`` timed loads; seconds."""
    times = []
    cold = None
    for i in range(loads + 1):
        ctx = browser.new_context(viewport=VIEWPORT)
        try:
            page = ctx.new_page()
            page.goto(url, wait_until="commit")
            done_ms = wait_for_app(page, timeout=60_000)
            if check:
                check(page)
        finally:
            ctx.close()
        if i == 0:
            cold = done_ms / 1000
        else:
            times.append(done_ms / 1000)
    return cold, times


def check_overview(page) -> None:
    assert page.locator('[data-testid="stMain"] h1').count() >= 1, "the overview has no title"
    assert page.locator('[data-testid="stException"]').count() == 0, "the overview shows an exception"


def check_chart(page) -> None:
    assert page.locator(".js-plotly-plot .main-svg").count() >= 1, "the chart was not drawn"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=5, help="timed loads per page (median reported)")
    ap.add_argument("--db", type=Path, help="an existing store (default: build the demo store in a temp dir)")
    args = ap.parse_args(argv)
    missing = missing_prerequisites()
    if missing:
        print("cannot run: missing " + "; ".join(missing), file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="kpi-bench-browser-") as tmp:
        tmp = Path(tmp)
        db = args.db
        if db is None:
            from metrics.demo_store import build_demo

            db = tmp / "kpi.sqlite"
            t = time.perf_counter()
            build_demo(db)
            print(f"demo store built in {time.perf_counter() - t:.1f} s", flush=True)
        bare_dir = tmp / "bare"
        bare_dir.mkdir()
        (bare_dir / "app.py").write_text(BARE_APP)
        # same config (theme, toolbar) as the dashboard, so only the app itself differs
        (bare_dir / ".streamlit").mkdir()
        (bare_dir / ".streamlit" / "config.toml").write_text((ROOT / ".streamlit" / "config.toml").read_text())

        with sync_playwright() as p:
            browser = launch_browser(p)
            try:
                with StreamlitServer("dashboard/app.py", cwd=ROOT, env=server_env(db)) as dash:
                    cold_o, overview = time_loads(browser, f"{dash.url}/", args.loads, check_overview)
                with StreamlitServer("app.py", cwd=bare_dir) as bare:
                    cold_b, floor = time_loads(browser, f"{bare.url}/", args.loads, check_chart)
            finally:
                browser.close()

    med_o, med_b = statistics.median(overview), statistics.median(floor)
    fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(f"overview (demo store)   median {med_o:.2f} s  of {args.loads} loads [{fmt(overview)}]; "
          f"first load after start {cold_o:.2f} s")
    print(f"bare one-chart page     median {med_b:.2f} s  of {args.loads} loads [{fmt(floor)}]; "
          f"first load after start {cold_b:.2f} s")
    print(f"ratio overview / bare   {med_o / med_b:.2f}×")
    print(f"goal: overview ≤ {GOAL_S:.0f} s — {'met' if med_o <= GOAL_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
