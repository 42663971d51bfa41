"""Ingest benchmark: a 1,000,000-row assessments file, read → validate → pseudonymise → store → commit.

Also times the floor — a bare pandas.read_csv plus a one-transaction executemany of the same rows
with no checks — and prints our time ÷ floor. Run: ``.venv/bin/python bench/bench_ingest.py [ROWS]``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_file(path: Path, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2022-04-01") + rng.integers(0, 1000, n)
    done = start + rng.integers(0, 45, n)
    child = rng.integers(0, 600_000, n)
    nfa = rng.random(n) < 0.3
    team = np.array(["Assessment North", "Assessment South", "Front Door", "Disabled Children"])[rng.integers(0, 4, n)]
    with path.open("w") as f:
        f.write("assessment_id,child_id,start_date,completed_date,nfa,team\n")
        uk = lambda d: f"{str(d)[8:10]}/{str(d)[5:7]}/{str(d)[:4]}"  # noqa: E731 - half the dates UK-style
        for i in range(n):
            s = str(start[i]) if i % 2 else uk(start[i])
            f.write(f"A{i:08d},C{child[i]:07d},{s},{done[i]},{'Y' if nfa[i] else 'N'},{team[i]}\n")


def peak_mb_of(code: str) -> tuple[float, float, str]:
    """Run code in a fresh interpreter; return (seconds it reports, peak RSS MB, output)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    secs = float(out.stdout.strip().splitlines()[-1])
    rss = float(out.stdout.strip().splitlines()[-2])
    return secs, rss, out.stdout


OURS = """
import time, resource, os
os.environ['KPI_PSEUDONYM_KEY'] = 'benchmark-key-not-secret-0123456789'
from metrics.store import connect
from metrics.ingest import ingest_path
conn = connect({db!r})
t = time.perf_counter()
r = ingest_path(conn, {csv!r}, kind='assessments')
dt = time.perf_counter() - t
assert r.status == 'accepted', r.errors[:3]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(dt)
"""

FLOOR = """
import time, resource, sqlite3
import pandas as pd
t = time.perf_counter()
df = pd.read_csv({csv!r}, dtype=str, keep_default_na=False)
conn = sqlite3.connect({db!r}, isolation_level=None)
conn.execute('CREATE TABLE t (assessment_id, child_id, start_date, completed_date, nfa, team)')
conn.execute('BEGIN')
conn.executemany('INSERT INTO t VALUES (?,?,?,?,?,?)', df.itertuples(index=False, name=None))
conn.execute('COMMIT')
dt = time.perf_counter() - t
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(dt)
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        csv = d / "assessments.csv"
        t = time.perf_counter()
        make_file(csv, n)
        print(f"generated {n:,} rows ({csv.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
        ours, ours_mb, _ = peak_mb_of(OURS.format(db=str(d / "ours.sqlite"), csv=str(csv)))
        floor, floor_mb, _ = peak_mb_of(FLOOR.format(db=str(d / "floor.sqlite"), csv=str(csv)))
    print(f"ingest (read, validate, pseudonymise, store, commit): {ours:.2f} s, peak RSS {ours_mb:.0f} MB"
          f"   [goal ≤ 10 s, ≤ 1,500 MB]")
    print(f"floor (read_csv + one-transaction executemany):     {floor:.2f} s, peak RSS {floor_mb:.0f} MB")
    print(f"ratio ours ÷ floor: {ours / floor:.2f}   [goal ≤ 3]")


if __name__ == "__main__":
    main()
