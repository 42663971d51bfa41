"""Interim page (replaced by the full settings page)."""

import streamlit as st

from dashboard import access

access.page("settings")
st.title("Settings")
st.info("This page is being built.")
