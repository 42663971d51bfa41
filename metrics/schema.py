"""The store's schema: every table, index and trigger, as named migrations in the order they were made.

Schema version N (``PRAGMA user_version``) means the first N steps of :data:`MIGRATIONS` have been applied;
:func:`metrics.store.migrate` applies the rest in one transaction. A step, once released, never changes:
a change to the schema is a new step at the end. Each step is a plain function of a
``sqlite_utils.Database``; this module imports nothing from ``metrics`` but the upload contract (one
record table per extract kind), so the store owns its schema and no table's owner is loaded by name.

The tables and the modules that read and write them:

- ``uploads``, ``upload_months``, ``current_months``, ``store_meta``, ``rec_<kind>`` — :mod:`metrics.store`
- ``audit_log`` (append-only, each row chained by hash) — :mod:`metrics.audit`
- ``review_settings_versions`` (append-only), ``checkpoint_finals`` (frozen) — :mod:`metrics.reviews.store`
- ``evidence`` (read-only once its checkpoint is final) — :mod:`metrics.evidence`
- ``actions`` (the actions log: read-only once its checkpoint is final, history never rewritten) —
  :mod:`metrics.actions`

``upload_months`` and ``current_months`` are scoped: ``''`` for most kinds, the KPI for figures and (from the
step ``conference_scopes``) the conference type for conferences.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import sqlite_utils

from metrics.contract import KINDS, Column


def record_table(kind: str) -> str:
    return f"rec_{kind}"


def _sql_type(col: Column) -> type:
    return {"bool": int, "number": float}.get(col.type, str)


# --- the audit row's hash (the audit_log table's integrity column, used by step 6 and metrics.audit) ------

AUDIT_COLUMNS = ("id", "at", "actor", "role", "action", "target", "details")


def canonical(row) -> str:
    """The content an audit row's hash covers: every column but the hash, as compact JSON."""
    return json.dumps([row[c] if row[c] is not None else "" for c in AUDIT_COLUMNS], ensure_ascii=False,
                      separators=(",", ":"))


def chain_hash(prev_hash: str, row) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(row)).encode()).hexdigest()


_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)


# --- the steps ---------------------------------------------------------------------------------------------


def uploads_and_records(db: sqlite_utils.Database) -> None:
    db["uploads"].create(
        {
            "id": int, "kind": str, "months": str, "rows": int, "sha256": str, "file_name": str,
            "uploaded_by": str, "uploaded_at": str, "status": str, "warnings": str, "as_of": str,
        },
        pk="id",
        not_null={"kind", "months", "rows", "sha256", "file_name", "uploaded_by", "uploaded_at", "status"},
        defaults={"warnings": "[]"},
    )
    db["upload_months"].create(
        {"upload_id": int, "kind": str, "scope": str, "month": str},
        pk=("upload_id", "scope", "month"),
        foreign_keys=[("upload_id", "uploads", "id")],
    )
    db["current_months"].create(
        {"kind": str, "scope": str, "month": str, "upload_id": int},
        pk=("kind", "scope", "month"),
        foreign_keys=[("upload_id", "uploads", "id")],
    )
    db["store_meta"].create({"key": str, "value": str}, pk="key")
    for kind, spec in KINDS.items():
        cols: dict[str, type] = {"upload_id": int, "month": str}
        cols.update({c.name: _sql_type(c) for c in spec.columns})
        table = record_table(kind)
        db[table].create(cols, foreign_keys=[("upload_id", "uploads", "id")])
        db[table].create_index(["upload_id", "month"])


def audit_log(db: sqlite_utils.Database) -> None:
    db["audit_log"].create(
        {"id": int, "at": str, "actor": str, "role": str, "action": str, "target": str, "details": str},
        pk="id",
        not_null={"at", "actor", "action"},
    )
    for trigger in _AUDIT_TRIGGERS:
        db.execute(trigger)


def review_settings_versions(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE review_settings_versions ("
        " id INTEGER PRIMARY KEY,"
        " saved_at TEXT NOT NULL,"  # UTC, ISO 8601 with Z
        " saved_by TEXT NOT NULL,"
        " note TEXT NOT NULL DEFAULT '',"
        " settings_json TEXT NOT NULL)"
    )
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER review_settings_versions_no_{op.lower()} BEFORE {op} ON review_settings_versions"
            " BEGIN SELECT RAISE(ABORT, 'review settings versions are append-only: save a new version'); END"
        )


def checkpoint_finals(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE checkpoint_finals ("
        " checkpoint DATE PRIMARY KEY,"  # ISO YYYY-MM-DD
        " finalised_at TEXT NOT NULL,"
        " finalised_by TEXT NOT NULL,"
        " evaluation_json TEXT NOT NULL,"
        " settings_version_id INTEGER REFERENCES review_settings_versions(id),"
        " data_as_of TEXT)"
    )
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER checkpoint_finals_no_{op.lower()} BEFORE {op} ON checkpoint_finals"
            " BEGIN SELECT RAISE(ABORT, 'a final checkpoint cannot be changed or withdrawn'); END"
        )


_EVIDENCE_READ_ONLY = "evidence for a final checkpoint is read-only: add a correction (a new entry) instead"


def evidence(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE evidence ("
        " id INTEGER PRIMARY KEY,"
        " checkpoint DATE NOT NULL,"  # ISO YYYY-MM-DD, as checkpoint_finals.checkpoint
        " kpi TEXT,"
        " tor_item TEXT,"
        " body TEXT NOT NULL CHECK (length(trim(body)) > 0),"
        " author TEXT NOT NULL CHECK (length(trim(author)) > 0),"
        " created_at TEXT NOT NULL,"
        " corrects INTEGER REFERENCES evidence(id),"
        " edited_at TEXT,"
        " edited_by TEXT,"
        " CHECK (kpi IS NULL OR tor_item IS NULL))"
    )
    db.execute("CREATE INDEX evidence_checkpoint ON evidence (checkpoint, kpi, tor_item)")
    final = "EXISTS (SELECT 1 FROM checkpoint_finals f WHERE f.checkpoint = {}.checkpoint)"
    db.execute(
        f"CREATE TRIGGER evidence_final_no_update BEFORE UPDATE ON evidence WHEN {final.format('OLD')}"
        f" BEGIN SELECT RAISE(ABORT, '{_EVIDENCE_READ_ONLY}'); END"
    )
    db.execute(
        f"CREATE TRIGGER evidence_final_no_delete BEFORE DELETE ON evidence WHEN {final.format('OLD')}"
        f" BEGIN SELECT RAISE(ABORT, '{_EVIDENCE_READ_ONLY}'); END"
    )
    db.execute(
        "CREATE TRIGGER evidence_fixed_fields BEFORE UPDATE OF id, checkpoint, kpi, tor_item, author, created_at,"
        " corrects ON evidence"
        " BEGIN SELECT RAISE(ABORT, 'only the body of an evidence entry can be edited'); END"
    )
    db.execute(
        f"CREATE TRIGGER evidence_final_insert BEFORE INSERT ON evidence"
        f" WHEN NEW.corrects IS NULL AND {final.format('NEW')}"
        " BEGIN SELECT RAISE(ABORT, 'the checkpoint is final: new entries must be corrections of an entry'); END"
    )
    db.execute(
        "CREATE TRIGGER evidence_correction_same_checkpoint BEFORE INSERT ON evidence"
        " WHEN NEW.corrects IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM evidence e WHERE e.id = NEW.corrects AND e.checkpoint = NEW.checkpoint)"
        " BEGIN SELECT RAISE(ABORT, 'a correction must correct an entry of the same checkpoint'); END"
    )


def audit_chain(db: sqlite_utils.Database) -> None:
    """Add ``row_hash`` and chain the rows already there (the only time audit rows are ever updated)."""
    conn = db.conn
    conn.execute("ALTER TABLE audit_log ADD COLUMN row_hash TEXT")
    conn.execute("DROP TRIGGER audit_log_no_update")
    prev, last = "", 0
    for row in conn.execute(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log ORDER BY id").fetchall():
        row = dict(zip(AUDIT_COLUMNS, row))
        prev, last = chain_hash(prev, row), row["id"]
        conn.execute("UPDATE audit_log SET row_hash = ? WHERE id = ?", (prev, last))
    conn.execute(_AUDIT_TRIGGERS[0])
    conn.execute("INSERT INTO store_meta (key, value) VALUES ('audit_head', ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (f"{last}:{prev}",))


def upload_source(db: sqlite_utils.Database) -> None:
    """Each upload records where its rows came from (``metrics.sources``): Annex A, the workforce census, SSD,
    SSDA903 or the product's own format. Every upload before this step was a product-format CSV."""
    db.conn.execute("ALTER TABLE uploads ADD COLUMN source TEXT NOT NULL DEFAULT ''")
    db.conn.execute("UPDATE uploads SET source = 'product format (CSV)'")


_SSD_CONFERENCE_TABLES = {"SSD ssd_initial_cp_conference": "initial", "SSD ssd_cp_reviews": "review"}


def conference_scopes(db: sqlite_utils.Database) -> None:
    """Conferences uploads are scoped by conference type, as figures are by KPI: a pointer (``upload_months``,
    ``current_months``) of scope ``initial`` or ``review`` counts only that type's rows. Before this step a
    conferences upload covered its months whole (scope ``''``), so the second SSD conference table loaded for a
    month superseded the first. Each old pointer becomes the types its upload covers: both for a product-format
    file, its own for an SSD table (by the source recorded with the upload). What counts is unchanged: a month
    whose one SSD table superseded the other keeps only that one current (``kpi restore`` brings the other back
    beside it). An upload with SSD conference headers whose rows hold the other type too (the file gave its own
    conference_type) covers both."""
    conn = db.conn
    covers: dict[int, tuple[str, ...]] = {}
    for uid, source in conn.execute("SELECT id, source FROM uploads WHERE kind = 'conferences'").fetchall():
        one = _SSD_CONFERENCE_TABLES.get((source or "").rsplit(" (", 1)[0])
        if one is not None and conn.execute("SELECT 1 FROM rec_conferences WHERE upload_id = ? AND conference_type"
                                            " != ? LIMIT 1", (uid, one)).fetchone() is None:
            covers[uid] = (one,)
        else:
            covers[uid] = ("initial", "review")
    for table, cols in (("upload_months", "upload_id, kind, scope, month"),
                        ("current_months", "kind, scope, month, upload_id")):
        old = conn.execute(f"SELECT upload_id, month FROM {table} WHERE kind = 'conferences' AND scope = ''"
                           " ORDER BY upload_id, month").fetchall()
        conn.execute(f"DELETE FROM {table} WHERE kind = 'conferences' AND scope = ''")
        rows = [(uid, t, m) for uid, m in old for t in covers.get(uid, ("initial", "review"))]
        values = "?, 'conferences', ?, ?" if table == "upload_months" else "'conferences', ?, ?, ?"
        conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({values})",
                         rows if table == "upload_months" else [(t, m, uid) for uid, t, m in rows])


_ACTIONS_READ_ONLY = "actions agreed at a final review are read-only: add an update (a new entry) instead"
ACTION_STATUSES = ("open", "in_progress", "done", "dropped")  # metrics.actions.STATUSES reads this


def actions(db: sqlite_utils.Database) -> None:
    """The actions log (issue 13 item 4). A row is an action as agreed at a review (``updates`` NULL) or an
    update of one (status change or correction: ``updates`` = the action's first row, same checkpoint and
    KPI), carrying the action's whole state after the update. Nothing is overwritten once its review is
    final, and a row that a later update follows is history: never changed or deleted."""
    statuses = ", ".join(f"'{s}'" for s in ACTION_STATUSES)
    db.execute(
        "CREATE TABLE actions ("
        " id INTEGER PRIMARY KEY,"
        " checkpoint DATE NOT NULL,"  # ISO YYYY-MM-DD: the review where the action was agreed
        " kpi TEXT NOT NULL,"
        " title TEXT NOT NULL CHECK (length(trim(title)) > 0),"
        " owner TEXT NOT NULL CHECK (length(trim(owner)) > 0),"  # a role or team, never a person's name
        " due DATE NOT NULL,"  # ISO YYYY-MM-DD
        f" status TEXT NOT NULL CHECK (status IN ({statuses})),"
        " note TEXT NOT NULL DEFAULT '',"
        " author TEXT NOT NULL CHECK (length(trim(author)) > 0),"
        " created_at TEXT NOT NULL,"  # UTC, ISO 8601 with Z
        " updates INTEGER REFERENCES actions(id))"
    )
    db.execute("CREATE INDEX actions_checkpoint ON actions (checkpoint, kpi)")
    db.execute("CREATE INDEX actions_updates ON actions (updates)")
    final = "EXISTS (SELECT 1 FROM checkpoint_finals f WHERE f.checkpoint = {}.checkpoint)"
    history = "EXISTS (SELECT 1 FROM actions a WHERE a.updates = OLD.id OR (OLD.updates IS NOT NULL" \
              " AND a.updates = OLD.updates AND a.id > OLD.id))"
    for op in ("UPDATE", "DELETE"):  # (SQLite runs the newest trigger first: "final" is the message once final)
        db.execute(
            f"CREATE TRIGGER actions_history_no_{op.lower()} BEFORE {op} ON actions WHEN {history}"
            " BEGIN SELECT RAISE(ABORT, 'an action entry followed by an update is history: it cannot be changed"
            " or deleted'); END"
        )
        db.execute(
            f"CREATE TRIGGER actions_final_no_{op.lower()} BEFORE {op} ON actions WHEN {final.format('OLD')}"
            f" BEGIN SELECT RAISE(ABORT, '{_ACTIONS_READ_ONLY}'); END"
        )
    db.execute(
        "CREATE TRIGGER actions_fixed_fields BEFORE UPDATE OF id, checkpoint, kpi, author, created_at, updates"
        " ON actions BEGIN SELECT RAISE(ABORT, 'who wrote an action entry, when, and which review and KPI it"
        " belongs to cannot be changed'); END"
    )
    db.execute(
        f"CREATE TRIGGER actions_final_insert BEFORE INSERT ON actions"
        f" WHEN NEW.updates IS NULL AND {final.format('NEW')}"
        " BEGIN SELECT RAISE(ABORT, 'the review is final: new entries must be updates of an action agreed there');"
        " END"
    )
    db.execute(
        "CREATE TRIGGER actions_update_of_an_action BEFORE INSERT ON actions"
        " WHEN NEW.updates IS NOT NULL AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.id = NEW.updates"
        " AND a.updates IS NULL AND a.checkpoint = NEW.checkpoint AND a.kpi = NEW.kpi)"
        " BEGIN SELECT RAISE(ABORT, 'an update must follow an action of the same review and KPI'); END"
    )


#: The schema's history, in order: (what the step adds, the step). Version N = the first N applied.
MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("uploads, upload months, current pointers and one record table per extract kind", uploads_and_records),
    ("append-only audit trail", audit_log),
    ("review settings versions (append-only)", review_settings_versions),
    ("checkpoint finals: frozen review evaluations (append-only)", checkpoint_finals),
    ("evidence log, read-only once its checkpoint is final", evidence),
    ("audit rows chained by hash", audit_chain),
    ("uploads record their source (Annex A, CSWW census, SSD, SSDA903 or product format)", upload_source),
    ("conferences uploads scoped by conference type (the two SSD conference tables load side by side)",
     conference_scopes),
    ("actions log per KPI, read-only once its review is final, history never rewritten", actions),
]
