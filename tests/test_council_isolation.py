"""Isolation between councils (issue 16 item 2): a user of council A (884) tries every page, export and
action, and every ``kpi`` command, against council B (881) — by URL (``?council=881``), by session, by
opening a page file directly, and with ``--council``/``--db``. Each is refused or B is invisible, and no
string unique to B's data appears anywhere. Positive controls show the same strings DO appear for a user
of B, so the search could fail.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.access import PAGE_FILES
from metrics import store
from metrics.demo_store import DEMO_KEY
from metrics.settings import get_settings

import helpers_packs

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PAGES_DIR = ROOT / "dashboard" / "views"
MARK = "QX7ZB"  # in every string unique to council B's data
B_NAME = f"Borough B {MARK}"
CHECKPOINT = "2025-03-01"
USERS = {
    "a-admin": {"is_logged_in": True, "email": "a.admin@council-a.gov.uk", "email_verified": True},
    "b-viewer": {"is_logged_in": True, "email": "b.viewer@council-b.gov.uk", "email_verified": True},
    "both": {"is_logged_in": True, "email": "commissioner@dfe.gov.uk", "email_verified": True},
}
ROLES = {"a.admin@council-a.gov.uk": {"884": "admin"}, "b.viewer@council-b.gov.uk": {"881": "viewer"},
         "commissioner@dfe.gov.uk": {"884": "viewer", "881": "viewer"}}


def _rebind(path: Path, code: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.execute("DELETE FROM store_meta WHERE key IN ('la_code', 'council_name')")
        c.execute("INSERT INTO store_meta (key, value) VALUES ('la_code', ?)", (code,))
        c.commit()


@pytest.fixture(scope="module")
def stores(demo_copy_of, tmp_path_factory) -> dict[str, Path]:
    """Two councils' stores from the demo: B's holds its own name, evidence, action and upload file name,
    each carrying MARK."""
    from metrics.actions import add_action
    from metrics.evidence import add_entry
    from metrics.ingest import ingest_path
    from metrics.reviews import load_settings, save_settings

    root = tmp_path_factory.mktemp("councils")
    a = demo_copy_of(root / "884" / "kpi.sqlite")
    b = demo_copy_of(root / "881" / "kpi.sqlite")
    _rebind(a, "884")
    _rebind(b, "881")
    upload = root / f"b-only-{MARK}.csv"
    shutil.copyfile(ROOT / "data" / "examples" / "workforce.csv", upload)
    settings = get_settings().model_copy(update={"db_path": b, "pseudonym_key": DEMO_KEY, "la_code": "881",
                                                 "council_name": B_NAME})
    with contextlib.closing(store.connect(b)) as conn:
        s = load_settings(conn).model_copy(update={"council_name": B_NAME, "la_code": "881"})
        save_settings(conn, s, by=f"b.owner.{MARK}@council-b.gov.uk", note=f"B settings {MARK}")
        add_entry(conn, CHECKPOINT, f"B evidence {MARK}", f"b.lead.{MARK}@council-b.gov.uk")
        add_action(conn, CHECKPOINT, "agency_rate", f"B action {MARK}", "Head of service", "2025-06-30",
                   f"b.lead.{MARK}@council-b.gov.uk")
        assert ingest_path(conn, upload, uploaded_by=f"b.lead.{MARK}@council-b.gov.uk", settings=settings).ok
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"884": a, "881": b}


@pytest.fixture
def deployment(stores, tmp_path, monkeypatch):
    councils = {"884": {"name": "Council A", "db": str(stores["884"]), "key_file": str(tmp_path / "a.key")},
                "881": {"name": B_NAME, "db": str(stores["881"]), "key_file": str(tmp_path / "b.key")}}
    for name in ("KPI_LOCAL_USER", "KPI_LOCAL_GROUPS", "KPI_LOCAL_ROLE", "KPI_KEY_FILE", "KPI_PSEUDONYM_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_COUNCILS", json.dumps(councils))
    monkeypatch.setenv("KPI_DB_PATH", str(tmp_path / "unused.sqlite"))
    monkeypatch.setenv("KPI_AUTH_MODE", "oidc")
    monkeypatch.setenv("KPI_ROLES", json.dumps(ROLES))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield stores
    get_settings.cache_clear()


def _everything(at: AppTest) -> str:
    """Every value, label, body and caption the run drew (main and sidebar), as one string."""
    return repr(at._tree) + " ".join(str(getattr(e, "value", "")) for e in at.main) + repr(dict(at.query_params))


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def start(who: str, council: str | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.user = dict(USERS[who])
    if council:
        at.query_params["council"] = council
    _run(at)
    if page:
        at.switch_page(f"views/{page}.py")
        if council:
            at.query_params["council"] = council
        _run(at)
    return at


def test_the_marker_is_visible_to_a_user_of_b(deployment):
    """Positive control: the search below would find B's strings if they were shown."""
    at = start("b-viewer", "881", "reviews")
    assert MARK in _everything(at)
    assert "Borough B" in " ".join(t.value for t in at.sidebar.text)


@pytest.mark.parametrize("page", list(PAGE_FILES) + ["portfolio"])
def test_a_user_of_a_cannot_reach_b_through_the_url(deployment, page):
    at = AppTest.from_file(APP, default_timeout=120)
    at.user = dict(USERS["a-admin"])
    at.query_params["council"] = "881"
    _run(at)
    assert [t.value for t in at.title] == ["No access"]
    assert "There is no council 881 you may see" in at.error[0].value
    assert not at.dataframe and not at.get("plotly_chart") and not at.get("download_button")
    assert MARK not in _everything(at) and "Borough B" not in _everything(at)
    direct = AppTest.from_file(str(PAGES_DIR / f"{page}.py"), default_timeout=120)  # the file, without the gate
    direct.user = dict(USERS["a-admin"])
    direct.query_params["council"] = "881"
    _run(direct)
    assert MARK not in _everything(direct) and "Borough B" not in _everything(direct)
    assert not direct.get("download_button") and not direct.get("file_uploader")


@pytest.mark.parametrize("page", list(PAGE_FILES))
def test_a_user_of_a_sees_only_a_on_every_page(deployment, page):
    at = start("a-admin", page=page)
    text = _everything(at)
    assert MARK not in text and "Borough B" not in text
    assert not any("881" in o for s in at.sidebar.selectbox for o in s.options)  # no picker offering B
    assert "portfolio" not in {Path(i["script_path"]).stem for i in at._registered_pages.values()
                               if i.get("script_path")}


def test_downloads_and_packs_of_a_user_of_a_hold_nothing_of_b(deployment):
    """Every file the pages offer a user of A (exports, CSVs) is A's: B's strings are in none of them."""
    for page in PAGE_FILES:
        at = start("a-admin", page=page)
        for d in at.get("download_button"):
            assert MARK.encode() not in repr(d.proto).encode(), page


def test_the_session_cannot_carry_a_user_of_a_into_b(deployment):
    at = start("a-admin")
    at.session_state["council"] = "881"
    at.query_params.pop("council", None)
    _run(at)
    assert MARK not in _everything(at) and "Borough B" not in _everything(at)
    assert [t.value for t in at.title] == ["No access"]


def test_a_user_of_both_sees_both_and_the_portfolio(deployment):
    at = start("both", "881", "portfolio")
    text = _everything(at)
    assert "Borough B" in text and "Council A" in text
    links = at.dataframe[0].value["Dashboard"].tolist()
    assert links == ["/?council=884", "/?council=881"]
    picker = at.sidebar.selectbox[0]
    assert picker.options == ["Council A (884)", f"{B_NAME} (881)"]
    st.cache_data.clear()


@pytest.mark.slow
def test_a_pack_prepared_for_a_is_never_offered_under_b(deployment):
    """A user of both councils prepares A's pack, then switches to B: B's Reviews page offers no pack until
    one is prepared there (the session forgets what it held for A), and each file is named for its council."""
    at = start("both", "884", "reviews")
    at.radio(key="pack-format").set_value("PowerPoint")
    at.button(key="pack-build").click()
    _run(at)
    labels = [d.proto.label for d in at.get("download_button")]
    assert any(lab.startswith("Download board-pack-884-") for lab in labels), labels
    at.sidebar.selectbox(key="council_picker").set_value("881")
    _run(at)
    assert "Borough B" in _everything(at)
    labels = [d.proto.label for d in at.get("download_button")]
    assert not any("board-pack" in lab for lab in labels), labels
    assert at.radio(key="pack-format").value == "PDF"  # the page starts afresh for B


# --- the command line ---------------------------------------------------------------------------------


@dataclass
class KpiRun:
    code: int
    out: str
    err: str


@pytest.fixture
def run_kpi(deployment):
    """``kpi ARGS…`` in-process, with no --db added (the council decides the store)."""

    def _run(*argv: str) -> KpiRun:
        return KpiRun(*helpers_packs.run_kpi(*argv))

    return _run


COMMANDS = [
    ["metrics"], ["review", "--at", CHECKPOINT], ["spc", "--metric", "agency_rate"], ["uploads"],
    ["actions", "list"], ["key", "check"], ["check"], ["restore", "1"], ["withdraw", "1"],
    ["ingest", str(ROOT / "data" / "examples" / "workforce.csv")],
    ["boardpack", "--review", CHECKPOINT, "--out", "pack.pdf"], ["report", "--review", CHECKPOINT, "--out", "r.docx"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_needs_the_council_and_refuses_another_councils_store(deployment, run_kpi, args):
    res = run_kpi(*args)
    assert res.code == 2 and "Several councils are configured: say which with --council (884, 881)" in res.err
    res = run_kpi(*args, "--council", "884", "--db", str(deployment["881"]))
    assert res.code == 1 and "This store belongs to council 881, not to council 884" in res.err
    assert MARK not in res.out + res.err
    res = run_kpi(*args, "--council", "880")
    assert res.code == 2 and "There is no council 880" in res.err


@pytest.mark.parametrize("args", [a for a in COMMANDS if a[0] in ("metrics", "review", "uploads", "actions")],
                         ids=lambda a: a[0])
def test_commands_for_a_show_nothing_of_b(deployment, run_kpi, args):
    res = run_kpi(*args, "--council", "884", "--json") if args[0] != "actions" else run_kpi(*args, "--council", "884")
    assert res.code == 0, res.err
    assert MARK not in res.out + res.err
    res_b = run_kpi(*args, "--council", "881", "--json") if args[0] != "actions" else run_kpi(*args, "--council",
                                                                                                 "881")
    if args[0] in ("uploads", "actions"):  # positive control: B's own command shows B's strings
        assert MARK in res_b.out
