"""Portfolio page benchmark (issue 16): the portfolio of 20 councils, first load and warm, server-side.

Twenty council stores (SQLite, one file each) are copies of one synthetic demo store, each bound to its own
DfE LA code (statistical neighbours of Herefordshire, so each has published benchmarks); KPI_COUNCILS names
them and a commissioner's KPI_ROLES gives them a viewer role at every one. With ``--postgres`` the same portfolio also runs on PostgreSQL, one schema per council (``la_<code>``) copied
server-side from one demo schema (``KPI_TEST_PG_URL``, else a throwaway local cluster).

Times are one full script run through ``dashboard/app.py`` (sign-in gate, navigation, the portfolio page)
as AppTest measures it: server-side only, no browser rendering. **Warm**: a rerun with nothing changed
(every council's audit version unchanged, so its verdict is a cache hit), best of ``--repeat``. Goal: warm
≤ 2 s for 20 councils.

Run: ``.venv/bin/python bench/bench_portfolio.py [--councils 20] [--repeat 3] [--folder DIR] [--postgres]``
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
    ap.add_argument("--postgres", action="store_true", help="also on PostgreSQL, one schema per council")
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
    if args.postgres:
        run_postgres(codes, args.repeat)


def build_postgres(url: str, codes: list[str], folder: Path) -> dict:
    """One schema per council (``la_<code>``), each a server-side copy of one synthetic demo schema, bound to its
    own LA code (as ``build`` does with files)."""
    from metrics import store
    from metrics.contract import KINDS
    from metrics.demo_store import build_demo
    from metrics.schema import record_table

    build_demo(f"{url}#la_template")
    out = {}
    for code in codes:
        conn = store.connect(f"{url}#la_{code}")
        conn.raw.execute("DELETE FROM store_meta")
        for table in ("uploads", "upload_months", "current_months", "store_meta", *(record_table(k) for k in KINDS)):
            conn.raw.execute(f"INSERT INTO {table} SELECT * FROM la_template.{table}")
        conn.raw.execute("DELETE FROM store_meta WHERE key IN ('la_code', 'council_name')")
        conn.raw.execute("INSERT INTO store_meta (key, value) VALUES ('la_code', %s)", (code,))
        conn.raw.execute("ANALYZE")
        conn.close()
        (folder / code).mkdir(parents=True, exist_ok=True)
        out[code] = {"name": f"Council {code} (synthetic demo)", "db": f"{url}#la_{code}",
                     "key_file": str(folder / code / "pseudonym.key")}
    return out


def run_postgres(codes: list[str], repeat: int) -> None:
    """The same portfolio on PostgreSQL: ``KPI_TEST_PG_URL`` if set, else a throwaway local cluster
    (tests/pg_support.py, fsync on)."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    import pg_support

    cluster = pg_support.Cluster(durable=True)  # (KPI_TEST_PG_URL: that server, left running)
    try:
        url = cluster.url
        with tempfile.TemporaryDirectory(prefix="kpi-portfolio-pg-") as tmp:
            t = time.perf_counter()
            councils = build_postgres(url, codes, Path(tmp))
            built = time.perf_counter() - t
            first, warm = run(councils, repeat)
        verdict = "meets" if warm <= GOAL_S else "MISSES"
        print(f"PostgreSQL, {len(codes)} councils (one schema each, built in {built:.0f} s): portfolio first load "
              f"{first:.2f} s, warm {warm:.2f} s (goal ≤ {GOAL_S:.0f} s warm: {verdict})")
    finally:
        cluster.stop()

if __name__ == "__main__":
    main()
