"""Portfolio: every council the user follows at its latest review, side by side, each linking to its own
dashboard; then one KPI compared across them with their published benchmarks. Each council is read from
its own store, and only where the user has a role there (checked on the server, per council)."""

import streamlit as st

from dashboard import access
from dashboard.components.portfolio import (council_verdicts, render_comparison, render_links, render_matrix,
                                            render_verdicts)
from dashboard.components.verdict import render_key

identity = access.portfolio_page()
mine = [access.checked(c) for c in access.portfolio_councils(identity)]
st.title("Portfolio: how is each council doing?")
if len(mine) < 2:
    st.info("The portfolio compares two or more councils; you follow one. Its dashboard is the Overview page.",
            icon=":material/info:")
    st.stop()
verdicts = council_verdicts(mine)
if any(v.demo for v in verdicts):
    st.info("Synthetic demo data — invented for demonstration. No real child, worker or case is shown.",
            icon=":material/science:")
st.caption("Each council at the latest review its data can hold (provisional until marked final): how many "
           "priorities are green, amber and red, what statistical process control says, how fresh the data are "
           "and when the next review falls. Open a council to see its dashboard.")
st.header("The councils at their latest review", anchor=False)
render_verdicts(verdicts)
render_links(verdicts)
st.header("Each priority, council by council", anchor=False)
render_matrix(verdicts)
render_key()
st.header("One KPI across the councils", anchor=False)
render_comparison(verdicts)
