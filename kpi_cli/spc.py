"""``kpi spc --metric ID [--at YYYY-MM-DD] [--json]`` (shared/spec/judgement.md section 6): one KPI's
statistical process control chart — segments and their limits, each point's rule and type, the
variation and assurance verdicts. A formatting of :func:`metrics.reviews.spc_chart`.

With ``--at`` the chart is the one the review at that date reads (the monthly values up to its judged
month, the target at that month); without it every month. ``--json`` numbers are unrounded.
"""

from __future__ import annotations

import json
import sys

from kpi_cli.common import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, UsageError, connect, err
from metrics.kpis import REGISTRY

RULE_WORDS = {"outside_limits": "outside the limits", "trend": "trend", "two_of_three": "2 of 3 near a limit",
              "shift": "shift"}
TYPE_WORDS = {"special_cause_improvement": "improvement", "special_cause_concern": "concern",
              "common_cause": ""}


def _n(kpi, x) -> str:
    return "" if x is None else kpi.format(x)


def render_table(chart) -> str:
    """A :class:`metrics.spc.Spc` as a readable table: settings, segments, points, verdicts."""
    from metrics.months import short_month

    kpi = REGISTRY[chart.metric]
    s = chart.settings
    lines = [f"{kpi.label} ({chart.metric}) — better is {'higher' if chart.direction == 'up' else 'lower'}",
             f"Rules: run length {s.run_length}; screening {'on' if s.screening else 'off'}; "
             f"two-of-three counts points beyond the limits: {'yes' if s.two_of_three_counts_beyond_limits else 'no'}; "
             + (f"limits fixed on the first {s.fix_after} points" if s.fix_after else "limits on every point")]
    for r in s.rebases:
        lines.append(f"Rebase from {short_month(r.month)}: {r.reason}")
    lines.append("")
    if not chart.points:
        lines.append("No values for this KPI.")
    for i, seg in enumerate(chart.segments):
        trial = " (trial limits: fewer than 13 points, no verdict)" if seg.trial else ""
        lines.append(f"Segment {i + 1}: {short_month(seg.start)} to {short_month(seg.end)}, {seg.n} points{trial}")
        lines.append(f"  mean {_n(kpi, seg.mean)}; process limits {_n(kpi, seg.lpl)} to {_n(kpi, seg.upl)}; "
                     f"near limits {_n(kpi, seg.near_lpl)} to {_n(kpi, seg.near_upl)}")
    if chart.points:
        lines.append("")
        lines.append(f"{'month':<9} {'value':>10}  {'type':<12} rule")
        for p in chart.points:
            rule = f"{RULE_WORDS[p.rule]} ({p.sense})" if p.rule else ""
            lines.append(f"{short_month(p.month):<9} {kpi.format(p.value):>10}  {TYPE_WORDS[p.type]:<12} {rule}")
    lines.append("")
    at = f" at {short_month(chart.judged_month)}" if chart.judged_month else ""
    lines.append(f"Variation{at}: {chart.variation.replace('_', ' ')}; assurance: "
                 f"{(chart.assurance or 'no target').replace('_', ' ')}")
    return "\n".join(lines)


def cmd_spc(args) -> int:
    from metrics.reviews import as_date, current_series, load_settings, spc_chart

    if args.metric not in REGISTRY:
        err(f"kpi spc: unknown metric '{args.metric}'. Known: {', '.join(REGISTRY)}")
        return EXIT_USAGE
    try:
        at = as_date(args.at) if args.at else None
    except ValueError as e:
        raise UsageError(f"--at: {e}") from None
    conn = connect(args)
    try:
        settings = load_settings(conn)
        series = current_series(conn, settings)
    except ImportError as e:
        print(f"kpi: the KPI computation is not available ({e}).", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        conn.close()
    chart = spc_chart(series, settings, args.metric, at)
    if args.json:
        print(json.dumps(chart.to_json(), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(render_table(chart))
    return EXIT_OK


def register(subparsers, common) -> None:
    s = subparsers.add_parser("spc", parents=[common], help="statistical process control chart of one KPI",
                              description="One KPI's SPC (XmR) chart: limits, special-cause points, variation "
                                          "and assurance (shared/spec/judgement.md).")
    s.add_argument("--metric", required=True, metavar="ID", help="a KPI id. Known: " + ", ".join(REGISTRY))
    s.add_argument("--at", metavar="YYYY-MM-DD", help="as the review at this date sees it (default: every month)")
    s.add_argument("--json", action="store_true", help="the chart as JSON (numbers unrounded)")
    s.set_defaults(func=cmd_spc)
