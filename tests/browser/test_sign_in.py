"""The real OIDC sign-in (``st.login`` through Authlib) against a stub provider on 127.0.0.1.

The dashboard runs as ``streamlit run dashboard/app.py`` from a temporary folder whose
``.streamlit/secrets.toml`` has an ``[auth]`` section pointing at the stub (tests/browser/oidc_stub.py).
Chromium clicks "Sign in", is sent to the stub's authorize endpoint, comes back with a code, Streamlit
exchanges it (client secret, PKCE) for an RS256 id_token, checks it against the stub's JWKS, and the
page shows who is signed in with which role — decided by metrics.auth from verified claims only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil

import pytest

from browser_support import REPO_ROOT, VIEWPORT, StreamlitServer, nav_titles, server_env, wait_for_app
from oidc_stub import OIDCStub

ROLES = {"admin@council.gov.uk": "admin", "sg-csc-performance": "uploader"}


@pytest.fixture(scope="module")
def oidc_app(tmp_path_factory, demo_template):
    """The stub provider and the dashboard configured for it (OIDC mode, on a copy of the demo store)."""
    home = tmp_path_factory.mktemp("oidc-app")
    db = home / "kpi.sqlite"
    shutil.copyfile(demo_template, db)
    with OIDCStub() as stub:
        srv = StreamlitServer(REPO_ROOT / "dashboard" / "app.py", cwd=home, env={
            **server_env(db), "KPI_AUTH_MODE": "oidc", "KPI_DEMO_MODE": "true",
            "KPI_ROLES": json.dumps(ROLES), "KPI_TRUSTED_GROUP_CLAIMS": '["groups", "roles"]',
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        })
        (home / ".streamlit").mkdir()
        (home / ".streamlit" / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{srv.port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            f'client_id = "{stub.client_id}"\n'
            f'client_secret = "{stub.client_secret}"\n'
            f'server_metadata_url = "{stub.metadata_url}"\n', encoding="utf-8")
        with srv:
            yield stub, srv


def sign_in(browser, oidc_app, claims: dict, *, wrong_key: bool = False) -> dict:
    """A fresh browser signs in as whoever ``claims`` describe; returns what the page then shows."""
    stub, srv = oidc_app
    stub.claims, stub.wrong_key = claims, wrong_key
    stub.log.clear()
    ctx = browser.new_context(viewport=VIEWPORT, base_url=srv.url)
    ctx.set_default_timeout(30_000)
    try:
        page = ctx.new_page()
        page.goto("/")
        wait_for_app(page)
        button = page.get_by_role("button", name="Sign in")
        button.wait_for()
        with page.expect_navigation(url=re.compile(rf"^{re.escape(srv.url)}/?(\?.*)?$"), timeout=30_000):
            button.click()
        wait_for_app(page)
        sidebar = page.locator('[data-testid="stSidebar"]')
        return {
            "title": page.locator("h1").first.inner_text().strip(),
            "signed_in_as": sidebar.get_by_text("Signed in as").all_inner_texts() if sidebar.count() else [],
            "nav": nav_titles(page),
            "text": page.locator('[data-testid="stMain"]').inner_text(),
            "provider_calls": list(stub.log),
        }
    finally:
        ctx.close()


def test_signed_out_visitor_sees_only_sign_in(browser, oidc_app):
    _, srv = oidc_app
    ctx = browser.new_context(viewport=VIEWPORT, base_url=srv.url)
    try:
        page = ctx.new_page()
        page.goto("/")
        wait_for_app(page)
        assert page.get_by_role("button", name="Sign in").count() == 1
        assert nav_titles(page) == []
    finally:
        ctx.close()


def test_verified_email_signs_in_with_its_role(browser, oidc_app):
    seen = sign_in(browser, oidc_app, {"sub": "u-admin", "email": "Admin@Council.gov.uk", "email_verified": True,
                                       "name": "Ana Admin"})
    # the whole flow ran against the provider: discovery, authorize, token exchange, keys
    for call in ("GET /.well-known/openid-configuration", "GET /authorize", "POST /token", "GET /jwks"):
        assert call in seen["provider_calls"], seen["provider_calls"]
    assert seen["signed_in_as"] == ["Signed in as admin@council.gov.uk · admin"], seen
    assert "Audit trail" in seen["nav"] and "Settings" in seen["nav"]


def test_trusted_group_claim_gives_its_role(browser, oidc_app):
    seen = sign_in(browser, oidc_app, {"sub": "u-lead", "name": "Pat Lead", "groups": ["sg-csc-performance"]})
    assert seen["signed_in_as"] == ["Signed in as Pat Lead (u-lead) · uploader"], seen
    assert "Upload" in seen["nav"] and "Settings" not in seen["nav"]


@pytest.mark.parametrize("claims", [
    {"sub": "u-x", "email": "admin@council.gov.uk", "email_verified": False},
    {"sub": "u-y", "email": "admin@council.gov.uk"},  # no email_verified claim
    {"sub": "u-z", "preferred_username": "admin@council.gov.uk", "roles": ["admin@council.gov.uk"]},
], ids=["email-unverified", "email-verified-missing", "username-and-roles-claim-naming-the-admin"])
def test_unverified_claims_give_no_access(browser, oidc_app, claims):
    seen = sign_in(browser, oidc_app, claims)
    assert "POST /token" in seen["provider_calls"]  # signed in at the provider...
    assert seen["title"] == "No access", seen  # ...but no role from those claims
    assert seen["nav"] == [] and "admin" not in " ".join(seen["signed_in_as"])
    assert ("did not say your email address is verified" in seen["text"]) == ("email" in claims)


def test_a_token_signed_with_another_key_does_not_sign_in(browser, oidc_app):
    seen = sign_in(browser, oidc_app, {"sub": "u-admin", "email": "admin@council.gov.uk", "email_verified": True},
                   wrong_key=True)
    assert "POST /token" in seen["provider_calls"]
    assert seen["title"] == "Intervention review dashboard" and "Sign in with your council account" in seen["text"]
    assert seen["signed_in_as"] == [] and seen["nav"] == []
