"""``kpi key check`` and ``kpi check``: is the key the store's, and is the store whole (issue 17)?
Both open an existing store without migrating it and create nothing."""

from __future__ import annotations

import sqlite3

from kpi_cli.common import EXIT_OK, EXIT_REFUSED, existing_store, settings_for


def cmd_key_check(args) -> int:
    from metrics.pseudonym import key_status

    conn = existing_store(args)
    if conn is None:
        return EXIT_REFUSED
    ok, message = key_status(conn, settings_for(args))
    print(f"{'OK' if ok else 'FAIL'}: {message}")
    return EXIT_OK if ok else EXIT_REFUSED


def store_checks(conn: sqlite3.Connection, settings) -> list[tuple[str, bool, str]]:
    """Every check ``kpi check`` runs: (name, ok, plain sentence). A check that cannot run fails."""
    from metrics.audit import verify_chain
    from metrics.pseudonym import key_status
    from metrics.store import MIGRATIONS, schema_version

    def integrity() -> tuple[bool, str]:
        from metrics.store import engine

        if engine(conn) == "postgresql":
            return True, "PostgreSQL checks its own pages (use amcheck / pg_amcheck for a deep check)"
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        return rows == ["ok"], "; ".join(rows[:5])

    def schema() -> tuple[bool, str]:
        v, want = schema_version(conn), len(MIGRATIONS)
        if v == want:
            return True, f"version {v}"
        if v > want:
            return False, f"version {v}, newer than this program knows ({want}): update the program"
        return False, f"version {v} of {want}: any kpi command run with write access upgrades it"

    out = []
    for name, check in (("integrity", integrity), ("schema", schema), ("key", lambda: key_status(conn, settings)),
                        ("audit trail", lambda: verify_chain(conn))):
        try:
            ok, message = check()
        except (sqlite3.DatabaseError, ValueError, OSError) as e:
            ok, message = False, f"could not be checked ({e})"
        out.append((name, ok, message))
    return out


def cmd_check(args) -> int:
    conn = existing_store(args)
    if conn is None:
        return EXIT_REFUSED
    results = store_checks(conn, settings_for(args))
    for name, ok, message in results:
        print(f"{'OK  ' if ok else 'FAIL'}  {name}: {message}")
    return EXIT_OK if all(ok for _, ok, _ in results) else EXIT_REFUSED


def register(sub, common) -> None:
    s = sub.add_parser("key", parents=[common], help="the pseudonymisation key")
    key_sub = s.add_subparsers(dest="key_command", required=True, metavar="SUBCOMMAND")
    k = key_sub.add_parser("check", parents=[common], help="does the configured key match the store? (exit 0/1)")
    k.set_defaults(func=cmd_key_check)

    s = sub.add_parser("check", parents=[common], help="integrity, schema version, key and audit chain (exit 0/1)")
    s.set_defaults(func=cmd_check)
