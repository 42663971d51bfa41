"""The KPI registry: each Terms of Reference priority declared once (shared/spec/metrics.md).

A KPI names its own parts, as a metric does in dbt's semantic layer or a scorer in sklearn: what it is
(id, label, ToR, unit, direction, definition, priority), how it is computed (the extract kind and the
two aggregate columns of that kind's aggregator that give its numerator and denominator, and the rule
in words), what is shown beside it (breakdowns, secondary measures), whether it counts people (public
suppression), its published benchmark, and its wording for packs. The sums between a kind's aggregate
columns (all FTE = agency + permanent …) are declared once per kind (:data:`RELATIONS`), so public
suppression follows them across KPIs without naming any. Everything else reads this:

* ``metrics.compute`` (the series, secondary measures and breakdowns), ``metrics.contract`` (which ids a
  figures upload may name, which of them are percentages), ``metrics.benchmarks`` (which KPI has which
  published benchmark), ``metrics.docs`` (``docs/metrics.md``), the review model (``metrics.reviews``);
* the dashboard and the packs (RAG, direction of travel, delta colours, captions).

Groupings by unit (percentages, counts, FTE) are always derived from :attr:`KPI.unit`
(:func:`ids_with_unit`), never listed by hand. A KPI can be added from outside this module with
:func:`metrics.kpi_registry.register` (or, in tests, its ``registered`` context manager): it then
appears in every mapping below and everywhere they are read. :func:`metrics.kpi_registry.problems` says
what a declaration lacks; the registry test runs it over every KPI. Those sit above this module, with
the aggregators and benchmarks a declaration is checked against, so this module imports nothing from
``metrics``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeVar

Unit = Literal["percent", "fte", "count"]
Direction = Literal["up", "down"]
SecondaryUnit = Literal["percent", "count", "mean"]
PartsUnit = Literal["count", "fte"]
JudgeOn = Literal["month", "rolling_3_months"]

T = TypeVar("T")


@dataclass(frozen=True)
class Part:
    """A numerator or denominator: the aggregate column that gives it, and how a pack names it."""

    column: str  # an aggregate column of the KPI's source kind (metrics.compute.AGGREGATORS[kind].columns)
    label: str  # a pack table's column caption, e.g. "Agency FTE", "All conferences"
    noun: str  # what it counts, for a sentence: "FTE", "conferences", "children"


@dataclass(frozen=True)
class SecondaryMeasure:
    """Shown beside its parent KPI, never rated against a target; computed from record-level data only
    (figures carry no secondaries) by ``metrics.compute.secondary_series``."""

    id: str
    label: str
    unit: SecondaryUnit
    definition: str
    numerator: str  # aggregate column of the parent KPI's source kind
    denominator: str | None = None  # None: the value is the numerator (a count)
    parent: str = ""  # the KPI id it is shown beside (filled in by the KPI that declares it)
    #: The packs' sentence for it on the KPI's page ("" = not said in a sentence), with ``{value}``
    #: (formatted in its unit), ``{numerator}`` and ``{denominator}`` (counts).
    pack: str = ""

    def format(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "no data"
        if self.unit == "percent":
            return f"{value:.1f}%"
        if self.unit == "mean":
            return f"{value:.2f}"
        return f"{value:,.0f}"


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
    numerator: Part
    denominator: Part | None  # a percentage's denominator; None for count and FTE KPIs (value = numerator)
    rule: str  # the exact rule as implemented, for the definitions page and the KPI page
    counts_people: bool  # False: it counts plan items, so public packs show it unsuppressed
    parts_unit: PartsUnit = "count"  # what the numerator and denominator are measured in (packs' tables)
    breakdowns: tuple[str, ...] = ()  # groupings its source kind's aggregator allows (team, format, …)
    secondary: tuple[SecondaryMeasure, ...] = ()
    benchmark: str | None = None  # a key of metrics.benchmarks.SOURCES (published DfE equivalent)
    #: Published figures shown beside it as context, never rated: keys of metrics.context.CONTEXT_SOURCES
    #: (the workforce census's turnover, vacancy and caseload for the workforce priorities).
    context: tuple[str, ...] = ()
    #: What a review judges by default (shared/spec/judgement.md section 2): the month's value, or three
    #: months pooled (percentages with small monthly samples only; metrics.kpi_registry.problems checks
    #: it). The review settings may override it.
    judge_on: JudgeOn = "month"

    def __post_init__(self) -> None:
        object.__setattr__(self, "secondary", tuple(replace(s, parent=self.id) for s in self.secondary))

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "up"

    @property
    def is_percent(self) -> bool:
        return self.unit == "percent"

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

    def format_target(self, value: float | None) -> str:
        """A target as shown: :meth:`format`, except that a count target that is not whole keeps one decimal
        (13.3806 → '13.4', not '13', which an actual of 13 would seem to meet while rated below it)."""
        if self.unit == "count" and value is not None and math.isfinite(value) and value != round(value):
            return f"{value:,.1f}"
        return self.format(value)


@dataclass(frozen=True)
class Relation:
    """A sum between aggregate columns of one extract kind that the figures always obey:
    ``total = sum(parts)`` (+ ``known``). Declared once per kind (:data:`RELATIONS`); public suppression
    (``reports.disclosure``) reads it to stop a suppressed figure being worked out from the sums — across
    the KPIs of the kind as well as within one. ``known`` names a quantity no KPI publishes but that an
    attacker is assumed to know (its value is the total minus the other parts)."""

    total: str
    parts: tuple[str, ...]
    known: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.total, *self.parts)


#: Extract kind → the sums between its aggregate columns (see :class:`Relation`).
RELATIONS: dict[str, tuple[Relation, ...]] = {
    # All FTE = agency + permanent practitioners + permanent managers. Managers' FTE is not published, but
    # the number of permanent team managers is, and most are full time: cautiously, the attacker knows it.
    "workforce": (Relation("qualified_fte", ("agency_fte", "permanent_practitioner_fte"),
                           known="permanent_manager_fte"),),
    "conferences": (Relation("face_to_face_or_hybrid", ("format_face_to_face", "format_hybrid")),),
    "audits": (Relation("good_or_better", ("grade_outstanding", "grade_good")),),
}


def _milestones(ref: str) -> str:
    return (f"Milestones with tor_ref {ref}, due_date ≤ E and completed_date not blank and ≤ E ÷ milestones with "
            f"tor_ref {ref} and due_date ≤ E, × 100.")


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
        numerator=Part("agency_fte", "Agency FTE", "FTE"),
        denominator=Part("qualified_fte", "All FTE", "FTE"),
        parts_unit="fte",
        rule="Σ fte of in-post agency rows ÷ Σ fte of all in-post rows, qualified roles only, × 100.",
        counts_people=True, breakdowns=("team",), benchmark="dfe_workforce_agency_rate",
        context=("turnover", "vacancy", "caseload"),
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
        numerator=Part("permanent_practitioner_fte", "Permanent practitioner FTE", "FTE"), denominator=None,
        parts_unit="fte",
        rule="Σ fte of in-post non-agency rows in practitioner roles.",
        counts_people=True, breakdowns=("team",), context=("turnover", "vacancy", "caseload"),
    ),
    KPI(
        id="permanent_team_managers", tor="2b(ii)", label="Permanent front-line team managers", unit="count",
        direction="up", source_kind="workforce",
        priority="Increase permanent front-line team managers",
        definition=(
            "Number of different directly employed (non-agency) team managers in post at the month's "
            "last day. Shown beside it: the same as a percentage of all team managers in post."
        ),
        numerator=Part("permanent_tm", "Permanent team managers", "team managers"), denominator=None,
        rule="Number of distinct worker_id in post, non-agency, role team_manager.",
        counts_people=True, breakdowns=("team",), context=("turnover", "vacancy", "caseload"),
        secondary=(
            SecondaryMeasure(
                id="team_manager_permanence_pct", label="Team managers who are permanent (%)", unit="percent",
                definition="Permanent team managers in post at the month's last day as a percentage of all team "
                           "managers (agency and permanent) in post that day.",
                numerator="permanent_tm", denominator="all_tm",
                pack="{numerator} of {denominator} team managers in post are permanent ({value}).",
            ),
        ),
    ),
    KPI(
        id="face_to_face_conferences", tor="2b(iii)", label="CP conferences and reviews held face to face (%)",
        unit="percent", direction="up", source_kind="conferences",
        priority="Increase child protection conferences and reviews held face to face",
        definition=(
            "Child protection conferences (initial and review together, one per child) held in the "
            "month in person or hybrid, as a percentage of all conferences held in the month. Hybrid "
            "counts as face to face unless the review setting counts in person only; the in-person-only "
            "figure is always shown beside it."
        ),
        numerator=Part("face_to_face_or_hybrid", "Face to face or hybrid", "conferences"),
        denominator=Part("conferences", "All conferences", "conferences"),
        rule="Conferences with conference_date in M and format face_to_face or hybrid (face_to_face only when the "
             "review setting hybrid_counts_as_face_to_face is off) ÷ all conferences with conference_date in M, × 100.",
        counts_people=True, breakdowns=("format", "conference_type"), judge_on="rolling_3_months",
        secondary=(
            SecondaryMeasure(
                id="conference_in_person_pct", label="Held in person only (%)", unit="percent",
                definition="Conferences held in the month in person (not hybrid, not virtual), as a percentage "
                           "of all conferences held in the month: the KPI without hybrid, always shown beside it "
                           "whichever way the review setting counts hybrid (ToR 2b(iii)).",
                numerator="format_face_to_face", denominator="conferences",
                pack="{numerator} of {denominator} conferences were held in person only ({value}).",
            ),
            SecondaryMeasure(
                id="conference_format_face_to_face", label="Conferences held face to face", unit="count",
                definition="Number of conferences (one per child) held in the month in person.",
                numerator="format_face_to_face",
            ),
            SecondaryMeasure(
                id="conference_format_hybrid", label="Conferences held hybrid", unit="count",
                definition="Number of conferences (one per child) held in the month in hybrid format.",
                numerator="format_hybrid",
            ),
            SecondaryMeasure(
                id="conference_format_virtual", label="Conferences held virtually", unit="count",
                definition="Number of conferences (one per child) held in the month virtually.",
                numerator="format_virtual",
            ),
            SecondaryMeasure(
                id="conference_initial", label="Initial conferences", unit="count",
                definition="Number of initial child protection conferences (one per child) held in the month.",
                numerator="type_initial",
            ),
            SecondaryMeasure(
                id="conference_review", label="Review conferences", unit="count",
                definition="Number of child protection review conferences (one per child) held in the month.",
                numerator="type_review",
            ),
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
        numerator=Part("nfa", "No further action", "assessments"),
        denominator=Part("assessments", "All assessments", "assessments"),
        rule="Assessments with completed_date in M and nfa true ÷ all assessments with completed_date in M, × 100.",
        counts_people=True, breakdowns=("team",),
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
        numerator=Part("three_plus", "3+ social workers", "children"),
        denominator=Part("cohort", "Children allocated", "children"),
        rule="Cohort = children with an episode open at E (start_date ≤ E, end_date blank or > E). For each, the "
             "distinct worker_id over episodes with start_date ≤ E and end_date blank or ≥ the first day of W. "
             "Cohort children with 3 or more ÷ cohort, × 100.",
        counts_people=True, benchmark="dfe_cla_three_plus_social_workers", context=("turnover", "vacancy", "caseload"),
        secondary=(
            SecondaryMeasure(
                id="mean_distinct_workers", label="Average number of social workers in 12 months", unit="mean",
                definition="Of the children with an allocated social worker at the month's last day, the average "
                           "number of different social workers they had in the 12 months ending that day.",
                numerator="workers", denominator="cohort",
                pack="Average number of different social workers in the 12 months: {value}.",
            ),
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
        numerator=Part("good_or_better", "Good or outstanding", "audits"),
        denominator=Part("audits", "All audits", "audits"),
        rule="Audits with audit_date in M graded good or outstanding ÷ all audits with audit_date in M, × 100.",
        counts_people=True, breakdowns=("team", "grade"), judge_on="rolling_3_months",
        secondary=(
            SecondaryMeasure(
                id="audits_inadequate_pct", label="Audits graded inadequate (%)", unit="percent",
                definition="Case-file audits completed in the month graded inadequate, as a percentage of all "
                           "audits completed in the month.",
                numerator="grade_inadequate", denominator="audits",
            ),
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
        numerator=Part("send_complete", "Complete", "milestones"),
        denominator=Part("send_due", "Due", "milestones"),
        rule=_milestones("2b-vii"),
        counts_people=False,
    ),
    KPI(
        id="historic_complaints_outstanding", tor="2(c)", label="Outstanding historic complaints", unit="count",
        direction="down", source_kind="complaints",
        priority="Resolve historic complaints",
        definition=(
            "Complaints received before the historic cut-off date (a setting; by default 1 March 2023, "
            "the date of the revised direction) that were still open at the month's last day."
        ),
        numerator=Part("historic_open", "Historic complaints open", "complaints"), denominator=None,
        rule="Complaints with received_date before the cut-off and closed_date blank or > E.",
        counts_people=True,
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
        numerator=Part("plan_complete", "Complete", "milestones"),
        denominator=Part("plan_due", "Due", "milestones"),
        rule=_milestones("2a"),
        counts_people=False,
    ),
)

#: KPI id → declaration, in registry order (the Terms of Reference order). Changed only by
#: :mod:`metrics.kpi_registry` (register / unregister); every reader sees the same dict.
REGISTRY: dict[str, KPI] = {k.id: k for k in _DECLARED}
#: Secondary measure id → declaration, in registry order of their parents (kept in step with REGISTRY).
SECONDARY: dict[str, SecondaryMeasure] = {}


def _sync_secondary() -> None:
    SECONDARY.clear()
    SECONDARY.update({s.id: s for k in REGISTRY.values() for s in k.secondary})


_sync_secondary()


def get(metric_id: str) -> KPI:
    try:
        return REGISTRY[metric_id]
    except KeyError:
        raise KeyError(f"Unknown KPI '{metric_id}'. Known: {', '.join(REGISTRY)}") from None


def ids_with_unit(*units: Unit) -> tuple[str, ...]:
    """The ids of the KPIs measured in any of ``units``, in registry order (e.g. every percentage)."""
    return tuple(k.id for k in REGISTRY.values() if k.unit in units)


# --- live views: derived from the registry each time they are read ---------------------------------


class View(Mapping[str, T], Generic[T]):
    """KPI id → ``fn(kpi)`` for every KPI where that is not None, in registry order, always current:
    a KPI registered later appears in it at once (``compute.BREAKDOWNS``, ``benchmarks.BENCHMARKED_METRICS``)."""

    def __init__(self, fn: Callable[[KPI], T | None]) -> None:
        self._fn = fn

    def _items(self) -> dict[str, T]:
        out = {}
        for k in REGISTRY.values():
            v = self._fn(k)
            if v is not None:
                out[k.id] = v
        return out

    def __getitem__(self, metric_id: str) -> T:
        k = REGISTRY.get(metric_id)
        v = None if k is None else self._fn(k)
        if v is None:
            raise KeyError(metric_id)
        return v

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __repr__(self) -> str:
        return f"View({self._items()!r})"


class Ids(Sequence[str]):
    """The ids of the KPIs for which ``keep(kpi)`` holds, in registry order, always current: a read-only
    tuple (``ids[0]``, ``x in ids``, ``pandas.Series.isin(ids)``) that compares equal to the same tuple."""

    def __init__(self, keep: Callable[[KPI], bool] = lambda k: True) -> None:
        self._keep = keep

    def _ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in REGISTRY.values() if self._keep(k))

    def __getitem__(self, i):  # type: ignore[override]
        return self._ids()[i]

    def __len__(self) -> int:
        return len(self._ids())

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids())

    def __contains__(self, x: object) -> bool:
        return x in self._ids()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ids | tuple | list):
            return self._ids() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Ids{self._ids()!r}"
