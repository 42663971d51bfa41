"""Board pack benchmark: the full pack (10 KPIs, every chart, evidence, definitions) on the demo store,
as PDF and as PowerPoint, restricted and public. Goal: ≤ 15 s per pack.

Each pack starts its own kaleido (headless Chromium) session, as `kpi boardpack` does, so the times
include the browser's start-up. Stage times come from ``PackInfo.timings``: load (store → frames and
reviews), model (layout-neutral content, public decisions), figures (plotly), charts (kaleido),
render (reportlab / python-pptx).

Run: ``.venv/bin/python bench/bench_boardpack.py [--db PATH] [--out DIR] [--review YYYY-MM-DD]``
(the demo store is built once at --db and reused).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 15.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tmp = Path(tempfile.gettempdir())
    p.add_argument("--db", type=Path, default=tmp / "kpi-bench-boardpack.sqlite")
    p.add_argument("--out", type=Path, default=tmp / "kpi-bench-boardpack")
    p.add_argument("--review", default="2025-03-01")
    args = p.parse_args(argv)

    from metrics.demo_store import build_demo
    from metrics.reviews import as_date
    from metrics.store import connect, list_uploads

    if not args.db.exists() or not list_uploads(connect(args.db)):
        t = time.perf_counter()
        build_demo(args.db, replace=True)
        print(f"demo store built at {args.db} in {time.perf_counter() - t:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    review = as_date(args.review)

    from reports.boardpack import build_pack

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; review {review}; "
          f"goal ≤ {GOAL_S:.0f} s per pack")
    print(f"{'pack':<22} {'pages':>5} {'total s':>8}   stages (s)")
    worst = 0.0
    conn = connect(args.db)
    for fmt in ("pdf", "pptx"):
        for public in (False, True):
            out = args.out / f"pack{'-public' if public else ''}.{fmt}"
            t = time.perf_counter()
            info = build_pack(conn, review, out, public=public, by="bench")
            total = time.perf_counter() - t
            worst = max(worst, total)
            stages = ", ".join(f"{k} {v:.2f}" for k, v in info.timings.items())
            print(f"{out.name:<22} {info.pages:>5} {total:>8.2f}   {stages}")
    print(f"slowest pack {worst:.2f} s — {'OK' if worst <= GOAL_S else 'OVER'} the {GOAL_S:.0f} s goal; "
          f"packs in {args.out}")
    return 0 if worst <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
