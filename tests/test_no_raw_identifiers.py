"""No raw case identifier is ever written anywhere: store, logs, exports or error reports.

Every good fixture and example file, and a generated file of distinctive identifiers for every identifier
column, are ingested into a fresh store under the test key (plus a refused file, through the CLI and the
upload page). Then every byte the store keeps on disk, everything logged or printed, the CSV exports
(review table, KPI series, breakdowns, audit trail) and the upload page's error report are searched for
each raw child, worker, assessment, conference, audit and complaint id.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import logging
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpi_cli import main as cli
from metrics import store
from metrics.contract import KINDS, normalise_header
from metrics.export import safe_csv
from metrics.ingest import ingest_bytes, ingest_path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
SOURCES = sorted((ROOT / "tests" / "fixtures" / "good").glob("*.csv")) + sorted((ROOT / "data" / "examples").glob("*.csv"))
ID_COLUMNS = {"child_id", "worker_id", "assessment_id", "conference_id", "audit_id", "complaint_id"}
SNAPSHOT = {k for k, v in KINDS.items() if v.period == "snapshot"}
EVENTS = {k for k, v in KINDS.items() if v.period == "event"}

# one accepted file per kind with identifiers nobody else uses (so a hit cannot be a coincidence)
GENERATED = {
    "workforce": ("worker_id,role,agency,fte,team\n"
                  + "".join(f"W77700{i:02d},case_holder,{'Y' if i % 3 else 'N'},1,East\n" for i in range(1, 9)),
                  {"month": "2023-04"}),
    "assessments": ("assessment_id,child_id,start_date,completed_date,nfa,team\n"
                    + "".join(f"A55500{i:02d},C99900{i:02d},2023-04-03,2023-04-20,N,North\n" for i in range(1, 9)), {}),
    "conferences": ("conference_id,child_id,conference_type,conference_date,format\n"
                    + "".join(f"K44400{i:02d},C99900{i:02d},initial,2023-04-12,hybrid\n" for i in range(1, 9)), {}),
    "audits": ("audit_id,audit_date,grade,child_id,team\n"
               + "".join(f"U33300{i:02d},2023-04-20,good,C99900{i:02d},South\n" for i in range(1, 9)), {}),
    "complaints": ("complaint_id,received_date,closed_date,stage\n"
                   + "".join(f"Q22200{i:02d},2022-06-01,,1\n" for i in range(1, 9)), {"month": "2023-04"}),
    "allocations": ("child_id,worker_id,start_date,end_date,change_reason\n"
                    + "".join(f"C99900{i:02d},W77700{i:02d},2022-11-14,,\n" for i in range(1, 9)), {"month": "2023-04"}),
}
# refused: a duplicate key, an impossible date, a date-order error and a bad yes/no, each on a row whose
# identifiers are distinctive; the report must point at rows without printing them
REFUSED = ("assessment_id,child_id,start_date,completed_date,nfa\n"
           "A5559001,C9999001,2023-04-03,2023-04-20,N\n"
           "A5559001,C9999002,2023-04-03,2023-04-21,N\n"
           "A5559003,C9999003,2023-04-31,2023-04-22,N\n"
           "A5559004,C9999004,2023-04-25,2023-04-05,N\n"
           "A5559005,C9999005,2023-04-03,2023-04-23,maybe\n")


def raw_ids(text: str) -> set[str]:
    """Every value in an identifier column (any accepted alias) of a CSV text."""
    aliases = {h: c for k in KINDS.values() for h, c in k.header_map().items() if c in ID_COLUMNS}
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(x.strip() for x in r)]
    header = [normalise_header(h) for h in rows[0]]
    cols = [i for i, h in enumerate(header) if h in aliases]
    return {r[i].strip() for r in rows[1:] for i in cols if i < len(r) and r[i].strip()}


def read_text(path: Path) -> str:
    data = path.read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode(enc)
    raise AssertionError(f"cannot read {path}")


def assert_no_raw(blob: bytes | str, ids: set[str], where: str) -> None:
    data = blob.encode("utf-8") if isinstance(blob, str) else blob
    found = sorted(i for i in ids if i.encode("utf-8") in data)
    assert not found, f"raw identifiers in {where}: {found[:10]}"


def page_text(at: AppTest) -> str:
    parts = []
    for node in [*at.main, *at.sidebar]:
        if node.type in ("dataframe", "table"):  # the error report's groups are wrapping tables (issue 15)
            parts.append(node.value.to_csv())
        for attr in ("value", "label", "options", "body"):
            with contextlib.suppress(Exception):
                v = getattr(node, attr)
                if isinstance(v, str | list | tuple):
                    parts.append(str(v))
    return "\n".join(parts)


@pytest.mark.slow
def test_no_raw_identifier_anywhere(fresh_db, settings, monkeypatch, caplog, capsys, raw_store_bytes):
    caplog.set_level(logging.DEBUG)
    from metrics.settings import get_settings

    monkeypatch.setenv("KPI_AUTH_MODE", "local")  # the upload page, as the local admin
    get_settings.cache_clear()
    settings_ = get_settings()
    assert settings_.db_path == settings.db_path
    ids: set[str] = set()

    # 1. ingest every fixture, every example and the generated files
    with contextlib.closing(store.connect(fresh_db)) as conn:
        for f in SOURCES:
            ids |= raw_ids(read_text(f))
            kind = f.stem.split("_")[0]
            opts = {"month": "2023-04"} if kind in SNAPSHOT and "snapshot_date" not in read_text(f).splitlines()[0] else {}
            if kind in EVENTS:  # the fixtures reuse ids across months: each replaces the months they all cover
                opts = {"months": ("2023-04", "2023-05")}
            r = ingest_path(conn, f, uploaded_by="tester", settings=settings_, **opts)
            assert r.ok, (f.name, [e.as_dict() for e in r.errors[:3]])
        for kind, (text, opts) in GENERATED.items():
            ids |= raw_ids(text)
            r = ingest_bytes(conn, text.encode(), f"{kind}-generated.csv", kind=kind, uploaded_by="tester",
                             settings=settings_, **opts)
            assert r.ok, (kind, [e.as_dict() for e in r.errors[:3]])
    refused_ids = raw_ids(REFUSED)
    ids |= refused_ids
    assert {"C9990001", "W7770001", "A5550001", "K4440001", "U3330001", "Q2220001", "C000123", "AU0001"} <= ids
    assert all(len(i) >= 5 and any(c.isupper() for c in i) for i in ids), "ids must be distinctive to search for"

    # 2. the CLI: refused ingest (error output) and the review JSON, printed to stdout/stderr
    refused_file = fresh_db.parent / "refused-assessments.csv"
    refused_file.write_text(REFUSED)
    assert cli.main(["ingest", str(refused_file), "--db", str(fresh_db)]) != 0
    for args in (["review", "--at", "2023-05-01", "--json"], ["review", "--at", "2023-05-01"],
                 ["uploads"], ["metrics"]):
        with contextlib.suppress(SystemExit):
            cli.main([*args, "--db", str(fresh_db)])
    gc.collect()
    refused_file.unlink()

    # 3. exports: review table, series, breakdowns, secondary measures, audit trail, refused-file report
    from dashboard.components.review import review_export_frame
    from metrics.audit import audit_frame
    from metrics.compute import BREAKDOWNS, breakdown, compute_series, secondary_series
    from metrics.reviews import review_board

    exports: dict[str, bytes] = {}
    with contextlib.closing(store.connect(fresh_db)) as conn:
        for at in ("2023-05-01", "2023-06-01"):
            exports[f"review {at}"] = safe_csv(review_export_frame(review_board(conn, at)))
        exports["series"] = safe_csv(compute_series(conn))
        exports["secondary"] = safe_csv(secondary_series(conn))
        for metric, bys in BREAKDOWNS.items():
            for by in bys:
                exports[f"breakdown {metric} {by}"] = safe_csv(breakdown(conn, metric, by=by))
        exports["audit trail"] = safe_csv(audit_frame(conn))
        report = ingest_bytes(conn, REFUSED.encode(), "refused.csv", commit=False, settings=settings_)
    assert not report.ok and len(report.errors) >= 4
    exports["problems report"] = safe_csv(pd.DataFrame([e.as_dict() for e in report.errors]))
    for name, data in exports.items():
        assert_no_raw(data, ids, f"the {name} export")

    # 4. the upload page's error report for the refused file
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("views/upload.py").run()
    at.get("file_uploader")[0].set_value(("refused.csv", REFUSED.encode(), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = page_text(at)
    assert "Refused" in shown and "Record appears more than once" in shown  # the rule in words (issue 15)
    assert_no_raw(shown, refused_ids | ids, "the upload page")
    del at
    gc.collect()

    # 5. logs and console output captured during all of the above
    out, err = capsys.readouterr()
    assert_no_raw(caplog.text + out + err, ids, "logs and console output")

    # 6. every byte of the store: before and after folding the WAL into the main file
    assert_no_raw(raw_store_bytes(fresh_db), ids, "the store (with its WAL)")
    with contextlib.closing(sqlite3.connect(fresh_db)) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert_no_raw(raw_store_bytes(fresh_db), ids, "the store (checkpointed)")
    # and the pseudonyms really are there instead (so the search looked at the right bytes)
    with contextlib.closing(sqlite3.connect(fresh_db)) as c:
        assert c.execute("SELECT count(DISTINCT child_id) FROM rec_assessments").fetchone()[0] >= 8


@pytest.mark.parametrize("value", ["C9990001", "W7770001"])
def test_the_search_would_find_a_raw_identifier(value):
    """The byte search is not vacuous: a store holding a raw id is caught."""
    with pytest.raises(AssertionError, match=value):
        assert_no_raw(f"x,{value},y".encode(), {value}, "a planted file")
