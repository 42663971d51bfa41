"""Data coverage: a month × kind grid of what is loaded, missing or superseded, and what the next review needs."""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.chrome import render_demo_notice, render_empty_store
from dashboard.components.text import uk_date, uk_month
from metrics.views import NEEDED

access.page("coverage")
st.title("Data coverage")
render_demo_notice()
db, version = loaders.version()
cov = loaders.coverage(db, version)
if cov.empty:
    render_empty_store()
    st.stop()

needs = loaders.review_needs(db, version)
grid = loaders.coverage_grid(db, version)
missing = [k for k in grid.columns if grid.loc[needs.month, k] == NEEDED] if needs.month in grid.index else []
if missing:
    st.warning(f"The next review ({uk_date(needs.checkpoint)}) judges **{uk_month(needs.month)}**, which is missing: "
               f"{', '.join(missing)}. Upload them before the review.", icon=":material/warning:")
else:
    st.success(f"Everything the next review ({uk_date(needs.checkpoint)}) needs for {uk_month(needs.month)} is loaded.",
               icon=":material/task_alt:")
st.write("What is loaded for each month. **Loaded** = a current upload covers the month; **replaced** = it "
         "has been re-uploaded (earlier versions kept); **missing** = nothing loaded; **⚠** = missing and needed "
         "for the next review. The **figures** column shows only months where figures were given or are expected "
         "(before a KPI's record-level extracts begin).")
by_month = grid.rename(index=uk_month).rename_axis("Month").reset_index()  # named first column: a header
styled = by_month.style.map(lambda v: "background-color: #fde7e9; color: #8a1c1c; font-weight: 600"
                            if v == NEEDED else "")
st.dataframe(styled, hide_index=True, width="stretch", height=min(38 * (len(grid) + 1), 720),
             column_config={"Month": st.column_config.TextColumn(pinned=True)})
st.caption(f"{len(grid)} months × {len(grid.columns)} kinds; "
           f"{sum(v.startswith(('—', '⚠')) for v in grid.to_numpy().ravel())} month-kind cells missing.")
