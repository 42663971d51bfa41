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
    Role.uploader: {"view", "export", "upload", "restore", "evidence_edit", "actions_edit"},
    Role.admin: set(ACTIONS),
}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_action_matrix(role, action):
    assert allowed(role, action) is (action in EXPECTED[role])


TRUSTING_GROUPS = SETTINGS.model_copy(update={"trusted_group_claims": ["groups", "roles"]})
V = {"email_verified": True}


@pytest.mark.parametrize(
    "claims, expected",
    [
        ({"email": "viewer@council.gov.uk", **V}, Role.viewer),
        ({"email": "LEAD@Council.gov.uk ", **V}, Role.uploader),  # case and spaces
        ({"email": "admin@council.gov.uk", **V}, Role.admin),
        ({"email": "admin@council.gov.uk", "email_verified": "true"}, Role.admin),  # some providers send a string
        ({"email": "someone@council.gov.uk", **V, "groups": ["sg-csc-performance"]}, Role.uploader),
        ({"email": "viewer@council.gov.uk", **V, "groups": ["sg-csc-review-owners"]}, Role.admin),  # highest wins
        ({"email": "stranger@elsewhere.org", **V}, None),
        ({"name": "No Email"}, None),  # missing claims
        ({"email": "x@y.z", **V, "groups": "sg-csc-performance"}, Role.uploader),  # a single group as a string
        ({"sub": "abc", "roles": ["sg-csc-review-owners"]}, Role.admin),  # a trusted roles claim, no email
    ],
)
def test_resolve_roles_from_verified_claims(claims, expected):
    ident = resolve(claims, TRUSTING_GROUPS)
    assert ident is not None and ident.role == expected


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "admin@council.gov.uk"},  # no email_verified claim at all
        {"email": "admin@council.gov.uk", "email_verified": False},
        {"email": "admin@council.gov.uk", "email_verified": "false"},
        {"email": "admin@council.gov.uk", "email_verified": 1},  # only true (or "true") counts
        {"email": "admin@council.gov.uk", "email_verified": None},
    ],
)
def test_an_unverified_email_grants_no_role(claims):
    ident = resolve(claims, TRUSTING_GROUPS)
    assert ident is not None and ident.role is None and ident.email is None


@pytest.mark.parametrize("claim", ["preferred_username", "upn", "unique_name", "name"])
def test_preferred_username_and_other_names_are_never_an_email(claim):
    ident = resolve({claim: "admin@council.gov.uk", "sub": "u1"}, TRUSTING_GROUPS)
    assert ident.role is None and ident.email is None


@pytest.mark.parametrize("claim", ["roles", "groups"])
def test_a_group_claim_holding_an_admins_email_grants_nothing(claim):
    """Claims in a roles/groups list are matched only against configured group names, never emails."""
    for value in ("admin@council.gov.uk", ["admin@council.gov.uk"], ["ADMIN@council.gov.uk "]):
        ident = resolve({"sub": "u1", claim: value}, TRUSTING_GROUPS)
        assert ident.role is None, value
        # nor with an unverified email beside it
        ident = resolve({"email": "admin@council.gov.uk", "email_verified": False, claim: value}, TRUSTING_GROUPS)
        assert ident.role is None, value


def test_a_verified_email_is_not_matched_against_group_names():
    s = Settings(roles={"sg-admins": "admin"}, trusted_group_claims=["groups"])
    assert resolve({"email": "sg-admins", **V}, s).role is None  # not an address: no email role either
    assert resolve({"email": "x@y.z", **V, "groups": ["sg-admins"]}, s).role == Role.admin


def test_group_claims_count_only_when_configured_as_trusted():
    claims = {"email": "someone@council.gov.uk", **V, "groups": ["sg-csc-review-owners"],
              "roles": ["sg-csc-review-owners"]}
    assert resolve(claims, SETTINGS).role is None  # default: no claim is trusted
    only_groups = SETTINGS.model_copy(update={"trusted_group_claims": ["groups"]})
    assert resolve({"sub": "u", "roles": ["sg-csc-review-owners"]}, only_groups).role is None
    assert resolve({"sub": "u", "groups": ["sg-csc-review-owners"]}, only_groups).role == Role.admin
    custom = SETTINGS.model_copy(update={"trusted_group_claims": ["cognito:groups"]})
    assert resolve({"sub": "u", "cognito:groups": ["sg-csc-performance"]}, custom).role == Role.uploader


def test_trusted_group_claims_setting_from_the_environment(monkeypatch):
    monkeypatch.setenv("KPI_TRUSTED_GROUP_CLAIMS", '["groups", "roles"]')
    assert Settings().trusted_group_claims == ["groups", "roles"]
    monkeypatch.delenv("KPI_TRUSTED_GROUP_CLAIMS")
    assert Settings().trusted_group_claims == []


def test_label_without_a_verified_email_names_the_subject():
    """The audit trail records who acted: a display name alone is not unique, so the subject is added."""
    ident = resolve({"sub": "8f2c", "name": "Ana Lead", "groups": ["sg-csc-performance"]}, TRUSTING_GROUPS)
    assert ident.role == Role.uploader and ident.label == "Ana Lead (8f2c)"
    assert resolve({"email": "a@b.c", **V, "name": "A"}, SETTINGS).label == "a@b.c"
    assert resolve({"email": "a@b.c", "name": "A", "sub": "s"}, SETTINGS).label == "A (s)"  # unverified email unused


def test_no_claims_is_no_identity():
    assert resolve(None, SETTINGS) is None
    assert resolve({}, SETTINGS) is None


def test_require_refuses_with_a_message_naming_the_role_needed():
    viewer = resolve({"email": "viewer@council.gov.uk", **V}, SETTINGS)
    with pytest.raises(PermissionDenied, match="needs the uploader role"):
        require(viewer, "upload")
    with pytest.raises(PermissionDenied, match="not on the list"):
        require(resolve({"email": "stranger@x.org", **V}, SETTINGS), "view")
    with pytest.raises(PermissionDenied):
        require(None, "view")
    assert require(viewer, "view") is viewer


def test_uploader_cannot_change_targets_or_mark_final():
    lead = resolve({"email": "lead@council.gov.uk", **V}, SETTINGS)
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


@pytest.mark.both_engines
def test_audit_rows_cannot_be_changed_or_deleted(fresh_db):
    conn = connect(fresh_db)
    audit.record_now(conn, "admin@council.gov.uk", "settings_change", "targets", {"agency_rate": 20})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_log")
    rows = conn.execute("SELECT actor, action, target FROM audit_log").fetchall()
    assert [tuple(r) for r in rows] == [("admin@council.gov.uk", "settings_change", "targets")]


@pytest.mark.both_engines
def test_unknown_audit_action_is_refused(fresh_db):
    conn = connect(fresh_db)
    with pytest.raises(ValueError):
        audit.record_now(conn, "a", "drop_tables")
