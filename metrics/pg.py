"""The PostgreSQL engine behind :mod:`metrics.store` (psycopg 3): a connection with the surface of
``sqlite3.Connection`` that the store's functions use, and the schema's PostgreSQL body per migration step.

A store is one PostgreSQL schema: ``postgresql://user@host/db#la_884`` names schema ``la_884`` (default
``public``); :func:`connect` creates it if missing, sets ``search_path`` to it and migrates it. Every store
function then runs unchanged on the connection it is given:

- SQL is written once, in SQLite's dialect, and translated here: ``?`` and ``:name`` placeholders, ``INSERT OR
  IGNORE``, ``group_concat``/``char``; ``TOTAL`` is an aggregate each schema defines. Where a translation would
  be fragile the call site is portable instead (``metrics.compute``: no ``rowid`` on PostgreSQL).
- ``BEGIN IMMEDIATE`` (:func:`metrics.store.transaction`) becomes ``BEGIN`` plus a transaction-scoped advisory
  lock on the schema: writers to one store are serialised, as SQLite's one write lock does.
- ``cursor.lastrowid`` is the ``id`` an ``INSERT`` into a table with an identity column returned.
- Errors come out as ``sqlite3``'s DB-API classes (a trigger's ``RAISE EXCEPTION`` → ``IntegrityError`` with the
  same message as SQLite's ``RAISE(ABORT, …)``), so every caller's ``except`` keeps working.
- Bulk record rows go in with ``COPY`` (:meth:`PgConnection.copy_records`).

Dates stay ``TEXT`` ``YYYY-MM-DD`` as SQLite stores them, and every text column is ``COLLATE "C"``: months and
dates compare and sort byte by byte, as in SQLite, whatever the database's locale.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from itertools import repeat

SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
VERSION_TABLE = "schema_migrations"  # PostgreSQL only: SQLite keeps the version in PRAGMA user_version
ID_TABLES = frozenset({"uploads", "audit_log", "review_settings_versions", "evidence", "actions"})
COPY_BATCH = 50_000


def is_url(target) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def split_url(url: str) -> tuple[str, str]:
    """(what psycopg connects to, the schema) from ``postgresql://…#schema``."""
    conninfo, _, schema = url.partition("#")
    schema = schema or "public"
    if not SCHEMA_RE.match(schema):
        raise ValueError(f"'{schema}' is not a usable store schema name: lower-case letters, digits and _, "
                         "starting with a letter or _ (e.g. la_884)")
    return conninfo, schema


# --- SQL: SQLite's dialect → PostgreSQL ------------------------------------------------------------------------

_REWRITES = (
    (re.compile(r"\bgroup_concat\(", re.I), "string_agg("),
    (re.compile(r"\bchar\(31\)", re.I), "chr(31)"),
)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.I)


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite SQL as the store writes it → PostgreSQL, with psycopg's ``%s``/``%(name)s`` placeholders."""
    for pattern, repl in _REWRITES:
        sql = pattern.sub(repl, sql)
    if _OR_IGNORE.match(sql):
        sql = _OR_IGNORE.sub("INSERT INTO", sql) + " ON CONFLICT DO NOTHING"
    out, i, n = [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":  # a literal or quoted identifier: copied as is ('' and "" escape themselves)
            j = sql.index(ch, i + 1)
            while j + 1 < n and sql[j + 1] == ch:
                j = sql.index(ch, j + 2)
            chunk = sql[i:j + 1]
            out.append(chunk.replace("%", "%%"))
            i = j + 1
            continue
        if ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_") and (i == 0 or sql[i - 1] != ":"):
            m = re.match(r"\w+", sql[i + 1:])
            out.append(f"%({m.group(0)})s")
            i += 1 + len(m.group(0))
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# --- rows, errors, cursors --------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type:
    index = {n: i for i, n in enumerate(names)}

    class Row(tuple):
        """A result row that indexes by position and by column name, like ``sqlite3.Row``."""

        __slots__ = ()

        def __getitem__(self, key):
            if isinstance(key, str):
                return tuple.__getitem__(self, index[key])
            return tuple.__getitem__(self, key)

        def keys(self) -> list[str]:
            return list(names)

    return Row


def _row_factory(cursor):
    if cursor.description is None:
        return tuple
    cls = _row_class(tuple(c.name for c in cursor.description))
    return cls


def _as_sqlite_error(e: Exception) -> sqlite3.Error:
    """A psycopg error as the sqlite3 class the callers catch, with the server's own message."""
    import psycopg

    diag = getattr(e, "diag", None)
    msg = (diag.message_primary if diag is not None and diag.message_primary else str(e)).strip()
    if isinstance(e, psycopg.errors.CheckViolation):  # SQLite's words first, so callers match either engine
        return sqlite3.IntegrityError(f"CHECK constraint failed: {diag.constraint_name or ''} ({msg})")
    if isinstance(e, psycopg.errors.NotNullViolation):
        return sqlite3.IntegrityError(f"NOT NULL constraint failed: {diag.table_name}.{diag.column_name} ({msg})")
    if isinstance(e, psycopg.errors.UniqueViolation):
        return sqlite3.IntegrityError(f"UNIQUE constraint failed: {diag.constraint_name or ''} ({msg})")
    if isinstance(e, psycopg.errors.ForeignKeyViolation):
        return sqlite3.IntegrityError(f"FOREIGN KEY constraint failed ({msg})")
    if isinstance(e, (psycopg.errors.RaiseException, psycopg.IntegrityError)):
        return sqlite3.IntegrityError(msg)
    if isinstance(e, psycopg.errors.DiskFull):
        return sqlite3.OperationalError(f"database or disk is full ({msg})")
    if isinstance(e, (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege)):
        return sqlite3.OperationalError(msg)
    return sqlite3.DatabaseError(msg)


class PgCursor:
    """The part of ``sqlite3.Cursor`` the store uses (and pandas' DB-API reader)."""

    def __init__(self, conn: PgConnection):
        self._conn = conn
        self._cur = conn.raw.cursor()
        self.lastrowid: int | None = None

    def execute(self, sql: str, params: Sequence | dict | None = None) -> PgCursor:
        import psycopg

        q = translate(sql)
        m = _INSERT_INTO.match(sql)
        returning = bool(m and m.group(1) in ID_TABLES and " RETURNING " not in q.upper())
        if returning:
            q += " RETURNING id"
        if params is not None and not isinstance(params, dict):
            params = tuple(params)
        try:
            self._cur.execute(q, params if params is not None else ())
        except psycopg.Error as e:
            raise _as_sqlite_error(e) from e
        if returning:
            self.lastrowid = self._cur.fetchone()[0]
        return self

    def executemany(self, sql: str, seq: Iterable) -> PgCursor:
        import psycopg

        rows = [r if isinstance(r, dict) else tuple(r) for r in seq]
        if not rows:
            return self
        try:
            self._cur.executemany(translate(sql), rows)
        except psycopg.Error as e:
            raise _as_sqlite_error(e) from e
        return self

    @property
    def description(self):
        d = self._cur.description
        return None if d is None else [(c.name, None, None, None, None, None, None) for c in d]

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def fetchone(self):
        return self._cur.fetchone() if self._cur.description is not None else None

    def fetchall(self) -> list:
        return self._cur.fetchall() if self._cur.description is not None else []

    def fetchmany(self, size: int = 1) -> list:
        return self._cur.fetchmany(size) if self._cur.description is not None else []

    def __iter__(self):
        return iter(self.fetchall())

    def close(self) -> None:
        self._cur.close()


class PgConnection:
    """A store connection to one PostgreSQL schema, shaped like the ``sqlite3.Connection`` the store uses."""

    engine = "postgresql"
    quick_checked = True  # PostgreSQL checks its own pages; there is no quick_check to run

    def __init__(self, raw, schema: str):
        self.raw = raw
        self.schema = schema

    def cursor(self) -> PgCursor:
        return PgCursor(self)

    def execute(self, sql: str, params: Sequence | dict | None = None) -> PgCursor:
        head = sql.strip().upper()
        if head == "BEGIN IMMEDIATE":  # store.transaction: one writer per store at a time
            cur = PgCursor(self).execute(head.split()[0])
            self.raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
            return cur
        return PgCursor(self).execute(sql, params)

    def executemany(self, sql: str, seq: Iterable) -> PgCursor:
        return PgCursor(self).executemany(sql, seq)

    def copy_records(self, table: str, columns: Sequence[str], upload_id: int, data: Sequence[list], n: int,
                     progress: Callable[[float], None] | None = None) -> None:
        """COPY ``n`` rows into ``table``: ``upload_id`` then one list per remaining column of ``columns``."""
        import psycopg

        cols = ", ".join(columns)
        try:
            with self.raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for start in range(0, max(n, 1), COPY_BATCH):
                    stop = min(start + COPY_BATCH, n)
                    for row in zip(repeat(upload_id, stop - start), *(c[start:stop] for c in data)):
                        copy.write_row(row)
                    if progress:
                        progress(stop / n if n else 1.0)
        except psycopg.Error as e:
            raise _as_sqlite_error(e) from e

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def commit(self) -> None:  # (DB-API, for pandas; the store's own transactions are metrics.store.transaction)
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def close(self) -> None:
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def connect(url: str) -> PgConnection:
    """Open the store in schema ``#name`` of the database at ``url`` (:func:`metrics.store.connect` then
    migrates it, creating the schema if missing)."""
    import psycopg

    conninfo, schema = split_url(url)
    try:
        raw = psycopg.connect(conninfo, autocommit=True, row_factory=_row_factory)
    except psycopg.Error as e:
        raise _as_sqlite_error(e) from e
    conn = PgConnection(raw, schema)
    try:
        raw.execute(f'SET search_path TO "{schema}"')
    except BaseException:
        raw.close()
        raise
    return conn


def schema_exists(conn: PgConnection) -> bool:
    return conn.raw.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (conn.schema,)).fetchone() is not None


def schema_version(conn: PgConnection) -> int:
    if conn.raw.execute("SELECT to_regclass(%s)", (f'"{conn.schema}".{VERSION_TABLE}',)).fetchone()[0] is None:
        return 0
    return conn.raw.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()[0]


def set_schema_version(conn: PgConnection, version: int) -> None:
    conn.raw.execute(f"UPDATE {VERSION_TABLE} SET version = %s", (version,))


def prepare_schema(conn: PgConnection) -> None:
    """Inside the migration's transaction: the schema and its version table, if missing."""
    if not schema_exists(conn):
        conn.raw.execute(f'CREATE SCHEMA "{conn.schema}"')
    conn.raw.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
    if conn.raw.execute(f"SELECT 1 FROM {VERSION_TABLE}").fetchone() is None:
        conn.raw.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (0)")


def has_table(conn: PgConnection, name: str) -> bool:
    return conn.raw.execute("SELECT to_regclass(%s)", (f'"{conn.schema}".{name}',)).fetchone()[0] is not None


# --- access: the application's role -----------------------------------------------------------------------------

#: Tables the application may read and append to but never change: their rows are history.
APPEND_ONLY = ("audit_log", "review_settings_versions", "checkpoint_finals")


def grant_app_role(conn: PgConnection, role: str) -> list[str]:
    """Let ``role`` (an existing PostgreSQL role the app processes sign in as) use this store: read and write
    every table, but only SELECT and INSERT on the append-only ones (the audit trail above all), so even a
    bug or an attacker holding the app's credentials cannot rewrite history. Run as the schema's owner
    (migrations too: the app role cannot create tables). Returns the statements run."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", role):
        raise ValueError(f"'{role}' is not a plain PostgreSQL role name")
    if conn.raw.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
        raise ValueError(f"there is no PostgreSQL role '{role}': create it first (CREATE ROLE {role} LOGIN …)")
    s, r = f'"{conn.schema}"', f'"{role}"'
    tables = [t for (t,) in conn.raw.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (conn.schema,))]
    done = [f"GRANT USAGE ON SCHEMA {s} TO {r}"]
    for t in tables:
        if t in APPEND_ONLY or t == VERSION_TABLE:
            privileges = "SELECT" if t == VERSION_TABLE else "SELECT, INSERT"
            done.append(f"REVOKE ALL ON {s}.{t} FROM {r}")
            done.append(f"GRANT {privileges} ON {s}.{t} TO {r}")
        else:
            done.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.{t} TO {r}")
    done.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
    with conn.raw.transaction():
        for stmt in done:
            conn.raw.execute(stmt)
    return done


# --- the schema: a PostgreSQL body for each step of metrics.schema.MIGRATIONS ----------------------------------

TEXT = 'TEXT COLLATE "C"'
ID = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"


def _pg_type(col) -> str:
    return {"bool": "INTEGER", "number": "DOUBLE PRECISION"}.get(col.type, TEXT)


def _guard(conn: PgConnection, table: str, name: str, event: str, message: str, when: str | None = None,
           order: str = "m") -> None:
    """A trigger that raises ``message`` (as SQLite's ``RAISE(ABORT, …)``) on ``event`` when ``when`` holds.
    PostgreSQL fires a table's triggers in name order, SQLite newest first: ``order`` (a letter that
    prefixes the trigger's name) keeps the message the same where two would fire."""
    fn = f"{name}_guard"
    test = f"IF {when} THEN" if when else "IF TRUE THEN"
    conn.raw.execute(
        f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$"
        f" BEGIN {test} RAISE EXCEPTION USING MESSAGE = $m${message}$m$; END IF;"
        " IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $f$")
    conn.raw.execute(f"CREATE TRIGGER {order}_{name} BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {fn}()")


def _uploads_and_records(conn: PgConnection) -> None:
    from metrics.contract import KINDS
    from metrics.schema import record_table

    # TOTAL as SQLite's: the float sum of the non-NULL values, 0.0 over none (metrics.compute counts with it)
    conn.raw.execute("CREATE AGGREGATE total(double precision) (SFUNC = float8pl, STYPE = double precision,"
                     " INITCOND = '0', COMBINEFUNC = float8pl, PARALLEL = SAFE)")
    conn.raw.execute(
        f"CREATE TABLE uploads (id {ID}, kind {TEXT} NOT NULL, months {TEXT} NOT NULL, rows INTEGER NOT NULL,"
        f" sha256 {TEXT} NOT NULL, file_name {TEXT} NOT NULL, uploaded_by {TEXT} NOT NULL,"
        f" uploaded_at {TEXT} NOT NULL, status {TEXT} NOT NULL, warnings {TEXT} DEFAULT '[]', as_of {TEXT})")
    conn.raw.execute(
        f"CREATE TABLE upload_months (upload_id BIGINT REFERENCES uploads(id), kind {TEXT}, scope {TEXT},"
        f" month {TEXT}, PRIMARY KEY (upload_id, scope, month))")
    conn.raw.execute(
        f"CREATE TABLE current_months (kind {TEXT}, scope {TEXT}, month {TEXT},"
        " upload_id BIGINT REFERENCES uploads(id), PRIMARY KEY (kind, scope, month))")
    conn.raw.execute(f"CREATE TABLE store_meta (key {TEXT} PRIMARY KEY, value {TEXT})")
    tables = [record_table(kind) for kind in KINDS]
    for kind, spec in KINDS.items():
        cols = {"upload_id": "BIGINT", "month": TEXT}
        cols.update({c.name: _pg_type(c) for c in spec.columns if c.name not in cols})
        table = record_table(kind)
        conn.raw.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in cols.items())})")
        conn.raw.execute(f"CREATE INDEX idx_{table}_upload_id_month ON {table} (upload_id, month)")
        _records_reference_uploads(conn, table)
    # ... and the other side of that key: an upload that has records cannot be deleted (none ever is)
    held = " OR ".join(f"EXISTS (SELECT 1 FROM {t} r WHERE r.upload_id = OLD.id)" for t in tables)
    _guard(conn, "uploads", "uploads_records_reference", "DELETE", _FK_FAILED, held)


_FK_FAILED = "FOREIGN KEY constraint failed"


def _records_reference_uploads(conn: PgConnection, table: str) -> None:
    """``upload_id REFERENCES uploads(id)``, checked once per statement over the rows it inserted or changed
    (a transition table) rather than by a foreign key's check per row: a COPY of a million rows is then
    about twice as fast, with the same guarantee (SQLite's message)."""
    for op in ("INSERT", "UPDATE"):
        fn = f"{table}_upload_exists_{op.lower()}"
        conn.raw.execute(
            f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$"
            " BEGIN IF EXISTS (SELECT 1 FROM (SELECT DISTINCT upload_id FROM new_rows) n WHERE n.upload_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.id = n.upload_id))"
            f" THEN RAISE EXCEPTION USING MESSAGE = '{_FK_FAILED}'; END IF; RETURN NULL; END $f$")
        conn.raw.execute(f"CREATE TRIGGER m_{fn} AFTER {op} ON {table} REFERENCING NEW TABLE AS new_rows"
                         f" FOR EACH STATEMENT EXECUTE FUNCTION {fn}()")


def _audit_log(conn: PgConnection) -> None:
    conn.raw.execute(
        f"CREATE TABLE audit_log (id {ID}, at {TEXT} NOT NULL, actor {TEXT} NOT NULL, role {TEXT},"
        f" action {TEXT} NOT NULL, target {TEXT}, details {TEXT})")
    for op in ("UPDATE", "DELETE"):
        _guard(conn, "audit_log", f"audit_log_no_{op.lower()}", op, "audit_log is append-only")


def _review_settings_versions(conn: PgConnection) -> None:
    conn.raw.execute(
        f"CREATE TABLE review_settings_versions (id {ID}, saved_at {TEXT} NOT NULL, saved_by {TEXT} NOT NULL,"
        f" note {TEXT} NOT NULL DEFAULT '', settings_json {TEXT} NOT NULL)")
    for op in ("UPDATE", "DELETE"):
        _guard(conn, "review_settings_versions", f"review_settings_versions_no_{op.lower()}", op,
               "review settings versions are append-only: save a new version")


def _checkpoint_finals(conn: PgConnection) -> None:
    conn.raw.execute(
        f"CREATE TABLE checkpoint_finals (checkpoint {TEXT} PRIMARY KEY, finalised_at {TEXT} NOT NULL,"
        f" finalised_by {TEXT} NOT NULL, evaluation_json {TEXT} NOT NULL,"
        " settings_version_id BIGINT REFERENCES review_settings_versions(id),"
        f" data_as_of {TEXT})")
    for op in ("UPDATE", "DELETE"):
        _guard(conn, "checkpoint_finals", f"checkpoint_finals_no_{op.lower()}", op,
               "a final checkpoint cannot be changed or withdrawn")


_FINAL = "EXISTS (SELECT 1 FROM checkpoint_finals f WHERE f.checkpoint = {}.checkpoint)"


def _evidence(conn: PgConnection) -> None:
    from metrics.schema import _EVIDENCE_READ_ONLY

    conn.raw.execute(
        f"CREATE TABLE evidence (id {ID}, checkpoint {TEXT} NOT NULL, kpi {TEXT}, tor_item {TEXT},"
        f" body {TEXT} NOT NULL CHECK (length(trim(body)) > 0),"
        f" author {TEXT} NOT NULL CHECK (length(trim(author)) > 0), created_at {TEXT} NOT NULL,"
        f" corrects BIGINT REFERENCES evidence(id), edited_at {TEXT}, edited_by {TEXT},"
        " CHECK (kpi IS NULL OR tor_item IS NULL))")
    conn.raw.execute("CREATE INDEX evidence_checkpoint ON evidence (checkpoint, kpi, tor_item)")
    # (order: SQLite fires the newest trigger first; here the letter prefix sets the order)
    _guard(conn, "evidence", "evidence_final_no_update", "UPDATE", _EVIDENCE_READ_ONLY, _FINAL.format("OLD"), "b")
    _guard(conn, "evidence", "evidence_final_no_delete", "DELETE", _EVIDENCE_READ_ONLY, _FINAL.format("OLD"), "b")
    _guard(conn, "evidence", "evidence_fixed_fields",
           "UPDATE OF id, checkpoint, kpi, tor_item, author, created_at, corrects",
           "only the body of an evidence entry can be edited", None, "a")
    _guard(conn, "evidence", "evidence_final_insert", "INSERT",
           "the checkpoint is final: new entries must be corrections of an entry",
           f"NEW.corrects IS NULL AND {_FINAL.format('NEW')}", "b")
    _guard(conn, "evidence", "evidence_correction_same_checkpoint", "INSERT",
           "a correction must correct an entry of the same checkpoint",
           "NEW.corrects IS NOT NULL AND NOT EXISTS"
           " (SELECT 1 FROM evidence e WHERE e.id = NEW.corrects AND e.checkpoint = NEW.checkpoint)", "a")


def _audit_chain(conn: PgConnection) -> None:
    from metrics.schema import AUDIT_COLUMNS, chain_hash

    conn.raw.execute(f"ALTER TABLE audit_log ADD COLUMN row_hash {TEXT}")
    conn.raw.execute("ALTER TABLE audit_log DISABLE TRIGGER m_audit_log_no_update")
    prev, last = "", 0
    for row in conn.raw.execute(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log ORDER BY id").fetchall():
        row = dict(zip(AUDIT_COLUMNS, row))
        prev, last = chain_hash(prev, row), row["id"]
        conn.raw.execute("UPDATE audit_log SET row_hash = %s WHERE id = %s", (prev, last))
    conn.raw.execute("ALTER TABLE audit_log ENABLE TRIGGER m_audit_log_no_update")
    conn.raw.execute("INSERT INTO store_meta (key, value) VALUES ('audit_head', %s)"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (f"{last}:{prev}",))


def _upload_source(conn: PgConnection) -> None:
    conn.raw.execute(f"ALTER TABLE uploads ADD COLUMN source {TEXT} NOT NULL DEFAULT ''")
    conn.raw.execute("UPDATE uploads SET source = 'product format (CSV)'")


class _Db:
    """What a SQLite step uses of ``sqlite_utils.Database`` (``.conn``, ``.execute``), for steps whose SQL is
    portable through :func:`translate`."""

    def __init__(self, conn: PgConnection):
        self.conn = conn

    def execute(self, sql: str, params=None):
        return self.conn.execute(sql, params)


def _conference_scopes(conn: PgConnection) -> None:
    from metrics.schema import conference_scopes

    conference_scopes(_Db(conn))  # data only, in portable SQL


def _actions(conn: PgConnection) -> None:
    from metrics.schema import _ACTIONS_READ_ONLY, ACTION_STATUSES

    statuses = ", ".join(f"'{s}'" for s in ACTION_STATUSES)
    conn.raw.execute(
        f"CREATE TABLE actions (id {ID}, checkpoint {TEXT} NOT NULL, kpi {TEXT} NOT NULL,"
        f" title {TEXT} NOT NULL CHECK (length(trim(title)) > 0),"
        f" owner {TEXT} NOT NULL CHECK (length(trim(owner)) > 0), due {TEXT} NOT NULL,"
        f" status {TEXT} NOT NULL CHECK (status IN ({statuses})), note {TEXT} NOT NULL DEFAULT '',"
        f" author {TEXT} NOT NULL CHECK (length(trim(author)) > 0), created_at {TEXT} NOT NULL,"
        " updates BIGINT REFERENCES actions(id))")
    conn.raw.execute("CREATE INDEX actions_checkpoint ON actions (checkpoint, kpi)")
    conn.raw.execute("CREATE INDEX actions_updates ON actions (updates)")
    history = ("EXISTS (SELECT 1 FROM actions a WHERE a.updates = OLD.id OR (OLD.updates IS NOT NULL"
               " AND a.updates = OLD.updates AND a.id > OLD.id))")
    for op in ("UPDATE", "DELETE"):  # SQLite: newest first, so "final" is the message once final
        _guard(conn, "actions", f"actions_history_no_{op.lower()}", op,
               "an action entry followed by an update is history: it cannot be changed or deleted", history, "c")
        _guard(conn, "actions", f"actions_final_no_{op.lower()}", op, _ACTIONS_READ_ONLY, _FINAL.format("OLD"), "b")
    _guard(conn, "actions", "actions_fixed_fields", "UPDATE OF id, checkpoint, kpi, author, created_at, updates",
           "who wrote an action entry, when, and which review and KPI it belongs to cannot be changed", None, "a")
    _guard(conn, "actions", "actions_final_insert", "INSERT",
           "the review is final: new entries must be updates of an action agreed there",
           f"NEW.updates IS NULL AND {_FINAL.format('NEW')}", "b")
    _guard(conn, "actions", "actions_update_of_an_action", "INSERT",
           "an update must follow an action of the same review and KPI",
           "NEW.updates IS NOT NULL AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.id = NEW.updates"
           " AND a.updates IS NULL AND a.checkpoint = NEW.checkpoint AND a.kpi = NEW.kpi)", "a")


#: metrics.schema step (its function's name) → its PostgreSQL body. A new SQLite step needs one here too
#: (tests/test_pg.py fails otherwise).
STEPS: dict[str, Callable[[PgConnection], None]] = {
    "uploads_and_records": _uploads_and_records,
    "audit_log": _audit_log,
    "review_settings_versions": _review_settings_versions,
    "checkpoint_finals": _checkpoint_finals,
    "evidence": _evidence,
    "audit_chain": _audit_chain,
    "upload_source": _upload_source,
    "conference_scopes": _conference_scopes,
    "actions": _actions,
}


def migrate(conn: PgConnection, transaction) -> int:
    """Apply pending steps in one transaction (``transaction``: :func:`metrics.store.transaction`, the one
    helper), serialised with every other writer of the schema."""
    from metrics.schema import MIGRATIONS

    if schema_exists(conn) and schema_version(conn) >= len(MIGRATIONS):
        return schema_version(conn)
    with transaction(conn):
        prepare_schema(conn)
        for i in range(schema_version(conn), len(MIGRATIONS)):  # read again: another process may have migrated
            STEPS[MIGRATIONS[i][1].__name__](conn)
            set_schema_version(conn, i + 1)
    return schema_version(conn)
