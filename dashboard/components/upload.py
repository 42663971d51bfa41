"""The Upload page's pieces: each dropped file checked once; one confirm that loads every checked file
(each its own transaction), after the impact on the reviews is shown (metrics.impact) and, when a final
review would be restated, a second confirmation with a reason; the upload history (friendly columns, UK
times, newest first) with restore (impact, then confirm) and withdraw; the error report (rules in words,
grouped, never cut off); the example files."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pandas as pd
import streamlit as st

from dashboard import access, loaders
from dashboard.components.text import plain, uk_month, uk_time
from metrics import impact as impacts
from metrics import sources
from metrics.contract import KINDS, normalise_header
from metrics.examples import column_guide, example_csv, example_xlsx
from metrics.export import safe_csv
from metrics.ingest import (
    Batch,
    IngestResult,
    Prepared,
    commit,
    prepare,
    prepare_sheet,
    restore_upload,
    withdraw_upload,
)
from metrics.issues import Refused
from metrics.kpis import REGISTRY
from metrics.problems import problem_groups, problems_download
from metrics.reviews import words
from metrics.validate import sniff
from metrics.workbook import SheetTable, Workbook, is_workbook, read_workbook, wrong_type

#: st.session_state key of the files checked so far: (file, choices, batch) → metrics.ingest.Prepared
CHECKED = "checked"
#: st.session_state key of the workbooks read so far: (file, kind, sheet) → metrics.workbook.Workbook
BOOKS = "books"
#: st.session_state key of the drop zone's generation: bumped after a load, so the drop zone is cleared
GEN = "upload_gen"
#: st.session_state key of the last load's results (shown once, after the page resets)
DONE = "upload_done"
#: st.session_state key of the impacts worked out so far: (what, data version) → metrics.impact.Impact
IMPACTS = "impacts"
#: Said in the page, above the drop zone (not in a tooltip): what it takes, and what to do with anything else.
TYPES_SENTENCE = ("This page takes CSV files (.csv) and Excel workbooks (.xlsx, .xlsm), in which each sheet is read "
                  "as its own extract, and the workforce census XML (.xml). For any other file: Save as CSV UTF-8 or "
                  "Excel workbook (.xlsx).")


def render_uploader():
    """The drop zone, with the file types said in the page. It takes any file, so a wrong one is refused in
    the page with the advice (a type filter would only show a cut-off tooltip)."""
    st.write(TYPES_SENTENCE)
    gen = st.session_state.setdefault(GEN, 0)
    return st.file_uploader("Extract files: CSV or Excel workbook", accept_multiple_files=True, key=f"files-{gen}",
                            help="Excel's 'CSV UTF-8' or plain 'CSV' both work, as do .xlsx and .xlsm workbooks. "
                                 "Up to 200 MB per file.")


def recent_months(n: int = 48) -> list[str]:
    """The ``n`` months before this one, newest first."""
    today = dt.date.today()
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y:04d}-{m:02d}")
    return out


def _month(m: str) -> str:
    try:
        return uk_month(m)
    except ValueError:  # an implausible month stored by an earlier upload: shown as stored, so it can be withdrawn
        return m


def describe_months(months: list[str]) -> str:
    if not months:
        return "no months"
    return _month(months[0]) if len(months) == 1 else f"{_month(months[0])} – {_month(months[-1])}"


def _upload_label(u) -> str:
    """An upload in a picker: '254 · workforce Apr 2025 · 3 May 2024 09:14 · by A. Lead · 40 rows · SHA 1a2b3c4d ·
    superseded · workforce_2025-04.csv'."""
    return (f"{u['id']} · {u['kind']} {describe_months(u['months'])} · {uk_time(u['uploaded_at'])} · by "
            f"{u['uploaded_by']} · {u['rows']:,} rows · SHA {str(u['sha256'])[:8]} · {u['status']} · {u['file_name']}")


def _labeller(uploads: pd.DataFrame):
    rows = uploads.set_index("id")
    return lambda i: _upload_label({"id": i, **rows.loc[i].to_dict()})


def _refused(r: Refused) -> None:
    """The store or key cannot take the change (key mismatch, damaged store, full disk): say so plainly."""
    st.error(" ".join(e.message for e in r.errors), icon=":material/block:")


def render_errors(result: IngestResult, key: str) -> None:
    """The error report: every problem in plain English, grouped by rule (in words) with counts, the first
    rows of each group in full (a wrapping table: nothing is cut off), and the full list as a CSV download
    (which alone keeps the rules' codes)."""
    st.error(f"**Refused — nothing was stored.** {len(result.errors):,} problem(s) found in {plain(result.file)}.",
             icon=":material/block:")
    for g in problem_groups(result.errors):
        st.markdown(f"**{plain(g.name)}** — {g.count:,} problem{'s' if g.count != 1 else ''}"
                    + (f". How to fix: {plain(g.fix)}" if g.fix else ""))
        shown = g.first.map(plain)
        shown = shown.loc[:, [c for c in shown.columns if c == "Problem" or (shown[c] != "").any()]]
        st.table(shown, hide_index=True, border="horizontal")
        if g.count > len(g.first):
            st.caption(f"… and {g.count - len(g.first):,} more of these in the full list.")
    st.caption("Row numbers count the header as row 1.")
    stem = result.file.replace("#", "-").rsplit(".", 1)[0] if not result.file.endswith(".csv") else result.file[:-4]
    st.download_button("Download the full list of problems (CSV)", safe_csv(problems_download(result.errors)),
                       file_name=f"problems-{stem}.csv", mime="text/csv", key=f"dl-{key}")


def _check(data: bytes, name: str, kind: str, month: str | None, months, allow_empty: bool,
           earlier: Batch, sheet: SheetTable | None = None) -> Prepared:
    """The file (or a workbook's sheet) validated and previewed ONCE (metrics.ingest.prepare), kept in the
    session: loading it later stores what was checked, without validating again."""
    cache = st.session_state.setdefault(CHECKED, {})
    k = (loaders.db_path(), name, sheet and sheet.sheet, len(data), hash(data), kind, month, months, allow_empty,
         tuple(sorted(earlier.first.items())))  # the council's store first: a check is never another council's
    if k not in cache:
        with loaders.connect() as conn:
            options = dict(month=month, months=months, allow_empty=allow_empty, batch=earlier,
                           settings=access.council_settings())  # the council's key and LA code
            cache[k] = (prepare(conn, data, name, kind=kind, **options) if sheet is None else
                        prepare_sheet(conn, data, name, sheet, **options))
    return cache[k]


def _book(data: bytes, name: str, kind: str | None = None, sheet: str | None = None) -> Workbook | Refused:
    """A workbook read once per session (per kind asked for and sheet), or why it cannot be read."""
    cache = st.session_state.setdefault(BOOKS, {})
    k = (name, len(data), hash(data), kind, sheet)
    if k not in cache:
        try:
            book = read_workbook(data, name, kind=kind, sheets=None if sheet is None else [sheet],
                                 recognise=sources.sheet_kind)  # Annex A and the other sources by their headers
            sources.set_aside(book)  # lists no KPI reads: named in the notes, never offered
            cache[k] = book
        except Refused as r:
            cache[k] = r
    return cache[k]


def _choose_months(i: str, kind: str, headers: list[str]) -> tuple[str | None, tuple[str, str] | None]:
    """The month a snapshot describes (when the file does not say), or the months an event file covers."""
    spec = KINDS[kind]
    if spec.period == "snapshot" and "snapshot_date" not in {normalise_header(h) for h in headers}:
        month = st.selectbox("Month this snapshot describes (position at month end)", recent_months(),
                             format_func=uk_month, key=f"month-{i}")
        return month, None
    if spec.period == "event" and st.checkbox("Declare the months this file covers", key=f"decl-{i}",
                                              help="By default: first to last event month in the file."):
        options = sorted(recent_months(120))
        c1, c2 = st.columns(2)
        first = c1.selectbox("From", options, index=len(options) - 1, format_func=uk_month, key=f"from-{i}")
        last = c2.selectbox("To", options, index=len(options) - 1, format_func=uk_month, key=f"to-{i}")
        return None, (first, last) if first <= last else (last, first)
    return None, None


def _impact(what: tuple, compute) -> impacts.Impact | None:
    """``compute(conn)`` once per ``what`` and data version (it applies the change in a transaction that is
    rolled back, and builds the review model before and after: a few seconds), or None when the store
    refuses (the message is shown)."""
    db, version = loaders.version()
    cache = st.session_state.setdefault(IMPACTS, {})
    k = (what, db, version)
    if k not in cache:
        try:
            with st.spinner("Working out what this changes in the reviews…"), loaders.connect() as conn:
                cache[k] = compute(conn)
        except Refused as r:
            _refused(r)
            return None
        except sqlite3.OperationalError as e:  # a read-only or busy store: said plainly, never a traceback
            why = "read-only" if "readonly" in str(e) else "busy with another change (try again in a moment)"
            st.error(f"The store is {why}: nothing can be loaded or restored now.", icon=":material/block:")
            return None
    return cache[k]


def _value(metric: str, v) -> str:
    return REGISTRY[metric].format(v)


def render_impact(impact: impacts.Impact, *, done: bool = False) -> None:
    """What the change does (or did): the uploads it replaces, every rating that changes at a non-final
    review, every final review restated (old → new)."""
    will = "" if done else " would"
    if impact.replaces:
        st.markdown(f"**{'Replaced' if done else 'Replaces'}** " + "; ".join(
            f"upload {u['id']} ({plain(u['kind'])} {describe_months(u['months'])}, {plain(u['file_name'])}, "
            f"{uk_time(u['uploaded_at'])} by {plain(u['uploaded_by'])})" for u in impact.replaces)
            + ". Earlier uploads are kept and can be restored.")
    if not impact.changes and not impact.restatements:
        st.caption(f"No review's value or rating{will} change.")
    if impact.changes:
        n = len(impact.rating_changes)
        st.markdown(f"**Reviews not yet final:** {n} rating{'s' if n != 1 else ''}{will} change"
                    + (f"; {len(impact.changes) - n} value(s){will} change with the same rating"
                       if len(impact.changes) > n else "") + ".")
        st.table(pd.DataFrame([{
            "Review": plain(c.title), "KPI": plain(c.label), "Month": uk_month(c.month),
            "Value": f"{_value(c.metric, c.old_value)} → {_value(c.metric, c.new_value)}",
            "Rating": (f"{words.rag_text(c.old_rag, 'icon')} → {words.rag_text(c.new_rag, 'icon')}"
                       if c.rating_changed else f"{words.rag_text(c.new_rag, 'icon')} (unchanged)"),
        } for c in impact.changes]), hide_index=True, border="horizontal")
    if impact.restatements:
        finals = sorted({r.title for r in impact.restatements})
        st.warning(f"**This{' restated' if done else ' restates'} {len(finals)} final review"
                   f"{'s' if len(finals) != 1 else ''}**: "
                   f"{plain(', '.join(finals))}. The board's record stays as presented; the review page will "
                   "show these KPIs as restated.", icon=":material/history:")
        st.table(pd.DataFrame([{
            "Final review": plain(r.title), "KPI": plain(r.label), "Month": uk_month(r.month),
            "As presented": _value(r.metric, r.presented),
            "Value today": f"{_value(r.metric, r.old_value)} → {_value(r.metric, r.new_value)}",
        } for r in impact.restatements]), hide_index=True, border="horizontal")


def _second_confirmation(impact: impacts.Impact, key: str) -> tuple[bool, str]:
    """(may act, reason). A change that restates a final review asks for a reason and an explicit tick."""
    if not impact.needs_reason:
        return True, ""
    reason = st.text_input("Why restate the final review? (kept in the audit trail)", key=f"{key}-reason",
                           max_chars=500)
    ticked = st.checkbox("Yes, restate the final review(s) listed above", key=f"{key}-confirm")
    return ticked and bool(reason.strip()), reason


def render_load(ready: list[tuple[str, Prepared]]) -> None:
    """One confirm for every checked extract: the impact first, then "Load …"; each extract is stored in
    its own transaction, with a result line each; then the page resets for the next files."""
    if not ready:
        return
    st.subheader("Load", anchor=False)
    what = tuple((k, p.result.sha256, p.result.file, tuple(p.result.months), id(p)) for k, p in ready)
    impact = _impact(what, lambda conn: impacts.upload_impact(conn, [p for _, p in ready]))
    if impact is None:
        return
    render_impact(impact)
    may, reason = _second_confirmation(impact, "restate")
    rows = sum(p.result.rows for _, p in ready)
    label = f"Load {rows:,} rows" if len(ready) == 1 else f"Load all {len(ready)} files ({rows:,} rows)"
    if st.button(label, key="load-all", type="primary", disabled=not may):
        _load_all(ready, impact, reason, may)


def _load_all(ready: list[tuple[str, Prepared]], impact: impacts.Impact, reason: str, confirmed: bool) -> None:
    who = access.guard("upload")  # checked again on the server at the moment of the action
    try:  # checked here too: a disabled button is no guarantee
        reason = impacts.check_reason(impact, reason if confirmed else "")
    except Refused as r:
        _refused(r)
        return
    lines, refused = [], []
    bar = st.progress(0.0, text="Storing…")
    with loaders.connect() as conn:
        for n, (_, p) in enumerate(ready):
            name = p.result.file
            restated = impact.by_step.get(name, ())

            def audit_it(c, uid, restated=restated):
                impacts.record_restatements(c, restated, reason=reason, by=who.label, role=who.role.name,
                                            cause=f"upload {uid}")

            def step(x, n=n):
                bar.progress(min((n + min(x, 1.0)) / len(ready), 1.0), text=f"Storing {name}…")

            try:
                done = commit(conn, p, uploaded_by=who.label, role=who.role.name, progress=step,
                              on_commit=audit_it if restated else None)
            except Refused as r:
                lines.append(("error", f"{name}: not stored — {' '.join(e.message for e in r.errors)}"))
                continue
            except ValueError:  # this very check was stored already (a second click)
                lines.append(("info", f"{name}: already loaded (upload {p.result.upload_id})."))
                continue
            if done.status == "accepted":
                lines.append(("success", f"{name}: Loaded as upload {done.upload_id} — {done.rows:,} rows of "
                                         f"{done.kind} for {describe_months(done.months)}."))
            elif done.status == "unchanged":
                lines.append(("info", f"{name}: identical to upload {done.upload_id}, already current — nothing "
                                      "loaded."))
            else:  # changed between check and load (e.g. another upload)
                lines.append(("error", f"{name}: refused — {len(done.errors):,} problem(s); see below."))
                refused.append(done)
    bar.empty()
    st.session_state[DONE] = {"lines": lines, "refused": refused, "impact": impact}
    for k in (CHECKED, BOOKS, IMPACTS):  # what was checked is stored (or refused): the next files start afresh
        st.session_state.pop(k, None)
    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1  # a new, empty drop zone
    st.rerun()


def render_done() -> None:
    """The last load's result line per file and what it changed (once, after the page reset)."""
    done = st.session_state.pop(DONE, None)
    if not done:
        return
    with st.container(border=True):
        st.subheader("Just loaded", anchor=False)
        show = {"success": st.success, "info": st.info, "error": st.error}
        for level, line in done["lines"]:
            show[level](plain(line))
        for i, result in enumerate(done["refused"]):
            render_errors(result, f"done-{i}")
        if any(level == "success" for level, _ in done["lines"]):
            render_impact(done["impact"], done=True)
        st.caption("Drop the next files below.")


def render_file(i: int, f, batch: Batch) -> list[tuple[str, Prepared]]:
    """One dropped file: its kind (detected), its months, the check's verdict and a "load this" tick; for a
    workbook, the same for each sheet. A file of another type is refused here, with what to do. Returns
    the extracts ready and ticked, for the one Load button (:func:`render_load`)."""
    data = f.getvalue()  # held in memory only: uploaded bytes are never written to disk
    st.subheader(plain(f.name), anchor=False)
    if problem := wrong_type(f.name):
        st.error(plain(problem), icon=":material/block:")
        return []
    if is_workbook(data, f.name):
        return _render_workbook(i, data, f.name, batch)
    detected, headers, problem = sniff(data)
    ready = _render_extract(str(i), data, f.name, detected, headers, problem, batch)
    return [(str(i), ready)] if ready else []


def _render_workbook(i: int, data: bytes, name: str, batch: Batch) -> list[tuple[str, Prepared]]:
    book = _book(data, name)
    if isinstance(book, Refused):
        render_errors(IngestResult(file=name, kind=None, status="refused", errors=book.errors), str(i))
        return []
    out = []
    for note in book.notes:
        st.caption(plain(note))
    for j, sheet in enumerate(book.sheets):
        st.markdown(f"**Sheet {plain(sheet.sheet)}**")
        label = f"{name}#{sheet.sheet}"
        if sheet.errors and sheet.errors[0].rule == "workbook_corrupt":  # unreadable: no kind to choose
            render_errors(IngestResult(file=label, kind=None, status="refused", errors=sheet.errors), f"{i}-{j}")
            continue
        headers = sheet.table.headers if sheet.table is not None else []
        problem = sheet.errors[0].message if sheet.errors else ""
        if ready := _render_extract(f"{i}-{j}", data, name, sheet.kind, headers, problem, batch, sheet=sheet):
            out.append((f"{i}-{j}", ready))
    return out


def _sheet_as(data: bytes, name: str, sheet: SheetTable, kind: str) -> SheetTable:
    """The sheet read as ``kind`` (its header row found for that kind's columns), when the user chose it."""
    if kind == sheet.kind and not sheet.errors:
        return sheet
    book = _book(data, name, kind, sheet.sheet)
    if isinstance(book, Refused) or not book.sheets:
        return sheet
    return book.sheets[0]


def _render_extract(key: str, data: bytes, name: str, detected: str | None, headers: list[str], problem: str,
                    batch: Batch, sheet: SheetTable | None = None) -> Prepared | None:
    """One extract (a CSV file, or a workbook's sheet): kind, months, check; the Prepared when it is ready
    and ticked for loading."""
    kinds = list(KINDS)
    kind = st.selectbox("Extract kind", kinds, index=kinds.index(detected) if detected else None,
                        key=f"kind-{key}", placeholder="Choose the kind",
                        help="Detected from the column headers; change it if it is wrong.")
    if detected:
        st.caption(f"Detected from the headers: **{detected}**")
    elif problem:
        st.caption(plain(problem))
    if kind is None:
        return None
    if sheet is not None:
        sheet = _sheet_as(data, name, sheet, kind)
        headers = sheet.table.headers if sheet.table is not None else headers
    month, months = _choose_months(key, kind, headers)
    earlier = Batch(dict(batch.first))
    with st.spinner("Checking every row…"):
        prepared = _check(data, name, kind, month, months, False, earlier, sheet)
    result = prepared.result
    if [e.rule for e in result.errors] == ["empty_upload"]:
        st.warning(plain(result.errors[0].message), icon=":material/warning:")
        if not st.checkbox("Yes, these months really had none: replace the stored rows with this empty file (the "
                           "earlier upload is kept and can be restored)", key=f"empty-{key}"):
            return None
        prepared = _check(data, name, kind, month, months, True, earlier, sheet)
        result = prepared.result
    batch.add(result)
    if not result.ok:
        render_errors(result, key)
        return None
    if result.status == "unchanged":  # the very file already current for these months: nothing to click
        st.info(f"Identical to upload {result.upload_id}, which is already current for {result.kind} "
                f"{describe_months(result.months)}: nothing to load.", icon=":material/done_all:")
        return None
    st.success(f"Ready: {result.rows:,} rows of **{result.kind}** for {describe_months(result.months)}.",
               icon=":material/check_circle:")
    for w in result.warnings:
        st.warning(plain(w))
    part = sources.conference_scope(result.source)  # an SSD conference table replaces only its own type
    for u in result.replaces:
        what = f"the {part} conferences" if part else u["kind"]
        st.info(f"Replaces {what} for {describe_months(u['months'])} uploaded {uk_time(u['uploaded_at'])} by "
                f"{plain(u['uploaded_by'])} (upload {u['id']}). The earlier upload is kept and can be restored.",
                icon=":material/swap_horiz:")
    return prepared if st.checkbox("Load this file", value=True, key=f"take-{key}") else None


def _restore(earlier: pd.DataFrame) -> None:
    """Pick an earlier upload (newest first), see what restoring it changes, then confirm."""
    choice = st.selectbox("Restore an earlier upload", earlier["id"].tolist(), index=None,
                          placeholder="Choose an upload", format_func=_labeller(earlier))
    if choice is None:
        return
    choice = int(choice)
    impact = _impact(("restore", choice), lambda conn: impacts.restore_impact(conn, choice))
    if impact is None:
        return
    with st.container(border=True):
        st.markdown(f"**Restoring upload {choice}** makes it current again for all its months.")
        render_impact(impact)
        may, reason = _second_confirmation(impact, "restore-restate")
        if st.button(f"Confirm: make upload {choice} current again", key="restore", type="primary", disabled=not may):
            who = access.guard("restore")
            try:
                reason = impacts.check_reason(impact, reason if may else "")
                with loaders.connect() as conn:
                    restore_upload(conn, choice, by=who.label, role=who.role.name, settings=access.council_settings(),
                                   on_commit=lambda c, uid: impacts.record_restatements(
                                       c, impact.restatements, reason=reason, by=who.label, role=who.role.name,
                                       cause=f"restore of upload {uid}"))
            except Refused as r:
                _refused(r)
            else:
                st.session_state.pop(IMPACTS, None)
                st.session_state["upload_flash"] = f"Upload {choice} is current again."
                st.rerun()


def _withdraw(active: pd.DataFrame) -> None:
    choice = st.selectbox(
        "Withdraw an upload (admin)", active["id"].tolist(), index=None, placeholder="Choose an upload",
        help="Its months stop counting at once: for each, the most recent earlier upload becomes current "
             "again (a month no other upload covers has no data). Reversible: restore it to bring it back.",
        format_func=_labeller(active))
    if choice is not None and st.button("Withdraw it", key="withdraw"):
        who = access.guard("withdraw")
        try:
            with loaders.connect() as conn:
                out = withdraw_upload(conn, int(choice), by=who.label, role=who.role.name,
                                      settings=access.council_settings())
        except Refused as r:
            _refused(r)
        else:
            back = "; ".join(f"upload {u} is current again for {len(m)} month(s)" for u, m in out["fallback"].items())
            empty = f"; {len(out['empty'])} month(s) now have no data" if out["empty"] else ""
            st.session_state["upload_flash"] = f"Upload {choice} withdrawn{': ' + back if back else ''}{empty}."
            st.rerun()


#: The upload history's columns as shown (friendly names; times in UK local time).
HISTORY_COLUMNS = {"id": "Upload", "kind": "Kind", "months": "Months", "rows": "Rows", "status": "Status",
                   "uploaded_at": "Uploaded at (UK time)", "uploaded_by": "By", "file_name": "File",
                   "sha256": "SHA-256 (start)"}


def history_frame(history: pd.DataFrame) -> pd.DataFrame:
    """Every upload, newest first, as shown: friendly column names, UK date-times, SHA prefix."""
    shown = history.sort_values("id", ascending=False).assign(
        months=history["months"].map(describe_months), uploaded_at=history["uploaded_at"].map(uk_time),
        sha256=history["sha256"].astype(str).str[:12], status=history["status"].str.capitalize())
    return shown[list(HISTORY_COLUMNS)].rename(columns=HISTORY_COLUMNS)


def render_history(identity) -> None:
    """Every upload (newest first), with restore (editors) and withdraw (admins)."""
    db, version = loaders.version()
    history = loaders.uploads(db, version)
    if flash := st.session_state.pop("upload_flash", None):
        st.success(flash)
    if history.empty:
        st.caption("No uploads yet.")
        return
    text = st.column_config.TextColumn
    st.dataframe(history_frame(history), hide_index=True, width="stretch",
                 column_config={"Upload": st.column_config.NumberColumn(width=70, format="%d"),
                                "Kind": text(width=100), "Months": text(width=150),
                                "Rows": st.column_config.NumberColumn(width=80, format="localized"),
                                "Status": text(width=90), "Uploaded at (UK time)": text(width=160),
                                "By": text(width="medium"), "File": text(width="medium"),
                                "SHA-256 (start)": text(width=120)})
    newest = history.sort_values("id", ascending=False)
    earlier = newest[newest["status"].isin(["superseded", "withdrawn"])]
    if not earlier.empty and identity.may("restore"):
        _restore(earlier)
    active = newest[newest["status"] != "withdrawn"]
    if not active.empty and identity.may("withdraw"):
        _withdraw(active)


_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def render_examples() -> None:
    st.caption("Each example comes as a CSV file (.csv) and as an Excel workbook (.xlsx).")
    for kind, spec in KINDS.items():
        with st.expander(f"{kind} — {spec.description}"):
            st.dataframe(column_guide(kind), hide_index=True, width="stretch")
            c1, c2 = st.columns(2)
            c1.download_button(f"Example {kind}.csv", example_csv(kind), file_name=f"{kind}.csv", mime="text/csv",
                               key=f"ex-{kind}")
            c2.download_button(f"Example {kind}.xlsx", example_xlsx(kind), file_name=f"{kind}.xlsx",
                               mime=_XLSX_MIME, key=f"exx-{kind}")
