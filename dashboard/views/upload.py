"""Upload: drop extracts, see what they are and what they will change, confirm, keep history."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import access, loaders
from dashboard.components import plain, render_demo_notice, uk_date, uk_month
from metrics.contract import KINDS, RULES, normalise_header
from metrics.examples import column_guide, example_csv
from metrics.export import safe_csv
from metrics.ingest import Batch, IngestResult, ingest_bytes, restore_upload, withdraw_upload
from metrics.issues import Refused
from metrics.settings import get_settings
from metrics.validate import sniff

identity = access.page("upload")
st.title("Upload monthly extracts")
render_demo_notice()
st.write("Drop one or several CSV extracts. Each file is checked in full before anything is stored: a file "
         "with any error changes nothing, and you get the complete list of what to fix.")


def _recent_months(n: int = 48) -> list[str]:
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


def _describe_months(months: list[str]) -> str:
    if not months:
        return "no months"
    return _month(months[0]) if len(months) == 1 else f"{_month(months[0])} – {_month(months[-1])}"


def _labeller(uploads: pd.DataFrame):
    rows = uploads.set_index("id")

    def label(i: int) -> str:
        r = rows.loc[i]
        status = " (withdrawn)" if r["status"] == "withdrawn" else ""
        return f"{i}: {r['kind']} {_describe_months(r['months'])} — {r['file_name']}{status}"

    return label


def _refused(r: Refused) -> None:
    """The store or key cannot take the change (key mismatch, damaged store, full disk): say so plainly."""
    st.error(" ".join(e.message for e in r.errors), icon=":material/block:")


def _render_errors(result: IngestResult, key: str) -> None:
    errs = pd.DataFrame([e.as_dict() for e in result.errors])
    st.error(f"**Refused — nothing was stored.** {len(errs):,} problem(s) found in {plain(result.file)}.",
             icon=":material/block:")
    by_rule = errs.groupby("rule").size().rename("problems").reset_index()
    by_rule["how to fix"] = by_rule["rule"].map(RULES)
    st.dataframe(by_rule, hide_index=True, width="stretch")
    st.caption("First problems (row numbers count the header as row 1):")
    st.dataframe(errs.head(20)[["row", "column", "value", "message"]], hide_index=True, width="stretch")
    st.download_button("Download the full list of problems (CSV)", safe_csv(errs),
                       file_name=f"problems-{result.file}", mime="text/csv", key=f"dl-{key}")


def _check(data: bytes, name: str, kind: str, month: str | None, months, allow_empty: bool,
           earlier: Batch) -> IngestResult:
    cache = st.session_state.setdefault("checked", {})
    k = (name, len(data), hash(data), kind, month, months, allow_empty, tuple(sorted(earlier.first.items())))
    if k not in cache:
        with loaders.connect() as conn:
            cache[k] = ingest_bytes(conn, data, name, kind=kind, month=month, months=months, commit=False,
                                    allow_empty=allow_empty, batch=earlier)
    return cache[k]


files = st.file_uploader("Extract files (CSV)", type=["csv"], accept_multiple_files=True, key="files",
                         help="Excel's 'CSV UTF-8' or plain 'CSV' both work. Up to 200 MB per file.")
batch = Batch()  # the files dropped together: one file per snapshot month
for i, f in enumerate(files or []):
    data = f.getvalue()  # held in memory only: uploaded bytes are never written to disk
    with st.container(border=True):
        st.subheader(plain(f.name), anchor=False)
        detected, headers, problem = sniff(data)
        kinds = list(KINDS)
        kind = st.selectbox(
            "Extract kind", kinds, index=kinds.index(detected) if detected else None, key=f"kind-{i}",
            placeholder="Choose the kind", help="Detected from the column headers; change it if it is wrong.",
        )
        if detected:
            st.caption(f"Detected from the headers: **{detected}**")
        elif problem:
            st.caption(plain(problem))
        if kind is None:
            continue
        month = months = None
        spec = KINDS[kind]
        if spec.period == "snapshot" and "snapshot_date" not in {normalise_header(h) for h in headers}:
            options = _recent_months()
            month = st.selectbox("Month this snapshot describes (position at month end)", options,
                                 format_func=uk_month, key=f"month-{i}")
        elif spec.period == "event" and st.checkbox("Declare the months this file covers", key=f"decl-{i}",
                                                     help="By default: first to last event month in the file."):
            options = sorted(_recent_months(120))
            c1, c2 = st.columns(2)
            first = c1.selectbox("From", options, index=len(options) - 1, format_func=uk_month, key=f"from-{i}")
            last = c2.selectbox("To", options, index=len(options) - 1, format_func=uk_month, key=f"to-{i}")
            months = (first, last) if first <= last else (last, first)
        earlier = Batch(dict(batch.first))
        allow_empty = False
        with st.spinner("Checking every row…"):
            result = _check(data, f.name, kind, month, months, allow_empty, earlier)
        if [e.rule for e in result.errors] == ["empty_upload"]:
            st.warning(plain(result.errors[0].message), icon=":material/warning:")
            allow_empty = st.checkbox("Yes, these months really had none: replace the stored rows with this "
                                      "empty file (the earlier upload is kept and can be restored)",
                                      key=f"empty-{i}")
            if not allow_empty:
                continue
            result = _check(data, f.name, kind, month, months, allow_empty, earlier)
        batch.add(result)
        if not result.ok:
            _render_errors(result, f"{i}")
            continue
        st.success(f"Ready: {result.rows:,} rows of **{result.kind}** for {_describe_months(result.months)}.",
                   icon=":material/check_circle:")
        for w in result.warnings:
            st.warning(plain(w))
        for u in result.replaces:
            st.info(f"Replaces {u['kind']} for {_describe_months(u['months'])} uploaded "
                    f"{uk_date(u['uploaded_at'])} by {plain(u['uploaded_by'])} (upload {u['id']}). The earlier upload "
                    "is kept and can be restored.", icon=":material/swap_horiz:")
        if st.button(f"Load {result.rows:,} rows", key=f"load-{i}", type="primary"):
            who = access.guard("upload")  # checked again on the server at the moment of the action
            bar = st.progress(0.0, text="Storing…")
            try:
                with loaders.connect() as conn:
                    done = ingest_bytes(conn, data, f.name, kind=kind, month=month, months=months,
                                        uploaded_by=who.label, role=who.role.name, allow_empty=allow_empty,
                                        batch=earlier,
                                        progress=lambda x: bar.progress(min(x, 1.0), text="Storing…"))
            except Refused as r:
                bar.empty()
                _refused(r)
                continue
            bar.empty()
            st.session_state.pop("checked", None)
            if done.ok:
                st.success(f"Loaded as upload {done.upload_id}.", icon=":material/task_alt:")
            else:  # changed between check and load (e.g. another upload); show the fresh report
                _render_errors(done, f"{i}-load")

st.divider()
st.header("Upload history")
db, version = loaders.version()
history = loaders.uploads(db, version)
if history.empty:
    st.caption("No uploads yet.")
else:
    shown = history.assign(months=history["months"].map(_describe_months))
    st.dataframe(shown[["id", "kind", "months", "rows", "status", "uploaded_at", "uploaded_by", "file_name"]],
                 hide_index=True, width="stretch")
    earlier = history[history["status"].isin(["superseded", "withdrawn"])]
    if not earlier.empty and identity.may("restore"):
        choice = st.selectbox(
            "Restore an earlier upload", earlier["id"].tolist(), index=None, placeholder="Choose an upload",
            format_func=_labeller(earlier))
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
    active = history[history["status"] != "withdrawn"]
    if not active.empty and identity.may("withdraw"):
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
    if flash := st.session_state.pop("upload_flash", None):
        st.success(flash)

st.divider()
st.header("Example files and column guide")
for kind, spec in KINDS.items():
    with st.expander(f"{kind} — {spec.description}"):
        st.dataframe(column_guide(kind), hide_index=True, width="stretch")
        st.download_button(f"Example {kind}.csv", example_csv(kind), file_name=f"{kind}.csv", mime="text/csv",
                           key=f"ex-{kind}")
st.caption(f"Council: {plain(get_settings().council_name)}.")
