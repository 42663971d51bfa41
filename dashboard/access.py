"""Sign-in, roles and the server-side guard every action goes through (policy: metrics.auth), and the
council being used (metrics.councils): it travels in the URL (``?council=884``) when several councils are
configured, and every page, export, upload and action is checked against the role at THAT council."""

from __future__ import annotations

import streamlit as st

from dashboard.components import plain
from metrics.auth import PAGES, Identity, PermissionDenied, local_identity, require, resolve
from metrics.councils import Council, configured, council
from metrics.settings import Settings, get_settings

#: st.session_state key (and URL query parameter) of the council being used
COUNCIL_KEY = "council"

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


def wanted_council() -> str | None:
    """The council the URL (or, between pages, the session) asks for; None when not said."""
    if len(configured()) == 1:
        return configured()[0].code
    wanted = st.query_params.get(COUNCIL_KEY) or st.session_state.get(COUNCIL_KEY)
    return str(wanted).strip() if wanted else None


def current_identity() -> Identity | None:
    """Re-resolved on every call from the sign-in claims: a role change applies at once. ``role`` is the
    role at the council being used: the one the URL names (no role there: None), else their first."""
    from dataclasses import replace

    settings = get_settings()
    if settings.auth_mode == "local":
        ident = local_identity(settings)
    elif not st.user.get("is_logged_in"):
        return None
    else:
        ident = resolve(st.user.to_dict(), settings)
    if ident is None:
        return None
    code = wanted_council() or (ident.councils[0][0] if ident.councils else None)
    return replace(ident, council=code, role=dict(ident.councils).get(code))


_BOUND: set[tuple[str, str]] = set()  # (store, LA code) checked in this process (metrics.councils.bind_store)


def current_council() -> Council:
    """The council being used, once the signed-in user has a role there (``gate`` has checked it); its store
    checked, once per process, to be its own."""
    ident = current_identity()
    if ident is None or ident.role is None:
        raise PermissionDenied("You are not on the list of people who may use this council's dashboard.")
    return checked(council(ident.council))


def checked(c: Council) -> Council:
    """``c``, its store checked (once per process) to be its own: CouncilMismatch otherwise."""
    if (c.store, c.code) not in _BOUND:
        import sqlite3

        from metrics.councils import open_store

        try:
            open_store(c).close()
        except sqlite3.DatabaseError:  # a store that cannot be read at all (either engine): its pages fail, redacted,
            return c                   # as they always have; nothing of another council's can be read from it
        _BOUND.add((c.store, c.code))
    return c


def council_settings() -> Settings:
    """The deployment's settings as the council being used: its store, key, name and LA code."""
    return current_council().settings(get_settings())


def gate() -> Identity:
    """Show sign-in or refusal and stop, unless the visitor has a role at the council being used."""
    from metrics.store import StoreProblem

    settings = get_settings()
    # A bad KPI_COUNCILS or KPI_ROLES raises here: the page shows Streamlit's redacted notice (app.py), never the
    # configuration's values (addresses, roles); the reason goes to the server's log and `kpi` prints it.
    configured()
    if settings.auth_mode == "local" or st.user.get("is_logged_in"):
        current_identity()
    if settings.auth_mode == "local":
        st.warning("Local mode: no sign-in provider is configured. For demonstration only — never use "
                   "local mode with real data.", icon=":material/warning:")
    elif not st.user.get("is_logged_in"):
        st.title("Intervention review dashboard")
        st.write("Sign in with your council account to continue.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    identity = current_identity()
    if identity is not None and identity.role is None and identity.councils:
        st.title("No access")  # never says whether the council exists, nor anything of it
        st.error(f"There is no council {plain((identity.council or '')[:12])} you may see on this dashboard.")
        st.markdown(f"[Open your own council's dashboard](/?{COUNCIL_KEY}={identity.councils[0][0]})")
        st.stop()
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
    try:
        here = current_council()
    except StoreProblem as e:
        st.title("This council's store cannot be opened")
        st.error(plain(" ".join(x.message for x in e.errors)))
        st.stop()
    if len(configured()) > 1:
        _keep_council(here)
        st.set_page_config(page_title=f"{here.name} — intervention review dashboard")
    with st.sidebar:
        if len(identity.councils) > 1:
            render_council_picker(identity, here)
        elif len(configured()) > 1:
            st.text(f"Council: {here.name}")
        st.text(f"Signed in as {identity.label} · {identity.role.name}")  # text: never a faint mailto link
        if settings.auth_mode != "local":
            st.button("Sign out", on_click=st.logout, key="sign_out")
    return identity


#: What a session keeps when its council changes; everything else in it (a prepared pack or report, a
#: flash message, an upload's summary, a form's draft) was the other council's and is dropped.
_IN_USE_KEY = "council_in_use"
_KEPT_ACROSS_COUNCILS = {COUNCIL_KEY, "council_picker", _IN_USE_KEY}


def _keep_council(here: Council) -> None:
    """The council stays in the URL and the session, so links and page changes keep it. When it changes,
    the session forgets what it held for the council before: nothing prepared for one council is ever
    offered under another's name."""
    in_use = st.session_state.get(_IN_USE_KEY)
    if in_use is not None and in_use != here.code:
        for name in list(st.session_state.keys()):
            if name not in _KEPT_ACROSS_COUNCILS:
                del st.session_state[name]
    st.session_state[_IN_USE_KEY] = here.code
    st.session_state[COUNCIL_KEY] = here.code
    if st.query_params.get(COUNCIL_KEY) != here.code:
        st.query_params[COUNCIL_KEY] = here.code


def render_council_picker(identity: Identity, here: Council) -> None:
    """The sidebar's council picker: only the councils this user has a role at."""
    mine = [c.code for c in configured() if c.code in dict(identity.councils)]
    names = {c.code: c.name for c in configured()}

    def _switch() -> None:
        chosen = st.session_state["council_picker"]
        st.session_state[COUNCIL_KEY] = chosen
        st.query_params[COUNCIL_KEY] = chosen

    st.session_state["council_picker"] = here.code
    st.selectbox("Council", mine, format_func=lambda code: f"{names[code]} ({code})", key="council_picker",
                 on_change=_switch)


#: The portfolio page: every council the user has a role at, side by side. Only for someone with two or
#: more councils; it shows each council only where they may view it (checked per council, on the server).
PORTFOLIO_PAGE = ("views/portfolio.py", "Portfolio", ":material/view_comfy:")


def pages_for(identity: Identity) -> list:
    pages = []
    if len(portfolio_councils(identity)) >= 2:
        path, title, icon = PORTFOLIO_PAGE
        pages.append(st.Page(path, title=title, icon=icon, url_path="portfolio"))
    for key, (path, title, icon) in PAGE_FILES.items():
        if identity.may(PAGES[key]):
            pages.append(st.Page(path, title=title, icon=icon, url_path=key, default=(key == "overview")))
    return pages


def portfolio_councils(identity: Identity | None) -> list[Council]:
    """The configured councils this identity may view, in configuration order (never another council)."""
    from metrics.auth import allowed

    if identity is None:
        return []
    roles = dict(identity.councils)
    return [c for c in configured() if allowed(roles.get(c.code), "view")]


def portfolio_page() -> Identity:
    """The portfolio page's check: a role that may view (at the council in use); each council it then
    shows is one ``portfolio_councils`` lists, never another."""
    return guard("view")


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
