"""The Present page's pieces: one priority per screen, in projector type."""

from __future__ import annotations

import streamlit as st

from dashboard.components.text import fmt, uk_date, uk_month
from metrics.reviews import words


def present_position(n: int, key: str = "present_i") -> int:
    """Previous / Next buttons (wrapping round) and "3 of 10"; returns the 0-based position."""
    from metrics.kpis import REGISTRY

    if key not in st.session_state:
        wanted = st.query_params.get("kpi") or st.session_state.get("kpi")
        st.session_state[key] = list(REGISTRY).index(wanted) if wanted in REGISTRY else 0

    def step(by: int) -> None:
        st.session_state[key] = (st.session_state[key] + by) % n

    c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="center")
    c1.button("◀ Previous", on_click=step, args=(-1,), key=f"{key}-prev", width="stretch")
    i = st.session_state[key]
    c2.markdown(f"**{i + 1} of {n}** · ToR {list(REGISTRY.values())[i].tor}", text_alignment="center")
    c3.button("Next ▶", on_click=step, args=(1,), key=f"{key}-next", width="stretch")
    return i


def render_slide(board, metric: str) -> None:
    """One priority in projector type: value, target, RAG word and direction of travel, each a big h2
    under a short label (headings h1 → h2 only); then the variation and assurance icons with their words
    and the interval."""
    from dashboard.components.verdict import render_badges, render_interval_line
    from metrics.kpis import REGISTRY

    kpi = REGISTRY[metric]
    r = board.row(metric)
    st.title(kpi.label, anchor=False, help=kpi.priority)
    when = uk_month(board.at[:7])
    tiles = (
        (uk_month(r.actual_month), fmt(metric, r.actual)),
        (f"Target, {when} review", fmt(metric, r.target) if r.rated else "None set"),
        ("Rating" + (" (provisional)" if board.provisional else ""), words.rag_text(r.rag, "icon")),
        ("Direction of travel", words.travel_text(r.direction_of_travel if r.rated else None, "icon")),
    )
    for col, (label, big) in zip(st.columns([1, 1, 1, 1.3]), tiles):
        col.markdown(f"**{label}**")
        col.markdown(f"## {big}")
    render_badges(r, size=56, travel=False, scale=1.5)
    render_interval_line(r)
    st.caption(f"At the {uk_date(board.at)} review, judging {uk_month(board.month)}"
               + (" (provisional: not yet marked final)" if board.provisional else "")
               + f". {'Higher' if kpi.higher_is_better else 'Lower'} is better; ▲ means better. Direction of travel "
               "comes from the variation: a change is news only when it is special cause.")
