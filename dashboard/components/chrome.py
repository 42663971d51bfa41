"""What every page shares: the demo notice, the empty-store guard, audited downloads."""

from __future__ import annotations

import streamlit as st

from dashboard import loaders


def render_demo_notice() -> None:
    db, v = loaders.version()
    if loaders.is_demo(db, v):
        st.info("Synthetic demo data — invented for demonstration. No real child, worker or case is shown.",
                icon=":material/science:")


def render_empty_store() -> None:
    st.info("No data yet. Upload the monthly extracts on the Upload page (or build the demo store with "
            "`kpi demo`).", icon=":material/inbox:")


def stop_unless_kpi_data(db: str, version: int, title: str | None = None) -> None:
    """The KPI pages' guard: with no KPI data yet, say so (under ``title``) and stop the page."""
    if loaders.has_kpi_data(db, version):
        return
    if title:
        st.title(title)
    render_empty_store()
    st.stop()


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
