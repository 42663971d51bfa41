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


def settings_for(args):
    """Settings with --db applied (the key file lives beside the store it protects)."""
    s = get_settings()
    return s.model_copy(update={"db_path": db_path(args)}) if args.db else s


def connect(args) -> sqlite3.Connection:
    from metrics.store import connect

    return connect(db_path(args))


def existing_store(args) -> sqlite3.Connection | None:
    """The store, opened without migrating it; None (with a message) when there is none: checks create nothing."""
    from metrics.store import connect

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
