"""One verdict per checkpoint on every surface (shared/spec/judgement.md section 1, issue 11): for one
checkpoint, the overview, Reviews, Present and KPI pages (Streamlit AppTest), the PDF and PowerPoint packs
and the CSV exports all show the same RAG, variation and assurance for every KPI — the review model's."""

from __future__ import annotations

import base64
import html
import re
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import store
from metrics.kpis import REGISTRY
from metrics.reviews import review_board, words
from metrics.settings import get_settings

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
AT = "2025-03-01"  # the default review on the demo store (judges Jan 2025)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_copy_of, tmp_path_factory) -> Path:
    return demo_copy_of(tmp_path_factory.mktemp("one-verdict") / "kpi.sqlite")


@pytest.fixture(scope="module")
def model(demo):
    conn = store.connect(demo)
    try:
        return review_board(conn, AT)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def expected(model) -> dict[str, dict]:
    """metric → the words every surface must show for it."""
    out = {}
    for r in model.rows:
        out[r.metric] = {
            "rag": r.rag, "rag_icon": words.rag_text(r.rag, "icon"), "rag_upper": words.rag_text(r.rag, "upper"),
            "variation": words.variation_text(r.variation if r.rated else None, "upper", direction=r.direction),
            "assurance": words.assurance_text(r.assurance if r.rated else None, "upper"),
            "raw": (r.rag, r.variation, r.assurance),
        }
    # the demo gives every kind of verdict worth checking
    assert {r.variation for r in model.rated} >= {"improvement", "common_cause"}
    assert {r.assurance for r in model.rated} >= {"consistent_fail", "hit_or_miss", "consistent_pass"}
    return out


@pytest.fixture
def app(demo, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_DB_PATH", str(demo))
    monkeypatch.setenv("KPI_AUTH_MODE", "local")
    monkeypatch.delenv("KPI_ROLES", raising=False)
    get_settings.cache_clear()

    def open_page(page: str, **query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        at.switch_page(page)
        at.query_params.update(query)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield open_page
    get_settings.cache_clear()


def svg_label(data_url: str) -> str:
    svg = base64.b64decode(data_url.split(",", 1)[1]).decode()
    return html.unescape(re.search(r'aria-label="([^"]*)"', svg).group(1))


def badges(at: AppTest) -> str:
    return " ".join(html.unescape(h.proto.body) for h in at.html)


def test_overview(app, expected):
    table = app("views/overview.py").dataframe[0].value.set_index("Priority")
    for metric, e in expected.items():
        row = table.loc[REGISTRY[metric].label]
        assert row["RAG"] == e["rag_icon"], metric
        assert f": {e['variation']} —" in svg_label(row["Variation"]), metric
        assert f": {words.assurance_text(e['raw'][2], 'upper') if e['raw'][0] else 'No target'} —" in \
            svg_label(row["Assurance"]), metric


def test_reviews_page(app, expected):
    at = app("views/reviews.py")
    at.selectbox(key="checkpoint").set_value(AT).run()
    table = at.dataframe[0].value.set_index("KPI")
    for metric, e in expected.items():
        if e["rag"] is None:
            continue
        row = table.loc[REGISTRY[metric].label]
        assert (row["RAG"], row["Variation (words)"], row["Assurance (words)"]) == (
            e["rag_icon"], e["variation"], e["assurance"]), metric
        assert f": {e['variation']} —" in svg_label(row["Variation"])


def test_present_and_kpi_pages(app, expected):
    present = app("views/present.py")
    present.selectbox(key="present_at").set_value(AT).run()
    for metric, e in expected.items():
        shown = badges(present)
        assert present.title[0].value == REGISTRY[metric].label
        assert any(m.value == f"## {e['rag_icon']}" for m in present.markdown), metric
        assert f">{e['variation']}<" in shown and f">{e['assurance'] if e['rag'] else 'No target'}<" in shown, metric
        present.button(key="present_i-next").click().run()
    for metric, e in expected.items():
        page = app("views/kpi.py", kpi=metric)
        tiles = {m.label.split(",")[0]: m.value for m in page.metric}
        assert tiles["RAG"] == e["rag_icon"], metric
        shown = badges(page)
        assert f">{e['variation']}<" in shown and f">{e['assurance'] if e['rag'] else 'No target'}<" in shown, metric


def test_csv_exports(demo, model, expected):
    from dashboard.components.review import review_export_frame
    from reports.tables import load, review_table

    conn = store.connect(demo)
    try:
        table = review_table(conn, AT, data=load(conn, model.checkpoint)).set_index("metric")
    finally:
        conn.close()
    export = review_export_frame(model).set_index("kpi_id")
    for metric, e in expected.items():
        rag, variation, assurance = e["raw"]
        assert (table.loc[metric, "rag"], table.loc[metric, "variation"], table.loc[metric, "assurance"]) == (
            rag, variation, assurance), metric
        assert table.loc[metric, "method"] == "docs/judgement.md"
        if rag is not None:
            assert (export.loc[metric, "rag"], export.loc[metric, "variation"], export.loc[metric, "assurance"]) == (
                rag, variation, assurance), metric


def test_pdf_and_powerpoint_packs(demo, expected, tmp_path):
    from pptx import Presentation

    from reports.boardpack import build_pack

    conn = store.connect(demo)
    try:
        pdf = build_pack(conn, AT, tmp_path / "pack.pdf").path
        pptx = build_pack(conn, AT, tmp_path / "pack.pptx").path
    finally:
        conn.close()
    pages = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout.split("\f")
    slides = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame)
              for s in Presentation(str(pptx)).slides]
    for metric, e in expected.items():
        kpi = REGISTRY[metric]
        page = next(re.sub(r"\s+", " ", p) for p in pages if re.sub(r"\s+", " ", p).lstrip().startswith(
            f"{kpi.tor} {kpi.label}") or f"\n{kpi.tor}  {kpi.label}\n" in p or f"{kpi.tor} {kpi.label}\n" in p)
        assert e["rag_upper"] in page, metric
        assert f"Variation: {e['variation']}" in page and f"Assurance: {e['assurance']}" in page, metric
        slide = next(s for s in slides if s.startswith((f"{kpi.tor}  {kpi.label}", kpi.label)))
        assert e["rag_upper"] in slide and e["variation"] in slide and e["assurance"] in slide, metric
