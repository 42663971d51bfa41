"""Dashboard page benchmark: server-side run time of the overview and a KPI detail page (AppTest).

Two stores: the demo store, and the large store of ``bench/bench_kpis.py`` (1,000,000 assessments,
1,000,000 allocation episodes, 200,000 conferences over 36 months, plus superseded uploads), reused
from its default path if it exists. For each: the **first load** (empty caches: every loader computes)
and the **warm** run (after the first load: the audit version is unchanged, so every loader is a cache
hit), best of ``--repeat``. Goal: warm ≤ 1 s per page.

Times are one full script run through ``dashboard/app.py`` (sign-in gate, navigation, page) as AppTest
measures it: server-side only, no browser rendering. Imports are paid once, before timing.

Run: ``.venv/bin/python bench/bench_dashboard.py [--big-db PATH] [--demo-db PATH] [--rebuild] [--repeat N]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
GOAL_S = 1.0
KPI = "agency_rate"


def _bench_kpis():
    spec = importlib.util.spec_from_file_location("bench_kpis", Path(__file__).with_name("bench_kpis.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _use(db: Path) -> None:
    from metrics.settings import get_settings

    os.environ["KPI_DB_PATH"] = str(db)
    os.environ["KPI_AUTH_MODE"] = "local"
    get_settings.cache_clear()


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()


def _timed_run(at, page: str | None = None, **query) -> float:
    if page:
        at.switch_page(page)
    at.query_params.update(query)
    t = time.perf_counter()
    at.run()
    dt = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    return dt


def measure(db: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """{page: (first load s, warm best s)} for the overview and the KPI detail page."""
    from streamlit.testing.v1 import AppTest

    _use(db)
    out = {}
    # overview: the default page, so the very first run of the app
    _clear_caches()
    at = AppTest.from_file(APP, default_timeout=300)
    first = _timed_run(at)
    warm = min(_timed_run(at) for _ in range(repeat))
    out["overview"] = (first, warm)
    # KPI detail: caches emptied again after the app's first run, then the page opened cold
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    _clear_caches()
    first = _timed_run(at, "views/kpi.py", kpi=KPI)
    warm = min(_timed_run(at) for _ in range(repeat))
    out[f"kpi detail ({KPI})"] = (first, warm)
    # KPI detail as reached from the overview (series, reviews and board already cached)
    at = AppTest.from_file(APP, default_timeout=300)
    _clear_caches()
    at.run()
    first = _timed_run(at, "views/kpi.py", kpi=KPI)
    out["kpi detail after overview"] = (first, min(_timed_run(at) for _ in range(repeat)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big-db", type=Path, default=Path(tempfile.gettempdir()) / "kpi-bench-kpis.sqlite",
                    help="the large store (built by bench/bench_kpis.py's builder if missing)")
    ap.add_argument("--demo-db", type=Path, default=Path(tempfile.gettempdir()) / "kpi-bench-demo.sqlite")
    ap.add_argument("--rebuild", action="store_true", help="rebuild both stores")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    if args.rebuild or not args.demo_db.exists():
        from metrics.demo_store import build_demo

        t = time.perf_counter()
        build_demo(args.demo_db, replace=True)
        print(f"built demo store {args.demo_db} in {time.perf_counter() - t:.1f} s")
    if args.rebuild or not args.big_db.exists():
        t = time.perf_counter()
        counts = _bench_kpis().build(args.big_db)
        print(f"built large store {args.big_db} in {time.perf_counter() - t:.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    # pay the imports (streamlit, plotly, pandas, metrics) before timing anything
    with tempfile.TemporaryDirectory() as d:
        from metrics import store

        empty = Path(d) / "empty.sqlite"
        store.connect(empty).close()
        _use(empty)
        from streamlit.testing.v1 import AppTest

        AppTest.from_file(APP, default_timeout=120).run()

    worst = 0.0
    print(f"\n{'store':<8} {'page':<28} {'first load':>11} {'warm (best of ' + str(args.repeat) + ')':>20}")
    for name, db in (("demo", args.demo_db), ("1M rows", args.big_db)):
        for page, (first, warm) in measure(db, args.repeat).items():
            worst = max(worst, warm)
            print(f"{name:<8} {page:<28} {first:>10.3f}s {warm:>19.3f}s")
    print(f"\ngoal: warm ≤ {GOAL_S:.1f} s per page — {'met' if worst <= GOAL_S else 'NOT met'} "
          f"(slowest warm run {worst:.3f} s)")


if __name__ == "__main__":
    main()
