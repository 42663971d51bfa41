"""The audit trail: who did what, when (UTC). Append-only — SQLite triggers refuse UPDATE and DELETE.

Every upload, restore, withdrawal, settings change, checkpoint finalisation, evidence entry, action
(:mod:`metrics.actions`) and export is recorded, inside the same transaction as the change it records where
there is one.

Each row carries ``row_hash`` = SHA-256 over the previous row's hash and this row's canonical content
(:func:`canonical`), and ``store_meta.audit_head`` names the last row and its hash. Someone who drops the
triggers and edits or deletes a row breaks the chain, and ``kpi check`` (:func:`verify_chain`) says where.
"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd

from metrics.schema import AUDIT_COLUMNS as COLUMNS
from metrics.schema import canonical, chain_hash  # noqa: F401 (the row hash is part of the table's definition)
from metrics.store import get_meta, read_frame, set_meta, transaction, utc_now

ACTIONS = (
    "upload", "restore", "withdraw", "settings_change", "checkpoint_final", "evidence_add", "evidence_edit",
    "export", "boardpack", "sign_in_refused", "restatement", "report", "action_add", "action_update",
)


def record(conn: sqlite3.Connection, actor: str, action: str, target: str = "", details: dict | None = None,
           role: str = "") -> None:
    """Append one audit row, chained to the last. Call inside the caller's transaction where there is one
    (otherwise it takes its own: reading the last hash and appending must happen under one write lock)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'")
    with transaction(conn):
        last = conn.execute("SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        row = {"id": (last[0] + 1) if last else 1, "at": utc_now(), "actor": actor, "role": role or "",
               "action": action, "target": target or "",
               "details": json.dumps(details or {}, sort_keys=True, default=str)}
        row_hash = chain_hash((last[1] or "") if last else "", row)
        conn.execute(
            f"INSERT INTO audit_log ({', '.join(COLUMNS)}, row_hash) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})",
            (*(row[c] for c in COLUMNS), row_hash),
        )
        set_meta(conn, "audit_head", f"{row['id']}:{row_hash}")


def verify_chain(conn: sqlite3.Connection) -> tuple[bool, str]:
    """(ok, plain sentence): every row's hash matches its content and the row before it, and the last row
    is the one the store recorded as last."""
    prev, last, n = "", 0, 0
    for r in conn.execute(f"SELECT {', '.join(COLUMNS)}, row_hash FROM audit_log ORDER BY id"):
        row = dict(zip((*COLUMNS, "row_hash"), tuple(r)))
        if row["row_hash"] != chain_hash(prev, row):
            return False, (f"audit row {row['id']} does not match its hash: it, or the row before it, was "
                           "edited, inserted or deleted outside the product")
        prev, last, n = row["row_hash"], row["id"], n + 1
    head = get_meta(conn, "audit_head") or "0:"
    if head != f"{last}:{prev}":
        return False, (f"the audit trail ends at row {last} but the store recorded row {head.split(':')[0]} as "
                       "the last: rows were deleted (or added) outside the product")
    return True, f"{n} audit rows, hash chain intact"


def record_now(conn: sqlite3.Connection, actor: str, action: str, target: str = "", details: dict | None = None,
               role: str = "") -> None:
    """Append one audit row in its own transaction (for actions that change nothing else, e.g. export)."""
    with transaction(conn):
        record(conn, actor, action, target, details, role)


def audit_frame(conn: sqlite3.Connection, limit: int = 5000) -> pd.DataFrame:
    return read_frame(conn, "SELECT id, at, actor, role, action, target, details FROM audit_log ORDER BY id DESC"
                            " LIMIT ?", (limit,))
