"""Small render_* helpers shared by pages. Text is rendered as text: never unsafe HTML."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import loaders


def uk_month(month: str) -> str:
    """'2023-06' -> 'Jun 2023'."""
    return dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


def uk_date(iso: str | dt.date) -> str:
    d = dt.date.fromisoformat(str(iso)[:10]) if not isinstance(iso, dt.date) else iso
    return f"{d.day} {d.strftime('%b %Y')}"


def render_demo_notice() -> None:
    db, v = loaders.version()
    if loaders.is_demo(db, v):
        st.info("Synthetic demo data — invented for demonstration. No real child, worker or case is shown.",
                icon=":material/science:")


def render_empty_store() -> None:
    st.info("No data yet. Upload the monthly extracts on the Upload page (or build the demo store with "
            "`kpi demo`).", icon=":material/inbox:")


def export_button(label: str, data: bytes, file_name: str, what: str, *, mime: str = "text/csv",
                  key: str | None = None, **kwargs) -> None:
    """A download button whose click is recorded in the audit trail as an export."""
    from dashboard import access
    from metrics.audit import record_now

    def _record() -> None:
        ident = access.current_identity()
        with loaders.connect() as conn:
            record_now(conn, ident.label if ident else "unknown", "export", what, {"file": file_name},
                       role=ident.role.name if ident and ident.role else "")

    st.download_button(label, data, file_name=file_name, mime=mime, key=key, on_click=_record, **kwargs)
