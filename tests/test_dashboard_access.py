"""The roles table of docs/access.md, cell by cell, through the running dashboard (AppTest, OIDC mode).

Identities: signed out, signed in but unlisted, signed in with no email or group claim, and one each of
viewer, uploader and admin (KPI_ROLES). For every identity: which pages navigation offers, which page
files open (a refused page shows the refusal and none of its content), and every action attempted
through the UI where the page is reachable — allowed ones must change the store, refused ones must
leave every table as it was. The server-side guard is also tested on its own, and with a role taken
away between the page being drawn and the button being clicked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import auth, store
from metrics.demo_store import DEMO_KEY
from metrics.ingest import ingest_path
from metrics.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PAGES_DIR = ROOT / "dashboard" / "views"
ROLES = {"viewer@council.gov.uk": "viewer", "lead@council.gov.uk": "uploader", "admin@council.gov.uk": "admin"}
USERS = {
    "signed out": {"is_logged_in": False},
    "unknown user": {"is_logged_in": True, "email": "stranger@council.gov.uk", "email_verified": True,
                     "name": "Stranger"},
    "missing claims": {"is_logged_in": True},
    "viewer": {"is_logged_in": True, "email": "viewer@council.gov.uk", "email_verified": True},
    "uploader": {"is_logged_in": True, "email": "lead@council.gov.uk", "email_verified": True},
    "admin": {"is_logged_in": True, "email": "admin@council.gov.uk", "email_verified": True},
}
ALL_PAGES = ("overview", "kpi", "reviews", "present", "upload", "coverage", "settings", "audit", "about")
TABLES = ("uploads", "current_months", "review_settings_versions", "checkpoint_finals", "evidence", "audit_log")
CHECKPOINT = "2024-06-01"

# each row of the roles table in docs/access.md -> the pages and actions it grants
DOC_ROWS: dict[str, dict[str, tuple[str, ...]]] = {
    "see overview, KPI detail, reviews, coverage, about; present": {
        "pages": ("overview", "kpi", "reviews", "coverage", "about", "present"), "actions": ()},
    "download exports and board packs": {"pages": (), "actions": ("export",)},
    "upload extracts, restore an earlier upload": {"pages": ("upload",), "actions": ("upload", "restore")},
    "write evidence and commentary": {"pages": (), "actions": ("evidence_edit",)},
    "change checkpoints, targets, tolerances, settings": {"pages": ("settings",), "actions": ("settings",)},
    "mark a checkpoint final": {"pages": (), "actions": ("mark_final",)},
    "read the audit trail": {"pages": ("audit",), "actions": ()},
}
UI_ACTIONS = ("upload", "restore", "evidence_edit", "settings", "mark_final", "export")


def _doc_table() -> dict[str, dict[str, bool]]:
    """docs/access.md roles table: row text -> {role: ticked}."""
    lines = (ROOT / "docs" / "access.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| action | viewer"))
    roles = ["viewer", "uploader", "admin"]
    out = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        out[cells[0]] = {r: c == "✓" for r, c in zip(roles, cells[1:])}
    return out


DOC = _doc_table()


def expected_pages(who: str) -> set[str]:
    return {p for row, grant in DOC_ROWS.items() if DOC[row].get(who, False) for p in grant["pages"]}


def expected_actions(who: str) -> set[str]:
    return {a for row, grant in DOC_ROWS.items() if DOC[row].get(who, False) for a in grant["actions"]}


def test_the_doc_table_is_the_one_these_tests_check():
    assert set(DOC) == set(DOC_ROWS), "docs/access.md's roles table changed: update DOC_ROWS"
    assert {p for g in DOC_ROWS.values() for p in g["pages"]} == set(ALL_PAGES)
    assert {a for g in DOC_ROWS.values() for a in g["actions"]} == set(UI_ACTIONS)
    # the policy module agrees with the document (tests/test_access.py checks the policy itself)
    for who in ("viewer", "uploader", "admin"):
        role = auth.Role[who]
        assert {p for p in ALL_PAGES if auth.allowed(role, auth.PAGES[p])} == expected_pages(who)
        assert {a for a in UI_ACTIONS if auth.allowed(role, a)} == expected_actions(who)


# --- the store and the app ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def access_template(demo_copy_of, tmp_path_factory) -> Path:
    """The session's demo store plus a superseded upload, so that 'restore' has something to restore."""
    path = demo_copy_of(tmp_path_factory.mktemp("access-demo") / "demo.sqlite")
    settings = get_settings().model_copy(update={"db_path": path, "pseudonym_key": DEMO_KEY})
    with contextlib.closing(store.connect(path)) as conn:
        r = ingest_path(conn, ROOT / "data" / "examples" / "workforce.csv", uploaded_by="tester", settings=settings)
        assert r.ok and r.replaces, "the example supersedes the demo's April 2023 workforce upload"
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def db(access_template, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "kpi.sqlite"
    shutil.copyfile(access_template, path)
    for name in ("KPI_LOCAL_USER", "KPI_LOCAL_GROUPS", "KPI_LOCAL_ROLE", "KPI_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_DB_PATH", str(path))
    monkeypatch.setenv("KPI_AUTH_MODE", "oidc")
    monkeypatch.setenv("KPI_ROLES", json.dumps(ROLES))
    monkeypatch.setenv("KPI_PSEUDONYM_KEY", DEMO_KEY)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def counts(path: Path) -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of its rows: any insert, update or delete shows."""
    out = {}
    with contextlib.closing(sqlite3.connect(path)) as c:
        for t in TABLES:
            rows = c.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
            out[t] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def start(who: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = dict(USERS[who])
    return run(at)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def nav_pages(at: AppTest) -> set[str]:
    """The pages st.navigation registered in the last run (none if the sign-in gate stopped it)."""
    paths = [Path(i["script_path"]).resolve() for i in at._registered_pages.values() if i.get("script_path")]
    return {p.stem for p in paths if p.parent == PAGES_DIR}


def goto(at: AppTest, page: str) -> AppTest | None:
    """Switch to a page through navigation; None if navigation does not offer it."""
    if page not in nav_pages(at):
        return None
    at.switch_page(f"views/{page}.py")
    return run(at)


def refusal(at: AppTest) -> str | None:
    msgs = [e.value for e in at.error if "may not do this" in e.value or "not on the list" in e.value]
    return msgs[0] if msgs else None


def buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def content_shown(at: AppTest) -> bool:
    """Anything a page draws after its access check: a title, a table, a widget or a chart."""
    return bool(len(at.title) or len(at.dataframe) or len(at.button) or len(at.selectbox) or len(at.text_input)
                or len(at.get("plotly_chart")) or len(at.get("file_uploader")))


# --- pages ----------------------------------------------------------------------------------------

# The page files live in dashboard/views/, not a folder named "pages": beside app.py a "pages" folder
# switches Streamlit to its legacy multipage runner, which runs a page without app.py (no sign-in gate)
# and lists every file in the sidebar. These tests hold that it does not happen.


def test_signed_out_sees_only_the_sign_in_button(db):
    at = start("signed out")
    assert buttons(at) == ["Sign in"]
    assert [t.value for t in at.title] == ["Intervention review dashboard"]
    assert not at.dataframe and not at.error and not at.sidebar.children
    assert not [e for e in at.main if e.type in ("selectbox", "text_input", "file_uploader", "download_button")]


@pytest.mark.parametrize("who", ["unknown user", "missing claims"])
def test_signed_in_without_a_role_sees_no_access(db, who):
    at = start(who)
    assert [t.value for t in at.title] == ["No access"]
    assert "not on the list" in at.error[0].value
    assert buttons(at) == ["Sign out"] and not at.dataframe


@pytest.mark.parametrize("claims, why", [
    ({"email": "admin@council.gov.uk", "email_verified": False}, True),
    ({"email": "admin@council.gov.uk"}, True),
    ({"sub": "u1", "preferred_username": "admin@council.gov.uk"}, False),
    ({"sub": "u1", "roles": ["admin@council.gov.uk"], "groups": "admin@council.gov.uk"}, False),
])
def test_unverified_claims_naming_an_admin_see_no_access(db, monkeypatch, claims, why):
    monkeypatch.setenv("KPI_TRUSTED_GROUP_CLAIMS", '["groups", "roles"]')
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = {"is_logged_in": True, **claims}
    run(at)
    assert [t.value for t in at.title] == ["No access"] and not nav_pages(at)
    assert ("did not say your email address is verified" in at.error[0].value) is why


@pytest.mark.parametrize("who", list(USERS))
def test_navigation_lists_only_the_pages_the_role_may_open(db, who):
    """On the first page and after moving to every other page the role may open."""
    at = start(who)
    seen = [nav_pages(at)]
    for page in sorted(expected_pages(who)):
        opened = goto(start(who), page)
        seen.append(nav_pages(opened))
    assert all(nav == expected_pages(who) for nav in seen), seen


@pytest.mark.parametrize("who", [w for w in USERS if expected_pages(w)])
def test_first_page_navigation_lists_only_the_roles_pages(db, who):
    assert nav_pages(start(who)) == expected_pages(who)


@pytest.mark.parametrize("who", list(USERS))
@pytest.mark.parametrize("page", ALL_PAGES)
def test_each_page_opens_or_refuses(db, who, page):
    """A page the role may open shows its content; any other shows the refusal and none of its content,
    however it is reached: through navigation (if offered at all), by its URL, or as a file."""
    if page in expected_pages(who):
        opened = goto(start(who), page)
        assert opened is not None and refusal(opened) is None and content_shown(opened)
        return
    assert page not in nav_pages(start(who)) or who in ("signed out", "unknown user", "missing claims")
    # by URL: from wherever the user is (after another page, if the role may open one)
    at = start(who)
    others = sorted(expected_pages(who) - {"overview"})
    if others:
        at = goto(at, others[0])
    try:
        at.switch_page(f"views/{page}.py")
    except ValueError:  # not a registered page: navigation cannot reach it at all
        pass
    else:
        at = run(at)
        assert not content_shown(at) or at.title[0].value in ("Intervention review dashboard", "No access")
        assert refusal(at) or buttons(at) in (["Sign in"], ["Sign out"])
    # the page file itself refuses on the server and shows nothing else
    direct = AppTest.from_file(str(PAGES_DIR / f"{page}.py"), default_timeout=60)
    direct.user = dict(USERS[who])
    direct = run(direct)
    assert refusal(direct) and not content_shown(direct)


# --- actions through the UI -----------------------------------------------------------------------


def _upload(at: AppTest) -> bool:
    at = goto(at, "upload")
    if at is None:
        return False
    if not at.get("file_uploader"):
        return False
    data = (ROOT / "data" / "examples" / "assessments.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("assessments.csv", data, "text/csv"))
    at = run(at)
    load = [b for b in at.button if b.label.startswith("Load ")]
    if not load:
        return False
    load[0].click()
    run(at)
    return True


def _restore(at: AppTest) -> bool:
    at = goto(at, "upload")
    if at is None:
        return False
    picker = [s for s in at.selectbox if s.label == "Restore an earlier upload"]
    if not picker:
        return False
    picker[0].set_value(_superseded_id())
    at = run(at)
    at.button(key="restore").click()
    run(at)
    return True


def _superseded_id() -> int:
    with contextlib.closing(sqlite3.connect(get_settings().db_path)) as c:
        return c.execute("SELECT min(id) FROM uploads WHERE status = 'superseded'").fetchone()[0]


def _reviews(at: AppTest) -> AppTest | None:
    at = goto(at, "reviews")
    if at is None or not [s for s in at.selectbox if s.key == "checkpoint"]:
        return None
    at.selectbox(key="checkpoint").set_value(CHECKPOINT)
    return run(at)


def _evidence(at: AppTest) -> bool:
    at = _reviews(at)
    if at is None or not [s for s in at.selectbox if s.key == "evidence-subject"]:
        return False
    at.selectbox(key="evidence-subject").set_value("tor:2a")
    at.text_area(key="evidence-body").set_value("Leadership team stable since March.")
    next(b for b in at.button if b.label == "Add entry").click()
    run(at)
    return True


def _settings(at: AppTest) -> bool:
    at = goto(at, "settings")
    if at is None or not [n for n in at.number_input if n.key == "sf-agency_rate-tolerance"]:
        return False
    at.number_input(key="sf-agency_rate-tolerance").set_value(4.0)
    at.button(key="save-settings").click()
    run(at)
    return True


def _mark_final(at: AppTest) -> bool:
    at = _reviews(at)
    if at is None or not [c for c in at.checkbox if c.key == "final-confirm"]:
        return False
    at.checkbox(key="final-confirm").check()
    at = run(at)
    at.button(key="mark-final").click()
    run(at)
    return True


def _export(at: AppTest) -> bool:
    at = _reviews(at)
    if at is None:
        return False
    dl = [b for b in at.get("download_button") if b.label == "Download the review table (CSV)"]
    if not dl:
        return False
    dl[0].click()
    run(at)
    return True


ATTEMPT = {"upload": _upload, "restore": _restore, "evidence_edit": _evidence, "settings": _settings,
           "mark_final": _mark_final, "export": _export}
# what an allowed action must change (every other table stays as it was, beyond the audit row)
CHANGES = {"upload": {"uploads", "current_months", "audit_log"}, "restore": {"uploads", "current_months", "audit_log"},
           "evidence_edit": {"evidence", "audit_log"}, "settings": {"review_settings_versions", "audit_log"},
           # marking final first saves the default settings as version 1 (none saved in the demo store)
           "mark_final": {"checkpoint_finals", "review_settings_versions", "audit_log"}, "export": {"audit_log"}}
AUDIT_ACTION = {"upload": "upload", "restore": "restore", "evidence_edit": "evidence_add",
                "settings": "settings_change", "mark_final": "checkpoint_final", "export": "export"}


def _audit_rows(path: Path, action: str) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as c:
        return c.execute("SELECT actor, action FROM audit_log WHERE action = ? ORDER BY id", (action,)).fetchall()


@pytest.mark.parametrize("action", UI_ACTIONS)
@pytest.mark.parametrize("who", list(USERS))
def test_actions_through_the_ui(db, who, action):
    before = counts(db)
    audit_before = _audit_rows(db, AUDIT_ACTION[action])
    offered = ATTEMPT[action](start(who))
    after = counts(db)
    if action in expected_actions(who):
        assert offered, f"{who} may {action} but the UI did not offer it"
        changed = {t for t in TABLES if after[t] != before[t]}
        assert changed == CHANGES[action], (who, action, before, after)
        new = _audit_rows(db, AUDIT_ACTION[action])[len(audit_before):]
        assert new and new[0][0] == USERS[who]["email"], new
    else:
        assert not offered, f"{who} was offered {action}"
        assert after == before


# --- the server-side guard ------------------------------------------------------------------------

GUARD_SCRIPT = """
import streamlit as st
from dashboard import access
who = access.guard({action!r})
st.success("allowed for " + who.label)
"""


@pytest.mark.parametrize("action", [*UI_ACTIONS, "view", "audit_view"])
@pytest.mark.parametrize("who", list(USERS))
def test_guard_itself(db, who, action):
    at = AppTest.from_string(GUARD_SCRIPT.format(action=action), default_timeout=30)
    at.user = dict(USERS[who])
    at = run(at)
    doc_action = {"view": "see overview, KPI detail, reviews, coverage, about; present",
                  "audit_view": "read the audit trail"}
    may = DOC[doc_action[action]].get(who, False) if action in doc_action else action in expected_actions(who)
    if may:
        assert [s.value for s in at.success] == [f"allowed for {USERS[who]['email']}"]
    else:
        assert refusal(at) and not at.success


def _ready(action: str, at: AppTest) -> AppTest:
    """Draw the page as the admin, with everything filled in up to the final click."""
    if action in ("upload", "restore"):
        at = goto(at, "upload")
        if action == "upload":
            data = (ROOT / "data" / "examples" / "assessments.csv").read_bytes()
            at.get("file_uploader")[0].set_value(("assessments.csv", data, "text/csv"))
        else:
            picker = next(s for s in at.selectbox if s.label == "Restore an earlier upload")
            picker.set_value(_superseded_id())
        return run(at)
    if action == "settings":
        at = goto(at, "settings")
        at.number_input(key="sf-agency_rate-tolerance").set_value(4.0)
        return run(at)
    at = _reviews(at)
    if action == "mark_final":
        at.checkbox(key="final-confirm").check()
    else:
        at.selectbox(key="evidence-subject").set_value("tor:2a")
        at.text_area(key="evidence-body").set_value("Written by an admin who is then removed.")
    return run(at)


def _click(action: str, at: AppTest) -> None:
    if action == "upload":
        next(b for b in at.button if b.label.startswith("Load ")).click()
    elif action == "restore":
        at.button(key="restore").click()
    elif action == "settings":
        at.button(key="save-settings").click()
    elif action == "mark_final":
        at.button(key="mark-final").click()
    else:
        next(b for b in at.button if b.label == "Add entry").click()


GUARDED = ("upload", "restore", "settings", "mark_final", "evidence_edit")


@pytest.mark.parametrize(("action", "demoted_to"), [
    (a, d) for a in GUARDED for d in ("viewer", "uploader", "unknown user", "signed out")
    if a not in expected_actions(d)  # only the demotions that take the action away
])
def test_role_removed_between_render_and_click_is_refused(db, action, demoted_to):
    """Drawn for an admin; the role changes (at.user) before the click arrives: nothing changes."""
    at = _ready(action, start("admin"))
    before = counts(db)
    at.user = dict(USERS[demoted_to])
    _click(action, at)
    at = run(at)
    assert counts(db) == before
    assert not [s for s in at.success if "now final" in s.value or "Saved" in s.value or "added" in s.value
                or "Loaded" in s.value or "current again" in s.value]


@pytest.mark.parametrize("action", GUARDED)
def test_the_guard_at_the_click_refuses_when_the_role_no_longer_allows_it(db, action, monkeypatch):
    """The page was drawn with the control (the identity could act then); by the click the policy says no.
    The refusal must come from ``access.guard(action)`` on the server, and nothing may change."""
    from dashboard import access

    at = _ready(action, start("admin"))
    before = counts(db)
    real = access.require

    def revoked(identity, act):
        if act == action:
            raise auth.PermissionDenied(f"Your role (viewer) may not do this; it needs the admin role. [{act}]")
        return real(identity, act)

    monkeypatch.setattr(access, "require", revoked)
    _click(action, at)
    at = run(at)
    assert counts(db) == before
    msg = refusal(at)
    assert msg and f"[{action}]" in msg
    page_action = {"upload": "upload", "restore": "upload", "settings": "settings"}.get(action, "view")
    if page_action != action:  # the page itself still opens: the refusal came from the guard at the click
        assert at.title, "the page was drawn up to the refused action"
