"""PostgreSQL figures (issue 16): a 1,000,000-row assessments ingest into PostgreSQL vs SQLite (goal ≤ 2×), and
all ten KPIs for one council (one schema) out of 20 schemas × ~1M rows (goal ≤ 2 s).

Uses ``KPI_TEST_PG_URL`` if set, else a throwaway local cluster (tests/pg_support.py) with fsync and synchronous
commit ON, as a real server runs. The measured council's schema is built through the real path (the demo store,
then the 1M-row file ingested over it); the other 19 schemas are filled server-side (INSERT … SELECT from the
first), since 19 more full ingests add nothing to what is measured. Run:
``.venv/bin/python bench/bench_pg.py [ROWS] [SCHEMAS]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench_ingest import make_file  # noqa: E402

INGEST = """
import time, os
os.environ['KPI_PSEUDONYM_KEY'] = {key!r}
from metrics.store import connect
from metrics.ingest import ingest_path
conn = connect({db!r})
t = time.perf_counter()
r = ingest_path(conn, {csv!r}, kind='assessments')
dt = time.perf_counter() - t
assert r.status == 'accepted', r.errors[:3]
print(dt)
"""

KEY = "benchmark-key-not-secret-0123456789"

KPIS = """
import time
from metrics.store import connect
from metrics.compute import compute_series
out = []
for _ in range(3):
    t = time.perf_counter()
    conn = connect({db!r})
    s = compute_series(conn)
    conn.close()
    out.append(time.perf_counter() - t)
assert s['metric'].nunique() == 10, s['metric'].unique()
print(' '.join(f'{{x:.2f}}' for x in out))
"""


def run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=env).stdout.strip().splitlines()[-1]


def main() -> None:
    import pg_support

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    schemas = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    cluster = pg_support.Cluster(durable=True)
    try:
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            csv = d / "assessments.csv"
            make_file(csv, n)
            lite = float(run(INGEST.format(db=str(d / "kpi.sqlite"), csv=str(csv), key=KEY)))
            first = f"{cluster.url}#la_000"
            post = float(run(INGEST.format(db=first, csv=str(csv), key=KEY)))
            print(f"ingest {n:,} assessments: SQLite {lite:.2f} s, PostgreSQL {post:.2f} s "
                  f"({post / lite:.2f}× SQLite; goal ≤ 2×)")

            from metrics import store
            from metrics.demo_store import build_demo
            from metrics.pseudonym import DEMO_KEY
            from metrics.contract import KINDS
            from metrics.schema import record_table

            council = f"{cluster.url}#la_001"
            t = time.perf_counter()
            build_demo(council)
            conn = store.connect(council)
            total = sum(conn.execute(f"SELECT count(*) FROM {record_table(k)}").fetchone()[0] for k in KINDS)
            conn.close()
            run(INGEST.format(db=council, csv=str(csv), key=DEMO_KEY))  # (the demo store's key: a store has one key)
            print(f"council la_001: demo store + {n:,} assessments ingested in {time.perf_counter() - t:.1f} s")
            t = time.perf_counter()
            for i in range(2, schemas + 1):
                other = store.connect(f"{cluster.url}#la_{i:03d}")
                other.raw.execute("DELETE FROM store_meta")
                for table in ("uploads", "upload_months", "current_months", "store_meta",
                              *(record_table(k) for k in KINDS)):
                    other.raw.execute(f"INSERT INTO {table} SELECT * FROM la_001.{table}")
                other.raw.execute("ANALYZE")
                other.close()
            conn = store.connect(council)
            conn.raw.execute("ANALYZE")
            rows = sum(conn.execute(f"SELECT count(*) FROM {record_table(k)}").fetchone()[0] for k in KINDS)
            conn.close()
            print(f"{schemas - 1} more schemas filled server-side in {time.perf_counter() - t:.1f} s: "
                  f"{schemas} schemas × {rows:,} record rows (demo {total:,} + the assessments file)")
            times = run(KPIS.format(db=council))
            print(f"all ten KPIs for la_001 (connect + compute_series), 3 runs: {times} s (goal ≤ 2 s)")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
