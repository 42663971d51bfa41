"""The SQLite store: uploads, their records, and which upload is current for each kind and month.

Layout (schema version in ``PRAGMA user_version``; the tables are made by the named, ordered migrations
of :mod:`metrics.schema`):

- ``uploads``: one row per accepted file — kind, months, rows, SHA-256, file name, who, when (UTC),
  status (``current`` / ``superseded`` / ``restored`` / ``withdrawn``), ``as_of`` (a snapshot's own snapshot_date,
  if the file gave one). Never deleted.
- ``upload_months``: the (scope, month) pairs each upload covers. ``scope`` is ``''`` for record-level
  kinds, the KPI id for ``figures`` (a figures file for one KPI does not displace another KPI's) and the
  conference type for ``conferences`` (``initial``, ``review``: a product-format file covers both types of
  its months, an SSD conference table only its own; see :func:`scopes_and_months`).
- ``current_months``: for each (kind, scope, month), the upload whose rows count. Superseding and
  restoring only move these pointers, so history is never lost and nothing is counted twice.
- ``rec_<kind>``: the validated rows, identifiers pseudonymised, tagged with ``upload_id`` and
  ``month`` (the snapshot month, or the event's month).

Every write goes through :func:`transaction` (one ``BEGIN IMMEDIATE`` … ``COMMIT``): an upload is all rows or
none, and a change commits with its audit row.

``store_meta`` holds ``key_fingerprint`` (see :mod:`metrics.pseudonym`), ``demo`` and ``audit_head``.
A store that cannot be written (read-only file or folder) is opened read-only, so it can still be read.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import sqlite_utils

from metrics.contract import KINDS
from metrics.issues import Issue, Refused
from metrics.schema import MIGRATIONS, record_table

BUSY_TIMEOUT_S = 60
INSERT_BATCH = 50_000


def record_columns(kind: str) -> list[str]:
    return [c.name for c in KINDS[kind].columns]


# --- migrations (the steps are in metrics.schema) ----------------------------------------------------------


def engine(conn) -> str:
    """``sqlite`` or ``postgresql`` (:mod:`metrics.pg`): for the few call sites that differ."""
    return getattr(conn, "engine", "sqlite")


def schema_version(conn: sqlite3.Connection) -> int:
    if engine(conn) == "postgresql":
        from metrics import pg

        return pg.schema_version(conn)
    return conn.execute("PRAGMA user_version").fetchone()[0]


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    if engine(conn) == "postgresql":
        from metrics import pg

        return pg.has_table(conn, name)
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def read_frame(conn: sqlite3.Connection, sql: str, params=None) -> pd.DataFrame:
    """``pd.read_sql_query`` on either engine (a PostgreSQL connection is read through its DB-API cursor,
    the same pandas code path as SQLite's)."""
    if engine(conn) == "postgresql":
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pandas only supports SQLAlchemy", category=UserWarning)
            return pd.read_sql_query(sql, conn, params=params)
    return pd.read_sql_query(sql, conn, params=params)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations (:data:`metrics.schema.MIGRATIONS`) in one transaction. Returns the schema
    version."""
    if engine(conn) == "postgresql":
        from metrics import pg

        return pg.migrate(conn, transaction)
    if schema_version(conn) >= len(MIGRATIONS):
        return schema_version(conn)
    db = sqlite_utils.Database(conn)
    with transaction(conn):
        for i in range(schema_version(conn), len(MIGRATIONS)):  # read again: another process may have migrated
            MIGRATIONS[i][1](db)
            conn.execute(f"PRAGMA user_version = {i + 1}")
    return schema_version(conn)


def _ensure_wal(conn: sqlite3.Connection) -> None:
    """Switch a new store to WAL. The switch needs the file to itself: when two processes open a brand-new
    store at once, one may be told 'locked' without waiting, so retry for up to the busy timeout."""
    import time

    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class StoreConnection(sqlite3.Connection):
    """A connection that remembers it has passed ``PRAGMA quick_check`` (see :func:`quick_check_once`)."""

    quick_checked = False


def _is_read_only_error(e: sqlite3.OperationalError) -> bool:
    msg = str(e)
    return "readonly" in msg or "unable to open" in msg


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A store we may not write (0444 file, read-only folder): read it without touching it. A WAL store
    needs its ``-shm`` file, which cannot be created here; with no pending WAL content the file alone is
    the whole store, so SQLite may read it as immutable."""
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise sqlite3.OperationalError(
                f"the store {path.name} is read-only and has changes not yet written into it (a -wal file); "
                "open it once with write access, or copy the folder somewhere writable") from None
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None,
                               check_same_thread=True)


def connect(path: str | Path, *, migrate_schema: bool = True) -> sqlite3.Connection:
    """Open the store: a SQLite file (a path or ``sqlite:///path``) or a PostgreSQL schema
    (``postgresql://…#schema``, :mod:`metrics.pg`), migrations applied.

    SQLite: WAL, foreign keys. A store that exists but cannot be written is opened read-only (reads work; any
    write says the store is read-only) and is never migrated."""
    from metrics import pg

    if pg.is_url(path):
        conn = pg.connect(path)
        if migrate_schema:
            try:
                migrate(conn)
            except BaseException:
                conn.close()
                raise
        return conn
    if isinstance(path, str) and path.startswith("sqlite:///"):
        path = path.removeprefix("sqlite:///")
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=True,
                               factory=StoreConnection)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        _ensure_wal(conn)
    except sqlite3.OperationalError as e:
        if not (path.exists() and _is_read_only_error(e)):
            raise
        conn = _open_read_only(path)
        migrate_schema = False
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    if migrate_schema:
        migrate(conn)
    return conn


class StoreProblem(Refused):
    """The store itself (not the input) cannot take a change; nothing was changed."""

    def __init__(self, rule: str, message: str):
        super().__init__([Issue.file(rule, message)])


DISK_FULL = "The disk holding the store is full; nothing was stored. Free some space and try again."


@contextmanager
def transaction(conn: sqlite3.Connection):
    """One write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on any error), or the caller's if one
    is already open, so a change and its audit row always commit together."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as e:
        if conn.in_transaction:  # SQLite may already have rolled back (e.g. on a full disk)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.OperationalError:
                pass  # the original error is the one worth reporting
        if isinstance(e, sqlite3.OperationalError) and "full" in str(e):
            raise StoreProblem("disk_full", DISK_FULL) from e
        raise


def quick_check(conn: sqlite3.Connection) -> str | None:
    """None when ``PRAGMA quick_check`` passes, else what it (or SQLite, on a badly damaged file) said.
    (PostgreSQL checks its own pages: None.)"""
    if engine(conn) == "postgresql":
        return None
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as e:
        return str(e)
    return None if rows == ["ok"] else "; ".join(rows[:3])


def quick_check_once(conn: sqlite3.Connection) -> str | None:
    """:func:`quick_check`, run once per connection, before its first upload is written (it reads the whole
    file: a command loading many files, or the demo build, pays for it once; each Upload page load opens a
    connection of its own and pays for it each time)."""
    if getattr(conn, "quick_checked", False):
        return None
    problem = quick_check(conn)
    if problem is None and isinstance(conn, StoreConnection):
        conn.quick_checked = True
    return problem


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- writing ---------------------------------------------------------------------------------


#: Kinds whose uploads are scoped by a record column, as (kind → column): a pointer of scope S counts only
#: the rows whose column is S. Every other kind's scope is ``''`` (all rows of the month).
SCOPE_COLUMN = {"figures": "metric", "conferences": "conference_type"}
CONFERENCE_TYPES: tuple[str, ...] = tuple(KINDS["conferences"].column("conference_type").values)


def scopes_and_months(kind: str, frame: pd.DataFrame, months: list[str], source: str = "") -> list[tuple[str, str]]:
    """The (scope, month) pairs an upload covers, so what it supersedes: a figures file each (KPI, month) it
    gives; a conferences file each (conference type, month) of its months — both types for a product-format
    file (it lists every conference of its months), one for an SSD conference table (``source``, as recorded
    with the upload: :func:`metrics.sources.conference_scope`); any other kind each month, scope ``''``."""
    if kind == "figures":
        pairs = frame[["metric", "month"]].drop_duplicates()
        return sorted(zip(pairs["metric"], pairs["month"]))
    if kind == "conferences":
        from metrics.sources import conference_scope

        one = conference_scope(source)
        return [(t, m) for t in ((one,) if one else CONFERENCE_TYPES) for m in months]
    return [("", m) for m in months]


def write_upload(
    conn: sqlite3.Connection,
    *,
    kind: str,
    months: list[str],
    frame: pd.DataFrame,
    sha256: str,
    file_name: str,
    uploaded_by: str,
    warnings: list[str],
    as_of: str | None = None,
    progress: Callable[[float], None] | None = None,
    on_commit: Callable[[sqlite3.Connection, int], None] | None = None,
    source: str = "",
) -> int:
    """Store a validated, pseudonymised upload in one transaction and make it current. ``source``: where its
    rows came from (``metrics.sources``)."""
    spec = KINDS[kind]
    cols = ["upload_id", "month", *record_columns(kind)]
    if spec.period == "snapshot":
        frame = frame.assign(month=months[0])
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO uploads (kind, months, rows, sha256, file_name, uploaded_by, uploaded_at, status, warnings,"
            " as_of, source) VALUES (?, ?, ?, ?, ?, ?, ?, 'current', ?, ?, ?)",
            (kind, json.dumps(months), len(frame), sha256, file_name, uploaded_by, utc_now(), json.dumps(warnings),
             as_of, source),
        )
        upload_id = int(cur.lastrowid)
        sql = f"INSERT INTO {record_table(kind)} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        n = len(frame)
        if engine(conn) == "postgresql":  # COPY, with SQLite's storage rules: NaN is NULL, a bool is 0/1
            bools = {c.name for c in spec.columns if c.type == "bool"}
            once = list(dict.fromkeys(cols))  # (figures give "month" twice: the pointer's and the record's)
            data = [_copy_values(frame[c], c in bools) for c in once[1:]]
            conn.copy_records(record_table(kind), once, upload_id, data, n, progress)
            _make_current(conn, kind, upload_id, scopes_and_months(kind, frame, months, source))
            if on_commit:
                on_commit(conn, upload_id)
            return upload_id
        data_cols = [frame[c].tolist() for c in cols[1:]]
        for start in range(0, max(n, 1), INSERT_BATCH):
            stop = min(start + INSERT_BATCH, n)
            if stop > start:
                conn.executemany(sql, zip([upload_id] * (stop - start), *(c[start:stop] for c in data_cols)))
            if progress:
                progress(stop / n if n else 1.0)
        _make_current(conn, kind, upload_id, scopes_and_months(kind, frame, months, source))
        if on_commit:
            on_commit(conn, upload_id)
    return upload_id


def _copy_values(col: pd.Series, as_int: bool) -> list:
    """A record column as COPY takes it: missing values None (SQLite stores NaN as NULL), bools 0/1."""
    if as_int:
        return [None if v is None or v != v else int(v) for v in col.tolist()]
    if col.hasnans:
        col = col.astype(object).where(col.notna(), None)
    return col.tolist()


def _make_current(conn: sqlite3.Connection, kind: str, upload_id: int, pairs: Iterable[tuple[str, str]]) -> list[int]:
    """Point every (scope, month) in ``pairs`` at ``upload_id``; an upload left with no month is superseded.
    Returns the uploads that were current for any of the pairs (what this one replaces), read here, under
    the caller's write lock, so the answer is the real one even with concurrent writers."""
    pairs = list(pairs)
    conn.executemany(
        "INSERT OR IGNORE INTO upload_months (upload_id, kind, scope, month) VALUES (?, ?, ?, ?)",
        [(upload_id, kind, s, m) for s, m in pairs],
    )
    displaced = {
        r[0]
        for s, m in pairs
        for r in conn.execute(
            "SELECT upload_id FROM current_months WHERE kind=? AND scope=? AND month=? AND upload_id != ?",
            (kind, s, m, upload_id),
        )
    }
    conn.executemany(
        "INSERT INTO current_months (kind, scope, month, upload_id) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (kind, scope, month) DO UPDATE SET upload_id = excluded.upload_id",
        [(kind, s, m, upload_id) for s, m in pairs],
    )
    for old in displaced:
        still = conn.execute("SELECT 1 FROM current_months WHERE upload_id = ? LIMIT 1", (old,)).fetchone()
        if still is None:
            conn.execute("UPDATE uploads SET status = 'superseded' WHERE id = ?", (old,))
    return sorted(displaced)


class NotFound(LookupError):
    pass


def restore(conn: sqlite3.Connection, upload_id: int,
            on_commit: Callable[[sqlite3.Connection, int], None] | None = None) -> dict:
    """Make an earlier (or withdrawn) upload current again for all its months (superseding whatever is there)."""
    with transaction(conn):
        row = conn.execute("SELECT id, kind FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        if row is None:
            raise NotFound(f"There is no upload {upload_id}.")
        pairs = [(r["scope"], r["month"]) for r in conn.execute(
            "SELECT scope, month FROM upload_months WHERE upload_id = ? ORDER BY scope, month", (upload_id,))]
        _make_current(conn, row["kind"], upload_id, pairs)
        conn.execute("UPDATE uploads SET status = 'restored' WHERE id = ?", (upload_id,))
        if on_commit:
            on_commit(conn, upload_id)
    return get_upload(conn, upload_id)


class AlreadyWithdrawn(ValueError):
    pass


def withdraw(conn: sqlite3.Connection, upload_id: int,
             on_commit: Callable[[sqlite3.Connection, int, dict], None] | None = None) -> dict:
    """Take an upload out of use, like undoing it: for each (scope, month) where it was current, the most
    recent other upload for that month that is not withdrawn becomes current again; a month no other
    upload covers is left without data. Its rows stay in the store and :func:`restore` brings it back.

    Returns ``{"upload": …, "fallback": {upload_id: [months]}, "empty": [months]}``."""
    with transaction(conn):
        row = conn.execute("SELECT id, kind, status FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        if row is None:
            raise NotFound(f"There is no upload {upload_id}.")
        if row["status"] == "withdrawn":
            raise AlreadyWithdrawn(f"Upload {upload_id} is already withdrawn (kpi restore {upload_id} brings it back).")
        kind = row["kind"]
        held = [(r["scope"], r["month"]) for r in conn.execute(
            "SELECT scope, month FROM current_months WHERE upload_id = ? ORDER BY scope, month", (upload_id,))]
        conn.execute("DELETE FROM current_months WHERE upload_id = ?", (upload_id,))
        conn.execute("UPDATE uploads SET status = 'withdrawn' WHERE id = ?", (upload_id,))
        fallback_pairs: dict[int, list[tuple[str, str]]] = {}
        empty_pairs: list[tuple[str, str]] = []
        for s, m in held:
            prev = conn.execute(
                "SELECT um.upload_id FROM upload_months um JOIN uploads u ON u.id = um.upload_id"
                " WHERE um.kind = ? AND um.scope = ? AND um.month = ? AND u.status != 'withdrawn'"
                " ORDER BY um.upload_id DESC LIMIT 1", (kind, s, m)).fetchone()
            if prev is None:
                empty_pairs.append((s, m))
                continue
            conn.execute("INSERT INTO current_months (kind, scope, month, upload_id) VALUES (?, ?, ?, ?)",
                         (kind, s, m, prev[0]))
            fallback_pairs.setdefault(prev[0], []).append((s, m))
        fallback = {uid: _labels(kind, ps) for uid, ps in fallback_pairs.items()}
        empty = _labels(kind, empty_pairs)
        if fallback:
            conn.execute(f"UPDATE uploads SET status = 'current' WHERE status = 'superseded'"
                         f" AND id IN ({', '.join('?' * len(fallback))})", list(fallback))
        out = {"upload": get_upload(conn, upload_id), "fallback": fallback, "empty": empty}
        if on_commit:
            on_commit(conn, upload_id, out)
    return out


def _labels(kind: str, pairs: list[tuple[str, str]]) -> list[str]:
    """(scope, month) pairs in words: "2024-01", "agency_rate 2024-01"; for conferences a month whose two types
    go together is just the month, else "2024-01 (initial conferences)"."""
    if kind != "conferences":
        return [f"{s} {m}" if s else m for s, m in pairs]
    by_month: dict[str, list[str]] = {}
    for s, m in pairs:
        by_month.setdefault(m, []).append(s)
    return [m if set(ts) >= set(CONFERENCE_TYPES) or ts == [""] else f"{m} ({' and '.join(ts)} conferences)"
            for m, ts in sorted(by_month.items())]


# --- reading ---------------------------------------------------------------------------------


def _upload_dict(r: sqlite3.Row) -> dict:
    d = dict(r)
    d["months"] = json.loads(d["months"])
    d["warnings"] = json.loads(d.get("warnings") or "[]")
    return d


def get_upload(conn: sqlite3.Connection, upload_id: int) -> dict:
    r = conn.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
    if r is None:
        raise NotFound(f"There is no upload {upload_id}.")
    return _upload_dict(r)


def list_uploads(conn: sqlite3.Connection, kind: str | None = None) -> list[dict]:
    sql = "SELECT * FROM uploads" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
    return [_upload_dict(r) for r in conn.execute(sql, (kind,) if kind else ())]


def current_for(conn: sqlite3.Connection, kind: str, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Which upload is current for each (scope, month) — what a new upload would replace."""
    out: dict[tuple[str, str], dict] = {}
    cache: dict[int, dict] = {}
    for s, m in pairs:
        r = conn.execute("SELECT upload_id FROM current_months WHERE kind=? AND scope=? AND month=?",
                         (kind, s, m)).fetchone()
        if r is not None:
            uid = r[0]
            if uid not in cache:
                cache[uid] = get_upload(conn, uid)
            out[(s, m)] = cache[uid]
    return out


def rows_held(conn: sqlite3.Connection, kind: str, upload_id: int, pairs: Iterable[tuple[str, str]]) -> int:
    """How many of an upload's records fall in the (scope, month) ``pairs`` (what superseding them would hide)."""
    col = SCOPE_COLUMN.get(kind)
    n = 0
    for s, m in pairs:
        where, params = "upload_id = ? AND month = ?", [upload_id, m]
        if col and s:
            where += f" AND {col} = ?"
            params.append(s)
        n += conn.execute(f"SELECT COUNT(*) FROM {record_table(kind)} WHERE {where}", params).fetchone()[0]
    return n


def coverage(conn: sqlite3.Connection) -> pd.DataFrame:
    """Every (kind, scope, month) with its current upload and how many uploads (not withdrawn) covered it."""
    return read_frame(
        conn,
        "SELECT um.kind, um.scope, um.month, c.upload_id AS current_upload,"
        " COUNT(um.upload_id) AS uploads"
        " FROM upload_months um JOIN uploads u ON u.id = um.upload_id AND u.status != 'withdrawn'"
        " LEFT JOIN current_months c ON c.kind = um.kind AND c.scope = um.scope AND c.month = um.month"
        " GROUP BY um.kind, um.scope, um.month, c.upload_id ORDER BY um.kind, um.month, um.scope",
    )


def read_current(conn: sqlite3.Connection, kind: str, columns: list[str] | None = None,
                 first: str | None = None, last: str | None = None) -> pd.DataFrame:
    """The rows that count: those of the current upload for each month (and scope: a figures row's KPI, a
    conference's type)."""
    cols = columns or record_columns(kind)
    select = ", ".join(["r.month", *(f"r.{c}" for c in cols if c != "month")])
    scope = f"r.{SCOPE_COLUMN[kind]}" if kind in SCOPE_COLUMN else "''"
    sql = (
        f"SELECT {select} FROM current_months c JOIN {record_table(kind)} r"
        f" ON r.upload_id = c.upload_id AND r.month = c.month AND c.scope = {scope}"
        " WHERE c.kind = ?"
    )
    params: list = [kind]
    if first:
        sql += " AND c.month >= ?"
        params.append(first)
    if last:
        sql += " AND c.month <= ?"
        params.append(last)
    return read_frame(conn, sql, params)


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    r = conn.execute("SELECT value FROM store_meta WHERE key = ?", (key,)).fetchone()
    return r[0] if r else default


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def is_demo(conn: sqlite3.Connection) -> bool:
    return get_meta(conn, "demo") == "1"


def current_months(conn: sqlite3.Connection, kind: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT month FROM current_months WHERE kind = ? ORDER BY month", (kind,))]
