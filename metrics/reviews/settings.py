"""Review settings: checkpoints, each KPI's target trajectory and amber tolerance, the council, and how
progress is judged (``judgement``: reporting lag, SPC options, per KPI basis, fixed limits and rebases) —
the pydantic models, the demo defaults, and the readable diff between two versions (pure; stored by
:mod:`metrics.reviews.store`). The rules are in shared/spec/metrics.md, "Review checkpoints", and
shared/spec/judgement.md; :mod:`metrics.reviews` gives the reading of the spec.

- **Judgement.** Settings saved before ``judgement`` existed load with its defaults (lag 14 days, run
  length 7, screening on, two-of-three counting points beyond the limits, each KPI's declared
  ``judge_on``), and those defaults diff as no change, so only a real change is versioned as one.

- **Trajectory.** The baseline value holds on the *last day of the baseline month* (a KPI is measured
  at its month end). The target at a date is read off the piecewise-linear line (by days) through the
  baseline point, any explicit ``checkpoint_targets`` and the final target at ``final_date``. So an
  explicit checkpoint target wins on its date; before the baseline point the target is the baseline
  value; after the last point (normally ``final_date``) it is that point's value (the final target).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from metrics.kpis import REGISTRY
from metrics.months import month_end, month_of, short_month

_MONTH = re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")  # a plausible year: never year 0 (month_end fails)


def as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"'{value}' is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise ValueError(f"'{value}' is not a valid date ({e})") from None


# --- settings --------------------------------------------------------------------------------


class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: dt.date
    label: str = Field(min_length=1)
    six_month: bool = False


class KpiTarget(BaseModel):
    """One KPI's trajectory: a baseline, then explicit checkpoint targets and/or a final target."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    baseline_month: str = Field(description="YYYY-MM; the baseline value holds on its last day")
    baseline_value: float
    final_target: float | None = None
    final_date: dt.date | None = None
    checkpoint_targets: dict[dt.date, float] = Field(default_factory=dict)
    tolerance: float = Field(ge=0, description="amber band, in the KPI's unit")

    @field_validator("baseline_month")
    @classmethod
    def _month(cls, v: str) -> str:
        v = v.strip()
        if not _MONTH.fullmatch(v):
            raise ValueError(f"baseline_month must be YYYY-MM between 1900 and 2099, e.g. 2023-02 (got '{v}')")
        return v

    @field_validator("final_date")
    @classmethod
    def _final_after_baseline(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        bm = info.data.get("baseline_month")
        if v is not None and bm and v <= month_end(bm):
            raise ValueError(f"final_date {v} must be after the baseline month {bm} (baseline point {month_end(bm)})")
        return v

    @field_validator("checkpoint_targets")
    @classmethod
    def _targets_in_range(cls, v: dict[dt.date, float], info: ValidationInfo) -> dict[dt.date, float]:
        bm, fd = info.data.get("baseline_month"), info.data.get("final_date")
        for d in sorted(v):
            if bm and d <= month_end(bm):
                raise ValueError(f"checkpoint_targets[{d}] must be after the baseline month {bm}")
            if fd and d > fd:
                raise ValueError(f"checkpoint_targets[{d}] is after final_date {fd}")
        return dict(sorted(v.items()))

    @model_validator(mode="after")
    def _has_a_target(self) -> KpiTarget:
        if self.final_target is None and self.final_date is None and not self.checkpoint_targets:
            raise ValueError("give final_target with final_date, or checkpoint_targets: neither was given")
        if self.final_target is not None and self.final_date is None:
            raise ValueError("final_date is missing: a final_target needs the date it is due")
        if self.final_date is not None and self.final_target is None:
            raise ValueError("final_target is missing: final_date was given without it")
        return self

    @property
    def baseline_date(self) -> dt.date:
        return month_end(self.baseline_month)

    @property
    def end_target(self) -> float:
        """The last point of the trajectory: the final target, else the last checkpoint target."""
        return self.points()[-1][1]

    def points(self) -> list[tuple[dt.date, float]]:
        pts = [(self.baseline_date, self.baseline_value), *sorted(self.checkpoint_targets.items())]
        if self.final_target is not None and self.final_date is not None \
                and self.final_date not in self.checkpoint_targets:  # an explicit target wins on its date
            pts.append((self.final_date, self.final_target))
        return pts

    def target_at(self, at: dt.date | str) -> float:
        """The trajectory value on ``at`` (see the module docstring)."""
        at = as_date(at)
        pts = self.points()
        if at <= pts[0][0]:
            return pts[0][1]
        for (d0, v0), (d1, v1) in zip(pts, pts[1:]):
            if at == d1:
                return v1
            if d0 < at < d1:
                return v0 + (v1 - v0) * (at - d0).days / (d1 - d0).days
        return pts[-1][1]


# --- the judgement rules (shared/spec/judgement.md) -------------------------------------------------

JudgeOn = Literal["month", "rolling_3_months"]
#: The smallest fix_after the spec allows (limits fixed on fewer points would be trial limits).
MIN_FIX_AFTER = 12
MAX_LAG_DAYS = 365


class RebaseSetting(BaseModel):
    """A month that starts a new SPC segment (a restructure, the statutory direction …), with why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    month: str = Field(description="YYYY-MM: the first month of the new segment")
    reason: str = Field(description="why the process changed then (shown beside the chart)")

    @field_validator("month")
    @classmethod
    def _month(cls, v: str) -> str:
        v = v.strip()
        if not _MONTH.fullmatch(v):
            raise ValueError(f"a rebase month must be YYYY-MM between 1900 and 2099, e.g. 2023-04 (got '{v}')")
        return v

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a rebase needs a reason (what changed that month), e.g. 'statutory direction'")
        return v.strip()


class KpiJudgement(BaseModel):
    """One KPI's judgement settings. ``judge_on`` None = the KPI's declared default."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    judge_on: JudgeOn | None = None
    fix_after: int | None = Field(default=None, description="fix the limits on the first N points (N ≥ 12)")
    rebases: list[RebaseSetting] = Field(default_factory=list)

    @field_validator("fix_after")
    @classmethod
    def _fix_after(cls, v: int | None) -> int | None:
        if v is not None and v < MIN_FIX_AFTER:
            raise ValueError(f"fix_after must be empty (limits on every point) or at least {MIN_FIX_AFTER} "
                             f"points (got {v})")
        return v

    @field_validator("rebases")
    @classmethod
    def _distinct(cls, v: list[RebaseSetting]) -> list[RebaseSetting]:
        seen: set[str] = set()
        for r in v:
            if r.month in seen:
                raise ValueError(f"rebase month {r.month} is given twice: one reason per month")
            seen.add(r.month)
        return sorted(v, key=lambda r: r.month)


class JudgementSettings(BaseModel):
    """How progress is judged (shared/spec/judgement.md): the reporting lag, the SPC rules' options and
    per KPI the basis (one month or three pooled), fixed limits and rebase months."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reporting_lag_days: int = Field(default=14, ge=0, le=MAX_LAG_DAYS,
                                    description="days after a month ends before its data are complete")
    run_length: Literal[6, 7] = 7
    screening: bool = True
    two_of_three_counts_beyond_limits: bool = True
    kpis: dict[str, KpiJudgement] = Field(default_factory=dict)

    @field_validator("run_length", mode="before")
    @classmethod
    def _run_length(cls, v: Any) -> Any:
        if isinstance(v, bool) or v not in (6, 7):
            raise ValueError(f"run_length must be 6 or 7 (got {v!r})")
        return int(v)

    @field_validator("kpis")
    @classmethod
    def _known(cls, v: dict[str, KpiJudgement]) -> dict[str, KpiJudgement]:
        problems = []
        for kpi_id, k in v.items():
            if kpi_id not in REGISTRY:
                problems.append(f"judgement.kpis.{kpi_id}: unknown KPI id '{kpi_id}' (known: {', '.join(REGISTRY)})")
            elif k.judge_on == "rolling_3_months" and REGISTRY[kpi_id].unit != "percent":
                problems.append(f"judgement.kpis.{kpi_id}.judge_on: only a percentage KPI can be judged on "
                                f"3 months pooled ({kpi_id} is a {REGISTRY[kpi_id].unit} KPI, judged on the month)")
        if problems:
            raise ValueError("; ".join(problems))
        return {k: v[k] for k in REGISTRY if k in v}

    def of(self, kpi_id: str) -> KpiJudgement:
        return self.kpis.get(kpi_id) or KpiJudgement()

    def judge_on(self, kpi_id: str) -> str:
        kpi = REGISTRY[kpi_id]
        if kpi.unit != "percent":
            return "month"
        return self.of(kpi_id).judge_on or kpi.judge_on


class ReviewSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    checkpoints: list[Checkpoint] = Field(min_length=1)
    targets: dict[str, KpiTarget]
    judgement: JudgementSettings = Field(default_factory=JudgementSettings)
    historic_complaints_cutoff: dt.date = dt.date(2023, 3, 1)
    #: ToR 2b(iii): does a hybrid conference count as face to face? (True: as metrics.md defines the KPI;
    #: False: in person only. The in-person-only figure is shown beside the KPI either way.)
    hybrid_counts_as_face_to_face: bool = True
    council_name: str = Field(min_length=1)
    la_code: str = Field(min_length=1)

    @field_validator("la_code")
    @classmethod
    def _known_la(cls, v: str) -> str:
        """Benchmarks follow the LA code: it must be a council in DfE's statistical-neighbour model."""
        from metrics.benchmarks import statistical_neighbours

        try:
            statistical_neighbours(v)
        except ValueError as e:
            raise ValueError(f"'{v}' is not a DfE local authority code with statistical neighbours ({e})") from None
        return v

    @field_validator("hybrid_counts_as_face_to_face", mode="before")
    @classmethod
    def _yes_or_no(cls, v: Any) -> Any:
        if not isinstance(v, bool):
            raise ValueError(f"must be true or false (got {v!r}): does a hybrid conference count as face to face?")
        return v

    @field_validator("checkpoints")
    @classmethod
    def _increasing(cls, v: list[Checkpoint]) -> list[Checkpoint]:
        for i in range(1, len(v)):
            a, b = v[i - 1].date, v[i].date
            if b == a:
                raise ValueError(f"checkpoints[{i}].date {b} duplicates checkpoints[{i - 1}].date")
            if b < a:
                raise ValueError(f"checkpoints[{i}].date {b} is before checkpoints[{i - 1}].date {a}: "
                                 "checkpoints must be in strictly increasing date order")
        return v

    @field_validator("targets")
    @classmethod
    def _known_and_in_range(cls, v: dict[str, KpiTarget]) -> dict[str, KpiTarget]:
        problems = []
        for kpi_id, t in v.items():
            if kpi_id not in REGISTRY:
                problems.append(f"targets.{kpi_id}: unknown KPI id '{kpi_id}' (known: {', '.join(REGISTRY)})")
                continue
            unit = REGISTRY[kpi_id].unit
            values = [("baseline_value", t.baseline_value), ("final_target", t.final_target),
                      *((f"checkpoint_targets[{d}]", x) for d, x in t.checkpoint_targets.items())]
            for name, x in values:
                if x is None:
                    continue
                if unit == "percent" and not 0 <= x <= 100:
                    problems.append(f"targets.{kpi_id}.{name} {x:g} is outside 0–100 ({kpi_id} is a percentage)")
                elif x < 0:
                    problems.append(f"targets.{kpi_id}.{name} {x:g} is negative")
        if problems:
            raise ValueError("; ".join(problems))
        return {k: v[k] for k in REGISTRY if k in v}  # registry order

    def checkpoint_on(self, at: dt.date | str) -> Checkpoint | None:
        at = as_date(at)
        return next((c for c in self.checkpoints if c.date == at), None)

    def previous_checkpoint(self, at: dt.date | str) -> Checkpoint | None:
        at = as_date(at)
        before = [c for c in self.checkpoints if c.date < at]
        return before[-1] if before else None

    @property
    def reporting_lag_days(self) -> int:
        return self.judgement.reporting_lag_days

    def judge_on(self, kpi_id: str) -> str:
        """``month`` or ``rolling_3_months``: the setting, else the KPI's declared default (counts and
        FTE: always ``month``)."""
        return self.judgement.judge_on(kpi_id)

    def spc_settings(self, kpi_id: str):
        """The :class:`metrics.spc.SpcSettings` for ``kpi_id``."""
        from metrics.spc import Rebase, SpcSettings

        j, k = self.judgement, self.judgement.of(kpi_id)
        return SpcSettings(run_length=j.run_length, screening=j.screening,
                           two_of_three_counts_beyond_limits=j.two_of_three_counts_beyond_limits,
                           fix_after=k.fix_after, rebases=tuple(Rebase(r.month, r.reason) for r in k.rebases))


# --- the demo defaults -----------------------------------------------------------------------

DIRECTION_DATE = dt.date(2023, 3, 1)
DEFAULT_BASELINE_MONTH = "2023-02"
DEFAULT_FINAL_DATE = dt.date(2025, 3, 31)
DEFAULT_LAST_CHECKPOINT = dt.date(2025, 6, 1)

#: (baseline value at Feb 2023, final target by 31 Mar 2025, amber tolerance) — the 2022/23 position
#: (agency 55%: the published Sept 2022 census gave 54.9%) and the Improvement Plan's ambition.
DEFAULT_TRAJECTORIES: dict[str, tuple[float, float, float]] = {
    "agency_rate": (55.0, 20.0, 5.0),
    "permanent_practitioners_fte": (53.0, 85.0, 5.0),
    "permanent_team_managers": (6.0, 14.0, 1.0),
    "face_to_face_conferences": (20.0, 75.0, 5.0),
    "assessment_nfa_rate": (40.0, 25.0, 3.0),
    "three_plus_social_workers": (30.0, 15.0, 3.0),
    "audits_good_or_better": (25.0, 60.0, 5.0),
    "send_milestones_complete": (75.0, 90.0, 5.0),
    "historic_complaints_outstanding": (77.0, 0.0, 5.0),
    "improvement_plan_milestones_complete": (80.0, 90.0, 5.0),
}


def default_checkpoints(first: dt.date = dt.date(2023, 6, 1),
                        last: dt.date = DEFAULT_LAST_CHECKPOINT) -> list[Checkpoint]:
    """Every three months from the direction of 1 March 2023; the second is the six-month review."""
    out: list[Checkpoint] = []
    d, n = first, 1
    while d <= last:
        mon = short_month(month_of(d))
        six = d == dt.date(DIRECTION_DATE.year, DIRECTION_DATE.month + 6, 1)
        out.append(Checkpoint(date=d, label=f"Six-month review – {mon}" if six else f"Review {n} – {mon}",
                              six_month=six))
        m = d.month + 3
        d = dt.date(d.year + (m - 1) // 12, (m - 1) % 12 + 1, 1)
        n += 1
    return out


def default_settings(council_name: str | None = None, la_code: str | None = None) -> ReviewSettings:
    from metrics.settings import get_settings

    s = get_settings()
    return ReviewSettings(
        checkpoints=default_checkpoints(),
        targets={
            k: KpiTarget(baseline_month=DEFAULT_BASELINE_MONTH, baseline_value=b, final_target=f,
                         final_date=DEFAULT_FINAL_DATE, tolerance=tol)
            for k, (b, f, tol) in DEFAULT_TRAJECTORIES.items()
        },
        historic_complaints_cutoff=s.historic_complaints_cutoff,
        council_name=council_name or s.council_name,
        la_code=la_code or s.la_code,
    )


# --- what changed between two versions -----------------------------------------------------------


def _fmt(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return f"'{v}'"
    return str(v)


def _flatten(s: ReviewSettings) -> dict[str, Any]:
    d: dict[str, Any] = {
        "council_name": s.council_name,
        "la_code": s.la_code,
        "historic_complaints_cutoff": s.historic_complaints_cutoff,
        "hybrid_counts_as_face_to_face": s.hybrid_counts_as_face_to_face,
    }
    for c in s.checkpoints:
        d[f"checkpoint {c.date}"] = c.label + (" (six-month review)" if c.six_month else "")
    for k, t in s.targets.items():
        d[f"{k}"] = "target"
        for f in ("baseline_month", "baseline_value", "final_target", "final_date", "tolerance"):
            d[f"{k}.{f}"] = getattr(t, f)
        for cd, v in t.checkpoint_targets.items():
            d[f"{k}.checkpoint_targets[{cd}]"] = v
    j = s.judgement
    for f in ("reporting_lag_days", "run_length", "screening", "two_of_three_counts_beyond_limits"):
        d[f"judgement.{f}"] = getattr(j, f)
    for k, kpi in REGISTRY.items():
        if kpi.unit == "percent":
            d[f"judgement.{k}.judge_on"] = j.judge_on(k)
        d[f"judgement.{k}.fix_after"] = j.of(k).fix_after
        for r in j.of(k).rebases:
            d[f"judgement.{k}.rebase {r.month}"] = r.reason
    return d


#: Marks a key absent from one side of :func:`settings_changes`.
ABSENT = object()


def settings_changes(old: ReviewSettings, new: ReviewSettings) -> list[tuple[str, Any, Any]]:
    """Every flattened key that differs, as ``(key, old value, new value)`` (:data:`ABSENT` on the side
    without it). A KPI whose target is added or removed is one entry ``(kpi_id, ABSENT|"target", …)``;
    its fields are not listed. The words are :func:`metrics.reviews.changes.summarise`."""
    a, b = _flatten(old), _flatten(new)
    added_kpis = {k for k in b if k in REGISTRY and k not in a}
    removed_kpis = {k for k in a if k in REGISTRY and k not in b}
    out = []
    for key in [*a, *(k for k in b if k not in a)]:
        kpi = key.split(".")[0]
        if key in REGISTRY:
            if key in added_kpis or key in removed_kpis:
                out.append((key, a.get(key, ABSENT), b.get(key, ABSENT)))
            continue
        if kpi in added_kpis or kpi in removed_kpis:
            continue
        if key not in a or key not in b or a[key] != b[key]:
            out.append((key, a.get(key, ABSENT), b.get(key, ABSENT)))
    return out


def diff_settings(old: ReviewSettings | None, new: ReviewSettings) -> list[str]:
    """Machine-readable changes (kept in the audit trail), e.g. ``agency_rate.final_target 20 → 18``."""
    if old is None:
        return ["first saved version"]
    out = []
    for key, x, y in settings_changes(old, new):
        if key in REGISTRY:
            out.append(f"{key} target {'added' if x is ABSENT else 'removed'}")
        elif y is ABSENT:
            out.append(f"{key} removed (was {_fmt(x)})")
        elif x is ABSENT:
            out.append(f"{key} added: {_fmt(y)}")
        else:
            out.append(f"{key} {_fmt(x)} → {_fmt(y)}")
    return out or ["no changes"]
