"""Sign-in, roles and the server-side guard every action goes through (policy: metrics.auth)."""

from __future__ import annotations

import streamlit as st

from dashboard.components import plain
from metrics.auth import PAGES, Identity, PermissionDenied, local_identity, require, resolve
from metrics.settings import get_settings

# page key -> (file, title, icon); order = navigation order
PAGE_FILES: dict[str, tuple[str, str, str]] = {
    "overview": ("views/overview.py", "Overview", ":material/dashboard:"),
    "kpi": ("views/kpi.py", "KPI detail", ":material/show_chart:"),
    "reviews": ("views/reviews.py", "Reviews", ":material/fact_check:"),
    "present": ("views/present.py", "Present", ":material/slideshow:"),
    "upload": ("views/upload.py", "Upload", ":material/upload_file:"),
    "coverage": ("views/coverage.py", "Data coverage", ":material/calendar_view_month:"),
    "settings": ("views/settings.py", "Settings", ":material/tune:"),
    "audit": ("views/audit.py", "Audit trail", ":material/history:"),
    "about": ("views/about.py", "About", ":material/info:"),
}


def current_identity() -> Identity | None:
    """Re-resolved on every call from the sign-in claims: a role change applies at once."""
    settings = get_settings()
    if settings.auth_mode == "local":
        return local_identity(settings)
    if not st.user.get("is_logged_in"):
        return None
    return resolve(st.user.to_dict(), settings)


def gate() -> Identity:
    """Show sign-in or refusal and stop, unless the visitor has a role."""
    settings = get_settings()
    if settings.auth_mode == "local":
        st.warning("Local mode: no sign-in provider is configured. For demonstration only — never use "
                   "local mode with real data.", icon=":material/warning:")
    elif not st.user.get("is_logged_in"):
        st.title("Intervention review dashboard")
        st.write("Sign in with your council account to continue.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    identity = current_identity()
    if identity is None or identity.role is None:
        who = identity.label if identity else "your account"
        st.title("No access")
        unverified = settings.auth_mode != "local" and st.user.get("email") and not (identity and identity.email)
        st.error(f"You are signed in as {plain(who)}, which is not on the list of people who may use this "
                 "dashboard. " + ("Your sign-in did not say your email address is verified, so it cannot be "
                                  "used to give you access. " if unverified else "")
                 + "Ask the dashboard administrator to add you.")
        if settings.auth_mode != "local":
            st.button("Sign out", on_click=st.logout)
        st.stop()
    with st.sidebar:
        st.text(f"Signed in as {identity.label} · {identity.role.name}")  # text: never a faint mailto link
        if settings.auth_mode != "local":
            st.button("Sign out", on_click=st.logout, key="sign_out")
    return identity


def pages_for(identity: Identity) -> list:
    pages = []
    for key, (path, title, icon) in PAGE_FILES.items():
        if identity.may(PAGES[key]):
            pages.append(st.Page(path, title=title, icon=icon, url_path=key, default=(key == "overview")))
    return pages


def guard(action: str) -> Identity:
    """Server-side check before an action (or at the top of a page). Stops the run if refused."""
    try:
        return require(current_identity(), action)
    except PermissionDenied as e:
        st.error(str(e))
        st.stop()
        raise  # unreachable: st.stop() raises


def page(key: str) -> Identity:
    """Every page starts with this: the role check for opening it, on the server."""
    return guard(PAGES[key])
