"""Settings (admins): the council, the review checkpoints, each KPI's trajectory and how progress is judged.
Before saving, the page shows what would change, in words and rating by rating. Every save is a new,
permanent version (who, when, note, what changed); nothing is saved unless all of it is valid."""

from __future__ import annotations

import streamlit as st

from dashboard import access, loaders
from dashboard.components.settings import (FIELD, checkpoint_editor, council_inputs, draft, face_to_face_input,
                                           judgement_inputs, render_history, render_impact, reset_when_saved, save,
                                           target_inputs)
from dashboard.components.text import plain

identity = access.page("settings")
st.title("Review settings")
if flash := st.session_state.pop("settings-flash", None):
    st.success(plain(flash), icon=":material/task_alt:")

db, version = loaders.version()
current = loaders.review_settings(db, version)
in_force = loaders.review_settings_version(db, version)
reset_when_saved(in_force)
st.caption(f"In force: version {in_force}." if in_force else "In force: the built-in defaults (never saved).")

st.subheader("Council")
council, la_problem = council_inputs(current)

st.subheader("Checkpoints")
st.caption("One row per review. Tick the six-month review (ToR 5). Add or delete rows at the table's edge.")
checkpoints = checkpoint_editor(current)

st.subheader("Targets")
st.caption("For each KPI rated at reviews: a baseline, an amber tolerance (for a percentage, in percentage "
           "points) and a final target with its date and/or explicit targets for particular checkpoints. Between "
           "points the target is a straight line.")
targets = target_inputs(current)

st.subheader("Face to face (ToR 2b(iii))")
face = face_to_face_input(current, loaders.settings_in_force(db, version))

st.subheader("How progress is judged")
st.caption("Which month a review judges, and how a real change is told from noise (statistical process control, "
           "as in NHS England's Making Data Count). Each setting says since when it has been in force.")
judgement, table_problems = judgement_inputs(current, loaders.settings_in_force(db, version))

new, problems = draft({**council, **face, "checkpoints": checkpoints}, targets, judgement,
                      ([la_problem] if la_problem else []) + table_problems)
st.subheader("Save")
render_impact(db, version, current, new)
note = st.text_input("Note for the history (what changed and why)", key=f"{FIELD}note")
if st.button("Save settings", type="primary", key="save-settings"):
    save(current, in_force, new, note, problems)

st.divider()
st.subheader("History")
st.caption("Every saved version, newest first, with who saved it, when and what changed in words (the first: from "
           "the built-in defaults). Versions can never be edited or deleted; final reviews keep the version "
           "they were judged against.")
render_history(db, version)
