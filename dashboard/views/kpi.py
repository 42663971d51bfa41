"""KPI detail: one priority at a chosen review (``?kpi=…&at=…``, so a link can be shared) — its verdicts, its
trajectory and process-control (SPC) views with the review's commentary beside them, benchmarks, breakdowns at
the judged month, data notes and definition."""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.actions import render_kpi_actions
from dashboard.components.chrome import export_button, render_demo_notice, stop_unless_kpi_data
from dashboard.components.context import render_context
from dashboard.components.kpi import (kpi_picker, render_back_to_overview, render_benchmark_note,
                                      render_breakdown_section, render_commentary, render_flag_notes,
                                      render_in_person, render_kpi_headline, render_monthly_table, render_secondary,
                                      render_spc_note, review_picker, selected_review)
from dashboard.components.registers import register_month, render_registers, render_team_breakdown
from dashboard.components.verdict import render_key
from metrics.kpis import REGISTRY

identity = access.page("kpi")
render_demo_notice()
db, version = loaders.version()
stop_unless_kpi_data(db, version, "KPI detail")

which, when = st.columns([3, 2], vertical_alignment="bottom")
with which:
    metric = kpi_picker()
with when:
    review_picker(db, version)
at, judged = selected_review(db, version)
kpi = REGISTRY[metric]
st.title(kpi.label, anchor=False)
st.caption(f"ToR {kpi.tor} · {kpi.priority} · {'higher' if kpi.higher_is_better else 'lower'} is better")
render_back_to_overview(at)
board = loaders.kpi_board(db, version, at)
render_kpi_headline(board, metric)
render_in_person(db, version, board, metric)  # face to face: the in-person-only figure beside it
said = [e for e in loaders.evidence(db, version, at) if e.kpi == metric]  # commentary: beside the chart if any
chart, notes = st.columns([3, 1]) if said else (st.container(), st.container())
with chart:
    trajectory_tab, spc_tab = st.tabs(["Trajectory and targets", "Is the change real? (process control)"])
    with trajectory_tab:
        st.plotly_chart(loaders.kpi_chart(db, version, metric, at=at), width="stretch",
                        config=loaders.PLOTLY_CONFIG)
    with spc_tab:
        spc_chart = loaders.kpi_spc_chart(db, version, metric, at)
        if spc_chart is not None:
            st.plotly_chart(spc_chart, width="stretch", config=loaders.PLOTLY_CONFIG, key="spc-chart")
        render_spc_note(board, metric)
with notes:
    render_commentary(db, version, board, metric)
render_key()
render_benchmark_note(metric, loaders.review_settings(db, version).la_code)
render_context(metric, loaders.review_settings(db, version).la_code, at)
render_flag_notes(db, version, metric)
month = register_month(db, version, metric, judged, key=f"breakdown-month-{at}")  # one month for all below
render_registers(db, version, metric, month)
render_team_breakdown(db, version, metric, month)
render_breakdown_section(db, version, metric, month, skip=("team",))
render_secondary(db, version, metric)
render_kpi_actions(board, metric, at, identity)
st.header("Definition", anchor=False)
st.write(kpi.definition)
st.caption(f"Rule as computed: {kpi.rule}")
render_monthly_table(db, version, metric)

public = st.toggle("Public version of the download (small numbers suppressed)", key="series-public")
export_button("Download every KPI's monthly series (CSV)", loaders.series_csv(db, version, public),
              f"kpi-series{'-public' if public else ''}.csv", "KPI series" + (" (public)" if public else ""))
