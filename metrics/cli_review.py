"""``kpi review --at YYYY-MM-DD [--json]`` (shared/spec/cli.md): a thin layer over metrics.review."""

from __future__ import annotations

import json
import math
import sys

from metrics.forecast import month_label as short_month


def _clean(x):
    """JSON-safe: NaN → null, recursively."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def review_json(result) -> dict:
    """The contract's fields first (checkpoint, summary, metrics[metric, actual, actual_month, target, rag,
    direction_of_travel]), then extras."""
    d = result.to_json()
    head = {"checkpoint": d.pop("checkpoint"), "summary": d.pop("summary")}
    metrics = []
    for m in d.pop("metrics"):
        keys = ("metric", "actual", "actual_month", "target", "rag", "direction_of_travel")
        metrics.append({**{k: m.pop(k) for k in keys}, **m})
    return _clean({**head, "metrics": metrics, **d})


_TRAVEL = {"improving": "improving", "no_change": "no change", "worsening": "worsening", None: "–"}


def render_table(result) -> str:
    from metrics.kpis import get as get_kpi
    from metrics.review import month_label

    lines = []
    title = result.label or "Review (not a configured checkpoint)"
    lines.append(f"{title} — checkpoint {result.checkpoint.isoformat()}; actuals for {month_label(result.month)}")
    if result.final:
        lines.append(f"FINAL: marked by {result.finalised_by} at {result.finalised_at}; "
                     f"data as of {result.data_as_of or 'n/a'}; settings version {result.settings_version_id}")
    lines.append("")
    w = max([len(m.label) for m in result.metrics] + [3])
    lines.append(f"{'KPI':<{w}}  {'actual':>10}  {'target':>10}  {'RAG':<7}  {'travel':<10}  forecast")
    notes = []
    for m in result.metrics:
        k = get_kpi(m.metric)
        actual = k.format(m.actual)
        if m.actual is None and m.latest_available_month:
            notes.append(f"{m.label}: no data for {month_label(m.actual_month)}; latest "
                         f"{short_month(m.latest_available_month)} {k.format(m.latest_available_value)}")
        mark = "*" if m.restated else ""
        if m.restated:
            notes.append(f"* {m.label}: restated — now {k.format(m.current_actual)} "
                         f"({(m.current_rag or '').replace('_', ' ')}) from re-uploaded data")
        fc = m.forecast.text if m.forecast else ""
        lines.append(f"{m.label:<{w}}  {actual + mark:>10}  {k.format(m.target):>10}  "
                     f"{m.rag.replace('_', ' '):<7}  {_TRAVEL[m.direction_of_travel]:<10}  {fc}")
    s = result.summary
    lines.append("")
    lines.append(f"Summary: {s['green']} green, {s['amber']} amber, {s['red']} red, {s['no_data']} no data")
    lines.extend(notes)
    return "\n".join(lines)


def cmd_review(args) -> int:
    from metrics.cli import EXIT_OK, EXIT_REFUSED, UsageError, _connect
    from metrics.review import as_date, review_at

    try:
        at = as_date(args.at)
    except ValueError as e:
        raise UsageError(f"--at: {e}") from None
    conn = _connect(args)
    try:
        result = review_at(conn, at)
    except ImportError as e:
        print(f"kpi: the KPI computation is not available ({e}).", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(review_json(result), indent=2, ensure_ascii=False))
    else:
        print(render_table(result))
    return EXIT_OK


def register_cli(subparsers, common) -> None:
    s = subparsers.add_parser("review", parents=[common], help="RAG review of every KPI at a checkpoint date")
    s.add_argument("--at", required=True, metavar="YYYY-MM-DD", help="the checkpoint date (any date)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_review)
