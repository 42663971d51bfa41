"""Commissioner's report benchmark: the Word report (10 priorities, evidence, qualitative ToR items, data notes,
definitions) on the demo store, restricted and public. Goal: ≤ 5 s per report (issue 14 item 5).

Each report is timed as ``kpi report`` makes it — the store read once (:func:`reports.tables.load`), the pack
model (public: the disclosure decisions), the Word document (python-docx) — in one process, after the
imports; "cpu s" is the process's CPU time, the steadier figure when other work shares the cores. Stage times come from ``ReportInfo.timings``: load, model, render. The command end to end (a fresh
``python -m kpi_cli report``, imports included) is timed once too.

Run: ``.venv/bin/python bench/bench_report.py [--db PATH] [--out DIR] [--review YYYY-MM-DD] [--repeat N]``
(the demo store is built once at --db and reused).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from demo_review import parser, prepare

GOAL_S = 5.0


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__, "report")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    review = prepare(args)

    from metrics.store import connect
    from reports.word import build_report

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; review {review}; "
          f"goal ≤ {GOAL_S:.0f} s per report; best of {args.repeat}")
    print(f"{'report':<22} {'best s':>7} {'worst s':>8} {'cpu s':>6}   stages of the best (s)")
    worst_best = 0.0
    conn = connect(args.db)
    for public in (False, True):
        out = args.out / f"report{'-public' if public else ''}.docx"
        runs = []
        for _ in range(args.repeat):
            t, cpu = time.perf_counter(), time.process_time()
            info = build_report(conn, review, out, public=public, by="bench")
            runs.append((time.perf_counter() - t, info, time.process_time() - cpu))
        best, info, cpu = min(runs, key=lambda r: r[0])
        worst_best = max(worst_best, best)
        stages = ", ".join(f"{k} {v:.2f}" for k, v in info.timings.items())
        print(f"{out.name:<22} {best:>7.2f} {max(r[0] for r in runs):>8.2f} {cpu:>6.2f}   {stages}")
    conn.close()
    root = Path(__file__).resolve().parent.parent
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "kpi_cli", "report", "--db", str(args.db), "--review", args.review,
                        "--out", str(args.out / "report-cli.docx")], cwd=root, capture_output=True, text=True,
                       env=os.environ | {"PYTHONPATH": str(root)})
    cli = time.perf_counter() - t
    print(f"`kpi report` end to end (imports included): {cli:.2f} s, exit {r.returncode}")
    print(f"slowest report {worst_best:.2f} s — {'OK' if worst_best <= GOAL_S else 'OVER'} the {GOAL_S:.0f} s goal; "
          f"reports in {args.out}")
    return 0 if worst_best <= GOAL_S and r.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
