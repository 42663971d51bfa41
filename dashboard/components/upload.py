"""The Upload page's pieces: one dropped file (check once, then load what was checked), the upload
history with restore and withdraw, and the example files."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import access, loaders
from dashboard.components.text import plain, uk_date, uk_month
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
from metrics.views import problems_by_rule
from metrics.validate import sniff
from metrics.workbook import SheetTable, Workbook, is_workbook, read_workbook, wrong_type

#: st.session_state key of the files checked so far: (file, choices, batch) → metrics.ingest.Prepared
CHECKED = "checked"
#: st.session_state key of the workbooks read so far: (file, kind, sheet) → metrics.workbook.Workbook
BOOKS = "books"
#: Said in the page, above the drop zone (not in a tooltip): what it takes, and what to do with anything else.
TYPES_SENTENCE = ("This page takes CSV files (.csv) and Excel workbooks (.xlsx, .xlsm), in which each sheet is read "
                  "as its own extract, and the workforce census XML (.xml). For any other file: Save as CSV UTF-8 or "
                  "Excel workbook (.xlsx).")


def render_uploader():
    """The drop zone, with the file types said in the page. It takes any file, so a wrong one is refused in
    the page with the advice (a type filter would only show a cut-off tooltip)."""
    st.write(TYPES_SENTENCE)
    return st.file_uploader("Extract files: CSV or Excel workbook", accept_multiple_files=True, key="files",
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


def _labeller(uploads: pd.DataFrame):
    rows = uploads.set_index("id")

    def label(i: int) -> str:
        r = rows.loc[i]
        status = " (withdrawn)" if r["status"] == "withdrawn" else ""
        return f"{i}: {r['kind']} {describe_months(r['months'])} — {r['file_name']}{status}"

    return label


def _refused(r: Refused) -> None:
    """The store or key cannot take the change (key mismatch, damaged store, full disk): say so plainly."""
    st.error(" ".join(e.message for e in r.errors), icon=":material/block:")


def render_errors(result: IngestResult, key: str) -> None:
    errs = pd.DataFrame([e.as_dict() for e in result.errors])
    st.error(f"**Refused — nothing was stored.** {len(errs):,} problem(s) found in {plain(result.file)}.",
             icon=":material/block:")
    st.dataframe(problems_by_rule(errs), hide_index=True, width="stretch")
    st.caption("First problems (row numbers count the header as row 1):")
    st.dataframe(errs.head(20)[["row", "column", "value", "message"]], hide_index=True, width="stretch")
    stem = result.file.replace("#", "-").rsplit(".", 1)[0] if not result.file.endswith(".csv") else result.file[:-4]
    st.download_button("Download the full list of problems (CSV)", safe_csv(errs),
                       file_name=f"problems-{stem}.csv", mime="text/csv", key=f"dl-{key}")


def _check(data: bytes, name: str, kind: str, month: str | None, months, allow_empty: bool,
           earlier: Batch, sheet: SheetTable | None = None) -> Prepared:
    """The file (or a workbook's sheet) validated and previewed ONCE (metrics.ingest.prepare), kept in the
    session: loading it later stores what was checked, without validating again."""
    cache = st.session_state.setdefault(CHECKED, {})
    k = (name, sheet and sheet.sheet, len(data), hash(data), kind, month, months, allow_empty,
         tuple(sorted(earlier.first.items())))
    if k not in cache:
        with loaders.connect() as conn:
            options = dict(month=month, months=months, allow_empty=allow_empty, batch=earlier)
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


def _load(key: str, prepared: Prepared) -> None:
    """Store what was checked (metrics.ingest.commit: "replaces" and repeated events are read again under
    the write lock), with a progress bar."""
    who = access.guard("upload")  # checked again on the server at the moment of the action
    bar = st.progress(0.0, text="Storing…")
    try:
        with loaders.connect() as conn:
            done = commit(conn, prepared, uploaded_by=who.label, role=who.role.name,
                          progress=lambda x: bar.progress(min(x, 1.0), text="Storing…"))
    except Refused as r:
        bar.empty()
        _refused(r)
        return
    finally:  # what was checked is stored (or refused): the next look checks afresh
        st.session_state.pop(CHECKED, None)
        st.session_state.pop(BOOKS, None)
    bar.empty()
    if done.ok:
        st.success(f"Loaded as upload {done.upload_id}.", icon=":material/task_alt:")
    else:  # changed between check and load (e.g. another upload); show the fresh report
        render_errors(done, f"{key}-load")


def render_file(i: int, f, batch: Batch) -> None:
    """One dropped file: its kind (detected), its months, the check's verdict and the Load button; for a
    workbook, the same for each sheet. A file of another type is refused here, with what to do."""
    data = f.getvalue()  # held in memory only: uploaded bytes are never written to disk
    st.subheader(plain(f.name), anchor=False)
    if problem := wrong_type(f.name):
        st.error(plain(problem), icon=":material/block:")
        return
    if is_workbook(data, f.name):
        _render_workbook(i, data, f.name, batch)
        return
    detected, headers, problem = sniff(data)
    _render_extract(str(i), data, f.name, detected, headers, problem, batch)


def _render_workbook(i: int, data: bytes, name: str, batch: Batch) -> None:
    book = _book(data, name)
    if isinstance(book, Refused):
        render_errors(IngestResult(file=name, kind=None, status="refused", errors=book.errors), str(i))
        return
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
        _render_extract(f"{i}-{j}", data, name, sheet.kind, headers, problem, batch, sheet=sheet)


def _sheet_as(data: bytes, name: str, sheet: SheetTable, kind: str) -> SheetTable:
    """The sheet read as ``kind`` (its header row found for that kind's columns), when the user chose it."""
    if kind == sheet.kind and not sheet.errors:
        return sheet
    book = _book(data, name, kind, sheet.sheet)
    if isinstance(book, Refused) or not book.sheets:
        return sheet
    return book.sheets[0]


def _render_extract(key: str, data: bytes, name: str, detected: str | None, headers: list[str], problem: str,
                    batch: Batch, sheet: SheetTable | None = None) -> None:
    """One extract (a CSV file, or a workbook's sheet): kind, months, check, Load."""
    kinds = list(KINDS)
    kind = st.selectbox("Extract kind", kinds, index=kinds.index(detected) if detected else None,
                        key=f"kind-{key}", placeholder="Choose the kind",
                        help="Detected from the column headers; change it if it is wrong.")
    if detected:
        st.caption(f"Detected from the headers: **{detected}**")
    elif problem:
        st.caption(plain(problem))
    if kind is None:
        return
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
            return
        prepared = _check(data, name, kind, month, months, True, earlier, sheet)
        result = prepared.result
    batch.add(result)
    if not result.ok:
        render_errors(result, key)
        return
    st.success(f"Ready: {result.rows:,} rows of **{result.kind}** for {describe_months(result.months)}.",
               icon=":material/check_circle:")
    for w in result.warnings:
        st.warning(plain(w))
    for u in result.replaces:
        st.info(f"Replaces {u['kind']} for {describe_months(u['months'])} uploaded {uk_date(u['uploaded_at'])} by "
                f"{plain(u['uploaded_by'])} (upload {u['id']}). The earlier upload is kept and can be restored.",
                icon=":material/swap_horiz:")
    if st.button(f"Load {result.rows:,} rows", key=f"load-{key}", type="primary"):
        _load(key, prepared)


def _restore(earlier: pd.DataFrame) -> None:
    choice = st.selectbox("Restore an earlier upload", earlier["id"].tolist(), index=None,
                          placeholder="Choose an upload", format_func=_labeller(earlier))
    if choice is not None and st.button("Restore it as current", key="restore"):
        who = access.guard("restore")
        try:
            with loaders.connect() as conn:
                restore_upload(conn, int(choice), by=who.label, role=who.role.name)
        except Refused as r:
            _refused(r)
        else:
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
                out = withdraw_upload(conn, int(choice), by=who.label, role=who.role.name)
        except Refused as r:
            _refused(r)
        else:
            back = "; ".join(f"upload {u} is current again for {len(m)} month(s)" for u, m in out["fallback"].items())
            empty = f"; {len(out['empty'])} month(s) now have no data" if out["empty"] else ""
            st.session_state["upload_flash"] = f"Upload {choice} withdrawn{': ' + back if back else ''}{empty}."
            st.rerun()


def render_history(identity) -> None:
    """Every upload, with restore (editors) and withdraw (admins)."""
    db, version = loaders.version()
    history = loaders.uploads(db, version)
    if history.empty:
        st.caption("No uploads yet.")
        return
    shown = history.assign(months=history["months"].map(describe_months))
    st.dataframe(shown[["id", "kind", "months", "rows", "status", "uploaded_at", "uploaded_by", "file_name"]],
                 hide_index=True, width="stretch")
    earlier = history[history["status"].isin(["superseded", "withdrawn"])]
    if not earlier.empty and identity.may("restore"):
        _restore(earlier)
    active = history[history["status"] != "withdrawn"]
    if not active.empty and identity.may("withdraw"):
        _withdraw(active)
    if flash := st.session_state.pop("upload_flash", None):
        st.success(flash)


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
