"""Audit trail (admins): every upload, restore, settings change, finalisation, evidence entry and export."""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.chrome import export_button
from metrics.export import safe_csv

access.page("audit")
st.title("Audit trail")
st.write("Append-only: the store refuses any change or deletion of these rows. Times are UTC.")
db, version = loaders.version()
trail = loaders.audit_trail(db, version)
actions = sorted(trail["action"].unique()) if not trail.empty else []
chosen = st.multiselect("Actions", actions, default=actions)
shown = trail[trail["action"].isin(chosen)] if chosen else trail
st.dataframe(shown, hide_index=True, width="stretch")
export_button("Download (CSV)", safe_csv(shown), "audit-trail.csv", "audit trail")
