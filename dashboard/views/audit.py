"""Audit trail (admins): every upload, restore, settings change, finalisation, evidence entry and export."""

import streamlit as st

from dashboard import access, loaders
from dashboard.components.audit import audit_details, render_trail
from dashboard.components.chrome import export_button
from dashboard.components.text import uk_time
from metrics.export import safe_csv

#: The audit table's columns as shown (friendly names; times in UK local time).
COLUMNS = {"id": "Entry", "at": "When (UK time)", "actor": "Who", "role": "Role", "action": "Action",
           "target": "What", "details": "Details"}

access.page("audit")
st.title("Audit trail")
st.write("Append-only: the store refuses any change or deletion of these rows. Newest first; times are UK time "
         "(the download keeps the stored UTC times and each row's details as stored, in JSON).")
db, version = loaders.version()
trail = loaders.audit_trail(db, version)
actions = sorted(trail["action"].unique()) if not trail.empty else []
chosen = st.multiselect("Actions", actions, default=actions, format_func=lambda a: a.replace("_", " ").capitalize())
shown = trail[trail["action"].isin(chosen)] if chosen else trail
friendly = shown.assign(at=shown["at"].map(uk_time), details=shown["details"].map(audit_details),
                        action=shown["action"].str.replace("_", " ").str.capitalize()).rename(columns=COLUMNS)
render_trail(friendly[list(COLUMNS.values())])
export_button("Download (CSV)", safe_csv(shown), "audit-trail.csv", "audit trail")
