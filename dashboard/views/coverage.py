"""Data coverage: a month × kind grid of what is loaded, missing or superseded."""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.chrome import render_demo_notice, render_empty_store
from dashboard.components.text import uk_month
from metrics.contract import KINDS

access.page("coverage")
st.title("Data coverage")
render_demo_notice()
db, version = loaders.version()
cov = loaders.coverage(db, version)
if cov.empty:
    render_empty_store()
    st.stop()

st.write("What is loaded for each month. **Loaded** = a current upload covers the month; **replaced** = it "
         "has been re-uploaded (earlier versions kept); **missing** = nothing loaded.")
grid = loaders.coverage_grid(db, version)
by_month = grid.rename(index=uk_month).rename_axis("month").reset_index()  # named first column: a header
st.dataframe(by_month, hide_index=True, width="stretch", height=min(38 * (len(grid) + 1), 720))
missing = sum(v.startswith("—") for v in grid.to_numpy().ravel())
st.caption(f"{len(grid)} months × {len(KINDS)} kinds; {missing} month-kind cells missing "
           "(figures are only expected for months before record-level extracts).")
