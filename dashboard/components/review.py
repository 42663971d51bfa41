"""The Reviews page's pieces: the review table (a formatting of the review model), evidence, finals,
the checkpoint picker, the board pack button and the Commissioner's report button beside it."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import loaders
from dashboard.components.forms import save
from dashboard.components.text import plain, uk_date, uk_datetime, uk_month
from metrics.reviews import words


def overall_line(board) -> str:
    s = board.summary
    return (f"{s['green']} green, {s['amber']} amber, {s['red']} red, {s['no_data']} no data — "
            "is sufficient progress being made?")


def _review_note(r) -> str:
    from dashboard.components.verdict import verdict_notes

    k, notes = r.kpi, []
    if r.restated:
        notes.append(f"restated: was {k.format(r.actual)}, now {k.format(r.current_actual)}"
                     f" ({words.rag_text(r.current_rag or 'no_data')} today)")
    if r.actual is None:
        notes.append(f"no data for {uk_month(r.actual_month)}; latest {uk_month(r.latest_available_month)}: "
                     f"{k.format(r.latest_available_value)}" if r.latest_available_month
                     else f"no data for {uk_month(r.actual_month)}")
    return "; ".join(notes + verdict_notes(r))


REVIEW_COLUMNS = ["KPI", "ToR", "Actual", "95% interval", "Month", "Target", "RAG", "Variation", "Variation (words)",
                  "Direction of travel", "Assurance", "Assurance (words)", "Forecast (final target)", "Note"]


def review_frame(board):
    """The review table as shown (a ``metrics.reviews.ReviewBoard``): one row per rated KPI, every cell
    text (units differ by row); the variation and assurance icons as data URLs beside their words."""
    import pandas as pd

    from dashboard.components.verdict import assurance_icon, interval_cell, variation_icon
    from reports.icons import data_url

    rows = [{
        "KPI": r.label, "ToR": r.tor, "Actual": r.kpi.format(r.actual), "95% interval": interval_cell(r),
        "Month": uk_month(r.actual_month), "Target": r.kpi.format_target(r.target), "RAG": words.rag_text(r.rag, "icon"),
        "Variation": data_url(variation_icon(r)),
        "Variation (words)": words.variation_text(r.variation, "upper", direction=r.direction),
        "Direction of travel": words.travel_text(r.direction_of_travel, "icon"),
        "Assurance": data_url(assurance_icon(r)), "Assurance (words)": words.assurance_text(r.assurance, "upper"),
        "Forecast (final target)": f"{words.forecast_text(r.forecast, 'short')} ({r.kpi.format_target(r.final_target)})",
        "Note": _review_note(r),
    } for r in board.rated]
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)


def review_export_frame(board):
    """The review table for CSV export: numbers as numbers, with the checkpoint's context on each row
    (the same columns as ``reports.tables.review_table``'s judgement, and where the method is explained)."""
    import pandas as pd

    from reports.tables import judgement_columns

    return pd.DataFrame([{
        "checkpoint": board.at, "label": board.label or "", "final": board.final,
        "finalised_at": board.finalised_at or "", "finalised_by": board.finalised_by or "",
        "kpi_id": r.metric, "kpi": r.label, "tor": r.tor, "unit": r.unit, "better": r.direction,
        "actual_month": r.actual_month, "actual": r.actual, **judgement_columns(r), "target": r.target,
        "tolerance": r.tolerance, "rag": r.rag, "direction_of_travel": r.direction_of_travel or "",
        "previous_month": r.previous_month or "", "previous_actual": r.previous_actual,
        "final_target": r.final_target, "forecast": words.forecast_text(r.forecast, "short"),
        "restated": r.restated, "actual_now": r.current_actual if board.final else r.actual,
        "note": _review_note(r),
    } for r in board.rated])


def render_evidence_entry(entry) -> None:
    """One evidence entry: the body as plain text (never markdown/HTML), then who and when."""
    with st.container(border=True):
        st.text(entry.body)
        meta = [f"#{entry.id}", entry.author, uk_datetime(entry.created_at)]
        if entry.edited_at:
            meta.append(f"edited {uk_datetime(entry.edited_at)} by {entry.edited_by}")
        if entry.corrects:
            meta.append(f"correction of #{entry.corrects}")
        if entry.corrected_by:
            meta.append("corrected by " + ", ".join(f"#{i}" for i in entry.corrected_by))
        st.caption(plain(" · ".join(meta)))


def checkpoint_picker(key: str, *, label: str = "Review checkpoint", width: int | str = 460,
                      default: str | None = None) -> str:
    """A selectbox of the configured checkpoints; default = ``default`` (ISO date) if it is one, else the next
    one (see loaders.default_checkpoint)."""
    db, v = loaders.version()
    choices = loaders.checkpoint_choices(db, v)
    ats = [c.at for c in choices]
    by_at = {c.at: c for c in choices}
    default = default if default in by_at else loaders.default_checkpoint(db, v)

    def describe(at: str) -> str:
        c = by_at[at]
        notes = (["next"] if c.next else []) + (["final"] if c.final else []) + (
            [] if c.has_data else ["provisional"] if c.next else ["no data yet"])
        return c.label + (f" ({', '.join(notes)})" if notes else "")

    return st.selectbox(label, ats, index=ats.index(default) if default in ats else len(ats) - 1,
                        format_func=describe, key=key, width=width)


def render_boardpack_downloads(at: dt.date | str, label: str) -> None:
    """Prepare the board pack for this checkpoint on request (it takes a few seconds), then offer it.

    Built into a temporary file that is read and deleted at once: the pack is held in memory only.
    Every pack prepared is recorded in the audit trail (by reports.boardpack).
    """
    import tempfile
    from pathlib import Path

    from dashboard import access

    at = dt.date.fromisoformat(str(at)[:10])
    st.header("Board pack")
    st.write("The Improvement Board's pack for this review: cover, summary table, one page per priority with "
             "its chart and commentary, the evidence log, definitions. The public version suppresses small "
             "numbers (the rules are printed in the pack).")
    c1, c2, c3 = st.columns(3)
    fmt = c1.radio("Format", ["PDF", "PowerPoint"], horizontal=True, key="pack-format")
    public = c2.toggle("Public version (small numbers suppressed)", key="pack-public")
    teams = c3.toggle("Include team breakdowns", value=True, key="pack-teams")
    ext = "pdf" if fmt == "PDF" else "pptx"
    council = access.current_council().code
    key = ("pack", council, at.isoformat(), ext, public, teams)
    if st.button("Prepare the board pack", key="pack-build"):
        who = access.guard("export")
        from reports.boardpack import build_pack

        with st.spinner("Drawing the charts and laying out the pack…"), tempfile.TemporaryDirectory() as d:
            out = Path(d) / f"pack.{ext}"
            try:
                db, version = loaders.version()
                data = loaders.pack_data(db, version, at.isoformat())
                with loaders.connect() as conn:
                    info = build_pack(conn, at, out, public=public, include_teams=teams, by=who.label,
                                      role=who.role.name, data=data)
                st.session_state[str(key)] = (out.read_bytes(), info.pages)
            except Exception as err:  # a message, never a traceback
                st.error(f"The pack could not be produced: {type(err).__name__}: {plain(err)}")
    ready = st.session_state.get(str(key))
    if ready:
        data, pages = ready
        name = f"board-pack-{_council_part()}{at.isoformat()}{'-public' if public else ''}.{ext}"
        mime = "application/pdf" if ext == "pdf" else \
            "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        st.download_button(f"Download {name} ({pages} pages)", data, file_name=name, mime=mime, key="pack-dl",
                           type="primary")
        st.caption(f"{plain(label)}: prepared for you just now; it is recorded in the audit trail.")
    render_report_download(at, label, public)


def _council_part() -> str:
    """"884-" in a download's file name when the deployment serves several councils ("" with one)."""
    from dashboard import access

    return f"{access.current_council().code}-" if len(access.configured()) > 1 else ""


DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def render_report_download(at: dt.date, label: str, public: bool) -> None:
    """Beside the pack: prepare the Commissioner's report (Word) for this checkpoint on request, then offer it.

    Public when the pack's "Public version" toggle is on (the same disclosure control as the public pack).
    Built into a temporary file read and deleted at once; recorded in the audit trail (by reports.word).
    """
    import tempfile
    from pathlib import Path

    from dashboard import access

    st.subheader("Commissioner's report")
    st.write("An editable Word document for the Commissioner's report: the checkpoint, the overall view, each "
             "priority's verdict in words with its evidence and actions, the qualitative Terms of Reference "
             "items, data notes and definitions. Public when the public version is chosen above.")
    key = ("report", access.current_council().code, at.isoformat(), public)
    if st.button("Prepare the Commissioner's report (Word)", key="report-build"):
        who = access.guard("export")
        from reports.word import build_report

        with st.spinner("Writing the report…"), tempfile.TemporaryDirectory() as d:
            out = Path(d) / "report.docx"
            try:
                db, version = loaders.version()
                data = loaders.pack_data(db, version, at.isoformat())
                with loaders.connect() as conn:
                    build_report(conn, at, out, public=public, by=who.label, role=who.role.name, data=data)
                st.session_state[str(key)] = out.read_bytes()
            except Exception as err:  # a message, never a traceback
                st.error(f"The report could not be produced: {plain(err)}")
    ready = st.session_state.get(str(key))
    if ready:
        name = f"commissioners-report-{_council_part()}{at.isoformat()}{'-public' if public else ''}.docx"
        st.download_button(f"Download {name}", ready, file_name=name, mime=DOCX_MIME, key="report-dl",
                           type="primary")
        st.caption(f"{plain(label)}: prepared for you just now; it is recorded in the audit trail.")


# --- the Reviews page, section by section (each takes the checkpoint's ReviewBoard) -----------------


def review_option(points: dict[str, dict], d: str) -> str:
    """A checkpoint in the Reviews page's picker: date, label, six-month, final, no data yet."""
    p = points[d]
    marks = [" ★ six-month review" if p["six_month"] else "", " · final" if p["final"] else "",
             "" if p["has_data"] else " · no data yet"]
    return f"{uk_date(d)} — {p['label']}{''.join(marks)}"


def render_review_table(board, at: str) -> None:
    """The review's header (final or not, six-month), its verdict and the table, with its CSV download."""
    from dashboard.components.chrome import export_button
    from metrics.evidence import TOR_ITEMS
    from metrics.export import safe_csv
    from metrics.months import month_label

    st.header(plain(board.label) if board.label else f"Review on {uk_date(at)}")
    prev = (f"; change since {uk_date(board.previous_checkpoint)} shown as information" if board.previous_checkpoint
            else "")
    lag = getattr(board, "reporting_lag_days", None)
    st.caption(f"Checkpoint {uk_date(at)} · judged month {month_label(board.month)}"
               + (f" (the latest month ended at least {lag} days before the checkpoint)" if lag is not None else "")
               + f"{prev}.")
    if board.final:
        st.success(plain(f"Final — as presented on {uk_date(board.finalised_at)} by {board.finalised_by}.")
                   + f" These are the frozen values (settings version {board.settings_version_id}; data as of "
                   f"{uk_datetime(board.data_as_of) or 'no uploads'}). Later uploads or target changes never "
                   "alter them.", icon=":material/lock:")
    else:
        st.info("Not final: computed from the current data and settings, so it changes if data are re-uploaded "
                "or targets change. Mark it final once presented to the board.", icon=":material/edit_note:")
    if board.six_month:
        st.info(f"Six-month review — ToR 5: {TOR_ITEMS['5']}.", icon=":material/star:")
    st.subheader(overall_line(board))
    if board.restated:
        names = ", ".join(r.label for r in board.rated if r.restated)
        st.warning(plain(f"Restated since this review was presented (data for {month_label(board.month)} were "
                         f"re-uploaded): {names}. The board's record above is unchanged; the Note column gives the "
                         "value today."), icon=":material/history:")
    if not board.rated:
        st.caption("No KPI has a target in the settings, so nothing is rated.")
    text = st.column_config.TextColumn
    image = st.column_config.ImageColumn
    st.dataframe(review_frame(board), hide_index=True, width="stretch", row_height=40,
                 height=40 * (len(board.rated) + 1) + 3,
                 column_order=["KPI", "ToR", "RAG", "Actual", "95% interval", "Month", "Target", "Variation",
                               "Variation (words)", "Direction of travel", "Assurance", "Assurance (words)",
                               "Forecast (final target)", "Note"],
                 column_config={"KPI": text(width="medium", pinned=True), "ToR": text(width=50),
                                "RAG": text(width=95), "Actual": text(width=70), "95% interval": text(width=104),
                                "Month": text(width=76), "Target": text(width=70),
                                "Variation": image(width=64, help="Statistical process control: is the change "
                                                   "real or noise? (What the icons mean, below)"),
                                "Variation (words)": text(width=200), "Direction of travel": text(width=170),
                                "Assurance": image(width=70, help="Will the target be met if nothing changes? Against "
                                                  "the same target as the RAG: the judged month's."),
                                "Assurance (words)": text(width=150),
                                "Forecast (final target)": text(width="medium", help=(
                                    "When the line through the current period's last 12 months reaches the final "
                                    "target; 'trend not established' when its slope could be zero")),
                                "Note": text(width="large")},
                 alt=f"Review table for {uk_date(at)}: each KPI's actual, interval, target, RAG rating, variation, "
                     "direction of travel, assurance, forecast and notes.")
    from dashboard.components.verdict import render_key, render_verdicts_apart

    render_verdicts_apart(board)
    render_key()
    export_button("Download the review table (CSV)", safe_csv(review_export_frame(board)), f"review-{at}.csv",
                  f"review table {at}", key="export-review")


def _subject(e) -> str:
    return f"kpi:{e.kpi}" if e.kpi else f"tor:{e.tor_item}" if e.tor_item else "overall"


def _subjects() -> dict[str, str]:
    from metrics.evidence import TOR_ITEMS
    from metrics.kpis import REGISTRY

    subjects = {f"kpi:{k}": f"{v.label} (ToR {v.tor})" for k, v in REGISTRY.items()}
    return subjects | {f"tor:{k}": f"ToR {k}: {v}" for k, v in TOR_ITEMS.items()} | {"overall": "The review as a whole"}


def render_evidence(board, entries: list) -> None:
    """The commentary and evidence written for this review, in tabs: per KPI, per ToR item, overall."""
    from metrics.evidence import TOR_ITEMS

    st.subheader("Commentary and evidence")
    st.caption("Commentary on each KPI and evidence for the Terms of Reference items judged by commentary. "
               "Shown exactly as written, with the author and time (UTC). "
               + ("Read-only: this review is final; corrections are added as new entries." if board.final else ""))
    subjects = _subjects()
    by_subject: dict[str, list] = {}
    for e in entries:
        by_subject.setdefault(_subject(e), []).append(e)
    kpi_tab, tor_tab, overall_tab = st.tabs(["Commentary per KPI", "Terms of Reference items", "Overall"])
    with kpi_tab:
        for k in (r.metric for r in board.rated):
            if f"kpi:{k}" in by_subject:
                st.markdown(f"**{plain(subjects[f'kpi:{k}'])}**")
                for e in by_subject[f"kpi:{k}"]:
                    render_evidence_entry(e)
        if not any(s.startswith("kpi:") for s in by_subject):
            st.caption("No commentary on the KPIs yet.")
    with tor_tab:
        for item in TOR_ITEMS:
            st.markdown(f"**{plain(subjects[f'tor:{item}'])}**")
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
    from dashboard import access
    from metrics.evidence import EvidenceReadOnly

    save(access.guard("evidence_edit"), what, done, read_only=EvidenceReadOnly, flash="reviews-flash")


def render_evidence_forms(board, at: str, entries: list) -> None:
    """Add, edit (until final) or correct (once final) an entry; for those who may edit evidence."""
    from metrics.evidence import add_correction, add_entry, edit_entry

    subjects = _subjects()

    def label(i: int) -> str:
        e = next(e for e in entries if e.id == i)
        return f"#{e.id} · {subjects.get(_subject(e), _subject(e))} · {e.author}: {e.body[:60]}"

    if not board.final:
        with st.form("add-evidence", clear_on_submit=True):
            st.markdown("**Add commentary or evidence**")
            subject = st.selectbox("About", list(subjects), format_func=subjects.get, key="evidence-subject")
            body = st.text_area("Entry", key="evidence-body", max_chars=10_000, help="Shown as plain text. Do not "
                                "include names or case details of children or staff.")
            if st.form_submit_button("Add entry", type="primary"):
                kind, _, ref = subject.partition(":")
                _write(lambda conn, by, role: add_entry(
                    conn, at, body, by, kpi=ref if kind == "kpi" else None, tor_item=ref if kind == "tor" else None,
                    role=role),
                    "Entry #{id} added.")
        if entries:
            with st.expander("Edit an entry (until the review is final)"):
                chosen = st.selectbox("Entry", [e.id for e in entries], index=None, placeholder="Choose an entry",
                                      format_func=label, key="edit-entry")
                if chosen is not None:
                    old = next(e for e in entries if e.id == chosen)
                    new_body = st.text_area("New text", value=old.body, key=f"edit-body-{chosen}", max_chars=10_000)
                    if st.button("Save the edit", key="edit-save"):
                        _write(lambda conn, by, role: edit_entry(conn, chosen, new_body, by, role=role).id,
                               "Entry #{id} edited.")
    elif entries:
        with st.form("add-correction", clear_on_submit=True):
            st.markdown("**Add a correction** — the review is final, so entries are read-only; a correction is a "
                        "new entry pointing at the one it corrects.")
            target = st.selectbox("Entry to correct", [e.id for e in entries], key="correct-entry", format_func=label)
            body = st.text_area("Correction", key="correct-body", max_chars=10_000)
            if st.form_submit_button("Add correction", type="primary"):
                _write(lambda conn, by, role: add_correction(conn, target, body, by, role=role),
                       "Correction #{id} added.")


def render_mark_final(board, at: str) -> None:
    """Mark the review final (it cannot be undone), for those who may."""
    import sqlite3

    from dashboard import access
    from metrics.reviews import AlreadyFinal
    from metrics.reviews import mark_final as mark_checkpoint_final

    st.subheader("Mark this review final")
    st.write("Do this once the review has been presented to the board. The evaluation is frozen as shown "
             "above, with who and when; its evidence becomes read-only. It cannot be undone.")
    sure = st.checkbox("I confirm this is the review as presented to the board", key="final-confirm")
    if st.button("Mark final", key="mark-final", disabled=not sure, type="primary"):
        who = access.guard("mark_final")  # checked again on the server at the moment of the action
        if not sure:
            st.error("Tick the confirmation first.")
            return
        try:
            with loaders.connect() as conn:  # freezes the data as they are now, with its audit row
                mark_checkpoint_final(conn, at, who.label, role=who.role.name)
        except (AlreadyFinal, ValueError, RuntimeError, LookupError, sqlite3.DatabaseError) as err:
            # refused (in the future, already final, data changed meanwhile…): a message, not a traceback
            st.error(f"Not marked final: {plain(err)}", icon=":material/block:")
        else:
            st.session_state["reviews-flash"] = f"{board.label or at} is now final."
            st.rerun()
