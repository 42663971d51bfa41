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


# --- commands --------------------------------------------------------------------------------


def cmd_ingest(args) -> int:
    from metrics.ingest import ingest_path
    from metrics.validate import parse_month, parse_months

    month = parse_month(args.month) if args.month else None
    months = parse_months(args.months) if args.months else None
    if month and months:
        raise UsageError("Give --month or --months, not both.")
    conn = _connect(args)
    settings = _settings(args)
    results = []
    for f in args.files:
        r = ingest_path(conn, f, kind=args.kind, month=month, months=months, settings=settings)
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
        u = restore_upload(_connect(args), args.upload_id, by=_settings(args).user)
    except NotFound as e:
        _err(str(e))
        return EXIT_REFUSED
    _err(f"restored upload {u['id']} ({u['kind']} {', '.join(u['months'])}) as current")
    return EXIT_OK


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
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("uploads", parents=[common], help="upload history")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_uploads)

    s = sub.add_parser("restore", parents=[common], help="make an earlier upload current again")
    s.add_argument("upload_id", type=int, metavar="UPLOAD_ID")
    s.set_defaults(func=cmd_restore)

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
