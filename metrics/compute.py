"""KPI computation: the store's current uploads → one value per KPI per month (shared/spec/metrics.md).

Pure pandas + SQL. Month grouping is pushed into SQLite: every query joins the record table to the
``current_months`` pointers (so superseded uploads are never counted) and aggregates per month, so
only a few numbers per month come back to Python, however many rows the store holds.

Public API
----------
* :func:`compute_series` — every KPI (or a chosen few) for every month, with numerator, denominator,
  source (``records`` / ``figures``) and data-quality flags (:data:`FLAGS`).
* :func:`secondary_series` — the secondary measures shown beside their KPIs
  (:data:`metrics.kpis.SECONDARY`).
* :func:`breakdown` — one KPI split by team, conference format or type, or audit grade
  (:data:`BREAKDOWNS`).
* :func:`window_start` — first day of the 12-month window used by ``three_plus_social_workers``.

Readings of the spec where it is silent (also in docs/metrics.md):

* **Records win when an upload exists.** Where the KPI's extract kind has a current record-level
  upload for the month, the value comes from the records — even if they give a zero denominator
  (e.g. an event upload covering a month with no conferences: that month has *no data*, flag
  ``zero_denominator``). A ``figures`` row for the same month is then ignored: the upload is the
  authority's latest, most detailed word on that month.
* **Counts and FTE of an existing snapshot are values, even 0.** For ``permanent_team_managers``,
  ``historic_complaints_outstanding`` and ``permanent_practitioners_fte`` the denominator is not a
  count of anything, so "zero denominator → no data" cannot apply: a snapshot uploaded for the month
  with no matching rows (e.g. an empty complaints register) means the value is 0. Only a month with
  no snapshot (and no figures) has no data.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import sqlite3
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from metrics.contract import KINDS, PRACTITIONER_ROLES, QUALIFIED_ROLES
from metrics.kpis import REGISTRY, SECONDARY
from metrics.settings import get_settings
from metrics.store import record_table

SERIES_COLUMNS: tuple[str, ...] = ("metric", "month", "value", "numerator", "denominator", "source", "flags")
SECONDARY_COLUMNS: tuple[str, ...] = ("metric", "month", "value", "numerator", "denominator")
BREAKDOWN_COLUMNS: tuple[str, ...] = ("metric", "month", "group", "value", "numerator", "denominator")

SOURCE_RECORDS = "records"
SOURCE_FIGURES = "figures"

#: A percentage KPI whose denominator is below this carries the ``small_denominator`` caution.
SMALL_DENOMINATOR = 10

#: Data-quality flag codes → plain English (the order is the order flags appear in a tuple).
FLAGS: dict[str, str] = {
    "month_missing": "No data for this month: neither a record-level extract nor a figures row.",
    "zero_denominator": "The extract for this month exists but gives a zero denominator (e.g. no "
                        "conferences held), so the percentage has no value (shown as no data, never 0).",
    "small_denominator": f"Fewer than {SMALL_DENOMINATOR} in the denominator: a small-number caution, a "
                         "single case moves the percentage a lot. Percentage KPIs only.",
    "figures_sourced": "The value comes from a figures (totals) upload, not from record-level data.",
    "snapshot_stale": "The snapshot was taken before the month ended (its snapshot_date, or if none "
                      "the upload date, is before the month's last day).",
}

#: Label for records with no team recorded, in team breakdowns.
NO_TEAM = "Not recorded"

_FACE_TO_FACE_FORMATS = ("face_to_face", "hybrid")
_GOOD_GRADES = ("good", "outstanding")
FORMATS: tuple[str, ...] = tuple(KINDS["conferences"].column("format").values)
CONFERENCE_TYPES: tuple[str, ...] = tuple(KINDS["conferences"].column("conference_type").values)
GRADES: tuple[str, ...] = tuple(KINDS["audits"].column("grade").values)


# --- calendar ----------------------------------------------------------------------------------


def month_end(month: str) -> dt.date:
    """E: the last day of ``YYYY-MM``."""
    y, m = int(month[:4]), int(month[5:7])
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    ly, lm = int(last[:4]), int(last[5:7])
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def window_start(e: dt.date) -> dt.date:
    """First day of W, "the 12 months ending on E": (E minus 12 months) plus one day.

    "E minus 12 months" is calendar arithmetic on the same month one year earlier:

    * when E is a month's last day (always so for KPI months) it is that month's **last day** a
      year earlier — month ends map to month ends, as Excel's ``EOMONTH(E, -12)`` — so W is always
      exactly 12 whole calendar months: E = 2024-02-29 → W starts 2023-03-01; E = 2023-02-28 →
      2022-03-01; E = 2025-02-28 → 2024-03-01 (not 2024-02-29: 28 Feb 2025 ends February, and
      the window must not reach back into the February of the year before). This also matches the
      allocations extract, which lists episodes open "in the 12 months ending on the snapshot
      month's last day", and DfE's "during the year to 31 March" (i.e. from 1 April).
    * otherwise it is the same day of the month a year earlier, clamped to that month's length
      (E = 2024-02-28 → 2023-02-28 → W starts 2023-03-01).
    """
    y = e.year - 1
    last_then = calendar.monthrange(y, e.month)[1]
    if e.day == calendar.monthrange(e.year, e.month)[1]:
        back = dt.date(y, e.month, last_then)
    else:
        back = dt.date(y, e.month, min(e.day, last_then))
    return back + dt.timedelta(days=1)


# --- reading the store -------------------------------------------------------------------------


def _current_record_months(conn: sqlite3.Connection, first: str | None, last: str | None) -> pd.DataFrame:
    """Record-level (kind, month) pairs with a current upload: upload id and the snapshot's as-of date
    (the file's snapshot_date, else the UTC date it was uploaded)."""
    sql = ("SELECT c.kind AS kind, c.month AS month, c.upload_id AS upload_id,"
           " COALESCE(u.as_of, substr(u.uploaded_at, 1, 10)) AS as_of"
           " FROM current_months c JOIN uploads u ON u.id = c.upload_id WHERE c.scope = ''")
    params: list = []
    if first:
        sql += " AND c.month >= ?"
        params.append(first)
    if last:
        sql += " AND c.month <= ?"
        params.append(last)
    return pd.read_sql_query(sql + " ORDER BY c.kind, c.month", conn, params=params)


def _store_span(conn: sqlite3.Connection, first: str | None, last: str | None) -> list[str]:
    """Months from the earliest to the latest with any current data (any kind, figures too)."""
    lo, hi = conn.execute("SELECT MIN(month), MAX(month) FROM current_months").fetchone()
    if lo is None:
        return []
    lo = max(lo, first) if first else lo
    hi = min(hi, last) if last else hi
    return month_range(lo, hi) if lo <= hi else []


def _figures(conn: sqlite3.Connection, first: str | None, last: str | None) -> pd.DataFrame:
    """Current figures rows (the pointer's scope is the KPI id, so one KPI's file never hides another's)."""
    sql = ("SELECT r.metric AS metric, r.month AS month, r.numerator AS numerator, r.denominator AS denominator"
           " FROM current_months c JOIN rec_figures r"
           " ON r.upload_id = c.upload_id AND r.month = c.month AND r.metric = c.scope"
           " WHERE c.kind = 'figures'")
    params: list = []
    if first:
        sql += " AND c.month >= ?"
        params.append(first)
    if last:
        sql += " AND c.month <= ?"
        params.append(last)
    return pd.read_sql_query(sql, conn, params=params)


def _months_cte(cm: pd.DataFrame) -> tuple[str, list]:
    """A VALUES table ``cm(month, upload_id, e, w0)`` of one kind's current months: E and the
    12-month window start computed in Python (SQLite's date modifiers do not clamp month ends)."""
    params: list = []
    for month, upload_id in zip(cm["month"], cm["upload_id"]):
        e = month_end(month)
        params += [month, int(upload_id), e.isoformat(), window_start(e).isoformat()]
    values = ", ".join(["(?, ?, ?, ?)"] * len(cm))
    return f"cm(month, upload_id, e, w0) AS (VALUES {values})", params


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # constants from the contract, not input


_QUALIFIED = _in_list(QUALIFIED_ROLES)
_PRACTITIONER = _in_list(PRACTITIONER_ROLES)


def _group_sql(group: str | None) -> tuple[str, str]:
    """(select fragment, group-by fragment) for an optional breakdown column of the record table."""
    if group is None:
        return "", ""
    expr = f"COALESCE(r.{group}, '{NO_TEAM}')" if group == "team" else f"r.{group}"
    return f", {expr} AS grp", ", grp"


def _run(conn: sqlite3.Connection, kind: str, cm: pd.DataFrame, select: str, where: str = "",
         group: str | None = None, params: list | None = None) -> pd.DataFrame:
    cte, cte_params = _months_cte(cm)
    gsel, gby = _group_sql(group)
    sql = (f"WITH {cte} SELECT cm.month AS month{gsel}, {select}"
           f" FROM cm JOIN {record_table(kind)} r ON r.upload_id = cm.upload_id AND r.month = cm.month"
           f"{' WHERE ' + where if where else ''} GROUP BY cm.month{gby}")
    return pd.read_sql_query(sql, conn, params=cte_params + (params or []))


# Each aggregator returns one row per month (and group) with the raw counts/sums its KPIs and
# secondary measures need. Months whose upload has no matching rows are absent (filled with 0 later).

_IN_POST = "(r.start_date IS NULL OR r.start_date <= cm.e) AND (r.end_date IS NULL OR r.end_date > cm.e)"


def _agg_workforce(conn, cm, group=None, **_):
    return _run(conn, "workforce", cm, group=group, where=_IN_POST, select=(
        f"TOTAL(CASE WHEN r.role IN {_QUALIFIED} THEN r.fte END) AS qualified_fte,"
        f" TOTAL(CASE WHEN r.role IN {_QUALIFIED} AND r.agency = 1 THEN r.fte END) AS agency_fte,"
        f" TOTAL(CASE WHEN r.role IN {_PRACTITIONER} AND r.agency = 0 THEN r.fte END) AS permanent_practitioner_fte,"
        " COUNT(DISTINCT CASE WHEN r.role = 'team_manager' AND r.agency = 0 THEN r.worker_id END) AS permanent_tm,"
        " COUNT(DISTINCT CASE WHEN r.role = 'team_manager' THEN r.worker_id END) AS all_tm"))


def _agg_assessments(conn, cm, group=None, **_):
    # r.month is the month of completed_date (the event date), so "completed in M" is r.month = M.
    return _run(conn, "assessments", cm, group=group,
                select="TOTAL(r.nfa = 1) AS nfa, COUNT(*) AS assessments")


def _agg_conferences(conn, cm, group=None, **_):
    return _run(conn, "conferences", cm, group=group, select=(
        f"TOTAL(r.format IN {_in_list(_FACE_TO_FACE_FORMATS)}) AS face_to_face_or_hybrid,"
        " COUNT(*) AS conferences,"
        + ",".join(f" TOTAL(r.format = '{f}') AS format_{f}" for f in FORMATS) + ","
        + ",".join(f" TOTAL(r.conference_type = '{t}') AS type_{t}" for t in CONFERENCE_TYPES)))


def _agg_audits(conn, cm, group=None, **_):
    return _run(conn, "audits", cm, group=group, select=(
        f"TOTAL(r.grade IN {_in_list(_GOOD_GRADES)}) AS good_or_better, COUNT(*) AS audits,"
        + ",".join(f" TOTAL(r.grade = '{g}') AS grade_{g}" for g in GRADES)))


def _agg_milestones(conn, cm, group=None, **_):
    def due(ref: str) -> str:
        return f"r.tor_ref = '{ref}' AND r.due_date <= cm.e"

    def done(ref: str) -> str:
        return f"{due(ref)} AND r.completed_date IS NOT NULL AND r.completed_date <= cm.e"

    return _run(conn, "milestones", cm, group=group, select=(
        f"TOTAL({done('2b-vii')}) AS send_complete, TOTAL({due('2b-vii')}) AS send_due,"
        f" TOTAL({done('2a')}) AS plan_complete, TOTAL({due('2a')}) AS plan_due"))


def _agg_complaints(conn, cm, group=None, cutoff: dt.date | None = None, **_):
    cutoff = cutoff or get_settings().historic_complaints_cutoff
    return _run(conn, "complaints", cm, group=group, params=[cutoff.isoformat()], select=(
        "TOTAL(r.received_date < ? AND (r.closed_date IS NULL OR r.closed_date > cm.e)) AS historic_open"))


def _agg_allocations(conn, cm, group=None, **_):
    """Per snapshot month, all in SQL: the episodes overlapping W, one row per (child, worker) with
    whether any of that pair's episodes is open at E; then per child the number of distinct workers
    and cohort membership; then per month the cohort, those with 3+, and the sum of workers."""
    if group is not None:
        raise ValueError("allocations have no breakdowns")
    cte, params = _months_cte(cm)
    sql = (
        f"WITH {cte},"
        " pairs AS ("
        "  SELECT cm.month AS month, r.child_id AS child_id,"
        "   MAX(r.end_date IS NULL OR r.end_date > cm.e) AS open_at_e"
        "  FROM cm JOIN rec_allocations r ON r.upload_id = cm.upload_id AND r.month = cm.month"
        "  WHERE r.start_date <= cm.e AND (r.end_date IS NULL OR r.end_date >= cm.w0)"
        "  GROUP BY cm.month, r.child_id, r.worker_id),"
        " children AS ("
        "  SELECT month, COUNT(*) AS workers, MAX(open_at_e) AS in_cohort FROM pairs GROUP BY month, child_id)"
        " SELECT month, TOTAL(workers >= 3) AS three_plus, COUNT(*) AS cohort, TOTAL(workers) AS workers"
        " FROM children WHERE in_cohort = 1 GROUP BY month"
    )
    return pd.read_sql_query(sql, conn, params=params)


_AGGREGATORS: dict[str, Callable[..., pd.DataFrame]] = {
    "workforce": _agg_workforce,
    "assessments": _agg_assessments,
    "conferences": _agg_conferences,
    "audits": _agg_audits,
    "milestones": _agg_milestones,
    "complaints": _agg_complaints,
    "allocations": _agg_allocations,
}

#: KPI id → (aggregate column giving the numerator, aggregate column giving the denominator or None).
_KPI_PARTS: dict[str, tuple[str, str | None]] = {
    "agency_rate": ("agency_fte", "qualified_fte"),
    "permanent_practitioners_fte": ("permanent_practitioner_fte", None),
    "permanent_team_managers": ("permanent_tm", None),
    "face_to_face_conferences": ("face_to_face_or_hybrid", "conferences"),
    "assessment_nfa_rate": ("nfa", "assessments"),
    "three_plus_social_workers": ("three_plus", "cohort"),
    "audits_good_or_better": ("good_or_better", "audits"),
    "send_milestones_complete": ("send_complete", "send_due"),
    "historic_complaints_outstanding": ("historic_open", None),
    "improvement_plan_milestones_complete": ("plan_complete", "plan_due"),
}
assert set(_KPI_PARTS) == set(REGISTRY), "every declared KPI needs a computation"

#: Secondary measure id → (numerator column, denominator column or None).
_SECONDARY_PARTS: dict[str, tuple[str, str | None]] = {
    "team_manager_permanence_pct": ("permanent_tm", "all_tm"),
    "conference_format_face_to_face": ("format_face_to_face", None),
    "conference_format_hybrid": ("format_hybrid", None),
    "conference_format_virtual": ("format_virtual", None),
    "conference_initial": ("type_initial", None),
    "conference_review": ("type_review", None),
    "mean_distinct_workers": ("workers", "cohort"),
    "audits_inadequate_pct": ("grade_inadequate", "audits"),
}
assert set(_SECONDARY_PARTS) == set(SECONDARY), "every declared secondary measure needs a computation"


def _aggregates(conn, kind: str, cm_all: pd.DataFrame, *, cutoff: dt.date | None = None) -> pd.DataFrame:
    """One kind's aggregates indexed by every month it has a current upload for (0 where no rows)."""
    cm = cm_all[cm_all["kind"] == kind]
    if cm.empty:
        return pd.DataFrame(index=pd.Index([], name="month", dtype=object))
    agg = _AGGREGATORS[kind](conn, cm, cutoff=cutoff).set_index("month")
    return agg.reindex(pd.Index(cm["month"], name="month")).astype(float).fillna(0.0)


def _ratio(num: np.ndarray, den: np.ndarray, scale: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0) * scale, np.nan)


# --- the series --------------------------------------------------------------------------------


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    dtypes = {"value": float, "numerator": float, "denominator": float, "source": object, "flags": object}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, str)) for c in columns})


def _check_metrics(metrics: Iterable[str]) -> list[str]:
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in REGISTRY]
    if unknown:
        raise ValueError(f"Unknown KPI {', '.join(map(repr, unknown))}. Known: {', '.join(REGISTRY)}")
    return [m for m in REGISTRY if m in set(metrics)]  # registry order


def compute_series(
    conn: sqlite3.Connection,
    *,
    metrics: list[str] | None = None,
    first: str | None = None,
    last: str | None = None,
    historic_cutoff: dt.date | None = None,
) -> pd.DataFrame:
    """Every KPI (or ``metrics``) for every month from the earliest to the latest month with any data
    in the store, within ``first``..``last`` (``YYYY-MM``) if given.

    Columns: ``metric``, ``month``, ``value`` (float, NaN = no data), ``numerator``, ``denominator``
    (NaN for count and FTE KPIs), ``source`` (``"records"``, ``"figures"`` or None when no data) and
    ``flags`` (a tuple of :data:`FLAGS` codes). Sorted by registry order, then month.
    """
    ids = _check_metrics(metrics if metrics is not None else REGISTRY)
    grid = _store_span(conn, first, last)
    if not grid or not ids:
        return _empty(SERIES_COLUMNS)
    cutoff = historic_cutoff or get_settings().historic_complaints_cutoff
    first, last = grid[0], grid[-1]
    cm_all = _current_record_months(conn, first, last)
    kinds = {REGISTRY[m].source_kind for m in ids}
    aggs = {k: _aggregates(conn, k, cm_all, cutoff=cutoff) for k in kinds}
    as_of = {k: g.set_index("month")["as_of"] for k, g in cm_all.groupby("kind")}
    figs = _figures(conn, first, last).set_index(["metric", "month"])
    ends = [month_end(m).isoformat() for m in grid]

    frames = []
    for metric in ids:
        kpi = REGISTRY[metric]
        num_col, den_col = _KPI_PARTS[metric]
        agg = aggs[kpi.source_kind].reindex(grid)
        has_rec = agg.index.isin(aggs[kpi.source_kind].index)
        fig = (figs.xs(metric, level="metric") if metric in figs.index.get_level_values("metric")
               else pd.DataFrame(columns=["numerator", "denominator"], dtype=float)).reindex(grid)
        has_fig = fig["numerator"].notna().to_numpy() & ~has_rec

        num = np.where(has_rec, agg[num_col].to_numpy(float) if num_col in agg else np.nan,
                       fig["numerator"].to_numpy(float))
        num = np.where(has_rec | has_fig, num, np.nan)
        if den_col is None:
            den = np.full(len(grid), np.nan)
            value = num
        else:
            den = np.where(has_rec, agg[den_col].to_numpy(float) if den_col in agg else np.nan,
                           fig["denominator"].to_numpy(float))
            den = np.where(has_rec | has_fig, den, np.nan)
            value = _ratio(num, den, 100.0)

        stale_dates = as_of.get(kpi.source_kind, pd.Series(dtype=object)).reindex(grid)
        snapshot = KINDS[kpi.source_kind].period == "snapshot"
        flags = []
        for i, _m in enumerate(grid):
            f = []
            if not (has_rec[i] or has_fig[i]):
                f.append("month_missing")
            elif den_col is not None:
                if den[i] == 0:
                    f.append("zero_denominator")
                elif den[i] < SMALL_DENOMINATOR:
                    f.append("small_denominator")
            if has_fig[i]:
                f.append("figures_sourced")
            if has_rec[i] and snapshot:
                d = stale_dates.iloc[i]
                if isinstance(d, str) and d < ends[i]:
                    f.append("snapshot_stale")
            flags.append(tuple(f))
        source = np.where(has_rec, SOURCE_RECORDS, np.where(has_fig, SOURCE_FIGURES, None))
        frames.append(pd.DataFrame({
            "metric": metric,
            "month": grid,
            "value": np.asarray(value, dtype=float),
            "numerator": np.asarray(num, dtype=float),
            "denominator": np.asarray(den, dtype=float),
            "source": pd.Series(source, dtype=object),
            "flags": pd.Series(flags, dtype=object),
        }))
    out = pd.concat(frames, ignore_index=True)
    return out[list(SERIES_COLUMNS)]


def secondary_series(conn: sqlite3.Connection, first: str | None = None, last: str | None = None) -> pd.DataFrame:
    """The secondary measures (:data:`metrics.kpis.SECONDARY`) for every month their parent KPI's extract
    kind has a current record-level upload (figures carry no secondaries). Columns
    :data:`SECONDARY_COLUMNS`; sorted by the secondary registry's order, then month. Percent measures
    are numerator ÷ denominator × 100, ``mean_distinct_workers`` is numerator ÷ denominator, counts are
    the numerator (denominator NaN). A zero denominator gives NaN."""
    cm_all = _current_record_months(conn, first, last)
    kinds = {REGISTRY[s.parent].source_kind for s in SECONDARY.values()}
    aggs = {k: _aggregates(conn, k, cm_all) for k in kinds}
    frames = []
    for sid, measure in SECONDARY.items():
        agg = aggs[REGISTRY[measure.parent].source_kind]
        if agg.empty:
            continue
        num_col, den_col = _SECONDARY_PARTS[sid]
        num = agg[num_col].to_numpy(float)
        if den_col is None:
            den = np.full(len(agg), np.nan)
            value = num
        else:
            den = agg[den_col].to_numpy(float)
            value = _ratio(num, den, 100.0 if measure.unit == "percent" else 1.0)
        frames.append(pd.DataFrame({"metric": sid, "month": agg.index.to_list(), "value": value,
                                    "numerator": num, "denominator": den}))
    if not frames:
        return _empty(SECONDARY_COLUMNS)
    return pd.concat(frames, ignore_index=True)[list(SECONDARY_COLUMNS)]


# --- breakdowns --------------------------------------------------------------------------------

#: KPI id → the breakdowns it supports. ``team``: the KPI computed within each team (teams as
#: recorded; blank team → "Not recorded"). ``conference_type``: the KPI within initial and review
#: conferences. ``format`` and ``grade`` split the KPI's own classifying attribute, so each group is a
#: count: value = numerator = conferences (audits) in that format (grade), denominator = all in the
#: month; every format (grade) is listed, with 0 where none.
BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "agency_rate": ("team",),
    "permanent_practitioners_fte": ("team",),
    "permanent_team_managers": ("team",),
    "face_to_face_conferences": ("format", "conference_type"),
    "assessment_nfa_rate": ("team",),
    "audits_good_or_better": ("team", "grade"),
}


def breakdown(conn: sqlite3.Connection, metric: str, *, by: str = "team", first: str | None = None,
              last: str | None = None) -> pd.DataFrame:
    """One KPI split ``by`` a column of its extract, for every month with record-level data.

    Columns :data:`BREAKDOWN_COLUMNS`, sorted by month then group. See :data:`BREAKDOWNS` for what
    each breakdown means. Raises ``ValueError`` for an unknown KPI or an unsupported breakdown.
    """
    if metric not in REGISTRY:
        raise ValueError(f"Unknown KPI {metric!r}. Known: {', '.join(REGISTRY)}")
    supported = BREAKDOWNS.get(metric, ())
    if by not in supported:
        kind = REGISTRY[metric].source_kind
        if supported:
            raise ValueError(f"{metric} cannot be broken down by {by!r}; supported: {', '.join(supported)}.")
        raise ValueError(f"{metric} has no breakdowns: its {kind} extract has no team or category column "
                         f"to split it by. KPIs with breakdowns: {', '.join(BREAKDOWNS)}.")
    kpi = REGISTRY[metric]
    cm_all = _current_record_months(conn, first, last)
    cm = cm_all[cm_all["kind"] == kpi.source_kind]
    if cm.empty:
        return _empty(BREAKDOWN_COLUMNS)
    agg = _AGGREGATORS[kpi.source_kind](conn, cm, group=by)

    if by in ("format", "grade"):
        cats = FORMATS if by == "format" else GRADES
        count_col = "conferences" if by == "format" else "audits"
        counts = (agg.set_index(["month", "grp"])[count_col].astype(float)
                  .reindex(pd.MultiIndex.from_product([cm["month"], cats], names=["month", "grp"]), fill_value=0.0))
        totals = counts.groupby(level="month").transform("sum")
        out = pd.DataFrame({"metric": metric, "month": counts.index.get_level_values("month"),
                            "group": counts.index.get_level_values("grp"), "value": counts.to_numpy(),
                            "numerator": counts.to_numpy(), "denominator": totals.to_numpy()})
        return out[list(BREAKDOWN_COLUMNS)].reset_index(drop=True)

    if by == "conference_type":
        agg = (agg.set_index(["month", "grp"])
               .reindex(pd.MultiIndex.from_product([cm["month"], CONFERENCE_TYPES], names=["month", "grp"]),
                        fill_value=0.0).reset_index())
    num_col, den_col = _KPI_PARTS[metric]
    num = agg[num_col].to_numpy(float)
    if den_col is None:
        den = np.full(len(agg), np.nan)
        value = num
    else:
        den = agg[den_col].to_numpy(float)
        value = _ratio(num, den, 100.0)
    out = pd.DataFrame({"metric": metric, "month": agg["month"].to_numpy(object),
                        "group": agg["grp"].to_numpy(object), "value": value, "numerator": num,
                        "denominator": den})
    out = out.sort_values(["month", "group"], kind="stable").reset_index(drop=True)
    out["month"] = out["month"].astype(str)
    out["group"] = out["group"].astype(str)
    return out[list(BREAKDOWN_COLUMNS)]


def is_no_data(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
