"""The words (and shapes) for RAG ratings, direction of travel, forecasts and data-quality flags,
defined once for every surface: the dashboard, the board pack (PDF and PowerPoint), the CSV exports and
``kpi review``. A rating is always a word, and where there is room a shape too: never colour alone.

Each surface today prints one of a few *styles* of the same word, so the functions take a style:

=========  =======================  ===============================  ======================
style      RAG                      travel                           used by
=========  =======================  ===============================  ======================
plain      ``green``, ``no data``   ``improving``, ``no change``     ``kpi review`` table
upper      ``GREEN``, ``NO DATA``   (as plain)                       packs, CSV, chart marks
icon       ``● Green``              ``▲ Improving``                  dashboard
=========  =======================  ===============================  ======================

Phase 2 of the one-model issue points every surface here and deletes their copies
(dashboard/components.py RAG_TEXT/TRAVEL_TEXT/FLAG_WORDS, reports/tables.py RAG_TEXT/TRAVEL_TEXT,
reports/charts.py FLAG_WORDS and RAG_STYLE's words, reports/boardpack.py FLAG_WORDS/RAG_COLOURS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Style = Literal["plain", "upper", "icon"]

RAGS = ("green", "amber", "red", "no_data")
TRAVELS = ("improving", "worsening", "no_significant_change", "not_enough_data")  # v2 (judgement.md)

RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red", "no_data": "No data"}
#: Glyphs every system font has (emoji-free), one shape per rating.
RAG_SHAPES = {"green": "●", "amber": "◆", "red": "✖", "no_data": "○"}
#: The same shapes as plotly marker symbols (chart checkpoint marks).
RAG_MARKERS = {"green": "circle", "amber": "diamond", "red": "x", "no_data": "circle-open"}
#: Colours with at least 4.5:1 contrast on white (text and marks; the word and shape carry the meaning).
RAG_COLOURS = {"green": "#00703c", "amber": "#8a5300", "red": "#b10e1e", "no_data": "#505a5f"}
#: Light cell tints behind the RAG word (text stays #0b0c0c).
RAG_TINTS = {"green": "#d4ecdc", "amber": "#fbe6c6", "red": "#f6d5d8", "no_data": "#e8eaeb"}
#: A KPI without a target: not rated. ``icon`` style says why.
NOT_RATED = "not rated"
NO_TARGET = "— No target set"

TRAVEL_WORDS = {"improving": "Improving", "worsening": "Worsening",
                "no_significant_change": "No significant change", "not_enough_data": "Not enough data",
                "no_change": "No change"}  # no_change: v1 finals only
#: ▲ always means better.
TRAVEL_SHAPES = {"improving": "▲", "worsening": "▼", "no_significant_change": "▶", "not_enough_data": "…",
                 "no_change": "▶"}
#: No direction of travel (no previous checkpoint, or a missing actual).
NO_TRAVEL = "–"
NOT_KNOWN = "– Not known"


def rag_text(rag: str | None, style: Style = "plain") -> str:
    """A rating in words: ``rag_text("no_data")`` → 'no data', ``"upper"`` → 'NO DATA', ``"icon"`` →
    '○ No data'. ``None`` (no target) → 'not rated', or '— No target set' in the icon style."""
    if rag is None:
        return NO_TARGET if style == "icon" else NOT_RATED
    word = RAG_WORDS[rag]
    if style == "upper":
        return word.upper()
    if style == "icon":
        return f"{RAG_SHAPES[rag]} {word}"
    return word.lower()


def travel_text(travel: str | None, style: Style = "plain") -> str:
    """Direction of travel in words: 'improving', 'no change', '–' (none); icon style '▲ Improving',
    '– Not known'. (The upper style is the plain one: packs print travel in lower case.)"""
    if travel is None:
        return NOT_KNOWN if style == "icon" else NO_TRAVEL
    word = TRAVEL_WORDS[travel]
    return f"{TRAVEL_SHAPES[travel]} {word}" if style == "icon" else word.lower()


ForecastStyle = Literal["sentence", "short", "tile"]


def forecast_text(fc, style: ForecastStyle = "sentence") -> str:
    """A :class:`metrics.projection.Forecast` in words. ``sentence`` (review table, packs, ``kpi review``):
    'on trend to meet by Aug 2025'; ``short`` (dashboard review table): 'on trend: Aug 2025'; ``tile``
    (KPI page headline): 'on trend, met by Aug 2025'. No forecast: '–' (``tile``: '')."""
    from metrics.months import short_month as month_label
    from metrics.projection import STATUS_TEXT

    if fc is None:
        return "" if style == "tile" else "–"
    if fc.status == "reaches_target" and fc.month:
        label = month_label(fc.month)
        return {"sentence": f"on trend to meet by {label}", "short": f"on trend: {label}",
                "tile": f"on trend, met by {label}"}[style]
    return STATUS_TEXT[fc.status]


@dataclass(frozen=True)
class FlagWords:
    """A data-quality flag (``metrics.compute.FLAGS`` holds its full definition) in fewer words."""

    short: str  # a table cell: 'small numbers'
    hover: str  # a chart's hover note
    sentence: str  # a pack's data-quality line, before the months it applies to


FLAG_WORDS: dict[str, FlagWords] = {
    "month_missing": FlagWords(
        "no data for the month", "no data for this month",
        "No data (no extract and no totals uploaded)"),
    "zero_denominator": FlagWords(
        "none in the month", "none in the month, so no percentage",
        "Nothing to count that month (zero denominator), so no value"),
    "small_denominator": FlagWords(
        "small numbers", "small numbers (fewer than 10): one case moves the percentage a lot",
        "Fewer than 10 in the denominator: one case moves the percentage a lot"),
    "figures_sourced": FlagWords(
        "from monthly totals", "from monthly totals, not record-level data",
        "From monthly totals (a figures upload), not record-level data"),
    "snapshot_stale": FlagWords(
        "snapshot taken before month end", "snapshot taken before the month ended",
        "Snapshot taken before the month ended"),
}


def flag_text(code: str, style: Literal["short", "hover", "sentence"] = "short") -> str:
    """A flag code in words (an unknown code is shown as itself, underscores as spaces)."""
    words = FLAG_WORDS.get(code)
    return getattr(words, style) if words else code.replace("_", " ")
