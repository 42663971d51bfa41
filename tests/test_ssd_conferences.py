"""The two SSD conference tables (``ssd_initial_cp_conference``, ``ssd_cp_reviews``) load side by side.

Conferences uploads are scoped by conference type, as figures are by KPI (metrics/store.py
``scopes_and_months``): an SSD table covers its own type of its months, a product-format conferences file both.
So a council loads both tables in either order, in one batch or separately, and nothing is lost or counted
twice; a product CSV still supersedes (and is superseded by) them. The check that matters: the KPIs equal those
of the same conferences loaded as one product CSV. Every file is synthetic and built here."""

from __future__ import annotations

import contextlib
import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from metrics import compute, impact, store
from metrics.ingest import commit, ingest_all, ingest_bytes, prepare, withdraw_upload
from metrics.settings import get_settings

# conference id, child, date, format: February and March 2024
INITIAL = [("IC0001", "C000401", "2024-02-06", "face_to_face"), ("IC0002", "C000402", "2024-02-19", "virtual"),
           ("IC0003", "C000403", "2024-03-04", "hybrid"), ("IC0004", "C000406", "2024-03-21", "virtual")]
REVIEWS = [("RC0001", "C000404", "2024-02-08", "virtual"), ("RC0002", "C000405", "2024-03-12", "face_to_face"),
           ("RC0003", "C000401", "2024-03-26", "virtual")]
MONTHS = ["2024-02", "2024-03"]
KPI = "face_to_face_conferences"


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode()


def ssd_initial(rows=INITIAL) -> bytes:
    return _csv(["icpc_icpc_id", "icpc_referral_id", "icpc_person_id", "icpc_icpc_date", "format"],
                [[i, "R1", c, f"{d} 00:00:00.000", f] for i, c, d, f in rows])


def ssd_reviews(rows=REVIEWS) -> bytes:
    return _csv(["cppr_cp_review_id", "cppr_cp_plan_id", "cppr_person_id", "cppr_cp_review_date", "format"],
                [[i, "P1", c, f"{d} 00:00:00.000", f] for i, c, d, f in rows])


def product(initial=INITIAL, reviews=REVIEWS) -> bytes:
    rows = [[i, c, "initial", d, f] for i, c, d, f in initial] + [[i, c, "review", d, f] for i, c, d, f in reviews]
    return _csv(["conference_id", "child_id", "conference_type", "conference_date", "format"], rows)


def load(db: Path, data: bytes, name: str, **kw) -> dict:
    with contextlib.closing(store.connect(db)) as conn:
        r = ingest_bytes(conn, data, name, uploaded_by="tester", **kw)
    assert r.status in ("accepted", "unchanged"), [(e.rule, e.message) for e in r.errors]
    return {"id": r.upload_id, "status": r.status, "source": r.source, "replaces": [u["id"] for u in r.replaces]}


def figures(db: Path) -> dict:
    """What a council sees for conferences: the KPI, its breakdown by type and format, the rows that count."""
    with contextlib.closing(store.connect(db)) as conn:
        series = compute.compute_series(conn, metrics=[KPI])
        by_type = compute.breakdown(conn, KPI, by="conference_type")
        by_format = compute.breakdown(conn, KPI, by="format")
        rows = store.read_current(conn, "conferences").drop(columns=["format"])

    def records(frame) -> list[dict]:  # NaN (no value) as None, so two answers compare equal
        return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                for r in frame.to_dict("records")]

    return {
        "series": records(series[["month", "value", "numerator", "denominator", "flags"]]),
        "by_type": records(by_type),
        "by_format": records(by_format),
        "rows": sorted(map(tuple, rows.astype(str).to_numpy())),
    }


def statuses(db: Path) -> dict[int, str]:
    with contextlib.closing(store.connect(db)) as conn:
        return {u["id"]: u["status"] for u in store.list_uploads(conn)}


def pointers(db: Path) -> dict[tuple[str, str], int]:
    with contextlib.closing(store.connect(db)) as conn:
        return {(r[0], r[1]): r[2] for r in conn.execute(
            "SELECT scope, month, upload_id FROM current_months WHERE kind = 'conferences'")}


@pytest.fixture
def combined(fresh_db, tmp_path) -> dict:
    """The KPIs of the same conferences loaded as one product CSV, in a second store with the same key."""
    other = tmp_path / "combined.sqlite"
    shutil.copyfile(fresh_db, other)
    load(other, product(), "conferences.csv")
    return figures(other)


@pytest.mark.parametrize("order", ["initial first", "reviews first"])
def test_both_tables_in_either_order_give_the_kpis_of_one_combined_csv(order, fresh_db, combined):
    files = [(ssd_initial(), "ssd_initial_cp_conference.csv"), (ssd_reviews(), "ssd_cp_reviews.csv")]
    if order == "reviews first":
        files.reverse()
    first = load(fresh_db, *files[0])
    second = load(fresh_db, *files[1])
    assert second["replaces"] == []  # the other table is not superseded
    assert statuses(fresh_db) == {first["id"]: "current", second["id"]: "current"}
    got = figures(fresh_db)
    assert got == combined
    assert len(got["rows"]) == len(INITIAL) + len(REVIEWS)
    feb = next(r for r in got["series"] if r["month"] == "2024-02")
    assert (feb["numerator"], feb["denominator"]) == (1, 3)  # 1 face to face of 2 initial + 1 review
    ids = {"initial": first["id"] if order == "initial first" else second["id"],
           "review": second["id"] if order == "initial first" else first["id"]}
    assert pointers(fresh_db) == {(t, m): ids[t] for t in ids for m in MONTHS}


def test_both_tables_in_one_kpi_ingest_command(run_kpi, fresh_db, combined, tmp_path):
    a, b = tmp_path / "ssd_initial_cp_conference.csv", tmp_path / "ssd_cp_reviews.csv"
    a.write_bytes(ssd_initial())
    b.write_bytes(ssd_reviews())
    res = run_kpi("ingest", a, b, "--json")
    assert res.code == 0, res.err
    assert [r["status"] for r in res.json()] == ["accepted", "accepted"]
    assert figures(fresh_db) == combined


def _workbook(*sheets: tuple[str, bytes]) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    for name, data in sheets:
        ws = wb.add_worksheet(name)
        for r, line in enumerate(data.decode().splitlines()):
            ws.write_row(r, 0, line.split(","))
    wb.close()
    return buf.getvalue()


def test_both_tables_as_two_sheets_of_one_workbook(fresh_db, combined):
    book = _workbook(("ssd_initial_cp_conference", ssd_initial()), ("ssd_cp_reviews", ssd_reviews()))
    with contextlib.closing(store.connect(fresh_db)) as conn:
        results = ingest_all(conn, book, "ssd.xlsx", uploaded_by="tester")
    assert [(r.status, r.source) for r in results] == [
        ("accepted", "SSD ssd_initial_cp_conference (Excel)"), ("accepted", "SSD ssd_cp_reviews (Excel)")]
    assert figures(fresh_db) == combined


def test_reloading_one_table_unchanged_stores_nothing_and_keeps_the_other(fresh_db, combined, digest):
    first = load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    load(fresh_db, ssd_reviews(), "ssd_cp_reviews.csv")
    before = digest(fresh_db)
    again = load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    assert (again["status"], again["id"]) == ("unchanged", first["id"])
    assert digest(fresh_db) == before
    assert figures(fresh_db) == combined


def test_a_corrected_table_replaces_only_its_own_earlier_upload(fresh_db, tmp_path):
    first = load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    reviews = load(fresh_db, ssd_reviews(), "ssd_cp_reviews.csv")
    fixed = [(*r[:3], "face_to_face") for r in INITIAL]  # every initial conference face to face after all
    again = load(fresh_db, ssd_initial(fixed), "ssd_initial_cp_conference.csv")
    assert again["replaces"] == [first["id"]]
    assert statuses(fresh_db) == {first["id"]: "superseded", reviews["id"]: "current", again["id"]: "current"}
    got = figures(fresh_db)
    assert len(got["rows"]) == len(INITIAL) + len(REVIEWS)  # never 4 + 4 + 3
    feb = next(r for r in got["series"] if r["month"] == "2024-02")
    assert (feb["numerator"], feb["denominator"]) == (2, 3)


def test_a_product_csv_after_the_tables_supersedes_both(fresh_db, combined):
    a = load(fresh_db, ssd_initial([r for r in INITIAL if r[0] != "IC0004"]), "ssd_initial_cp_conference.csv")
    b = load(fresh_db, ssd_reviews(REVIEWS[:1]), "ssd_cp_reviews.csv")
    p = load(fresh_db, product(), "conferences.csv")
    assert p["replaces"] == [a["id"], b["id"]]
    assert statuses(fresh_db) == {a["id"]: "superseded", b["id"]: "superseded", p["id"]: "current"}
    assert figures(fresh_db) == combined


def test_the_tables_after_a_product_csv_each_replace_their_own_type(fresh_db, combined):
    old = [(i, c, d, "virtual") for i, c, d, _ in INITIAL]
    p = load(fresh_db, product(initial=old, reviews=[(i, c, d, "virtual") for i, c, d, _ in REVIEWS]), "conf.csv")
    a = load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    assert a["replaces"] == [p["id"]]
    assert statuses(fresh_db)[p["id"]] == "current"  # it still gives the review conferences
    mid = figures(fresh_db)
    assert len(mid["rows"]) == len(INITIAL) + len(REVIEWS)
    assert sorted(r[3] for r in mid["rows"]) == ["initial"] * len(INITIAL) + ["review"] * len(REVIEWS)
    b = load(fresh_db, ssd_reviews(), "ssd_cp_reviews.csv")
    assert b["replaces"] == [p["id"]]
    assert statuses(fresh_db) == {p["id"]: "superseded", a["id"]: "current", b["id"]: "current"}
    assert figures(fresh_db) == combined


def test_undoing_one_table_leaves_the_other(fresh_db, tmp_path):
    initial_only = tmp_path / "initial_only.sqlite"
    shutil.copyfile(fresh_db, initial_only)
    load(initial_only, product(reviews=[]), "initial.csv")
    a = load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    b = load(fresh_db, ssd_reviews(), "ssd_cp_reviews.csv")
    with contextlib.closing(store.connect(fresh_db)) as conn:
        out = withdraw_upload(conn, b["id"], by="tester")
    assert out["fallback"] == {} and out["empty"] == ["2024-02 (review conferences)", "2024-03 (review conferences)"]
    assert statuses(fresh_db) == {a["id"]: "current", b["id"]: "withdrawn"}
    assert figures(fresh_db) == figures(initial_only)
    with contextlib.closing(store.connect(fresh_db)) as conn:  # and restore brings it back beside the other
        store.restore(conn, b["id"])
    assert statuses(fresh_db) == {a["id"]: "current", b["id"]: "restored"}
    assert len(figures(fresh_db)["rows"]) == len(INITIAL) + len(REVIEWS)


def test_undoing_a_table_that_replaced_part_of_a_product_csv_brings_that_part_back(fresh_db, combined):
    p = load(fresh_db, product(), "conferences.csv")
    b = load(fresh_db, ssd_reviews(REVIEWS[:1]), "ssd_cp_reviews.csv")
    with contextlib.closing(store.connect(fresh_db)) as conn:
        out = withdraw_upload(conn, b["id"], by="tester")
    assert out["fallback"] == {p["id"]: ["2024-02 (review conferences)"]}  # the table covered February only
    assert statuses(fresh_db)[p["id"]] == "current"
    assert figures(fresh_db) == combined


def test_withdrawing_a_product_csv_names_its_months_once(fresh_db):
    p = load(fresh_db, product(), "conferences.csv")
    with contextlib.closing(store.connect(fresh_db)) as conn:
        out = withdraw_upload(conn, p["id"], by="tester")
    assert out["empty"] == MONTHS


def test_the_same_conference_in_both_tables_is_refused_as_counted_twice(fresh_db, digest):
    load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    before = digest(fresh_db)
    with contextlib.closing(store.connect(fresh_db)) as conn:
        r = ingest_bytes(conn, ssd_reviews([*REVIEWS, ("IC0003", "C000403", "2024-03-04", "hybrid")]),
                         "ssd_cp_reviews.csv", uploaded_by="tester")
    assert r.status == "refused"
    (e,) = r.errors
    assert e.rule == "duplicate_event" and e.row == 5
    assert "already counted in 2024-03 (initial conferences), in upload 1" in e.message
    assert "IC0003" not in e.message and "C000403" not in e.message and "IC0003" not in (e.value or "")
    assert digest(fresh_db) == before


def test_ssd_headers_with_their_own_conference_type_are_a_whole_conferences_file(fresh_db, combined):
    a = load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    rows = [[i, c, t, d, f] for t, table in (("initial", INITIAL), ("review", REVIEWS)) for i, c, d, f in table]
    data = _csv(["icpc_icpc_id", "icpc_person_id", "conference_type", "icpc_icpc_date", "format"], rows)
    both = load(fresh_db, data, "icpc_with_type.csv")
    assert both["source"] == "SSD ssd_initial_cp_conference with its own conference_type (CSV)"
    assert both["replaces"] == [a["id"]]
    assert pointers(fresh_db) == {(t, m): both["id"] for t in ("initial", "review") for m in MONTHS}
    assert figures(fresh_db) == combined


def test_the_kpi_page_names_both_tables_as_sources(fresh_db):
    from metrics import sources

    load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    load(fresh_db, ssd_reviews(), "ssd_cp_reviews.csv")
    with contextlib.closing(store.connect(fresh_db)) as conn:
        found = sources.current_sources(conn, "conferences", KPI)
    assert found == [("SSD ssd_initial_cp_conference (CSV)", MONTHS), ("SSD ssd_cp_reviews (CSV)", MONTHS)]


def test_the_coverage_grid_shows_conferences_loaded(fresh_db):
    from metrics.views import coverage_grid

    load(fresh_db, ssd_initial(), "ssd_initial_cp_conference.csv")
    with contextlib.closing(store.connect(fresh_db)) as conn:
        grid = coverage_grid(store.coverage(conn))
    assert grid.loc["2024-02", "conferences"] == "✓ loaded, initial conferences only"  # the reviews table not yet
    load(fresh_db, ssd_reviews(REVIEWS[:1]), "ssd_cp_reviews.csv")
    load(fresh_db, product(), "conferences.csv")
    load(fresh_db, ssd_reviews(), "ssd_cp_reviews.csv")
    with contextlib.closing(store.connect(fresh_db)) as conn:
        grid = coverage_grid(store.coverage(conn))
    assert grid.loc["2024-02", "conferences"] == "✓ loaded (2 replaced)"  # February's reviews: loaded 3 times
    assert grid.loc["2024-03", "conferences"] == "✓ loaded (1 replaced)"


def test_the_upload_preview_of_a_table_follows_its_scope(demo_template, tmp_path, monkeypatch):
    """The impact preview (metrics.impact) applies the table as the real load does: only its own type."""
    from helpers_pages import point_at
    from metrics.demo_store import DEMO_KEY
    from metrics.reviews import load_settings, review_board

    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    point_at(monkeypatch, path, tmp_path, key=DEMO_KEY)
    try:
        with contextlib.closing(store.connect(path)) as conn:
            rows = [(f"RV{i:03d}", f"C9{i:05d}", "2024-04-15", "face_to_face") for i in range(40)]
            p = prepare(conn, ssd_reviews(rows), "ssd_cp_reviews.csv")
            assert p.ok, p.result.errors
            product_id = p.result.replaces[0]["id"]
            s = load_settings(conn)
            dates = [c.date.isoformat() for c in s.checkpoints]
            before = [review_board(conn, d, settings=s) for d in dates]
            got = impact.upload_impact(conn, [p])
            assert commit(conn, p, uploaded_by="tester").status == "accepted"
            after = [review_board(conn, d, settings=s) for d in dates]
            assert store.get_upload(conn, product_id)["status"] == "current"  # its initial conferences still count
    finally:
        get_settings.cache_clear()
    expected = {(b.at, r.metric, r.actual, a.row(r.metric).actual) for b, a in zip(before, after) for r in b.rated
                if r.metric == KPI and r.actual != a.row(r.metric).actual}
    assert expected  # the example changes the KPI at some review
    assert {(c.checkpoint, c.metric, c.old_value, c.new_value) for c in got.changes if c.metric == KPI} == expected


# --- an older store (schema before conference scopes) ---------------------------------------------------------


def _v7_store(path: Path) -> None:
    """A store at schema version 7 with conferences loaded the old way: the initial table, then the reviews
    table for the same months (which superseded it: the bug this fixes), and a product CSV for January."""
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.executescript((Path(__file__).parent / "fixtures" / "schema_versions" / "v7.sql").read_text())
        ups = [(3, '["2024-02", "2024-03"]', "superseded", "SSD ssd_initial_cp_conference (CSV)"),
               (4, '["2024-02", "2024-03"]', "current", "SSD ssd_cp_reviews (Excel)"),
               (5, '["2024-01"]', "current", "product format (CSV)")]
        for uid, months, status, source in ups:
            c.execute("INSERT INTO uploads (id, kind, months, rows, sha256, file_name, uploaded_by, uploaded_at,"
                      " status, warnings, as_of, source) VALUES (?, 'conferences', ?, 1, 'x', 'f.csv', 'someone',"
                      " '2024-04-01T00:00:00Z', ?, '[]', NULL, ?)", (uid, months, status, source))
        recs = [(3, "2024-02", "I1", "initial", "face_to_face"), (3, "2024-03", "I2", "initial", "virtual"),
                (4, "2024-02", "R1", "review", "virtual"), (4, "2024-03", "R2", "review", "face_to_face"),
                (5, "2024-01", "P1", "initial", "virtual"), (5, "2024-01", "P2", "review", "face_to_face")]
        c.executemany("INSERT INTO rec_conferences (upload_id, month, conference_id, child_id, conference_type,"
                      " conference_date, format) VALUES (?, ?, ?, 'c', ?, ?, ?)",
                      [(u, m, i, t, f"{m}-10", f) for u, m, i, t, f in recs])
        um = [(3, "2024-02"), (3, "2024-03"), (4, "2024-02"), (4, "2024-03"), (5, "2024-01")]
        c.executemany("INSERT INTO upload_months (upload_id, kind, scope, month) VALUES (?, 'conferences', '', ?)", um)
        c.executemany("INSERT INTO current_months (kind, scope, month, upload_id) VALUES ('conferences', '', ?, ?)",
                      [("2024-02", 4), ("2024-03", 4), ("2024-01", 5)])
        c.commit()


def test_the_migration_scopes_old_conference_uploads_and_changes_no_figure(tmp_path):
    path = tmp_path / "v7.sqlite"
    _v7_store(path)
    with contextlib.closing(sqlite3.connect(path)) as c:
        old = sorted(tuple(r) for r in c.execute(
            "SELECT r.month, r.conference_id FROM current_months cm JOIN rec_conferences r"
            " ON r.upload_id = cm.upload_id AND r.month = cm.month WHERE cm.kind = 'conferences'"))
    with contextlib.closing(store.connect(path)) as conn:
        assert store.schema_version(conn) == len(store.MIGRATIONS)
        now = sorted(tuple(r) for r in store.read_current(conn, "conferences")[["month", "conference_id"]].to_numpy())
        assert now == old == [("2024-01", "P1"), ("2024-01", "P2"), ("2024-02", "R1"), ("2024-03", "R2")]
        assert sorted(tuple(r) for r in conn.execute(
            "SELECT upload_id, scope, month FROM upload_months WHERE kind = 'conferences'")) == [
            (3, "initial", "2024-02"), (3, "initial", "2024-03"), (4, "review", "2024-02"), (4, "review", "2024-03"),
            (5, "initial", "2024-01"), (5, "review", "2024-01")]
        assert conn.execute("SELECT COUNT(*) FROM current_months WHERE scope = '' AND kind = 'conferences'"
                            ).fetchone()[0] == 0
        store.restore(conn, 3)  # the initial table lost to the old rule comes back beside the reviews
        assert store.get_upload(conn, 4)["status"] == "current"
        assert len(store.read_current(conn, "conferences")) == 6


def test_the_upload_page_says_a_table_replaces_only_its_own_type(fresh_db, monkeypatch):
    from dashboard.components.text import plain
    from helpers_pages import app_page, local_mode

    p = load(fresh_db, product(), "conferences.csv")
    local_mode(monkeypatch)
    at = app_page("upload")
    at.get("file_uploader")[0].set_value(("ssd_cp_reviews.csv", ssd_reviews(), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (info,) = [i.value for i in at.info if "Replaces" in i.value]
    assert info.startswith(plain("Replaces the review conferences for")) and f"(upload {p['id']})" in info
