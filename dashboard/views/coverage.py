"""Data coverage: a month × kind grid of what is loaded, missing or superseded."""

import pandas as pd
import streamlit as st

from dashboard import access, loaders
from dashboard.components.chrome import render_demo_notice, render_empty_store
from dashboard.components.text import uk_month
from metrics.contract import KINDS
from metrics.months import month_range

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
months = month_range(cov["month"].min(), cov["month"].max())
cov = cov.assign(kind=cov["kind"].where(cov["scope"] == "", "figures"))
agg = cov.groupby(["kind", "month"]).agg(uploads=("uploads", "max"), current=("current_upload", "count"))


def cell(kind: str, month: str) -> str:
    if (kind, month) not in agg.index:
        return "— missing"
    uploads = int(agg.loc[(kind, month), "uploads"])
    return "✓ loaded" if uploads == 1 else f"✓ loaded ({uploads - 1} replaced)"


grid = pd.DataFrame({uk_month(m): [cell(k, m) for k in KINDS] for m in months}, index=list(KINDS))
by_month = grid.T[::-1].rename_axis("month").reset_index()  # a named first column (accessible header)
st.dataframe(by_month, hide_index=True, width="stretch", height=min(38 * (len(months) + 1), 720))
missing = sum(v.startswith("—") for v in grid.to_numpy().ravel())
st.caption(f"{len(months)} months × {len(KINDS)} kinds; {missing} month-kind cells missing "
           "(figures are only expected for months before record-level extracts).")
