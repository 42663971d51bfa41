"""The ``kpi`` command: parse the arguments, run the one command asked for, turn what went wrong into an
exit status and a plain sentence (see shared/spec/cli.md). The commands are in one module per group,
imported here by name; each module's ``register(subparsers, common)`` adds its subcommands.

Exit status: 0 success, 1 refused input (nothing changed), 2 usage error.
Machine-readable output goes to stdout with ``--json``; messages go to stderr.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

from kpi_cli import actions, boardpack, checks, db, report, review, series, serve, spc, uploads
from kpi_cli.common import EXIT_REFUSED, EXIT_USAGE, UsageError, err

#: The groups of subcommands, in the order ``kpi --help`` lists them.
GROUPS = (uploads, checks, series, review, spc, boardpack, report, actions, serve, db)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help="the store: a SQLite file or postgresql://…#schema "
                        "(default: the council's; KPI_DB_URL, else KPI_DB_PATH or data/kpi.sqlite, with one council)")
    common.add_argument("--council", default=argparse.SUPPRESS, metavar="CODE",
                        help="the council (DfE LA code) whose store to use; needed when KPI_COUNCILS configures "
                             "several")
    p = argparse.ArgumentParser(prog="kpi", description="Intervention KPI store and reports.", parents=[common])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "db"):
        args.db = None
    if not hasattr(args, "council"):
        args.council = None
    from metrics.councils import CouncilConfigError
    from metrics.issues import Refused

    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        err(f"kpi: {e}")
        return EXIT_USAGE
    except CouncilConfigError as e:  # the deployment's configuration: nothing was read or changed
        err(f"kpi: {e} Nothing was changed.")
        return EXIT_USAGE
    except Refused as r:
        for e in r.errors:
            err(f"kpi: {e.as_dict()['message']}")
        return EXIT_USAGE if all(e.rule == "bad_option" for e in r.errors) else EXIT_REFUSED
    except sqlite3.OperationalError as e:
        from metrics.store import DISK_FULL

        if "full" in str(e):
            err(f"kpi: {DISK_FULL}")
        elif "readonly" in str(e):
            err("kpi: the store is read-only (file or folder permissions); it can be read but not changed. "
                "Nothing was changed.")
        else:
            err(f"kpi: the store could not be used ({e}). Nothing was changed.")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # never a traceback for a user; KPI_DEBUG=1 shows it for developers
        import os

        if os.environ.get("KPI_DEBUG"):
            raise
        err(f"kpi: the command failed ({type(e).__name__}: {e}). Nothing was changed. "
            "Set KPI_DEBUG=1 to see the details.")
        return EXIT_REFUSED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
