"""Ingest: bytes in → validated → pseudonymised → stored in one transaction (or refused whole).

The CLI, the demo builder and the benchmarks come through :func:`ingest_bytes`; the Upload page calls its
two halves, :func:`prepare` (validate and preview, once) and later :func:`commit` (store what was prepared).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from metrics import audit, sources, store, workbook
from metrics.contract import KINDS
from metrics.csvread import RawTable
from metrics.issues import Issue, Refused, mask
from metrics.councils import record_council
from metrics.pseudonym import bind_key, key_for_store, pseudonymise
from metrics.settings import Settings, get_settings
from metrics.userinput import control_character
from metrics.validate import Validated, Window, validate


@dataclass
class IngestResult:
    file: str
    kind: str | None
    status: str  # accepted | refused | preview | unchanged (identical to the current upload: nothing stored)
    upload_id: int | None = None
    months: list[str] = field(default_factory=list)
    rows: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    replaces: list[dict] = field(default_factory=list)  # uploads this one supersedes (wholly or partly)
    sha256: str = ""
    source: str = ""  # where the rows came from, e.g. "Annex A List 4 (CSV)" (metrics.sources)

    @property
    def ok(self) -> bool:
        return self.status != "refused"

    def as_json(self) -> dict:
        return {
            "file": self.file,
            "kind": self.kind,
            "status": self.status,
            "upload_id": self.upload_id,
            "months": self.months,
            "rows": self.rows,
            "warnings": self.warnings,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass
class Batch:
    """Files uploaded together (one ``kpi ingest`` command, one Upload page batch): one file per snapshot
    month, so a second file for a month is refused instead of silently replacing the first."""

    first: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, snapshot month) -> file name

    def clash(self, kind: str, months: list[str], name: str) -> Issue | None:
        if KINDS[kind].period != "snapshot" or (kind, months[0]) not in self.first:
            return None
        return Issue.file("duplicate_snapshot", f"{name} is a second {kind} snapshot for {months[0]} in this "
                                                f"upload: {self.first[kind, months[0]]} already gives that month.")

    def add(self, result: IngestResult) -> None:
        """Record an accepted (or previewed) file: later files of the batch may not take its month."""
        if result.ok and KINDS[result.kind].period == "snapshot":
            self.first.setdefault((result.kind, result.months[0]), result.file)


def _emptied(conn: sqlite3.Connection, v: Validated, name: str, current: dict) -> Issue | None:
    """A file with no rows that would hide stored rows: say which months and uploads it would empty."""
    held: dict[int, list[tuple[str, str]]] = {}
    for (s, m), u in sorted(current.items(), key=lambda x: (x[0][1], x[0][0])):
        held.setdefault(u["id"], []).append((s, m))
    parts = []
    for uid, pairs in held.items():
        n = store.rows_held(conn, v.kind, uid, pairs)
        if n:
            u = next(u for u in current.values() if u["id"] == uid)
            ms = sorted({m for _, m in pairs})
            span = ms[0] if len(ms) == 1 else f"{ms[0]} to {ms[-1]}"
            parts.append(f"{span} of upload {uid} ({u['file_name']}, {n:,} rows)")
    if not parts:
        return None
    return Issue.file("empty_upload", f"{name} has no rows: loading it would empty {v.kind} for "
                                      f"{'; '.join(parts)}.")


def pseudonymised(kind: str, frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """``frame``'s columns as stored: each identifier column of ``kind`` replaced by its keyed hash."""
    return frame.assign(**{col.name: pseudonymise(frame[col.name].to_numpy(dtype=object), key, col.name)
                           for col in KINDS[kind].columns if col.pseudonymise and col.name in frame.columns})


def pseudonymise_frame(v: Validated, key: bytes) -> None:
    v.frame = pseudonymised(v.kind, v.frame, key)


def repeated_events(conn: sqlite3.Connection, v: Validated, raw_keys: pd.DataFrame,
                    stored_keys: Callable[[], pd.DataFrame]) -> list[Issue]:
    """Events of an upload already counted in another *current* upload of the same kind: another month's,
    or (conferences) the other conference type's in any month.

    ``raw_keys``: the upload's key columns as given (masked in messages); ``stored_keys()``: the same,
    pseudonymised as stored (called only when the store holds other (scope, month) pairs). The pairs this
    upload covers are left out: their current rows are being replaced. An event id is unique, so the same
    event in two current uploads would be counted twice.
    """
    spec = KINDS[v.kind]
    if spec.period != "event" or not len(v.frame):
        return []
    mine_pairs = set(store.scopes_and_months(v.kind, v.frame, v.months, v.source))
    held = {(r[0], r[1]) for r in conn.execute("SELECT scope, month FROM current_months WHERE kind = ?", (v.kind,))}
    if not held - mine_pairs:
        return []
    key = list(spec.key)
    scope_col = store.SCOPE_COLUMN.get(v.kind)
    prev = store.read_current(conn, v.kind, columns=[*key, *([scope_col] if scope_col else [])])
    if scope_col:  # a stored row is replaced when its (type, month) is one this upload covers
        scopes = prev[scope_col].astype(str)
        replaced = (scopes + "\x1f" + prev["month"]).isin({f"{s}\x1f{m}" for s, m in mine_pairs})
    else:
        scopes = pd.Series("", index=prev.index)
        replaced = prev["month"].isin({m for _, m in mine_pairs})
    prev = prev.assign(_scope=scopes)[~replaced].drop_duplicates(key)
    if prev.empty:
        return []
    mine = stored_keys().reset_index(drop=True).assign(_pos=range(len(raw_keys)))
    hits = mine.merge(prev[[*key, "month", "_scope"]], on=key).sort_values("_pos")
    uploads = store.current_for(conn, v.kind, list(dict.fromkeys(zip(hits["_scope"], hits["month"]))))
    out = []
    for pos, scope, month in zip(hits["_pos"], hits["_scope"], hits["month"]):
        shown = " / ".join(mask(str(raw_keys[c].iat[pos])) for c in key)
        where = f"{month} ({scope} conferences)" if v.kind == "conferences" else month
        out.append(Issue(int(v.rows[pos]), "+".join(key), shown, "duplicate_event",
                         f"This {v.kind[:-1]} ({', '.join(key)}) is already counted in {where}, in upload "
                         f"{uploads[(scope, month)]['id']}, which is still current."))
    return out


@dataclass
class Prepared:
    """One file checked and previewed, ready to store (:func:`prepare`, then :func:`commit`).

    Holds the validated frame, so the file is read and validated once: the Upload page keeps it between
    "check" and "load". ``result`` is the preview (``status`` "preview") or the refusal.
    """

    result: IngestResult
    validated: Validated | None = None
    settings: Settings | None = None
    pairs: list = field(default_factory=list)  # (scope, month) pairs the upload covers
    raw_keys: pd.DataFrame | None = None  # the key columns as given (masked in messages)
    pseudonymised: bool = False  # the frame's identifiers are pseudonymised (commit does it, once)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return self.result.ok


def prepare(
    conn: sqlite3.Connection,
    data: bytes,
    file_name: str,
    *,
    kind: str | None = None,
    month: str | None = None,
    months: tuple[str, str] | None = None,
    settings: Settings | None = None,
    allow_empty: bool = False,
    batch: Batch | None = None,
    repeats: bool = True,
    table: RawTable | None = None,
    sheet: str | None = None,
) -> Prepared:
    """Validate one file and preview what it changes, storing nothing. Never raises for bad input: see
    ``result.status`` ("preview" or "refused").

    ``allow_empty``: a file with no rows may replace months that hold data (refused otherwise).
    ``batch``: the files uploaded with this one (a second file for the same snapshot month is refused);
    the caller adds each result to it. ``repeats``: look for events already counted in another month
    (needs the store's key; :func:`commit` looks again under the write lock in any case). ``table``: the
    extract already read from ``data`` (a workbook's sheet; see :func:`prepare_all`).
    """
    settings = settings or get_settings()
    name = Path(file_name).name  # never keep a client's directory path
    sha = hashlib.sha256(data).hexdigest()
    if bad := control_character(name):  # the name is stored and printed (upload history, kpi uploads)
        shown = "".join(c if control_character(c) is None else "?" for c in name)
        return Prepared(IngestResult(file=shown, kind=kind, status="refused", sha256=sha, errors=[Issue.file(
            "control_character", f"The file name contains an invisible character ({bad}): rename the file "
                                 "and upload it again.")]))
    try:
        v = validate(data if table is None else table, kind=kind, month=month, months=months,
                     window=Window.of(settings), sheet=sheet)
    except Refused as r:
        return Prepared(IngestResult(file=name, kind=r.kind or kind, status="refused", errors=r.errors, sha256=sha))
    pairs = store.scopes_and_months(v.kind, v.frame, v.months, v.source)
    current = store.current_for(conn, v.kind, pairs)
    replaces = _replaced(current)
    if same := _identical(current, pairs, sha):  # already current for every month it covers: nothing to store
        return Prepared(IngestResult(file=name, kind=v.kind, status="unchanged", upload_id=same["id"],
                                     months=v.months, rows=len(v.frame), replaces=replaces, sha256=sha,
                                     source=v.source, warnings=[_unchanged_words(same)]))
    problem = batch.clash(v.kind, v.months, name) if batch is not None else None
    if problem is None and len(v.frame) == 0 and not allow_empty:
        problem = _emptied(conn, v, name, current)
    if problem is not None:
        return Prepared(IngestResult(file=name, kind=v.kind, status="refused", months=v.months, errors=[problem],
                                     replaces=replaces, sha256=sha))
    result = IngestResult(file=name, kind=v.kind, status="preview", months=v.months, rows=len(v.frame),
                          warnings=_warnings(v, replaces, sha), replaces=replaces, sha256=sha, source=v.source)
    key_cols = list(KINDS[v.kind].key)
    raw_keys = v.frame[key_cols].copy()
    if repeats:
        def stored_keys() -> pd.DataFrame:
            return pseudonymised(v.kind, raw_keys, key_for_store(conn, settings))

        try:
            dup = repeated_events(conn, v, raw_keys, stored_keys)
        except Refused as r:  # the key is not the store's: said at the check, before anything is loaded
            return Prepared(IngestResult(file=name, kind=v.kind, status="refused", errors=r.errors, sha256=sha))
        if dup:
            return Prepared(IngestResult(file=name, kind=v.kind, status="refused", errors=dup, sha256=sha))
    return Prepared(result, validated=v, settings=settings, pairs=pairs, raw_keys=raw_keys)


def commit(
    conn: sqlite3.Connection,
    prepared: Prepared,
    *,
    uploaded_by: str | None = None,
    progress: Callable[[float], None] | None = None,
    on_commit: Callable[[sqlite3.Connection, int], None] | None = None,
    role: str = "",
) -> IngestResult:
    """Store a file from :func:`prepare`, without validating it again. A refused preview is returned as it
    is. What it replaces and repeated events are read again under the write lock (a concurrent upload
    since the preview is named, or refuses it); identifiers are pseudonymised here. Raises
    :class:`metrics.store.StoreProblem` (a ``Refused``, plain message) when the store cannot take it: the
    key is not the store's, the store is damaged or the disk is full. A Prepared is stored at most once.
    """
    if not prepared.ok or prepared.result.status == "unchanged":
        return prepared.result
    if prepared.committed:
        raise ValueError(f"{prepared.result.file} was already stored (upload {prepared.result.upload_id}).")
    v, settings, sha, name = prepared.validated, prepared.settings, prepared.result.sha256, prepared.result.file
    result = replace(prepared.result, warnings=list(prepared.result.warnings))
    key_cols = list(KINDS[v.kind].key)
    problem = store.quick_check_once(conn)
    if problem:
        raise store.StoreProblem("store_damaged", f"The store failed its integrity check ({problem}); nothing was "
                                 "stored. Restore it from a backup, then run `kpi check`.")
    key = key_for_store(conn, settings)
    if not prepared.pseudonymised:  # once, even when a failed write is tried again
        pseudonymise_frame(v, key)
        prepared.pseudonymised = True
    actor = uploaded_by or settings.user

    def audit_and_commit(c: sqlite3.Connection, upload_id: int) -> None:
        # checked inside the write transaction, so a concurrent upload cannot slip the same event in
        dup = repeated_events(c, v, prepared.raw_keys, lambda: v.frame[key_cols])
        if dup:
            raise Refused(dup, v.kind)
        audit.record(c, actor, "upload", f"upload {upload_id}",
                     {"kind": v.kind, "months": v.months, "rows": len(v.frame), "file": name, "sha256": sha,
                      "source": v.source, "replaces": [u["id"] for u in result.replaces]}, role=role)
        if on_commit:
            on_commit(c, upload_id)

    # What this upload replaces is read again under the write lock, in the transaction that writes it: a
    # concurrent upload that committed since the preview is then named, and the audit row tells the truth.
    try:
        with store.transaction(conn):
            bind_key(conn, key)
            record_council(conn, settings.la_code, settings.council_name)  # the store is this council's
            current = store.current_for(conn, v.kind, prepared.pairs)
            if same := _identical(current, prepared.pairs, sha):  # loaded since the check (a second click)
                return replace(result, status="unchanged", upload_id=same["id"], warnings=[_unchanged_words(same)])
            result.replaces = _replaced(current)
            result.warnings = _warnings(v, result.replaces, sha)
            result.upload_id = store.write_upload(
                conn, kind=v.kind, months=v.months, frame=v.frame, sha256=sha, file_name=name,
                uploaded_by=actor, warnings=result.warnings, as_of=v.as_of, progress=progress,
                on_commit=audit_and_commit, source=v.source,
            )
    except store.StoreProblem:
        raise
    except Refused as r:  # a repeated event found under the write lock: rolled back, nothing was stored
        return IngestResult(file=name, kind=v.kind, status="refused", errors=r.errors, sha256=sha)
    prepared.committed = True
    result.status = "accepted"
    return result


_commit = commit  # ingest_bytes' ``commit`` flag shadows the name


def prepare_all(conn: sqlite3.Connection, data: bytes, file_name: str, *, kind: str | None = None,
                batch: Batch | None = None, **options) -> list[Prepared]:
    """One uploaded file → one :class:`Prepared` per extract in it (``options`` as :func:`prepare`).

    A CSV file is one extract. A workbook (:mod:`metrics.workbook`) gives one per visible sheet, labelled
    ``book.xlsx#Sheet``, each with its own result (and at :func:`commit`, its own transaction); the sheets
    of one workbook are one batch with the files uploaded beside it. Skipped sheets (hidden, empty) are
    named in each sheet's warnings; a workbook that cannot be read is one refused result.
    """
    if not workbook.is_workbook(data, file_name):
        return [prepare(conn, data, file_name, kind=kind, batch=batch, **options)]
    name = Path(file_name).name
    try:
        book = workbook.read_workbook(data, name, kind=kind, recognise=sources.sheet_kind)
        sources.set_aside(book)  # lists no KPI reads (Annex A's others): named in the notes, never stored
    except Refused as r:
        return [Prepared(IngestResult(file=name, kind=kind, status="refused", errors=r.errors,
                                      sha256=hashlib.sha256(data).hexdigest()))]
    batch = batch if batch is not None else Batch()
    out = []
    for sheet in book.sheets:
        p = prepare_sheet(conn, data, name, sheet, notes=book.notes, batch=batch, **options)
        batch.add(p.result)
        out.append(p)
    return out


def prepare_sheet(conn: sqlite3.Connection, data: bytes, file_name: str, sheet: workbook.SheetTable, *,
                  notes: list[str] = (), **options) -> Prepared:
    """One sheet of a workbook (``data``, read by :func:`metrics.workbook.read_workbook`) as :func:`prepare`
    does a CSV file, labelled ``book.xlsx#Sheet``; ``notes`` (sheets skipped) join its warnings."""
    label = f"{Path(file_name).name}#{sheet.sheet}"
    if sheet.errors:
        p = Prepared(IngestResult(file=label, kind=sheet.kind, status="refused",
                                  errors=sources.explain_sheet(sheet.sheet, sheet.errors),
                                  sha256=hashlib.sha256(data).hexdigest()))
    else:
        p = prepare(conn, data, label, kind=sheet.kind, table=sheet.table, sheet=sheet.sheet, **options)
        p.result.errors = workbook.explain(p.result.errors)
        if p.validated is not None:
            p.validated.warnings.extend(notes)
    p.result.warnings = [*p.result.warnings, *(n for n in notes if n not in p.result.warnings)]
    return p


def ingest_all(conn: sqlite3.Connection, data: bytes, file_name: str, *, commit: bool = True,
               uploaded_by: str | None = None, progress: Callable[[float], None] | None = None,
               on_commit: Callable[[sqlite3.Connection, int], None] | None = None, role: str = "",
               guard: Callable[[sqlite3.Connection, Prepared], IngestResult | Callable | None] | None = None,
               **options) -> list[IngestResult]:
    """Validate and (if ``commit``) store every extract of one file (:func:`prepare_all`), each in its
    own transaction: one result per extract. Options as :func:`ingest_bytes`.

    ``guard(conn, prepared)``, asked before each extract that would be stored, returns None (go on), a
    refused :class:`IngestResult` (not stored) or one more ``on_commit`` hook to run in the extract's
    transaction — e.g. :func:`metrics.impact.restatement_guard` (``kpi ingest``, issue 15)."""
    prepared = prepare_all(conn, data, file_name, repeats=not commit, **options)
    if not commit:
        return [p.result for p in prepared]
    out = []
    for p in prepared:
        hook = on_commit
        verdict = guard(conn, p) if guard and p.ok and p.result.status != "unchanged" else None
        if isinstance(verdict, IngestResult):
            out.append(verdict)
            continue
        if verdict is not None:
            def hook(c: sqlite3.Connection, uid: int, extra=verdict) -> None:
                extra(c, uid)
                if on_commit:
                    on_commit(c, uid)
        out.append(_commit(conn, p, uploaded_by=uploaded_by, progress=progress, on_commit=hook, role=role))
    return out


def ingest_bytes(
    conn: sqlite3.Connection,
    data: bytes,
    file_name: str,
    *,
    kind: str | None = None,
    month: str | None = None,
    months: tuple[str, str] | None = None,
    uploaded_by: str | None = None,
    settings: Settings | None = None,
    commit: bool = True,
    progress: Callable[[float], None] | None = None,
    on_commit: Callable[[sqlite3.Connection, int], None] | None = None,
    role: str = "",
    allow_empty: bool = False,
    batch: Batch | None = None,
) -> IngestResult:
    """Validate and (if ``commit``) store one file: :func:`prepare`, then :func:`commit`. Never raises for
    bad input: see ``status``. Raises :class:`metrics.store.StoreProblem` when the store cannot take it.

    ``allow_empty``: a file with no rows may replace months that hold data (refused otherwise).
    ``batch``: the files uploaded with this one (a second file for the same snapshot month is refused);
    the caller adds each result to it. A workbook goes through :func:`ingest_all`: its one extract's result,
    or (several sheets) one result summing them up — use :func:`ingest_all` for each sheet's own.
    """
    if workbook.is_workbook(data, file_name):
        results = ingest_all(conn, data, file_name, kind=kind, month=month, months=months, uploaded_by=uploaded_by,
                             settings=settings, commit=commit, progress=progress, on_commit=on_commit, role=role,
                             allow_empty=allow_empty, batch=batch)
        return results[0] if len(results) == 1 else _summary(Path(file_name).name, results)
    prepared = prepare(conn, data, file_name, kind=kind, month=month, months=months, settings=settings,
                       allow_empty=allow_empty, batch=batch, repeats=not commit)
    if not commit:
        return prepared.result
    return _commit(conn, prepared, uploaded_by=uploaded_by, progress=progress, on_commit=on_commit, role=role)


def _summary(name: str, results: list[IngestResult]) -> IngestResult:
    """Several sheets' results as one (ok only if every sheet is): months, rows, warnings and errors summed,
    each error and warning prefixed by its sheet."""
    status = "refused" if any(not r.ok for r in results) else results[0].status
    return IngestResult(
        file=name, kind=None, status=status, months=sorted({m for r in results for m in r.months}),
        rows=sum(r.rows for r in results if r.ok),
        warnings=[f"{r.file}: {w}" for r in results for w in r.warnings],
        errors=[replace(e, message=f"{r.file}: {e.message}") for r in results for e in r.errors],
        sha256=results[0].sha256)


def _replaced(current: dict) -> list[dict]:
    """The uploads a new one supersedes (wholly or partly), from ``store.current_for``, oldest first."""
    return sorted({u["id"]: u for u in current.values()}.values(), key=lambda u: u["id"])


def _identical(current: dict, pairs: list, sha: str) -> dict | None:
    """The upload already current for every (scope, month) in ``pairs`` when it is this very file (same
    SHA-256), else None: loading the file again would change nothing."""
    ups = {u["id"]: u for u in current.values()}
    if not pairs or len(current) < len(pairs) or len(ups) != 1:
        return None
    (u,) = ups.values()
    return u if u["sha256"] == sha else None


def _unchanged_words(u: dict) -> str:
    return (f"Identical to upload {u['id']} ({u['file_name']}), which is already current for these months: "
            "nothing to load.")


def _warnings(v: Validated, replaces: list[dict], sha: str) -> list[str]:
    warnings = list(v.warnings)
    for u in replaces:
        if u["sha256"] == sha:
            warnings.append(f"This file is identical to upload {u['id']} ({u['file_name']}); it replaces it.")
    return warnings


def _read_path(p: Path, kind: str | None) -> bytes | IngestResult:
    try:
        return p.read_bytes()
    except OSError as e:
        return IngestResult(file=p.name, kind=kind, status="refused",
                            errors=[Issue.file("unreadable_file", f"The file could not be read ({e.strerror}).")])


def ingest_path(conn: sqlite3.Connection, path: str | Path, **kwargs) -> IngestResult:
    """:func:`ingest_bytes` of a file on disk (a refused result if it cannot be read)."""
    p = Path(path)
    data = _read_path(p, kwargs.get("kind"))
    return data if isinstance(data, IngestResult) else ingest_bytes(conn, data, p.name, **kwargs)


def ingest_path_all(conn: sqlite3.Connection, path: str | Path, **kwargs) -> list[IngestResult]:
    """:func:`ingest_all` of a file on disk: one result per extract (a workbook's sheets)."""
    p = Path(path)
    data = _read_path(p, kwargs.get("kind"))
    return [data] if isinstance(data, IngestResult) else ingest_all(conn, data, p.name, **kwargs)


def restore_upload(conn: sqlite3.Connection, upload_id: int, *, by: str, role: str = "",
                   settings: Settings | None = None,
                   on_commit: Callable[[sqlite3.Connection, int], None] | None = None) -> dict:
    """Make an earlier upload current again, recording who did it in the audit trail. Refused (KeyProblem)
    when the configured key is not the store's: the operator is pointed at the wrong key or store.
    ``on_commit(conn, upload_id)`` runs in the same transaction (e.g. the restatement's audit rows)."""
    key_for_store(conn, settings or get_settings())

    def audit_it(c: sqlite3.Connection, uid: int) -> None:
        audit.record(c, by, "restore", f"upload {uid}", {}, role=role)
        if on_commit:
            on_commit(c, uid)

    return store.restore(conn, upload_id, on_commit=audit_it)


def withdraw_upload(conn: sqlite3.Connection, upload_id: int, *, by: str, role: str = "",
                    settings: Settings | None = None) -> dict:
    """Withdraw an upload (see :func:`metrics.store.withdraw`), audited with what became current instead."""
    key_for_store(conn, settings or get_settings())

    def audit_it(c: sqlite3.Connection, uid: int, out: dict) -> None:
        audit.record(c, by, "withdraw", f"upload {uid}",
                     {"fallback": {str(k): v for k, v in out["fallback"].items()}, "empty": out["empty"]}, role=role)

    return store.withdraw(conn, upload_id, on_commit=audit_it)
