"""Board pack benchmark: the full pack (10 KPIs, every chart, evidence, definitions) on the demo store, as
PDF and as PowerPoint, restricted and public, and the Commissioner's Word report (``reports.word``, when
present). Goals (issue 14 item 5): ≤ 10 s per pack, ≤ 5 s for the Word report.

Each pack is timed **cold**: the chart cache emptied first, so it starts its own kaleido (headless
Chromium) session and draws all ten charts, as `kpi boardpack` does in a fresh process. Then the other
format of the same review is timed **warm** (its charts come from the cache, as when the dashboard offers
both). The machine is shared, so every measurement is repeated (``--runs``) and the minimum and median are
printed with the load average and the CPU seconds (this process and its Chromium children; renderer
processes Chromium's zygote started may be missing from it). Stage times come from ``PackInfo.timings``:
load (store → frames and reviews), model, figures (plotly, built in a worker thread while the model is),
charts (kaleido: what was left to draw once the last figure was built — each chart is drawn while the next
is built), charts_wait (the model thread waiting for them), render (reportlab / python-pptx).

Run: ``.venv/bin/python bench/bench_boardpack.py [--db PATH] [--out DIR] [--review YYYY-MM-DD] [--runs N]``
(the demo store is built once at --db and reused).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

from demo_review import parser, prepare

GOAL_S = 10.0
WORD_GOAL_S = 5.0


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _word(conn, review, out: Path, public: bool):
    """The Word report's build, or None where reports.word is not in this tree yet."""
    import reports

    if not (Path(reports.__file__).parent / "word.py").is_file():  # only this tree's, never another's
        return None
    from reports.word import build_report

    try:
        return build_report(conn, review, out, public=public, by="bench")
    except Exception as e:  # noqa: BLE001 — the packs' figures still print
        print(f"word report failed: {type(e).__name__}: {e}")
        return None


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__, "boardpack")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    review = prepare(args)

    from reports import boardpack
    from metrics.store import connect
    from reports.boardpack import build_pack

    print(f"machine: {os.cpu_count()} CPUs, load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"(1/5/15 min); review {review}; goal ≤ {GOAL_S:.0f} s per pack, ≤ {WORD_GOAL_S:.0f} s Word report")
    print(f"{'run':>3} {'pack':<24} {'pages':>5} {'wall s':>7} {'cpu s':>6}   stages (s)")
    conn = connect(args.db)
    times: dict[str, list[float]] = {}

    def timed(name: str, build, *a, **k):
        t, c = time.perf_counter(), _cpu()
        info = build(*a, **k)
        wall, cpu = time.perf_counter() - t, _cpu() - c
        if info is None:
            return
        times.setdefault(name, []).append(wall)
        stages = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in (info.timings or {}).items())
        pages = getattr(info, "pages", getattr(info, "headings", ""))
        print(f"{run:>3} {name:<24} {pages:>5} {wall:>7.2f} {cpu:>6.1f}   {stages}")

    for run in range(1, args.runs + 1):
        for public in (False, True):
            tag = " public" if public else ""
            for first, second in (("pdf", "pptx"), ("pptx", "pdf")):
                boardpack._PNG_CACHE.clear()
                timed(f"{first}{tag} (cold)", build_pack, conn, review, args.out / f"pack{tag.strip()}.{first}",
                      public=public, by="bench")
                if first == "pdf":
                    timed(f"{second}{tag} (warm)", build_pack, conn, review,
                          args.out / f"pack{tag.strip()}.{second}", public=public, by="bench")
            timed(f"word{tag}", _word, conn, review, args.out / f"report{tag.strip()}.docx", public)
    print()
    print(f"{'pack':<24} {'min s':>6} {'median s':>8}   goal")
    worst = 0.0
    for name, ts in times.items():
        goal = WORD_GOAL_S if name.startswith("word") else GOAL_S
        worst = max(worst, statistics.median(ts) / goal)
        print(f"{name:<24} {min(ts):>6.2f} {statistics.median(ts):>8.2f}   ≤ {goal:.0f} s "
              f"{'OK' if statistics.median(ts) <= goal else 'OVER'}")
    if not any(n.startswith("word") for n in times):
        print("word report: reports/word.py is not in this tree (the slot is ready)")
    print(f"load average now {os.getloadavg()[0]:.1f}; packs in {args.out}")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
