"""Interim page (replaced by the full reviews page)."""

import streamlit as st

from dashboard import access

access.page("reviews")
st.title("Reviews")
st.info("This page is being built.")
