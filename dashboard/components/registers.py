"""The KPI page's registers (the items behind the number at a month: milestones, historic complaints, children
and their social workers) and team breakdowns at any month with each team's own trajectory
(``metrics.registers``; issue 13 items 2 and 3). Counts only: no child, worker or complaint identifier."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import loaders
from dashboard.components.text import uk_date, uk_month
from metrics.kpis import REGISTRY
from metrics.months import month_end

SMALL_WORDS = "⚠ small numbers"


def register_month(db: str, v: int, metric: str, judged: str | None) -> str | None:
    """The month the registers and team breakdowns are shown at: a picker over the KPI's months with data,
    opening on the review's judged month (or the latest month with data before it)."""
    months = loaders.kpi_months(db, v, metric)
    if not months:
        return None
    earlier = [m for m in months if judged and m <= judged]
    default = judged if judged in months else (earlier[-1] if earlier else months[-1])
    options = months[::-1]
    return st.selectbox("Month shown below", options, index=options.index(default), format_func=uk_month,
                        key=f"register-month-{metric}", width=240,
                        help="Registers and team breakdowns at this month's last day. It opens on the month the "
                             "review judges.")


def _days(x) -> str:
    return "" if x is None or x != x else f"{int(x):,}"


def _milestones(reg) -> None:
    from metrics.registers import MILESTONE_STATES, milestone_counts

    frame = reg.milestones
    counts = milestone_counts(frame)
    said = ", ".join(f"{n} {MILESTONE_STATES[s].split(' (')[0].lower()}" for s, n in counts.items())
    st.caption(f"At {uk_date(month_end(reg.month))}: {said}. Overdue = due on or before that day and not "
               "completed by it (days overdue counted to that day); completed late = completed after the due "
               "date; items not yet due are listed when their status is off track or at risk.")
    if frame.empty:
        st.caption("No item is overdue, late, off track or at risk.")
        return
    rows = [{"Why listed": MILESTONE_STATES[r.state], "Item": r.title, "Due": uk_date(r.due_date),
             "Status": (r.status or "not recorded").replace("_", " "),
             "Days overdue or late": _days(r.days),
             "Completed": uk_date(r.completed_date) if r.completed_date else ""}
            for r in frame.itertuples(index=False)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _complaints(reg) -> None:
    from metrics.registers import complaints_table

    table = complaints_table(reg.complaints)
    total = int(table.loc["Total", "Total"])
    st.caption(f"{total} historic complaint{'s' if total != 1 else ''} open at {uk_date(month_end(reg.month))}, "
               "by stage and age (from the date received to that day). A complaint closed on that day is closed.")
    st.dataframe(table.reset_index(), hide_index=True, width="stretch")
    burn = reg.burndown.dropna(subset=["outstanding"])
    if not burn.empty:
        st.markdown(f"**Burn-down since the cut-off** — {uk_month(reg.burndown['month'].iloc[0])} to "
                    f"{uk_month(reg.month)}")
        chart = pd.DataFrame({"Month": pd.to_datetime(burn["month"]), "Outstanding": burn["outstanding"]})
        st.bar_chart(chart, x="Month", y="Outstanding", height=220)


def _children(reg) -> None:
    from metrics.registers import worker_distribution, workers_by_team

    children = reg.children
    if children.empty:
        st.caption("No child had an allocated social worker at the month's end.")
        return
    dist = worker_distribution(children)
    n = int(dist["children"].sum())
    dist["Share"] = [f"{100 * c / n:.1f}%" for c in dist["children"]]
    left, right = st.columns(2)
    with left:
        st.markdown("**Children by number of social workers in 12 months**")
        st.dataframe(dist.rename(columns={"band": "Social workers", "children": "Children"}), hide_index=True,
                     width="stretch")
    with right:
        st.markdown("**Changes of social worker, by reason**")
        reasons = reg.reasons
        if reasons.empty:
            st.caption("No change of social worker with a reason recorded in the 12 months.")
        else:
            st.dataframe(reasons[["reason", "changes"]].rename(columns={"reason": "Reason", "changes": "Changes"}),
                         hide_index=True, width="stretch")
    st.markdown("**By team** (the team of the child's current social worker)")
    teams = workers_by_team(children)
    rows = [{"Team": r.team, "Children allocated": int(r.cohort), "With 3+ social workers": int(r.three_plus),
             "%": f"{r.value:.1f}%", "Notes": SMALL_WORDS if r.cohort < 10 else ""}
            for r in teams.itertuples(index=False)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("Teams come from the same month's workforce extract (the worker on the child's open episode). "
               + ("" if reg.workforce_found else "No workforce extract for this month: teams are not recorded. ")
               + "Reasons are the recorded change-reason codes in words (docs/metrics.md lists them).")


def render_registers(db: str, v: int, metric: str, month: str | None) -> None:
    """The register of a milestone, complaints or social-worker KPI at ``month`` (nothing for other KPIs)."""
    from metrics.registers import register_kind

    kind = register_kind(metric)
    if kind is None or month is None:
        return
    title = {"milestones": "Items behind the percentage", "complaints": "Outstanding historic complaints",
             "allocations": "Children and their social workers"}[kind]
    st.header(f"{title} — {uk_month(month)}", anchor=False)
    reg = loaders.kpi_register(db, v, metric, month)
    if not reg.has_data:
        st.caption(f"No record-level {kind} extract for {uk_month(month)}: nothing to list.")
        return
    {"milestones": _milestones, "complaints": _complaints, "allocations": _children}[kind](reg)


def render_team_breakdown(db: str, v: int, metric: str, month: str | None) -> None:
    """The KPI by team at ``month``, small numbers flagged, and each team's own trajectory up to it."""
    if month is None or "team" not in REGISTRY[metric].breakdowns:
        return
    kpi = REGISTRY[metric]
    st.header(f"By team — {uk_month(month)}", anchor=False)
    now, history = loaders.team_view(db, v, metric, month)
    if now.empty:
        st.caption(f"No record-level data with teams for {uk_month(month)}.")
        return

    def num(x) -> str:
        return "" if x is None or x != x else f"{x:,.1f}".removesuffix(".0")

    rows = [{"Group": r.group, "Value": kpi.format(None if r.value != r.value else float(r.value)),
             "Numbers": f"{num(r.numerator)} of {num(r.denominator)}" if kpi.is_percent else num(r.numerator),
             "Notes": SMALL_WORDS if r.small else "", "Trend": r.trend}
            for r in now.itertuples(index=False)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"Trend": st.column_config.LineChartColumn("12 months to this month", width="small")})
    st.caption(f"{SMALL_WORDS}: " + ("fewer than 10 in the denominator" if kpi.is_percent else "a count from 1 to 5")
               + ": one case moves the figure a lot.")
    if len(history) > 1:
        with st.expander("Each team's trajectory"):
            chart = history.copy()
            chart.index = pd.to_datetime(chart.index)
            st.line_chart(chart, height=260)
