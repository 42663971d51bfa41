"""What the pack and report benchmarks share: the --db / --out / --review arguments and a demo store built
once at --db and reused (imported by bench_boardpack.py and bench_report.py, which run from this folder)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """The arguments every such benchmark takes; ``name`` tells its store and output folder apart."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    tmp = Path(tempfile.gettempdir())
    p.add_argument("--db", type=Path, default=tmp / f"kpi-bench-{name}.sqlite")
    p.add_argument("--out", type=Path, default=tmp / f"kpi-bench-{name}")
    p.add_argument("--review", default="2025-03-01")
    return p


def prepare(args):
    """The demo store at ``args.db`` (built when missing or empty), ``args.out`` made; the review date."""
    from metrics.demo_store import build_demo
    from metrics.reviews import as_date
    from metrics.store import connect, list_uploads

    if not args.db.exists() or not list_uploads(connect(args.db)):
        t = time.perf_counter()
        build_demo(args.db, replace=True)
        print(f"demo store built at {args.db} in {time.perf_counter() - t:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    return as_date(args.review)
