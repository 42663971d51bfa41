"""Present: one priority per screen, in projector type, for the review meeting."""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.actions import render_present_actions
from dashboard.components.chrome import render_demo_notice, stop_unless_kpi_data
from dashboard.components.present import present_position, render_slide
from dashboard.components.review import checkpoint_picker
from metrics.kpis import REGISTRY

access.page("present")
render_demo_notice()
db, version = loaders.version()
stop_unless_kpi_data(db, version, "Present")

ids = list(REGISTRY)
nav, when = st.columns([3, 2], vertical_alignment="bottom")
with nav:
    metric = ids[present_position(len(ids))]
with when:
    at = checkpoint_picker("present_at", label="Review")
board = loaders.kpi_board(db, version, at)
render_slide(board, metric)
st.plotly_chart(loaders.kpi_chart(db, version, metric, large=True), width="stretch",
                config=loaders.PLOTLY_CONFIG)
render_present_actions(board, metric, at)
