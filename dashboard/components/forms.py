"""What the small forms on the pages share: make the change the person was let through for, say what happened."""

from __future__ import annotations

import streamlit as st

from dashboard import loaders
from dashboard.components.text import plain


def save(who, what, done: str, *, read_only: type[Exception], flash: str) -> None:
    """Make a change for ``who`` — the person ``access.guard(...)`` let through at the click (the caller names
    the permission there, in its own source, so the access tests see which actions each file guards):
    ``what(conn, by, role)`` runs in one connection; the metrics function writes its audit row in the same
    transaction and returns the new entry's id.

    Refused input (``read_only``, ``ValueError``, ``LookupError``) or a database error is shown as "Not
    saved: …" and changes nothing; on success ``done`` (with ``{id}``) is kept under ``flash`` in the session
    for the page to show after the rerun."""
    import sqlite3

    try:
        with loaders.connect() as conn:
            entry_id = what(conn, who.label, who.role.name)
    except (read_only, ValueError, LookupError, sqlite3.DatabaseError) as err:
        st.error(f"Not saved: {plain(err)}", icon=":material/block:")
        return
    st.session_state[flash] = done.format(id=entry_id)
    st.rerun()
