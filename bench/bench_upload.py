"""Upload page benchmark: check, then load, a 1,000,000-row assessments file the way the page does it —
``prepare`` (validate + preview, once), then ``commit`` of what was prepared — into a fresh store.

Before issue 10 the page validated twice (``ingest_bytes(commit=False)``, then ``ingest_bytes``); the
``--old`` flag times that flow with the same calls (for a checkout that predates ``prepare``).
Run: ``.venv/bin/python bench/bench_upload.py [ROWS] [--old]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import make_file  # noqa: E402


def main(rows: int = 1_000_000, old: bool = False) -> float:
    os.environ.setdefault("KPI_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789")
    from metrics import ingest
    from metrics.store import connect

    with tempfile.TemporaryDirectory() as d:
        csv = Path(d) / "assessments.csv"
        make_file(csv, rows)
        data = csv.read_bytes()
        conn = connect(Path(d) / "kpi.sqlite")
        t = time.perf_counter()
        if old:
            checked = ingest.ingest_bytes(conn, data, csv.name, kind="assessments", commit=False)
            assert checked.ok, checked.errors[:3]
            t_check = time.perf_counter() - t
            done = ingest.ingest_bytes(conn, data, csv.name, kind="assessments")
        else:
            prepared = ingest.prepare(conn, data, csv.name, kind="assessments")
            assert prepared.ok, prepared.result.errors[:3]
            t_check = time.perf_counter() - t
            done = ingest.commit(conn, prepared)
        total = time.perf_counter() - t
        assert done.status == "accepted", done.errors[:3]
        conn.close()
    flow = "ingest_bytes(commit=False) then ingest_bytes" if old else "prepare then commit"
    print(f"{rows:,} rows, {flow}: check {t_check:.2f} s, load {total - t_check:.2f} s, check-then-load {total:.2f} s")
    return total


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 1_000_000, old="--old" in sys.argv)
