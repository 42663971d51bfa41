"""Interim page (replaced by the full present page)."""

import streamlit as st

from dashboard import access

access.page("present")
st.title("Present")
st.info("This page is being built.")
