"""metrics/reviews/words.py says every word each surface says today: the copies in reports/ (deleted in
phase 2, when those surfaces read words.py) agree with it word for word. The dashboard's copies are gone
(tests/test_dashboard_layout.py); its tables still say the same words (the golden test there)."""

from __future__ import annotations

import pytest

from metrics.compute import FLAGS
from metrics.forecast import Forecast
from metrics.reviews import words


def test_rag_words_every_style():
    from reports import charts, tables

    icon = {"green": "● Green", "amber": "◆ Amber", "red": "✖ Red", "no_data": "○ No data"}  # the dashboard's
    for rag in words.RAGS:
        assert words.rag_text(rag, "icon") == icon[rag]
        assert words.rag_text(rag, "upper") == tables.RAG_TEXT[rag] == charts.RAG_STYLE[rag]["word"]
        assert words.rag_text(rag) == rag.replace("_", " ")  # kpi review's table
        assert words.RAG_MARKERS[rag] == charts.RAG_STYLE[rag]["symbol"]
        assert words.RAG_COLOURS[rag] == charts.RAG_STYLE[rag]["colour"]
    assert words.RAG_TINTS == {"green": "#d4ecdc", "amber": "#fbe6c6", "red": "#f6d5d8", "no_data": "#e8eaeb"}
    assert words.rag_text(None, "upper") == tables.RAG_TEXT[None]
    assert words.rag_text(None, "icon") == "— No target set"


def test_rag_colours_of_the_pack():
    from reports import boardpack

    assert {k: v for k, v in boardpack.RAG_COLOURS.items() if k} == words.RAG_COLOURS


def test_travel_words_every_style():
    from reports import tables

    icon = {"improving": "▲ Improving", "worsening": "▼ Worsening", "no_change": "▶ No change", None: "– Not known"}
    for travel in (*words.TRAVELS, None):
        assert words.travel_text(travel) == tables.TRAVEL_TEXT[travel]
        assert words.travel_text(travel, "icon") == icon[travel]


def test_flag_words_every_style():
    from reports import boardpack, charts

    short = {"month_missing": "no data for the month", "zero_denominator": "none in the month",
             "small_denominator": "small numbers", "figures_sourced": "from monthly totals",
             "snapshot_stale": "snapshot taken before month end"}  # the dashboard's
    assert set(words.FLAG_WORDS) == set(FLAGS)
    for code in FLAGS:
        assert words.flag_text(code) == short[code]
        assert words.flag_text(code, "hover") == charts.FLAG_WORDS[code]
        assert words.flag_text(code, "sentence") == boardpack.FLAG_WORDS[code]
    assert words.flag_text("new_flag") == "new flag"


@pytest.mark.parametrize("fc", [
    None, Forecast("on_trend", "2025-08"), Forecast("already_met", "2024-05"), Forecast("not_on_trend"),
    Forecast("insufficient_data"),
])
def test_forecast_words_every_style(fc):
    from metrics.forecast import month_label

    short = {"already_met": "already met", "not_on_trend": "not on current trend",
             "insufficient_data": "insufficient data"}  # the dashboard's review table
    assert words.forecast_text(fc) == (fc.text if fc else "–")
    assert words.forecast_text(fc, "short") == ("–" if fc is None else f"on trend: {month_label(fc.month)}"
                                                if fc.status == "on_trend" else short[fc.status])
    assert words.forecast_text(fc, "tile") == ((fc.text if fc else "") or "").replace("on trend to meet by",
                                                                                      "on trend, met by")
