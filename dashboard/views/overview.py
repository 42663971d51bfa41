"""Overview (default page): the ten ToR priorities at a review checkpoint — value, target, RAG, travel."""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.chrome import render_demo_notice, stop_unless_kpi_data
from dashboard.components.kpi import (board_explanation, board_headline, board_status, open_kpi, render_board,
                                      render_board_notes)
from dashboard.components.review import checkpoint_picker
from dashboard.components.text import plain
from metrics.kpis import REGISTRY

access.page("overview")
st.title("Is sufficient progress being made?")
render_demo_notice()
db, version = loaders.version()
stop_unless_kpi_data(db, version)  # the title above stays

who, when = st.columns([3, 2], vertical_alignment="bottom")
who.caption(f"{plain(loaders.review_settings(db, version).council_name)} — the service priorities in the Terms of "
            "Reference of the statutory direction, at each three-monthly review. Click a row to open its detail.")
with when:  # the review travels in the URL (?at=…) to the KPI page and back, so a link can be shared
    at = checkpoint_picker("overview_at", width="stretch", default=st.query_params.get("at"))
if st.query_params.get("at") != at:
    st.query_params["at"] = at
board = loaders.kpi_board(db, version, at)
st.header(board_headline(board), anchor=False)
if status := board_status(board):
    st.caption(status)
chosen = render_board(board)
render_board_notes(board)
st.caption(board_explanation(board))
pick = st.selectbox("Open a priority in detail", list(REGISTRY), index=None, key="open_kpi", width=460,
                    format_func=lambda k: f"{REGISTRY[k].tor} — {REGISTRY[k].label}", placeholder="Choose a priority")
if chosen or pick:
    open_kpi(chosen or pick, at)
