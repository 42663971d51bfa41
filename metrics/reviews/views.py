"""View shaping of the reviews for the dashboard, in pure pandas: the next checkpoint and the checkpoint
choices, a KPI's breakdown and secondary measures as one row per group with its trend.
``dashboard.loaders`` caches calls to these; the pages only render what they return."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from metrics.reviews.evaluate import CheckpointResult, judged_month
from metrics.reviews.model import _latest_data_month, _trend
from metrics.reviews.settings import ReviewSettings


def latest_data_month(series: pd.DataFrame) -> str | None:
    """The latest month in which any KPI has a value."""
    return _latest_data_month(series)


def next_checkpoint(settings: ReviewSettings, latest_month: str | None) -> str:
    """ISO date of the dashboard's default review: the latest checkpoint whose judged month (checkpoint −
    reporting lag, shared/spec/judgement.md section 1) is on or before ``latest_month`` — the review that
    can be held on the data there are (else the first checkpoint)."""
    lag = settings.reporting_lag_days
    held = [c.date for c in settings.checkpoints
            if latest_month is not None and judged_month(c.date, lag) <= latest_month]
    return (held[-1] if held else settings.checkpoints[0].date).isoformat()


@dataclass(frozen=True)
class CheckpointChoice:
    at: str  # ISO date
    label: str  # the configured label, e.g. "Review 9 – Jun 2025"
    next: bool  # the default: the latest checkpoint whose judged month has data
    final: bool
    has_data: bool  # its judged month is on or before the latest month with data


def checkpoint_choices(results: dict[str, CheckpointResult], settings: ReviewSettings,
                       latest_month: str | None) -> list[CheckpointChoice]:
    """One choice per checkpoint (``results``: ISO date → its review, in date order)."""
    labels = {c.date.isoformat(): c.label for c in settings.checkpoints}
    nxt = next_checkpoint(settings, latest_month)
    return [CheckpointChoice(at=at, label=labels.get(at) or r.label or at, next=at == nxt, final=r.final,
                             has_data=latest_month is not None and r.month <= latest_month)
            for at, r in results.items()]


def checkpoint_list(results: dict[str, CheckpointResult], finals: dict[str, dict]) -> list[dict]:
    """The Reviews page's checkpoints (``results`` in date order): label, six-month flag, final, whether
    any KPI has an actual there, and the summary."""
    return [{"checkpoint": d, "label": r.label or f"Review – {d}", "six_month": r.six_month, "final": d in finals,
             "finalised_at": r.finalised_at, "finalised_by": r.finalised_by,
             "has_data": any(m.actual is not None for m in r.metrics), "summary": r.summary}
            for d, r in results.items()]


# breakdowns by format, grade or conference type keep the contract's order, not alphabetical
def _ordered(by: str, groups: list) -> list:
    if by not in ("format", "grade", "conference_type"):
        return groups
    from metrics.compute import CONFERENCE_TYPES, FORMATS, GRADES

    order = {"format": FORMATS, "grade": GRADES, "conference_type": CONFERENCE_TYPES}[by]
    return [g for g in order if g in set(groups)] + [g for g in groups if g not in order]


def breakdown_view(frame: pd.DataFrame, by: str, month: str | None = None) -> tuple[str | None, pd.DataFrame]:
    """A breakdown (``metrics.compute.breakdown``) as (its month, one row per group: value, numerator,
    denominator in that month, and its trend up to it). ``month`` (``YYYY-MM``, e.g. a review's judged
    month): the latest month with record-level data on or before it; None: the latest month of all. Nothing
    on or before ``month``: (None, no rows)."""
    cols = ["group", "value", "numerator", "denominator", "trend"]
    if month is not None:
        frame = frame[frame["month"] <= month]
    if frame.empty:
        return None, pd.DataFrame(columns=cols)
    latest = str(frame["month"].max())
    groups = _ordered(by, sorted(frame["group"].unique(), key=str))
    now = frame[frame["month"] == latest].set_index("group")
    months = sorted(frame["month"].unique())
    rows = []
    for g in groups:
        hist = frame[frame["group"] == g].set_index("month")["value"].reindex(months)
        cur = now.loc[g] if g in now.index else None
        trend = _trend(hist)
        rows.append({"group": g,
                     "value": None if cur is None else cur["value"],
                     "numerator": None if cur is None else cur["numerator"],
                     "denominator": None if cur is None else cur["denominator"],
                     "trend": list(trend) if trend else None})
    return latest, pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class InPerson:
    """The face-to-face KPI's figures beside it (ToR 2b(iii)) over the months a review judged."""

    months: tuple[str, ...]
    in_person: float  # conferences held in person
    hybrid: float
    conferences: float

    @property
    def in_person_pct(self) -> float | None:
        return 100 * self.in_person / self.conferences if self.conferences else None

    @property
    def with_hybrid_pct(self) -> float | None:
        return 100 * (self.in_person + self.hybrid) / self.conferences if self.conferences else None


def in_person_view(secondary: pd.DataFrame, months) -> InPerson | None:
    """In person only, and in person or hybrid, pooled over ``months`` (Σ ÷ Σ, as the review pools) from
    the secondary measures (record-level months only); None when none of the months has record-level data."""
    months = tuple(months)
    s = secondary[secondary["month"].isin(months)]
    pct = s[s["metric"] == "conference_in_person_pct"]
    if pct.empty:
        return None
    hybrid = s.loc[s["metric"] == "conference_format_hybrid", "numerator"].sum()
    return InPerson(tuple(sorted(pct["month"])), float(pct["numerator"].sum()), float(hybrid),
                    float(pct["denominator"].sum()))


def secondary_view(secondary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The secondary measures shown beside ``metric``: id, latest value and month, trend."""
    from metrics.kpis import SECONDARY

    rows = []
    for sid, measure in SECONDARY.items():
        if measure.parent != metric:
            continue
        s = secondary[(secondary["metric"] == sid)].sort_values("month")
        have = s[s["value"].notna()]
        trend = _trend(s["value"])
        rows.append({"id": sid, "value": float(have["value"].iloc[-1]) if len(have) else None,
                     "month": str(have["month"].iloc[-1]) if len(have) else None,
                     "trend": list(trend) if trend else None})
    return pd.DataFrame(rows, columns=["id", "value", "month", "trend"])


def iso_date(iso: str) -> dt.date:
    return dt.date.fromisoformat(str(iso)[:10])
