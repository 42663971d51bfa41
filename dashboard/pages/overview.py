"""Interim page (replaced by the full overview page)."""

import streamlit as st

from dashboard import access

access.page("overview")
st.title("Overview")
st.info("This page is being built.")
