"""Entry point: page config, sign-in gate and navigation — nothing else."""

import streamlit as st

from dashboard import access

st.set_page_config(page_title="Intervention review dashboard", page_icon="📊", layout="wide")
identity = access.gate()
st.navigation(access.pages_for(identity), position="sidebar").run()
