"""Interim page (replaced by the full kpi page)."""

import streamlit as st

from dashboard import access

access.page("kpi")
st.title("Kpi")
st.info("This page is being built.")
