"""What the pack and report tests share (``from helpers_packs import …``): a module's settings and the
``kpi`` command run in-process."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from metrics.settings import get_settings


@contextlib.contextmanager
def pack_settings(home: Path):
    """Settings for a module's stores, run from ``home``: a fixed uploader name and no stray .env or keys."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        for name in ("KPI_KEY_FILE", "KPI_DEMO_MODE", "KPI_PSEUDONYM_KEY"):
            mp.delenv(name, raising=False)
        mp.setenv("KPI_USER", "tester")
        mp.setenv("KPI_DB_PATH", str(home / "unused.sqlite"))
        mp.chdir(home)
        get_settings.cache_clear()
        yield home
    get_settings.cache_clear()


def run_kpi(*argv) -> tuple[int, str, str]:
    """``kpi ARGV…`` in this process: (exit code, stdout, stderr); usage errors give their code."""
    from kpi_cli import main as cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def with_evidence(path: Path, review, entries: list[tuple[str, str, dict]]) -> Path:
    """The store at ``path`` with evidence added at ``review``: each entry (body, author, {kpi=… or
    tor_item=…, or nothing for the review as a whole})."""
    from metrics.evidence import add_entry
    from metrics.store import connect

    with contextlib.closing(connect(path)) as conn:
        for body, author, about in entries:
            add_entry(conn, review, body, author, **about)
    return path
