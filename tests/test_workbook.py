"""Excel workbooks (.xlsx, .xlsm) through the one ingest path (issue 12): every kind round-trips as its CSV does,
a bad-workbook corpus is refused (or accepted) as docs/extracts.md says with the store unchanged, and the
upload page and ``kpi ingest`` take workbooks. Every workbook is built here with xlsxwriter."""

from __future__ import annotations

import csv
import datetime as dt
import io
import struct
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from metrics import store
from metrics.contract import KINDS, RULES
from metrics.examples import example_csv, example_xlsx
from metrics.ingest import IngestResult, ingest_all, ingest_bytes
from metrics.validate import parse_months
from metrics.workbook import cell_text, read_workbook

GOOD = Path(__file__).resolve().parent / "fixtures" / "good"
ROOT = Path(__file__).resolve().parent.parent

# the canonical CSV of every kind, with the options it is loaded with (as tests/test_ingest.py)
CANONICAL = [
    ("workforce", {"month": "2023-04"}), ("assessments", {}), ("conferences", {}),
    ("allocations", {"month": "2023-04"}), ("audits", {}), ("complaints", {"month": "2023-04"}),
    ("milestones", {"month": "2023-04"}), ("figures", {}),
]


# --- helpers -----------------------------------------------------------------------------------------


def _date(v: str) -> dt.datetime:
    if "/" in v:
        d, m, y = (int(x) for x in v.split("/"))
        return dt.datetime(y, m, d)
    return dt.datetime.fromisoformat(v)


def workbook(*sheets: tuple[str, list[list]], hidden: tuple[str, ...] = (), setup=None) -> bytes:
    """A workbook of ``(sheet name, rows)``: a datetime cell is written as a real Excel date, a number as a
    number, a ("=formula", cached) tuple as a formula with that cached value, None left empty."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    day = wb.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets:
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, tuple):
                    ws.write_formula(i, j, v[0], None, v[1])
                elif isinstance(v, (dt.date, dt.datetime)):
                    ws.write_datetime(i, j, v, day)
                elif isinstance(v, bool):
                    ws.write_boolean(i, j, v)
                elif isinstance(v, (int, float)):
                    ws.write_number(i, j, v)
                else:
                    ws.write_string(i, j, v)
        if name in hidden:
            ws.hide()
        if setup:
            setup(wb, ws, name)
    wb.close()
    return buf.getvalue()


def typed_rows(kind: str, text: bytes) -> list[list]:
    """A CSV's rows as a performance lead's workbook holds them: dates as real dates, numbers as numbers."""
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    types = {c.name: c.type for c in KINDS[kind].columns}
    out = [rows[0]]
    for row in rows[1:]:
        cells = []
        for h, v in zip(rows[0], row):
            t = types.get(h)
            if v == "":
                cells.append(None)
            elif t == "date":
                cells.append(_date(v))
            elif t == "number":
                cells.append(float(v))
            else:
                cells.append(v)
        out.append(cells)
    return out


def load(db: Path, data: bytes, name: str, settings, **opts) -> list[IngestResult]:
    if opts.get("months"):
        opts["months"] = parse_months(opts["months"])
    conn = store.connect(db)
    try:
        return ingest_all(conn, data, name, settings=settings, **opts)
    finally:
        conn.close()


def current(db: Path, kind: str) -> list[dict]:
    conn = store.connect(db)
    try:
        df = store.read_current(conn, kind)
    finally:
        conn.close()
    df = df.astype(object).where(df.notna(), None)
    return sorted(df.to_dict("records"), key=lambda r: [str(v) for v in r.values()])


def accepted(results: list[IngestResult]) -> None:
    for r in results:
        assert r.status == "accepted", (r.file, [(e.rule, e.row, e.column, e.message) for e in r.errors])


@pytest.fixture
def other_db(tmp_path, fresh_db) -> Path:
    """A second empty store (same key through ``settings``)."""
    path = tmp_path / "second.sqlite"
    path.write_bytes(fresh_db.read_bytes())
    return path


@pytest.fixture
def seeded(fresh_db, settings) -> Path:
    """A store already holding uploads a refused workbook could wrongly touch."""
    for kind, opts in (("assessments", {}), ("workforce", {"month": "2023-04"})):
        conn = store.connect(fresh_db)
        try:
            r = ingest_bytes(conn, (GOOD / f"{kind}_canonical.csv").read_bytes(), f"{kind}.csv", settings=settings,
                             **opts)
        finally:
            conn.close()
        assert r.ok
    return fresh_db


# --- every kind round-trips as .xlsx, with the same stored rows and the same KPIs as its CSV -----------------


def test_every_kind_as_xlsx_stores_what_its_csv_stores_and_gives_the_same_metrics(fresh_db, other_db, settings,
                                                                                   run_kpi):
    assert {k for k, _ in CANONICAL} == set(KINDS)
    for kind, opts in CANONICAL:
        text = (GOOD / f"{kind}_canonical.csv").read_bytes()
        via_csv = load(fresh_db, text, f"{kind}.csv", settings, **opts)
        via_xlsx = load(other_db, workbook((kind.title(), typed_rows(kind, text))), f"{kind}.xlsx", settings, **opts)
        accepted(via_csv + via_xlsx)
        assert [r.file for r in via_xlsx] == [f"{kind}.xlsx#{kind.title()}"]
        assert (via_xlsx[0].kind, via_xlsx[0].months, via_xlsx[0].rows) == (kind, via_csv[0].months, via_csv[0].rows)
        assert current(other_db, kind) == current(fresh_db, kind), kind
    a, b = run_kpi("metrics", "--json", "--db", fresh_db), run_kpi("metrics", "--json", "--db", other_db)
    assert a.code == b.code == 0 and a.json() and a.json() == b.json()


def _number_or_text(v: str):
    try:
        return float(v)  # "112.0" in the CSV is the number 112 in the workbook
    except ValueError:
        return v


def test_example_workbooks_are_the_csv_examples_and_committed():
    for kind in KINDS:
        data = example_xlsx(kind)
        sheet = read_workbook(data, f"{kind}.xlsx").sheets[0]
        assert (sheet.kind, sheet.table.header_row) == (kind, 3)  # under a title row
        rows = list(csv.reader(io.StringIO(example_csv(kind).decode())))
        assert sheet.table.headers == rows[0]
        got = [[c[i].as_py() for c in sheet.table.columns] for i in range(sheet.table.n_rows)]
        assert [[_number_or_text(v) for v in r] for r in got] == [[_number_or_text(v) for v in r] for r in rows[1:]]
        committed = read_workbook((ROOT / "data" / "examples" / f"{kind}.xlsx").read_bytes(), f"{kind}.xlsx")
        assert [c.to_pylist() for c in committed.sheets[0].table.columns] == [c.to_pylist() for c in
                                                                              sheet.table.columns], \
            f"data/examples/{kind}.xlsx is stale: run `python -m metrics.examples`"


# --- cells: dates, numbers, text, formulas ----------------------------------------------------------------


def test_cells_are_read_as_the_csv_reader_would_read_them():
    assert cell_text(1.0) == "1" and cell_text(0.8) == "0.8" and cell_text(0.1 + 0.2) == "0.3"
    assert cell_text(12345.0) == "12345" and cell_text(True) == "TRUE" and cell_text(False) == "FALSE"
    assert cell_text(dt.date(2023, 4, 3)) == "2023-04-03"
    assert cell_text(dt.datetime(2023, 4, 3, 13, 30)) == "2023-04-03"  # a date-time counts as its day
    assert cell_text("0123") == "0123"


def test_real_dates_numbers_as_text_and_cached_formula_values(fresh_db, settings, pseudo):
    rows = [["worker_id", "role", "agency", "fte", "team", "start_date", "end_date"],
            ["0042", "5", "N", ("=0.5+0.5", 1), "East", dt.datetime(2023, 4, 3), None],  # 3 April, never 4 March
            [12345, "team_manager", True, "0.8", None, dt.datetime(2023, 2, 1, 9, 30), "01/04/2023"]]
    results = load(fresh_db, workbook(("Staff", rows)), "staff.xlsx", settings, month="2023-04")
    accepted(results)
    got = {r["worker_id"]: r for r in current(fresh_db, "workforce")}
    a, b = got[pseudo("0042", "worker_id")], got[pseudo("12345", "worker_id")]  # leading zero kept; no ".0"
    assert (a["role"], a["agency"], a["fte"], a["start_date"]) == ("case_holder", 0, 1.0, "2023-04-03")
    assert (b["agency"], b["fte"], b["start_date"], b["end_date"]) == (1, 0.8, "2023-02-01", "2023-04-01")


def test_header_on_row_7_under_title_rows_is_found_and_errors_name_the_sheets_own_rows(fresh_db, settings):
    title = [["Assessments completed, April 2023"], [], ["Children's Services"], [], [], []]
    head = ["assessment_id", "child_id", "start_date", "completed_date", "nfa", "team"]
    good = [f"A{i}" for i in range(3)]
    rows = title + [head] + [[a, "C1", dt.datetime(2023, 4, 3), dt.datetime(2023, 4, 20), "N", None] for a in good]

    def merge_title(wb, ws, name):
        ws.merge_range(0, 0, 0, 5, "Assessments completed, April 2023")

    results = load(fresh_db, workbook(("April", rows), setup=merge_title), "april.xlsx", settings)
    accepted(results)
    assert results[0].rows == 3 and results[0].months == ["2023-04"]
    bad = rows + [["A9", "C1", dt.datetime(2023, 4, 3), dt.datetime(2023, 4, 20), "maybe", None]]
    r = load(fresh_db, workbook(("April", bad)), "april.xlsx", settings)[0]
    assert r.status == "refused" and r.file == "april.xlsx#April"
    assert [(e.rule, e.row, e.column) for e in r.errors] == [("bool", 11, "nfa")]  # the sheet's row 11


def test_blank_trailing_rows_and_columns_and_empty_margins_are_dropped(fresh_db, settings):
    rows = [[None, None, "audit_id", "audit_date", "grade", None],
            [None, None, "AU1", dt.datetime(2023, 4, 1), "good"],
            [None, None, None, None, None, ""],
            [None, None, "AU2", dt.datetime(2023, 4, 2), "2"],
            [], [], [None, None, " ", None, None, None]]
    results = load(fresh_db, workbook(("Audits", rows)), "audits.xlsx", settings)
    accepted(results)
    assert results[0].rows == 2


def test_a_hidden_sheet_is_skipped_and_named(fresh_db, settings):
    rows = [["audit_id", "audit_date", "grade"], ["AU1", dt.datetime(2023, 4, 1), "good"]]
    junk = [["audit_id", "audit_date", "grade"], ["AU1", "not a date", "terrible"]]
    results = load(fresh_db, workbook(("Audits", rows), ("Old", junk), hidden=("Old",)), "a.xlsx", settings)
    accepted(results)
    assert [r.file for r in results] == ["a.xlsx#Audits"]
    assert any("Hidden sheet 'Old' was skipped" in w for w in results[0].warnings)


def test_several_sheets_are_separate_extracts_each_its_own_transaction(fresh_db, settings, digest):
    audits = [["audit_id", "audit_date", "grade"], ["AU1", dt.datetime(2023, 4, 1), "good"]]
    complaints = [["complaint_id", "received_date", "closed_date", "stage", "snapshot_date"],
                  ["CO1", dt.datetime(2023, 1, 5), None, "1", dt.datetime(2023, 4, 30)]]
    results = load(fresh_db, workbook(("Audits", audits), ("Complaints", complaints)), "book.xlsx", settings)
    accepted(results)
    assert [(r.file, r.kind) for r in results] == [("book.xlsx#Audits", "audits"), ("book.xlsx#Complaints",
                                                                                      "complaints")]
    assert len({r.upload_id for r in results}) == 2
    # one sheet refused does not stop the other: each is its own transaction and result
    bad = [["audit_id", "audit_date", "grade"], ["AU2", dt.datetime(2023, 5, 1), "awful"]]
    conferences = [["conference_id", "child_id", "conference_type", "conference_date", "format"],
                   ["CP1", "C1", "initial", dt.datetime(2023, 5, 2), "virtual"]]
    results = load(fresh_db, workbook(("Bad", bad), ("Conf", conferences)), "two.xlsx", settings)
    assert [(r.file, r.status) for r in results] == [("two.xlsx#Bad", "refused"), ("two.xlsx#Conf", "accepted")]
    assert [(e.rule, e.row, e.column) for e in results[0].errors] == [("enum", 2, "grade")]
    assert len(current(fresh_db, "conferences")) == 1 and len(current(fresh_db, "audits")) == 1


def test_two_sheets_for_one_snapshot_month_are_refused_as_two_files_would_be(fresh_db, settings):
    head = ["complaint_id", "received_date", "stage"]
    book = workbook(("A", [head, ["CO1", dt.datetime(2023, 1, 5), "1"]]), ("B", [head, ["CO2", dt.datetime(2023, 1, 6),
                                                                                         "2"]]))
    results = load(fresh_db, book, "c.xlsx", settings, month="2023-04")
    assert [r.status for r in results] == ["accepted", "refused"]
    assert results[1].errors[0].rule == "duplicate_snapshot" and "c.xlsx#A" in results[1].errors[0].message


# --- the bad-workbook corpus: each refused as docs/extracts.md says, the store unchanged ---------------------


ASSESS = ["assessment_id", "child_id", "start_date", "completed_date", "nfa", "team"]


def _good_book() -> bytes:
    return workbook(("Data", [ASSESS, ["A1", "C1", dt.datetime(2023, 4, 3), dt.datetime(2023, 4, 20), "N", None]]))


def _replace_part(data: bytes, part: str, new: bytes) -> bytes:
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for i in zin.infolist():
            zout.writestr(i.filename, new if i.filename == part else zin.read(i.filename))
    return out.getvalue()


def _lying_sizes(data: bytes, part: str, say: int) -> bytes:
    """The zip with ``part``'s declared unpacked size (local header and central directory) set to ``say``."""
    b = bytearray(data)
    name = part.encode()
    local = b.find(b"PK\x03\x04" + b"", 0)
    while local >= 0:
        n = struct.unpack("<H", b[local + 26:local + 28])[0]
        if b[local + 30:local + 30 + n] == name:
            b[local + 22:local + 26] = struct.pack("<I", say)
        local = b.find(b"PK\x03\x04", local + 4)
    central = b.find(b"PK\x01\x02")
    while central >= 0:
        n = struct.unpack("<H", b[central + 28:central + 30])[0]
        if b[central + 46:central + 46 + n] == name:
            b[central + 24:central + 28] = struct.pack("<I", say)
        central = b.find(b"PK\x01\x02", central + 4)
    return bytes(b)


def _cfb(encrypted: bool) -> bytes:
    """An OLE compound file header, as Excel writes for an encrypted workbook (an EncryptedPackage stream)."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    body = b"\x00" * 480 + (("EncryptionInfo".encode("utf-16-le") + b"\x00" * 34 + "EncryptedPackage".encode(
        "utf-16-le")) if encrypted else "Workbook".encode("utf-16-le")) + b"\x00" * 1024
    return head + body


_BIG_SHEET = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b"<sheetData>" + b" " * (4 << 20) + b"</sheetData></worksheet>")
_XML_BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;">'
             b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
             b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
             b'<c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
_XXE = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&e;</t></si></sst>')


def _corpus() -> dict[str, tuple[bytes, dict, list[tuple]]]:
    """name → (bytes, options, expected (rule, row, column) of the one result refused)."""
    good = _good_book()
    text_dates = [ASSESS, ["A1", "C1", "04/30/2023", dt.datetime(2023, 5, 2), "N", None],
                  ["A2", "C2", "30/04/2023", dt.datetime(2023, 5, 2), "N", None]]
    ref = [ASSESS, ["A1", "C1", dt.datetime(2023, 4, 3), dt.datetime(2023, 4, 20), ("=#REF!", "#REF!"), None],
           ["A2", "C2", dt.datetime(2023, 4, 3), ("=NA()", "#N/A"), "N", ("=1/0", "#DIV/0!")]]

    def merged_header(wb, ws, name):
        ws.merge_range(0, 4, 0, 5, "nfa")

    merged = [ASSESS[:4] + [None, None], ["A1", "C1", dt.datetime(2023, 4, 3), dt.datetime(2023, 4, 20), "N", "T"]]
    return {
        "password_protected.xlsx": (_cfb(True), {}, [("workbook_encrypted", None, None)]),
        "old_format.xlsx": (_cfb(False), {}, [("workbook_format", None, None)]),
        "corrupt_zip.xlsx": (good[: len(good) // 2], {}, [("workbook_corrupt", None, None)]),
        "damaged_part.xlsx": (good[:300] + bytes(64) + good[364:], {}, [("workbook_corrupt", None, None)]),
        "csv_renamed.xlsx": ((GOOD / "assessments_canonical.csv").read_bytes(), {}, [("workbook_format", None, None)]),
        "xml_bomb.xlsx": (_replace_part(good, "xl/worksheets/sheet1.xml", _XML_BOMB), {},
                          [("workbook_unsafe", None, None)]),
        "external_entity.xlsx": (_replace_part(good, "xl/sharedStrings.xml", _XXE), {},
                                 [("workbook_unsafe", None, None)]),
        "zip_bomb_ratio.xlsx": (_replace_part(good, "xl/worksheets/sheet1.xml", _BIG_SHEET), {},
                                [("workbook_too_large", None, None)]),
        "zip_bomb_lying_size.xlsx": (_lying_sizes(_replace_part(good, "xl/worksheets/sheet1.xml", _BIG_SHEET[:60_000]),
                                                  "xl/worksheets/sheet1.xml", 1000), {},
                                     [("workbook_too_large", None, None)]),
        "month_first_text_dates.xlsx": (workbook(("Data", text_dates)), {}, [("date_impossible", 2, "start_date")]),
        "ref_error.xlsx": (workbook(("Data", ref)), {},
                           [("cell_error", 2, "nfa"), ("cell_error", 3, "completed_date"), ("cell_error", 3, "team")]),
        "merged_header.xlsx": (workbook(("Data", merged), setup=merged_header), {},
                               [("merged_cells", 1, "nfa")]),
        "no_header.xlsx": (workbook(("Notes", [["Read me first"], ["This workbook holds April's data."]])), {},
                           [("no_header", None, None)]),
    }


CORPUS = _corpus()


@pytest.mark.parametrize("name", list(CORPUS))
def test_bad_workbook_is_refused_as_the_contract_says_and_changes_nothing(name, seeded, settings, digest):
    data, opts, expected = CORPUS[name]
    before = digest(seeded)
    results = load(seeded, data, name, settings, **opts)
    assert len(results) == 1
    r = results[0]
    assert r.status == "refused" and r.upload_id is None
    assert sorted((e.rule, e.row, e.column) for e in r.errors) == sorted(expected)
    for e in r.errors:
        assert e.rule in RULES and RULES[e.rule] in e.as_dict()["message"]
    assert digest(seeded) == before


def test_the_refusals_say_what_the_file_is_and_where_the_fault_is(settings, fresh_db):
    def message(name: str) -> str:
        return " ".join(e.as_dict()["message"] for e in load(fresh_db, *CORPUS[name][:1], name, settings)[0].errors)

    assert "password-protected" in message("password_protected.xlsx")
    assert "CSV text file" in message("csv_renamed.xlsx") and "Rename it to .csv" in message("csv_renamed.xlsx")
    assert "Save as CSV UTF-8 or Excel workbook (.xlsx)" in message("csv_renamed.xlsx")
    assert "zip bomb" in message("zip_bomb_lying_size.xlsx")
    ref = message("ref_error.xlsx")
    assert "Sheet 'Data', cell E2 holds the error #REF!" in ref and "cell D3 holds the error #N/A" in ref
    assert "cell F3 holds the error #DIV/0!" in ref
    text = message("month_first_text_dates.xlsx")
    assert "month-first" in text and "this cell is text, not an Excel date" in text
    assert "Sheet 'Notes' has no header row" in message("no_header.xlsx")
    assert "B1:C1" not in message("merged_header.xlsx") and "E1:F1 are merged" in message("merged_header.xlsx")


def test_an_error_cell_in_a_column_outside_the_contract_is_ignored_with_the_column(fresh_db, settings):
    rows = [ASSESS + ["lookup"], ["A1", "C1", dt.datetime(2023, 4, 3), dt.datetime(2023, 4, 20), "N", None,
                                  ("=VLOOKUP(A2,X:Y,2,0)", "#N/A")]]
    results = load(fresh_db, workbook(("Data", rows)), "d.xlsx", settings)
    accepted(results)
    assert "lookup" in results[0].warnings[0]


def test_a_csv_named_csv_that_is_really_a_workbook_is_still_refused_as_not_csv(fresh_db, settings):
    r = load(fresh_db, _good_book(), "assessments.csv", settings)[0]
    assert [e.rule for e in r.errors] == ["binary_file"]


# --- kpi ingest ----------------------------------------------------------------------------------------


def test_kpi_ingest_takes_a_workbook_one_json_object_per_sheet(run_kpi, tmp_path, fresh_db):
    audits = [["audit_id", "audit_date", "grade"], ["AU1", dt.datetime(2023, 4, 1), "good"]]
    bad = [["audit_id", "audit_date", "grade"], ["AU2", dt.datetime(2023, 5, 1), "awful"]]
    path = tmp_path / "book.xlsx"
    path.write_bytes(workbook(("Sheet1", audits), ("Sheet2", bad), ("Old", audits), hidden=("Old",)))
    r = run_kpi("ingest", path, "--json")
    assert r.code == 1  # one sheet refused
    out = r.json()
    assert [(o["file"], o["status"], o["kind"]) for o in out] == [("book.xlsx#Sheet1", "accepted", "audits"),
                                                                   ("book.xlsx#Sheet2", "refused", "audits")]
    assert out[1]["errors"][0]["row"] == 2 and out[1]["errors"][0]["column"] == "grade"
    assert "accepted book.xlsx#Sheet1" in r.err and "refused book.xlsx#Sheet2" in r.err
    assert "Hidden sheet 'Old' was skipped" in r.err
    bad_path = tmp_path / "locked.xlsx"
    bad_path.write_bytes(_cfb(True))
    r = run_kpi("ingest", bad_path, "--json")
    assert r.code == 1 and r.json()[0]["errors"][0]["rule"] == "workbook_encrypted"
    assert "Traceback" not in r.err


# --- the upload page ----------------------------------------------------------------------------------


@pytest.fixture
def page(monkeypatch, tmp_path, fresh_db):
    from metrics.settings import get_settings

    monkeypatch.setenv("KPI_AUTH_MODE", "local")
    monkeypatch.delenv("KPI_ROLES", raising=False)
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()


def _open_upload_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/upload.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(at) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [c.value for c in at.caption]
    parts += [str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()]
    parts += [str(v).replace("\\", "") for t in at.table for v in t.value.to_numpy().ravel()]  # markdown-escaped
    return " ".join(parts)


def test_upload_page_says_which_file_types_it_takes_in_the_page(page):
    at = _open_upload_page()
    said = " ".join(m.value for m in at.markdown)
    assert "CSV files (.csv) and Excel workbooks (.xlsx, .xlsm)" in said
    assert "Save as CSV UTF-8 or Excel workbook (.xlsx)" in said
    labels = [b.proto.label for b in at.get("download_button")]
    for kind in KINDS:
        assert f"Example {kind}.csv" in labels and f"Example {kind}.xlsx" in labels


def test_upload_page_refuses_a_wrong_type_in_the_page_with_the_advice(page, digest):
    before = digest(page)
    at = _open_upload_page()
    at.get("file_uploader")[0].set_value(("report.pdf", b"%PDF-1.7 ...", "application/pdf"))
    at.run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error).replace("\\", "")  # markdown escapes
    assert "report.pdf is a .pdf file" in errors and "Save as CSV UTF-8 or Excel workbook (.xlsx)" in errors
    assert digest(page) == before


def test_upload_page_checks_and_loads_each_sheet_of_a_workbook(page):
    audits = [["Audits, April"], [], ["audit_id", "audit_date", "grade"], ["AU1", dt.datetime(2023, 4, 1), "good"],
              ["AU2", dt.datetime(2023, 4, 2), "inadequate"]]
    bad = [["audit_id", "audit_date", "grade"], ["AU3", dt.datetime(2023, 5, 1), ("=#REF!", "#REF!")]]
    at = _open_upload_page()
    at.get("file_uploader")[0].set_value(("april.xlsx", workbook(("Audits", audits), ("Broken", bad)),
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Ready: 2 rows of **audits**" in s.value for s in at.success)
    shown = _shown(at)
    assert "Sheet 'Broken', cell C2 holds the error #REF!" in shown
    load = [b for b in at.button if b.label.startswith("Load ")]
    assert [b.label for b in load] == ["Load 2 rows"]
    load[0].click()
    at.run()
    assert not at.exception
    assert any("Loaded as upload 1" in s.value for s in at.success)
    assert len(current(page, "audits")) == 2


def test_upload_page_refuses_an_encrypted_workbook_plainly(page, digest):
    before = digest(page)
    at = _open_upload_page()
    at.get("file_uploader")[0].set_value(("locked.xlsx", _cfb(True), "application/octet-stream"))
    at.run()
    assert not at.exception
    assert "password-protected" in _shown(at)
    assert digest(page) == before


def test_ingest_bytes_gives_one_result_for_a_workbook_summing_its_sheets(fresh_db, settings):
    audits = [["audit_id", "audit_date", "grade"], ["AU1", dt.datetime(2023, 4, 1), "good"]]
    bad = [["audit_id", "audit_date", "grade"], ["AU2", dt.datetime(2023, 5, 1), "awful"]]
    conn = store.connect(fresh_db)
    try:
        one = ingest_bytes(conn, workbook(("A", audits)), "one.xlsx", settings=settings)
        both = ingest_bytes(conn, workbook(("B", bad), ("C", audits)), "two.xlsx", settings=settings)
    finally:
        conn.close()
    assert (one.file, one.status, one.rows) == ("one.xlsx#A", "accepted", 1)
    assert (both.file, both.status, both.kind) == ("two.xlsx", "refused", None)
    assert [(e.rule, e.row) for e in both.errors] == [("enum", 2)] and both.errors[0].message.startswith("two.xlsx#B: ")


def test_a_table_starting_at_c4_keeps_the_sheets_row_numbers_and_merged_data_cells_are_refused(fresh_db, settings):
    rows = [[], [], [], [None, None, "audit_id", "audit_date", "grade", "team"],
            [None, None, "AU1", dt.datetime(2023, 4, 1), "good", "East"],
            [None, None, "AU2", "31/02/2023", "good", "East"]]
    r = load(fresh_db, workbook(("S", rows)), "a.xlsx", settings)[0]
    assert [(e.rule, e.row, e.column) for e in r.errors] == [("date_impossible", 6, "audit_date")]

    def merge_team(wb, ws, name):
        ws.merge_range(4, 5, 5, 5, "East")

    r = load(fresh_db, workbook(("S", rows[:5] + [[None, None, "AU2", dt.datetime(2023, 4, 2), "good"]]),
                                setup=merge_team), "a.xlsx", settings)[0]
    assert [(e.rule, e.row, e.column) for e in r.errors] == [("merged_cells", 5, "team")]
    assert "F5:F6 are merged" in r.errors[0].message


def test_a_dtd_after_a_long_comment_is_still_found(fresh_db, settings, digest):
    import base64
    import random

    noise = base64.b64encode(random.Random(1).randbytes(4 << 20))  # incompressible: no zip-bomb ratio
    padded = _XML_BOMB.replace(b"<!DOCTYPE", b"<!--" + noise + b"-->" + b"<!DOCTYPE", 1)
    before = digest(fresh_db)
    r = load(fresh_db, _replace_part(_good_book(), "xl/worksheets/sheet1.xml", padded), "late.xlsx", settings)[0]
    assert [e.rule for e in r.errors] == ["workbook_unsafe"]  # found past the first unpacked chunk
    assert digest(fresh_db) == before


def _prefixed(sheet_xml: bytes) -> bytes:
    """The same sheet XML with a namespace prefix on every element (as some non-Excel writers do)."""
    import re

    xml = re.sub(rb"<(/?)([A-Za-z]\w*)([\s/>])", rb"<\1x:\2\3", sheet_xml)
    return xml.replace(b'xmlns="', b'xmlns:x="')


@pytest.mark.parametrize("prefixed", [False, True], ids=["plain", "x-prefixed"])
def test_error_cells_are_found_across_every_unpacking_boundary(prefixed, monkeypatch):
    import metrics.workbook as wbmod

    rows = [ASSESS] + [[f"A{i}", "C1", dt.datetime(2023, 4, 3), dt.datetime(2023, 4, 20),
                        ("=#REF!", "#REF!") if i % 3 == 0 else "N", "T"] for i in range(12)]
    data = workbook(("Data", rows))
    if prefixed:
        part = "xl/worksheets/sheet1.xml"
        data = _replace_part(data, part, _prefixed(zipfile.ZipFile(io.BytesIO(data)).read(part)))

    def errors() -> list[tuple]:
        sheet = read_workbook(data, "b.xlsx").sheets[0]
        return [(e.rule, e.row, e.column, e.value) for e in sheet.table.errors]

    whole = errors()
    assert whole == [("cell_error", r, "nfa", "#REF!") for r in (2, 5, 8, 11)]
    for size in (37, 64, 101):
        monkeypatch.setattr(wbmod, "_UNPACK_CHUNK", size)
        assert errors() == whole, size


def test_a_sheet_without_a_header_says_which_row_came_closest(fresh_db, settings):
    rows = [["Audits"], ["audit_id", "audit_date", "outcome"], ["AU1", dt.datetime(2023, 4, 1), "good"]]
    r = load(fresh_db, workbook(("Audits", rows)), "a.xlsx", settings)[0]
    assert [e.rule for e in r.errors] == ["no_header"]
    assert "The closest is row 2, which looks like 'audits' but lacks: grade." in r.errors[0].message
    r = load(fresh_db, workbook(("Audits", rows)), "a.xlsx", settings, kind="workforce")[0]
    assert "has no header row of kind 'workforce'" in r.errors[0].message


def test_a_sheet_stretched_by_a_stray_far_cell_is_refused_before_it_is_read(fresh_db, settings, monkeypatch):
    import metrics.workbook as wbmod

    monkeypatch.setattr(wbmod, "MAX_CELLS", 10_000)
    rows = [["audit_id", "audit_date", "grade"], ["AU1", dt.datetime(2023, 4, 1), "good"]]

    def stray(wb, ws, name):
        ws.write_string(5000, 30, "x")

    r = load(fresh_db, workbook(("Audits", rows), setup=stray), "a.xlsx", settings)[0]
    assert [e.rule for e in r.errors] == ["workbook_too_large"]
    assert "spans 5,001 rows by 31 columns (cells up to AE5001)" in r.errors[0].message


def test_an_xlsm_workbook_is_read_as_an_xlsx_is(fresh_db, settings):
    rows = [["audit_id", "audit_date", "grade"], ["AU1", dt.datetime(2023, 4, 1), "good"]]
    results = load(fresh_db, workbook(("Audits", rows)), "macros.xlsm", settings)
    accepted(results)
    assert [r.file for r in results] == ["macros.xlsm#Audits"]
