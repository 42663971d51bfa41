"""Three-monthly review checkpoints: settings, targets, RAG, direction of travel, finals.

The authority is shared/spec/metrics.md, "Review checkpoints". User-facing explanation:
``docs/reviews.md``. Reading of the spec and choices made here:

- **Last complete month.** At checkpoint C the actual is the value for the latest month whose last day
  is before C — always the calendar month before C's month (C = 1 Jun 2023 → May 2023; C = 15 Jun
  2023 → still May, because 30 June is not before 15 June; C = 1 Jul → June). If that month has no
  value the KPI is ``no_data``: we never fall back silently to an older month. The latest month up to
  then that *does* have a value is reported separately (``latest_available_month``/``_value``), so the
  page can say "no data for May; latest April". ``actual_month`` is always the last complete month.
- **Trajectory.** The baseline value holds on the *last day of the baseline month* (a KPI is measured
  at its month end). The target at a date is read off the piecewise-linear line (by days) through the
  baseline point, any explicit ``checkpoint_targets`` and the final target at ``final_date``. So an
  explicit checkpoint target wins on its date; before the baseline point the target is the baseline
  value; after the last point (normally ``final_date``) it is that point's value (the final target).
  Targets are rounded to 4 decimal places.
- **RAG.** Compared with an absolute tolerance of :data:`EPS` (1e-9) to absorb float noise: green when
  the actual meets or beats the target in the KPI's direction (exact equality is green), amber when the
  shortfall is at most the tolerance (exactly the tolerance is amber), red beyond, ``no_data`` without
  an actual. No display rounding is applied: 20.04% against a target of 20.0% with direction down is
  amber even though both print as "20.0%".
- **Direction of travel** compares the actual with the actual at the previous configured checkpoint
  (the latest checkpoint dated before C — also for an off-schedule C), in the KPI's direction, on the
  same data. ``None`` (JSON ``null``) when either actual is missing or there is no previous checkpoint.
- **KPIs without a target** in the settings are not evaluated (they are not priorities being judged).
- **Final.** :func:`mark_final` freezes the whole :class:`CheckpointResult` as presented, with the
  settings version and the data's as-of time. :func:`review_at` for a final checkpoint returns the
  frozen result; each KPI also carries the actual computed now and ``restated: True`` where it differs.
  New settings versions never change a final verdict.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import math
import re
import sqlite3
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

import pandas as pd
import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from metrics.forecast import Forecast, forecast
from metrics.kpis import REGISTRY
from metrics.kpis import get as get_kpi
from metrics.months import month_end

EPS = 1e-9
TARGET_DECIMALS = 4
RAGS = ("green", "amber", "red", "no_data")
Rag = Literal["green", "amber", "red", "no_data"]
Travel = Literal["improving", "no_change", "worsening"]
_MONTH = re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")  # a plausible year: never year 0 (month_end fails)


# --- calendar helpers ------------------------------------------------------------------------


def month_of(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def last_complete_month(at: dt.date) -> str:
    """The latest month whose last day is before ``at``: always the month before ``at``'s month."""
    return month_of(at.replace(day=1) - dt.timedelta(days=1))


def month_label(month: str) -> str:
    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


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


class ReviewSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    checkpoints: list[Checkpoint] = Field(min_length=1)
    targets: dict[str, KpiTarget]
    historic_complaints_cutoff: dt.date = dt.date(2023, 3, 1)
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
        mon = f"{calendar.month_abbr[d.month]} {d.year}"
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


# --- rating (pure) ---------------------------------------------------------------------------


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def rag(metric: str, actual: float | None, target: float | None, tolerance: float) -> Rag:
    if _missing(actual) or _missing(target):
        return "no_data"
    gap = get_kpi(metric).shortfall(float(actual), float(target))
    if gap <= EPS:
        return "green"
    if gap <= tolerance + EPS:
        return "amber"
    return "red"


def direction_of_travel(metric: str, current: float | None, previous: float | None) -> Travel | None:
    if _missing(current) or _missing(previous):
        return None
    if abs(float(current) - float(previous)) <= EPS:
        return "no_change"
    return "improving" if get_kpi(metric).better(float(current), float(previous)) else "worsening"


@dataclass(frozen=True)
class MetricResult:
    metric: str
    label: str
    unit: str
    direction: str
    actual: float | None
    actual_month: str  # the last complete month before the checkpoint (also when actual is None)
    target: float | None
    tolerance: float
    rag: Rag
    direction_of_travel: Travel | None
    shortfall: float | None = None
    previous_actual: float | None = None
    previous_month: str | None = None
    latest_available_month: str | None = None  # latest month ≤ actual_month with a value
    latest_available_value: float | None = None
    final_target: float | None = None
    forecast: Forecast | None = None
    # restatement (final checkpoints only): the actual computed from today's data
    restated: bool = False
    current_actual: float | None = None
    current_rag: Rag | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d["forecast"] = self.forecast.to_json() if self.forecast else None
        return d

    @classmethod
    def from_json(cls, d: dict) -> MetricResult:
        known = {f.name for f in fields(cls)}  # tolerate keys written by other versions of this code
        d = {k: v for k, v in d.items() if k in known}
        d["forecast"] = Forecast.from_json(d.get("forecast"))
        return cls(**d)


@dataclass(frozen=True)
class CheckpointResult:
    checkpoint: dt.date
    label: str | None
    six_month: bool
    month: str  # the last complete month whose values are judged
    previous_checkpoint: dt.date | None
    metrics: list[MetricResult]
    final: bool = False
    finalised_at: str | None = None
    finalised_by: str | None = None
    settings_version_id: int | None = None
    data_as_of: str | None = None

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(RAGS, 0)
        for m in self.metrics:
            counts[m.rag] += 1
        return counts

    @property
    def restated(self) -> bool:
        return any(m.restated for m in self.metrics)

    @property
    def headline(self) -> str:
        s = self.summary
        return (f"{s['green']} of {len(self.metrics)} priorities green, {s['amber']} amber, {s['red']} red, "
                f"{s['no_data']} no data")

    def metric(self, metric_id: str) -> MetricResult:
        for m in self.metrics:
            if m.metric == metric_id:
                return m
        raise KeyError(f"{metric_id} is not rated at {self.checkpoint} (no target in the settings)")

    def to_json(self) -> dict:
        return {
            "checkpoint": self.checkpoint.isoformat(),
            "label": self.label,
            "six_month": self.six_month,
            "month": self.month,
            "previous_checkpoint": self.previous_checkpoint.isoformat() if self.previous_checkpoint else None,
            "final": self.final,
            "finalised_at": self.finalised_at,
            "finalised_by": self.finalised_by,
            "settings_version_id": self.settings_version_id,
            "data_as_of": self.data_as_of,
            "restated": self.restated,
            "summary": self.summary,
            "metrics": [m.to_json() for m in self.metrics],
        }

    @classmethod
    def from_json(cls, d: dict) -> CheckpointResult:
        return cls(
            checkpoint=as_date(d["checkpoint"]), label=d.get("label"), six_month=bool(d.get("six_month")),
            month=d["month"],
            previous_checkpoint=as_date(d["previous_checkpoint"]) if d.get("previous_checkpoint") else None,
            metrics=[MetricResult.from_json(m) for m in d["metrics"]],
            final=bool(d.get("final")), finalised_at=d.get("finalised_at"), finalised_by=d.get("finalised_by"),
            settings_version_id=d.get("settings_version_id"), data_as_of=d.get("data_as_of"),
        )


def _value_lookup(series: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    """{metric: {month: value}} for the months that have a value (NaN = no data is left out)."""
    out: dict[str, dict[str, float]] = {}
    if series is None or series.empty or not {"metric", "month", "value"} <= set(series.columns):
        return out
    for m, month, v in zip(series["metric"], series["month"], series["value"]):
        if v is None or pd.isna(v):
            continue
        out.setdefault(str(m), {})[str(month)] = float(v)
    return out


def _latest_upto(values: dict[str, float], month: str) -> tuple[str | None, float | None]:
    months = [m for m in values if m <= month]
    if not months:
        return None, None
    m = max(months)
    return m, values[m]


def evaluate(series: pd.DataFrame, settings: ReviewSettings, at: dt.date | str) -> CheckpointResult:
    """Judge every KPI with a target at date ``at`` (any date; labelled if it is a checkpoint)."""
    at = as_date(at)
    lookup = _value_lookup(series)
    month = last_complete_month(at)
    cp = settings.checkpoint_on(at)
    prev = settings.previous_checkpoint(at)
    prev_month = last_complete_month(prev.date) if prev else None
    results = []
    for kpi_id, t in settings.targets.items():
        kpi = get_kpi(kpi_id)
        values = lookup.get(kpi_id, {})
        actual = values.get(month)
        target = round(t.target_at(at), TARGET_DECIMALS)
        previous = values.get(prev_month) if prev_month else None
        lam, lav = _latest_upto(values, month)
        results.append(MetricResult(
            metric=kpi_id, label=kpi.label, unit=kpi.unit, direction=kpi.direction,
            actual=actual, actual_month=month, target=target, tolerance=t.tolerance,
            rag=rag(kpi_id, actual, target, t.tolerance),
            direction_of_travel=direction_of_travel(kpi_id, actual, previous),
            shortfall=None if actual is None else round(kpi.shortfall(actual, target), 6),
            previous_actual=previous, previous_month=prev_month,
            latest_available_month=lam, latest_available_value=lav,
            final_target=t.end_target,
            forecast=forecast(series, kpi_id, t.end_target, up_to_month=month),
        ))
    return CheckpointResult(checkpoint=at, label=cp.label if cp else None, six_month=bool(cp and cp.six_month),
                            month=month, previous_checkpoint=prev.date if prev else None, metrics=results)


def evaluate_all(series: pd.DataFrame, settings: ReviewSettings) -> list[CheckpointResult]:
    """Every configured checkpoint, in date order (for the trajectory chart)."""
    return [evaluate(series, settings, c.date) for c in settings.checkpoints]


def targets_frame(settings: ReviewSettings) -> pd.DataFrame:
    """The trajectory at each checkpoint: columns metric, checkpoint (date), label, target."""
    rows = [{"metric": k, "checkpoint": c.date, "label": c.label,
             "target": round(t.target_at(c.date), TARGET_DECIMALS)}
            for k, t in settings.targets.items() for c in settings.checkpoints]
    return pd.DataFrame(rows, columns=["metric", "checkpoint", "label", "target"])


# --- storage: settings versions --------------------------------------------------------------


def _m_review_settings_versions(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE review_settings_versions ("
        " id INTEGER PRIMARY KEY,"
        " saved_at TEXT NOT NULL,"  # UTC, ISO 8601 with Z
        " saved_by TEXT NOT NULL,"
        " note TEXT NOT NULL DEFAULT '',"
        " settings_json TEXT NOT NULL)"
    )
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER review_settings_versions_no_{op.lower()} BEFORE {op} ON review_settings_versions"
            " BEGIN SELECT RAISE(ABORT, 'review settings versions are append-only: save a new version'); END"
        )


def _m_checkpoint_finals(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE checkpoint_finals ("
        " checkpoint DATE PRIMARY KEY,"  # ISO YYYY-MM-DD
        " finalised_at TEXT NOT NULL,"
        " finalised_by TEXT NOT NULL,"
        " evaluation_json TEXT NOT NULL,"
        " settings_version_id INTEGER REFERENCES review_settings_versions(id),"
        " data_as_of TEXT)"
    )
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER checkpoint_finals_no_{op.lower()} BEFORE {op} ON checkpoint_finals"
            " BEGIN SELECT RAISE(ABORT, 'a final checkpoint cannot be changed or withdrawn'); END"
        )


def _coerce(settings: ReviewSettings | dict) -> ReviewSettings:
    data = settings.model_dump(mode="json") if isinstance(settings, BaseModel) else settings
    return ReviewSettings.model_validate(data)  # re-validated even if built with model_copy


def save_settings(conn: sqlite3.Connection, settings: ReviewSettings | dict, by: str, note: str = "",
                  *, role: str = "") -> int:
    """Validate and append a new settings version. Raises pydantic ``ValidationError`` naming the field."""
    from metrics.store import utc_now

    s = _coerce(settings)
    if not by or not by.strip():
        raise ValueError("by: say who is saving the settings")
    from metrics import audit

    with audit.transaction(conn):
        previous = latest_version_id(conn)
        cur = conn.execute(
            "INSERT INTO review_settings_versions (saved_at, saved_by, note, settings_json) VALUES (?, ?, ?, ?)",
            (utc_now(), by.strip(), note or "", s.model_dump_json()),
        )
        changes = diff_settings(load_settings(conn, previous), s) if previous else ["first saved version"]
        audit.record(conn, by.strip(), "settings_change", f"settings version {cur.lastrowid}",
                     {"note": note or "", "changes": changes[:200]}, role=role)
    return int(cur.lastrowid)


def latest_version_id(conn: sqlite3.Connection) -> int | None:
    r = conn.execute("SELECT MAX(id) FROM review_settings_versions").fetchone()
    return r[0]


def load_settings(conn: sqlite3.Connection, version_id: int | None = None) -> ReviewSettings:
    """The latest saved settings (or version ``version_id``); the defaults if none were saved."""
    if version_id is None:
        r = conn.execute("SELECT settings_json FROM review_settings_versions ORDER BY id DESC LIMIT 1").fetchone()
        if r is None:
            return default_settings()
    else:
        r = conn.execute("SELECT settings_json FROM review_settings_versions WHERE id = ?", (version_id,)).fetchone()
        if r is None:
            raise LookupError(f"There is no review settings version {version_id}.")
    return ReviewSettings.model_validate_json(r[0])


@dataclass(frozen=True)
class SettingsVersion:
    id: int
    saved_at: str
    saved_by: str
    note: str
    settings: ReviewSettings
    changes: list[str] = field(default_factory=list)


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
    }
    for c in s.checkpoints:
        d[f"checkpoint {c.date}"] = c.label + (" (six-month review)" if c.six_month else "")
    for k, t in s.targets.items():
        d[f"{k}"] = "target"
        for f in ("baseline_month", "baseline_value", "final_target", "final_date", "tolerance"):
            d[f"{k}.{f}"] = getattr(t, f)
        for cd, v in t.checkpoint_targets.items():
            d[f"{k}.checkpoint_targets[{cd}]"] = v
    return d


def diff_settings(old: ReviewSettings | None, new: ReviewSettings) -> list[str]:
    """Human-readable changes, e.g. ``agency_rate.final_target 20 → 18``."""
    if old is None:
        return ["first saved version"]
    a, b = _flatten(old), _flatten(new)
    added_kpis = {k for k in b if k in REGISTRY and k not in a}
    removed_kpis = {k for k in a if k in REGISTRY and k not in b}
    out = []
    for key in [*a, *(k for k in b if k not in a)]:
        kpi = key.split(".")[0]
        if key in REGISTRY:
            if key in added_kpis:
                out.append(f"{key} target added")
            elif key in removed_kpis:
                out.append(f"{key} target removed")
            continue
        if kpi in added_kpis or kpi in removed_kpis:
            continue
        if key not in b:
            out.append(f"{key} removed (was {_fmt(a[key])})")
        elif key not in a:
            out.append(f"{key} added: {_fmt(b[key])}")
        elif a[key] != b[key]:
            out.append(f"{key} {_fmt(a[key])} → {_fmt(b[key])}")
    return out or ["no changes"]


def settings_history(conn: sqlite3.Connection) -> list[SettingsVersion]:
    """Every saved version, oldest first, each with what changed from the one before."""
    out: list[SettingsVersion] = []
    prev: ReviewSettings | None = None
    for r in conn.execute("SELECT id, saved_at, saved_by, note, settings_json FROM review_settings_versions ORDER BY id"):
        s = ReviewSettings.model_validate_json(r["settings_json"])
        out.append(SettingsVersion(r["id"], r["saved_at"], r["saved_by"], r["note"], s, diff_settings(prev, s)))
        prev = s
    return out


# --- reviews against the store ---------------------------------------------------------------


class AlreadyFinal(Exception):
    pass


class NotACheckpoint(ValueError):
    pass


def _compute_series(conn: sqlite3.Connection, **kwargs) -> pd.DataFrame:
    """The one place that calls ``metrics.compute`` (imported lazily; tests may replace this)."""
    from metrics.compute import compute_series

    return compute_series(conn, **kwargs)


def current_series(conn: sqlite3.Connection, settings: ReviewSettings) -> pd.DataFrame:
    return _compute_series(conn, historic_cutoff=settings.historic_complaints_cutoff)


def data_as_of(conn: sqlite3.Connection) -> str | None:
    """When the data last changed: the latest upload time (UTC)."""
    return conn.execute("SELECT MAX(uploaded_at) FROM uploads").fetchone()[0]


def _data_fingerprint(conn: sqlite3.Connection) -> str:
    h = hashlib.sha256()
    for r in conn.execute("SELECT kind, scope, month, upload_id FROM current_months ORDER BY kind, scope, month"):
        h.update(repr(tuple(r)).encode())
    h.update(repr(data_as_of(conn)).encode())
    return h.hexdigest()


def get_final(conn: sqlite3.Connection, checkpoint: dt.date | str) -> CheckpointResult | None:
    """The frozen evaluation of a final checkpoint (None if it is not final)."""
    r = conn.execute("SELECT * FROM checkpoint_finals WHERE checkpoint = ?", (as_date(checkpoint).isoformat(),)).fetchone()
    if r is None:
        return None
    return replace(CheckpointResult.from_json(json.loads(r["evaluation_json"])), final=True,
                   finalised_at=r["finalised_at"], finalised_by=r["finalised_by"],
                   settings_version_id=r["settings_version_id"], data_as_of=r["data_as_of"])


def is_final(conn: sqlite3.Connection, checkpoint: dt.date | str) -> bool:
    return conn.execute("SELECT 1 FROM checkpoint_finals WHERE checkpoint = ?",
                        (as_date(checkpoint).isoformat(),)).fetchone() is not None


def final_checkpoints(conn: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(
        "SELECT checkpoint, finalised_at, finalised_by, settings_version_id, data_as_of FROM checkpoint_finals"
        " ORDER BY checkpoint")]


def mark_final(conn: sqlite3.Connection, checkpoint_date: dt.date | str, by: str, *,
               series: pd.DataFrame | None = None, today: dt.date | None = None, role: str = "") -> CheckpointResult:
    """Freeze the evaluation of a configured checkpoint as presented. Final means final.

    Refused (nothing changed) if already final, not a configured checkpoint, or still in the future.
    If no settings version was ever saved, the defaults in force are saved first so the final record
    names a settings version.
    """
    from metrics.store import utc_now

    at = as_date(checkpoint_date)
    if not by or not by.strip():
        raise ValueError("by: say who is marking the checkpoint final")
    if is_final(conn, at):
        raise AlreadyFinal(f"Checkpoint {at} is already final; its record cannot be changed.")
    settings = load_settings(conn)
    if settings.checkpoint_on(at) is None:
        raise NotACheckpoint(f"{at} is not a configured checkpoint: "
                             f"{', '.join(c.date.isoformat() for c in settings.checkpoints)}")
    today = today or dt.datetime.now(dt.UTC).date()
    if at > today:
        raise NotACheckpoint(f"Checkpoint {at} is in the future; it can be marked final on or after that date.")
    before = _data_fingerprint(conn)
    result = evaluate(current_series(conn, settings) if series is None else series, settings, at)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _data_fingerprint(conn) != before:
            raise RuntimeError("The data changed while the review was being finalised; nothing was saved. Try again.")
        if is_final(conn, at):
            raise AlreadyFinal(f"Checkpoint {at} is already final; its record cannot be changed.")
        version = latest_version_id(conn)
        if version is None:
            version = save_settings(conn, settings, by, note=f"default settings in force when {at} was marked final")
        result = replace(result, final=True, finalised_at=utc_now(), finalised_by=by.strip(),
                         settings_version_id=version, data_as_of=data_as_of(conn))
        conn.execute(
            "INSERT INTO checkpoint_finals (checkpoint, finalised_at, finalised_by, evaluation_json,"
            " settings_version_id, data_as_of) VALUES (?, ?, ?, ?, ?, ?)",
            (at.isoformat(), result.finalised_at, result.finalised_by, json.dumps(result.to_json()),
             version, result.data_as_of),
        )
        from metrics import audit

        audit.record(conn, by.strip(), "checkpoint_final", f"checkpoint {at.isoformat()}",
                     {"summary": result.summary, "settings_version": version, "data_as_of": result.data_as_of},
                     role=role)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return result


def restate(frozen: CheckpointResult, series: pd.DataFrame) -> CheckpointResult:
    """The frozen result, each KPI with today's actual for the same month; ``restated`` where it differs."""
    lookup = _value_lookup(series)
    metrics = []
    for m in frozen.metrics:
        now = lookup.get(m.metric, {}).get(m.actual_month)
        same = (_missing(now) and _missing(m.actual)) or (
            not _missing(now) and not _missing(m.actual) and abs(now - m.actual) <= EPS)
        metrics.append(replace(m, current_actual=now, current_rag=rag(m.metric, now, m.target, m.tolerance),
                               restated=not same))
    return replace(frozen, metrics=metrics)


def review_at(conn: sqlite3.Connection, at: dt.date | str, *, settings: ReviewSettings | None = None,
              series: pd.DataFrame | None = None) -> CheckpointResult:
    """The review at ``at``: frozen (and restated against today's data) if final, else evaluated now."""
    at = as_date(at)
    settings = settings or load_settings(conn)
    if series is None:
        series = current_series(conn, settings)
    frozen = get_final(conn, at)
    if frozen is not None:
        return restate(frozen, series)
    return evaluate(series, settings, at)


def review_all(conn: sqlite3.Connection, *, settings: ReviewSettings | None = None,
               series: pd.DataFrame | None = None) -> list[CheckpointResult]:
    """Every configured checkpoint (and any final one no longer configured), in date order."""
    settings = settings or load_settings(conn)
    if series is None:
        series = current_series(conn, settings)
    dates = sorted({c.date for c in settings.checkpoints}
                   | {as_date(f["checkpoint"]) for f in final_checkpoints(conn)})
    return [review_at(conn, d, settings=settings, series=series) for d in dates]
