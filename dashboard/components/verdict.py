"""The v2 judgement on a page (shared/spec/judgement.md; docs/judgement.md explains it): the variation and
assurance icons always with their words, the 95% interval, "cannot be told apart from the target", how the
value was made (basis). Formats a model row (:class:`metrics.reviews.ReviewRow`); words come from
:mod:`metrics.reviews.words`, icons from :mod:`reports.icons`. Only our own words go into ``st.html``, and
:func:`reports.icons.badge_html` escapes every one of them."""

from __future__ import annotations

import streamlit as st

from metrics.reviews import words
from reports import icons

#: Where the method is explained (the About page shows the icon key; the full page is in the repository).
DOC = "docs/judgement.md"


def variation_icon(r) -> icons.Icon:
    return icons.variation_icon(r.variation if r.rated else None, r.direction)


def assurance_icon(r) -> icons.Icon:
    return icons.assurance_icon(r.assurance if r.rated else None)


def interval_words(r) -> str:
    """'95% interval 41.2%–63.0%' (+ '; cannot be told apart from the target at 95%'), or ''."""
    return words.interval_text(r.interval, r.kpi.format, target_within=bool(r.target_within_interval and r.rated))


def interval_cell(r) -> str:
    """The interval in a table cell: '41.2%–63.0%', '' without one."""
    if not r.interval:
        return ""
    return f"{r.kpi.format(r.interval[0])}–{r.kpi.format(r.interval[1])}"


def basis_words(r) -> str:
    return words.basis_text(r.basis, r.actual_month, r.months_pooled)


def travel_words(r, style: str = "icon") -> str:
    return words.travel_text(r.direction_of_travel, style) if r.rated else ""


def verdict_notes(r) -> list[str]:
    """What every surface says beside the figures: cannot be told apart; pooled."""
    out = []
    if r.rated and r.target_within_interval:
        out.append(words.CANNOT_TELL)
    if r.basis == "rolling_3_months" and r.actual is not None:
        out.append(basis_words(r))
    return out


def badges_html(r, *, size: int = 30, travel: bool = True, scale: float = 1.0) -> str:
    """The variation and assurance badges side by side, each icon with its words and one detail line."""
    v, a = variation_icon(r), assurance_icon(r)
    v_detail = f"Direction of travel: {words.travel_text(r.direction_of_travel)}" if travel and r.rated else ""
    a_detail = f"against the target of {r.kpi.format_target(r.target)}" if r.rated and r.target is not None else ""
    cell = '<div style="flex:1 1 16em;min-width:14em">{}</div>'
    return (f'<div style="display:flex;flex-wrap:wrap;gap:0.75em 1.5em;align-items:center;font-size:{scale}em">'
            + cell.format(icons.badge_html(v, size, detail=v_detail))
            + cell.format(icons.badge_html(a, size, detail=a_detail)) + "</div>" + _apart_html(r))


def _apart_html(r) -> str:
    """Under the badges, where the RAG and the assurance seem to disagree (green beside 'consistently
    failing'): that both are against the same target, and why they differ (words.verdicts_apart)."""
    import html

    text = words.verdicts_apart(r)
    return (f'<p style="margin:0.6em 0 0;font-size:0.9em;color:#0b0c0c">{html.escape(text, quote=False)}</p>' if text else "")


def render_badges(r, *, size: int = 30, travel: bool = True, scale: float = 1.0) -> None:
    st.html(badges_html(r, size=size, travel=travel, scale=scale))


def render_interval_line(r) -> None:
    """'Judged on 3 months pooled (Aug–Oct 2023) · 95% interval … — cannot be told apart from the target'."""
    parts = [f"Judged on {basis_words(r)}"] if r.basis else []
    if r.interval:
        parts.append(interval_words(r))
    if parts:
        st.caption(" · ".join(parts) + ".")


def key_html(size: int = 26) -> str:
    """Every icon with its words and meaning: the key the pages and the About page show."""
    rows = "".join(f'<li style="margin:0.35em 0">{icons.badge_html(i, size, detail=i.meaning)}</li>'
                   for i in icons.all_icons())
    return f'<ul style="list-style:none;padding:0;margin:0">{rows}</ul>'


def render_key(expanded: bool = False) -> None:
    """'What the icons mean' (an expander), with where the method is written down."""
    with st.expander("What the icons mean", expanded=expanded):
        st.html(key_html())
        st.caption(f"The method in plain English: `{DOC}` (the About page has a summary).")


def render_verdicts_apart(board) -> None:
    """Under a table of the review: for each priority whose RAG and assurance seem to disagree (green beside
    'consistently failing'), that both are against the same target and why they differ."""
    for r in board.rows:
        text = words.verdicts_apart(r)
        if text:
            st.caption(f"**{r.label}** — {text}")
