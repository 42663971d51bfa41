"""The KPI registry: each Terms of Reference priority declared once (shared/spec/metrics.md).

The same declaration drives the computation (``metrics.compute``), the CLI, RAG and direction of
travel (``metrics.review``), chart colours and delta arrows (``dashboard``), the board pack, and the
generated definitions page ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from metrics.contract import KPI_IDS

Unit = Literal["percent", "fte", "count"]
Direction = Literal["up", "down"]


@dataclass(frozen=True)
class KPI:
    id: str
    tor: str  # Terms of Reference paragraph, e.g. "2b(i)"
    label: str
    unit: Unit
    direction: Direction  # which way is better
    source_kind: str  # the extract kind it is computed from
    definition: str  # plain English, for the definitions page, hover text and board pack
    priority: str  # the ToR priority in the Commissioner's words

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "up"

    def better(self, a: float, b: float) -> bool:
        """Is value ``a`` strictly better than ``b``?"""
        return a > b if self.higher_is_better else a < b

    def meets(self, actual: float, target: float) -> bool:
        """Does ``actual`` meet or beat ``target`` in this KPI's direction?"""
        return actual >= target if self.higher_is_better else actual <= target

    def shortfall(self, actual: float, target: float) -> float:
        """How far ``actual`` misses ``target`` in the bad direction (0 when met)."""
        gap = (target - actual) if self.higher_is_better else (actual - target)
        return max(gap, 0.0)

    def format(self, value: float | None) -> str:
        """UK-style display: 54.9%, 61.5 FTE, 12."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "no data"
        if self.unit == "percent":
            return f"{value:.1f}%"
        if self.unit == "fte":
            return f"{value:,.1f} FTE"
        return f"{value:,.0f}"


_DECLARED = (
    KPI(
        id="agency_rate", tor="2b(i)", label="Agency social workers (% of FTE)", unit="percent",
        direction="down", source_kind="workforce",
        priority="Reduce agency and increase permanent social workers",
        definition=(
            "Full-time equivalent (FTE) of agency workers in post at the month's last day, as a "
            "percentage of all FTE in post, over qualified social work roles (senior manager to "
            "qualified without cases; 'other' staff excluded). This is the DfE workforce-census "
            "definition, so it compares with the published national and statistical-neighbour rates."
        ),
    ),
    KPI(
        id="permanent_practitioners_fte", tor="2b(i)", label="Permanent social workers (FTE)", unit="fte",
        direction="up", source_kind="workforce",
        priority="Reduce agency and increase permanent social workers",
        definition=(
            "Total FTE of directly employed (non-agency) staff in post at the month's last day in "
            "practitioner roles: senior practitioners, case-holding social workers and qualified "
            "workers without cases."
        ),
    ),
    KPI(
        id="permanent_team_managers", tor="2b(ii)", label="Permanent front-line team managers", unit="count",
        direction="up", source_kind="workforce",
        priority="Increase permanent front-line team managers",
        definition=(
            "Number of different directly employed (non-agency) team managers in post at the month's "
            "last day. Shown beside it: the same as a percentage of all team managers in post."
        ),
    ),
    KPI(
        id="face_to_face_conferences", tor="2b(iii)", label="CP conferences and reviews held face to face (%)",
        unit="percent", direction="up", source_kind="conferences",
        priority="Increase child protection conferences and reviews held face to face",
        definition=(
            "Child protection conferences (initial and review together, one per child) held in the "
            "month in person or hybrid, as a percentage of all conferences held in the month. Hybrid "
            "counts as face to face."
        ),
    ),
    KPI(
        id="assessment_nfa_rate", tor="2b(iv)", label="Assessments concluding no further action (%)",
        unit="percent", direction="down", source_kind="assessments",
        priority="Reduce assessments concluding no further action",
        definition=(
            "Child and family assessments completed (authorised) in the month that concluded with no "
            "further action, as a percentage of all assessments completed in the month."
        ),
    ),
    KPI(
        id="three_plus_social_workers", tor="2b(v)", label="Children with 3+ social workers in 12 months (%)",
        unit="percent", direction="down", source_kind="allocations",
        priority="Reduce changes of social worker for children",
        definition=(
            "Of the children with an allocated social worker at the month's last day, the percentage "
            "who had three or more different social workers in the 12 months ending that day. Shown "
            "beside it: the average number of different social workers."
        ),
    ),
    KPI(
        id="audits_good_or_better", tor="2b(vi)", label="Audits graded good or outstanding (%)",
        unit="percent", direction="up", source_kind="audits",
        priority="Improve the quality of practice in case-file audits",
        definition=(
            "Case-file audits completed in the month graded good or outstanding, as a percentage of "
            "all audits completed in the month. Shown beside it: the percentage graded inadequate."
        ),
    ),
    KPI(
        id="send_milestones_complete", tor="2b(vii)", label="SEND strategy milestones due that are complete (%)",
        unit="percent", direction="up", source_kind="milestones",
        priority="Deliver the SEND strategy",
        definition=(
            "Of the SEND strategy milestones due by the month's last day, the percentage completed by "
            "that day."
        ),
    ),
    KPI(
        id="historic_complaints_outstanding", tor="2(c)", label="Outstanding historic complaints", unit="count",
        direction="down", source_kind="complaints",
        priority="Resolve historic complaints",
        definition=(
            "Complaints received before the historic cut-off date (a setting; by default 1 March 2023, "
            "the date of the revised direction) that were still open at the month's last day."
        ),
    ),
    KPI(
        id="improvement_plan_milestones_complete", tor="2(a)",
        label="Improvement Plan milestones due that are complete (%)", unit="percent", direction="up",
        source_kind="milestones",
        priority="Keep the Improvement Plan to pace",
        definition=(
            "Of the Improvement Plan milestones due by the month's last day, the percentage completed by "
            "that day."
        ),
    ),
)

REGISTRY: dict[str, KPI] = {k.id: k for k in _DECLARED}
assert tuple(REGISTRY) == KPI_IDS, "the KPI registry and the extract contract must list the same KPIs"


def get(metric_id: str) -> KPI:
    try:
        return REGISTRY[metric_id]
    except KeyError:
        raise KeyError(f"Unknown KPI '{metric_id}'. Known: {', '.join(REGISTRY)}") from None


# --- secondary measures ----------------------------------------------------------------------
# Shown beside their parent KPI (never rated against a target). Computed by
# ``metrics.compute.secondary_series`` from record-level data only (figures carry no secondaries).

SecondaryUnit = Literal["percent", "count", "mean"]


@dataclass(frozen=True)
class SecondaryMeasure:
    id: str
    label: str
    unit: SecondaryUnit
    parent: str  # the KPI id it is shown beside
    definition: str

    def format(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "no data"
        if self.unit == "percent":
            return f"{value:.1f}%"
        if self.unit == "mean":
            return f"{value:.2f}"
        return f"{value:,.0f}"


_SECONDARY = (
    SecondaryMeasure(
        id="team_manager_permanence_pct", label="Team managers who are permanent (%)", unit="percent",
        parent="permanent_team_managers",
        definition="Permanent team managers in post at the month's last day as a percentage of all team "
                   "managers (agency and permanent) in post that day.",
    ),
    SecondaryMeasure(
        id="conference_format_face_to_face", label="Conferences held face to face", unit="count",
        parent="face_to_face_conferences",
        definition="Number of conferences (one per child) held in the month in person.",
    ),
    SecondaryMeasure(
        id="conference_format_hybrid", label="Conferences held hybrid", unit="count",
        parent="face_to_face_conferences",
        definition="Number of conferences (one per child) held in the month in hybrid format.",
    ),
    SecondaryMeasure(
        id="conference_format_virtual", label="Conferences held virtually", unit="count",
        parent="face_to_face_conferences",
        definition="Number of conferences (one per child) held in the month virtually.",
    ),
    SecondaryMeasure(
        id="conference_initial", label="Initial conferences", unit="count",
        parent="face_to_face_conferences",
        definition="Number of initial child protection conferences (one per child) held in the month.",
    ),
    SecondaryMeasure(
        id="conference_review", label="Review conferences", unit="count",
        parent="face_to_face_conferences",
        definition="Number of child protection review conferences (one per child) held in the month.",
    ),
    SecondaryMeasure(
        id="mean_distinct_workers", label="Average number of social workers in 12 months", unit="mean",
        parent="three_plus_social_workers",
        definition="Of the children with an allocated social worker at the month's last day, the average "
                   "number of different social workers they had in the 12 months ending that day.",
    ),
    SecondaryMeasure(
        id="audits_inadequate_pct", label="Audits graded inadequate (%)", unit="percent",
        parent="audits_good_or_better",
        definition="Case-file audits completed in the month graded inadequate, as a percentage of all "
                   "audits completed in the month.",
    ),
)

SECONDARY: dict[str, SecondaryMeasure] = {s.id: s for s in _SECONDARY}
assert all(s.parent in REGISTRY for s in _SECONDARY), "every secondary measure names a declared KPI"
