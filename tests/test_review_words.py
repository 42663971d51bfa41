"""metrics/reviews/words.py says every word each surface says today: the copies in dashboard/ and
reports/ (deleted in phase 2, when those surfaces read words.py) agree with it word for word."""

from __future__ import annotations

import pytest

from metrics.compute import FLAGS
from metrics.forecast import Forecast
from metrics.reviews import words


def test_rag_words_every_style():
    from dashboard import components
    from reports import charts, tables

    for rag in words.RAGS:
        assert words.rag_text(rag, "icon") == components.RAG_TEXT[rag] == components.rag_text(rag)
        assert words.rag_text(rag, "upper") == charts.RAG_STYLE[rag]["word"]
        assert words.rag_text(rag) == rag.replace("_", " ")  # kpi review's table
        assert words.RAG_MARKERS[rag] == charts.RAG_STYLE[rag]["symbol"]
        assert words.RAG_COLOURS[rag] == charts.RAG_STYLE[rag]["colour"]
        assert words.RAG_TINTS[rag] == components.RAG_TINT[rag]
    assert not hasattr(tables, "RAG_TEXT"), "reports read metrics.reviews.words"
    assert words.rag_text(None, "icon") == components.rag_text(None)


def test_rag_colours_of_the_pack():
    from reports import boardpack, pdf, slides

    assert not hasattr(boardpack, "RAG_COLOURS")
    assert pdf.RAG_COLOURS is slides.RAG_COLOURS is words.RAG_COLOURS


def test_travel_words_every_style():
    from dashboard import components
    from reports import tables

    for travel in (*words.TRAVELS, None):
        assert not hasattr(tables, "TRAVEL_TEXT")
        assert words.travel_text(travel, "icon") == components.travel_text(travel)


def test_flag_words_every_style():
    from dashboard import components
    from reports import boardpack, charts

    assert set(words.FLAG_WORDS) == set(FLAGS)
    for code in FLAGS:
        assert words.flag_text(code) == components.FLAG_WORDS[code]
    assert not hasattr(charts, "FLAG_WORDS") and not hasattr(boardpack, "FLAG_WORDS")
    assert words.flag_text("new_flag") == "new flag"


@pytest.mark.parametrize("fc", [
    None, Forecast("on_trend", "2025-08"), Forecast("already_met", "2024-05"), Forecast("not_on_trend"),
    Forecast("insufficient_data"),
])
def test_forecast_words_every_style(fc):
    from dashboard import components

    assert words.forecast_text(fc) == (fc.text if fc else "–")
    assert words.forecast_text(fc, "short") == components.forecast_text(fc)
    assert words.forecast_text(fc, "tile") == ((fc.text if fc else "") or "").replace("on trend to meet by",
                                                                                      "on trend, met by")
