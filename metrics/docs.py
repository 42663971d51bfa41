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
    return "\n".join(out + _registers_md())


def _registers_md() -> list[str]:
    """The registers behind the KPIs and the team breakdowns (``metrics.registers``)."""
    from metrics.registers import AGE_BANDS, CHANGE_REASONS, MILESTONE_STATES, STAGES, WORKER_BANDS

    return [
        "## Registers and team breakdowns",
        "",
        "The KPI page lists, at a month (it opens on the month the review judges; a picker chooses another), the "
        "items behind a number, and the board packs print them at the judged month (`metrics/registers.py`). "
        "No child, worker or complaint identifier is ever shown, pseudonymised or not.",
        "",
        f"- **Milestones** (ToR 2(a), 2b(vii)): {', '.join(s.lower() for s in MILESTONE_STATES.values())}. "
        "Judged on the month's last day E: *overdue* = due on or before E and not completed by E (days overdue = "
        "E − due date, so an item due on E itself is overdue by 0 days — the KPI already counts it due and not "
        "complete); *completed late* = completed on or before E after its due date (days late = completed − "
        "due); items not yet due are listed when their status is `off_track` or `at_risk`.",
        f"- **Outstanding historic complaints** (ToR 2(c)): received before the cut-off, closed date blank or after "
        f"E (a complaint closed on E is closed), by stage ({', '.join(STAGES.values())}, Not recorded) and age "
        f"from the date received to E ({', '.join(b for b, _ in AGE_BANDS)}); the burn-down is the KPI's own "
        "value each month from the cut-off's month.",
        f"- **Children with 3+ social workers** (ToR 2b(v)): the cohort by number of different social workers in "
        f"the 12 months ({', '.join(WORKER_BANDS)}); by team — the team, in the same month's workforce extract, "
        "of the worker on the child's open episode (the latest started if several; 'Not recorded' when the "
        "workforce extract does not name one); and changes of worker in the 12 months by reason. A change is an "
        "episode of a cohort child with a reason recorded, dated by its end date where it has one (else its "
        "start date), counted when that date is in the 12 months.",
        "",
        "Change reasons are the `change_reason` column (the Standard Safeguarding Dataset's "
        "`invo_worker_change_reason`, item INVO004A of `ssd_involvements` in data-to-insight's SSD data model, "
        "filled from the case-management system's worker-change reason lookup, e.g. Liquidlogic's "
        "`DIM_LOOKUP_CWREASON_CODE` or Mosaic's start-date reason). The codes are local to each system and no "
        "national list of them was found, so the words below are the product's reading of the codes the "
        "extracts use; any other code is shown as recorded ('Other: …') and a blank one as 'No reason "
        "recorded'. A council whose system uses other codes can have them added here:",
        "",
        "| code | in words |",
        "|---|---|",
        *(f"| `{c}` | {w} |" for c, w in CHANGE_REASONS.items()),
        "",
        "**Team breakdowns at any month.** Every KPI whose extract has a team (the workforce KPIs, assessments, "
        "audits) is shown by team at the chosen month, with each team's value over the 12 months to it and "
        f"every team's trajectory; a team with a percentage's denominator under {SMALL_DENOMINATOR}, or a count "
        "from 1 to 5, is flagged 'small numbers'.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCS_PATH.write_text(render_metrics_md(), encoding="utf-8")
    print(f"wrote {DOCS_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
