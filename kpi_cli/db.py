"""``kpi db grant-app-role ROLE``: let the dashboard's PostgreSQL role use a store without rewriting history."""

from __future__ import annotations

from kpi_cli.common import EXIT_OK, EXIT_REFUSED, err, store_target


def cmd_grant_app_role(args) -> int:
    from metrics import pg
    from metrics.store import connect

    target = store_target(args)
    if not pg.is_url(target):
        err("kpi: grant-app-role is for a PostgreSQL store (--db postgresql://…#schema or KPI_DB_URL); a SQLite "
            "store is protected by its file permissions.")
        return EXIT_REFUSED
    conn = connect(target)  # as the schema's owner: migrated first, so every table is granted
    try:
        pg.grant_app_role(conn, args.role)
    except ValueError as e:
        err(f"kpi: {e}")
        return EXIT_REFUSED
    finally:
        conn.close()
    err(f"{args.role} may now read and write schema {conn.schema}, but only read and append to "
        f"{', '.join(pg.APPEND_ONLY)}.")
    return EXIT_OK


def register(sub, common) -> None:
    g = sub.add_parser("db", help="PostgreSQL store administration").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND")
    s = g.add_parser("grant-app-role", parents=[common],
                     help="grant an app role SELECT/INSERT/UPDATE/DELETE, but no UPDATE or DELETE on the audit trail")
    s.add_argument("role", help="an existing PostgreSQL role (CREATE ROLE … LOGIN)")
    s.set_defaults(func=cmd_grant_app_role)
