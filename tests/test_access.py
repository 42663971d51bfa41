"""Roles policy (metrics.auth) and the append-only audit trail."""

import sqlite3

import pytest

from metrics import audit
from metrics.auth import ACTIONS, PAGES, PermissionDenied, Role, allowed, local_identity, require, resolve
from metrics.settings import Settings
from metrics.store import connect

SETTINGS = Settings(roles={
    "viewer@council.gov.uk": "viewer",
    "lead@council.gov.uk": "uploader",
    "admin@council.gov.uk": "admin",
    "sg-csc-performance": "uploader",
    "sg-csc-review-owners": "admin",
})

# role -> the actions it may take (every other action refused)
EXPECTED = {
    None: set(),
    Role.viewer: {"view", "export"},
    Role.uploader: {"view", "export", "upload", "restore", "evidence_edit"},
    Role.admin: set(ACTIONS),
}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_action_matrix(role, action):
    assert allowed(role, action) is (action in EXPECTED[role])


@pytest.mark.parametrize(
    "claims, expected",
    [
        ({"email": "viewer@council.gov.uk"}, Role.viewer),
        ({"email": "LEAD@Council.gov.uk "}, Role.uploader),  # case and spaces
        ({"email": "admin@council.gov.uk"}, Role.admin),
        ({"email": "someone@council.gov.uk", "groups": ["sg-csc-performance"]}, Role.uploader),
        ({"email": "viewer@council.gov.uk", "groups": ["sg-csc-review-owners"]}, Role.admin),  # highest wins
        ({"preferred_username": "lead@council.gov.uk"}, Role.uploader),  # Entra's claim name
        ({"email": "stranger@elsewhere.org"}, None),
        ({"name": "No Email"}, None),  # missing claims
        ({"email": "x@y.z", "groups": "sg-csc-performance"}, Role.uploader),  # a single group as a string
    ],
)
def test_resolve_roles_from_claims(claims, expected):
    ident = resolve(claims, SETTINGS)
    assert ident is not None and ident.role == expected


def test_no_claims_is_no_identity():
    assert resolve(None, SETTINGS) is None
    assert resolve({}, SETTINGS) is None


def test_require_refuses_with_a_message_naming_the_role_needed():
    viewer = resolve({"email": "viewer@council.gov.uk"}, SETTINGS)
    with pytest.raises(PermissionDenied, match="needs the uploader role"):
        require(viewer, "upload")
    with pytest.raises(PermissionDenied, match="not on the list"):
        require(resolve({"email": "stranger@x.org"}, SETTINGS), "view")
    with pytest.raises(PermissionDenied):
        require(None, "view")
    assert require(viewer, "view") is viewer


def test_uploader_cannot_change_targets_or_mark_final():
    lead = resolve({"email": "lead@council.gov.uk"}, SETTINGS)
    for action in ("settings", "mark_final", "audit_view"):
        with pytest.raises(PermissionDenied):
            require(lead, action)


def test_every_page_has_a_known_action():
    assert set(PAGES.values()) <= set(ACTIONS)


def test_bad_role_name_in_settings_is_refused_naming_it():
    with pytest.raises(ValueError, match="'superuser' for 'a@b.c' is not a role"):
        resolve({"email": "a@b.c"}, Settings(roles={"a@b.c": "superuser"}))


def test_local_mode_identity_defaults_to_admin_but_roles_win():
    assert local_identity(Settings()).role == Role.admin
    s = Settings(local_user="lead@council.gov.uk", roles={"lead@council.gov.uk": "uploader"})
    assert local_identity(s).role == Role.uploader
    assert local_identity(Settings(local_role=None)).role is None


def test_audit_rows_cannot_be_changed_or_deleted(tmp_path):
    conn = connect(tmp_path / "s.sqlite")
    audit.record_now(conn, "admin@council.gov.uk", "settings_change", "targets", {"agency_rate": 20})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_log")
    rows = conn.execute("SELECT actor, action, target FROM audit_log").fetchall()
    assert [tuple(r) for r in rows] == [("admin@council.gov.uk", "settings_change", "targets")]


def test_unknown_audit_action_is_refused(tmp_path):
    conn = connect(tmp_path / "s.sqlite")
    with pytest.raises(ValueError):
        audit.record_now(conn, "a", "drop_tables")
