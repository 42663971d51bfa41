"""The ``kpi`` command: a thin layer over the library (see shared/spec/cli.md).

Exit status: 0 success, 1 refused input (nothing changed), 2 usage error.
Machine-readable output goes to stdout with ``--json``; messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from metrics.settings import get_settings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _db_path(args) -> Path:
    return Path(args.db) if args.db else get_settings().db_path


def _settings(args):
    """Settings with --db applied (the key file lives beside the store it protects)."""
    s = get_settings()
    return s.model_copy(update={"db_path": _db_path(args)}) if args.db else s


def _connect(args) -> sqlite3.Connection:
    from metrics.store import connect

    return connect(_db_path(args))


CLI_ROLE = "cli"  # the command line is an administrator's tool: whoever runs it has the store's file access


def cli_actor() -> str:
    """Who the CLI records in the audit trail: the operating-system user (never KPI_USER, which anyone can set)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no login name in some containers
        return "unknown OS user"


# --- commands --------------------------------------------------------------------------------


def cmd_ingest(args) -> int:
    from metrics.ingest import Batch, ingest_path
    from metrics.validate import parse_month, parse_months

    month = parse_month(args.month, "--month", upload=True) if args.month else None
    months = parse_months(args.months, upload=True) if args.months else None
    if month and months:
        raise UsageError("Give --month or --months, not both.")
    conn = _connect(args)
    settings = _settings(args)
    results = []
    batch = Batch()
    for f in args.files:
        r = ingest_path(conn, f, kind=args.kind, month=month, months=months, settings=settings,
                        allow_empty=args.allow_empty, batch=batch, uploaded_by=cli_actor(), role=CLI_ROLE)
        batch.add(r)
        results.append(r)
        if r.ok:
            replaced = "".join(f"; replaces upload {u['id']}" for u in r.replaces)
            _err(f"accepted {r.file}: {r.kind} {', '.join(r.months)} — {r.rows} rows (upload {r.upload_id}{replaced})")
            for w in r.warnings:
                _err(f"  warning: {w}")
        else:
            _err(f"refused {r.file}: {len(r.errors)} error(s); nothing was stored")
            for e in r.errors[: (None if args.json else 50)]:
                where = " ".join(x for x in (f"row {e.row}" if e.row else "", e.column or "") if x)
                _err(f"  {where + ': ' if where else ''}{e.as_dict()['message']} [{e.rule}]")
            if not args.json and len(r.errors) > 50:
                _err(f"  … and {len(r.errors) - 50} more (use --json for all)")
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    return EXIT_OK if all(r.ok for r in results) else EXIT_REFUSED


def cmd_uploads(args) -> int:
    from metrics.store import list_uploads

    ups = list_uploads(_connect(args))
    keys = ["id", "kind", "months", "rows", "sha256", "file_name", "uploaded_by", "uploaded_at", "status"]
    if args.json:
        print(json.dumps([{k: u[k] for k in keys} for u in ups], indent=2))
        return EXIT_OK
    if not ups:
        _err("No uploads yet.")
        return EXIT_OK
    print(f"{'id':>5}  {'kind':<12} {'months':<17} {'rows':>8}  {'status':<10} {'uploaded at (UTC)':<20} {'by':<12} file")
    for u in ups:
        m = u["months"]
        span = m[0] if len(m) == 1 else f"{m[0]}..{m[-1]}" if m else ""
        print(f"{u['id']:>5}  {u['kind']:<12} {span:<17} {u['rows']:>8}  {u['status']:<10} {u['uploaded_at']:<20} "
              f"{u['uploaded_by'][:12]:<12} {u['file_name']}")
    return EXIT_OK


def cmd_restore(args) -> int:
    from metrics.ingest import restore_upload
    from metrics.store import NotFound

    try:
        u = restore_upload(_connect(args), args.upload_id, by=cli_actor(), role=CLI_ROLE, settings=_settings(args))
    except NotFound as e:
        _err(str(e))
        return EXIT_REFUSED
    _err(f"restored upload {u['id']} ({u['kind']} {', '.join(u['months'])}) as current")
    return EXIT_OK


# --- withdraw, key check, store check (issue 17: escape hatch, key bound to the store, integrity) ----


def _existing_store(args) -> sqlite3.Connection | None:
    """The store, opened without migrating it; None (with a message) when there is none: checks create nothing."""
    from metrics.store import connect

    path = _db_path(args)
    if not path.exists():
        _err(f"There is no store at {path}.")
        return None
    return connect(path, migrate_schema=False)


def cmd_withdraw(args) -> int:
    from metrics.ingest import withdraw_upload
    from metrics.store import AlreadyWithdrawn, NotFound

    try:
        out = withdraw_upload(_connect(args), args.upload_id, by=cli_actor(), role=CLI_ROLE, settings=_settings(args))
    except (NotFound, AlreadyWithdrawn) as e:
        _err(str(e))
        return EXIT_REFUSED
    u = out["upload"]
    _err(f"withdrew upload {u['id']} ({u['kind']}, {u['file_name']}): its months no longer count")
    for uid, months in out["fallback"].items():
        _err(f"  upload {uid} is current again for {', '.join(months)}")
    if out["empty"]:
        _err(f"  no other upload covers {', '.join(out['empty'])}: no data for those months")
    _err(f"  kpi restore {u['id']} brings it back")
    return EXIT_OK


def cmd_key_check(args) -> int:
    from metrics.pseudonym import key_status

    conn = _existing_store(args)
    if conn is None:
        return EXIT_REFUSED
    ok, message = key_status(conn, _settings(args))
    print(f"{'OK' if ok else 'FAIL'}: {message}")
    return EXIT_OK if ok else EXIT_REFUSED


def store_checks(conn: sqlite3.Connection, settings) -> list[tuple[str, bool, str]]:
    """Every check ``kpi check`` runs: (name, ok, plain sentence). A check that cannot run fails."""
    from metrics.audit import verify_chain
    from metrics.pseudonym import key_status
    from metrics.store import MIGRATIONS, schema_version

    def integrity() -> tuple[bool, str]:
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
    conn = _existing_store(args)
    if conn is None:
        return EXIT_REFUSED
    results = store_checks(conn, _settings(args))
    for name, ok, message in results:
        print(f"{'OK  ' if ok else 'FAIL'}  {name}: {message}")
    return EXIT_OK if all(ok for _, ok, _ in results) else EXIT_REFUSED


def _register_store_commands(sub, common) -> None:
    s = sub.add_parser("withdraw", parents=[common], help="take an upload out of use (admin; kpi restore undoes it)")
    s.add_argument("upload_id", type=int, metavar="UPLOAD_ID")
    s.set_defaults(func=cmd_withdraw)

    s = sub.add_parser("key", parents=[common], help="the pseudonymisation key")
    key_sub = s.add_subparsers(dest="key_command", required=True, metavar="SUBCOMMAND")
    k = key_sub.add_parser("check", parents=[common], help="does the configured key match the store? (exit 0/1)")
    k.set_defaults(func=cmd_key_check)

    s = sub.add_parser("check", parents=[common], help="integrity, schema version, key and audit chain (exit 0/1)")
    s.set_defaults(func=cmd_check)


def cmd_demo(args) -> int:
    from metrics.demo_store import build_demo

    path = _db_path(args)
    if path.exists() and not args.replace:
        from metrics.store import connect, list_uploads

        if list_uploads(connect(path)):
            _err(f"{path} already holds uploads; use --replace to rebuild it from the demo data.")
            return EXIT_REFUSED
    summary = build_demo(path, replace=args.replace)
    _err(f"demo store built at {path}: {summary['uploads']} uploads, {summary['rows']} rows "
         f"(synthetic data, {summary['first']} to {summary['last']})")
    return EXIT_OK


def serve_command(port: int, cwd: Path | None = None) -> list[str]:
    """``streamlit run`` for the dashboard, with every option of the project's ``.streamlit/config.toml``
    passed as a flag — so the config holds wherever ``kpi serve`` is started from (Streamlit itself
    only reads ``.streamlit/`` in the current folder). An option also set as a ``STREAMLIT_*``
    environment variable is left to it. Secrets (sign-in) are read from the project's
    ``.streamlit/secrets.toml`` and then the current folder's, as Streamlit does for the latter.
    """
    import os
    import re
    import tomllib

    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "streamlit", "run", str(root / "dashboard" / "app.py"),
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    config = root / ".streamlit" / "config.toml"
    options = tomllib.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
    for section, values in options.items():
        for key, value in values.items():
            env = f"STREAMLIT_{section}_{re.sub(r'(?<!^)(?=[A-Z])', '_', key)}".upper()
            if f"--{section}.{key}" in cmd or env in os.environ or isinstance(value, (dict, list)):
                continue
            cmd += [f"--{section}.{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    here = (cwd or Path.cwd()).resolve()
    secrets = dict.fromkeys([Path.home() / ".streamlit" / "secrets.toml", root / ".streamlit" / "secrets.toml",
                             here / ".streamlit" / "secrets.toml"])
    if "STREAMLIT_SECRETS_FILES" not in os.environ:
        for f in secrets:
            cmd += ["--secrets.files", str(f)]
    return cmd


def cmd_serve(args) -> int:
    """Replace this process with Streamlit (exec): a SIGTERM or Ctrl-C to ``kpi serve`` reaches the
    server itself, and nothing is left running behind it."""
    import os

    env = dict(os.environ)
    if args.db:
        env["KPI_DB_PATH"] = str(Path(args.db).resolve())
    cmd = serve_command(args.port)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(cmd[0], cmd, env)
    return EXIT_OK  # pragma: no cover - execve does not return


# --- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help="the SQLite store (default: KPI_DB_PATH or data/kpi.sqlite)")
    p = argparse.ArgumentParser(prog="kpi", description="Intervention KPI store and reports.", parents=[common])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", parents=[common], help="validate and load extracts")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--kind", choices=_kinds(), help="extract kind (default: detected from the headers)")
    s.add_argument("--month", help="snapshot month YYYY-MM")
    s.add_argument("--months", help="event period YYYY-MM..YYYY-MM")
    s.add_argument("--allow-empty", action="store_true",
                   help="let a file with no rows replace months that hold data")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("uploads", parents=[common], help="upload history")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_uploads)

    s = sub.add_parser("restore", parents=[common], help="make an earlier upload current again")
    s.add_argument("upload_id", type=int, metavar="UPLOAD_ID")
    s.set_defaults(func=cmd_restore)

    _register_store_commands(sub, common)
    for register in _extra_commands():
        register(sub, common)

    s = sub.add_parser("demo", parents=[common], help="build the store from the synthetic demo extracts")
    s.add_argument("--replace", action="store_true", help="delete an existing store first")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("serve", parents=[common], help="start the dashboard")
    s.add_argument("--port", type=int, default=8501)
    s.set_defaults(func=cmd_serve)
    return p


def _kinds() -> list[str]:
    from metrics.contract import KINDS

    return list(KINDS)


def _extra_commands():
    """Commands owned by other modules: each module exposes register_cli(subparsers, common)."""
    import importlib

    out = []
    for name in ("metrics.cli_metrics", "metrics.cli_review", "metrics.cli_boardpack"):
        try:
            out.append(importlib.import_module(name).register_cli)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "db"):
        args.db = None
    from metrics.issues import Refused

    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        _err(f"kpi: {e}")
        return EXIT_USAGE
    except Refused as r:
        for e in r.errors:
            _err(f"kpi: {e.as_dict()['message']}")
        return EXIT_USAGE if all(e.rule == "bad_option" for e in r.errors) else EXIT_REFUSED
    except sqlite3.OperationalError as e:
        from metrics.store import DISK_FULL

        if "full" in str(e):
            _err(f"kpi: {DISK_FULL}")
        elif "readonly" in str(e):
            _err("kpi: the store is read-only (file or folder permissions); it can be read but not changed. "
                 "Nothing was changed.")
        else:
            _err(f"kpi: the store could not be used ({e}). Nothing was changed.")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # never a traceback for a user; KPI_DEBUG=1 shows it for developers
        import os

        if os.environ.get("KPI_DEBUG"):
            raise
        _err(f"kpi: the command failed ({type(e).__name__}: {e}). Nothing was changed. "
             "Set KPI_DEBUG=1 to see the details.")
        return EXIT_REFUSED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
