"""Excel ingest benchmark: a 1,000,000-row assessments workbook against the same rows as CSV, each through
the one ingest path (read → validate → pseudonymise → store → commit), in a fresh interpreter each.

Prints both times, their ratio (goal ≤ 3×) and each run's peak memory (``ru_maxrss``; goal ≤ 1.5 GB).
The workbook (xlsxwriter, constant-memory mode, real Excel dates) and the CSV are cached under
``build/bench_xlsx/`` (git-ignored), since writing a million-row workbook takes a while.
Run: ``PYTHONPATH=$PWD .venv/bin/python bench/bench_xlsx.py [ROWS]``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "bench_xlsx"
HEADER = ["assessment_id", "child_id", "start_date", "completed_date", "nfa", "team"]


def rows(n: int, seed: int = 1):
    """The benchmark's rows (the same for both files): ids, real dates, Y/N, a team."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2022-04-01") + rng.integers(0, 1000, n)
    done = start + rng.integers(0, 45, n)
    child = rng.integers(0, 600_000, n)
    nfa = rng.random(n) < 0.3
    team = np.array(["Assessment North", "Assessment South", "Front Door", "Disabled Children"])[rng.integers(0, 4, n)]
    return start.astype(dt.date), done.astype(dt.date), child, nfa, team


def make_files(n: int) -> tuple[Path, Path]:
    """build/bench_xlsx/assessments-N.xlsx and .csv (made once, then reused)."""
    import xlsxwriter

    CACHE.mkdir(parents=True, exist_ok=True)
    xlsx, csv = CACHE / f"assessments-{n}.xlsx", CACHE / f"assessments-{n}.csv"
    if xlsx.exists() and csv.exists():
        return xlsx, csv
    start, done, child, nfa, team = rows(n)
    t = time.perf_counter()
    with csv.open("w") as f:
        f.write(",".join(HEADER) + "\n")
        for i in range(n):
            f.write(f"A{i:08d},C{child[i]:07d},{start[i]},{done[i]},{'Y' if nfa[i] else 'N'},{team[i]}\n")
    tmp = xlsx.with_suffix(".part")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    ws = wb.add_worksheet("Assessments")
    day = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_row(0, 0, HEADER)
    for i in range(n):
        r = i + 1
        ws.write_string(r, 0, f"A{i:08d}")
        ws.write_string(r, 1, f"C{child[i]:07d}")
        ws.write_datetime(r, 2, start[i], day)
        ws.write_datetime(r, 3, done[i], day)
        ws.write_string(r, 4, "Y" if nfa[i] else "N")
        ws.write_string(r, 5, team[i])
    wb.close()
    tmp.rename(xlsx)
    print(f"generated {n:,} rows: {xlsx.stat().st_size / 1e6:.1f} MB workbook, {csv.stat().st_size / 1e6:.1f} MB CSV "
          f"in {time.perf_counter() - t:.0f} s (cached in {CACHE.relative_to(ROOT)}/)")
    return xlsx, csv


RUN = """
import time, resource, os
os.environ['KPI_PSEUDONYM_KEY'] = 'benchmark-key-not-secret-0123456789'
from metrics.store import connect
from metrics.ingest import ingest_path
conn = connect({db!r})
t = time.perf_counter()
r = ingest_path(conn, {path!r}, kind='assessments')
dt = time.perf_counter() - t
assert r.status == 'accepted', (r.file, r.errors[:3])
assert r.rows == {n}, r.rows
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(dt)
"""


def run(path: Path, db: Path, n: int) -> tuple[float, float]:
    """Ingest ``path`` into a new store in a fresh interpreter: (seconds, peak RSS MB)."""
    out = subprocess.run([sys.executable, "-c", RUN.format(db=str(db), path=str(path), n=n)], capture_output=True,
                         text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    lines = out.stdout.strip().splitlines()
    return float(lines[-1]), float(lines[-2])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    xlsx, csv = make_files(n)
    with tempfile.TemporaryDirectory() as d:
        x_s, x_mb = run(xlsx, Path(d) / "xlsx.sqlite", n)
        c_s, c_mb = run(csv, Path(d) / "csv.sqlite", n)
    print(f"{n:,} assessments as .xlsx ({xlsx.stat().st_size / 1e6:.0f} MB): {x_s:.2f} s, peak RSS {x_mb:.0f} MB"
          f"   [goal ≤ 1,500 MB]")
    print(f"the same rows as .csv ({csv.stat().st_size / 1e6:.0f} MB):       {c_s:.2f} s, peak RSS {c_mb:.0f} MB")
    print(f"ratio xlsx ÷ csv: {x_s / c_s:.2f}   [goal ≤ 3]")


if __name__ == "__main__":
    main()
