"""KPI detail: one priority's verdicts, its trajectory and process-control (SPC) views, benchmarks, breakdowns,
data notes and definition."""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.actions import render_kpi_actions
from dashboard.components.chrome import export_button, render_demo_notice, stop_unless_kpi_data
from dashboard.components.context import render_context
from dashboard.components.kpi import (kpi_picker, render_benchmark_note, render_breakdowns, render_flag_notes,
                                      render_kpi_headline, render_monthly_table, render_secondary, render_spc_note)
from dashboard.components.registers import register_month, render_registers, render_team_breakdown
from dashboard.components.verdict import render_key
from metrics.kpis import REGISTRY

identity = access.page("kpi")
render_demo_notice()
db, version = loaders.version()
stop_unless_kpi_data(db, version, "KPI detail")

metric = kpi_picker()
kpi = REGISTRY[metric]
st.title(kpi.label, anchor=False)
st.caption(f"ToR {kpi.tor} · {kpi.priority} · {'higher' if kpi.higher_is_better else 'lower'} is better")
at = loaders.default_checkpoint(db, version)
board = loaders.kpi_board(db, version, at)
render_kpi_headline(board, metric)
trajectory_tab, spc_tab = st.tabs(["Trajectory and targets", "Is the change real? (process control)"])
with trajectory_tab:
    st.plotly_chart(loaders.kpi_chart(db, version, metric), width="stretch", config=loaders.PLOTLY_CONFIG)
with spc_tab:
    spc_chart = loaders.kpi_spc_chart(db, version, metric, at)
    if spc_chart is not None:
        st.plotly_chart(spc_chart, width="stretch", config=loaders.PLOTLY_CONFIG, key="spc-chart")
    render_spc_note(board, metric)
render_key()
render_benchmark_note(metric, loaders.review_settings(db, version).la_code)
render_context(metric, loaders.review_settings(db, version).la_code)
render_flag_notes(db, version, metric)
month = register_month(db, version, metric, board.month)
render_registers(db, version, metric, month)
render_team_breakdown(db, version, metric, month)
render_breakdowns(db, version, metric, skip=("team",))
render_secondary(db, version, metric)
render_kpi_actions(board, metric, at, identity)
st.header("Definition", anchor=False)
st.write(kpi.definition)
st.caption(f"Rule as computed: {kpi.rule}")
render_monthly_table(db, version, metric)

public = st.toggle("Public version of the download (small numbers suppressed)", key="series-public")
export_button("Download every KPI's monthly series (CSV)", loaders.series_csv(db, version, public),
              f"kpi-series{'-public' if public else ''}.csv", "KPI series" + (" (public)" if public else ""))
