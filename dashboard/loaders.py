"""The ONE module that owns every st.cache_data. Functions take plain arguments (paths, ISO dates)
and a ``version`` — the newest audit-trail id — so any upload, restore or settings change made
anywhere (dashboard or CLI) invalidates the cache at once. Connections are opened inside.
"""

from __future__ import annotations

from contextlib import closing

import pandas as pd
import streamlit as st

from metrics import store


def db_path() -> str:
    """The store target of the council being used (``dashboard.access.current_council``): every loader is
    keyed on it, so each council's data is cached apart and no loader can read another council's store."""
    from dashboard.access import current_council

    return current_council().store


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


@st.cache_data(show_spinner=False, max_entries=32)
def kpi_sources(db: str, version: int, metric: str) -> str:
    """"Source: Annex A List 4 (CSV), 2024-01 to 2024-06; …": where the KPI's current values came from."""
    from metrics.kpis import REGISTRY
    from metrics.sources import current_sources, describe_sources

    with connect(db) as conn:
        return describe_sources(current_sources(conn, REGISTRY[metric].source_kind, metric))


@st.cache_data(show_spinner=False, max_entries=8)
def coverage(db: str, version: int) -> pd.DataFrame:
    with connect(db) as conn:
        return store.coverage(conn)


def review_needs(db: str, version: int):
    """What the next review needs (``metrics.views.next_review_needs``): checkpoint, judged month, kinds."""
    from metrics.reviews.views import latest_data_month
    from metrics.views import next_review_needs

    return next_review_needs(review_settings(db, version), latest_data_month(review_series(db, version)))


@st.cache_data(show_spinner=False, max_entries=8)
def coverage_grid(db: str, version: int) -> pd.DataFrame:
    """The coverage page's month × kind grid (``metrics.views.coverage_grid``), reaching the month the
    next review judges, with what it needs and is missing marked."""
    from metrics.views import coverage_grid as grid

    return grid(coverage(db, version), review_needs(db, version))


@st.cache_data(show_spinner=False, max_entries=8)
def audit_trail(db: str, version: int) -> pd.DataFrame:
    from metrics.audit import audit_frame

    with connect(db) as conn:
        return audit_frame(conn)


# --- reviews, review settings and the evidence log (pages/reviews.py, pages/settings.py) -------------


@st.cache_data(show_spinner=False, max_entries=8)
def review_settings(db: str, version: int):
    """The review settings in force (``metrics.reviews.ReviewSettings``; the defaults if never saved)."""
    from metrics.reviews import load_settings

    with connect(db) as conn:
        return load_settings(conn)


@st.cache_data(show_spinner=False, max_entries=8)
def review_settings_version(db: str, version: int) -> int | None:
    """Id of the saved settings version in force (None: the defaults, never saved)."""
    from metrics.reviews import latest_version_id

    with connect(db) as conn:
        return latest_version_id(conn)


@st.cache_data(show_spinner=False, max_entries=4)
def review_series(db: str, version: int) -> pd.DataFrame:
    """``compute_series`` with the review settings' historic-complaints cut-off (what reviews judge)."""
    from metrics.reviews import current_series

    with connect(db) as conn:
        return current_series(conn, review_settings(db, version))


@st.cache_data(show_spinner=False, max_entries=32)
def review(db: str, version: int, at: str):
    """The review at ISO date ``at`` (``metrics.reviews.CheckpointResult``): frozen and restated if final."""
    from metrics.reviews import review_at

    with connect(db) as conn:
        return review_at(conn, at, settings=review_settings(db, version), series=review_series(db, version))


@st.cache_data(show_spinner=False, max_entries=8)
def review_checkpoints(db: str, version: int) -> list[dict]:
    """Every configured checkpoint (and any final one no longer configured), in date order, with its
    label, six-month flag, whether it is final and whether any KPI has an actual there."""
    from metrics.reviews import final_checkpoints
    from metrics.reviews.views import checkpoint_list

    settings = review_settings(db, version)
    with connect(db) as conn:
        finals = {f["checkpoint"]: f for f in final_checkpoints(conn)}
    dates = sorted({c.date.isoformat() for c in settings.checkpoints} | set(finals))
    return checkpoint_list({d: review(db, version, d) for d in dates}, finals)


@st.cache_data(show_spinner=False, max_entries=16)
def evidence(db: str, version: int, checkpoint: str) -> list:
    """The evidence log of one checkpoint (``metrics.evidence.EvidenceEntry``), in the order written."""
    from metrics.evidence import list_entries

    with connect(db) as conn:
        return list_entries(conn, checkpoint)


@st.cache_data(show_spinner=False, max_entries=32)
def actions(db: str, version: int, checkpoint: str, metric: str | None = None, previous: str | None = None) -> list:
    """The actions a review shows (``metrics.actions.Action``, current state with history): agreed at it or
    earlier, not closed before the previous review; one KPI's, or every KPI's."""
    from metrics.actions import actions_for_review

    with connect(db) as conn:
        return actions_for_review(conn, checkpoint, metric, previous)


@st.cache_data(show_spinner=False, max_entries=8)
def settings_history(db: str, version: int) -> pd.DataFrame:
    """Every saved settings version, newest first: who, when (UTC), note, what changed in words (the first:
    from the built-in defaults) and the machine diff kept in the audit trail."""
    from metrics.reviews import settings_history as history

    with connect(db) as conn:
        rows = [{"version": v.id, "saved_at": v.saved_at, "by": v.saved_by, "note": v.note,
                 "summary": "; ".join(v.summary), "changes": "; ".join(v.changes)} for v in history(conn)]
    cols = ["version", "saved_at", "by", "note", "summary", "changes"]
    return pd.DataFrame(rows[::-1], columns=cols)


@st.cache_data(show_spinner=False, max_entries=8)
def settings_in_force(db: str, version: int) -> dict:
    """Flattened settings key → ``metrics.reviews.changes.InForce`` (since when it has held its value)."""
    from metrics.reviews import settings_history as history
    from metrics.reviews.changes import in_force_since

    with connect(db) as conn:
        return in_force_since(history(conn))


@st.cache_data(show_spinner=False, max_entries=16)
def settings_impact(db: str, version: int, new_json: str) -> tuple[list, list[str]]:
    """(every rating that would change at a non-final review with the settings ``new_json`` —
    ``metrics.reviews.impact.SettingsChange`` —, the ISO dates of the final reviews left as they are)."""
    from metrics.reviews import ReviewSettings, current_series, final_checkpoints
    from metrics.reviews.impact import settings_impact as impact

    old, new = review_settings(db, version), ReviewSettings.model_validate_json(new_json)
    with connect(db) as conn:
        finals = [f["checkpoint"] for f in final_checkpoints(conn)]
        new_series = (None if (new.historic_complaints_cutoff, new.hybrid_counts_as_face_to_face)
                      == (old.historic_complaints_cutoff, old.hybrid_counts_as_face_to_face)
                      else current_series(conn, new))
    return impact(review_series(db, version), old, new, finals, new_series=new_series), finals


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
# change or a checkpoint marked final invalidates it at once. What each page shows of a checkpoint is
# the one review model (metrics.reviews.review_board: one verdict per checkpoint; "next checkpoint" is
# explained in metrics.reviews.views).

#: The KPI detail and present pages' chart config: no plotly logo, no editing.
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def has_kpi_data(db: str, version: int) -> bool:
    return bool(review_series(db, version)["value"].notna().any())


@st.cache_data(show_spinner=False, max_entries=8)
def secondary_measures(db: str, version: int, parent: str | None = None) -> pd.DataFrame:
    """Secondary measures; with ``parent``, only that KPI's (reads only its extract kind)."""
    from metrics.compute import secondary_series

    with connect(db) as conn:
        return secondary_series(conn, parents=None if parent is None else [parent])


@st.cache_data(show_spinner=False, max_entries=32)
def kpi_breakdown(db: str, version: int, metric: str, by: str) -> pd.DataFrame:
    from metrics.compute import breakdown

    hybrid = review_settings(db, version).hybrid_counts_as_face_to_face
    with connect(db) as conn:
        return breakdown(conn, metric, by=by, hybrid_face_to_face=hybrid)


def checkpoint_reviews(db: str, version: int) -> dict:
    """ISO date → metrics.reviews.CheckpointResult for every checkpoint (final ones frozen and restated)."""
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


@st.cache_data(show_spinner=False, max_entries=64)
def published_context(metric: str, la_code: str, at: str) -> tuple[dict | None, str | None]:
    """(context, problem) for one KPI, the LA code in the review settings and the review ``at`` (ISO date),
    as known at that review (:func:`metrics.context.at_review`, the packs' rule too: reference dates on or
    before it): ``standing`` (the council's rank and quartile, a table in words), and for the workforce
    priorities ``series`` (annual turnover, vacancy and caseload), ``year`` (the latest census by the review)
    and ``neighbours`` (that year's table). ``problem`` explains an LA code the DfE files do not know."""
    from metrics import context

    try:
        known = context.at_review(metric, la_code, at)
        return {"standing": known.standing, "series": known.series, "year": known.year,
                "neighbours": known.neighbours}, None
    except (ValueError, FileNotFoundError) as e:
        return None, str(e)


def default_checkpoint(db: str, version: int) -> str:
    """ISO date of the review the pages open on: the latest checkpoint whose judged month has data
    (``metrics.reviews.views.next_checkpoint``; judgement.md section 1)."""
    from metrics.reviews.views import latest_data_month, next_checkpoint

    return next_checkpoint(review_settings(db, version), latest_data_month(review_series(db, version)))


@st.cache_data(show_spinner=False, max_entries=8)
def checkpoint_choices(db: str, version: int) -> list:
    """``metrics.reviews.views.CheckpointChoice`` for every checkpoint, in date order."""
    from metrics.reviews.views import checkpoint_choices as choices
    from metrics.reviews.views import latest_data_month

    return choices(checkpoint_reviews(db, version), review_settings(db, version),
                   latest_data_month(review_series(db, version)))


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


@st.cache_data(show_spinner=False, max_entries=16)
def kpi_board(db: str, version: int, at: str):
    """The review model at checkpoint ``at`` (ISO date): ``metrics.reviews.ReviewBoard``, one ReviewRow
    per KPI (every page formats its judgement: one verdict per checkpoint)."""
    from metrics.reviews import build_board

    return build_board(review(db, version, at), review_series(db, version), review_settings(db, version))


@st.cache_data(show_spinner=False, max_entries=48)
def kpi_chart(db: str, version: int, metric: str, large: bool = False, height: int | None = None,
              at: str | None = None):
    """The KPI's chart (:func:`reports.charts.review_chart`, the one builder the packs use too), cached:
    every checkpoint up to the next one (or ``at``, if later) from the review model (not yet final:
    "provisional"), the projection of the forecast of the review ``at`` (ISO date; None: the next
    checkpoint), published benchmarks for the LA code in the settings."""
    from metrics.kpis import REGISTRY
    from reports.charts import DASHBOARD, PRESENT, review_chart

    settings = review_settings(db, version)
    series = review_series(db, version)
    nxt = at or default_checkpoint(db, version)
    last = max(nxt, default_checkpoint(db, version))
    boards = {d: kpi_board(db, version, d) for d in checkpoint_reviews(db, version) if d <= last}
    bench, _ = published_benchmarks(metric, settings.la_code)
    style = (PRESENT if large else DASHBOARD).sized(height=height)
    return review_chart(REGISTRY[metric], series, settings, list(boards.values()), current=boards.get(nxt),
                        benchmarks=bench, style=style)


@st.cache_data(show_spinner=False, max_entries=48)
def kpi_spc_chart(db: str, version: int, metric: str, at: str, large: bool = False):
    """The KPI's SPC view at checkpoint ``at`` (:func:`reports.charts.spc_figure` of the review model's
    ``spc``: the points up to the judged month), with each month's 95% interval in the hover (percentages)
    and the target trajectory. None when the row has no chart."""
    from metrics.kpis import REGISTRY
    from reports.charts import DASHBOARD, PRESENT, spc_figure, trajectory
    from reports.tables import month_intervals

    row = kpi_board(db, version, at).row(metric)
    if row.spc is None or not row.spc.points:
        return None
    series = one_kpi_series(db, version, metric)
    lows, highs = month_intervals(series)
    intervals = {m: (lo, hi) for m, lo, hi in zip(series["month"], lows, highs) if lo is not None}
    return spc_figure(REGISTRY[metric], row.spc, series=series, intervals=intervals,
                      trajectory=trajectory(review_settings(db, version), metric),
                      style=PRESENT if large else DASHBOARD)


def iso_date(iso: str):
    from metrics.reviews.views import iso_date as parse

    return parse(iso)


@st.cache_data(show_spinner=False, max_entries=32)
def one_kpi_series(db: str, version: int, metric: str) -> pd.DataFrame:
    series = review_series(db, version)
    return series[series["metric"] == metric].reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=32)
def breakdown_view(db: str, version: int, metric: str, by: str,
                   month: str | None = None) -> tuple[str | None, pd.DataFrame]:
    """(its month, one row per group: value, numerator, denominator in that month, and its trend): at the
    latest month with data on or before ``month`` (YYYY-MM; None: the latest of all)."""
    from metrics.reviews.views import breakdown_view as view

    return view(kpi_breakdown(db, version, metric, by), by, month)


@st.cache_data(show_spinner=False, max_entries=32)
def secondary_view(db: str, version: int, metric: str) -> pd.DataFrame:
    """The secondary measures shown beside ``metric``: id, latest value and month, trend."""
    from metrics.reviews.views import secondary_view as view

    return view(secondary_measures(db, version, metric), metric)


@st.cache_data(show_spinner=False, max_entries=4)
def pack_data(db: str, version: int, at: str | None = None):
    """What a board pack or a public export needs (``reports.tables.PackData``), assembled from what the
    pages already computed: the review settings and series, the secondary measures, every breakdown and,
    with ``at``, the review model at that checkpoint and at every checkpoint up to it. Its public-mode
    decisions are computed here once, so they are cached with it."""
    from metrics.compute import BREAKDOWNS
    from reports.tables import PackData

    data = PackData(settings=review_settings(db, version), series=review_series(db, version),
                    secondary=secondary_measures(db, version),
                    breakdowns={(m, by): kpi_breakdown(db, version, m, by)
                                for m, bys in BREAKDOWNS.items() for by in bys})
    if at is not None:
        data.review = kpi_board(db, version, at)
        dates = sorted({c["checkpoint"] for c in review_checkpoints(db, version) if c["checkpoint"] <= at} | {at})
        data.history = [data.review if d == at else kpi_board(db, version, d) for d in dates]
    data.decisions  # noqa: B018 — computed now, cached with the data
    return data


@st.cache_data(show_spinner=False, max_entries=4)
def series_csv(db: str, version: int, public: bool) -> bytes:
    """Every KPI for every month, as formula-safe CSV (public: small numbers suppressed).

    The restricted file is the series the pages already hold; the public one reuses :func:`pack_data`
    (every breakdown, which suppression needs: each month is judged from all of them)."""
    from reports.tables import PackData, series_table, to_csv

    if not public:
        data = PackData(settings=review_settings(db, version), series=review_series(db, version),
                        secondary=pd.DataFrame(), breakdowns={})
        return to_csv(series_table(None, data=data))
    return to_csv(series_table(None, public=True, data=pack_data(db, version)))


# --- registers and team breakdowns at a month (metrics.registers; the KPI page) --------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def kpi_months(db: str, version: int, metric: str) -> list[str]:
    """The months the KPI has a value or a record-level upload, in order (the KPI page's month picker)."""
    s = one_kpi_series(db, version, metric)
    return [str(m) for m, src in zip(s["month"], s["source"]) if src is not None]


@st.cache_data(show_spinner=False, max_entries=32)
def kpi_register(db: str, version: int, metric: str, month: str):
    """``metrics.registers.Register`` of ``metric`` at ``month`` (None: the KPI has no register), with the
    historic-complaints cut-off of the review settings."""
    from metrics.registers import register_at

    settings = review_settings(db, version)
    with connect(db) as conn:
        return register_at(conn, metric, month, cutoff=settings.historic_complaints_cutoff,
                           series=review_series(db, version))


@st.cache_data(show_spinner=False, max_entries=32)
def team_view(db: str, version: int, metric: str, month: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(each team at ``month`` with small numbers flagged and its trend, every team's monthly values up to
    ``month``) — ``metrics.registers.team_view`` / ``team_trajectory`` of the KPI's team breakdown."""
    from metrics.registers import team_trajectory
    from metrics.registers import team_view as view

    frame = kpi_breakdown(db, version, metric, "team")
    return view(frame, metric, month), team_trajectory(frame, month)


# --- the portfolio: several councils side by side (views/portfolio.py) ---------------------------------


#: Councils whose verdicts are not cached yet are computed this many at a time: most of a council's time is
#: SQLite or PostgreSQL work, which runs outside the GIL, so two threads use both of the machine's cores.
PORTFOLIO_THREADS = 2


def council_verdicts(councils: list[tuple[str, str, str]]) -> list:
    """``reports.portfolio.CouncilVerdict`` of each council ((code, name, store) each; the caller has checked
    the user may view them) at its latest review, in order: the board the overview shows, and how fresh its
    data are. Each is cached on (store, audit version), so an upload to one council recomputes only that
    council; those not cached are computed :data:`PORTFOLIO_THREADS` at a time. Room for a portfolio of 153."""
    return [verdict for verdict, _ in _council_digests(_versioned(councils))]


def _versioned(councils) -> tuple[tuple[str, str, str, int], ...]:
    return tuple((code, name, db, data_version(db)) for code, name, db in councils)


def _council_digests(councils: tuple[tuple[str, str, str, int], ...]) -> list:
    """``_council_digest`` of each council, in order; two or more at once in a small thread pool, each thread
    carrying this script run's context (Streamlit's caches are thread-safe; a thread without the context only
    warns). Warm, every call is a cache hit."""
    if len(councils) < 2:
        return [_council_digest(*c) for c in councils]
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    with ThreadPoolExecutor(min(PORTFOLIO_THREADS, len(councils)), thread_name_prefix="portfolio",
                            initializer=lambda: add_script_run_ctx(threading.current_thread(), ctx)) as pool:
        return list(pool.map(lambda c: _council_digest(*c), councils))


@st.cache_data(show_spinner=False, max_entries=512)
def _council_digest(code: str, name: str, db: str, version: int):
    """(``CouncilVerdict``, the KPI series it judged) of one council, from one connection to its store: the
    series is computed once and shared with the comparison chart (``reports.portfolio.council_verdict``)."""
    from reports.portfolio import council_verdict as verdict

    with connect(db) as conn:
        return verdict(conn, code, name)


def portfolio_comparison(metric: str, councils: list[tuple[str, str, str]]):
    """(figure, table, problems) comparing one KPI across ``councils`` ((code, name, store) each, already
    checked for this user), with each council's published benchmarks; cached on every store's audit version.
    Each council's verdict and series are its cached digest's (:func:`council_verdicts`): nothing recomputed."""
    return _portfolio_comparison(metric, _versioned(councils))


@st.cache_data(show_spinner=False, max_entries=64)
def _portfolio_comparison(metric: str, councils: tuple[tuple[str, str, str, int], ...]):
    from reports import portfolio

    digests = _council_digests(councils)
    verdicts = [verdict for verdict, _ in digests]
    published, problems = {}, []
    for c in verdicts:
        frame, problem = published_benchmarks(metric, c.settings.la_code)
        published[c.code] = frame
        if problem:
            problems.append(f"{c.name}: {problem}")
    series = {v.code: s[s["metric"] == metric].reset_index(drop=True) for v, s in digests}
    return (portfolio.comparison_figure(metric, series, verdicts, published),
            portfolio.comparison_table(metric, verdicts, published), problems)
