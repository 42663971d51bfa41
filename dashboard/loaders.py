"""The ONE module that owns every st.cache_data. Functions take plain arguments (paths, ISO dates)
and a ``version`` — the newest audit-trail id — so any upload, restore or settings change made
anywhere (dashboard or CLI) invalidates the cache at once. Connections are opened inside.
"""

from __future__ import annotations

from contextlib import closing

import pandas as pd
import streamlit as st

from metrics import store
from metrics.settings import get_settings


def db_path() -> str:
    return str(get_settings().db_path)


def connect(db: str | None = None):
    """A connection that closes on leaving the ``with`` block."""
    return closing(store.connect(db or db_path()))


def data_version(db: str | None = None) -> int:
    """Cheap, uncached: changes whenever anything audited changes the store."""
    with connect(db) as conn:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])


def version() -> tuple[str, int]:
    db = db_path()
    return db, data_version(db)


@st.cache_data(show_spinner=False, max_entries=8)
def is_demo(db: str, version: int) -> bool:
    with connect(db) as conn:
        return store.is_demo(conn)


@st.cache_data(show_spinner=False, max_entries=8)
def uploads(db: str, version: int) -> pd.DataFrame:
    with connect(db) as conn:
        rows = store.list_uploads(conn)
    cols = ["id", "kind", "months", "rows", "status", "uploaded_at", "uploaded_by", "file_name", "sha256", "as_of"]
    return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)


@st.cache_data(show_spinner=False, max_entries=8)
def coverage(db: str, version: int) -> pd.DataFrame:
    with connect(db) as conn:
        return store.coverage(conn)


@st.cache_data(show_spinner=False, max_entries=8)
def audit_trail(db: str, version: int) -> pd.DataFrame:
    from metrics.audit import audit_frame

    with connect(db) as conn:
        return audit_frame(conn)


# --- reviews, review settings and the evidence log (pages/reviews.py, pages/settings.py) -------------


@st.cache_data(show_spinner=False, max_entries=8)
def review_settings(db: str, version: int):
    """The review settings in force (``metrics.review.ReviewSettings``; the defaults if never saved)."""
    from metrics.review import load_settings

    with connect(db) as conn:
        return load_settings(conn)


@st.cache_data(show_spinner=False, max_entries=8)
def review_settings_version(db: str, version: int) -> int | None:
    """Id of the saved settings version in force (None: the defaults, never saved)."""
    from metrics.review import latest_version_id

    with connect(db) as conn:
        return latest_version_id(conn)


@st.cache_data(show_spinner=False, max_entries=4)
def review_series(db: str, version: int) -> pd.DataFrame:
    """``compute_series`` with the review settings' historic-complaints cut-off (what reviews judge)."""
    from metrics.review import current_series

    with connect(db) as conn:
        return current_series(conn, review_settings(db, version))


@st.cache_data(show_spinner=False, max_entries=32)
def review(db: str, version: int, at: str):
    """The review at ISO date ``at`` (``metrics.review.CheckpointResult``): frozen and restated if final."""
    from metrics.review import review_at

    with connect(db) as conn:
        return review_at(conn, at, settings=review_settings(db, version), series=review_series(db, version))


@st.cache_data(show_spinner=False, max_entries=8)
def review_checkpoints(db: str, version: int) -> list[dict]:
    """Every configured checkpoint (and any final one no longer configured), in date order, with its
    label, six-month flag, whether it is final and whether any KPI has an actual there."""
    from metrics.review import final_checkpoints

    settings = review_settings(db, version)
    with connect(db) as conn:
        finals = {f["checkpoint"]: f for f in final_checkpoints(conn)}
    dates = sorted({c.date.isoformat() for c in settings.checkpoints} | set(finals))
    out = []
    for d in dates:
        r = review(db, version, d)
        out.append({
            "checkpoint": d, "label": r.label or f"Review – {d}", "six_month": r.six_month, "final": d in finals,
            "finalised_at": r.finalised_at, "finalised_by": r.finalised_by,
            "has_data": any(m.actual is not None for m in r.metrics), "summary": r.summary,
        })
    return out


@st.cache_data(show_spinner=False, max_entries=16)
def evidence(db: str, version: int, checkpoint: str) -> list:
    """The evidence log of one checkpoint (``metrics.evidence.EvidenceEntry``), in the order written."""
    from metrics.evidence import list_entries

    with connect(db) as conn:
        return list_entries(conn, checkpoint)


@st.cache_data(show_spinner=False, max_entries=8)
def settings_history(db: str, version: int) -> pd.DataFrame:
    """Every saved settings version, newest first, with what changed from the one before."""
    from metrics.review import settings_history as history

    with connect(db) as conn:
        rows = [{"version": v.id, "saved (UTC)": v.saved_at, "by": v.saved_by, "note": v.note,
                 "what changed": "; ".join(v.changes)} for v in history(conn)]
    cols = ["version", "saved (UTC)", "by", "note", "what changed"]
    return pd.DataFrame(rows[::-1], columns=cols)


@st.cache_data(show_spinner=False, max_entries=64)
def la_info(la_code: str) -> dict:
    """Name and region of a DfE LA code from the bundled benchmarks; ``ValueError`` if unknown."""
    from metrics.benchmarks import la_info as lookup
    from metrics.benchmarks import statistical_neighbours

    statistical_neighbours(la_code)  # raises ValueError for a code that is not a current LA
    return lookup(la_code)


# --- KPIs, reviews and benchmarks: overview, KPI detail and present pages ----------------------
#
# Council name, LA code (benchmarks follow it) and the historic-complaints cut-off come from the review
# settings stored in the database (the Settings page edits them), never only from the environment.
# Built on review_settings / review_series / review above (one computation shared with the Reviews
# page). Everything is keyed on (db, version) like the loaders above, so an upload, a restore, a settings
# change or a checkpoint marked final invalidates it at once.
#
# "Next checkpoint" (the overview's default): the first configured checkpoint dated after the last day
# of the latest month with any data. Its judged month (the month before it) usually has no data yet —
# the extracts arrive after the month ends — so until it does the board is *provisional*: each KPI's
# latest value up to that month is rated against the target at that checkpoint, with the same RAG
# rule as the review (metrics.review.rag). Past checkpoints are always shown exactly as the review
# module judges them (final ones frozen), never with a silent fall-back to older months.

from dataclasses import dataclass  # noqa: E402

#: The KPI detail and present pages' chart config: no plotly logo, no editing.
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
TREND_MONTHS = 24  # months shown in the overview's sparkline


def has_kpi_data(db: str, version: int) -> bool:
    return bool(review_series(db, version)["value"].notna().any())


def latest_data_month(series: pd.DataFrame) -> str | None:
    """The latest month in which any KPI has a value."""
    months = series.loc[series["value"].notna(), "month"]
    return str(months.max()) if len(months) else None


@st.cache_data(show_spinner=False, max_entries=8)
def secondary_measures(db: str, version: int, parent: str | None = None) -> pd.DataFrame:
    """Secondary measures; with ``parent``, only that KPI's (reads only its extract kind)."""
    from metrics.compute import secondary_series

    with connect(db) as conn:
        return secondary_series(conn, parents=None if parent is None else [parent])


@st.cache_data(show_spinner=False, max_entries=32)
def kpi_breakdown(db: str, version: int, metric: str, by: str) -> pd.DataFrame:
    from metrics.compute import breakdown

    with connect(db) as conn:
        return breakdown(conn, metric, by=by)


def checkpoint_reviews(db: str, version: int) -> dict:
    """ISO date → metrics.review.CheckpointResult for every checkpoint (final ones frozen and restated)."""
    return {c["checkpoint"]: review(db, version, c["checkpoint"]) for c in review_checkpoints(db, version)}


@st.cache_data(show_spinner=False, max_entries=64)
def published_benchmarks(metric: str, la_code: str) -> tuple[pd.DataFrame, str | None]:
    """(benchmark frame, problem) for one KPI and the LA code in the review settings. The frame is
    empty where nothing is published; ``problem`` explains an LA code the DfE files do not know."""
    from metrics.benchmarks import SERIES_COLUMNS, benchmark_series

    try:
        return benchmark_series(metric, la_code), None
    except (ValueError, FileNotFoundError) as e:
        return pd.DataFrame(columns=list(SERIES_COLUMNS)), str(e)


def next_checkpoint(settings, latest_month: str | None) -> str:
    """ISO date of the first checkpoint after the last day of ``latest_month`` (else the last one)."""
    from metrics.months import month_end

    if latest_month is None:
        return settings.checkpoints[0].date.isoformat()
    end = month_end(latest_month)
    after = [c.date for c in settings.checkpoints if c.date > end]
    return (after[0] if after else settings.checkpoints[-1].date).isoformat()


def default_checkpoint(db: str, version: int) -> str:
    return next_checkpoint(review_settings(db, version), latest_data_month(review_series(db, version)))


@dataclass(frozen=True)
class CheckpointChoice:
    at: str  # ISO date
    label: str  # the configured label, e.g. "Review 9 – Jun 2025"
    next: bool  # the default: first checkpoint after the latest data
    final: bool
    has_data: bool  # its judged month is on or before the latest month with data


@st.cache_data(show_spinner=False, max_entries=8)
def checkpoint_choices(db: str, version: int) -> list[CheckpointChoice]:
    from metrics.review import last_complete_month

    reviews = checkpoint_reviews(db, version)
    settings = review_settings(db, version)
    labels = {c.date.isoformat(): c.label for c in settings.checkpoints}
    latest = latest_data_month(review_series(db, version))
    nxt = default_checkpoint(db, version)
    out = []
    for at, r in reviews.items():
        month = last_complete_month(r.checkpoint)
        out.append(CheckpointChoice(at=at, label=labels.get(at) or r.label or at, next=at == nxt, final=r.final,
                                    has_data=latest is not None and month <= latest))
    return out


@dataclass(frozen=True)
class Board:
    """One checkpoint's view of the ten priorities: the overview table and the present page's slides.

    ``rows``: one dict per KPI in registry order — metric, value, month (the month the value is for),
    prev_value/prev_month (the month before, for st.metric deltas), target, rag (or None: no target
    set), travel (since the previous checkpoint), previous_actual, trend (list of values, oldest first),
    flags (of that month), kpi_latest_month, outlook (forecast text), final_target, final_date,
    restated, current_actual.
    """

    at: str
    label: str
    month: str  # the judged month: the last complete month before the checkpoint
    latest_month: str | None  # latest month with any data in the store
    provisional: bool  # judged month has no data yet: latest values against this checkpoint's targets
    final: bool
    previous: str | None  # ISO date of the previous checkpoint (direction of travel is judged against it)
    rows: tuple[dict, ...]

    @property
    def summary(self) -> dict[str, int]:
        counts = {"green": 0, "amber": 0, "red": 0, "no_data": 0}
        for r in self.rows:
            if r["rag"] in counts:
                counts[r["rag"]] += 1
        return counts

    def row(self, metric: str) -> dict:
        return next(r for r in self.rows if r["metric"] == metric)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


@st.cache_data(show_spinner=False, max_entries=16)
def kpi_board(db: str, version: int, at: str) -> Board:
    """The priorities at checkpoint ``at`` (ISO date; see the section comment for "provisional")."""
    from metrics.kpis import REGISTRY
    from metrics.review import direction_of_travel, last_complete_month, rag

    settings = review_settings(db, version)
    series = review_series(db, version)
    result = review(db, version, at)  # any date; a configured checkpoint is labelled, a final one frozen
    month = result.month or last_complete_month(result.checkpoint)
    latest = latest_data_month(series)
    provisional = not result.final and (latest is None or month > latest)
    rated = {m.metric: m for m in result.metrics}
    labels = {c.date.isoformat(): c.label for c in settings.checkpoints}
    rows = []
    for metric in REGISTRY:
        s = series[(series["metric"] == metric) & (series["month"] <= month)]
        with_value = s[s["value"].notna()]
        kpi_latest = str(with_value["month"].iloc[-1]) if len(with_value) else None
        m = rated.get(metric)
        t = settings.targets.get(metric)
        row = {"metric": metric, "value": None, "month": month, "target": None, "rag": None, "travel": None,
               "previous_actual": None, "outlook": None, "outlook_status": None, "restated": False,
               "current_actual": None,
               "final_target": t.end_target if t else None,
               "final_date": (t.final_date or t.points()[-1][0]).isoformat() if t else None}
        if m is not None:
            row.update(target=m.target, rag=m.rag, travel=m.direction_of_travel, previous_actual=m.previous_actual,
                       value=m.actual, restated=bool(m.restated), current_actual=m.current_actual,
                       outlook=m.forecast.text if m.forecast else None,
                       outlook_status=m.forecast.status if m.forecast else None)
            if provisional and _missing(m.actual) and not _missing(m.latest_available_value):
                row.update(value=m.latest_available_value, month=m.latest_available_month,
                           rag=rag(metric, m.latest_available_value, m.target, m.tolerance),
                           travel=direction_of_travel(metric, m.latest_available_value, m.previous_actual))
        elif provisional and kpi_latest:  # no target set: still show the latest value
            row.update(value=float(with_value["value"].iloc[-1]), month=kpi_latest)
        elif kpi_latest == month:
            row.update(value=float(with_value["value"].iloc[-1]))
        upto = s[s["month"] <= row["month"]]
        this = upto[upto["month"] == row["month"]]
        before = upto[(upto["month"] < row["month"]) & upto["value"].notna()]
        row.update(
            flags=tuple(this["flags"].iloc[0]) if len(this) else (),
            prev_value=float(before["value"].iloc[-1]) if len(before) else None,
            prev_month=str(before["month"].iloc[-1]) if len(before) else None,
            trend=_trend(upto["value"]),
            kpi_latest_month=kpi_latest,
        )
        rows.append(row)
    return Board(at=result.checkpoint.isoformat(), label=labels.get(at) or result.label or at, month=month,
                 latest_month=latest, provisional=provisional, final=result.final,
                 previous=result.previous_checkpoint.isoformat() if result.previous_checkpoint else None,
                 rows=tuple(rows))


@st.cache_data(show_spinner=False, max_entries=48)
def kpi_chart(db: str, version: int, metric: str, large: bool = False, height: int | None = None):
    """The KPI's chart (:func:`reports.charts.review_chart`, the one builder the packs use too), cached:
    every checkpoint up to the next one from the review model (the next one "provisional" while its month
    has no data), the projection of the next checkpoint's forecast, published benchmarks for the LA code
    in the settings."""
    from metrics.kpis import REGISTRY
    from metrics.reviews import build_board
    from reports.charts import DASHBOARD, PRESENT, review_chart

    settings = review_settings(db, version)
    series = review_series(db, version)
    nxt = default_checkpoint(db, version)
    boards = {at: build_board(r, series, settings) for at, r in checkpoint_reviews(db, version).items()
              if at <= nxt}
    bench, _ = published_benchmarks(metric, settings.la_code)
    style = (PRESENT if large else DASHBOARD).sized(height=height)
    return review_chart(REGISTRY[metric], series, settings, list(boards.values()), current=boards.get(nxt),
                        benchmarks=bench, style=style)


def iso_date(iso: str):
    import datetime as dt

    return dt.date.fromisoformat(str(iso)[:10])


@st.cache_data(show_spinner=False, max_entries=32)
def one_kpi_series(db: str, version: int, metric: str) -> pd.DataFrame:
    series = review_series(db, version)
    return series[series["metric"] == metric].reset_index(drop=True)


def _trend(values: pd.Series) -> list[float] | None:
    """The last TREND_MONTHS values for a LineChartColumn sparkline; months without a value are left
    out (the column cannot draw gaps); None when there is nothing to draw."""
    out = [round(float(v), 2) for v in values.tail(TREND_MONTHS) if v == v and v is not None]
    return out or None


@st.cache_data(show_spinner=False, max_entries=32)
def breakdown_view(db: str, version: int, metric: str, by: str) -> tuple[str | None, pd.DataFrame]:
    """(latest month, one row per group: value, numerator, denominator in that month, and its trend)."""
    frame = kpi_breakdown(db, version, metric, by)
    cols = ["group", "value", "numerator", "denominator", "trend"]
    if frame.empty:
        return None, pd.DataFrame(columns=cols)
    latest = str(frame["month"].max())
    groups = sorted(frame["group"].unique(), key=str)
    if by in ("format", "grade", "conference_type"):  # contract order, not alphabetical
        from metrics.compute import CONFERENCE_TYPES, FORMATS, GRADES

        order = {"format": FORMATS, "grade": GRADES, "conference_type": CONFERENCE_TYPES}[by]
        groups = [g for g in order if g in set(groups)] + [g for g in groups if g not in order]
    now = frame[frame["month"] == latest].set_index("group")
    rows = []
    for g in groups:
        hist = frame[frame["group"] == g].set_index("month")["value"].reindex(sorted(frame["month"].unique()))
        cur = now.loc[g] if g in now.index else None
        rows.append({"group": g,
                     "value": None if cur is None else cur["value"],
                     "numerator": None if cur is None else cur["numerator"],
                     "denominator": None if cur is None else cur["denominator"],
                     "trend": _trend(hist)})
    return latest, pd.DataFrame(rows, columns=cols)


@st.cache_data(show_spinner=False, max_entries=32)
def secondary_view(db: str, version: int, metric: str) -> pd.DataFrame:
    """The secondary measures shown beside ``metric``: id, latest value and month, trend."""
    from metrics.kpis import SECONDARY

    sec = secondary_measures(db, version, metric)
    rows = []
    for sid, measure in SECONDARY.items():
        if measure.parent != metric:
            continue
        s = sec[(sec["metric"] == sid)].sort_values("month")
        have = s[s["value"].notna()]
        rows.append({"id": sid, "value": float(have["value"].iloc[-1]) if len(have) else None,
                     "month": str(have["month"].iloc[-1]) if len(have) else None, "trend": _trend(s["value"])})
    return pd.DataFrame(rows, columns=["id", "value", "month", "trend"])


@st.cache_data(show_spinner=False, max_entries=4)
def series_csv(db: str, version: int, public: bool) -> bytes:
    """Every KPI for every month, as formula-safe CSV (public: small numbers suppressed).

    The restricted file is the series the pages already hold; only the public one reads every
    breakdown, which suppression needs (each month is judged from all of them)."""
    from reports.tables import PackData, series_table, to_csv

    if not public:
        data = PackData(settings=review_settings(db, version), series=review_series(db, version),
                        secondary=pd.DataFrame(), breakdowns={})
        return to_csv(series_table(None, data=data))
    with connect(db) as conn:
        return to_csv(series_table(conn, public=True))
