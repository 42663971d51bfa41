"""``kpi demo`` and ``kpi serve``: the synthetic demo store and the dashboard."""

from __future__ import annotations

import sys
from pathlib import Path

from kpi_cli.common import EXIT_OK, EXIT_REFUSED, db_path, err
from metrics.pg import is_url


def cmd_demo(args) -> int:
    from metrics.demo_store import build_demo

    if args.councils:
        return _demo_councils(args)
    from kpi_cli.common import store_target

    if is_url(str(store_target(args))):
        path = store_target(args)  # a PostgreSQL schema: building into one that holds uploads is refused below
        from metrics.store import connect, list_uploads

        if list_uploads(connect(path)):
            err("That store already holds uploads; build the demo in a new schema (…#demo).")
            return EXIT_REFUSED
        summary = build_demo(path)
        err(f"demo store built: {summary['uploads']} uploads, {summary['rows']} rows, "
            f"{summary['actions']} sample actions")
        return EXIT_OK
    path = db_path(args)
    if path.exists() and not args.replace:
        from metrics.store import connect, list_uploads

        if list_uploads(connect(path)):
            err(f"{path} already holds uploads; use --replace to rebuild it from the demo data.")
            return EXIT_REFUSED
    summary = build_demo(path, replace=args.replace)
    err(f"demo store built at {path}: {summary['uploads']} uploads, {summary['rows']} rows "
        f"(synthetic data, {summary['first']} to {summary['last']}), {summary['actions']} sample actions")
    return EXIT_OK


def _demo_councils(args) -> int:
    """``kpi demo --councils 884,881,880``: a synthetic demo store per council and the KPI_COUNCILS file."""
    from metrics.demo_store import DemoBuildError, build_demo_councils
    from metrics.settings import get_settings

    folder = Path(args.folder) if args.folder else get_settings().db_path.parent / "demo-councils"
    try:
        out = build_demo_councils(args.councils.split(","), folder, replace=args.replace)
    except (ValueError, DemoBuildError) as e:
        err(f"kpi: {str(e).rstrip('.')}. Nothing was built.")
        return EXIT_REFUSED
    err(f"demo councils built in {folder} (synthetic data). See them side by side with:\n"
        f"  KPI_COUNCILS={out} KPI_AUTH_MODE=local kpi serve")
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
    if args.db and is_url(str(args.db)):
        env["KPI_DB_URL"] = str(args.db)
    elif args.db:
        env["KPI_DB_PATH"] = str(Path(args.db).resolve())
        env.pop("KPI_DB_URL", None)  # --db names this file, whatever the environment says
    cmd = serve_command(args.port)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(cmd[0], cmd, env)
    return EXIT_OK  # pragma: no cover - execve does not return


def register(sub, common) -> None:
    s = sub.add_parser("demo", parents=[common], help="build the store from the synthetic demo extracts")
    s.add_argument("--replace", action="store_true", help="delete an existing store first")
    s.add_argument("--councils", metavar="CODES", help="several synthetic councils instead, e.g. 884,881,880: a demo "
                   "store each and the KPI_COUNCILS file naming them (for the portfolio page)")
    s.add_argument("--folder", help="where --councils builds (default: data/demo-councils)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("serve", parents=[common], help="start the dashboard")
    s.add_argument("--port", type=int, default=8501)
    s.set_defaults(func=cmd_serve)
