"""Registers: the items behind a KPI's number at a month, and team breakdowns with their trajectory
(issue 13 items 2 and 3). Pure functions over the store's current rows (:func:`metrics.store.read_current`)
and the computed series; no streamlit, no plotly, nothing from ``reports`` or ``dashboard``.

Three registers, chosen by the KPI's extract kind (:func:`register_kind`):

* **milestones** (the Improvement Plan and SEND strategy KPIs): :func:`milestone_register` — the plan's items
  behind the percentage at the month's last day E: *overdue* (due on or before E, not completed by E; days
  overdue = E − due date, so an item due on E itself is overdue by 0 days, as the KPI already counts it due
  and not complete), *completed late* (completed on or before E, after its due date; days late = completed −
  due), and the items not yet due whose status is *off track* or *at risk*.
* **complaints** (historic complaints): :func:`complaints_register` — the historic complaints (received before
  the cut-off) still open at E (closed date blank or after E: a complaint closed on E itself is closed), by
  stage and age band (age = E − received date); :func:`complaints_burndown` — the KPI's own monthly value from
  the cut-off's month to the month.
* **allocations** (children with 3+ social workers): :func:`worker_counts` — for each child of the cohort (an
  episode open at E), the number of different workers in the 12 months W ending E (the KPI's rule) and their
  team: the team, in the same month's workforce snapshot, of the worker on the child's open episode (the latest
  started if several); "Not recorded" when the workforce extract does not name one. :func:`worker_distribution`
  and :func:`workers_by_team` count them; :func:`change_reasons` counts the changes of worker in W by reason,
  in words (:data:`CHANGE_REASONS`).

No child, worker or complaint identifier ever leaves this module: every frame it returns is counts, dates,
titles, stages and teams.

Team breakdowns (:func:`team_view`): one KPI per team at any month (``metrics.compute.breakdown`` already
gives every month), each team's value, numbers and trajectory up to that month, with small numbers
flagged (a percentage's denominator under :data:`metrics.compute.SMALL_DENOMINATOR`, a count from 1 to 5).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from metrics.compute import NO_TEAM, SMALL_DENOMINATOR, window_start
from metrics.kpis import REGISTRY
from metrics.months import month_end, month_from_index, month_index, month_of, month_range

#: The register shown for a KPI, by its extract kind.
REGISTER_KINDS = ("milestones", "complaints", "allocations")

#: Milestone register states, in the order shown, with their words.
MILESTONE_STATES: dict[str, str] = {
    "overdue": "Overdue",
    "completed_late": "Completed late",
    "off_track": "Off track (not yet due)",
    "at_risk": "At risk (not yet due)",
}

#: Complaint age bands at the month's last day: (label, lower bound in days inclusive).
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("Under 6 months", 0), ("6 to 12 months", 183), ("1 to 2 years", 365), ("2 to 3 years", 730),
    ("3 years or more", 1095),
)
#: Complaint stages in the contract's order, with words; a blank stage is "Not recorded".
STAGES: dict[str, str] = {"1": "Stage 1", "2": "Stage 2", "3": "Stage 3", "ombudsman": "Ombudsman"}
NOT_RECORDED = "Not recorded"

#: Bands of the number of different social workers a child had in the 12 months.
WORKER_BANDS: tuple[str, ...] = ("1", "2", "3", "4", "5 or more")

#: Reasons for a change of allocated social worker, as recorded in ``change_reason`` (the Standard
#: Safeguarding Dataset's ``invo_worker_change_reason``, item INVO004A of ``ssd_involvements``, filled from
#: the case-management system's worker-change reason lookup, e.g. Liquidlogic's CWREASON codes), in words.
#: No national code list was found; these are the codes the extracts use, read as words by the product
#: (docs/metrics.md). Any other code is shown as recorded ("Other: …"), a blank one as "No reason recorded".
CHANGE_REASONS: dict[str, str] = {
    "LEFTRL": "The social worker left the role",
    "ORGRST": "Organisational restructure",
    "CASETR": "Case transferred to another team or worker",
    "CASECL": "Case closed",
}


def reason_words(code) -> str:
    """A change-reason code in plain English."""
    if code is None or (isinstance(code, float) and math.isnan(code)) or not str(code).strip():
        return "No reason recorded"
    c = str(code).strip()
    return CHANGE_REASONS.get(c.upper(), f"Other: {c}")


def register_kind(metric: str) -> str | None:
    """'milestones', 'complaints' or 'allocations' for a KPI with a register; None otherwise."""
    kind = REGISTRY[metric].source_kind
    return kind if kind in REGISTER_KINDS else None


def tor_ref(metric: str) -> str:
    """The milestones extract's ``tor_ref`` of a milestone KPI: ToR '2(a)' → '2a', '2b(vii)' → '2b-vii'."""
    tor = REGISTRY[metric].tor
    if "(" not in tor:
        return tor
    base, inner = tor.rstrip(")").split("(", 1)
    return f"{base}-{inner}" if base[-1:].isalpha() else base + inner


def _date(x) -> dt.date | None:
    if x is None or (isinstance(x, float) and math.isnan(x)) or not str(x).strip():
        return None
    return dt.date.fromisoformat(str(x)[:10])


# --- milestones --------------------------------------------------------------------------------------

MILESTONE_COLUMNS = ("state", "title", "due_date", "completed_date", "status", "days")


def milestone_register(rows: pd.DataFrame, ref: str, month: str) -> pd.DataFrame:
    """The items of ``tor_ref`` ``ref`` behind the percentage at ``month``'s last day E (see the module).

    ``rows``: the month's current milestones rows. Columns :data:`MILESTONE_COLUMNS`: ``state`` (a key of
    :data:`MILESTONE_STATES`), ``title``, ``due_date`` and ``completed_date`` (dates, None when blank),
    ``status`` (as recorded, '' when blank), ``days`` (days overdue, or days late; None for items not yet
    due). Sorted by state, then due date, then title."""
    e = month_end(month)
    out = []
    if rows is not None and not rows.empty:
        for r in rows[rows["tor_ref"] == ref].itertuples(index=False):
            due, done = _date(r.due_date), _date(r.completed_date)
            status = "" if r.status is None or r.status != r.status else str(r.status)
            complete = done is not None and done <= e
            if due is None:
                continue
            if due <= e and not complete:
                state, days = "overdue", (e - due).days
            elif complete and done > due:
                state, days = "completed_late", (done - due).days
            elif not complete and status in ("off_track", "at_risk"):
                state, days = status, None
            else:
                continue
            out.append((state, str(r.title), due, done if complete else None, status, days))
    frame = pd.DataFrame(out, columns=list(MILESTONE_COLUMNS))
    frame["days"] = pd.Series([r[5] for r in out], dtype=object)  # whole days, None for items not yet due
    order = {s: i for i, s in enumerate(MILESTONE_STATES)}
    if frame.empty:
        return frame
    return (frame.assign(_o=frame["state"].map(order)).sort_values(["_o", "due_date", "title"])
            .drop(columns="_o").reset_index(drop=True))


def milestone_counts(register: pd.DataFrame) -> dict[str, int]:
    """State → number of items (every state, 0 where none)."""
    found = register["state"].value_counts().to_dict() if not register.empty else {}
    return {s: int(found.get(s, 0)) for s in MILESTONE_STATES}


# --- complaints --------------------------------------------------------------------------------------


def age_band(days: int) -> str:
    label = AGE_BANDS[0][0]
    for name, lower in AGE_BANDS:
        if days >= lower:
            label = name
    return label


def stage_words(stage) -> str:
    if stage is None or (isinstance(stage, float) and math.isnan(stage)) or not str(stage).strip():
        return NOT_RECORDED
    return STAGES.get(str(stage).strip().lower(), str(stage))


def complaints_register(rows: pd.DataFrame, cutoff: dt.date, month: str) -> pd.DataFrame:
    """The historic complaints (received before ``cutoff``) open at ``month``'s last day E: closed date blank
    or after E (one closed on E is closed). Columns ``stage`` (words), ``received_date``, ``age_days``
    (E − received), ``age_band``; no identifier. Oldest first."""
    e = month_end(month)
    out = []
    if rows is not None and not rows.empty:
        for r in rows.itertuples(index=False):
            received, closed = _date(r.received_date), _date(r.closed_date)
            if received is None or received >= cutoff or (closed is not None and closed <= e):
                continue
            age = (e - received).days
            out.append((stage_words(r.stage), received, age, age_band(age)))
    frame = pd.DataFrame(out, columns=["stage", "received_date", "age_days", "age_band"])
    return frame.sort_values("received_date").reset_index(drop=True) if not frame.empty else frame


def stage_order() -> list[str]:
    return [*STAGES.values(), NOT_RECORDED]


def complaints_table(register: pd.DataFrame) -> pd.DataFrame:
    """Outstanding complaints by stage (rows, the contract's order; a row only where the stage is recorded
    or found) and age band (columns, every band), counts as ints, with a ``Total`` column and row."""
    bands = [b for b, _ in AGE_BANDS]
    stages = [s for s in stage_order() if s != NOT_RECORDED or (not register.empty
                                                               and (register["stage"] == NOT_RECORDED).any())]
    stages += sorted(set(register["stage"]) - set(stages)) if not register.empty else []
    grid = pd.DataFrame(0, index=stages, columns=bands, dtype=int)
    for s, b in zip(register.get("stage", []), register.get("age_band", [])):
        grid.loc[s, b] += 1
    grid["Total"] = grid.sum(axis=1)
    grid.loc["Total"] = grid.sum(axis=0)
    grid.index.name = "Stage"
    return grid


def complaints_burndown(series: pd.DataFrame, cutoff: dt.date, month: str,
                        metric: str = "historic_complaints_outstanding") -> pd.DataFrame:
    """The KPI's own value each month from the cut-off's month to ``month`` (``series``: compute_series).
    Columns ``month``, ``outstanding`` (NaN where no data)."""
    months = month_range(month_of(cutoff), month)
    s = series[series["metric"] == metric].set_index("month")["value"] if not series.empty else pd.Series()
    return pd.DataFrame({"month": months, "outstanding": [float(s.get(m, math.nan)) for m in months]})


# --- children and their social workers ---------------------------------------------------------------


def worker_counts(allocations: pd.DataFrame, workforce: pd.DataFrame | None, month: str) -> pd.DataFrame:
    """One row per cohort child at ``month``'s last day (no identifier): ``workers`` (different social workers
    in the 12 months ending E, as the KPI counts them) and ``team`` (see the module)."""
    cols = ["workers", "team"]
    if allocations is None or allocations.empty:
        return pd.DataFrame(columns=cols)
    e, w0 = month_end(month).isoformat(), window_start(month_end(month)).isoformat()
    a = allocations
    end = a["end_date"].where(a["end_date"].notna() & (a["end_date"].astype(str) != ""), None)
    overlaps = (a["start_date"] <= e) & (end.isna() | (end.fillna("") >= w0))
    a = a[overlaps].assign(_open=end[overlaps].isna() | (end[overlaps].fillna("") > e))
    cohort = a[a["_open"]]
    if cohort.empty:
        return pd.DataFrame(columns=cols)
    workers = a[a["child_id"].isin(set(cohort["child_id"]))].groupby("child_id")["worker_id"].nunique()
    current = cohort.sort_values("start_date").groupby("child_id")["worker_id"].last()
    teams: dict = {}
    if workforce is not None and not workforce.empty:
        in_post = workforce[(workforce["start_date"].isna() | (workforce["start_date"].fillna("") <= e))
                            & (workforce["end_date"].isna() | (workforce["end_date"].fillna("9999") > e))]
        teams = {w: t for w, t in zip(in_post["worker_id"], in_post["team"]) if isinstance(t, str) and t.strip()}
    out = pd.DataFrame({"workers": workers.loc[current.index].astype(int).to_numpy(),
                        "team": [teams.get(w, NO_TEAM) for w in current.to_numpy()]})
    return out.sort_values(["team", "workers"]).reset_index(drop=True)


def worker_band(n: int) -> str:
    return WORKER_BANDS[min(int(n), len(WORKER_BANDS)) - 1]


def worker_distribution(children: pd.DataFrame) -> pd.DataFrame:
    """Children by number of different social workers in the 12 months: ``band`` (:data:`WORKER_BANDS`,
    every band), ``children``."""
    counts = children["workers"].map(worker_band).value_counts() if not children.empty else pd.Series(dtype=int)
    return pd.DataFrame({"band": list(WORKER_BANDS), "children": [int(counts.get(b, 0)) for b in WORKER_BANDS]})


def workers_by_team(children: pd.DataFrame) -> pd.DataFrame:
    """Per team (alphabetical, "Not recorded" last): ``cohort`` children allocated, ``three_plus`` with 3 or
    more social workers, ``value`` the percentage (NaN for no children)."""
    if children.empty:
        return pd.DataFrame(columns=["team", "cohort", "three_plus", "value"])
    g = children.groupby("team")["workers"]
    out = pd.DataFrame({"cohort": g.size(), "three_plus": g.apply(lambda s: int((s >= 3).sum()))}).reset_index()
    out["value"] = [100.0 * n / d if d else math.nan for n, d in zip(out["three_plus"], out["cohort"])]
    out = out.assign(_last=out["team"] == NO_TEAM).sort_values(["_last", "team"]).drop(columns="_last")
    return out.reset_index(drop=True)


def change_reasons(allocations: pd.DataFrame, month: str) -> pd.DataFrame:
    """Changes of social worker in the 12 months W ending ``month``'s last day for the cohort's children, by
    reason in words. A change is an episode with a reason recorded, dated by its end date where it has one
    (the reason the worker changed), else its start date; it counts when that date is in W. Columns
    ``code`` (as recorded, upper case), ``reason`` (words), ``changes``; most frequent first."""
    cols = ["code", "reason", "changes"]
    if allocations is None or allocations.empty or "change_reason" not in allocations:
        return pd.DataFrame(columns=cols)
    e, w0 = month_end(month).isoformat(), window_start(month_end(month)).isoformat()
    a = allocations
    end = a["end_date"].where(a["end_date"].notna() & (a["end_date"].astype(str) != ""), None)
    cohort = set(a.loc[(a["start_date"] <= e) & (end.isna() | (end.fillna("") > e)), "child_id"])
    when = end.fillna(a["start_date"])
    reason = a["change_reason"].fillna("").astype(str).str.strip()
    hit = a[a["child_id"].isin(cohort) & (reason != "") & (when >= w0) & (when <= e)]
    if hit.empty:
        return pd.DataFrame(columns=cols)
    codes = reason[hit.index].str.upper()
    counts = codes.value_counts()
    out = pd.DataFrame({"code": counts.index, "reason": [reason_words(c) for c in counts.index],
                        "changes": counts.to_numpy().astype(int)})
    return out.sort_values(["changes", "reason"], ascending=[False, True]).reset_index(drop=True)


# --- team breakdowns at any month ----------------------------------------------------------------------

TEAM_COLUMNS = ("group", "value", "numerator", "denominator", "small", "trend")


def is_small_count(x) -> bool:
    return x is not None and x == x and 0 < float(x) < 6


def team_view(frame: pd.DataFrame, metric: str, month: str, months: int = 12) -> pd.DataFrame:
    """One KPI's team breakdown (``metrics.compute.breakdown`` by team) at ``month``: each team's value,
    numerator, denominator, ``small`` (a percentage's denominator under 10, or a count of 1 to 5: one case
    moves it a lot) and ``trend`` (its values over the ``months`` months up to ``month``, None where no data).
    Teams with data in ``month`` only; alphabetical, "Not recorded" last."""
    if frame is None or frame.empty or month not in set(frame["month"]):
        return pd.DataFrame(columns=list(TEAM_COLUMNS))
    kpi = REGISTRY[metric]
    first = month_index(month) - months + 1
    window = frame[(frame["month"] <= month) & (frame["month"] >= month_from_index(first))]  # 'YYYY-MM' sort as months
    span = sorted(set(window["month"]))
    rows = []
    now = frame[frame["month"] == month]
    by_team: dict = {}  # team → month → value (one pass: a filter per team cost the pack a second)
    for g, m, v in zip(window["group"], window["month"], window["value"]):
        by_team.setdefault(g, {})[m] = v
    for r in now.itertuples(index=False):
        mine = by_team.get(r.group, {})
        trend = [None if m not in mine or mine[m] != mine[m] else float(mine[m]) for m in span]
        small = (kpi.is_percent and r.denominator == r.denominator and 0 < r.denominator < SMALL_DENOMINATOR) \
            or (not kpi.is_percent and kpi.unit == "count" and is_small_count(r.numerator))
        rows.append((r.group, r.value, r.numerator, r.denominator, bool(small), trend))
    out = pd.DataFrame(rows, columns=list(TEAM_COLUMNS))
    out = out.assign(_last=out["group"] == NO_TEAM).sort_values(["_last", "group"]).drop(columns="_last")
    return out.reset_index(drop=True)


def team_trajectory(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    """Every team's monthly value up to ``month``, wide: one row per month, one column per team (for a
    chart of each team's own trajectory)."""
    if frame is None or frame.empty:
        return pd.DataFrame()
    upto = frame[frame["month"] <= month]
    return upto.pivot_table(index="month", columns="group", values="value", aggfunc="first").sort_index()


# --- one KPI's register at a month, from the store ------------------------------------------------------


@dataclass(frozen=True)
class Register:
    """What :func:`register_at` found for one KPI at one month (only the fields of its kind are filled)."""

    metric: str
    kind: str
    month: str
    has_data: bool  # a current upload of the kind exists for the month
    milestones: pd.DataFrame | None = None
    complaints: pd.DataFrame | None = None
    burndown: pd.DataFrame | None = None
    children: pd.DataFrame | None = None
    reasons: pd.DataFrame | None = None
    workforce_found: bool = False  # a workforce snapshot for the month gave the children's teams


def register_at(conn, metric: str, month: str, *, cutoff: dt.date, series: pd.DataFrame | None = None
                ) -> Register | None:
    """The register of ``metric`` at ``month`` from the store's current rows (None: the KPI has none).
    ``cutoff``: the historic-complaints cut-off in force; ``series``: compute_series (for the burn-down)."""
    from metrics.store import read_current

    kind = register_kind(metric)
    if kind is None:
        return None
    rows = read_current(conn, kind, first=month, last=month)
    has = bool(conn.execute("SELECT 1 FROM current_months WHERE kind = ? AND scope = '' AND month = ?",
                            (kind, month)).fetchone())
    if kind == "milestones":
        return Register(metric, kind, month, has, milestones=milestone_register(rows, tor_ref(metric), month))
    if kind == "complaints":
        burn = complaints_burndown(series if series is not None else pd.DataFrame(), cutoff, month, metric)
        return Register(metric, kind, month, has, complaints=complaints_register(rows, cutoff, month),
                        burndown=burn)
    workforce = read_current(conn, "workforce", ["worker_id", "team", "start_date", "end_date"],
                             first=month, last=month)
    return Register(metric, kind, month, has, children=worker_counts(rows, workforce, month),
                    reasons=change_reasons(rows, month), workforce_found=not workforce.empty)
