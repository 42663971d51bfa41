"""Generate ``docs/metrics.md`` — the KPI definitions page — from the registries.

One declaration feeds code and docs: each KPI of :data:`metrics.kpis.REGISTRY` brings its rule,
breakdowns, secondary measures and benchmark link (the benchmark's text from
:data:`metrics.benchmarks.BENCHMARKED_METRICS`); the flags come from :data:`metrics.compute.FLAGS`.
``tests/test_docs_metrics.py`` fails when the committed page differs from :func:`render_metrics_md`.
Rewrite it with ``python -m metrics.docs``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from metrics.benchmarks import BENCHMARKED_METRICS
from metrics.compute import DECIMALS, FLAGS, SMALL_DENOMINATOR
from metrics.contract import PRACTITIONER_ROLES, QUALIFIED_ROLES
from metrics.kpis import REGISTRY, SECONDARY
from metrics.settings import Settings

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"

_UNITS = {"percent": "percentage (0–100)", "fte": "full-time equivalent", "count": "count",
          "mean": "average"}
_DIRECTIONS = {"up": "higher is better", "down": "lower is better"}
_BREAKDOWN_TEXT = {
    "team": "by team (the KPI within each team)",
    "conference_type": "by conference type (the KPI within initial and within review conferences)",
    "format": "by format (number of conferences in each format)",
    "grade": "by grade (number of audits at each grade)",
}


def _code(values) -> str:
    return ", ".join(f"`{v}`" for v in values)


def render_metrics_md() -> str:
    cutoff = Settings.model_fields["historic_complaints_cutoff"].default
    out: list[str] = [
        "# KPI definitions",
        "",
        "<!-- Generated from the KPI registry (metrics/kpis.py) by `python -m metrics.docs`. "
        "Do not edit by hand: tests/test_docs_metrics.py fails when this page and the registry differ. -->",
        "",
        "Each KPI is computed per calendar month M. **E** is the last day of M; \"in the month\" means dated "
        "from the first to the last day of M inclusive. Percentages are 0–100. Every value travels with its "
        "numerator and denominator. A percentage with a zero denominator has no value for that month "
        "(\"no data\", never 0). A snapshot KPI for month M uses only the snapshot uploaded for M; an event "
        "KPI uses the events of the current (not superseded) upload covering M.",
        "",
        "| id | ToR | label | unit | direction | source kind | published benchmark |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in REGISTRY.values():
        bench = "yes" if k.id in BENCHMARKED_METRICS else "—"
        out.append(f"| `{k.id}` | {k.tor} | {k.label} | {k.unit} | {k.direction} ({_DIRECTIONS[k.direction]}) "
                   f"| {k.source_kind} | {bench} |")
    out += [
        "",
        "## Common terms",
        "",
        "- **In post at E** (workforce): `start_date` blank or ≤ E, and `end_date` blank or > E. A worker "
        "whose `end_date` is E has left by E and is not counted; one leaving the day after E is.",
        f"- **Qualified social work roles**: {_code(QUALIFIED_ROLES)}; `other` is excluded from every "
        "workforce KPI.",
        f"- **Practitioner roles**: {_code(PRACTITIONER_ROLES)}.",
        "- **The 12-month window W** (`three_plus_social_workers`): from (E minus 12 months) plus one day, "
        "to E. E is a month's last day, so E minus 12 months is the last day of the same month a year "
        "earlier and W is always twelve whole calendar months: for E = 29 Feb 2024, W starts 1 Mar 2023; "
        "for E = 28 Feb 2023, 1 Mar 2022; for E = 28 Feb 2025, 1 Mar 2024.",
        f"- **Historic complaints cut-off**: a setting (`KPI_HISTORIC_COMPLAINTS_CUTOFF`), by default "
        f"{cutoff.isoformat()}, the date of the revised direction. A complaint received on the cut-off date "
        "is not historic.",
        "",
        "## KPIs",
        "",
    ]
    for k in REGISTRY.values():
        out += [
            f"### `{k.id}` — {k.label}",
            "",
            f"- **Terms of Reference**: {k.tor} — {k.priority}",
            f"- **Unit**: {_UNITS[k.unit]}; **direction**: {k.direction} ({_DIRECTIONS[k.direction]})",
            f"- **Source kind**: `{k.source_kind}`",
        ]
        if k.unit != "percent":
            out.append("- **Denominator**: none (the value is the numerator). A month whose snapshot exists "
                       "with no matching rows has the value 0; only a month with no snapshot has no data.")
        if k.secondary:
            out.append("- **Shown beside it**: " + ", ".join(f"`{s.id}`" for s in k.secondary))
        if k.breakdowns:
            out.append("- **Breakdowns**: " + "; ".join(_BREAKDOWN_TEXT[b] for b in k.breakdowns))
        src = BENCHMARKED_METRICS.get(k.id)
        if src is not None:
            out.append(f"- **Published benchmark**: {src.label} ({src.publisher}, {src.first_year}–"
                       f"{src.last_year}). {src.caveat}")
        if k.context:
            from metrics.context import CONTEXT_MEASURES

            out.append("- **Context from published data** (shown beside it, never rated; docs/context.md): "
                       + "; ".join(CONTEXT_MEASURES[c].label for c in k.context))
        out += ["", k.definition, "", f"Computed as: {k.rule}", ""]
    out += [
        "## Secondary measures",
        "",
        "Shown beside their KPI, from record-level data only (a figures upload carries no secondary "
        "measures); never rated against a target.",
        "",
        "| id | label | unit | shown beside | definition |",
        "|---|---|---|---|---|",
    ]
    for s in SECONDARY.values():
        out.append(f"| `{s.id}` | {s.label} | {s.unit} | `{s.parent}` | {s.definition} |")
    out += [
        "",
        "## Data-quality flags",
        "",
        "Every KPI value for every month carries a tuple of these codes (empty when none applies).",
        "",
        "| flag | meaning |",
        "|---|---|",
    ]
    for code, text in FLAGS.items():
        out.append(f"| `{code}` | {text} |")
    out += [
        "",
        "## Sources and readings",
        "",
        "- **Figures fill gaps.** A `figures` upload gives a KPI's numerator (and denominator, for a "
        "percentage) for a month. It is used only where the KPI's extract kind has no current "
        "record-level upload for that month; the value is then numerator ÷ denominator × 100 for a "
        "percentage, or the numerator itself, with source `figures` and flag `figures_sourced`.",
        "- **Records win when an upload exists.** Where the extract kind has a current record-level upload "
        "for the month, the value comes from the records (source `records`), even when they give a zero "
        "denominator (flag `zero_denominator`, no value): the upload is the latest, most detailed word on "
        "that month.",
        "- **Superseded uploads never count.** Re-uploading a kind for a month replaces the earlier upload "
        "for that month; only the current upload's rows are read.",
        f"- **Small numbers.** A percentage whose denominator is below {SMALL_DENOMINATOR} is flagged "
        "`small_denominator`: one case moves it a lot.",
        "- **Stale snapshots.** A snapshot whose `snapshot_date` (or, without one, its upload date) is before "
        "E describes the month before it ended: flag `snapshot_stale`.",
        f"- **Rounding.** Values, numerators and denominators are rounded to {DECIMALS} decimal places, "
        "which only removes binary floating-point noise (0.1 + 0.2 FTE is 0.3).",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCS_PATH.write_text(render_metrics_md(), encoding="utf-8")
    print(f"wrote {DOCS_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
