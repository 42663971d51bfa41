"""The overview, KPI detail and present pages, run server-side with Streamlit's AppTest.

The demo store is built once per module (through the real ingest path); tests that change data work on
a copy. Every run goes through dashboard/app.py (gate + navigation), as in the browser.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import store
from metrics.demo_store import DEMO_KEY
from metrics.kpis import REGISTRY
from metrics.settings import get_settings

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGES = ("views/overview.py", "views/kpi.py", "views/present.py")
LABELS = [k.label for k in REGISTRY.values()]
WORKFORCE_HEADER = "worker_id,role,agency,fte,team,start_date,end_date,snapshot_date\n"


@pytest.fixture(scope="module")
def demo_db(demo_copy_of, tmp_path_factory) -> Path:
    return demo_copy_of(tmp_path_factory.mktemp("dashboard-demo") / "kpi.sqlite")


@pytest.fixture
def use_db(monkeypatch, tmp_path):
    """use_db(path): point the dashboard (KPI_DB_PATH, local sign-in) at ``path``."""
    monkeypatch.chdir(tmp_path)

    def _use(path: Path) -> Path:
        monkeypatch.setenv("KPI_DB_PATH", str(path))
        monkeypatch.setenv("KPI_AUTH_MODE", "local")
        monkeypatch.delenv("KPI_ROLES", raising=False)
        get_settings.cache_clear()
        return path

    yield _use
    get_settings.cache_clear()


@pytest.fixture
def demo_copy(demo_db, tmp_path) -> Path:
    """A private copy of the demo store, for tests that change data."""
    path = tmp_path / "copy.sqlite"
    shutil.copyfile(demo_db, path)
    return path


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def board(at: AppTest):
    """The overview table, indexed by priority label."""
    return at.dataframe[0].value.set_index("Priority")


def figure(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert charts, "no plotly chart on the page"
    return json.loads(charts[0].proto.spec)


def values(arr) -> list:
    """A plotly array from figure JSON: plotly 7 writes numeric arrays as base64 typed arrays."""
    if isinstance(arr, dict) and "bdata" in arr:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"])).tolist()
    return list(arr)


def latest_from_cli(path: Path) -> dict[str, dict]:
    """``kpi metrics --json`` → {metric: its record for the latest month with a value}."""
    from kpi_cli import main as cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["metrics", "--json", "--db", str(path)]) == 0
    latest: dict[str, dict] = {}
    for rec in json.loads(out.getvalue()):
        if rec["metric"] not in latest or rec["month"] > latest[rec["metric"]]["month"]:
            latest[rec["metric"]] = rec
    return latest


def uk_month(month: str) -> str:
    import calendar

    return f"{calendar.month_abbr[int(month[5:7])]} {month[:4]}"


def ingest(path: Path, data: bytes, name: str):
    from metrics.ingest import ingest_bytes

    settings = get_settings().model_copy(update={"db_path": path, "pseudonym_key": DEMO_KEY})
    conn = store.connect(path)
    try:
        return ingest_bytes(conn, data, name, settings=settings, uploaded_by="test")
    finally:
        conn.close()


def workforce_csv(month_end: str, rows: list[tuple[str, str, str]]) -> bytes:
    """(role, agency Y/N, fte) rows, all in post at ``month_end``."""
    lines = [f"W{i:04d},{role},{agency},{fte},Front Door,2020-01-01,,{month_end}\n"
             for i, (role, agency, fte) in enumerate(rows)]
    return (WORKFORCE_HEADER + "".join(lines)).encode()


# --- every page runs ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_on_the_demo_store(use_db, demo_db, page):
    use_db(demo_db)
    at = open_page(page)
    assert any("Synthetic demo data" in i.value for i in at.info), "demo notice missing"


@pytest.mark.parametrize("page", PAGES)
def test_empty_store_says_no_data_yet(use_db, tmp_path, page):
    path = tmp_path / "empty.sqlite"
    store.connect(path).close()
    use_db(path)
    at = open_page(page)
    assert any("No data yet" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.dataframe


# --- overview ----------------------------------------------------------------------------------


def demo_board(path: Path, at: str):
    from metrics.reviews import review_board

    conn = store.connect(path)
    try:
        return review_board(conn, at)
    finally:
        conn.close()


def test_overview_lists_every_priority_with_the_judged_values_of_the_default_review(use_db, demo_db):
    # judgement.md section 1 (v2): one verdict per checkpoint, the judged month found with the reporting lag.
    # Data end in Mar 2025; the next review (1 Jun 2025) judges Apr 2025, which nobody has yet, so the
    # overview opens on the latest review that can be judged: 1 Mar 2025, judging Jan 2025.
    use_db(demo_db)
    at = open_page("views/overview.py")
    table = board(at)
    assert list(table.index) == LABELS
    model = demo_board(demo_db, "2025-03-01")
    assert model.month == "2025-01"
    for metric, kpi in REGISTRY.items():
        row, r = table.loc[kpi.label], model.row(metric)
        assert row["Value"] == kpi.format(r.actual), metric
        assert row["Month"] == "Jan 2025"
        assert row["ToR"] == kpi.tor
        if r.interval:
            assert row["95% interval"] == f"{kpi.format(r.interval[0])}–{kpi.format(r.interval[1])}"
        if r.target_within_interval:
            assert "cannot be told apart from the target at 95%" in row["Data notes"]
        if r.basis == "rolling_3_months":
            assert "3 months pooled (Nov 2024–Jan 2025)" in row["Data notes"]


def test_overview_rag_is_words_not_colour_alone(use_db, demo_db):
    use_db(demo_db)
    at = open_page("views/overview.py")
    table = board(at)
    words = {"● Green", "◆ Amber", "✖ Red", "○ No data"}
    assert set(table["RAG"]) <= words and len(set(table["RAG"])) >= 2
    assert set(table["Direction of travel"]) <= {"▲ Improving", "▼ Worsening", "▶ No significant change",
                                                 "… Not enough data"}
    assert set(table["Target assurance"]) <= {"Consistently passing", "Consistently failing", "Hit or miss",
                                              "Not enough data"}
    assert all(str(u).startswith("data:image/svg+xml;base64,") for u in table["Variation"])
    headline = at.header[0].value
    counts = {w: int(headline.split(f" {w}")[0].split()[-1]) for w in ("green", "amber", "red")}
    assert headline.startswith("At the Mar 2025 review: ")
    assert any(c.value.startswith("**Provisional** — the 1 Mar 2025 review judges Jan 2025 (the latest month "
                                  "ended at least 14 days before it)") for c in at.caption)
    for word, n in counts.items():
        assert sum(table["RAG"].str.lower().str.endswith(word)) == n
    assert any("the latest one whose judged month has data" in c.value for c in at.caption)


def test_overview_past_checkpoint_is_the_review_as_judged(use_db, demo_db):
    from metrics.reviews import load_settings, review_at

    use_db(demo_db)
    at = open_page("views/overview.py")
    at.selectbox(key="overview_at").set_value("2024-09-01").run()
    conn = store.connect(demo_db)
    try:
        expected = review_at(conn, "2024-09-01", settings=load_settings(conn))
    finally:
        conn.close()
    s = expected.summary
    assert at.header[0].value == (f"At the Sep 2024 review: {s['green']} green, {s['amber']} amber, "
                                     f"{s['red']} red, {s['no_data']} no data")
    table = board(at)
    for m in expected.metrics:
        assert table.loc[m.label, "Value"] == REGISTRY[m.metric].format(m.actual)
        assert table.loc[m.label, "Month"] == "Jul 2024"  # 1 Sep 2024 less 14 days: July ended last
        assert m.rag.replace("_", " ") in table.loc[m.label, "RAG"].lower()


def test_overview_click_through_opens_the_kpi_detail(use_db, demo_db):
    use_db(demo_db)
    at = open_page("views/overview.py")
    at.selectbox(key="open_kpi").set_value("audits_good_or_better").run()
    assert not at.exception
    assert at.title[0].value == REGISTRY["audits_good_or_better"].label
    assert at.query_params["kpi"] == "audits_good_or_better"
    assert at.get("plotly_chart")


@pytest.mark.slow
def test_a_good_upload_changes_the_overview(use_db, demo_copy):
    use_db(demo_copy)
    before = board(open_page("views/overview.py"))
    assert before.loc[REGISTRY["agency_rate"].label, "Month"] == "Jan 2025"
    rows = [("case_holder", "Y", "1.0")] + [("case_holder", "N", "1.0")] * 9  # 1 agency of 10 FTE
    result = ingest(demo_copy, workforce_csv("2025-04-30", rows), "workforce_2025-04.csv")
    assert result.ok, result.errors[:3]
    # April now has data: the overview opens on the Jun 2025 review, which judges April
    after_page = open_page("views/overview.py")
    assert after_page.header[0].value.startswith("At the Jun 2025 review: ")
    after = board(after_page)
    agency = after.loc[REGISTRY["agency_rate"].label]
    assert (agency["Value"], agency["Month"]) == ("10.0%", "Apr 2025")
    assert after.loc[REGISTRY["permanent_practitioners_fte"].label, "Value"] == "9.0 FTE"
    nfa = after.loc[REGISTRY["assessment_nfa_rate"].label]  # not uploaded for April: no data, never older data
    assert (nfa["Value"], nfa["Month"], nfa["RAG"]) == ("no data", "Apr 2025", "○ No data")
    assert "latest data Mar 2025" in nfa["Data notes"]


def test_a_refused_upload_changes_nothing(use_db, demo_copy):
    use_db(demo_copy)
    first = open_page("views/overview.py")
    before, headline = board(first), first.header[0].value
    bad = workforce_csv("2025-04-30", [("case_holder", "Y", "1.5"), ("case_holder", "N", "1.0")])
    result = ingest(demo_copy, bad, "workforce_2025-04.csv")
    assert not result.ok
    again = open_page("views/overview.py")
    assert again.header[0].value == headline
    assert board(again).drop(columns="Trend").equals(before.drop(columns="Trend"))
    assert list(board(again)["Trend"].map(list)) == list(before["Trend"].map(list))


@pytest.mark.slow
def test_council_name_and_la_code_come_from_the_stored_review_settings(use_db, demo_copy):
    from metrics.reviews import load_settings, save_settings

    conn = store.connect(demo_copy)
    try:
        s = load_settings(conn)
        save_settings(conn, s.model_copy(update={"la_code": "202", "council_name": "Camden <b>[x](http://e.org)"}),
                      by="test")
    finally:
        conn.close()
    use_db(demo_copy)
    at = open_page("views/overview.py")
    council = next(c.value for c in at.caption if "Camden" in c.value)
    assert "<b>" not in council and "](" not in council  # inert: escaped, never HTML or a link
    names = [t.get("name") for t in figure(open_page("views/kpi.py", kpi="agency_rate"))["data"]]
    assert "Region: Inner London (published)" in names and "Camden (published)" in names


# --- KPI detail --------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", list(REGISTRY))
def test_kpi_detail_chart_has_actuals_trajectory_and_benchmarks(use_db, demo_db, metric):
    from metrics.compute import compute_series

    use_db(demo_db)
    at = open_page("views/kpi.py", kpi=metric)
    assert at.title[0].value == REGISTRY[metric].label
    traces = {t.get("name"): t for t in figure(at)["data"]}
    conn = store.connect(demo_db)
    try:
        series = compute_series(conn, metrics=[metric])
    finally:
        conn.close()
    assert values(traces["Actual (monthly)"]["y"]) == pytest.approx(series["value"].tolist(), nan_ok=True)
    assert len(values(traces["Target trajectory"]["y"])) >= 2
    if metric == "agency_rate":
        england = values(traces["England (published)"]["y"])
        assert len(england) >= 5 and all(0 < v < 100 for v in england)
    tiles = {m.label: m.value for m in at.metric}
    row = demo_board(demo_db, "2025-03-01").row(metric)  # the default review judges Jan 2025
    assert tiles["Value, Jan 2025"] == REGISTRY[metric].format(row.actual)
    assert any(v.endswith(("Green", "Amber", "Red", "No data")) for v in tiles.values())


def test_kpi_detail_change_since_the_last_review_is_information_only(use_db, demo_db):
    # judgement.md section 4 (v2): the raw change is shown, never as the verdict — so it is not coloured
    # good or bad; the direction of travel (from the variation) is, on the RAG tile.
    use_db(demo_db)
    down = open_page("views/kpi.py", kpi="agency_rate")
    up = open_page("views/kpi.py", kpi="permanent_practitioners_fte")
    for page in (down, up):
        value = page.metric[0]
        assert value.proto.delta.endswith(" vs Dec 2024 review")
    assert down.metric[0].proto.delta.startswith("-") and up.metric[0].proto.delta.startswith("+")
    assert down.metric[0].proto.color == up.metric[0].proto.color
    assert down.metric[2].proto.delta == "▲ Improving" and up.metric[2].proto.delta == "▲ Improving"


def test_kpi_detail_picker_writes_the_query_param(use_db, demo_db):
    use_db(demo_db)
    at = open_page("views/kpi.py")
    assert at.title[0].value == REGISTRY["agency_rate"].label  # no ?kpi: the first priority
    at.selectbox(key="kpi_pick").set_value("historic_complaints_outstanding").run()
    assert at.query_params["kpi"] == "historic_complaints_outstanding"
    assert at.title[0].value == REGISTRY["historic_complaints_outstanding"].label


# --- present -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_present_next_and_previous_cycle_through_all_ten(use_db, demo_db):
    use_db(demo_db)
    at = open_page("views/present.py")
    seen = []
    for _ in REGISTRY:
        seen.append(at.title[0].value)
        assert f"**{len(seen)} of 10**" in at.markdown[0].value
        at.button(key="present_i-next").click().run()
    assert seen == LABELS
    assert at.title[0].value == LABELS[0]  # wrapped round
    at.button(key="present_i-prev").click().run()
    assert at.title[0].value == LABELS[-1]
    assert figure(at)["layout"]["font"]["size"] >= 18  # projector type
    assert not at.exception


def test_present_checkpoint_selector(use_db, demo_db):
    use_db(demo_db)
    at = open_page("views/present.py")
    at.selectbox(key="present_at").set_value("2023-09-01").run()
    assert any(c.value.startswith("At the 1 Sep 2023 review, judging Jul 2023") for c in at.caption)
    assert not at.exception


def test_kpi_page_offers_the_series_as_formula_safe_csv(demo_db, use_db):
    import pandas as pd

    from dashboard import loaders

    use_db(demo_db)
    at = open_page("views/kpi.py", kpi="agency_rate")
    labels = [e.proto.label for e in at.get("download_button")]
    assert any("monthly series" in label for label in labels), labels
    for public in (False, True):
        data = loaders.series_csv(str(demo_db), 0, public)
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
        assert set(frame["metric"]) == set(REGISTRY)
        assert not frame.stack().str.startswith(("=", "+", "-", "@")).any()


# --- upload: empty files and two files for one month (issue 17) -------------------------------------


def _previous_month() -> str:
    import datetime as dt

    first = dt.date.today().replace(day=1)
    return (first - dt.timedelta(days=1)).isoformat()[:7]


@pytest.fixture
def upload_store(use_db, tmp_path, monkeypatch) -> tuple[Path, str]:
    """A store holding one workforce snapshot (4 workers) for last month, which the page's picker offers."""
    from metrics.months import month_end

    monkeypatch.setenv("KPI_PSEUDONYM_KEY", DEMO_KEY)
    path = use_db(tmp_path / "kpi.sqlite")
    month = _previous_month()
    assert ingest(path, workforce_csv(month_end(month).isoformat(), [("case_holder", "N", "1.0")] * 4),
                  "workforce_full.csv").ok
    return path, month


def _workforce_rows(path: Path) -> int:
    with contextlib.closing(store.connect(path)) as conn:
        return len(store.read_current(conn, "workforce"))


def test_upload_page_asks_before_an_empty_file_replaces_stored_data(upload_store, digest):
    path, month = upload_store
    at = open_page("views/upload.py")
    at.get("file_uploader")[0].set_value(("workforce_empty.csv", b"worker_id,role,agency,fte,team\n", "text/csv"))
    at.run()
    at.selectbox(key="month-0").set_value(month)
    at.run()
    assert not at.exception
    assert any("has no rows" in w.value and "workforce\\_full" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label.startswith("Load ")]  # nothing to click until confirmed
    before = digest(path)
    at.checkbox(key="empty-0").check()
    at.run()
    load = [b for b in at.button if b.label.startswith("Load ")]
    assert [b.label for b in load] == ["Load 0 rows"]
    assert digest(path) == before  # ticking the box alone changes nothing
    load[0].click()
    at.run()
    assert not at.exception
    assert any("Loaded as upload 2" in s.value for s in at.success)
    assert _workforce_rows(path) == 0


def test_upload_page_refuses_a_second_file_for_the_same_snapshot_month(upload_store):
    path, month = upload_store
    from metrics.months import month_end

    end = month_end(month).isoformat()
    first = workforce_csv(end, [("case_holder", "N", "1.0")] * 2)
    second = workforce_csv(end, [("team_manager", "N", "1.0")] * 3)
    at = open_page("views/upload.py")
    at.get("file_uploader")[0].set_value([("first.csv", first, "text/csv"), ("second.csv", second, "text/csv")])
    at.run()
    assert not at.exception
    shown = " ".join(str(v).replace("\\", "") for t in at.table for v in t.value.to_numpy().ravel())
    assert "second.csv is a second workforce snapshot" in shown and "first.csv already gives that month" in shown
    load = [b for b in at.button if b.label.startswith("Load ")]
    assert [b.label for b in load] == ["Load 2 rows"]  # only the first file may load
    load[0].click()
    at.run()
    assert _workforce_rows(path) == 2


def test_upload_page_validates_a_file_once_between_check_and_load(upload_store, monkeypatch):
    """Work done once: the check's prepared file is kept in the session and the load stores it."""
    from metrics import ingest as ingest_module
    from metrics.months import month_end

    path, month = upload_store
    calls = []
    real = ingest_module.validate
    monkeypatch.setattr(ingest_module, "validate", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = open_page("views/upload.py")
    at.get("file_uploader")[0].set_value(
        ("again.csv", workforce_csv(month_end(month).isoformat(), [("case_holder", "N", "1.0")] * 3), "text/csv"))
    at.run()
    at.run()  # a rerun (any widget) does not check again
    assert not at.exception
    load = [b for b in at.button if b.label.startswith("Load ")]
    assert [b.label for b in load] == ["Load 3 rows"] and calls == [1]
    load[0].click()
    at.run()
    assert not at.exception
    assert any("Loaded as upload 2" in s.value for s in at.success)
    assert calls == [1] and _workforce_rows(path) == 3
