"""Reviews: the table the Commissioner takes into each three-monthly review, its evidence, and finals."""

from __future__ import annotations

import sqlite3

import streamlit as st

from dashboard import access, loaders
from dashboard.components import (export_button, overall_line, plain, render_boardpack_downloads, render_demo_notice,
                                  render_empty_store,
                                  render_evidence_entry, review_export_frame, review_frame, uk_date, uk_datetime)
from metrics.evidence import TOR_ITEMS, EvidenceReadOnly, add_correction, add_entry, edit_entry
from metrics.export import safe_csv
from metrics.kpis import REGISTRY
from metrics.review import AlreadyFinal, month_label
from metrics.review import mark_final as mark_checkpoint_final

identity = access.page("reviews")
st.title("Three-monthly reviews")
render_demo_notice()
if flash := st.session_state.pop("reviews-flash", None):
    st.success(plain(flash), icon=":material/task_alt:")

db, version = loaders.version()
points = {p["checkpoint"]: p for p in loaders.review_checkpoints(db, version)}
with_data = [d for d, p in points.items() if p["has_data"]]
if not with_data:
    render_empty_store()


def _option(d: str) -> str:
    p = points[d]
    marks = [" ★ six-month review" if p["six_month"] else "", " · final" if p["final"] else "",
             "" if p["has_data"] else " · no data yet"]
    return f"{uk_date(d)} — {p['label']}{''.join(marks)}"


options = list(points)
wanted = st.query_params.get("at")  # a link to one review: /reviews?at=2024-06-01
default = wanted if wanted in points else with_data[-1] if with_data else options[0]
at = st.selectbox("Checkpoint", options, index=options.index(default), format_func=_option, key="checkpoint",
                  help="The configured review checkpoints (Settings). Default: the latest with data.")
st.query_params["at"] = at
result = loaders.review(db, version, at)
entries = loaders.evidence(db, version, at)

# --- the review table ---------------------------------------------------------------------------
st.header(plain(result.label) if result.label else f"Review on {uk_date(at)}")
prev = f"; direction of travel against {uk_date(result.previous_checkpoint)}" if result.previous_checkpoint else ""
st.caption(f"Checkpoint {uk_date(at)} · actuals for {month_label(result.month)}, the last complete month{prev}.")
if result.final:
    st.success(plain(f"Final — as presented on {uk_date(result.finalised_at)} by {result.finalised_by}.")
               + f" These are the frozen values (settings version {result.settings_version_id}; data as of "
               f"{uk_datetime(result.data_as_of) or 'no uploads'}). Later uploads or target changes never "
               "alter them.", icon=":material/lock:")
else:
    st.info("Not final: computed from the current data and settings, so it changes if data are re-uploaded "
            "or targets change. Mark it final once presented to the board.", icon=":material/edit_note:")
if result.six_month:
    st.info(f"Six-month review — ToR 5: {TOR_ITEMS['5']}.", icon=":material/star:")
st.subheader(overall_line(result))
if result.restated:
    names = ", ".join(m.label for m in result.metrics if m.restated)
    st.warning(plain(f"Restated since this review was presented (data for {month_label(result.month)} were "
                     f"re-uploaded): {names}. The board's record above is unchanged; the Note column gives the "
                     "value today."), icon=":material/history:")
if not result.metrics:
    st.caption("No KPI has a target in the settings, so nothing is rated.")
text = st.column_config.TextColumn
st.dataframe(review_frame(result), hide_index=True, width="stretch",
             column_order=["KPI", "ToR", "RAG", "Actual", "Month", "Target", "Direction of travel",
                           "Forecast (final target)", "Note"],
             column_config={"KPI": text(width="medium", pinned=True), "ToR": text(width=60),
                            "RAG": text(width=95), "Actual": text(width=80), "Month": text(width=80),
                            "Target": text(width=80), "Direction of travel": text(width=130),
                            "Forecast (final target)": text(width="medium", help=(
                                "When the final target is met if the trend of the last 6 months continues")),
                            "Note": text(width="large")},
             alt=f"Review table for {uk_date(at)}: each KPI's actual, target, RAG rating, direction of travel, "
                 "forecast and notes.")
export_button("Download the review table (CSV)", safe_csv(review_export_frame(result)), f"review-{at}.csv",
              f"review table {at}", key="export-review")

# --- commentary and evidence --------------------------------------------------------------------
st.divider()
st.subheader("Commentary and evidence")
st.caption("Commentary on each KPI and evidence for the Terms of Reference items judged by commentary. "
           "Shown exactly as written, with the author and time (UTC). "
           + ("Read-only: this review is final; corrections are added as new entries." if result.final else ""))


def _subject(e) -> str:
    return f"kpi:{e.kpi}" if e.kpi else f"tor:{e.tor_item}" if e.tor_item else "overall"


SUBJECTS = {f"kpi:{k}": f"{v.label} (ToR {v.tor})" for k, v in REGISTRY.items()}
SUBJECTS |= {f"tor:{k}": f"ToR {k}: {v}" for k, v in TOR_ITEMS.items()} | {"overall": "The review as a whole"}
by_subject: dict[str, list] = {}
for e in entries:
    by_subject.setdefault(_subject(e), []).append(e)
kpi_tab, tor_tab, overall_tab = st.tabs(["Commentary per KPI", "Terms of Reference items", "Overall"])
with kpi_tab:
    for k in (m.metric for m in result.metrics):
        if f"kpi:{k}" in by_subject:
            st.markdown(f"**{plain(SUBJECTS[f'kpi:{k}'])}**")
            for e in by_subject[f"kpi:{k}"]:
                render_evidence_entry(e)
    if not any(s.startswith("kpi:") for s in by_subject):
        st.caption("No commentary on the KPIs yet.")
with tor_tab:
    for item in TOR_ITEMS:
        st.markdown(f"**{plain(SUBJECTS[f'tor:{item}'])}**")
        for e in by_subject.get(f"tor:{item}", []):
            render_evidence_entry(e)
        if f"tor:{item}" not in by_subject:
            st.caption("No evidence recorded.")
with overall_tab:
    for e in by_subject.get("overall", []):
        render_evidence_entry(e)
    if "overall" not in by_subject:
        st.caption("No overall commentary yet.")


def _write(what, done: str) -> None:
    """Server-side check, then the change (metrics.evidence writes its audit row in the same transaction)."""
    who = access.guard("evidence_edit")
    try:
        with loaders.connect() as conn:
            entry_id = what(conn, who.label, who.role.name)
    except (EvidenceReadOnly, ValueError, LookupError, sqlite3.DatabaseError) as err:
        st.error(f"Not saved: {plain(err)}", icon=":material/block:")
        return
    st.session_state["reviews-flash"] = done.format(id=entry_id)
    st.rerun()


def _entry_label(e) -> str:
    return f"#{e.id} · {SUBJECTS.get(_subject(e), _subject(e))} · {e.author}: {e.body[:60]}"


if identity.may("evidence_edit") and not result.final:
    with st.form("add-evidence", clear_on_submit=True):
        st.markdown("**Add commentary or evidence**")
        subject = st.selectbox("About", list(SUBJECTS), format_func=SUBJECTS.get, key="evidence-subject")
        body = st.text_area("Entry", key="evidence-body", max_chars=10_000,
                            help="Shown as plain text. Do not include names or case details of children or staff.")
        if st.form_submit_button("Add entry", type="primary"):
            kind, _, ref = subject.partition(":")
            _write(lambda conn, by, role: add_entry(
                conn, at, body, by, kpi=ref if kind == "kpi" else None, tor_item=ref if kind == "tor" else None,
                role=role),
                "Entry #{id} added.")
    if entries:
        with st.expander("Edit an entry (until the review is final)"):
            chosen = st.selectbox("Entry", [e.id for e in entries], index=None, placeholder="Choose an entry",
                                  format_func=lambda i: _entry_label(next(e for e in entries if e.id == i)),
                                  key="edit-entry")
            if chosen is not None:
                old = next(e for e in entries if e.id == chosen)
                new_body = st.text_area("New text", value=old.body, key=f"edit-body-{chosen}", max_chars=10_000)
                if st.button("Save the edit", key="edit-save"):
                    _write(lambda conn, by, role: edit_entry(conn, chosen, new_body, by, role=role).id,
                           "Entry #{id} edited.")
elif identity.may("evidence_edit") and entries:
    with st.form("add-correction", clear_on_submit=True):
        st.markdown("**Add a correction** — the review is final, so entries are read-only; a correction is a "
                    "new entry pointing at the one it corrects.")
        target = st.selectbox("Entry to correct", [e.id for e in entries], key="correct-entry",
                              format_func=lambda i: _entry_label(next(e for e in entries if e.id == i)))
        body = st.text_area("Correction", key="correct-body", max_chars=10_000)
        if st.form_submit_button("Add correction", type="primary"):
            _write(lambda conn, by, role: add_correction(conn, target, body, by, role=role),
                   "Correction #{id} added.")

# --- final --------------------------------------------------------------------------------------
if identity.may("mark_final") and not result.final:
    st.divider()
    st.subheader("Mark this review final")
    st.write("Do this once the review has been presented to the board. The evaluation is frozen as shown "
             "above, with who and when; its evidence becomes read-only. It cannot be undone.")
    sure = st.checkbox("I confirm this is the review as presented to the board", key="final-confirm")
    if st.button("Mark final", key="mark-final", disabled=not sure, type="primary"):
        who = access.guard("mark_final")  # checked again on the server at the moment of the action
        if not sure:
            st.error("Tick the confirmation first.")
        else:
            try:
                with loaders.connect() as conn:  # freezes the data as they are now, with its audit row
                    mark_checkpoint_final(conn, at, who.label, role=who.role.name)
            except (AlreadyFinal, ValueError, RuntimeError, LookupError, sqlite3.DatabaseError) as err:
                # refused (in the future, already final, data changed meanwhile…): a message, not a traceback
                st.error(f"Not marked final: {plain(err)}", icon=":material/block:")
            else:
                st.session_state["reviews-flash"] = f"{result.label or at} is now final."
                st.rerun()

# --- board pack ---------------------------------------------------------------------------------
st.divider()
render_boardpack_downloads(at, result.label or str(at))
