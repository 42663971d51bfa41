"""Ingest against the upload contract (shared/spec/extracts.md): what is accepted, exactly how it is
stored, and that everything else is refused whole with every error named and nothing changed."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import importlib.util
import io
import re
import shutil
from pathlib import Path

import pytest

from testkeys import TEST_KEY
from metrics import store
from metrics.contract import KINDS, RULES
from metrics.ingest import Batch, IngestResult, ingest_bytes, ingest_path
from metrics.issues import Refused, mask
from metrics.months import month_end, month_range
from metrics.settings import Settings
from metrics.validate import Window, parse_month, parse_months
import pg_support

pytestmark = pytest.mark.both_engines

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOOD = FIXTURES / "good"
BAD = FIXTURES / "bad"


# --- helpers ---------------------------------------------------------------------------------


def _opts(month: str | None = None, months: str | None = None, kind: str | None = None) -> dict:
    return {"kind": kind, "month": month, "months": parse_months(months) if months else None}


def ingest(db: Path, source: bytes | Path, settings, name: str = "upload.csv", *, allow_empty: bool = False,
           batch=None, **opts) -> IngestResult:
    """Ingest bytes or a file with its own connection, closed afterwards (so the store bytes settle)."""
    conn = store.connect(db)
    extra = {"settings": settings, "allow_empty": allow_empty, "batch": batch}
    try:
        if isinstance(source, Path):
            return ingest_path(conn, source, **extra, **_opts(**opts))
        return ingest_bytes(conn, source, name, **extra, **_opts(**opts))
    finally:
        conn.close()


def current(db: Path, kind: str) -> list[dict]:
    """read_current as plain, sorted records (NULL/NaN → None) for comparison."""
    conn = store.connect(db)
    try:
        df = store.read_current(conn, kind)
    finally:
        conn.close()
    df = df.astype(object).where(df.notna(), None)
    return sorted(df.to_dict("records"), key=lambda r: [str(v) for v in r.values()])


def csv_bytes(rows: list[dict], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def error_triples(r: IngestResult) -> list[tuple]:
    return sorted(((e.rule, e.row, e.column) for e in r.errors), key=str)


def assert_accepted(r: IngestResult) -> None:
    assert r.status == "accepted", [(e.rule, e.row, e.column, e.message) for e in r.errors]
    assert r.upload_id is not None and not r.errors


def expected_records(kind: str, raw: list[dict], pseudo) -> list[dict]:
    """The stored form of raw records: pseudonymised identifier columns (as the contract requires)."""
    out = []
    for rec in raw:
        rec = dict(rec)
        for col in KINDS[kind].columns:
            if col.pseudonymise and rec.get(col.name) is not None:
                rec[col.name] = pseudo(rec[col.name], col.name)
        out.append(rec)
    return sorted(out, key=lambda r: [str(v) for v in r.values()])


# --- every kind round-trips, canonical headers and each alias family -------------------------

WORKFORCE = [
    dict(month="2023-04", worker_id="W000123", role="case_holder", agency=0, fte=0.8, team="Safeguarding East",
         start_date="2021-09-01", end_date=None),
    dict(month="2023-04", worker_id="W000124", role="team_manager", agency=1, fte=1.0, team="Safeguarding East",
         start_date="2023-04-01", end_date="2023-04-28"),
    dict(month="2023-04", worker_id="W000125", role="other", agency=0, fte=0.5, team=None, start_date=None,
         end_date=None),
    dict(month="2023-04", worker_id="W000126", role="senior_practitioner", agency=0, fte=1.0, team="Assessment North",
         start_date="2019-01-07", end_date=None),
]
ASSESSMENTS = [
    dict(month="2023-04", assessment_id="A0001", child_id="C000123", start_date="2023-04-03",
         completed_date="2023-04-28", nfa=0, team="Assessment North"),
    dict(month="2023-05", assessment_id="A0002", child_id="C000124", start_date="2023-04-11",
         completed_date="2023-05-02", nfa=1, team=None),
    dict(month="2023-05", assessment_id="A0003", child_id="C000123", start_date="2023-05-01",
         completed_date="2023-05-31", nfa=0, team="Assessment South"),
]
CONFERENCES = [
    dict(month="2023-04", conference_id="CP0001", child_id="C000123", conference_type="initial",
         conference_date="2023-04-12", format="face_to_face"),
    dict(month="2023-04", conference_id="CP0001", child_id="C000124", conference_type="initial",
         conference_date="2023-04-12", format="hybrid"),
    dict(month="2023-04", conference_id="CP0002", child_id="C000123", conference_type="review",
         conference_date="2023-04-20", format="virtual"),
    dict(month="2023-04", conference_id="CP0003", child_id="C000125", conference_type="review",
         conference_date="2023-04-27", format="virtual"),
]
ALLOCATIONS = [
    dict(month="2023-04", child_id="C000123", worker_id="W000123", start_date="2022-11-14", end_date="2023-02-01",
         change_reason="LEFTRL"),
    dict(month="2023-04", child_id="C000123", worker_id="W000124", start_date="2023-02-01", end_date=None,
         change_reason=None),
    dict(month="2023-04", child_id="C000124", worker_id="W000123", start_date="2023-03-15", end_date=None,
         change_reason="ORGRST"),
]
AUDITS = [
    dict(month="2023-04", audit_id="AU0001", audit_date="2023-04-20", grade="good", child_id="C000123",
         team="Child Protection South"),
    dict(month="2023-04", audit_id="AU0002", audit_date="2023-04-21", grade="requires_improvement", child_id=None,
         team=None),
    dict(month="2023-04", audit_id="AU0003", audit_date="2023-04-21", grade="outstanding", child_id="C000124",
         team="Child Protection South"),
    dict(month="2023-04", audit_id="AU0004", audit_date="2023-04-24", grade="inadequate", child_id="C000125",
         team=None),
    dict(month="2023-04", audit_id="AU0005", audit_date="2023-04-25", grade="requires_improvement",
         child_id="C000126", team=None),
]
COMPLAINTS = [
    dict(month="2023-04", complaint_id="CO0001", received_date="2022-06-01", closed_date=None, stage="1"),
    dict(month="2023-04", complaint_id="CO0002", received_date="2022-07-01", closed_date="2023-04-03",
         stage="ombudsman"),
    dict(month="2023-04", complaint_id="CO0003", received_date="2023-01-01", closed_date=None, stage=None),
]
MILESTONES = [
    dict(month="2023-04", milestone_id="M001", tor_ref="2a", title="Practice standards launched",
         due_date="2023-06-30", completed_date=None, status="on_track"),
    dict(month="2023-04", milestone_id="M002", tor_ref="2b-vii", title="SEND strategy published",
         due_date="2023-03-31", completed_date="2023-03-20", status="complete"),
    dict(month="2023-04", milestone_id="M003", tor_ref="4", title="Quality assurance framework",
         due_date="2023-04-30", completed_date=None, status="at_risk"),
]
FIGURES = [
    dict(month="2022-04", metric="agency_rate", numerator=61.5, denominator=112.0),
    dict(month="2022-04", metric="permanent_team_managers", numerator=9.0, denominator=None),
    dict(month="2022-05", metric="assessment_nfa_rate", numerator=30.0, denominator=120.0),
]

ROUND_TRIPS = [
    # file, options, kind, expected rows, months
    ("workforce_canonical.csv", {"month": "2023-04"}, "workforce", WORKFORCE, ["2023-04"]),
    ("workforce_csww.csv", {"month": "2023-04"}, "workforce", WORKFORCE, ["2023-04"]),
    ("workforce_ssd.csv", {"month": "2023-04"}, "workforce", WORKFORCE, ["2023-04"]),
    ("assessments_canonical.csv", {}, "assessments", ASSESSMENTS, ["2023-04", "2023-05"]),
    ("assessments_ssd.csv", {}, "assessments", ASSESSMENTS, ["2023-04", "2023-05"]),
    ("conferences_canonical.csv", {}, "conferences", CONFERENCES, ["2023-04"]),
    ("conferences_icpc.csv", {}, "conferences", CONFERENCES, ["2023-04"]),
    ("conferences_cppr.csv", {}, "conferences", CONFERENCES, ["2023-04"]),
    ("allocations_canonical.csv", {"month": "2023-04"}, "allocations", ALLOCATIONS, ["2023-04"]),
    ("allocations_ssd.csv", {"month": "2023-04"}, "allocations", ALLOCATIONS, ["2023-04"]),
    ("audits_canonical.csv", {}, "audits", AUDITS, ["2023-04"]),
    ("audits_codes.csv", {}, "audits", AUDITS, ["2023-04"]),
    ("complaints_canonical.csv", {"month": "2023-04"}, "complaints", COMPLAINTS, ["2023-04"]),
    ("complaints_snapshot_date.csv", {}, "complaints", COMPLAINTS, ["2023-04"]),
    ("milestones_canonical.csv", {"month": "2023-04"}, "milestones", MILESTONES, ["2023-04"]),
    ("milestones_variants.csv", {"month": "2023-04"}, "milestones", MILESTONES, ["2023-04"]),
    ("figures_canonical.csv", {}, "figures", FIGURES, ["2022-04", "2022-05"]),
    ("figures_variants.csv", {}, "figures", FIGURES, ["2022-04", "2022-05"]),
]


def test_round_trips_cover_every_kind():
    assert {kind for _, _, kind, _, _ in ROUND_TRIPS} == set(KINDS)


@pytest.mark.parametrize(("name", "opts", "kind", "rows", "months"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_good_file_round_trips(name, opts, kind, rows, months, fresh_db, settings, pseudo):
    r = ingest(fresh_db, GOOD / name, settings, **opts)
    assert_accepted(r)
    assert (r.kind, r.months, r.rows, r.warnings) == (kind, months, len(rows), [])
    assert current(fresh_db, kind) == expected_records(kind, rows, pseudo)


def test_snapshot_date_column_is_kept_as_the_snapshot_as_of(fresh_db, settings):
    r = ingest(fresh_db, GOOD / "complaints_snapshot_date.csv", settings)
    assert_accepted(r)
    conn = store.connect(fresh_db)
    assert store.get_upload(conn, r.upload_id)["as_of"] == "2023-04-30"
    conn.close()


# --- encodings, headers, values ---------------------------------------------------------------

ACCENTED = "Équipe £ Nord – café"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize(("kind", "row", "column", "month"), [
    ("workforce", {"worker_id": "W000123", "role": "case_holder", "agency": "N", "fte": "1", "team": ACCENTED},
     "team", "2023-04"),
    ("milestones", {"milestone_id": "M001", "tor_ref": "2a", "title": ACCENTED, "due_date": "2023-06-30"},
     "title", "2023-04"),
])
def test_pound_and_accents_survive_every_accepted_encoding(encoding, kind, row, column, month, fresh_db, settings):
    data = csv_bytes([row], encoding)
    if encoding == "utf-8-sig":
        assert data.startswith(b"\xef\xbb\xbf")
    r = ingest(fresh_db, data, settings, month=month)
    assert_accepted(r)
    assert r.kind == kind  # the BOM does not spoil kind detection from the first header
    assert current(fresh_db, kind)[0][column] == ACCENTED


def test_header_case_space_and_hyphen_variants(fresh_db, settings, pseudo):
    data = (b" Worker-ID ,  ROLE,Agency , f-t-e ,TEAM, Start Date ,end-date\n"
            b"W000123,case_holder,N,1,East,2021-09-01,\n")
    # "f-t-e" normalises to "f_t_e", which is not "fte": an unknown column, so fte is missing
    r = ingest(fresh_db, data, settings, month="2023-04", kind="workforce")
    assert error_triples(r) == [("missing_column", 1, "fte")]
    data = data.replace(b" f-t-e ", b" FTE ")
    r = ingest(fresh_db, data, settings, month="2023-04")
    assert_accepted(r)
    assert current(fresh_db, "workforce") == expected_records("workforce", [dict(
        month="2023-04", worker_id="W000123", role="case_holder", agency=0, fte=1.0, team="East",
        start_date="2021-09-01", end_date=None)], pseudo)


BASE_ROW = {
    "workforce": ({"worker_id": "W000123", "role": "case_holder", "agency": "N", "fte": "1"}, {"month": "2023-04"}),
    "assessments": ({"assessment_id": "A0001", "child_id": "C000123", "start_date": "2023-04-03",
                     "completed_date": "2023-04-28", "nfa": "N"}, {}),
    "conferences": ({"conference_id": "CP0001", "child_id": "C000123", "conference_type": "initial",
                     "conference_date": "2023-04-12", "format": "hybrid"}, {}),
    "audits": ({"audit_id": "AU0001", "audit_date": "2023-04-20", "grade": "good"}, {}),
    "complaints": ({"complaint_id": "CO0001", "received_date": "2022-06-01"}, {"month": "2023-04"}),
    "milestones": ({"milestone_id": "M001", "tor_ref": "2a", "title": "T", "due_date": "2023-06-30"},
                   {"month": "2023-04"}),
    "figures": ({"month": "2023-04", "metric": "permanent_team_managers", "numerator": "3"}, {}),
}


def stored_value(db, settings, kind: str, column: str, raw: str):
    base, opts = BASE_ROW[kind]
    r = ingest(db, csv_bytes([{**base, column: raw}]), settings, **opts)
    assert_accepted(r)
    return current(db, kind)[0][column]


ENUM_ALIASES = [
    ("conferences", "conference_type", "ICPC", "initial"),
    ("conferences", "conference_type", "RCPC", "review"),
    ("conferences", "conference_type", "Review", "review"),
    ("conferences", "format", "in_person", "face_to_face"),
    ("conferences", "format", "Face to face", "face_to_face"),
    ("conferences", "format", "remote", "virtual"),
    ("conferences", "format", "online", "virtual"),
    ("conferences", "format", "HYBRID", "hybrid"),
    ("audits", "grade", "RI", "requires_improvement"),
    ("audits", "grade", "requires improvement to be good", "requires_improvement"),
    ("audits", "grade", "Requires-Improvement", "requires_improvement"),
    ("audits", "grade", "1", "outstanding"),
    ("audits", "grade", "2", "good"),
    ("audits", "grade", "3", "requires_improvement"),
    ("audits", "grade", "4", "inadequate"),
    ("workforce", "role", "1", "senior_manager"),
    ("workforce", "role", "2", "middle_manager"),
    ("workforce", "role", "service_manager", "middle_manager"),
    ("workforce", "role", "3", "team_manager"),
    ("workforce", "role", "first_line_manager", "team_manager"),
    ("workforce", "role", "4", "senior_practitioner"),
    ("workforce", "role", "advanced_practitioner", "senior_practitioner"),
    ("workforce", "role", "5", "case_holder"),
    ("workforce", "role", "Social Worker", "case_holder"),
    ("workforce", "role", "6", "qualified_no_cases"),
    ("workforce", "role", "Qualified-No-Cases", "qualified_no_cases"),
    ("workforce", "role", "OTHER", "other"),
    ("complaints", "stage", "Ombudsman", "ombudsman"),
    ("complaints", "stage", "3", "3"),
    ("milestones", "tor_ref", "2B-VII", "2b-vii"),
    ("milestones", "status", "Off Track", "off_track"),
    ("milestones", "status", "not-started", "not_started"),
    ("figures", "metric", "Permanent Team Managers", "permanent_team_managers"),
]


@pytest.mark.parametrize(("kind", "column", "raw", "canonical"), ENUM_ALIASES,
                         ids=[f"{c}={r}" for _, c, r, _ in ENUM_ALIASES])
def test_enum_alias_is_stored_as_its_canonical_value(kind, column, raw, canonical, fresh_db, settings):
    assert stored_value(fresh_db, settings, kind, column, raw) == canonical


BOOLS = [("Y", 1), ("y", 1), ("Yes", 1), ("YES", 1), ("True", 1), ("TRUE", 1), ("true", 1), ("1", 1),
         ("N", 0), ("n", 0), ("No", 0), ("no", 0), ("False", 0), ("FALSE", 0), ("false", 0), ("0", 0),
         (" yes ", 1), ("  N", 0)]


@pytest.mark.parametrize(("kind", "column"), [("assessments", "nfa"), ("workforce", "agency")])
@pytest.mark.parametrize(("raw", "value"), BOOLS, ids=[repr(b[0]) for b in BOOLS])
def test_booleans_in_every_accepted_spelling(kind, column, raw, value, fresh_db, settings):
    assert stored_value(fresh_db, settings, kind, column, raw) == value


def test_blank_lines_and_all_empty_rows_are_ignored(fresh_db, settings):
    data = (b"\r\nassessment_id,child_id,start_date,completed_date,nfa,team\r\n\r\n"
            b"A0001,C000123,2023-04-03,2023-04-28,N,North\r\n,,,,,\r\n  ,  ,,,,\r\n\r\n"
            b"A0002,C000124,2023-04-03,2023-04-28,Y,\r\n,,,,,\r\n,,,,,\r\n\r\n")
    r = ingest(fresh_db, data, settings)
    assert_accepted(r)
    assert r.rows == 2 and len(current(fresh_db, "assessments")) == 2


def test_empty_rows_below_a_table_on_the_fast_path(fresh_db, settings):
    """No quotes, no CR, no blank line: the pyarrow reader; trailing ',,,,' rows are still ignored."""
    data = b"assessment_id,child_id,start_date,completed_date,nfa,team\nA0001,C000123,2023-04-03,2023-04-28,N,\n,,,,,\n,,,,,\n"
    r = ingest(fresh_db, data, settings)
    assert_accepted(r)
    assert r.rows == 1


def test_cells_are_trimmed(fresh_db, settings, pseudo):
    data = (b"assessment_id,child_id,start_date,completed_date,nfa,team\n"
            b"  A0001 ,\tC000123  , 2023-04-03 ,  28/04/2023,  y ,  Assessment North  \n")
    r = ingest(fresh_db, data, settings)
    assert_accepted(r)
    assert current(fresh_db, "assessments") == expected_records("assessments", [dict(
        month="2023-04", assessment_id="A0001", child_id="C000123", start_date="2023-04-03",
        completed_date="2023-04-28", nfa=1, team="Assessment North")], pseudo)


@pytest.mark.parametrize("quoted", [False, True], ids=["fast-reader", "general-reader"])
def test_identifiers_keep_leading_zeros_and_long_digit_strings(quoted, fresh_db, settings, pseudo):
    ids = ["000123", "123", "1234567890123456", "12345678901234567890", "0.50", "1e3"]
    q = '"' if quoted else ""
    lines = [f"{q}A{i}{q},{q}{cid}{q},2023-04-03,2023-04-28,N,\n" for i, cid in enumerate(ids)]
    data = ("assessment_id,child_id,start_date,completed_date,nfa,team\n" + "".join(lines)).encode()
    r = ingest(fresh_db, data, settings)
    assert_accepted(r)
    stored = {rec["assessment_id"]: rec["child_id"] for rec in current(fresh_db, "assessments")}
    for i, cid in enumerate(ids):
        assert stored[pseudo(f"A{i}", "assessment_id")] == pseudo(cid, "child_id")
    assert pseudo("000123", "child_id") != pseudo("123", "child_id")
    assert len(set(stored.values())) == len(ids)


def test_pseudonym_depends_on_the_column_domain(pseudo):
    # a child and a worker who share a raw number do not share a pseudonym; child_id links across kinds
    assert pseudo("123", "child_id") != pseudo("123", "worker_id")


def test_header_only_snapshot_is_a_valid_empty_snapshot(fresh_db, settings, digest):
    first = ingest(fresh_db, GOOD / "complaints_canonical.csv", settings, month="2023-04")
    assert_accepted(first)
    before = digest(fresh_db)
    refused = ingest(fresh_db, b"complaint_id,received_date,closed_date,stage\n", settings, month="2023-04")
    assert error_triples(refused) == [("empty_upload", None, None)]  # it would empty stored data: confirm first
    assert digest(fresh_db) == before
    r = ingest(fresh_db, b"complaint_id,received_date,closed_date,stage\n", settings, month="2023-04",
               allow_empty=True)
    assert_accepted(r)
    assert (r.kind, r.months, r.rows) == ("complaints", ["2023-04"], 0)
    assert current(fresh_db, "complaints") == []  # no complaints open at the end of April
    conn = store.connect(fresh_db)
    assert store.get_upload(conn, first.upload_id)["status"] == "superseded"
    conn.close()


def test_event_file_with_no_rows_but_a_declared_period_is_accepted(fresh_db, settings):
    r = ingest(fresh_db, b"audit_id,audit_date,grade,child_id,team\n", settings, months="2023-04..2023-06")
    assert_accepted(r)
    assert (r.kind, r.months, r.rows) == ("audits", ["2023-04", "2023-05", "2023-06"], 0)
    conn = store.connect(fresh_db)
    assert store.current_months(conn, "audits") == ["2023-04", "2023-05", "2023-06"]
    conn.close()


def test_unknown_columns_are_dropped_with_a_warning_and_never_stored(fresh_db, settings, raw_store_bytes):
    data = (b"assessment_id,child_name,child_id,start_date,completed_date,nfa,Home Address,date_of_birth\n"
            b"A0001,SECRET-NAME-Jane,C000123,2023-04-03,2023-04-28,N,1 Acacia Avenue,2015-01-01\n"
            b"A0002,SECRET-NAME-John,C000124,2023-04-03,2023-04-28,Y,2 Acacia Avenue,2016-02-02\n")
    r = ingest(fresh_db, data, settings)
    assert_accepted(r)
    assert len(r.warnings) == 1
    for header in ("child_name", "Home Address", "date_of_birth"):
        assert header in r.warnings[0]
    conn = store.connect(fresh_db)
    cols = pg_support.table_columns(conn, "rec_assessments")
    assert store.get_upload(conn, r.upload_id)["warnings"] == r.warnings
    conn.close()
    assert cols == ["upload_id", "month", *store.record_columns("assessments")]
    blob = raw_store_bytes(fresh_db)
    for planted in (b"SECRET-NAME-Jane", b"SECRET-NAME-John", b"Acacia Avenue", b"2015-01-01"):
        assert planted not in blob


def test_kind_option_overrides_detection_and_drops_the_other_kinds_columns(fresh_db, settings):
    data = (b"assessment_id,child_id,start_date,completed_date,nfa,audit_id,audit_date,grade\n"
            b"A0001,C000123,2023-04-03,2023-04-28,N,AU1,2023-04-01,good\n")
    assert error_triples(ingest(fresh_db, data, settings)) == [("ambiguous_kind", None, None)]
    r = ingest(fresh_db, data, settings, kind="audits")
    assert_accepted(r)
    assert r.kind == "audits" and "assessment_id" in r.warnings[0]
    assert len(current(fresh_db, "audits")) == 1 and current(fresh_db, "assessments") == []


# --- files the contract says are accepted ----------------------------------------------------


def test_quoted_newline_in_a_title_is_kept(fresh_db, settings):
    r = ingest(fresh_db, GOOD / "milestones_quoted_newline.csv", settings, month="2023-04")
    assert_accepted(r)
    titles = {rec["milestone_id"]: rec["title"] for rec in current(fresh_db, "milestones")}
    assert titles == {"M001": "Practice standards\nlaunched", "M002": "Complaints, a review"}


def test_single_digit_day_and_month(fresh_db, settings):
    r = ingest(fresh_db, GOOD / "complaints_single_digit_dates.csv", settings, month="2023-04")
    assert_accepted(r)
    recs = current(fresh_db, "complaints")
    assert sorted((x["received_date"], x["closed_date"]) for x in recs) == [("2022-06-01", None),
                                                                      ("2022-07-01", "2023-04-03")]


def test_trailing_blank_lines(fresh_db, settings):
    r = ingest(fresh_db, GOOD / "assessments_trailing_blank_lines.csv", settings)
    assert_accepted(r)
    assert r.rows == 1


def test_quoted_fields_with_commas_and_quotes(fresh_db, settings):
    r = ingest(fresh_db, GOOD / "audits_quoted_fields.csv", settings)
    assert_accepted(r)
    teams = sorted(x["team"] for x in current(fresh_db, "audits"))
    assert teams == ['"Hub" team', "Child Protection, South"]


def test_every_good_fixture_is_accepted(fresh_db, settings):
    needs_month = {"workforce", "allocations", "complaints", "milestones"}
    for f in sorted(GOOD.glob("*.csv")):
        opts = {"month": "2023-04"} if f.name.split("_")[0] in needs_month and "snapshot_date" not in f.name else {}
        assert_accepted(ingest(fresh_db, f, settings, **opts))


# --- the bad-input corpus --------------------------------------------------------------------


def _load_corpus() -> dict[str, dict]:
    out: dict[str, dict] = {}
    with open(BAD / "EXPECTED.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            c = out.setdefault(row["file"], {
                "opts": {k: row[k] or None for k in ("kind", "month", "months")}, "errors": [], "xfail": row["xfail"]})
            c["errors"].append((row["rule"], int(row["row"]) if row["row"] else None, row["column"] or None))
    return out


CORPUS = _load_corpus()
ID_COLUMNS = {c.name for k in KINDS.values() for c in k.columns if c.type == "id"}


def _corpus_params():
    for name, case in CORPUS.items():
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case["xfail"] else []
        yield pytest.param(name, id=name, marks=marks)


SEED = (("assessments_canonical.csv", {}), ("workforce_canonical.csv", {"month": "2023-04"}),
        ("figures_canonical.csv", {}), ("complaints_canonical.csv", {"month": "2023-04"}))


@pytest.fixture(scope="module")
def _seeded_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("seeded") / "kpi.sqlite"
    # the tests' key, so a refused file's identifiers can be looked up against what the store holds
    settings = Settings(db_path=path, pseudonym_key=TEST_KEY)
    for f, opts in SEED:
        assert_accepted(ingest(path, GOOD / f, settings, **opts))
    return path


@pytest.fixture
def seeded_db(fresh_db, _seeded_template):
    """A store that already holds uploads a refused file could wrongly touch (closed, bytes settled)."""
    if pg_support.is_pg(fresh_db):  # the same uploads, through the same path
        settings = Settings(db_url=fresh_db, pseudonym_key=TEST_KEY)
        for f, opts in SEED:
            assert_accepted(ingest(fresh_db, GOOD / f, settings, **opts))
        return fresh_db
    shutil.copyfile(_seeded_template, fresh_db)
    return fresh_db


def test_bad_corpus_is_big_enough_and_fully_listed():
    files = {p.name for p in BAD.iterdir() if p.name != "EXPECTED.csv"}
    assert len(files) >= 40
    assert files == set(CORPUS)
    assert {rule for c in CORPUS.values() for rule, _, _ in c["errors"]} <= set(RULES)


def test_bad_corpus_is_generated_by_script(tmp_path):
    spec = importlib.util.spec_from_file_location("make_bad_corpus", FIXTURES / "make_bad_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.write(tmp_path)
    for p in sorted(BAD.iterdir()):
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), f"{p.name}: rerun make_bad_corpus.py"


@pytest.mark.parametrize("name", list(_corpus_params()))
def test_bad_file_is_refused_with_every_error_and_changes_nothing(name, seeded_db, settings, digest):
    case = CORPUS[name]
    before = digest(seeded_db)
    r = ingest(seeded_db, BAD / name, settings, **case["opts"])
    assert r.status == "refused" and r.upload_id is None
    assert error_triples(r) == sorted(case["errors"], key=str)
    for e in r.errors:
        assert e.rule in RULES and e.message and RULES[e.rule] in e.as_dict()["message"]
        if e.column and set(e.column.split("+")) & ID_COLUMNS and e.value:
            assert "*" in e.value, f"identifier shown unmasked: {e.value!r}"
    assert digest(seeded_db) == before


def test_multi_error_file_reports_all_five_errors_on_four_rows(fresh_db, settings):
    r = ingest(fresh_db, BAD / "many_errors_assessments.csv", settings)
    assert r.status == "refused"
    assert len(r.errors) == 5
    assert sorted({e.row for e in r.errors}) == [2, 3, 4, 5]
    assert [e.row for e in r.errors] == sorted(e.row for e in r.errors)  # reported in file order


def test_identifiers_are_masked_in_errors(fresh_db, settings):
    r = ingest(fresh_db, BAD / "formula_plus_in_child_id.csv", settings)
    (e,) = r.errors
    assert e.value == mask("+441234567890") and "441234567890" not in e.message
    r = ingest(fresh_db, BAD / "formula_equals_in_id.csv", settings)
    assert r.errors[0].value == mask("=1+1") and "=1+1" not in r.errors[0].message
    r = ingest(fresh_db, BAD / "dup_key_conferences.csv", settings)
    (e,) = r.errors
    assert e.value == f"{mask('CP000101')} / {mask('C0000101')}"
    assert "CP000101" not in e.message and "C0000101" not in e.message


def test_text_columns_are_not_masked(fresh_db, settings):
    (e,) = ingest(fresh_db, BAD / "formula_at_in_team.csv", settings).errors
    assert e.value == "@SUM(A1)"


# --- product bugs found while writing these tests (strict xfail: fix the code, then drop the mark)


def test_figures_month_in_non_ascii_digits_is_not_stored_verbatim(fresh_db, settings):
    r = ingest(fresh_db, "month,metric,numerator,denominator\n２０２３-04,agency_rate,5,10\n".encode(), settings)
    if r.status == "refused":
        assert error_triples(r) == [("month_format", 2, "month")]
    else:
        assert [x["month"] for x in current(fresh_db, "figures")] == ["2023-04"]


# --- hardening: plausible dates and empty uploads (issue 17) ------------------------------------

A_HEAD = "assessment_id,child_id,start_date,completed_date,nfa,team\n"


def _this_month() -> str:
    return dt.date.today().isoformat()[:7]


def _next_month_first_day() -> dt.date:
    return month_end(_this_month()) + dt.timedelta(days=1)


def test_the_window_defaults_to_1990_and_one_year_after_today():
    s = Settings(db_path=Path("unused.sqlite"))
    assert s.date_window(dt.date(2026, 11, 29)) == (dt.date(1990, 1, 1), dt.date(2027, 11, 29))
    assert s.date_window(dt.date(2028, 2, 29)) == (dt.date(1990, 1, 1), dt.date(2029, 2, 28))
    w = Window.of(s, today=dt.date(2026, 11, 29))
    assert (w.first_month, w.latest_month) == ("1990-01", "2026-11")
    assert w.month_problem("2026-11", upload=True) is None
    assert "current month 2026-11" in w.month_problem("2026-12", upload=True)
    assert w.month_problem("2027-11", upload=False) is None  # reading (kpi metrics --to) may look ahead
    assert "1990-01" in w.month_problem("0000-01", upload=False)


@pytest.mark.parametrize("value", ["0000-01", "0001-12", "1989-12", "9999-12", "2204-05"])
def test_an_implausible_month_option_is_refused_naming_the_window(value):
    with pytest.raises(Refused) as exc:
        parse_month(value, "--month", upload=True)
    (e,) = exc.value.errors
    assert e.rule == "bad_option" and value in e.message and ("1990-01" in e.message or "current month" in e.message)
    with pytest.raises(Refused):
        parse_months(f"2023-01..{value}" if value > "2023" else f"{value}..2023-01", upload=True)


def test_a_month_option_after_the_current_month_is_refused_whoever_calls(fresh_db, settings, digest):
    before = digest(fresh_db)
    nxt = _next_month_first_day().isoformat()[:7]
    conn = store.connect(fresh_db)
    try:  # the page and the library pass options straight to ingest_bytes: validate checks them too
        for opts in ({"month": nxt}, {"months": (_this_month(), nxt)}, {"months": ("0000-01", "2023-04")}):
            r = ingest_bytes(conn, b"worker_id,role,agency,fte\n" if "month" in opts else A_HEAD.encode(),
                             "x.csv", settings=settings, **opts)
            assert error_triples(r) == [("bad_option", None, None)], opts
    finally:
        conn.close()
    assert digest(fresh_db) == before


def test_an_event_in_a_future_month_is_refused_but_later_this_month_is_accepted(fresh_db, settings, digest):
    nxt = _next_month_first_day()
    before = digest(fresh_db)
    r = ingest(fresh_db, (A_HEAD + f"A1,C1,{dt.date.today().isoformat()},{nxt.isoformat()},N,\n").encode(), settings)
    assert error_triples(r) == [("date_future", 2, "completed_date")]
    assert _this_month() in r.errors[0].message
    assert digest(fresh_db) == before
    last_day = month_end(_this_month())  # a few days ahead, but in the current month: within the window
    r = ingest(fresh_db, (A_HEAD + f"A1,C1,{dt.date.today().isoformat()},{last_day.isoformat()},N,\n").encode(),
               settings)
    assert_accepted(r)
    assert r.months == [_this_month()]


def test_a_snapshot_date_or_figures_month_after_the_current_month_is_refused(fresh_db, settings):
    nxt = _next_month_first_day()
    r = ingest(fresh_db, f"complaint_id,received_date,snapshot_date\nCO1,2023-01-02,{nxt.isoformat()}\n".encode(),
               settings)
    assert error_triples(r) == [("date_future", 2, "snapshot_date")]
    r = ingest(fresh_db, f"month,metric,numerator,denominator\n{nxt.isoformat()[:7]},agency_rate,3,10\n".encode(),
               settings)
    assert error_triples(r) == [("month_range", 2, "month")]


def test_other_dates_may_lie_ahead_within_the_window_but_not_beyond(fresh_db, settings):
    _, last = settings.date_window()
    head = "milestone_id,tor_ref,title,due_date,completed_date,status\n"
    r = ingest(fresh_db, (head + f"M1,2a,Due next spring,{last.isoformat()},,on_track\n").encode(), settings,
               month="2023-04")
    assert_accepted(r)  # a due date is a plan: it may be in the future
    beyond = last + dt.timedelta(days=1)
    r = ingest(fresh_db, (head + f"M1,2a,Too far,{beyond.isoformat()},,on_track\n").encode(), settings,
               month="2023-05")
    assert error_triples(r) == [("date_range", 2, "due_date")]
    assert settings.date_window()[0].strftime("%d/%m/%Y") in r.errors[0].message


def test_the_window_is_configurable(fresh_db, settings, monkeypatch):
    monkeypatch.setenv("KPI_DATE_MIN", "2020-01-01")
    monkeypatch.setenv("KPI_DATE_MAX", "2024-12-31")
    s = Settings()
    assert s.date_window() == (dt.date(2020, 1, 1), dt.date(2024, 12, 31))
    r = ingest(fresh_db, (A_HEAD + "A1,C1,2019-12-31,2023-04-28,N,\n" + "A2,C2,2023-04-03,2023-04-28,N,\n"
                          + "A3,C3,2023-04-03,2025-01-01,N,\n").encode(), s)
    assert error_triples(r) == [("date_range", 2, "start_date"), ("date_range", 4, "completed_date")]
    assert "01/01/2020 to 31/12/2024" in r.errors[0].message
    r = ingest(fresh_db, b"month,metric,numerator,denominator\n2019-12,agency_rate,3,10\n", s)
    assert error_triples(r) == [("month_range", 2, "month")]


def test_one_typed_year_cannot_supersede_later_uploads_or_cover_thousands_of_months(fresh_db, settings, digest):
    # the report: an event dated 31/12/9999 made an upload "cover" 2024-05..9999-12 and supersede all after it
    for month in ("2024-05", "2024-06"):
        assert_accepted(ingest(fresh_db, (A_HEAD + f"A{month},C1,{month}-01,{month}-20,N,\n").encode(), settings))
    before = digest(fresh_db)
    for typo in ("31/12/9999", "20/05/2204"):
        r = ingest(fresh_db, (A_HEAD + "B1,C1,2024-05-01,2024-05-20,N,\n" + f"B2,C2,2024-05-01,{typo},N,\n").encode(),
                   settings)
        assert error_triples(r) == [("date_range", 3, "completed_date")] and r.months == []
    assert digest(fresh_db) == before
    conn = store.connect(fresh_db)
    try:
        assert store.current_months(conn, "assessments") == ["2024-05", "2024-06"]
    finally:
        conn.close()


IMPLAUSIBLE = sorted(n for n, c in CORPUS.items() if {r for r, _, _ in c["errors"]} & {"date_range", "month_range",
                                                                                       "bad_option"})


@pytest.mark.parametrize("name", IMPLAUSIBLE)
def test_after_any_implausible_date_every_stored_month_is_safe_for_month_arithmetic(name, seeded_db, settings):
    # the report: year 0 stored once made every page fail with "year 0 is out of range"
    r = ingest(seeded_db, BAD / name, settings, **CORPUS[name]["opts"])
    assert r.status == "refused"
    with contextlib.closing(store.connect(seeded_db)) as conn:
        stored = {m for (m,) in conn.execute("SELECT month FROM upload_months UNION SELECT month FROM current_months")}
    window = Window.of(settings)
    assert stored and all(window.month_problem(m, upload=True) is None for m in stored)
    for m in stored:
        month_end(m)
    assert month_range(min(stored), max(stored))


def test_accepted_event_months_are_bounded_by_the_data(fresh_db, settings):
    r = ingest(fresh_db, (A_HEAD + "A1,C1,1990-01-01,1990-01-02,N,\n" + f"A2,C2,2024-01-01,{dt.date.today()},N,\n")
               .encode(), settings)
    assert_accepted(r)
    assert r.months[0] == "1990-01" and r.months[-1] == _this_month()
    assert len(r.months) == len(month_range("1990-01", _this_month()))


# empty uploads


def test_an_empty_event_file_over_a_year_of_data_needs_allow_empty(fresh_db, settings, digest):
    rows = "".join(f"A{m:02d},C{m:02d},2023-{m:02d}-01,2023-{m:02d}-15,N,\n" for m in range(1, 13))
    full = ingest(fresh_db, (A_HEAD + rows).encode(), settings, name="assessments_2023.csv")
    assert_accepted(full)
    before = digest(fresh_db)
    r = ingest(fresh_db, A_HEAD.encode(), settings, months="2023-01..2023-12")
    assert error_triples(r) == [("empty_upload", None, None)]
    assert f"2023-01 to 2023-12 of upload {full.upload_id} (assessments_2023.csv, 12 rows)" in r.errors[0].message
    assert digest(fresh_db) == before
    r = ingest(fresh_db, A_HEAD.encode(), settings, months="2023-01..2023-12", allow_empty=True)
    assert_accepted(r)
    assert current(fresh_db, "assessments") == []


def test_an_empty_file_over_months_that_hold_no_rows_needs_no_confirmation(fresh_db, settings):
    # the stored upload covers 2023-01..2023-06 but only has rows in March: emptying May hides nothing
    assert_accepted(ingest(fresh_db, (A_HEAD + "A1,C1,2023-03-01,2023-03-15,N,\n").encode(), settings,
                           months="2023-01..2023-06"))
    assert_accepted(ingest(fresh_db, A_HEAD.encode(), settings, months="2023-05..2023-05"))
    r = ingest(fresh_db, A_HEAD.encode(), settings, months="2023-03..2023-03")
    assert error_triples(r) == [("empty_upload", None, None)] and "2023-03 of upload 1" in r.errors[0].message
    # an empty snapshot over an empty snapshot is fine too
    head = b"complaint_id,received_date,closed_date,stage\n"
    assert_accepted(ingest(fresh_db, head, settings, month="2023-04"))
    assert_accepted(ingest(fresh_db, head.replace(b"\n", b"\r\n"), settings, month="2023-04"))
    assert ingest(fresh_db, head, settings, month="2023-04").status == "accepted"  # not the current one's bytes
    assert ingest(fresh_db, head, settings, month="2023-04").status == "unchanged"  # issue 15: identical to it


def test_two_files_for_one_snapshot_month_in_one_batch(fresh_db, settings, digest):
    batch = Batch()
    first = ingest(fresh_db, GOOD / "workforce_canonical.csv", settings, month="2023-04", batch=batch)
    assert_accepted(first)
    batch.add(first)
    after_first = digest(fresh_db)
    second = ingest(fresh_db, GOOD / "workforce_csww.csv", settings, month="2023-04", batch=batch)
    assert error_triples(second) == [("duplicate_snapshot", None, None)]
    assert "workforce_canonical.csv" in second.errors[0].message and "2023-04" in second.errors[0].message
    batch.add(second)
    assert digest(fresh_db) == after_first
    other = ingest(fresh_db, GOOD / "workforce_csww.csv", settings, month="2023-05", batch=batch)
    assert_accepted(other)  # another month, or another kind, is fine
    batch.add(other)
    assert_accepted(ingest(fresh_db, GOOD / "complaints_canonical.csv", settings, month="2023-04", batch=batch))


def test_a_refused_first_file_does_not_block_the_month(fresh_db, settings):
    batch = Batch()
    bad = ingest(fresh_db, b"worker_id,role,agency,fte\nW1,boss,N,1\n", settings, month="2023-04", batch=batch)
    batch.add(bad)
    assert bad.status == "refused"
    assert_accepted(ingest(fresh_db, GOOD / "workforce_canonical.csv", settings, month="2023-04", batch=batch))
# --- hardening: the reader and text hygiene (issue 17) ---------------------------------------

A_HEADER = "assessment_id,child_id,start_date,completed_date,nfa,team\n"


def _a(i: int, team: str = "North", month: str = "2023-04") -> str:
    return f"A{i:07d},C{i:07d},{month}-03,{month}-28,N,{team}\n"


def test_unclosed_quote_never_swallows_later_rows_into_a_text_cell(fresh_db, settings, raw_store_bytes, digest):
    # the issue's reproduction: 10 rows, an unclosed "North in the last column of row 4 (was: 3 rows accepted,
    # rows 5-11 with their child ids stored inside one team cell)
    data = (A_HEADER + _a(1) + _a(2) + _a(3, '"North') + "".join(_a(i) for i in range(4, 11))).encode()
    before = digest(fresh_db)
    r = ingest(fresh_db, data, settings)
    assert error_triples(r) == [("unbalanced_quote", 4, "team")]
    assert "never closed" in r.errors[0].message
    assert digest(fresh_db) == before
    assert b"C0000005" not in raw_store_bytes(fresh_db)


@pytest.mark.parametrize("where", ["fast", "general"])
def test_a_10_mb_cell_is_reported_with_its_row_and_column(where, fresh_db, settings):
    # the fast (pyarrow) path reads files without quotes; a quote anywhere sends the file to the general reader
    first = _a(1) if where == "fast" else _a(1, '"North, East"')
    data = (A_HEADER + first + _a(2, "x" * 10_000_000) + _a(3)).encode()
    r = ingest(fresh_db, data, settings)
    assert error_triples(r) == [("too_long", 3, "team")]
    assert "10,000,000 characters" in r.errors[0].message


def test_a_cell_of_exactly_the_limit_is_accepted(fresh_db, settings):
    from metrics.contract import MAX_CELL_CHARS

    assert_accepted(ingest(fresh_db, (A_HEADER + _a(1, "x" * MAX_CELL_CHARS)).encode(), settings))


def test_a_quoted_line_break_in_text_is_still_kept_when_it_holds_no_rows(fresh_db, settings):
    data = (A_HEADER + _a(1, '"Assessment, North\nsecond line, with commas"')).encode()
    assert_accepted(ingest(fresh_db, data, settings))
    assert current(fresh_db, "assessments")[0]["team"] == "Assessment, North\nsecond line, with commas"


def test_utf8_file_with_one_stray_byte_is_refused_not_read_as_windows_1252(fresh_db, settings):
    data = (A_HEADER + _a(1, "Équipe Nord")).encode() + _a(2, "Team \x00").encode().replace(b"\x00", b"\x92")
    r = ingest(fresh_db, data, settings)
    assert error_triples(r) == [("encoding", 3, None)]
    offset = data.index(b"\x92")
    assert f"byte offset {offset}" in r.errors[0].message and "row 3" in r.errors[0].message
    assert store.connect(fresh_db).execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 0


def test_plain_windows_1252_is_still_read(fresh_db, settings):
    data = (A_HEADER + _a(1, "Équipe £ Nord – café")).encode("cp1252")
    assert_accepted(ingest(fresh_db, data, settings))
    assert current(fresh_db, "assessments")[0]["team"] == "Équipe £ Nord – café"


def test_nul_anywhere_is_refused(fresh_db, settings):
    data = (A_HEADER + "".join(_a(i) for i in range(2000))).encode() + b"A9,C9,2023-04-03,2023-04-28,N,\x00\n"
    assert len(data) > 65536
    r = ingest(fresh_db, data, settings)
    assert error_triples(r) == [("binary_file", None, None)]


@pytest.mark.parametrize("char", ["\u200b", "\u202e", "\u2066", "\ufeff", "\x1b", "\x0b", "\x7f", "\u00a0", "\u2028"])
def test_an_identifier_with_an_invisible_character_is_refused(char, fresh_db, settings):
    data = (A_HEADER + _a(1) + f"A000{char}0001,C0000002,2023-04-03,2023-04-28,N,\n").encode()
    r = ingest(fresh_db, data, settings)
    assert error_triples(r) == [("control_character", 3, "assessment_id")]
    assert char not in r.errors[0].message and "0001" not in r.errors[0].value  # named, never printed raw


@pytest.mark.parametrize("char", ["\u200b", "\u202e", "\x1b", "\x0b"])
def test_free_text_with_a_control_or_bidi_character_is_refused(char, fresh_db, settings):
    r = ingest(fresh_db, (A_HEADER + _a(1, f"North{char}East")).encode(), settings)
    assert error_triples(r) == [("control_character", 2, "team")]
    assert char not in r.errors[0].message and f"U+{ord(char):04X}" in r.errors[0].message


@pytest.mark.parametrize(("team", "ok"), [
    ("Team C0000101", False), ("C-000123 review", False), ("CHILD12345", False), ("ring 07700900123", False),
    ("123456", False), ("FY2023 pilot", True), ("Area 51", True), ("2023-24 plan", True), ("Team 12345", True),
])
def test_identifier_shaped_free_text_is_refused(team, ok, fresh_db, settings):
    r = ingest(fresh_db, (A_HEADER + _a(1, team)).encode(), settings)
    if ok:
        assert_accepted(r)
    else:
        assert error_triples(r) == [("identifier_in_text", 2, "team")]
        assert not re.search(r"\d{5,}", r.errors[0].message + r.errors[0].value)  # the digits are masked


def test_fte_figures_may_be_fractional(fresh_db, settings):
    data = b"month,metric,numerator,denominator\n2023-04,agency_rate,12.5,112.5\n" \
           b"2023-04,permanent_practitioners_fte,61.5,\n"
    assert_accepted(ingest(fresh_db, data, settings))


def test_fte_kpis_are_the_registry_s_fte_measures():
    from metrics.contract import FTE_KPI_IDS
    from metrics.kpis import REGISTRY

    assert set(FTE_KPI_IDS) == {k.id for k in REGISTRY.values() if k.unit == "fte" or "FTE" in k.label}


def _assessments(*rows: tuple[str, str]) -> bytes:
    """An assessments file: (id, completed month) per row."""
    return (A_HEADER + "".join(f"{i},C{i[1:]},{m}-01,{m}-20,N,\n" for i, m in rows)).encode()


def test_an_event_current_in_another_month_is_refused_and_nothing_changes(fresh_db, settings, digest):
    assert_accepted(ingest(fresh_db, _assessments(("A1", "2023-04"), ("A2", "2023-04")), settings))
    before = digest(fresh_db)
    r = ingest(fresh_db, _assessments(("A3", "2023-05"), ("A1", "2023-05")), settings)
    assert error_triples(r) == [("duplicate_event", 3, "assessment_id")]
    assert "2023-04" in r.errors[0].message and "upload 1" in r.errors[0].message
    assert r.errors[0].value == mask("A1") and "A1" not in r.errors[0].message
    assert digest(fresh_db) == before
    # the upload page's preview says so too, before anything is written
    conn = store.connect(fresh_db)
    try:
        preview = ingest_bytes(conn, _assessments(("A1", "2023-05")), "may.csv", settings=settings, commit=False)
    finally:
        conn.close()
    assert error_triples(preview) == [("duplicate_event", 2, "assessment_id")]
    assert digest(fresh_db) == before


def test_an_event_moving_month_within_the_months_it_replaces_is_accepted(fresh_db, settings):
    assert_accepted(ingest(fresh_db, _assessments(("A1", "2023-04"), ("A2", "2023-05")), settings))
    # the same ids again, for months this upload supersedes: a correction, not a second count
    assert_accepted(ingest(fresh_db, _assessments(("A1", "2023-05"), ("A2", "2023-05")), settings,
                           months="2023-04..2023-05"))
    assert [r["month"] for r in current(fresh_db, "assessments")] == ["2023-05", "2023-05"]
    # and a superseded upload's ids no longer count: re-uploading April alone with A1 is a duplicate of May
    r = ingest(fresh_db, _assessments(("A1", "2023-04")), settings)
    assert error_triples(r) == [("duplicate_event", 2, "assessment_id")]


def test_dotenv_is_git_ignored():
    lines = (Path(__file__).resolve().parent.parent / ".gitignore").read_text().split()
    assert ".env" in lines


# --- work done once: prepare (validate + preview), then commit what was prepared ------------------------


def test_prepare_validates_once_and_commit_stores_it_without_validating_again(fresh_db, settings, digest,
                                                                              monkeypatch):
    from metrics import ingest as ingest_module

    calls = []
    real = ingest_module.validate
    monkeypatch.setattr(ingest_module, "validate", lambda *a, **k: calls.append(1) or real(*a, **k))
    before = digest(fresh_db)
    with contextlib.closing(store.connect(fresh_db)) as conn:
        prepared = ingest_module.prepare(conn, _assessments(("A1", "2023-04"), ("A2", "2023-04")), "apr.csv",
                                         settings=settings)
        assert prepared.ok and prepared.result.status == "preview" and prepared.result.rows == 2
        assert digest(fresh_db) == before  # prepare stores nothing
        done = ingest_module.commit(conn, prepared, uploaded_by="tester")
        assert done.status == "accepted" and done.upload_id == 1 and done.months == ["2023-04"]
        with pytest.raises(ValueError, match="already stored"):  # a Prepared is stored at most once
            ingest_module.commit(conn, prepared)
    assert calls == [1]
    assert [r["assessment_id"] for r in current(fresh_db, "assessments")] != ["A1", "A2"]  # pseudonymised


def test_prepare_then_commit_reads_replaces_and_repeated_events_again_under_the_lock(fresh_db, settings):
    from metrics.ingest import commit, prepare

    with contextlib.closing(store.connect(fresh_db)) as conn:
        may = prepare(conn, _assessments(("A1", "2023-05")), "may.csv", settings=settings)
        later = prepare(conn, _assessments(("A2", "2023-05")), "may-again.csv", settings=settings)
        assert may.result.replaces == [] and later.result.replaces == []
        assert commit(conn, may).status == "accepted"  # meanwhile: upload 1 takes May
        again = commit(conn, later)
        assert again.status == "accepted" and [u["id"] for u in again.replaces] == [1]
        # an event counted in another month since the check is refused at the load, nothing stored
        apr = prepare(conn, _assessments(("A9", "2023-04")), "apr.csv", settings=settings)
        assert apr.ok
        assert commit(conn, prepare(conn, _assessments(("A9", "2023-06")), "jun.csv", settings=settings)).ok
        r = commit(conn, apr)
    assert error_triples(r) == [("duplicate_event", 2, "assessment_id")]
    assert {x["month"] for x in current(fresh_db, "assessments")} == {"2023-05", "2023-06"}


def test_prepare_of_a_refused_file_commits_nothing(fresh_db, settings, digest):
    from metrics.ingest import commit, prepare

    before = digest(fresh_db)
    with contextlib.closing(store.connect(fresh_db)) as conn:
        bad = prepare(conn, (A_HEADER + "A1,C1,2023-05-01,not a date,N,\n").encode(), "bad.csv", settings=settings)
        assert not bad.ok and bad.result.status == "refused"
        assert commit(conn, bad) is bad.result
    assert digest(fresh_db) == before
