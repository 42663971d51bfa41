"""The portfolio page's pieces: the councils' verdicts side by side, the priorities across councils, and
one KPI compared across them with their published benchmarks (``reports.portfolio`` shapes them; RAG is
a word with a shape and a tint, never colour alone)."""

from __future__ import annotations

import streamlit as st

from dashboard import loaders
from metrics.benchmarks import BENCHMARKED_METRICS
from metrics.kpis import REGISTRY
from metrics.reviews import words
from reports import portfolio

_TINTS = {words.rag_text(k, "icon"): v for k, v in words.RAG_TINTS.items()}


def _tint(v) -> str:
    return f"background-color: {_TINTS[v]}; color: #0b0c0c" if v in _TINTS else ""


def council_verdicts(councils) -> list:
    """The verdict of each council (``metrics.councils.Council``, already checked for this user)."""
    return loaders.council_verdicts([(c.code, c.name, c.store) for c in councils])


def render_verdicts(verdicts) -> None:
    frame = portfolio.verdict_table(verdicts)
    text, num = st.column_config.TextColumn, st.column_config.NumberColumn
    rags = [words.rag_text(k, "icon") for k in words.RAGS]
    rag_cols = {words.rag_text(k, "icon"): num(words.rag_text(k, "icon"), width=72, help=f"Priorities rated "
                f"{words.RAG_WORDS[k].lower()} at this review") for k in words.RAGS}
    st.dataframe(  # the verdict first (a narrow screen scrolls to the detail), the link to the council last
        frame, hide_index=True, width="stretch", row_height=40,
        column_order=["Council", *rags, "Improving (SPC)", "Concern (SPC)", "Will not meet target", "Latest data",
                      "Last upload", "Next review", "Review", "Judged month", "Dashboard"],
        column_config={
            "Council": text("Council", width=200, pinned=True),
            "Dashboard": st.column_config.LinkColumn("Dashboard", width=110, display_text="Open ›",
                                                     help="That council's dashboard"),
            "Review": text("Review", width=230, help="The latest review its data can hold"),
            "Judged month": text("Judged month", width=100),
            **rag_cols,
            "Improving (SPC)": num("▲ Improving", width=95, help="Priorities showing special-cause improvement"),
            "Concern (SPC)": num("▼ Concern", width=90, help="Priorities showing special-cause concern"),
            "Will not meet target": num("Will fail", width=80, help="Targets that will not be met if nothing "
                                        "changes (SPC assurance)"),
            "Latest data": text("Latest data", width=95, help="The latest month with any KPI value"),
            "Last upload": text("Last upload", width=100),
            "Next review": text("Next review", width=110),
        })


def render_links(verdicts) -> None:
    """A plain link to each council's dashboard (keyboard and screen-reader friendly)."""
    cols = st.columns(min(len(verdicts), 4))
    for i, v in enumerate(verdicts):
        cols[i % len(cols)].page_link("views/overview.py", label=f"{v.name} ({v.code})",
                                      query_params={"council": v.code}, icon=":material/arrow_forward:")


def render_matrix(verdicts) -> None:
    frame = portfolio.priority_matrix(verdicts)
    councils = [c for c in frame.columns if c not in ("ToR", "Priority")]
    st.dataframe(frame.style.map(_tint, subset=councils), hide_index=True, width="stretch", row_height=36,
                 height=36 * (len(frame) + 1) + 3,
                 column_config={"ToR": st.column_config.TextColumn("ToR", width=50),
                                "Priority": st.column_config.TextColumn("Priority", width=260, pinned=True)})


def render_comparison(verdicts) -> None:
    """One KPI across the councils, with each council's published benchmarks (where DfE publishes one)."""
    metric = st.selectbox("Compare the councils on", list(REGISTRY), key="portfolio_kpi", width=460,
                          index=list(REGISTRY).index(next(iter(BENCHMARKED_METRICS), list(REGISTRY)[0])),
                          format_func=lambda k: f"{REGISTRY[k].tor} — {REGISTRY[k].label}"
                          + (" (published benchmarks)" if k in BENCHMARKED_METRICS else ""))
    from metrics.councils import council

    fig, table, problems = loaders.portfolio_comparison(metric, [(v.code, v.name, council(v.code).store)
                                                                 for v in verdicts])
    st.plotly_chart(fig, width="stretch", config=loaders.PLOTLY_CONFIG)
    st.dataframe(table.style.map(_tint, subset=["Rating"]), hide_index=True, width="stretch")
    src = BENCHMARKED_METRICS.get(metric)
    if src is not None:
        st.caption(f"Published: {src.publication}, {src.publisher} ({src.licence}). {src.caveat}")
    else:
        st.caption("DfE publishes no benchmark for this KPI: the councils are compared on their own data only.")
    for p in problems:
        st.caption(p)

