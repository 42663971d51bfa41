"""Small render_* helpers shared by pages. Text is rendered as text: never unsafe HTML."""

from __future__ import annotations

import datetime as dt
import re

import streamlit as st

from dashboard import loaders


def uk_month(month: str) -> str:
    """'2023-06' -> 'Jun 2023'."""
    return dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


def uk_date(iso: str | dt.date) -> str:
    d = dt.date.fromisoformat(str(iso)[:10]) if not isinstance(iso, dt.date) else iso
    return f"{d.day} {d.strftime('%b %Y')}"


def render_demo_notice() -> None:
    db, v = loaders.version()
    if loaders.is_demo(db, v):
        st.info("Synthetic demo data — invented for demonstration. No real child, worker or case is shown.",
                icon=":material/science:")


def render_empty_store() -> None:
    st.info("No data yet. Upload the monthly extracts on the Upload page (or build the demo store with "
            "`kpi demo`).", icon=":material/inbox:")


def stop_unless_kpi_data(db: str, version: int, title: str | None = None) -> None:
    """The KPI pages' guard: with no KPI data yet, say so (under ``title``) and stop the page."""
    if loaders.has_kpi_data(db, version):
        return
    if title:
        st.title(title)
    render_empty_store()
    st.stop()


def export_button(label: str, data: bytes, file_name: str, what: str, *, mime: str = "text/csv",
                  key: str | None = None, **kwargs) -> None:
    """A download button whose click is recorded in the audit trail as an export."""
    from dashboard import access
    from metrics.audit import record_now

    def _record() -> None:
        ident = access.current_identity()
        with loaders.connect() as conn:
            record_now(conn, ident.label if ident else "unknown", "export", what, {"file": file_name},
                       role=ident.role.name if ident and ident.role else "")

    st.download_button(label, data, file_name=file_name, mime=mime, key=key, on_click=_record, **kwargs)


# --- reviews: words with every icon (never colour alone), user text never as markdown -----------------

# RAG_TEXT, travel_text and plain() (user text made inert in markdown) are defined once, further down.


def uk_datetime(iso: str | None) -> str:
    """'2025-06-03T10:04:00Z' -> '3 Jun 2025, 10:04 UTC'."""
    if not iso:
        return ""
    t = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    return f"{uk_date(t.date())}, {t.strftime('%H:%M')} UTC"


def forecast_text(fc) -> str:
    """A ``metrics.forecast.Forecast`` as the review table says it: 'on trend: Aug 2025', …"""
    if fc is None:
        return "–"
    if fc.status == "on_trend" and fc.month:
        return f"on trend: {uk_month(fc.month)}"
    return {"already_met": "already met", "not_on_trend": "not on current trend",
            "insufficient_data": "insufficient data"}.get(fc.status, fc.status)


def overall_line(result) -> str:
    s = result.summary
    return (f"{s['green']} green, {s['amber']} amber, {s['red']} red, {s['no_data']} no data — "
            "is sufficient progress being made?")


def _review_note(m) -> str:
    from metrics.kpis import get as get_kpi

    k, notes = get_kpi(m.metric), []
    if m.restated:
        notes.append(f"restated: was {k.format(m.actual)}, now {k.format(m.current_actual)}"
                     f" ({RAG_TEXT.get(m.current_rag or 'no_data', '')[2:].lower()} today)")
    if m.actual is None:
        notes.append(f"no data for {uk_month(m.actual_month)}; latest {uk_month(m.latest_available_month)}: "
                     f"{k.format(m.latest_available_value)}" if m.latest_available_month
                     else f"no data for {uk_month(m.actual_month)}")
    return "; ".join(notes)


def review_frame(result):
    """The review table as shown: one row per rated KPI, every cell text (units differ by row)."""
    import pandas as pd

    from metrics.kpis import get as get_kpi

    rows = []
    for m in result.metrics:
        k = get_kpi(m.metric)
        rows.append({
            "KPI": m.label, "ToR": k.tor, "Actual": k.format(m.actual), "Month": uk_month(m.actual_month),
            "Target": k.format(m.target), "RAG": RAG_TEXT[m.rag], "Direction of travel": travel_text(m.direction_of_travel),
            "Forecast (final target)": f"{forecast_text(m.forecast)} ({k.format(m.final_target)})",
            "Note": _review_note(m),
        })
    cols = ["KPI", "ToR", "Actual", "Month", "Target", "RAG", "Direction of travel", "Forecast (final target)", "Note"]
    return pd.DataFrame(rows, columns=cols)


def review_export_frame(result):
    """The review table for CSV export: numbers as numbers, with the checkpoint's context on each row."""
    import pandas as pd

    from metrics.kpis import get as get_kpi

    rows = []
    for m in result.metrics:
        k = get_kpi(m.metric)
        rows.append({
            "checkpoint": result.checkpoint.isoformat(), "label": result.label or "", "final": result.final,
            "finalised_at": result.finalised_at or "", "finalised_by": result.finalised_by or "",
            "kpi_id": m.metric, "kpi": m.label, "tor": k.tor, "unit": m.unit, "better": m.direction,
            "actual_month": m.actual_month, "actual": m.actual, "target": m.target, "tolerance": m.tolerance,
            "rag": m.rag, "direction_of_travel": m.direction_of_travel or "",
            "previous_month": m.previous_month or "", "previous_actual": m.previous_actual,
            "final_target": m.final_target, "forecast": forecast_text(m.forecast),
            "restated": m.restated, "actual_now": m.current_actual if result.final else m.actual,
            "note": _review_note(m),
        })
    return pd.DataFrame(rows)


def validation_problems(error: Exception) -> list[str]:
    """A pydantic ``ValidationError`` (or any error) as readable lines naming the field:
    'targets → agency_rate → tolerance: must be ≥ 0'. List positions count from 1 (table rows)."""
    if not hasattr(error, "errors"):
        return [str(error)]
    out = []
    for e in error.errors():
        loc = [f"row {p + 1}" if isinstance(p, int) else str(p) for p in e.get("loc", ())]
        ctx, kind = e.get("ctx") or {}, e.get("type", "")
        msg = {
            "greater_than_equal": f"must be ≥ {ctx.get('ge')}", "greater_than": f"must be > {ctx.get('gt')}",
            "less_than_equal": f"must be ≤ {ctx.get('le')}", "less_than": f"must be < {ctx.get('lt')}",
            "missing": "is required", "string_too_short": "must not be blank",
        }.get(kind, str(e.get("msg", "")).removeprefix("Value error, "))
        for part in msg.split("; "):
            out.append(f"{' → '.join(loc)}: {part}" if loc else part)
    return out


def render_evidence_entry(entry) -> None:
    """One evidence entry: the body as plain text (never markdown/HTML), then who and when."""
    with st.container(border=True):
        st.text(entry.body)
        meta = [f"#{entry.id}", entry.author, uk_datetime(entry.created_at)]
        if entry.edited_at:
            meta.append(f"edited {uk_datetime(entry.edited_at)} by {entry.edited_by}")
        if entry.corrects:
            meta.append(f"correction of #{entry.corrects}")
        if entry.corrected_by:
            meta.append("corrected by " + ", ".join(f"#{i}" for i in entry.corrected_by))
        st.caption(plain(" · ".join(meta)))


# --- KPI display: overview, KPI detail and present pages -----------------------------------------
# RAG is always a word with an icon, never colour alone; direction of travel is judged in each KPI's
# declared direction (metrics.kpis), so ▲ always means better.

# Shapes as well as words and colour (never colour alone); glyphs every system font has, emoji-free.
RAG_TEXT = {"green": "● Green", "amber": "◆ Amber", "red": "✖ Red", "no_data": "○ No data"}
NO_TARGET = "— No target set"
TRAVEL_TEXT = {"improving": "▲ Improving", "worsening": "▼ Worsening", "no_change": "▶ No change"}
NOT_KNOWN = "– Not known"
#: Data-quality flags (metrics.compute.FLAGS) in a few plain words for tables.
FLAG_WORDS = {
    "month_missing": "no data for the month",
    "zero_denominator": "none in the month",
    "small_denominator": "small numbers",
    "figures_sourced": "from monthly totals",
    "snapshot_stale": "snapshot taken before month end",
}
BREAKDOWN_TITLES = {"team": "By team", "format": "By conference format",
                    "conference_type": "Initial and review conferences", "grade": "By audit grade"}


WORD_JOINER = "\u2060"  # invisible, not a space: "http:⁠//x" is not a URL to the autolinker
_AUTOLINK_SEAMS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def plain(text: object) -> str:
    """User-provided text made inert for Streamlit markdown (titles, captions, alerts): every ASCII
    punctuation character is backslash-escaped, so no link, image, emphasis, directive or HTML can come
    from it; and an invisible word joiner goes into every "://", "www." and before every "@", because
    the autolinker (GFM autolink literals) runs on the text after escapes are resolved and would still
    make bare URLs and addresses into links. What the reader sees is the text as typed."""
    seamed = _AUTOLINK_SEAMS.sub(WORD_JOINER, str(text))
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|:~$&\"'=/%@^;?," else c for c in seamed)


def rag_text(rag: str | None) -> str:
    return RAG_TEXT.get(rag, NO_TARGET) if rag is not None else NO_TARGET


def travel_text(travel: str | None) -> str:
    return TRAVEL_TEXT.get(travel, NOT_KNOWN) if travel is not None else NOT_KNOWN


def fmt(metric: str, value) -> str:
    """UK display of a KPI value: 54.9%, 61.5 FTE, 1,234; "no data" when missing."""
    from metrics.kpis import REGISTRY

    return REGISTRY[metric].format(None if value is None else float(value))


def month_list(months: list[str]) -> str:
    """['2023-01','2023-02','2023-03','2023-06'] -> 'Jan 2023 – Mar 2023, Jun 2023'."""
    from metrics.forecast import month_index

    out, run = [], []
    for m in sorted(months):
        if run and month_index(m) != month_index(run[-1]) + 1:
            out.append(run)
            run = []
        run.append(m)
    if run:
        out.append(run)
    return ", ".join(uk_month(r[0]) if len(r) == 1 else f"{uk_month(r[0])} – {uk_month(r[-1])}" for r in out)


def checkpoint_picker(key: str, *, label: str = "Review checkpoint", width: int | str = 460) -> str:
    """A selectbox of the configured checkpoints; default = the next one (see loaders.default_checkpoint)."""
    db, v = loaders.version()
    choices = loaders.checkpoint_choices(db, v)
    ats = [c.at for c in choices]
    by_at = {c.at: c for c in choices}
    default = loaders.default_checkpoint(db, v)

    def describe(at: str) -> str:
        c = by_at[at]
        notes = (["next"] if c.next else []) + (["final"] if c.final else []) + (
            [] if c.has_data else ["provisional"] if c.next else ["no data yet"])
        return c.label + (f" ({', '.join(notes)})" if notes else "")

    return st.selectbox(label, ats, index=ats.index(default) if default in ats else len(ats) - 1,
                        format_func=describe, key=key, width=width)


def board_headline(board) -> str:
    """'At the Sep 2024 review: 6 green, 2 amber, 1 red, 1 no data' (fits one h2 line at 1366 px)."""
    s = board.summary
    return (f"At the {uk_month(board.at[:7])} review: {s['green']} green, {s['amber']} amber, {s['red']} red, "
            f"{s['no_data']} no data")


def board_status(board) -> str | None:
    """The one line that must sit under the headline: provisional or final."""
    if board.provisional:
        latest = uk_month(board.latest_month) if board.latest_month else "none"
        return (f"**Provisional** — the {uk_date(board.at)} review judges {uk_month(board.month)}, which has no data "
                f"yet: each priority's latest value (newest data: {latest}) is rated against the {uk_date(board.at)} "
                "target.")
    if board.final:
        return "**Final** — this review was marked final: its ratings are frozen as presented."
    return None


def board_explanation(board) -> str:
    prev = f"the {uk_month(board.previous[:7])} review" if board.previous else "the previous review"
    return (f"The {uk_date(board.at)} review judges {uk_month(board.month)}, the last complete month before it, against "
            "the target trajectory in the review settings. The default review is the next one: the first checkpoint "
            f"after the latest month with data. Direction of travel compares with {prev}, in each measure's better "
            "direction (▲ = better).")


RAG_TINT = {"green": "#d4ecdc", "amber": "#fbe6c6", "red": "#f6d5d8", "no_data": "#e8eaeb"}  # text stays #0b0c0c


def board_notes(board) -> list[str]:
    """Data notes per priority, in plain words (flags of the month shown, stale data, restatements)."""
    out = []
    for r in board.rows:
        notes = [FLAG_WORDS.get(f, f) for f in r["flags"] if f != "month_missing"]
        if not r["kpi_latest_month"]:
            notes.append("no data yet")
        elif r["kpi_latest_month"] != r["month"]:
            notes.append(f"latest data {uk_month(r['kpi_latest_month'])}")
        elif board.provisional and board.latest_month and r["kpi_latest_month"] < board.latest_month:
            notes.append(f"no {uk_month(board.latest_month)} data yet")
        if r["restated"]:
            notes.append(f"restated since final: now {fmt(r['metric'], r['current_actual'])}")
        out.append("; ".join(notes))
    return out


def board_frame(board):
    """The overview table: one row per ToR priority, every value already in UK display form."""
    import pandas as pd

    from metrics.kpis import REGISTRY

    rows = []
    for r, notes in zip(board.rows, board_notes(board)):
        kpi = REGISTRY[r["metric"]]
        rows.append({
            "ToR": kpi.tor, "Priority": kpi.label, "Value": fmt(r["metric"], r["value"]),
            "Month": uk_month(r["month"]), "Target": fmt(r["metric"], r["target"]) if r["rag"] else "—",
            "RAG": rag_text(r["rag"]), "Since last review": travel_text(r["travel"]), "Trend": r["trend"],
            "Data notes": notes or "✓ none",
        })
    return pd.DataFrame(rows)


def render_board(board, *, key: str = "board") -> str | None:
    """The overview table (RAG as word, icon and cell tint); returns the KPI id of a row the user
    selected, to open its detail."""
    from metrics.kpis import REGISTRY

    frame = board_frame(board)
    tints = {rag_text(k): v for k, v in RAG_TINT.items()}
    styled = frame.style.map(lambda v: f"background-color: {tints[v]}; color: #0b0c0c" if v in tints else "",
                             subset=["RAG"])
    event = st.dataframe(
        styled, hide_index=True, width="stretch", key=key, on_select="rerun", selection_mode="single-row",
        column_config={
            "ToR": st.column_config.TextColumn("ToR", width=50, help="Terms of Reference paragraph"),
            "Priority": st.column_config.TextColumn("Priority", width=292),
            "Value": st.column_config.TextColumn("Value", width=72, help="The value judged at this review (if "
                                                 "provisional: the latest value)"),
            "Month": st.column_config.TextColumn("Month", width=74, help="The month the value is for"),
            "Target": st.column_config.TextColumn("Target", width=80,
                                                  help=f"The trajectory target at the {uk_date(board.at)} review"),
            "RAG": st.column_config.TextColumn("RAG", width=84, help="Green: meets the target; amber: misses it "
                                               "by no more than the tolerance; red: misses it by more; no data."),
            "Since last review": st.column_config.TextColumn("Since last review", width=112, help="▲ better, "
                                                             "▼ worse, ▶ no change, in each measure's better "
                                                             "direction"),
            "Trend": st.column_config.LineChartColumn(f"Last {loaders.TREND_MONTHS} months", width=100),
            "Data notes": st.column_config.TextColumn("Data notes", width="medium", help="Small numbers: fewer "
                                                      "than 10 in the denominator. From monthly totals: no "
                                                      "record-level data for the month."),
        },
    )
    rows = event.selection.rows if event is not None else []
    return list(REGISTRY)[rows[0]] if rows else None


def render_board_notes(board) -> None:
    """The data notes under the table too, so a narrow screen never hides them."""
    from metrics.kpis import REGISTRY

    notes = [f"{REGISTRY[r['metric']].label}: {n}" for r, n in zip(board.rows, board_notes(board)) if n]
    st.caption("Data notes — " + (" · ".join(notes) if notes else "none: every value shown comes from "
                                  "record-level extracts with enough cases."))


def open_kpi(metric: str) -> None:
    """Go to the KPI detail page for ``metric`` (also kept in session state and the URL)."""
    st.session_state["kpi"] = metric
    st.switch_page("views/kpi.py", query_params={"kpi": metric})


def kpi_picker(key: str = "kpi_pick") -> str:
    """KPI selectbox; the default comes from ?kpi= (or the last KPI opened), and the choice is written
    back to the URL so the page can be bookmarked and shared."""
    from metrics.kpis import REGISTRY

    ids = list(REGISTRY)
    wanted = st.query_params.get("kpi") or st.session_state.get("kpi")
    choice = st.selectbox("Priority", ids, index=ids.index(wanted) if wanted in ids else 0, key=key, width=480,
                          format_func=lambda k: f"{REGISTRY[k].tor} — {REGISTRY[k].label}")
    if st.query_params.get("kpi") != choice:
        st.query_params["kpi"] = choice
    st.session_state["kpi"] = choice
    return choice


def _delta(metric: str, now, before) -> tuple[str | None, bool]:
    """("+1.2 pts", is_zero) — the change shown under st.metric, in the KPI's unit, rounded for display."""
    from metrics.kpis import REGISTRY

    if now is None or before is None:
        return None, False
    unit = REGISTRY[metric].unit
    digits = 0 if unit == "count" else 1
    d = round(float(now) - float(before), digits)
    suffix = {"percent": " pts", "fte": " FTE", "count": ""}[unit]
    return ("-" if d < 0 else "+") + f"{abs(d):,.{digits}f}{suffix}", d == 0


def render_kpi_headline(board, metric: str) -> None:
    """Four tiles: latest value (delta vs the month before, coloured by the KPI's direction), the
    target at the review, its RAG with the direction of travel, and the final target's outlook."""
    from metrics.kpis import REGISTRY

    kpi = REGISTRY[metric]
    r = board.row(metric)
    when = uk_month(board.at[:7])
    c1, c2, c3, c4 = st.columns(4)
    delta, unchanged = _delta(metric, r["value"], r["prev_value"])
    if delta and unchanged:
        delta = "no change"
    c1.metric(f"Value, {uk_month(r['month'])}", fmt(metric, r["value"]),
              delta=f"{delta} vs {uk_month(r['prev_month'])}" if delta else None,
              delta_color="off" if unchanged else "normal" if kpi.higher_is_better else "inverse",
              delta_arrow="off" if unchanged else "auto",
              help=f"{'Higher' if kpi.higher_is_better else 'Lower'} is better.", border=True)
    c2.metric(f"Target, {when} review", fmt(metric, r["target"]) if r["rag"] else "No target set",
              help=f"The trajectory target on {uk_date(board.at)} (review settings).", border=True)
    travel = r["travel"]
    c3.metric(f"RAG, {when} review", rag_text(r["rag"]),
              help=(f"Provisional: {uk_month(board.month)} has no data yet, so the latest value is rated against "
                    "the target." if board.provisional else f"The {uk_month(board.month)} value against the target.")
              + (f" Direction of travel: since the {uk_month(board.previous[:7])} review." if board.previous else ""),
              delta=travel_text(travel) if travel else None, delta_arrow="off",
              delta_color={"improving": "normal", "worsening": "inverse"}.get(travel, "off"), border=True)
    if r["final_target"] is not None:
        c4.metric(f"Final target, {uk_month(r['final_date'][:7])}", fmt(metric, r["final_target"]),
                  delta=(r["outlook"] or "").replace("on trend to meet by", "on trend, met by") or None,
                  delta_arrow="off", border=True,
                  delta_color={"on_trend": "normal", "already_met": "normal", "not_on_trend": "inverse"}.get(
                      r["outlook_status"], "off"),
                  help="Projection: a straight line through the last 6 monthly values.")


def render_flag_notes(db: str, v: int, metric: str) -> None:
    """Months with data-quality flags, in plain words."""
    from metrics.compute import FLAGS

    series = loaders.one_kpi_series(db, v, metric)
    found = False
    for code, words in FLAGS.items():
        months = [m for m, f in zip(series["month"], series["flags"]) if code in tuple(f)]
        if months:
            found = True
            st.caption(f"**{FLAG_WORDS.get(code, code).capitalize()}** — {month_list(months)}. {words}")
    if not found:
        st.caption("No data-quality notes: every month comes from record-level extracts with enough cases.")


def render_benchmark_note(metric: str, la_code: str) -> None:
    from metrics.benchmarks import BENCHMARKED_METRICS

    frame, problem = loaders.published_benchmarks(metric, la_code)
    if problem:
        st.caption(f"No published benchmarks shown: {plain(problem)}")
        return
    src = BENCHMARKED_METRICS.get(metric)
    if src is None or frame.empty:
        st.caption("No published national benchmark exists for this measure.")
        return
    series = ", ".join(dict.fromkeys(frame["series"]))
    st.caption(f"Published benchmarks ({src.publisher}, {src.licence}), measured at {src.measured_at}: "
               f"{plain(series)}. {src.caveat}")


def render_breakdowns(db: str, v: int, metric: str) -> None:
    from metrics.compute import BREAKDOWNS

    bys = BREAKDOWNS.get(metric, ())
    if not bys:
        return
    st.header("Breakdowns", anchor=False)
    for col, by in zip(st.columns(len(bys)), bys):
        with col:
            month, frame = loaders.breakdown_view(db, v, metric, by)
            st.markdown(f"**{BREAKDOWN_TITLES.get(by, by)}**" + (f" — {uk_month(month)}" if month else ""))
            if frame.empty:
                st.caption("No record-level data to break down.")
                continue
            st.dataframe(_breakdown_display(metric, by, frame), hide_index=True, width="stretch",
                         column_config={"Trend": st.column_config.LineChartColumn(
                             f"Last {loaders.TREND_MONTHS} months", width="small")})


def _breakdown_display(metric: str, by: str, frame):
    import pandas as pd

    from metrics.kpis import REGISTRY

    kpi = REGISTRY[metric]
    rows = []
    for r in frame.itertuples(index=False):
        name = str(r.group).replace("_", " ").capitalize() if by != "team" else str(r.group)
        if by in ("format", "grade"):  # a count of the month's conferences/audits in that group
            share = "" if not r.denominator else f" ({100 * r.numerator / r.denominator:.1f}%)"
            value, of = f"{r.value:,.0f}{share}" if r.value == r.value and r.value is not None else "no data", \
                f"{r.denominator:,.0f}" if r.denominator == r.denominator and r.denominator is not None else ""
            rows.append({"Group": name, "Number (share)": value, "Of": of, "Trend": r.trend})
        else:
            value = kpi.format(None if r.value is None or r.value != r.value else float(r.value))
            detail = ""
            if kpi.unit == "percent" and r.denominator == r.denominator and r.denominator:
                detail = f"{r.numerator:,.1f} of {r.denominator:,.1f}".replace(".0 ", " ").removesuffix(".0")
            rows.append({"Group": name, "Value": value, "Numbers": detail, "Trend": r.trend})
    return pd.DataFrame(rows)


def render_secondary(db: str, v: int, metric: str) -> None:
    import pandas as pd

    from metrics.kpis import SECONDARY

    frame = loaders.secondary_view(db, v, metric)
    if frame.empty:
        return
    st.header("Shown beside it", anchor=False)
    rows = [{"Measure": SECONDARY[r.id].label, "Value": SECONDARY[r.id].format(r.value),
             "Month": uk_month(r.month) if r.month else "—", "Trend": r.trend}
            for r in frame.itertuples(index=False)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"Trend": st.column_config.LineChartColumn(f"Last {loaders.TREND_MONTHS} months")})
    st.caption(" ".join(f"{SECONDARY[i].label}: {SECONDARY[i].definition}" for i in frame["id"]))


def render_monthly_table(db: str, v: int, metric: str) -> None:
    import pandas as pd

    from metrics.kpis import REGISTRY

    kpi = REGISTRY[metric]
    s = loaders.one_kpi_series(db, v, metric)

    def num(x) -> str:
        return "" if x is None or x != x else f"{x:,.1f}".removesuffix(".0")

    rows = [{"Month": uk_month(r.month), "Value": kpi.format(None if r.value != r.value else r.value),
             "Numerator": num(r.numerator), "Denominator": num(r.denominator),
             "Source": {"records": "record-level extract", "figures": "monthly totals"}.get(r.source, "—"),
             "Notes": "; ".join(FLAG_WORDS.get(f, f) for f in r.flags)}
            for r in s.iloc[::-1].itertuples(index=False)]
    with st.expander(f"Monthly figures ({len(rows)} months)"):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def present_position(n: int, key: str = "present_i") -> int:
    """Previous / Next buttons (wrapping round) and "3 of 10"; returns the 0-based position."""
    from metrics.kpis import REGISTRY

    if key not in st.session_state:
        wanted = st.query_params.get("kpi") or st.session_state.get("kpi")
        st.session_state[key] = list(REGISTRY).index(wanted) if wanted in REGISTRY else 0

    def step(by: int) -> None:
        st.session_state[key] = (st.session_state[key] + by) % n

    c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="center")
    c1.button("◀ Previous", on_click=step, args=(-1,), key=f"{key}-prev", width="stretch")
    i = st.session_state[key]
    c2.markdown(f"**{i + 1} of {n}** · ToR {list(REGISTRY.values())[i].tor}", text_alignment="center")
    c3.button("Next ▶", on_click=step, args=(1,), key=f"{key}-next", width="stretch")
    return i


def render_slide(board, metric: str) -> None:
    """One priority in projector type: value, target, RAG word and direction of travel, each a big h2
    under a short label (headings h1 → h2 only)."""
    from metrics.kpis import REGISTRY

    kpi = REGISTRY[metric]
    r = board.row(metric)
    st.title(kpi.label, anchor=False, help=kpi.priority)
    when = uk_month(board.at[:7])
    tiles = (
        (uk_month(r["month"]), fmt(metric, r["value"])),
        (f"Target, {when} review", fmt(metric, r["target"]) if r["rag"] else "None set"),
        ("Rating" + (" (provisional)" if board.provisional else ""), rag_text(r["rag"])),
        (f"Since {uk_month(board.previous[:7])} review" if board.previous else "Direction of travel",
         travel_text(r["travel"])),
    )
    for col, (label, big) in zip(st.columns([1, 1, 1, 1.15]), tiles):
        col.markdown(f"**{label}**")
        col.markdown(f"## {big}")
    st.caption(f"At the {uk_date(board.at)} review" + (f" — provisional: {uk_month(board.month)} has no data yet, so "
               "the latest value is rated against this review's target" if board.provisional else "")
               + f". {'Higher' if kpi.higher_is_better else 'Lower'} is better; ▲ means better.")


def render_boardpack_downloads(at: dt.date | str, label: str) -> None:
    """Prepare the board pack for this checkpoint on request (it takes a few seconds), then offer it.

    Built into a temporary file that is read and deleted at once: the pack is held in memory only.
    Every pack prepared is recorded in the audit trail (by reports.boardpack).
    """
    import tempfile
    from pathlib import Path

    from dashboard import access

    at = dt.date.fromisoformat(str(at)[:10])
    st.header("Board pack")
    st.write("The Improvement Board's pack for this review: cover, summary table, one page per priority with "
             "its chart and commentary, the evidence log, definitions. The public version suppresses small "
             "numbers (the rules are printed in the pack).")
    c1, c2, c3 = st.columns(3)
    fmt = c1.radio("Format", ["PDF", "PowerPoint"], horizontal=True, key="pack-format")
    public = c2.toggle("Public version (small numbers suppressed)", key="pack-public")
    teams = c3.toggle("Include team breakdowns", value=True, key="pack-teams")
    ext = "pdf" if fmt == "PDF" else "pptx"
    key = ("pack", at.isoformat(), ext, public, teams)
    if st.button("Prepare the board pack", key="pack-build"):
        who = access.guard("export")
        from reports.boardpack import build_pack

        with st.spinner("Drawing the charts and laying out the pack…"), tempfile.TemporaryDirectory() as d:
            out = Path(d) / f"pack.{ext}"
            try:
                with loaders.connect() as conn:
                    info = build_pack(conn, at, out, public=public, include_teams=teams, by=who.label)
                st.session_state[str(key)] = (out.read_bytes(), info.pages)
            except Exception as err:  # a message, never a traceback
                st.error(f"The pack could not be produced: {type(err).__name__}: {plain(err)}")
    ready = st.session_state.get(str(key))
    if ready:
        data, pages = ready
        name = f"board-pack-{at.isoformat()}{'-public' if public else ''}.{ext}"
        mime = "application/pdf" if ext == "pdf" else \
            "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        st.download_button(f"Download {name} ({pages} pages)", data, file_name=name, mime=mime, key="pack-dl",
                           type="primary")
        st.caption(f"{plain(label)}: prepared for you just now; it is recorded in the audit trail.")
