"""Ingest: bytes in → validated → pseudonymised → stored in one transaction (or refused whole).

The CLI, the upload page, the demo builder and the benchmarks all come through :func:`ingest_bytes`.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from metrics import audit, store
from metrics.contract import KINDS
from metrics.issues import Issue, Refused, mask
from metrics.pseudonym import load_key, pseudonymise
from metrics.settings import Settings, get_settings
from metrics.validate import Validated, validate


@dataclass
class IngestResult:
    file: str
    kind: str | None
    status: str  # accepted | refused | preview
    upload_id: int | None = None
    months: list[str] = field(default_factory=list)
    rows: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    replaces: list[dict] = field(default_factory=list)  # uploads this one supersedes (wholly or partly)
    sha256: str = ""

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


def pseudonymise_frame(v: Validated, key: bytes) -> None:
    for col in KINDS[v.kind].columns:
        if col.pseudonymise:
            v.frame[col.name] = pseudonymise(v.frame[col.name].to_numpy(dtype=object), key, col.name)


def repeated_events(conn: sqlite3.Connection, v: Validated, raw_keys: pd.DataFrame,
                    stored_keys: Callable[[], pd.DataFrame]) -> list[Issue]:
    """Events of an upload already counted in another month's *current* upload of the same kind.

    ``raw_keys``: the upload's key columns as given (masked in messages); ``stored_keys()``: the same,
    pseudonymised as stored (called only when the store holds other months). Months this upload covers
    are left out: their current rows are being replaced. An event id is unique, so the same event in
    two months' uploads would be counted twice.
    """
    spec = KINDS[v.kind]
    if spec.period != "event" or not len(v.frame):
        return []
    if not any(m not in v.months for m in store.current_months(conn, v.kind)):
        return []
    key = list(spec.key)
    prev = store.read_current(conn, v.kind, columns=key)
    prev = prev[~prev["month"].isin(v.months)].drop_duplicates(key)
    if prev.empty:
        return []
    mine = stored_keys().reset_index(drop=True).assign(_pos=range(len(raw_keys)))
    hits = mine.merge(prev, on=key).sort_values("_pos")
    uploads = store.current_for(conn, v.kind, [("", m) for m in hits["month"].unique()])
    out = []
    for pos, month in zip(hits["_pos"], hits["month"]):
        shown = " / ".join(mask(str(raw_keys[c].iat[pos])) for c in key)
        out.append(Issue(int(v.rows[pos]), "+".join(key), shown, "duplicate_event",
                         f"This {v.kind[:-1]} ({', '.join(key)}) is already counted in {month}, in upload "
                         f"{uploads[('', month)]['id']}, which is still current."))
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
) -> IngestResult:
    """Validate and (if ``commit``) store one file. Never raises for bad input: see ``status``."""
    settings = settings or get_settings()
    name = Path(file_name).name  # never keep a client's directory path
    sha = hashlib.sha256(data).hexdigest()
    try:
        v = validate(data, kind=kind, month=month, months=months)
    except Refused as r:
        return IngestResult(file=name, kind=r.kind or kind, status="refused", errors=r.errors, sha256=sha)
    pairs = store.scopes_and_months(v.kind, v.frame, v.months)
    current = store.current_for(conn, v.kind, pairs)
    replaces = list({u["id"]: u for u in current.values()}.values())
    warnings = list(v.warnings)
    for u in replaces:
        if u["sha256"] == sha:
            warnings.append(f"This file is identical to upload {u['id']} ({u['file_name']}); it replaces it.")
    result = IngestResult(file=name, kind=v.kind, status="preview", months=v.months, rows=len(v.frame),
                          warnings=warnings, replaces=replaces, sha256=sha)
    key_cols = list(KINDS[v.kind].key)
    raw_keys = v.frame[key_cols].copy()
    if not commit:
        def stored_keys() -> pd.DataFrame:
            k, spec = load_key(settings), KINDS[v.kind]
            return pd.DataFrame({c: pseudonymise(raw_keys[c].to_numpy(dtype=object), k, c)
                                 if spec.column(c).pseudonymise else raw_keys[c] for c in key_cols})

        dup = repeated_events(conn, v, raw_keys, stored_keys)
        if dup:
            return IngestResult(file=name, kind=v.kind, status="refused", errors=dup, sha256=sha)
        return result
    pseudonymise_frame(v, load_key(settings))
    actor = uploaded_by or settings.user

    def audit_and_commit(c: sqlite3.Connection, upload_id: int) -> None:
        # checked inside the write transaction, so a concurrent upload cannot slip the same event in
        dup = repeated_events(c, v, raw_keys, lambda: v.frame[key_cols])
        if dup:
            raise Refused(dup, v.kind)
        audit.record(c, actor, "upload", f"upload {upload_id}",
                     {"kind": v.kind, "months": v.months, "rows": len(v.frame), "file": name, "sha256": sha,
                      "replaces": [u["id"] for u in replaces]}, role=role)
        if on_commit:
            on_commit(c, upload_id)

    try:
        result.upload_id = store.write_upload(
            conn, kind=v.kind, months=v.months, frame=v.frame, sha256=sha, file_name=name,
            uploaded_by=actor, warnings=warnings, as_of=v.as_of, progress=progress, on_commit=audit_and_commit,
        )
    except Refused as r:  # rolled back: nothing was stored
        return IngestResult(file=name, kind=v.kind, status="refused", errors=r.errors, sha256=sha)
    result.status = "accepted"
    return result


def ingest_path(conn: sqlite3.Connection, path: str | Path, **kwargs) -> IngestResult:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        return IngestResult(file=p.name, kind=kwargs.get("kind"), status="refused",
                            errors=[Issue.file("unreadable_file", f"The file could not be read ({e.strerror}).")])
    return ingest_bytes(conn, data, p.name, **kwargs)


def restore_upload(conn: sqlite3.Connection, upload_id: int, *, by: str, role: str = "") -> dict:
    """Make an earlier upload current again, recording who did it in the audit trail."""
    return store.restore(conn, upload_id, on_commit=lambda c, uid: audit.record(
        c, by, "restore", f"upload {uid}", {}, role=role))
