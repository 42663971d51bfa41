"""What every ``kpi`` command shares: exit codes, the usage error, the store named by ``--db``, and who
the command line records in the audit trail.

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


def db_path(args) -> Path:
    return Path(args.db) if args.db else get_settings().db_path


def store_target(args) -> str:
    """The store --db names (a SQLite path or a postgresql:// URL), else the default (KPI_DB_URL, KPI_DB_PATH)."""
    return str(args.db) if args.db else get_settings().store_target


def _is_url(target) -> bool:
    from metrics.pg import is_url

    return is_url(target)


def settings_for(args):
    """Settings with --db applied (the key file lives beside the store it protects)."""
    s = get_settings()
    if args.db and _is_url(str(args.db)):
        return s.model_copy(update={"db_url": str(args.db)})
    return s.model_copy(update={"db_path": db_path(args), "db_url": None}) if args.db else s


def connect(args) -> sqlite3.Connection:
    from metrics.store import connect

    return connect(store_target(args))


def existing_store(args) -> sqlite3.Connection | None:
    """The store, opened without migrating it; None (with a message) when there is none: checks create nothing."""
    from metrics.store import connect

    if _is_url(store_target(args)):
        return connect(store_target(args), migrate_schema=False)
    path = db_path(args)
    if not path.exists():
        err(f"There is no store at {path}.")
        return None
    return connect(path, migrate_schema=False)


CLI_ROLE = "cli"  # the command line is an administrator's tool: whoever runs it has the store's file access


def cli_actor() -> str:
    """Who the CLI records in the audit trail: the operating-system user (never KPI_USER, which anyone can set)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no login name in some containers
        return "unknown OS user"
