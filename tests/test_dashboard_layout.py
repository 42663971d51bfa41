"""The dashboard's shape (issue 10): pages stay short and shape no data; the dashboard keeps no copy of
the review words; its tables are formattings of the one review model, identical to what the pages
showed before the model existed (tests/fixtures/review_model_golden.json.gz)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

import review_variants as rv
from metrics import store
from metrics.reviews import current_series, load_settings, review_board

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "dashboard" / "views").glob("*.py"))
GOLDEN = ROOT / "tests" / "fixtures" / "review_model_golden.json.gz"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_is_short_and_runs_no_groupby(page):
    text = page.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 80, f"{page.name} has {len(text.splitlines())} lines (at most 80)"
    assert "groupby" not in text, f"{page.name} shapes data: move it into metrics/ and cache it in loaders"


def test_the_dashboard_keeps_no_copy_of_the_review_words():
    copies = re.compile(r"^\s*(RAG_TEXT|TRAVEL_TEXT|NOT_KNOWN|NO_TARGET|FLAG_WORDS|RAG_TINTS?|TREND_MONTHS)\s*=|"
                        r"^def (forecast_text|rag_text|travel_text|_trend|latest_data_month)\(", re.MULTILINE)
    for path in (ROOT / "dashboard").rglob("*.py"):
        found = copies.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.relative_to(ROOT)} defines {found}: use metrics.reviews (words, model, views)"
        assert not re.search(r"metrics\.review\b(?!s)", path.read_text(encoding="utf-8")), path


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(gzip.decompress(GOLDEN.read_bytes()))


def _recorded(x):
    """``x`` as tests/fixtures/make_review_golden.py recorded it (its ``plain``/``frame``, through JSON)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_review_golden", GOLDEN.with_name("make_review_golden.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return json.loads(json.dumps({k: mod.frame(v) if hasattr(v, "to_dict") else mod.plain(v) for k, v in x.items()}))


@pytest.mark.parametrize("name", rv.VARIANTS)
def test_the_tables_are_what_the_pages_showed(golden, name, demo_template, tmp_path):
    from dashboard.components.kpi import board_frame, board_notes
    from dashboard.components.review import review_export_frame, review_frame

    path = rv.make_variant(name, demo_template, tmp_path / "kpi.sqlite")
    conn = store.connect(path)
    try:
        settings = load_settings(conn)
        series = current_series(conn, settings)
        for at, want in golden[name].items():
            board = review_board(conn, at, settings=settings, series=series)
            got = rv.mask(_recorded({"board_frame": board_frame(board), "board_notes": board_notes(board),
                                     "review_frame": review_frame(board),
                                     "review_export_frame": review_export_frame(board)}))
            for part, value in got.items():
                assert value == rv.mask(want[part]), (name, at, part)
    finally:
        conn.close()
