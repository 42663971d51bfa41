"""The audit trail: who did what, when (UTC). Append-only — SQLite triggers refuse UPDATE and DELETE.

Every upload, restore, settings change, checkpoint finalisation, evidence entry and export is
recorded, inside the same transaction as the change it records where there is one.
"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import sqlite_utils

ACTIONS = (
    "upload", "restore", "settings_change", "checkpoint_final", "evidence_add", "evidence_edit",
    "export", "boardpack", "sign_in_refused",
)


def migrate_audit_log(db: sqlite_utils.Database) -> None:
    db["audit_log"].create(
        {"id": int, "at": str, "actor": str, "role": str, "action": str, "target": str, "details": str},
        pk="id",
        not_null={"at", "actor", "action"},
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )


def record(conn: sqlite3.Connection, actor: str, action: str, target: str = "", details: dict | None = None,
           role: str = "") -> None:
    """Append one audit row. Call inside the caller's transaction where there is one."""
    from metrics.store import utc_now

    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'")
    conn.execute(
        "INSERT INTO audit_log (at, actor, role, action, target, details) VALUES (?, ?, ?, ?, ?, ?)",
        (utc_now(), actor, role, action, target, json.dumps(details or {}, sort_keys=True, default=str)),
    )


def transaction(conn: sqlite3.Connection):
    """See :func:`metrics.store.transaction` (re-exported: changes and their audit rows commit together)."""
    from metrics.store import transaction as _transaction

    return _transaction(conn)


def record_now(conn: sqlite3.Connection, actor: str, action: str, target: str = "", details: dict | None = None,
               role: str = "") -> None:
    """Append one audit row in its own transaction (for actions that change nothing else, e.g. export)."""
    with transaction(conn):
        record(conn, actor, action, target, details, role)


def audit_frame(conn: sqlite3.Connection, limit: int = 5000) -> pd.DataFrame:
    return pd.read_sql_query(
        "SELECT id, at, actor, role, action, target, details FROM audit_log ORDER BY id DESC LIMIT ?",
        conn, params=(limit,),
    )
