"""The KPI page's "Context from published data" (issue 13 item 6): where the council stands among its
statistical neighbours and England on the KPI's published benchmark (rank and quartile, as LAIT gave),
and for the workforce priorities the DfE workforce census's turnover, vacancies and caseload — annual
points at 30 September and the latest year beside the 10 statistical neighbours — all as known at the
chosen review (reference dates on or before its date, :func:`metrics.context.at_review`, as the packs).
Published figures only: information, never rated."""

from __future__ import annotations

import streamlit as st

from dashboard import loaders
from dashboard.components.text import plain, uk_date

RANKING = ("Rank 1 = the best figure for the measure's direction (the lowest where lower is better). Tied "
           "councils share the best rank of the tie and the next rank is skipped (1, 2, 2, 4). Quartile 1 = the "
           "best quarter, 4 = the worst. Among statistical neighbours: the council and its 10 DfE statistical "
           "neighbours (2025 model); in England: every council with a published figure that year. "
           "How ranks are worked out: docs/context.md.")


def render_context(metric: str, la_code: str, at: str) -> None:
    from metrics.benchmarks import BENCHMARKED_METRICS, LICENCE, PUBLISHER
    from metrics.context import context_measures
    from reports.context import context_figure, neighbour_display

    measures = context_measures(metric)
    src = BENCHMARKED_METRICS.get(metric)
    if src is None and not measures:
        return
    st.header("Context from published data", anchor=False)
    ctx, problem = loaders.published_context(metric, la_code, at)
    if problem:
        st.caption(f"No published context shown: {plain(problem)}")
        return
    st.caption(f"As known at the {uk_date(at)} review: figures published for reference dates up to "
               f"{uk_date(at)} (as in this review's packs).")
    if ctx["standing"].empty and not ctx["year"]:
        st.caption("Nothing had been published for a reference date on or before this review.")
    if src is not None and src.differs:
        st.warning(f"The published benchmark is not like for like: {src.differs}. {src.caveat}", icon="⚠️")
    if not ctx["standing"].empty:
        st.subheader("Where the council stands", anchor=False)
        st.dataframe(ctx["standing"], hide_index=True, width="stretch")
        st.caption(RANKING)
    if measures and ctx["year"]:
        st.subheader(f"Workforce census: {', '.join(m.short.split(' (')[0].lower() for m in measures)}",
                     anchor=False)
        fig = context_figure(metric, ctx["series"])
        if fig is not None:
            st.plotly_chart(fig, width="stretch", config=loaders.PLOTLY_CONFIG, key="context-chart")
        st.caption("Annual points at 30 September each year (the census date), not monthly figures.")
        st.markdown(f"**30 September {ctx['year']}: the council and its statistical neighbours**")
        st.dataframe(neighbour_display(metric, ctx["neighbours"]), hide_index=True, width="stretch")
        st.caption(" ".join(f"{m.short}: {m.source.definition}" for m in measures)
                   + f" Source: {measures[0].source.publication}, {PUBLISHER}, "
                     f"{LICENCE}.")
