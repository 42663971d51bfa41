"""Build a store from the synthetic demo extracts, through the same ingest path as real uploads."""

from __future__ import annotations

import tempfile
from pathlib import Path

from metrics import store
from metrics.demo import DEMO_FIRST_MONTH, DEMO_LAST_MONTH, generate
from metrics.ingest import ingest_path
from metrics.pseudonym import DEMO_KEY, FINGERPRINT_META, fingerprint
from metrics.settings import get_settings

DEMO_UPLOADER = "demo (synthetic data)"


class DemoBuildError(RuntimeError):
    pass


def build_demo(path: str | Path, *, replace: bool = False, seed: int = 2023) -> dict:
    """Build the demo store at ``path``. ``replace`` deletes an existing store first — only a demo store or
    one holding no uploads: a store of real data (any other key) is refused, never deleted. ``path`` may be a
    PostgreSQL store URL (``metrics.pg``; ``replace`` is for SQLite files only)."""
    from metrics.pg import is_url

    if is_url(path):
        if replace:
            raise ValueError("--replace deletes a SQLite file; for a PostgreSQL store name a new schema (#name)")
        target = {"db_url": path}
    else:
        path = Path(path)
        if replace and path.exists():
            _refuse_unless_demo(path)
        if replace:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        target = {"db_path": path}
    settings = get_settings().model_copy(update={**target, "pseudonym_key": DEMO_KEY})
    conn = store.connect(path)
    with store.transaction(conn):  # first: the key check then lets only demo-key uploads in
        store.set_meta(conn, "demo", "1")
    uploads = rows = 0
    with tempfile.TemporaryDirectory(prefix="kpi-demo-") as d:
        for f in generate(Path(d), seed=seed):
            r = ingest_path(conn, f, uploaded_by=DEMO_UPLOADER, settings=settings)
            if not r.ok:  # the generator and the contract disagree: a bug, say so plainly
                first = r.errors[0]
                raise DemoBuildError(f"demo file {f.name} was refused: {first.rule} at row {first.row}: {first.message}")
            uploads += 1
            rows += r.rows
    conn.close()
    return {"uploads": uploads, "rows": rows, "first": DEMO_FIRST_MONTH, "last": DEMO_LAST_MONTH}


def _refuse_unless_demo(path: Path) -> None:
    conn = store.connect(path, migrate_schema=False)
    try:
        has_meta = store.has_table(conn, "store_meta")
        has_uploads = has_meta and conn.execute("SELECT 1 FROM uploads LIMIT 1").fetchone()
        if not has_uploads:
            return
        recorded = store.get_meta(conn, FINGERPRINT_META)
        if store.is_demo(conn) and recorded in (None, fingerprint(DEMO_KEY.encode())):
            return
    finally:
        conn.close()
    raise store.StoreProblem("key_mismatch", f"{path} holds real uploads (not under the demo key); `kpi demo "
                             "--replace` will not delete it. Build the demo store in another file (--db).")
