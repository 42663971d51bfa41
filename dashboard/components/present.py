"""The Present page's pieces: one priority per screen, designed for a projector.

At 1280×720 and 1920×1080 (and in the browser's full-screen mode) the slide is: a slim row of controls
(previous / next, "3 of 10", the slide index, the review), the priority's name, its headline — the value,
the target, the rating (colour, shape and word), the variation and assurance icons with their words — and
the chart filling the rest of the screen, all above the fold. The sidebar starts collapsed and the
local-mode and demo notices are kept, small. Whatever follows the chart (the interval, the review's
commentary, evidence and actions) sits below the fold.

A presenter's clicker sends ←/→, Page Up/Page Down or Space: each is a Streamlit button ``shortcut``
(``st.button(shortcut=…)``, no script of our own); the keys the visible buttons do not carry are bound to
buttons hidden by the page's style.
"""

from __future__ import annotations

import streamlit as st

from dashboard.components.text import fmt, fmt_target, uk_date, uk_month
from metrics.reviews import words

#: The chart's least height (the figure asks for this, or more when its labels and legend need it): what a
#: 1280×720 screen has left below the controls and the headline. On a taller screen the chart grows.
CHART_MIN_PX = 420
#: What sits above the chart (the notices, the controls and the headline, ~295 px at 1280 to 1920 px wide)
#: plus the page's bottom padding: the chart's container is the viewport's height less this.
ABOVE_CHART_PX = 330


def _rag_css() -> str:
    return "".join(f".st-key-present_rag_{rag} h2{{color:{colour}}}" for rag, colour in words.RAG_COLOURS.items())


#: The page's style (only while Present is shown: the element goes with the page). Headings never break
#: inside a word; the tiles wrap as whole tiles instead.
PRESENT_CSS = f"""<style>
[data-testid="stMainBlockContainer"]{{padding-top:3.75rem;padding-bottom:2rem}}
[data-testid="stMain"] [data-testid="stAlert"] [role="alert"],
[data-testid="stMain"] [data-testid="stAlertContainer"]{{padding:0.2rem 0.75rem;min-height:0}}
[data-testid="stMain"] [data-testid="stAlert"] p{{font-size:0.85rem;line-height:1.3}}
[data-testid="stMain"] h1,[data-testid="stMain"] h2{{word-break:normal;overflow-wrap:normal;hyphens:manual}}
[data-testid="stMain"] h1{{font-size:clamp(1.5rem,2.1vw,2.5rem);padding:0}}
.st-key-present_tiles h2{{font-size:clamp(1.5rem,2.1vw,2.4rem);padding:0;white-space:nowrap}}
.st-key-present_tiles p{{font-size:1.05rem;margin-bottom:0}}
{_rag_css()}
.st-key-present_keys{{display:none}}
.st-key-present_chart{{flex:0 0 auto;height:calc(100vh - {ABOVE_CHART_PX}px)}}
@media (max-height:800px){{[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]{{gap:0.5rem}}
[data-testid="stMainBlockContainer"]{{padding-top:3.25rem}}}}
</style>"""


def present_style() -> None:
    """The projector layout: the sidebar collapsed (the » button brings it back), the page's style."""
    st.set_page_config(initial_sidebar_state="collapsed")
    st.html(PRESENT_CSS)


def present_index(n: int, key: str = "present_i") -> int:
    """The 0-based position of the slide shown (from ``?kpi=`` or the KPI page's choice the first time)."""
    from metrics.kpis import REGISTRY

    if key not in st.session_state:
        wanted = st.query_params.get("kpi") or st.session_state.get("kpi")
        st.session_state[key] = list(REGISTRY).index(wanted) if wanted in REGISTRY else 0
    return st.session_state[key] % n


def present_controls(n: int, key: str = "present_i") -> str:
    """Previous / Next buttons (wrapping round; ← and →), "3 of 10", and "Go to…": the slide index (jump to
    any priority) and the review; Page Up / Page Down / Space on hidden buttons. Returns the review's ISO
    date."""
    from dashboard.components.review import checkpoint_picker
    from metrics.kpis import REGISTRY

    kpis = list(REGISTRY.values())
    pick = f"{key}-pick"

    def go(i: int) -> None:
        st.session_state[key] = st.session_state[pick] = i % n

    def step(by: int) -> None:
        go(st.session_state[key] + by)

    i = present_index(n, key)
    st.session_state[pick] = i
    with st.container(horizontal=True, vertical_alignment="center", key="present_nav", gap="xsmall",
                      width="content"):
        st.button("Previous", icon=":material/arrow_back:", on_click=step, args=(-1,), key=f"{key}-prev",
                  shortcut="Left", help="Previous priority (← or Page Up)")
        st.markdown(f"**{i + 1} of {n}** · ToR {kpis[i].tor}", width="content")
        st.button("Next", icon=":material/arrow_forward:", icon_position="right", on_click=step, args=(1,),
                  key=f"{key}-next", shortcut="Right", help="Next priority (→, Page Down or Space)")
        with st.popover("Go to…", icon=":material/list:"):
            st.selectbox("Priority", range(n), format_func=lambda j: f"{j + 1}. {kpis[j].label}", key=pick,
                         on_change=lambda: go(st.session_state[pick]), width=420)
            at = checkpoint_picker("present_at", label="Review", width=420)
    with st.container(key="present_keys"):  # a clicker's other keys; hidden by PRESENT_CSS
        st.button("Previous priority", on_click=step, args=(-1,), key=f"{key}-pgup", shortcut="PageUp")
        st.button("Next priority", on_click=step, args=(1,), key=f"{key}-pgdn", shortcut="PageDown")
        st.button("Next priority ", on_click=step, args=(1,), key=f"{key}-space", shortcut="Space")
    return at


def render_title(metric: str) -> None:
    from metrics.kpis import REGISTRY

    kpi = REGISTRY[metric]
    st.title(kpi.label, anchor=False, help=kpi.priority, width="content")


def render_slide(board, metric: str) -> None:
    """The priority's headline: the value, the target and the rating (its colour, shape
    and word), each a big h2 under a short label, then the variation (with the direction of travel) and
    assurance icons with their words. Wraps tile by tile, never inside a word."""
    from dashboard.components.verdict import badges_html

    r = board.row(metric)
    when = uk_month(board.at[:7])
    tiles = (
        ("value", uk_month(r.actual_month), fmt(metric, r.actual)),
        ("target", f"Target, {when} review", fmt_target(metric, r.target) if r.rated else "None set"),
        (f"rag_{r.rag if r.rated and r.rag in words.RAG_COLOURS else 'none'}",
         "Rating" + (" (provisional)" if board.provisional else ""), words.rag_text(r.rag, "icon")),
    )
    with st.container(horizontal=True, key="present_tiles", gap="medium", vertical_alignment="center"):
        for name, label, big in tiles:
            with st.container(key=f"present_{name}", width="content", gap="xxsmall"):
                st.markdown(f"**{label}**")
                st.markdown(f"## {big}")
        st.html(badges_html(r, size=48, travel=True, scale=1.05), width="stretch")


def render_chart(fig) -> None:
    """The chart, filling the screen below the headline: its container is as tall as the viewport less what
    sits above it (:data:`PRESENT_CSS`), never less than the figure's own height (the least at which its
    checkpoint labels, plot and legend fit), and ``height="stretch"`` makes the chart fill that container (the
    figure is redrawn at the container's size; its layout height is only the fallback). ``theme=None``: the
    chart's own projector type, not Streamlit's."""
    from dashboard import loaders

    least = int(fig.layout.height or CHART_MIN_PX)
    st.html(f"<style>.st-key-present_chart{{min-height:{least}px}}</style>")
    with st.container(key="present_chart"):
        st.plotly_chart(fig, width="stretch", height="stretch", theme=None,
                        config=loaders.PLOTLY_CONFIG | {"responsive": True})


def render_notes(board, metric: str) -> None:
    """Below the chart: the basis and interval, and which review this is."""
    from dashboard.components.verdict import render_interval_line
    from metrics.kpis import REGISTRY

    kpi = REGISTRY[metric]
    render_interval_line(board.row(metric))
    st.caption(f"At the {uk_date(board.at)} review, judging {uk_month(board.month)}"
               + (" (provisional: not yet marked final)" if board.provisional else "")
               + f". {'Higher' if kpi.higher_is_better else 'Lower'} is better; ▲ means better. Direction of travel "
               "comes from the variation: a change is news only when it is special cause. Keys: ← → or Page Up / "
               "Page Down or Space change the priority.")
