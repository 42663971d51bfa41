"""A toy eleventh KPI, registered from outside (tests/test_kpi_registry.py's TOY) with a target in the
review settings, is on the overview and has its KPI detail page, without editing any other module. And
text of any length: a 5,000-character team name renders on every page without error."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import kpi_registry
from metrics.settings import get_settings
from test_kpi_registry import TOY

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGES = ("overview", "kpi", "reviews", "present", "upload", "coverage", "settings", "audit", "about")
LONG_TEAM = ("Équipe " + "North and South Area Safeguarding Partnership " * 110)[:4999] + "Z"  # 5,000 characters


def _app_on(db: Path, monkeypatch) -> None:
    for name in ("KPI_ROLES", "KPI_LOCAL_GROUPS", "KPI_LOCAL_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_DB_PATH", str(db))
    monkeypatch.setenv("KPI_AUTH_MODE", "local")
    monkeypatch.chdir(db.parent)
    get_settings.cache_clear()


@pytest.fixture
def toy_store(demo_copy_of, tmp_path, monkeypatch):
    """The demo store, the toy KPI registered and given a target (a new settings version)."""
    from metrics import store
    from metrics.reviews import load_settings, save_settings
    from metrics.reviews.settings import KpiTarget

    db = demo_copy_of(tmp_path / "kpi.sqlite")
    with kpi_registry.registered(TOY):
        with contextlib.closing(store.connect(db)) as conn:
            s = load_settings(conn)
            save_settings(conn, s.model_copy(update={"targets": {**s.targets, TOY.id: KpiTarget(
                baseline_month="2023-02", baseline_value=40.0, final_target=20.0,
                final_date=s.targets["agency_rate"].final_date, tolerance=5.0)}}), by="analyst", note="toy KPI")
        _app_on(db, monkeypatch)
        yield db
    get_settings.cache_clear()


def _texts(at: AppTest) -> str:
    parts = [getattr(n, a, None) for n in at.main for a in ("value", "label")]
    return "\n".join(p for p in parts if isinstance(p, str))


def test_the_toy_kpi_is_on_the_overview_and_has_a_detail_page(toy_store):
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    table = getattr(table, "data", table)  # a Styler's frame
    row = table[table["Priority"] == TOY.label]
    assert len(row) == 1 and row["ToR"].iloc[0] == TOY.tor
    assert row["RAG"].iloc[0] != "— No target set"  # rated: it has a target at every checkpoint

    at.session_state["kpi"] = TOY.id
    at.switch_page("views/kpi.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == TOY.label
    assert TOY.rule in _texts(at) and TOY.definition in _texts(at)
    assert [m for m in at.metric if m.label.startswith("RAG")][0].value != "— No target set"

    at.switch_page("views/present.py").run()
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def long_team_store(fresh_db, monkeypatch):
    """A (non-demo) store holding workforce snapshots and assessments whose team name is 5,000 characters."""
    from metrics import store
    from metrics.ingest import ingest_bytes

    files = {f"workforce-{d}.csv": "worker_id,role,agency,fte,team,snapshot_date\n" + "".join(
        f"W8{i:04d},case_holder,{'Y' if i % 3 == 0 else 'N'},1.0,\"{LONG_TEAM}\",{d}\n" for i in range(15))
        for d in ("2025-01-31", "2025-02-28", "2025-03-31")}
    files["assessments.csv"] = "assessment_id,child_id,start_date,completed_date,nfa,team\n" + "".join(
        f"A{i:05d},C{i:05d},{3 + i % 20:02d}/02/2025,{10 + i % 15:02d}/03/2025,N,\"{LONG_TEAM}\"\n" for i in range(30))
    with contextlib.closing(store.connect(fresh_db)) as conn:
        for name, text in files.items():
            r = ingest_bytes(conn, text.encode(), name, uploaded_by="tester")
            assert r.ok, (name, r.errors)
    _app_on(fresh_db, monkeypatch)
    yield fresh_db
    get_settings.cache_clear()


def test_a_5000_character_team_name_renders_on_every_page(long_team_store):
    assert len(LONG_TEAM) == 5000
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for page in PAGES:
        at.query_params["kpi"] = "agency_rate"
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page == "kpi":  # the team breakdown shows the name whole
            groups = [g for df in at.dataframe if "Group" in getattr(df.value, "columns", ())
                      for g in df.value["Group"]]
            assert LONG_TEAM in groups
