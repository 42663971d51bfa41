"""Present: one priority per screen, designed for a projector (16:9, 1280×720 to 1920×1080, full screen).

The slide: controls, the priority's headline and its chart, above the fold. Below the fold: the notes,
then the review's commentary, evidence and actions for the priority.
"""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.actions import render_present_actions
from dashboard.components.chrome import render_demo_notice, stop_unless_kpi_data
from dashboard.components.kpi import render_commentary
from dashboard.components.present import (CHART_MIN_PX, present_controls, present_index, present_style, render_chart,
                                          render_notes, render_slide, render_title)
from metrics.kpis import REGISTRY

access.page("present")
present_style()
render_demo_notice()
db, version = loaders.version()
stop_unless_kpi_data(db, version, "Present")

ids = list(REGISTRY)
metric = ids[present_index(len(ids))]
with st.container(horizontal=True, vertical_alignment="center", key="present_head", gap="medium"):
    render_title(metric)
    at = present_controls(len(ids))
metric = ids[present_index(len(ids))]
board = loaders.kpi_board(db, version, at)
render_slide(board, metric)
render_chart(loaders.kpi_chart(db, version, metric, large=True, height=CHART_MIN_PX, at=at))  # fills the screen
# Below the fold: the notes, then the review's commentary, evidence and actions for this priority.
render_notes(board, metric)
render_commentary(db, version, board, metric)  # the review's commentary and evidence on this priority
render_present_actions(board, metric, at)  # the actions agreed on it
