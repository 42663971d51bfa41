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

#: The demo's sample actions (synthetic): (review agreed at, KPI, title, owner, due, updates), each update
#: (status, note) added after the action, as a user would mark progress. Some done, some open, and one still
#: in progress past its due date — overdue at the later reviews (the Mar 2025 review the demo opens on).
DEMO_ACTIONS: tuple[tuple[str, str, str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("2023-06-01", "agency_rate", "Convert agency posts in the assessment teams to permanent posts",
     "Workforce team", "2023-12-31",
     (("in_progress", "Recruitment campaign launched (synthetic demo)."),
      ("done", "Posts converted; agency share falling (synthetic demo)."))),
    ("2023-09-01", "audits_good_or_better", "Monthly moderation panel for practice audits, with feedback to teams",
     "Quality Assurance Unit", "2024-03-31",
     (("done", "Panel meeting monthly since January (synthetic demo)."),)),
    ("2024-06-01", "face_to_face_conferences", "Hold child protection conferences in person by default",
     "Head of Service, Safeguarding", "2024-09-30",
     (("in_progress", "Rooms booked in two localities; the third is still online (synthetic demo)."),)),
    ("2024-12-01", "historic_complaints_outstanding", "Close the historic complaints still at stage 1",
     "Customer Feedback team", "2025-05-31", ()),
    ("2025-03-01", "audits_good_or_better", "Refresh practice standards training for team managers",
     "Practice Development team", "2025-06-30", ()),
)


class DemoBuildError(RuntimeError):
    pass


def build_demo(path: str | Path, *, replace: bool = False, seed: int = 2023, council=None, pace: float = 1.0,
               actions: bool = True) -> dict:
    """Build the demo store at ``path``. ``replace`` deletes an existing store first — only a demo store or
    one holding no uploads: a store of real data (any other key) is refused, never deleted. ``path`` may be a
    PostgreSQL store URL (``metrics.pg``; ``replace`` is for SQLite files only). ``council``
    (``metrics.councils.Council``): the council the store is built for (default: the deployment's one). ``pace``:
    how fast the synthetic council improves (``metrics.demo.generate``). ``actions``: add the sample actions
    (:func:`add_demo_actions`)."""
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
        target = {"db_path": path, "db_url": None}
    settings = (council.settings() if council else get_settings()).model_copy(
        update={**target, "pseudonym_key": DEMO_KEY})
    conn = store.connect(path)
    with store.transaction(conn):  # first: the key check then lets only demo-key uploads in
        store.set_meta(conn, "demo", "1")
    uploads = rows = 0
    with tempfile.TemporaryDirectory(prefix="kpi-demo-") as d:
        for f in generate(Path(d), seed=seed, pace=pace):
            r = ingest_path(conn, f, uploaded_by=DEMO_UPLOADER, settings=settings)
            if not r.ok:  # the generator and the contract disagree: a bug, say so plainly
                first = r.errors[0]
                raise DemoBuildError(f"demo file {f.name} was refused: {first.rule} at row {first.row}: {first.message}")
            uploads += 1
            rows += r.rows
    n_actions = add_demo_actions(conn) if actions else 0
    conn.close()
    return {"uploads": uploads, "rows": rows, "first": DEMO_FIRST_MONTH, "last": DEMO_LAST_MONTH,
            "actions": n_actions}


def add_demo_actions(conn) -> int:
    """Add :data:`DEMO_ACTIONS` to the demo store through the actions log's own functions
    (``metrics.actions.add_action`` / ``add_update``: validated and audited as a user's, by
    :data:`DEMO_UPLOADER`). Returns how many actions were added."""
    from metrics.actions import add_action, add_update

    for checkpoint, kpi, title, owner, due, updates in DEMO_ACTIONS:
        action = add_action(conn, checkpoint, kpi, title, owner, due, DEMO_UPLOADER)
        for status, note in updates:
            add_update(conn, action, DEMO_UPLOADER, status=status, note=note)
    return len(DEMO_ACTIONS)


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


#: How fast each demo council improves, in the order the councils are given (1 = the demo's own story).
DEMO_PACES = (1.0, 0.45, 1.15, 0.7, 0.9)


def build_demo_councils(codes: list[str], folder: str | Path, *, replace: bool = False) -> Path:
    """Synthetic demo stores for several councils, to see the portfolio page: ``folder/<code>/kpi.sqlite``,
    each from its own seed and improving at its own pace (:data:`DEMO_PACES`, in the order given: so the
    councils' verdicts differ), each bound to its council and named "<LA name>
    (synthetic demo)"; and ``folder/councils.json`` naming them — point KPI_COUNCILS at that file. Every
    code must be a DfE LA code with published benchmarks. Returns the path of councils.json."""
    import json

    from metrics.benchmarks import la_info, statistical_neighbours
    from metrics.councils import LA_CODE, Council, bind_store

    folder = Path(folder)
    codes = [str(c).strip() for c in codes if str(c).strip()]
    if len(set(codes)) != len(codes) or not codes:
        raise ValueError("Give each council once, e.g. --councils 884,881,880.")
    entries = {}
    for code in codes:
        if not LA_CODE.fullmatch(code):
            raise ValueError(f"'{code}' is not a DfE LA code (three digits, e.g. 884).")
        statistical_neighbours(code)  # ValueError: not a current LA with published benchmarks
        entries[code] = {"name": f"{la_info(code)['la_name']} (synthetic demo)",
                         "db": str((folder / code / "kpi.sqlite").resolve()),
                         "key_file": str((folder / code / "pseudonym.key").resolve())}
    for n, (code, e) in enumerate(entries.items()):
        path = Path(e["db"])
        if path.exists() and not replace:
            conn = store.connect(path)
            held = store.list_uploads(conn)
            conn.close()
            if held:
                raise DemoBuildError(f"{path} already holds uploads; use --replace to rebuild it from the demo data.")
        c = Council(code, e["name"], e["db"], Path(e["key_file"]))
        build_demo(path, replace=replace or path.exists(), seed=int(code), council=c,
                   pace=DEMO_PACES[n % len(DEMO_PACES)])
        conn = store.connect(path)
        bind_store(conn, c, record=True)
        conn.close()
    out = folder / "councils.json"
    out.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    return out
