"""The ONE module that owns every st.cache_data. Functions take plain arguments (paths, ISO dates)
and a ``version`` — the newest audit-trail id — so any upload, restore or settings change made
anywhere (dashboard or CLI) invalidates the cache at once. Connections are opened inside.
"""

from __future__ import annotations

from contextlib import closing

import pandas as pd
import streamlit as st

from metrics import store
from metrics.settings import get_settings


def db_path() -> str:
    return str(get_settings().db_path)


def connect(db: str | None = None):
    """A connection that closes on leaving the ``with`` block."""
    return closing(store.connect(db or db_path()))


def data_version(db: str | None = None) -> int:
    """Cheap, uncached: changes whenever anything audited changes the store."""
    with connect(db) as conn:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])


def version() -> tuple[str, int]:
    db = db_path()
    return db, data_version(db)


@st.cache_data(show_spinner=False, max_entries=8)
def is_demo(db: str, version: int) -> bool:
    with connect(db) as conn:
        return store.is_demo(conn)


@st.cache_data(show_spinner=False, max_entries=8)
def uploads(db: str, version: int) -> pd.DataFrame:
    with connect(db) as conn:
        rows = store.list_uploads(conn)
    cols = ["id", "kind", "months", "rows", "status", "uploaded_at", "uploaded_by", "file_name", "sha256", "as_of"]
    return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)


@st.cache_data(show_spinner=False, max_entries=8)
def coverage(db: str, version: int) -> pd.DataFrame:
    with connect(db) as conn:
        return store.coverage(conn)


@st.cache_data(show_spinner=False, max_entries=8)
def audit_trail(db: str, version: int) -> pd.DataFrame:
    from metrics.audit import audit_frame

    with connect(db) as conn:
        return audit_frame(conn)
