"""What every ``kpi`` command shares: exit codes, the usage error, the council named by ``--council`` and
its store (or the one named by ``--db``), and who the command line records in the audit trail.

Every command that opens a store opens ONE council's (:mod:`metrics.councils`): ``--council CODE``, which
may be left out when only one council is configured. The store is checked to be that council's.

Exit status: 0 success, 1 refused input (nothing changed), 2 usage error.
Machine-readable output goes to stdout with ``--json``; messages go to stderr.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from metrics.settings import get_settings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def err(msg: str) -> None:
    print(msg, file=sys.stderr)


def council_for(args):
    """The council the command works on (``metrics.councils.Council``): ``--council``, or the only one."""
    from metrics.councils import CouncilConfigError, council

    try:
        return council(getattr(args, "council", None))
    except CouncilConfigError:
        raise
    except LookupError as e:
        raise UsageError(str(e)) from None


def store_target(args) -> str:
    """The store to open: ``--db``, else the council's (a SQLite path or ``postgresql://…#la_<code>``)."""
    return str(args.db) if args.db else council_for(args).store


def db_path(args) -> Path:
    return Path(store_target(args))


def _is_url(target) -> bool:
    from metrics.pg import is_url

    return is_url(target)


def settings_for(args):
    """The council's settings (its store, key, name, LA code), with --db applied: a postgresql:// URL, or a SQLite
    path (the key file then lives beside the store it protects, unless the council names its own)."""
    c = council_for(args)
    s = c.settings(get_settings())
    if args.db and _is_url(str(args.db)):
        return s.model_copy(update={"db_url": str(args.db)})
    if args.db:
        s = s.model_copy(update={"db_path": Path(args.db), "db_url": None})
    return s


def connect(args) -> sqlite3.Connection:
    """The council's store, migrated, refused if it belongs to another council."""
    from metrics.councils import bind_store
    from metrics.store import connect

    c = council_for(args)
    conn = connect(store_target(args))
    bind_store(conn, c)
    return conn


def existing_store(args) -> sqlite3.Connection | None:
    """The store, opened without migrating it; None (with a message) when there is none: checks create nothing
    (the council is checked, never recorded)."""
    from metrics.councils import bind_store
    from metrics.store import connect

    c = council_for(args)
    target = store_target(args)
    if not _is_url(target) and not Path(target).exists():
        err(f"There is no store at {target}.")
        return None
    conn = connect(target, migrate_schema=False)
    bind_store(conn, c, record=False)
    return conn


CLI_ROLE = "cli"  # the command line is an administrator's tool: whoever runs it has the store's file access


def cli_actor() -> str:
    """Who the CLI records in the audit trail: the operating-system user (never KPI_USER, which anyone can set)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no login name in some containers
        return "unknown OS user"


def review_and_out(args, extensions: tuple[str, ...], written_as: str, *, name_chars: int | None = None):
    """``--review`` as a date and ``--out`` as a path ending in one of ``extensions`` (``.docx``, ``.pdf``…);
    a UsageError (exit 2) otherwise, whose message says what the file is ``written_as`` and shows the name
    (at most ``name_chars`` characters of it)."""
    from metrics.reviews import as_date

    try:
        review = as_date(args.review)
    except ValueError as e:
        raise UsageError(f"--review: {e}") from None
    out = Path(args.out)
    if out.suffix.lower() not in extensions:
        raise UsageError(f"--out: {written_as}; '{out.name[:name_chars]}' must end in {' or '.join(extensions)}")
    return review, out
