"""``kpi review --at YYYY-MM-DD [--json]`` (shared/spec/cli.md; the judgement fields of
shared/spec/judgement.md section 6): a formatting of the review model (:func:`metrics.reviews.review_board`)."""

from __future__ import annotations

import json
import math
import sys

from kpi_cli.common import EXIT_OK, EXIT_REFUSED, UsageError, connect
from metrics.months import short_month


def _clean(x):
    """JSON-safe: NaN → null, recursively."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


#: Per KPI, in this order: the contract's fields (shared/spec/cli.md), then the rest of the judgement.
METRIC_FIELDS = ("metric", "actual", "actual_month", "target", "rag", "direction_of_travel", "label", "unit",
                 "direction", "tolerance", "shortfall", "previous_actual", "previous_month",
                 "latest_available_month", "latest_available_value", "final_target", "forecast", "restated",
                 "current_actual", "current_rag",
                 # judgement.md section 6
                 "basis", "months_pooled", "interval", "target_within_interval", "variation", "assurance",
                 "change_since_previous")


def forecast_json(fc) -> dict | None:
    """judgement.md section 6: ``{"status", "month", "interval"}``."""
    if fc is None:
        return None
    return {"status": fc.status, "month": fc.month, "interval": list(fc.interval) if fc.interval else None}


def _metric_json(row) -> dict:
    d = {k: getattr(row, k) for k in METRIC_FIELDS}
    d["forecast"] = forecast_json(row.forecast)
    d["interval"] = list(row.interval) if row.interval else None
    return d


def review_json(board) -> dict:
    """A :class:`metrics.reviews.ReviewBoard` as JSON: checkpoint and summary, each rated KPI
    (:data:`METRIC_FIELDS`), then the checkpoint's context."""
    return _clean({
        "checkpoint": board.checkpoint.isoformat(), "summary": board.summary,
        "metrics": [_metric_json(r) for r in board.rated],
        "label": board.label, "six_month": board.six_month, "month": board.month,
        "previous_checkpoint": board.previous_checkpoint.isoformat() if board.previous_checkpoint else None,
        "final": board.final, "finalised_at": board.finalised_at, "finalised_by": board.finalised_by,
        "settings_version_id": board.settings_version_id, "data_as_of": board.data_as_of,
        "restated": board.restated,
        "judged_month": board.judged_month, "reporting_lag_days": board.reporting_lag_days,
    })


#: Short words for the table's SPC columns.
VARIATION_SHORT = {"improvement": "improvement", "concern": "concern", "common_cause": "common cause",
                   "not_enough_data": "too few points"}
ASSURANCE_SHORT = {"consistent_pass": "will pass", "consistent_fail": "will fail", "hit_or_miss": "hit or miss",
                   "not_enough_data": "too few points"}


def _interval_text(r) -> str:
    if not r.interval:
        return ""
    lo, hi = r.interval
    return f"{lo:.1f}–{hi:.1f}"


def render_table(board) -> str:
    """A :class:`metrics.reviews.ReviewBoard` as the readable table (each rated KPI)."""
    from metrics.months import month_label
    from metrics.reviews.words import forecast_text, rag_text, travel_text

    lines = []
    title = board.label or "Review (not a configured checkpoint)"
    lag = "" if board.reporting_lag_days is None else f" (reporting lag {board.reporting_lag_days} days)"
    lines.append(f"{title} — checkpoint {board.checkpoint.isoformat()}; judged month "
                 f"{month_label(board.month)}{lag}")
    if board.final:
        lines.append(f"FINAL: marked by {board.finalised_by} at {board.finalised_at}; "
                     f"data as of {board.data_as_of or 'n/a'}; settings version {board.settings_version_id}")
    lines.append("")
    rows = board.rated
    w = max([len(r.label) for r in rows] + [3])
    lines.append(f"{'KPI':<{w}}  {'actual':>10}  {'basis':<5}  {'95% interval':<12}  {'target':>10}  {'RAG':<7}  "
                 f"{'variation':<14}  {'assurance':<14}  {'travel':<21}  forecast")
    notes = []
    for r in rows:
        k = r.kpi
        actual = k.format(r.actual)
        if r.actual is None and r.latest_available_month:
            notes.append(f"{r.label}: no data for {month_label(r.actual_month)}; latest "
                         f"{short_month(r.latest_available_month)} {k.format(r.latest_available_value)}")
        if r.target_within_interval:
            notes.append(f"{r.label}: the target lies inside the 95% interval — the figure cannot be told "
                         "apart from the target")
        mark = "*" if r.restated else ""
        if r.restated:
            notes.append(f"* {r.label}: restated — now {k.format(r.current_actual)} "
                         f"({rag_text(r.current_rag) if r.current_rag else ''}) from re-uploaded data")
        basis = "3 mo" if r.basis == "rolling_3_months" else "month"
        fc = forecast_text(r.forecast) if r.forecast else ""
        lines.append(f"{r.label:<{w}}  {actual + mark:>10}  {basis:<5}  {_interval_text(r):<12}  "
                     f"{k.format_target(r.target):>10}  {rag_text(r.rag):<7}  "
                     f"{VARIATION_SHORT.get(r.variation, '–'):<14}  {ASSURANCE_SHORT.get(r.assurance, '–'):<14}  "
                     f"{travel_text(r.direction_of_travel):<21}  {fc}")
    s = board.summary
    lines.append("")
    lines.append(f"Summary: {s['green']} green, {s['amber']} amber, {s['red']} red, {s['no_data']} no data")
    lines.extend(notes)
    return "\n".join(lines)


def cmd_review(args) -> int:
    from metrics.reviews import as_date, review_board

    try:
        at = as_date(args.at)
    except ValueError as e:
        raise UsageError(f"--at: {e}") from None
    conn = connect(args)
    try:
        board = review_board(conn, at)
    except ImportError as e:
        print(f"kpi: the KPI computation is not available ({e}).", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(review_json(board), indent=2, ensure_ascii=False))
    else:
        print(render_table(board))
    return EXIT_OK


def register(subparsers, common) -> None:
    s = subparsers.add_parser("review", parents=[common], help="RAG review of every KPI at a checkpoint date")
    s.add_argument("--at", required=True, metavar="YYYY-MM-DD", help="the checkpoint date (any date)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_review)
