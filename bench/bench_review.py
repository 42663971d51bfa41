"""Review and SPC benchmark: what judging costs on top of the KPI computation. Goal: ≤ 0.5 s beyond it.

The large store of ``bench/bench_kpis.py`` (1,000,000 assessments, 1,000,000 allocation episodes,
200,000 conferences over 36 months, plus superseded uploads), reused from its default path if it exists.
With the review settings in force (the defaults), it times, best of ``--repeat``:

- **compute**: the KPI series the review judges (``metrics.reviews.current_series``) — today's KPI
  computation, the baseline;
- **review**: the review model at a checkpoint (``metrics.reviews.review_board`` given that series):
  judged month, pooled values, Wilson intervals, SPC at the judged month, assurance, forecast v2 for every
  KPI — what ``kpi review`` adds to the computation;
- **spc**: the SPC chart of every KPI over all 36 months (``kpi spc`` without ``--at``, ten times);
- **kpi review --json end to end** in this process (``kpi_cli.main``), for the whole picture.

Run: ``.venv/bin/python bench/bench_review.py [--db PATH] [--rebuild] [--repeat N] [--at YYYY-MM-DD]``
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import tempfile
import time
from pathlib import Path

GOAL_S = 0.5


def _bench_kpis():
    spec = importlib.util.spec_from_file_location("bench_kpis", Path(__file__).with_name("bench_kpis.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "kpi-bench-kpis.sqlite")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the store even if it exists")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--at", default="2025-04-15", help="the checkpoint (default: judges March 2025, the last month)")
    args = ap.parse_args()

    bk = _bench_kpis()
    if args.rebuild or not args.db.exists():
        t = time.perf_counter()
        bk.build(args.db)
        print(f"built {args.db} in {time.perf_counter() - t:.1f} s")
    else:
        print(f"reusing {args.db} (--rebuild to rebuild)")

    from kpi_cli.main import main as kpi
    from metrics.kpis import REGISTRY
    from metrics.reviews import current_series, load_settings, review_board
    from metrics.reviews.evaluate import spc_chart
    from metrics.store import connect

    conn = connect(args.db)
    settings = load_settings(conn)
    t_compute, series = best(lambda: current_series(conn, settings), args.repeat)
    t_review, board = best(lambda: review_board(conn, args.at, settings=settings, series=series), args.repeat)
    t_spc, charts = best(lambda: [spc_chart(series, settings, k) for k in REGISTRY], args.repeat)
    conn.close()

    def cli() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            assert kpi(["review", "--db", str(args.db), "--at", args.at, "--json"]) == 0

    t_cli, _ = best(cli, args.repeat)
    months = series["month"].nunique()
    print(f"series: {series['metric'].nunique()} KPIs x {months} months; judged month {board.judged_month}; "
          f"{sum(len(c.points) for c in charts)} SPC points in {sum(len(c.segments) for c in charts)} segments")
    print(f"compute (today's KPI computation): {t_compute:.3f} s")
    print(f"review model beyond it:            {t_review:.3f} s   ({board.headline})")
    print(f"SPC of all {len(charts)} KPIs, all months:     {t_spc:.3f} s")
    print(f"kpi review --json end to end:      {t_cli:.3f} s")
    beyond = t_review + t_spc
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f}")
    print(f"beyond the computation: {beyond:.3f} s; goal ≤ {GOAL_S:.1f} s: {'met' if beyond <= GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
