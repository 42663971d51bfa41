"""The roles table of docs/access.md, in two layers.

1. **The policy, cell by cell** (pure, no app run): for every identity — signed out, signed in but unlisted,
   signed in with no email or group claim, and one each of viewer, uploader and admin (KPI_ROLES) — and
   every page and every action ``metrics.auth`` declares, the policy allows exactly what the document ticks,
   and ``auth.require`` refuses everything else with the right message.
2. **The wiring, end to end** (AppTest, OIDC mode), at the boundary of each rule: the sign-in gate;
   navigation for each role; each page opened by the least role allowed and refused to the role just below
   it (through navigation, by URL and as a file); each action carried out through the UI by the least role
   allowed (it changes the store and is audited) and not offered to the role just below (nothing changes);
   and each action the dashboard guards refused at the click, both when the policy says no at that moment
   and when the role was taken away between the page being drawn and the button being clicked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.access import PAGE_FILES
from dashboard.loaders import data_version
from metrics import auth, store
from metrics.demo_store import DEMO_KEY
from metrics.ingest import ingest_path
from metrics.settings import Settings, get_settings

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
# the role each identity must resolve to; the boundary runs below go up this order
ROLE_OF = {"signed out": None, "unknown user": None, "missing claims": None,
           "viewer": "viewer", "uploader": "uploader", "admin": "admin"}
LADDER = ("unknown user", "viewer", "uploader", "admin")
ALL_PAGES = ("overview", "kpi", "reviews", "present", "upload", "coverage", "settings", "audit", "about")
TABLES = ("uploads", "current_months", "review_settings_versions", "checkpoint_finals", "evidence", "actions",
          "audit_log")
CHECKPOINT = "2024-06-01"

VIEW = "see overview, KPI detail, reviews, coverage, about; present"
UPLOAD = "upload extracts, restore an earlier upload"
# each row of the roles table in docs/access.md -> the pages it opens
DOC_PAGES: dict[str, tuple[str, ...]] = {
    VIEW: ("overview", "kpi", "reviews", "coverage", "about", "present"),
    UPLOAD: ("upload",),
    "change checkpoints, targets, tolerances, settings": ("settings",),
    "read the audit trail": ("audit",),
}
# each action of the policy table (metrics.auth.ACTIONS) -> the row of docs/access.md that grants it
ACTION_ROW: dict[str, str] = {
    "view": VIEW,
    "export": "download exports and board packs",
    "upload": UPLOAD,
    "restore": UPLOAD,
    "evidence_edit": "write evidence and commentary",
    "actions_edit": "agree actions and record their updates (actions log)",
    "settings": "change checkpoints, targets, tolerances, settings",
    "mark_final": "mark a checkpoint final",
    "audit_view": "read the audit trail",
    "withdraw": "withdraw an upload (restore brings it back)",
}


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


def may(who: str, action: str) -> bool:
    """What docs/access.md says ``who`` may do; a clear failure for an action this test does not know."""
    if action not in ACTION_ROW:
        pytest.fail(f"metrics.auth.ACTIONS declares '{action}' but tests/test_dashboard_access.py has no "
                    "expectation for it: add it to ACTION_ROW with the docs/access.md row that grants it")
    role = ROLE_OF[who]
    return role is not None and DOC[ACTION_ROW[action]].get(role, False)


def expected_pages(who: str) -> set[str]:
    role = ROLE_OF[who]
    return {p for row, pages in DOC_PAGES.items() if role and DOC[row].get(role, False) for p in pages}


def least_allowed(action: str) -> str:
    return next(w for w in LADDER if may(w, action))


def just_below(action: str) -> str:
    """The highest identity the action is refused to: the one a slip in the wiring would let through."""
    return [w for w in LADDER if not may(w, action)][-1]


def page_action(page: str) -> str:
    return auth.PAGES[page]


# --- 1. the policy, cell by cell ----------------------------------------------------------------------

SETTINGS = Settings(roles=ROLES)


def role(who: str) -> auth.Role | None:
    return auth.Role[ROLE_OF[who]] if ROLE_OF[who] else None


def identity(who: str) -> auth.Identity | None:
    """What the dashboard makes of the sign-in (dashboard.access.current_identity, OIDC mode)."""
    claims = USERS[who]
    return auth.resolve(claims, SETTINGS) if claims["is_logged_in"] else None


def test_the_doc_table_is_the_one_these_tests_check():
    assert set(DOC) == set(ACTION_ROW.values()), "docs/access.md's roles table changed: update ACTION_ROW"
    assert set(DOC_PAGES) <= set(DOC)
    assert {p for pages in DOC_PAGES.values() for p in pages} == set(ALL_PAGES) == set(auth.PAGES) == set(PAGE_FILES)
    new = set(auth.ACTIONS) - set(ACTION_ROW)
    assert not new, f"new action(s) {sorted(new)} in metrics.auth.ACTIONS: add each to ACTION_ROW with its docs row"
    assert set(ACTION_ROW) == set(auth.ACTIONS), "ACTION_ROW names an action metrics.auth no longer declares"
    assert sorted(LADDER, key=lambda w: identity(w).role or 0) == list(LADDER)


@pytest.mark.parametrize("who", list(USERS))
def test_identity_resolves_to_its_role(who):
    ident = identity(who)
    assert (ident.role.name if ident and ident.role else None) == ROLE_OF[who]


@pytest.mark.parametrize("page", ALL_PAGES)
@pytest.mark.parametrize("who", list(USERS))
def test_page_policy(who, page):
    opens = page in expected_pages(who)
    assert auth.allowed(role(who), page_action(page)) is opens
    _assert_require(who, page_action(page), opens)


@pytest.mark.parametrize("action", list(auth.ACTIONS))
@pytest.mark.parametrize("who", list(USERS))
def test_action_policy(who, action):
    allowed = may(who, action)
    assert auth.allowed(role(who), action) is allowed
    _assert_require(who, action, allowed)


def _assert_require(who: str, action: str, allowed: bool) -> None:
    ident = identity(who)
    if allowed:
        assert auth.require(ident, action) is ident
        return
    with pytest.raises(auth.PermissionDenied) as refused:
        auth.require(ident, action)
    if ROLE_OF[who] is None:
        assert "not on the list" in str(refused.value)
    else:
        assert f"needs the {auth.ACTIONS[action].name} role" in str(refused.value)


def _guards_in_source() -> dict[str, set[str]]:
    """File -> the actions it checks with ``access.guard(...)`` / ``access.page(...)``."""
    out = {}
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found = set(re.findall(r"access\.guard\(\"(\w+)\"\)", text))
        found |= {f"page:{p}" for p in re.findall(r"access\.page\(\"(\w+)\"\)", text)}
        if found:
            out[path.relative_to(ROOT / "dashboard").as_posix()] = found
    return out


def test_every_page_file_checks_its_own_page_and_every_guarded_action_is_tested_end_to_end():
    guards = _guards_in_source()
    for page, (path, _title, _icon) in PAGE_FILES.items():
        assert f"page:{page}" in guards.get(path, set()), f"{path} does not start with access.page({page!r})"
    guarded = {a for found in guards.values() for a in found if not a.startswith("page:")}
    assert guarded <= set(auth.ACTIONS)
    untested = guarded - set(AT_THE_CLICK)
    assert not untested, f"the dashboard guards {sorted(untested)} but no test here refuses it at the click"


# --- 2. the wiring, end to end ------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("access-db") / "kpi.sqlite"


@pytest.fixture
def db(access_template, db_path, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the template for each test, always at the same path: the dashboard's caches are keyed
    on (path, newest audit id), so every test after the first reads them instead of recomputing the KPIs.
    A test that changed the store clears them, so that no later test meets figures cached for its changes."""
    path = db_path
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(access_template, path)
    for name in ("KPI_LOCAL_USER", "KPI_LOCAL_GROUPS", "KPI_LOCAL_ROLE", "KPI_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_DB_PATH", str(path))
    monkeypatch.setenv("KPI_AUTH_MODE", "oidc")
    monkeypatch.setenv("KPI_ROLES", json.dumps(ROLES))
    monkeypatch.setenv("KPI_PSEUDONYM_KEY", DEMO_KEY)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    unchanged = data_version(str(path))
    yield path
    if data_version(str(path)) != unchanged:
        st.cache_data.clear()
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


def open_file(page: str, who: str) -> AppTest:
    """The page file run on its own, as if reached without app.py's gate and navigation."""
    at = AppTest.from_file(str(PAGES_DIR / f"{page}.py"), default_timeout=60)
    at.user = dict(USERS[who])
    return run(at)


# --- the gate and navigation ---
# The page files live in dashboard/views/, not a folder named "pages": beside app.py a "pages" folder
# switches Streamlit to its legacy multipage runner, which runs a page without app.py (no sign-in gate)
# and lists every file in the sidebar. These tests hold that it does not happen.


def test_signed_out_sees_only_the_sign_in_button(db):
    at = start("signed out")
    assert buttons(at) == ["Sign in"]
    assert [t.value for t in at.title] == ["Intervention review dashboard"]
    assert not at.dataframe and not at.error and not at.sidebar.children and not nav_pages(at)
    assert not [e for e in at.main if e.type in ("selectbox", "text_input", "file_uploader", "download_button")]
    direct = open_file("overview", "signed out")  # and a page file refuses on its own
    assert refusal(direct) and not content_shown(direct)


@pytest.mark.parametrize("who", ["unknown user", "missing claims"])
def test_signed_in_without_a_role_sees_no_access(db, who):
    at = start(who)
    assert [t.value for t in at.title] == ["No access"]
    assert "not on the list" in at.error[0].value
    assert buttons(at) == ["Sign out"] and not at.dataframe and not nav_pages(at)


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


@pytest.mark.parametrize("who", [w for w in USERS if expected_pages(w)])
def test_navigation_lists_only_the_roles_pages(db, who):
    assert nav_pages(start(who)) == expected_pages(who)


# --- pages: opened by the least role allowed, refused to the role just below ---


@pytest.mark.parametrize("page", ALL_PAGES)
def test_page_opens_for_the_least_role_allowed(db, page):
    who = least_allowed(page_action(page))
    opened = goto(start(who), page)
    assert opened is not None, f"{who} may open {page} but navigation does not offer it"
    assert refusal(opened) is None and content_shown(opened)
    assert nav_pages(opened) == expected_pages(who), "navigation changed on moving to another page"


@pytest.mark.parametrize("page", ALL_PAGES)
def test_page_refused_to_the_role_just_below(db, page):
    """Refused however it is reached: through navigation (not offered), by its URL, or as a file."""
    who = just_below(page_action(page))
    at = start(who)
    assert page not in nav_pages(at)
    try:
        at.switch_page(f"views/{page}.py")
    except ValueError:  # not a registered page: navigation cannot reach it at all
        pass
    else:
        at = run(at)
        assert not content_shown(at) or at.title[0].value in ("Intervention review dashboard", "No access")
        assert refusal(at) or buttons(at) in (["Sign in"], ["Sign out"])
    direct = open_file(page, who)  # the page file itself refuses on the server and shows nothing else
    assert refusal(direct) and not content_shown(direct)


# --- actions through the UI: carried out by the least role allowed, not offered to the role below ---


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


def _withdraw(at: AppTest) -> bool:
    at = goto(at, "upload")
    if at is None:
        return False
    picker = [s for s in at.selectbox if s.label == "Withdraw an upload (admin)"]
    if not picker:
        return False
    picker[0].set_value(_current_id())
    at = run(at)
    at.button(key="withdraw").click()
    run(at)
    return True


def _current_id() -> int:
    with contextlib.closing(sqlite3.connect(get_settings().db_path)) as c:
        return c.execute("SELECT max(id) FROM uploads WHERE status = 'current'").fetchone()[0]


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


def _fill_action(at: AppTest) -> AppTest | None:
    """The KPI page with the 'Agree an action' form filled in (None if the page offers no form)."""
    at = goto(at, "kpi")
    if at is None or not [t for t in at.text_input if t.key == "action-title"]:
        return None
    at.text_input(key="action-title").set_value("Convert six agency posts to permanent")
    at.text_input(key="action-owner").set_value("Workforce team")
    at.date_input(key="action-due").set_value(dt.date(2025, 9, 30))
    return at


def _action(at: AppTest) -> bool:
    at = _fill_action(at)
    if at is None:
        return False
    next(b for b in at.button if b.label == "Add the action").click()
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
           "mark_final": _mark_final, "export": _export, "withdraw": _withdraw, "actions_edit": _action}
UI_ACTIONS = tuple(ATTEMPT)
# what an allowed action must change (every other table stays as it was, beyond the audit row)
CHANGES = {"upload": {"uploads", "current_months", "audit_log"}, "restore": {"uploads", "current_months", "audit_log"},
           "evidence_edit": {"evidence", "audit_log"}, "settings": {"review_settings_versions", "audit_log"},
           # marking final first saves the default settings as version 1 (none saved in the demo store)
           "mark_final": {"checkpoint_finals", "review_settings_versions", "audit_log"}, "export": {"audit_log"},
           "withdraw": {"uploads", "current_months", "audit_log"}, "actions_edit": {"actions", "audit_log"}}
AUDIT_ACTION = {"upload": "upload", "restore": "restore", "evidence_edit": "evidence_add",
                "settings": "settings_change", "mark_final": "checkpoint_final", "export": "export",
                "withdraw": "withdraw", "actions_edit": "action_add"}


def _audit_rows(path: Path, action: str) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as c:
        return c.execute("SELECT actor, action FROM audit_log WHERE action = ? ORDER BY id", (action,)).fetchall()


def test_every_ui_action_is_a_policy_action():
    assert set(UI_ACTIONS) <= set(auth.ACTIONS)
    assert set(UI_ACTIONS) == set(CHANGES) == set(AUDIT_ACTION)


@pytest.mark.parametrize("action", UI_ACTIONS)
def test_action_carried_out_by_the_least_role_allowed(db, action):
    who = least_allowed(action)
    before = counts(db)
    audit_before = _audit_rows(db, AUDIT_ACTION[action])
    assert ATTEMPT[action](start(who)), f"{who} may {action} but the UI did not offer it"
    after = counts(db)
    changed = {t for t in TABLES if after[t] != before[t]}
    assert changed == CHANGES[action], (who, action, before, after)
    new = _audit_rows(db, AUDIT_ACTION[action])[len(audit_before):]
    assert new and new[0][0] == USERS[who]["email"], new


@pytest.mark.parametrize("action", UI_ACTIONS)
def test_action_not_offered_to_the_role_just_below(db, action):
    who = just_below(action)
    before = counts(db)
    assert not ATTEMPT[action](start(who)), f"{who} was offered {action}"
    assert counts(db) == before


# --- the server-side guard ---

GUARD_SCRIPT = """
import streamlit as st
from dashboard import access
who = access.guard({action!r})
st.success("allowed for " + who.label)
"""


@pytest.mark.parametrize("who", list(USERS))
def test_guard_reads_the_signed_in_identity(db, who):
    """``access.guard`` on its own, for each kind of identity (which action needs which role: part 1)."""
    action = "settings"
    at = AppTest.from_string(GUARD_SCRIPT.format(action=action), default_timeout=30)
    at.user = dict(USERS[who])
    at = run(at)
    if may(who, action):
        assert [s.value for s in at.success] == [f"allowed for {USERS[who]['email']}"]
    else:
        assert refusal(at) and not at.success


def _ready(action: str, at: AppTest) -> AppTest:
    """Draw the page as the admin, with everything filled in up to the final click."""
    if action in ("upload", "restore", "withdraw"):
        at = goto(at, "upload")
        if action == "upload":
            data = (ROOT / "data" / "examples" / "assessments.csv").read_bytes()
            at.get("file_uploader")[0].set_value(("assessments.csv", data, "text/csv"))
        elif action == "withdraw":
            next(s for s in at.selectbox if s.label == "Withdraw an upload (admin)").set_value(_current_id())
        else:
            picker = next(s for s in at.selectbox if s.label == "Restore an earlier upload")
            picker.set_value(_superseded_id())
        return run(at)
    if action == "settings":
        at = goto(at, "settings")
        at.number_input(key="sf-agency_rate-tolerance").set_value(4.0)
        return run(at)
    if action == "actions_edit":
        return _fill_action(at)
    at = _reviews(at)
    if action == "export":  # the board pack: prepared on the server after its own check
        return at
    if action == "mark_final":
        at.checkbox(key="final-confirm").check()
    else:
        at.selectbox(key="evidence-subject").set_value("tor:2a")
        at.text_area(key="evidence-body").set_value("Written by an admin who is then removed.")
    return run(at)


AT_THE_CLICK = {
    "upload": lambda at: next(b for b in at.button if b.label.startswith("Load ")).click(),
    "restore": lambda at: at.button(key="restore").click(),
    "withdraw": lambda at: at.button(key="withdraw").click(),
    "settings": lambda at: at.button(key="save-settings").click(),
    "mark_final": lambda at: at.button(key="mark-final").click(),
    "evidence_edit": lambda at: next(b for b in at.button if b.label == "Add entry").click(),
    "export": lambda at: at.button(key="pack-build").click(),
    "actions_edit": lambda at: next(b for b in at.button if b.label == "Add the action").click(),
}
# actions a role can lose while keeping the page the control is on (export goes only with every role)
GUARDED = tuple(a for a in AT_THE_CLICK if just_below(a) != "unknown user")
DONE = ("now final", "Saved", "added", "Loaded", "current again", "withdrawn")


@pytest.mark.parametrize("action", GUARDED)
def test_role_removed_between_render_and_click_is_refused(db, action):
    """Drawn for an admin; the role drops to the one just below (at.user) before the click: nothing changes."""
    at = _ready(action, start("admin"))
    before = counts(db)
    at.user = dict(USERS[just_below(action)])
    AT_THE_CLICK[action](at)
    at = run(at)
    assert counts(db) == before
    assert not [s for s in at.success if any(word in s.value for word in DONE)]


def test_signed_out_between_render_and_click_is_refused(db):
    at = _ready("mark_final", start("admin"))
    before = counts(db)
    at.user = dict(USERS["signed out"])
    AT_THE_CLICK["mark_final"](at)
    at = run(at)
    assert counts(db) == before and buttons(at) == ["Sign in"]


@pytest.mark.parametrize("action", list(AT_THE_CLICK))
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
    AT_THE_CLICK[action](at)
    at = run(at)
    assert counts(db) == before
    msg = refusal(at)
    assert msg and f"[{action}]" in msg
    on_page = {"upload": "upload", "restore": "upload", "withdraw": "upload", "settings": "settings"}.get(action, "view")
    if on_page != action:  # the page itself still opens: the refusal came from the guard at the click
        assert at.title, "the page was drawn up to the refused action"
