"""The overview table and the KPI detail page's pieces, formatting the review model's rows (RAG is a word
with a shape, never colour alone; ▲ always means better, in each KPI's declared direction)."""

from __future__ import annotations

import streamlit as st

from dashboard import loaders
from dashboard.components.text import fmt, fmt_target, month_list, plain, uk_date, uk_month
from metrics.reviews import TREND_MONTHS, words


BREAKDOWN_TITLES = {"team": "By team", "format": "By conference format",
                    "conference_type": "Initial and review conferences", "grade": "By audit grade"}


def board_headline(board) -> str:
    """'At the Sep 2024 review: 6 green, 2 amber, 1 red, 1 no data' (fits one h2 line at 1366 px)."""
    s = board.summary
    return (f"At the {uk_month(board.at[:7])} review: {s['green']} green, {s['amber']} amber, {s['red']} red, "
            f"{s['no_data']} no data")


def board_status(board) -> str | None:
    """The one line that must sit under the headline: what the review judges, provisional or final."""
    lag = getattr(board, "reporting_lag_days", None)
    judged = (f"the {uk_date(board.at)} review judges {uk_month(board.month)}"
              + (f" (the latest month ended at least {lag} days before it)" if lag is not None else ""))
    if board.final:
        return f"**Final** — {judged}; this review was marked final: its ratings are frozen as presented."
    return f"**Provisional** — {judged}; not yet marked final."


def board_explanation(board) -> str:
    prev = (f"the {uk_month(board.previous_checkpoint.isoformat())} review" if board.previous_checkpoint
            else "the previous review")
    return (f"Each priority is judged on {uk_month(board.month)} against the target trajectory for that month. "
            "The default review is the latest one whose judged month has data. "
            "Variation (statistical process control) tells a real change from noise, and gives the direction of "
            f"travel (▲ = better); the change since {prev} is information only. Assurance says whether the "
            "target will be met if nothing changes.")


def board_notes(board) -> list[str]:
    """Data notes per priority, in plain words (flags of the judged month, pooling, 'cannot be told apart',
    stale data, restatements)."""
    from dashboard.components.verdict import verdict_notes

    out = []
    for r in board.rows:
        notes = verdict_notes(r) + [words.flag_text(f) for f in r.flags if f != "month_missing"]
        if not r.latest_month:
            notes.append("no data yet")
        elif r.latest_month != r.actual_month:
            notes.append(f"latest data {uk_month(r.latest_month)}")
        if r.restated:
            notes.append(f"restated since final: now {fmt(r.metric, r.current_actual)}")
        out.append("; ".join(notes))
    return out


def board_frame(board):
    """The overview table: one row per ToR priority, every value already in UK display form; the variation
    and assurance icons (data URLs) beside their words."""
    import pandas as pd

    from dashboard.components.verdict import assurance_icon, interval_cell, travel_words, variation_icon
    from metrics.kpis import REGISTRY
    from reports.icons import data_url

    rows = []
    for r, notes in zip(board.rows, board_notes(board)):
        kpi = REGISTRY[r.metric]
        rows.append({
            "ToR": kpi.tor, "Priority": kpi.label, "Value": fmt(r.metric, r.actual),
            "Month": uk_month(r.actual_month), "95% interval": interval_cell(r),
            "Target": fmt_target(r.metric, r.target) if r.rated else "—",
            "RAG": words.rag_text(r.rag, "icon"),
            "Variation": data_url(variation_icon(r)), "Direction of travel": travel_words(r) or "—",
            "Assurance": data_url(assurance_icon(r)),
            "Target assurance": words.assurance_text(r.assurance, "upper") if r.rated else "No target",
            "Trend": list(r.trend) if r.trend else None,
            "Data notes": notes or "✓ none",
        })
    return pd.DataFrame(rows)


def render_board(board, *, key: str = "board") -> str | None:
    """The overview table (RAG as word, icon and cell tint; variation and assurance as icons with words);
    returns the KPI id of a row the user selected, to open its detail."""
    from metrics.kpis import REGISTRY

    frame = board_frame(board)
    tints = {words.rag_text(k, "icon"): v for k, v in words.RAG_TINTS.items()}
    styled = frame.style.map(lambda v: f"background-color: {tints[v]}; color: #0b0c0c" if v in tints else "",
                             subset=["RAG"])
    text = st.column_config.TextColumn
    event = st.dataframe(
        styled, hide_index=True, width="stretch", key=key, on_select="rerun", selection_mode="single-row",
        row_height=40, height=40 * (len(frame) + 1) + 3,
        # the verdicts first after the priority (pinned), so a narrow screen scrolls to the detail
        column_order=["ToR", "Priority", "RAG", "Variation", "Direction of travel", "Assurance", "Target assurance",
                      "Value", "Month", "95% interval", "Target", "Trend", "Data notes"],
        column_config={
            "ToR": text("ToR", width=44, help="Terms of Reference paragraph"),
            "Priority": text("Priority", width=250, pinned=True),
            "Value": text("Value", width=64, help="The value judged at this review (pooled over three months where "
                          "the Data notes say so)"),
            "Month": text("Month", width=70, help="The judged month"),
            "95% interval": text("95% interval", width=104, help="The range the true rate lies in, 19 times in 20 "
                                 "(percentages)"),
            "Target": text("Target", width=64, help=f"The trajectory target for the judged month"),
            "RAG": text("RAG", width=84, help="Green: meets the target; amber: misses it by no more than the "
                        "tolerance; red: misses it by more; no data."),
            "Variation": st.column_config.ImageColumn("Variation", width=64, help="Statistical process control: "
                                                      "is the change real or noise? See What the icons mean."),
            "Direction of travel": text("Direction of travel", width=150, help="From the variation: ▲ improving "
                                        "(special cause improvement), ▼ worsening (special cause concern), ▶ no "
                                        "significant change (common cause)"),
            "Assurance": st.column_config.ImageColumn("Assurance", width=70, help="Will the target be met if "
                                                      "nothing changes? Against the same target as the RAG "
                                                      "(the judged month's). See What the icons mean."),
            "Target assurance": text("Target assurance", width=130),
            "Trend": st.column_config.LineChartColumn(f"Last {TREND_MONTHS} months", width=100),
            "Data notes": text("Data notes", width="medium", help="Small numbers: fewer than 10 in the "
                               "denominator. From monthly totals: no record-level data for the month."),
        },
    )
    rows = event.selection.rows if event is not None else []
    return list(REGISTRY)[rows[0]] if rows else None


def render_board_notes(board) -> None:
    """The data notes under the table too, so a narrow screen never hides them."""
    from metrics.kpis import REGISTRY

    notes = [f"{REGISTRY[r.metric].label}: {n}" for r, n in zip(board.rows, board_notes(board)) if n]
    st.caption("Data notes — " + (" · ".join(notes) if notes else "none: every value shown comes from "
                                  "record-level extracts with enough cases."))
    from dashboard.components.verdict import render_verdicts_apart

    render_verdicts_apart(board)


def open_kpi(metric: str, at: str | None = None) -> None:
    """Go to the KPI detail page for ``metric`` at the review ``at`` (ISO date), both kept in the URL
    (``/kpi?kpi=…&at=…``, so the link can be shared) and in session state."""
    st.session_state["kpi"] = metric
    st.switch_page("views/kpi.py", query_params={"kpi": metric} | ({"at": at} if at else {}))


#: The KPI page's review picker (its widget key); the review travels in the URL as ``?at=``.
REVIEW_KEY = "kpi_at"


def _wanted_review(db: str, v: int) -> str:
    """The review the KPI page shows: the picker's choice, else ``?at=`` if it names a checkpoint, else the
    default review (loaders.default_checkpoint)."""
    ats = [c.at for c in loaders.checkpoint_choices(db, v)]
    for wanted in (st.session_state.get(REVIEW_KEY), st.query_params.get("at")):
        if wanted in ats:
            return wanted
    return loaders.default_checkpoint(db, v)


def selected_review(db: str, v: int) -> tuple[str, str]:
    """(ISO date of the review chosen on the KPI page, its judged month YYYY-MM): what every figure on the
    page — headline, chart, SPC view, breakdowns and registers — is shown at. Reads the choice (picker,
    then ``?at=``, then the default review); renders nothing, so any component may call it."""
    at = _wanted_review(db, v)
    return at, loaders.kpi_board(db, v, at).month


def review_picker(db: str, v: int) -> str:
    """The KPI page's review picker (checkpoint_picker), opening on ``?at=`` (or the default review); the
    choice is written back to the URL. Returns the ISO date chosen."""
    from dashboard.components.review import checkpoint_picker

    at = _wanted_review(db, v)
    if st.session_state.get(REVIEW_KEY) != at:
        st.session_state.pop(REVIEW_KEY, None)  # a new ?at= (a shared link, the overview) wins over a stale choice
    chosen = checkpoint_picker(REVIEW_KEY, label="Review", width="stretch", default=at)
    if st.query_params.get("at") != chosen:
        st.query_params["at"] = chosen
    return chosen


def render_back_to_overview(at: str) -> None:
    """A link back to the overview at the same review."""
    if st.button("← Overview at this review", key="kpi-back", type="tertiary"):
        st.switch_page("views/overview.py", query_params={"at": at})


def render_commentary(db: str, v: int, board, metric: str) -> None:
    """The review's commentary and evidence on this KPI (as written on the Reviews page), beside its chart."""
    from dashboard.components.review import render_evidence_entry

    entries = [e for e in loaders.evidence(db, v, board.at[:10]) if e.kpi == metric]
    when = plain(board.label) if board.label else f"the {uk_date(board.at)} review"
    st.subheader("Commentary and evidence", anchor=False)
    if not entries:
        st.caption(f"No commentary on this priority for {when} yet (written on the Reviews page).")
        return
    st.caption(f"Written for {when}, exactly as entered, with the author and time (UTC)"
               + (" — read-only: the review is final." if board.final else "."))
    for e in entries:
        render_evidence_entry(e)


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
    """Four tiles — the judged value (the change since the previous review as information, uncoloured),
    the target, the RAG with the direction of travel (from the variation), the final target's forecast —
    then the variation and assurance icons with their words, and the interval and basis in a line."""
    from dashboard.components.verdict import basis_words, interval_words, render_badges, render_interval_line
    from metrics.kpis import REGISTRY

    kpi = REGISTRY[metric]
    r = board.row(metric)
    when = uk_month(board.at[:7])
    c1, c2, c3, c4 = st.columns(4)
    prev = uk_month(board.previous_checkpoint.isoformat()[:7]) if board.previous_checkpoint else None
    delta, unchanged = _delta(metric, r.actual, r.previous_actual) if prev else (None, False)
    c1.metric(f"Value, {uk_month(r.actual_month)}", fmt(metric, r.actual),
              delta=f"{'no change' if unchanged else delta} vs {prev} review" if delta else None,
              delta_color="off", delta_arrow="off" if unchanged else "auto",
              help=f"{'Higher' if kpi.higher_is_better else 'Lower'} is better. Judged on {basis_words(r)}. "
              + (interval_words(r) + ". " if r.interval else "")
              + "The change since the previous review is information only: the variation says whether it is real.",
              border=True)
    c2.metric(f"Target, {when} review", fmt_target(metric, r.target) if r.rated else "No target set",
              help=f"The trajectory target for {uk_month(r.actual_month)}, the judged month (review settings).",
              border=True)
    travel = r.direction_of_travel if r.rated else None
    c3.metric(f"RAG, {when} review", words.rag_text(r.rag, "icon"),
              help=f"The {uk_month(board.month)} value against the target"
              + (" — provisional: not yet marked final." if board.provisional else ".")
              + " Direction of travel: from the variation (statistical process control).",
              delta=words.travel_text(travel, "icon") if travel else None, delta_arrow="off",
              delta_color={"improving": "normal", "worsening": "inverse"}.get(travel, "off"), border=True)
    if r.final_target is not None:
        c4.metric(f"Final target, {uk_month(r.final_date[:7])}", fmt_target(metric, r.final_target),
                  delta=words.forecast_text(r.forecast, "tile") or None, delta_arrow="off", border=True,
                  delta_color={"reaches_target": "normal", "already_met": "normal",
                               "moving_away": "inverse"}.get(r.outlook_status, "off"),
                  help="Forecast: a straight line through the current period's last 12 months, said only when "
                  "its slope is significant at 95%. " + words.forecast_text(r.forecast, fmt=kpi.format) + ".")
    render_badges(r)
    render_interval_line(r)


def render_in_person(db: str, v: int, board, metric: str) -> None:
    """Face to face (ToR 2b(iii)): the in-person-only figure beside the KPI, over the same months as the judged
    value, with how the review setting counts hybrid."""
    from metrics.compute import IN_PERSON_NUMERATOR
    from metrics.reviews.views import in_person_view

    if metric not in IN_PERSON_NUMERATOR:
        return
    r = board.row(metric)
    hybrid = loaders.review_settings(db, v).hybrid_counts_as_face_to_face
    rule = ("Hybrid counts as face to face in this KPI (review setting)." if hybrid else
            "This KPI counts conferences held in person only: hybrid does not count (review setting).")
    months = r.pooled_months or ((r.actual_month,) if r.actual_month else ())
    fig = in_person_view(loaders.secondary_measures(db, v, metric), months) if months else None
    if fig is None or fig.in_person_pct is None:
        st.markdown(f"**In person only:** no record-level data for {uk_month(r.actual_month)}. {rule}")
        return
    span = uk_month(fig.months[0]) + (f"–{uk_month(fig.months[-1])}" if len(fig.months) > 1 else "")
    st.markdown(f"**In person only: {fmt(metric, fig.in_person_pct)}** "
                f"({fig.in_person:,.0f} of {fig.conferences:,.0f} conferences, {span}) · in person or hybrid: "
                f"{fmt(metric, fig.with_hybrid_pct)} ({fig.hybrid:,.0f} hybrid). {rule}")


def render_spc_note(board, metric: str) -> None:
    """Under the SPC chart: what it shows, the judged month's verdict and period, where the method is."""
    from dashboard.components.verdict import DOC

    r = board.row(metric)
    chart = r.spc
    if chart is None or not chart.points:
        st.caption("No monthly values yet: nothing to chart.")
        return
    seg = chart.segment_of(chart.judged_month) if chart.judged_month else None
    period = (f" The judged month's period runs from {uk_month(seg.start)} ({seg.n} months"
              + (", trial limits: fewer than 13" if seg.trial else "") + ")." if seg else "")
    rebases = "; ".join(f"{uk_month(rb.month)}: {rb.reason}" for rb in chart.settings.rebases)
    pooled = (" The chart plots single months; the judged value pools three (see above)."
              if r.basis == "rolling_3_months" else "")
    st.caption("Each month's value with its period's mean and process limits: about 99 months in 100 fall inside "
               f"them by chance.{pooled} Triangles mark special cause improvement, squares special cause concern; "
               f"the judged month ({uk_month(board.month)}) is ringed.{period}"
               + (f" Rebases — {plain(rebases)}." if rebases else "")
               + f" The method in plain English: `{DOC}`.")


def render_flag_notes(db: str, v: int, metric: str) -> None:
    """Months with data-quality flags, in plain words."""
    from metrics.compute import FLAGS

    series = loaders.one_kpi_series(db, v, metric)
    found = False
    for code, meaning in FLAGS.items():
        months = [m for m, f in zip(series["month"], series["flags"]) if code in tuple(f)]
        if months:
            found = True
            st.caption(f"**{words.flag_text(code).capitalize()}** — {month_list(months)}. {meaning}")
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


def render_breakdown_section(db: str, v: int, metric: str, month: str | None,
                             skip: tuple[str, ...] = ()) -> None:
    """'Breakdowns' at ``month`` (the page's one month picker, which opens on the review's judged month)."""
    from metrics.compute import BREAKDOWNS

    if not any(b not in skip for b in BREAKDOWNS.get(metric, ())):
        return
    st.header("Breakdowns", anchor=False)
    render_breakdowns(db, v, metric, month, skip)


def render_breakdowns(db: str, v: int, metric: str, month: str | None = None, skip: tuple[str, ...] = ()) -> None:
    """The KPI's breakdowns at ``month`` (YYYY-MM: the latest month with data on or before it; None: the
    latest), each with its trend up to then (``skip``: those shown elsewhere, e.g. teams)."""
    from metrics.compute import BREAKDOWNS

    bys = tuple(b for b in BREAKDOWNS.get(metric, ()) if b not in skip)
    if not bys:
        return
    for col, by in zip(st.columns(len(bys)), bys):
        with col:
            shown, frame = loaders.breakdown_view(db, v, metric, by, month)
            month_shown = shown
            st.markdown(f"**{BREAKDOWN_TITLES.get(by, by)}**"
                        + (f" — {uk_month(month_shown)}" if month_shown else ""))
            if frame.empty:
                st.caption("No record-level data to break down.")
                continue
            st.dataframe(_breakdown_display(metric, by, frame), hide_index=True, width="stretch",
                         column_config={"Trend": st.column_config.LineChartColumn(
                             f"Last {TREND_MONTHS} months", width="small")})


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
                 column_config={"Trend": st.column_config.LineChartColumn(f"Last {TREND_MONTHS} months")})
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
             "Notes": "; ".join(words.flag_text(f) for f in r.flags)}
            for r in s.iloc[::-1].itertuples(index=False)]
    if said := loaders.kpi_sources(db, v, metric):  # which file each month's values came from
        st.caption(plain(said))
    with st.expander(f"Monthly figures ({len(rows)} months)"):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
