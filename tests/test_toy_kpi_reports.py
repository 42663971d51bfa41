"""The reports side of the one KPI declaration and the one review model (issue 10, phase 2).

An eleventh KPI registered from outside (``kpi_registry.registered``) with a target in the review settings is
seen in the board pack (its model, and the PDF and PowerPoint files), the restricted and public series
CSV and the review CSV — without editing any other module. And the review rows and review CSV, now a
formatting of the review model, give exactly what they gave before (the golden record of
tests/fixtures/review_model_golden.json.gz).
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pandas as pd
import pytest

from metrics import kpi_registry
from metrics.kpis import KPI, REGISTRY, Part, SecondaryMeasure

REVIEW = dt.date(2024, 6, 1)

TOY = KPI(
    id="audits_requires_improvement", tor="2b(vi)", label="Audits graded requires improvement (%)",
    unit="percent", direction="down", source_kind="audits", priority="Improve the quality of practice",
    definition="Case-file audits completed in the month graded requires improvement, as a percentage of all.",
    numerator=Part("grade_requires_improvement", "Requires improvement", "audits"),
    denominator=Part("audits", "All audits", "audits"),
    rule="Audits with audit_date in M graded requires_improvement ÷ all audits with audit_date in M, × 100.",
    counts_people=True, breakdowns=("team",),
    secondary=(SecondaryMeasure("audits_outstanding_count", "Audits graded outstanding", "count",
                                "Audits completed in the month graded outstanding.", "grade_outstanding",
                                pack="{value} audits were graded outstanding."),),
)


# --- the review rows and CSV are what they were ---------------------------------------------------


def test_review_rows_and_table_match_the_golden_record(demo_template, tmp_path_factory):
    import gzip
    import json
    from pathlib import Path

    import review_variants as rv
    from fixtures.make_review_golden import frame, plain

    from metrics import store
    from reports.tables import load, review_rows, review_table

    assert TOY.id not in REGISTRY, "runs before the toy KPI is registered (by the fixtures below)"
    golden = json.loads(gzip.decompress(
        (Path(__file__).resolve().parent / "fixtures" / "review_model_golden.json.gz").read_bytes()))
    for name in rv.VARIANTS:
        path = rv.make_variant(name, demo_template, tmp_path_factory.mktemp(f"golden-{name}") / "kpi.sqlite")
        conn = store.connect(path)
        try:
            for at in [*rv.checkpoint_dates(path), *rv.EXTRA_DATES]:
                d = load(conn, dt.date.fromisoformat(at))
                want = golden[name][at]
                assert rv.mask(plain(review_rows(d))) == want["review_rows"], (name, at)
                assert rv.mask(plain(review_rows(d, public=True))) == want["review_rows_public"], (name, at)
                assert rv.mask(frame(review_table(conn, at, data=d))) == want["review_table"], (name, at)
                assert rv.mask(frame(review_table(conn, at, public=True, data=d))) == \
                    want["review_table_public"], (name, at)
        finally:
            conn.close()


# --- an eleventh KPI ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_db(demo_copy_of, tmp_path_factory):
    """A demo store whose review settings give the toy KPI a target; the toy is registered meanwhile."""
    from metrics import store
    from metrics.reviews import default_settings, save_settings
    from metrics.reviews.settings import KpiTarget

    path = demo_copy_of(tmp_path_factory.mktemp("toy-reports") / "kpi.sqlite")
    with kpi_registry.registered(TOY):
        conn = store.connect(path)
        try:
            s = default_settings()
            s = s.model_copy(update={"targets": {**s.targets, TOY.id: KpiTarget(
                baseline_month="2023-02", baseline_value=40.0, final_target=20.0,
                final_date=s.targets["agency_rate"].final_date, tolerance=5.0)}})
            save_settings(conn, s, by="analyst", note="toy KPI")
        finally:
            conn.close()
        yield path
    assert TOY.id not in REGISTRY


@pytest.fixture(scope="module")
def data(toy_db):
    from metrics import store
    from reports.tables import load

    conn = store.connect(toy_db)
    try:
        return load(conn, REVIEW)
    finally:
        conn.close()


def _model(toy_db, data, public: bool):
    from metrics import store
    from reports.pack.build import build_model

    conn = store.connect(toy_db)
    try:
        return build_model(conn, data, public=public, include_teams=True, by="tester")
    finally:
        conn.close()


def test_toy_kpi_is_in_the_pack_model(toy_db, data):
    rated = data.review.row(TOY.id)
    assert rated.rated and rated.rag in ("green", "amber", "red")
    for public in (False, True):
        m = _model(toy_db, data, public)
        assert [p.kpi.id for p in m.kpis][-1] == TOY.id
        row = m.summary.rows[-1]
        assert row[0] == f"{TOY.tor}  {TOY.label}" and row[2] == TOY.format(rated.target)
        page = m.kpis[-1]
        assert page.title == f"{TOY.tor}  {TOY.label}"
        assert page.recent.header == ["Month", "%", "Requires improvement", "All audits"]
        assert page.teams is not None and page.teams.header[2:] == ["Requires improvement", "All audits"]
        assert page.definition.startswith(TOY.definition) and page.definition.endswith("Lower is better.")
        assert (f"{TOY.tor}  {TOY.label}", page.definition) in m.definitions
        if not public:
            assert row[3] == rated.rag.upper()
            assert any(d.endswith("audits were graded outstanding.") for d in page.details), page.details
    assert m.overall.startswith(f"{data.review.summary['green']} of 11 priorities green")


def test_toy_kpi_chart_comes_from_the_one_builder(data):
    from reports.pack.build import figure

    fig = figure(data, TOY, False)
    names = [t.name for t in fig.data]
    assert names[:2] == ["Actual (monthly)", "Target trajectory"]
    assert any(a.text.startswith("Mar 24<br>") for a in fig.layout.annotations)


@pytest.mark.slow
@pytest.mark.parametrize("fmt, public", [("pdf", False), ("pptx", True)])
def test_toy_kpi_is_in_the_pack_files(toy_db, tmp_path, fmt, public):
    from metrics import store
    from reports.boardpack import build_pack

    conn = store.connect(toy_db)
    try:
        info = build_pack(conn, REVIEW, tmp_path / f"pack.{fmt}", public=public, by="tester")
    finally:
        conn.close()
    assert info.kpis == 11
    if fmt == "pdf":
        text = subprocess.run(["pdftotext", str(info.path), "-"], check=True, capture_output=True,
                              text=True).stdout
    else:
        from pptx import Presentation

        text = "\n".join(sh.text_frame.text if sh.has_text_frame else
                         "\n".join(c.text for r in sh.table.rows for c in r.cells)
                         for slide in Presentation(str(info.path)).slides for sh in slide.shapes
                         if sh.has_text_frame or sh.has_table)
    assert " ".join(text.split()).count("Audits graded requires improvement") >= 2  # summary and its page


def test_toy_kpi_is_in_the_csv_exports(toy_db, data):
    from metrics import store
    from reports.tables import review_table, series_table, to_csv

    conn = store.connect(toy_db)
    try:
        for public in (False, True):
            series = pd.read_csv(io.BytesIO(to_csv(series_table(conn, public=public, data=data))),
                                 encoding="utf-8-sig", dtype=str)
            mine = series[series["metric"] == TOY.id]
            assert len(mine) > 12 and set(mine["label"]) == {TOY.label} and set(mine["unit"]) == {"percent"}
            assert mine["value"].notna().any()
            review = pd.read_csv(io.BytesIO(to_csv(review_table(conn, REVIEW, public=public, data=data))),
                                 encoding="utf-8-sig", dtype=str)
            assert list(review["metric"])[-1] == TOY.id
            row = review.iloc[-1]
            # judgement.md section 1: 1 Jun 2024 less the 14-day reporting lag judges April
            assert row["label"] == TOY.label and row["actual_month"] == "2024-04"
            assert row["rag"] in ("green", "amber", "red", "c")
            if not public:
                assert row["rag"] == data.review.row(TOY.id).rag
    finally:
        conn.close()


def test_pack_cells_name_no_kpi():
    """The pack's cell model reads declarations: no KPI id appears in reports/disclosure.py or the pack."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "reports"
    for name in ("disclosure.py", "suppression.py", "tables.py", "charts.py", "pack/build.py", "pack/model.py"):
        text = (root / name).read_text()
        assert not [k for k in REGISTRY if f'"{k}"' in text], name


def test_the_packs_hold_the_final_target_to_the_last_checkpoint(data):
    """One target-line behaviour (the dashboard's): after the final date the line stays at the final
    target up to the last checkpoint, which is judged against it."""
    from reports.charts import DASHBOARD, PACK, trajectory
    from reports.pack.build import figure

    t = data.settings.targets["agency_rate"]
    last = max(c.date for c in data.settings.checkpoints)
    assert last > t.final_date
    line = trajectory(data.settings, "agency_rate")
    assert line["date"].iloc[-1] == last and line["target"].iloc[-1] == pytest.approx(t.end_target)
    fig = figure(data, REGISTRY["agency_rate"], False)
    target = next(tr for tr in fig.data if tr.name == "Target trajectory")
    assert pd.Timestamp(target.x[-1]).date() == last and target.y[-1] == pytest.approx(t.end_target)
    assert (PACK.large, DASHBOARD.large) == (True, False)
