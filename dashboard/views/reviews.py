"""Reviews: the table the Commissioner takes into each three-monthly review, its evidence, and finals."""

from __future__ import annotations

import streamlit as st

from dashboard import access, loaders
from dashboard.components.actions import render_review_actions
from dashboard.components.chrome import render_demo_notice, render_empty_store
from dashboard.components.review import (render_boardpack_downloads, render_evidence, render_evidence_forms,
                                         render_mark_final, render_review_table, review_option)
from dashboard.components.text import plain

identity = access.page("reviews")
st.title("Three-monthly reviews")
render_demo_notice()
if flash := st.session_state.pop("reviews-flash", None):
    st.success(plain(flash), icon=":material/task_alt:")

db, version = loaders.version()
points = {p["checkpoint"]: p for p in loaders.review_checkpoints(db, version)}
with_data = [d for d, p in points.items() if p["has_data"]]
if not with_data:
    render_empty_store()

options = list(points)
wanted = st.query_params.get("at")  # a link to one review: /reviews?at=2024-06-01
default = wanted if wanted in points else with_data[-1] if with_data else options[0]
at = st.selectbox("Checkpoint", options, index=options.index(default), key="checkpoint",
                  format_func=lambda d: review_option(points, d),
                  help="The configured review checkpoints (Settings). Default: the latest with data.")
st.query_params["at"] = at
board = loaders.kpi_board(db, version, at)
entries = loaders.evidence(db, version, at)

render_review_table(board, at)
st.divider()
render_evidence(board, entries)
if identity.may("evidence_edit") and (entries or not board.final):
    render_evidence_forms(board, at, entries)
st.divider()
render_review_actions(board, at)
if identity.may("mark_final") and not board.final:
    st.divider()
    render_mark_final(board, at)
st.divider()
render_boardpack_downloads(at, board.label or str(at))
