"""metrics/reviews/words.py says every word each surface said before phase 2 of issue 10, word for word
(written out here), and the copies that used to live in dashboard/ and reports/ are gone (the dashboard's
tables still say the same words: the golden test in tests/test_dashboard_layout.py)."""

from __future__ import annotations

import pytest

from metrics.compute import FLAGS
from metrics.projection import Forecast
from metrics.months import short_month
from metrics.reviews import words

ICON = {"green": "● Green", "amber": "◆ Amber", "red": "✖ Red", "no_data": "○ No data"}  # the dashboard's
UPPER = {"green": "GREEN", "amber": "AMBER", "red": "RED", "no_data": "NO DATA"}  # the packs' and charts'


def test_rag_words_every_style():
    from reports import charts, tables

    for rag in words.RAGS:
        assert words.rag_text(rag, "icon") == ICON[rag]
        assert words.rag_text(rag, "upper") == UPPER[rag] == charts.RAG_STYLE[rag]["word"]
        assert words.rag_text(rag) == rag.replace("_", " ")  # kpi review's table
        assert words.RAG_MARKERS[rag] == charts.RAG_STYLE[rag]["symbol"]
        assert words.RAG_COLOURS[rag] == charts.RAG_STYLE[rag]["colour"]
    assert words.RAG_TINTS == {"green": "#d4ecdc", "amber": "#fbe6c6", "red": "#f6d5d8", "no_data": "#e8eaeb"}
    assert words.rag_text(None, "upper") == "not rated"
    assert words.rag_text(None, "icon") == "— No target set"
    assert not hasattr(tables, "RAG_TEXT"), "reports read metrics.reviews.words"


def test_rag_colours_of_the_pack():
    from reports import boardpack, pdf, slides

    assert not hasattr(boardpack, "RAG_COLOURS")
    assert pdf.RAG_COLOURS is slides.RAG_COLOURS is words.RAG_COLOURS


def test_travel_words_every_style():
    from reports import tables

    # v2 (judgement.md section 4): travel comes from the variation verdict
    plain = {"improving": "improving", "worsening": "worsening", "no_significant_change": "no significant change",
             "not_enough_data": "not enough data", None: "–"}
    icon = {"improving": "▲ Improving", "worsening": "▼ Worsening", "no_significant_change": "▶ No significant change",
            "not_enough_data": "… Not enough data", None: "– Not known"}
    for travel in (*words.TRAVELS, None):
        assert words.travel_text(travel) == plain[travel]
        assert words.travel_text(travel, "icon") == icon[travel]
    assert words.travel_text("no_change", "icon") == "▶ No change"  # a v1 final's word
    assert not hasattr(tables, "TRAVEL_TEXT")


def test_flag_words_every_style():
    from reports import boardpack, charts

    short = {"month_missing": "no data for the month", "zero_denominator": "none in the month",
             "small_denominator": "small numbers", "figures_sourced": "from monthly totals",
             "snapshot_stale": "snapshot taken before month end",
             "hybrid_not_separable": "totals count hybrid"}  # the dashboard's
    hover = {"month_missing": "no data for this month", "zero_denominator": "none in the month, so no percentage",
             "small_denominator": "small numbers (fewer than 10): one case moves the percentage a lot",
             "figures_sourced": "from monthly totals, not record-level data",
             "snapshot_stale": "snapshot taken before the month ended",
             "hybrid_not_separable": "monthly totals count hybrid with face to face: no in-person-only value"}  # the charts'
    sentence = {"month_missing": "No data (no extract and no totals uploaded)",
                "zero_denominator": "Nothing to count that month (zero denominator), so no value",
                "small_denominator": "Fewer than 10 in the denominator: one case moves the percentage a lot",
                "figures_sourced": "From monthly totals (a figures upload), not record-level data",
                "snapshot_stale": "Snapshot taken before the month ended",
                "hybrid_not_separable": "Monthly totals count hybrid with face to face, so there is no "
                                        "in-person-only value"}  # the packs'
    assert set(words.FLAG_WORDS) == set(FLAGS)
    for code in FLAGS:
        assert words.flag_text(code) == short[code]
        assert words.flag_text(code, "hover") == hover[code]
        assert words.flag_text(code, "sentence") == sentence[code]
    assert not hasattr(charts, "FLAG_WORDS") and not hasattr(boardpack, "FLAG_WORDS")
    assert words.flag_text("new_flag") == "new flag"


@pytest.mark.parametrize("fc", [
    None, Forecast("reaches_target", "2025-08", (52.0, 68.0), target=60.0), Forecast("already_met"),
    Forecast("trend_not_established"), Forecast("not_enough_data"), Forecast("moving_away"),
])
def test_forecast_words_every_style(fc):
    short = {"already_met": "already met", "trend_not_established": "trend not established",
             "not_enough_data": "not enough data for a trend", "moving_away": "moving away from the target"}
    assert words.forecast_text(fc) == (fc.text if fc else "–")
    assert words.forecast_text(fc, "short") == ("–" if fc is None else f"on trend: {short_month(fc.month)}"
                                                if fc.status == "reaches_target" else short[fc.status])
    assert words.forecast_text(fc, "tile") == ("" if fc is None else f"on trend, met by {short_month(fc.month)}"
                                               if fc.status == "reaches_target" else short[fc.status])
    if fc is not None and fc.status == "reaches_target":
        assert words.forecast_text(fc, fmt=lambda x: f"{x:.1f}%") == (
            "on trend to reach 60.0% by Aug 2025 (95%: 52.0%–68.0% then)")


def test_forecast_words_of_a_v1_final():
    # a v1 final's forecast reads as v2 (metrics.projection.Forecast.from_json)
    v1 = Forecast.from_json({"status": "on_trend", "month": "2025-08", "slope_per_month": -1.0, "points": 6,
                             "target": 20.0})
    assert words.forecast_text(v1, "short") == "on trend: Aug 2025"
    assert words.forecast_text(v1) == "on trend to reach 20 by Aug 2025"
    assert words.forecast_text(Forecast.from_json({"status": "not_on_trend"})) == "trend not established"
    assert words.forecast_text(Forecast("reaches_target", "2025-08", (55.0, 65.0))) == (
        "on trend to meet the target by Aug 2025 (95%: 55–65 then)")
