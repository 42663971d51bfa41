"""``kpi metrics``: the KPI series from the store (shared/spec/cli.md). A thin layer over
:func:`metrics.compute.compute_series`.

``--json`` prints a JSON array of ``{"metric", "month", "value", "numerator", "denominator",
"source"}`` for every KPI and month with a value (no-data months are left out; a count or FTE KPI's
denominator is ``null``). Without ``--json``: a readable table, no-data months and flags included.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from kpi_cli.common import EXIT_OK, EXIT_USAGE, connect
from metrics.kpis import REGISTRY


def _num(x: float) -> float | None:
    """A finite float, or None for missing, NaN or ±inf (JSON has no such numbers)."""
    try:
        f = float(x)
    except (TypeError, ValueError):  # None, pd.NA
        return None
    return f if math.isfinite(f) else None


def series_records(frame) -> list[dict]:
    """The ``--json`` rows: months with a (finite) value only; a missing or non-finite part → null."""
    out = []
    for r in frame.itertuples(index=False):
        if _num(r.value) is None:
            continue
        out.append({"metric": r.metric, "month": r.month, "value": _num(r.value),
                    "numerator": _num(r.numerator), "denominator": _num(r.denominator), "source": r.source})
    return out


def _fmt(x: float) -> str:
    x = _num(x)
    return "" if x is None else f"{x:g}"


def cmd_metrics(args) -> int:
    from metrics.compute import compute_series
    from metrics.validate import parse_month

    unknown = [m for m in (args.metric or []) if m not in REGISTRY]
    if unknown:
        print(f"kpi metrics: unknown metric {', '.join(unknown)}. Known: {', '.join(REGISTRY)}", file=sys.stderr)
        return EXIT_USAGE
    first = parse_month(args.first, "--from month") if args.first else None  # Refused → exit 2 in kpi_cli.main
    last = parse_month(args.last, "--to month") if args.last else None
    if first and last and first > last:
        print(f"kpi metrics: --from {first} is after --to {last}.", file=sys.stderr)
        return EXIT_USAGE
    conn = connect(args)
    try:
        frame = compute_series(conn, metrics=args.metric or None, first=first, last=last)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(series_records(frame), indent=2, allow_nan=False))
        return EXIT_OK
    if frame.empty:
        print("No data in the store for these months.", file=sys.stderr)
        return EXIT_OK
    header = f"{'metric':<38} {'month':<7} {'value':>12} {'numerator':>11} {'denominator':>11}  {'source':<8} flags"
    print(header)
    print("-" * len(header))
    for r in frame.itertuples(index=False):
        kpi = REGISTRY[r.metric]
        print(f"{r.metric:<38} {r.month:<7} {kpi.format(r.value):>12} {_fmt(r.numerator):>11} "
              f"{_fmt(r.denominator):>11}  {r.source or '':<8} {', '.join(r.flags)}")
    return EXIT_OK


def register(subparsers, common: argparse.ArgumentParser) -> None:
    s = subparsers.add_parser("metrics", parents=[common], help="KPI values by month",
                              description="KPI values by month, with numerator, denominator and source.")
    s.add_argument("--metric", action="append", metavar="ID",
                   help="a KPI id (repeatable; default: all). Known: " + ", ".join(REGISTRY))
    s.add_argument("--from", dest="first", metavar="YYYY-MM", help="first month")
    s.add_argument("--to", dest="last", metavar="YYYY-MM", help="last month")
    s.add_argument("--json", action="store_true", help="JSON array of months with a value")
    s.set_defaults(func=cmd_metrics)
