"""The files a council already has (metrics/sources.py): Annex A, the workforce census (CSV, XML), SSD table
exports and the SSDA903 social worker table, recognised by their own headers and mapped onto the contract's
kinds. Every file here is synthetic and built in the test. The check that matters: the KPIs computed from a
council's own file equal those computed from the same data as a product CSV."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import pytest

from metrics import sources, store
from metrics.ingest import ingest_bytes, ingest_path_all

# --- the synthetic data, once, and each way of writing it -------------------------------------------------

# child, assessment start, authorised, "Was the child assessed as requiring LA children's social care support?", team
ASSESSMENTS = [
    ("C000101", "2024-01-08", "2024-02-05", "No", "Assessment North"),
    ("C000102", "2024-01-15", "2024-02-20", "Yes", "Assessment North"),
    ("C000103", "2024-02-01", "2024-03-11", "Yes", "Assessment South"),
    ("C000104", "2024-02-12", "2024-03-28", "No", "Assessment South"),
    ("C000101", "2024-03-01", "2024-03-29", "Yes", "Assessment North"),  # the same child again: another assessment
]
OPEN = ("C000105", "2024-03-20", "", "", "Assessment South")  # not yet authorised: not an assessment completed

# SWENo, AgencyWorker, OrgRole, FTE, RoleStartDate, RoleEndDate, team
WORKERS = [
    ("SW100001", "0", "5", "1", "2019-05-01", "", "Safeguarding East"),
    ("SW100002", "1", "5", "0.8", "2023-01-09", "", "Safeguarding East"),
    ("SW100003", "0", "3", "1", "2015-02-02", "", "Safeguarding East"),
    ("SW100004", "1", "3", "1", "2023-06-01", "", "Safeguarding West"),
    ("SW100005", "0", "4", "0.5", "2020-10-10", "", "Safeguarding West"),
    ("SW100006", "0", "5", "1", "2018-01-01", "2024-02-15", "Safeguarding West"),  # left before the month's end
    ("SW100007", "0", "1", "1", "2010-01-01", "", "Safeguarding West"),
    ("SW100008", "0", "6", "0.6", "2021-04-01", "", "Safeguarding East"),
]
ROLE_NAMES = dict(sources.ORG_ROLE_CODES)
JOB_TITLES = {"1": "Senior Manager", "2": "Service Manager", "3": "Team Manager", "4": "Senior Practitioner",
              "5": "Social Worker", "6": "6"}

# child, worker, start, end, reason: at 31/03/2024 C1 has had 3 social workers in 12 months, C2 one, C3 two
EPISODES = [
    ("C000201", "W000301", "2023-02-01", "2023-06-30", "LEFTRL"),
    ("C000201", "W000302", "2023-07-01", "2023-12-31", "ORGRST"),
    ("C000201", "W000303", "2024-01-01", "", ""),
    ("C000202", "W000301", "2022-05-01", "", ""),
    ("C000203", "W000302", "2023-09-01", "2024-01-31", "MANAGE"),
    ("C000203", "W000304", "2024-02-01", "", ""),
]

# conference id, child, date, format
INITIAL = [("IC0001", "C000401", "2024-02-06", "face_to_face"), ("IC0002", "C000402", "2024-02-19", "virtual"),
           ("IC0003", "C000403", "2024-03-04", "hybrid")]
REVIEWS = [("RC0001", "C000404", "2024-02-08", "virtual"), ("RC0002", "C000405", "2024-03-12", "face_to_face")]


def uk(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}" if iso else ""


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    def cell(v: str) -> str:
        return f'"{v}"' if ("," in v or '"' in v) else v

    return ("\n".join(",".join(cell(c) for c in r) for r in [header, *rows]) + "\n").encode()


def product_assessments() -> bytes:
    return csv_bytes(["assessment_id", "child_id", "start_date", "completed_date", "nfa", "team"],
                     [[f"A{i:04d}", c, s, e, "Y" if support == "No" else "N", t]
                      for i, (c, s, e, support, t) in enumerate(ASSESSMENTS)])


LIST_4_HEADER = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
                 "Does the Child have a Disability", "Continuous Assessment Start Date",
                 "Child Seen During Continuous Assessment", "Continuous Assessment Date of Authorisation",
                 "Was the child assessed as requiring LA children's social care support?", "Allocated Team",
                 "Allocated Worker"]


def list_4_rows(rows=ASSESSMENTS, *, with_open: bool = True) -> list[list[str]]:
    answers = {"Yes": ("a) Yes", "Yes"), "No": ("b) No", "No")}
    out = []
    for i, (c, s, e, support, t) in enumerate([*rows, *([OPEN] if with_open else [])]):
        answer = answers[support][i % 2] if support in answers else support
        out.append([c, "b) Female", "a) WBRI", "14/03/2015", "8", "b) No", uk(s), "a) Yes", uk(e), answer, t,
                    "Jo Bloggs"])
    return out


def annex_a_list_4(header=LIST_4_HEADER, rows=None) -> bytes:
    return csv_bytes(header, rows if rows is not None else list_4_rows())


def product_workforce(rows=WORKERS, *, dates: bool = True) -> bytes:
    header = ["worker_id", "role", "agency", "fte", "team"] + (["start_date", "end_date"] if dates else [])
    return csv_bytes(header, [[w, ROLE_NAMES[r], "Y" if a == "1" else "N", f, team] + ([s, e] if dates else [])
                              for w, a, r, f, s, e, team in rows])


def csww_csv() -> bytes:
    return csv_bytes(["SWENo", "AgencyWorker", "PersonBirthDate", "GenderCurrent", "OrgRole", "FTE",
                      "RoleStartDate", "RoleEndDate", "Ethnicity"],
                     [[w, a, "1980-02-03", "2", r, f, s, e, "WBRI"] for w, a, r, f, s, e, _ in WORKERS])


def csww_xml(reference: str = "2024-03-31", rows=WORKERS) -> bytes:
    workers = "".join(
        "  <CSWWWorker>\n"
        f"    <AgencyWorker>{a}</AgencyWorker>\n    <SWENo>{w}</SWENo>\n    <FTE>{f}</FTE>\n"
        "    <PersonBirthDate>1980-02-03</PersonBirthDate>\n    <GenderCurrent>2</GenderCurrent>\n"
        f"    <OrgRole>{r}</OrgRole>\n    <RoleStartDate>{s}</RoleStartDate>\n"
        + (f"    <RoleEndDate>{e}</RoleEndDate>\n" if e else "")
        + "    <Cases30>12</Cases30>\n  </CSWWWorker>\n"
        for w, a, r, f, s, e, _ in rows)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Message>\n  <Header>\n    <CollectionDetails>\n'
            f"      <Collection>CSWW</Collection>\n      <Year>2024</Year>\n      <ReferenceDate>{reference}"
            "</ReferenceDate>\n    </CollectionDetails>\n  </Header>\n  <LALevelVacancies>\n"
            "    <NumberOfVacancies>3.5</NumberOfVacancies>\n  </LALevelVacancies>\n" + workers
            + "</Message>\n").encode()


def product_allocations() -> bytes:
    return csv_bytes(["child_id", "worker_id", "start_date", "end_date", "change_reason"], [list(e) for e in EPISODES])


def product_conferences(which=("initial", "review")) -> bytes:
    rows = [[i, c, "initial", d, f] for i, c, d, f in INITIAL] if "initial" in which else []
    rows += [[i, c, "review", d, f] for i, c, d, f in REVIEWS] if "review" in which else []
    return csv_bytes(["conference_id", "child_id", "conference_type", "conference_date", "format"], rows)


# --- running the CLI on two stores ----------------------------------------------------------------------------


@pytest.fixture
def other_db(fresh_db, tmp_path) -> Path:
    """A second fresh store with the same key: the product CSV goes in one, the council's own file in the other."""
    path = tmp_path / "product.sqlite"
    path.write_bytes(fresh_db.read_bytes())
    return path


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def ingest(run_kpi, path: Path, *args, db: Path | None = None) -> list[dict]:
    res = run_kpi("ingest", path, "--json", *args, *(["--db", db] if db else []))
    return res.json()


def accepted(results: list[dict]) -> dict:
    (r,) = results
    assert r["status"] == "accepted", r["errors"]
    return r


def metrics(run_kpi, db: Path | None = None, *ids: str) -> list[dict]:
    res = run_kpi("metrics", "--json", *[x for i in ids for x in ("--metric", i)], *(["--db", db] if db else []))
    assert res.code == 0, res.err
    return res.json()


def same_kpis(run_kpi, fresh_db, other_db, *ids: str) -> list[dict]:
    mine, theirs = metrics(run_kpi, fresh_db, *ids), metrics(run_kpi, other_db, *ids)
    assert mine and mine == theirs
    return mine


def uploads(db: Path) -> list[dict]:
    with contextlib.closing(store.connect(db)) as c:
        return store.list_uploads(c)


# --- Annex A ------------------------------------------------------------------------------------------------


def test_annex_a_list_4_gives_the_same_kpi_as_the_product_csv(run_kpi, fresh_db, other_db, tmp_path,
                                                              raw_store_bytes):
    r = accepted(ingest(run_kpi, write(tmp_path, "annex_a_list_4.csv", annex_a_list_4())))
    assert (r["kind"], r["rows"], r["months"]) == ("assessments", 5, ["2024-02", "2024-03"])
    assert any("1 assessments with no Continuous Assessment Date of Authorisation (not yet completed) was left out"
               in w for w in r["warnings"])
    dropped = next(w for w in r["warnings"] if w.startswith("Columns not in the contract"))
    assert "Date of Birth" in dropped and "Allocated Worker" in dropped and "Gender" in dropped
    accepted(ingest(run_kpi, write(tmp_path, "assessments.csv", product_assessments()), db=other_db))
    values = same_kpis(run_kpi, fresh_db, other_db, "assessment_nfa_rate")
    assert [(v["month"], v["numerator"], v["denominator"]) for v in values] == [("2024-02", 1, 2), ("2024-03", 1, 3)]
    (u,) = uploads(fresh_db)
    assert u["source"] == "Annex A List 4 (CSV)"
    held = raw_store_bytes(fresh_db)
    for never in (b"C000101", b"Jo Bloggs", b"14/03/2015", b"2015-03-14", b"WBRI"):
        assert never not in held  # identifiers pseudonymised; columns outside the contract never stored


@pytest.mark.parametrize("header", [
    ["Child ID", "Assessment Start Date", "Assessment Authorisation Date",
     "Was the child assessed as requiring LA children’s social care support?", "Team"],  # curly apostrophe
    ["CHILD UNIQUE ID", "continuous assessment start date", "continuous_assessment_date_of_authorisation",
     "was the child assessed as requiring la childrens social care support", "allocated team"],
    ["Unique Child ID", "Date Assessment Started", "Date of Authorisation",
     "Child assessed as needing LA CSC support?", "Allocated Team Name"],
])
def test_annex_a_list_4_in_the_spellings_seen_in_the_wild(header, run_kpi, tmp_path):
    rows = [[c, uk(s), uk(e), support, t] for c, s, e, support, t in ASSESSMENTS]
    r = accepted(ingest(run_kpi, write(tmp_path, "list4.csv", csv_bytes(header, rows))))
    assert r["rows"] == 5 and r["warnings"] == []


@pytest.mark.parametrize("answer, rule", [("Unknown", "bool"), ("c) Unknown", "bool"), ("", "required")])
def test_annex_a_support_question_neither_yes_nor_no_is_refused_and_changes_nothing(answer, rule, run_kpi, fresh_db,
                                                                                   tmp_path, digest):
    rows = list_4_rows()
    rows[2][9] = answer
    before = digest(fresh_db)
    res = run_kpi("ingest", write(tmp_path, "list4.csv", annex_a_list_4(rows=rows)), "--json")
    assert res.code == 1
    (r,) = res.json()
    (e,) = r["errors"]
    assert (e["rule"], e["row"]) == (rule, 4)
    assert e["column"] == "Was the child assessed as requiring LA children's social care support? → nfa"
    assert "answer Yes" in e["message"] and "Unknown or blank cannot be counted" in e["message"]
    assert digest(fresh_db) == before


def test_annex_a_errors_name_their_own_columns_and_masks_identifiers(run_kpi, tmp_path):
    rows = list_4_rows()
    rows[0][8] = uk("2023-12-01")  # authorised before it started
    rows[1][6] = "2024-13-01"
    (r,) = ingest(run_kpi, write(tmp_path, "list4.csv", annex_a_list_4(rows=rows)))
    got = {(e["row"], e["column"], e["rule"]) for e in r["errors"]}
    assert got == {(2, "Continuous Assessment Date of Authorisation → completed_date", "date_order"),
                   (3, "Continuous Assessment Start Date → start_date", "date_impossible")}
    assert "C000101" not in json.dumps(r)


@pytest.mark.parametrize("number, title, header", [
    (1, "contacts", "Date of Contact"), (2, "early help assessments", "Organisation completing assessment"),
    (3, "referrals", "Referral NFA?"),
    (5, "section 47 enquiries and initial child protection conferences",
     "Strategy discussion initiating Section 47 Enquiry Start Date"),
    (6, "children in need", "CIN Start Date"), (7, "children subject to a child protection plan",
                                                "Initial Category of Abuse"),
    (8, "children in care", "Date Started to be Looked After"), (9, "care leavers", "Eligibility Category"),
    (10, "children with an adoption decision", "Date of Decision that Child Should be Placed for Adoption"),
    (11, "adopters", "Individual adopter identifier"),
])
def test_the_other_annex_a_lists_are_named_and_never_stored(number, title, header, run_kpi, fresh_db, tmp_path,
                                                            digest):
    before = digest(fresh_db)
    data = csv_bytes(["Child Unique ID", "Gender", header, "Allocated Team"], [["C000901", "a) Male", "x", "T"]])
    res = run_kpi("ingest", write(tmp_path, f"list{number}.csv", data), "--json")
    (r,) = res.json()
    assert res.code == 1 and r["status"] == "refused"
    (e,) = r["errors"]
    assert e["rule"] == "not_used"
    assert f"Annex A List {number} — {title}: not used by any KPI" in e["message"]
    assert digest(fresh_db) == before


def test_a_council_file_of_another_kind_than_the_one_chosen_is_refused_plainly(run_kpi, tmp_path):
    (r,) = ingest(run_kpi, write(tmp_path, "list4.csv", annex_a_list_4()), "--kind", "workforce", "--month",
                  "2024-03")
    (e,) = r["errors"]
    assert e["rule"] == "unknown_kind"
    assert "is Annex A List 4 — assessments, which gives assessments, not workforce" in e["message"]


def test_the_upload_page_sniff_names_the_source():
    from metrics.validate import sniff

    assert sniff(annex_a_list_4())[0] == "assessments"
    kind, _, said = sniff(csv_bytes(["Child Unique ID", "CIN Start Date"], [["C1", "01/01/2024"]]))
    assert kind is None and said == "Annex A List 6 — children in need: not used by any KPI."
    kind, headers, _ = sniff(csww_xml())
    assert kind == "workforce" and "snapshot_date" in headers  # the page need not ask for the month
    assert sniff(BOMB)[0] is None


# --- Annex A as a workbook ----------------------------------------------------------------------------------


def annex_a_workbook(list_4_sheet: str = "List 4 - Assessments", list_4_rows_=None) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    contacts = book.add_worksheet("List 1")
    contacts.write_row(0, 0, ["Child Unique ID", "Gender", "Date of Contact", "Contact Source"])
    contacts.write_row(1, 0, ["C000901", "a) Male"])
    contacts.write_datetime(1, 2, dt.datetime(2024, 2, 1), date)
    contacts.write(1, 3, "q) 6: Police")
    sheet = book.add_worksheet(list_4_sheet)
    sheet.write(0, 0, "Annex A — List 4: Assessments")  # title rows above the header
    sheet.write(1, 0, "Synthetic data for tests")
    sheet.write_row(3, 0, LIST_4_HEADER)
    for i, row in enumerate(list_4_rows_ if list_4_rows_ is not None else list_4_rows()):
        for j, v in enumerate(row):
            if j in (6, 8) and v:  # start and authorisation dates: real Excel dates
                sheet.write_datetime(4 + i, j, dt.datetime.strptime(v, "%d/%m/%Y"), date)
            elif j == 4:
                sheet.write_number(4 + i, j, int(v))
            else:
                sheet.write(4 + i, j, v)
    cin = book.add_worksheet("List 6")
    cin.write_row(0, 0, ["Child Unique ID", "CIN Start Date", "Primary Need Code", "Case Status"])
    cin.write_row(1, 0, ["C000902", "01/02/2024", "N1 - Abuse or neglect", "c) Child in need plan"])
    book.close()
    return buf.getvalue()


def test_an_annex_a_workbook_loads_list_4_and_names_the_others(fresh_db, other_db, settings, run_kpi, tmp_path):
    path = write(tmp_path, "annex_a.xlsx", annex_a_workbook())
    with contextlib.closing(store.connect(fresh_db)) as conn:
        (r,) = ingest_path_all(conn, path, settings=settings, uploaded_by="tester")
    assert r.status == "accepted", r.errors
    assert (r.file, r.kind, r.rows, r.source) == ("annex_a.xlsx#List 4 - Assessments", "assessments", 5,
                                                  "Annex A List 4 (Excel)")
    assert "Sheet 'List 1' is Annex A List 1 — contacts: not used by any KPI, so nothing from it was stored." \
        in r.warnings
    assert any(w.startswith("Sheet 'List 6' is Annex A List 6 — children in need: not used by any KPI")
               for w in r.warnings)
    accepted(ingest(run_kpi, write(tmp_path, "assessments.csv", product_assessments()), db=other_db))
    same_kpis(run_kpi, fresh_db, other_db, "assessment_nfa_rate")
    assert [u["kind"] for u in uploads(fresh_db)] == ["assessments"]


def test_list_4_from_excel_and_from_csv_is_the_same_assessment(fresh_db, settings):
    """Its identifier is made of the child and the start date, the date written one way (a real Excel date and
    a UK text date agree), so an assessment loaded from the workbook is recognised again in a CSV."""
    feb = [a for a in ASSESSMENTS if a[2].startswith("2024-02")]
    moved = (feb[0][0], feb[0][1], "2024-03-04", "No", feb[0][4])  # the same assessment, authorised in March
    with contextlib.closing(store.connect(fresh_db)) as conn:
        r = ingest_bytes(conn, annex_a_workbook(list_4_rows_=list_4_rows(feb, with_open=False)), "feb.xlsx",
                         settings=settings)
        assert r.ok and r.months == ["2024-02"], r.errors
        again = ingest_bytes(conn, annex_a_list_4(rows=list_4_rows([moved], with_open=False)), "march.csv",
                             settings=settings, commit=False)
    assert again.status == "refused"
    assert [e.rule for e in again.errors] == ["duplicate_event"]


def test_an_annex_a_workbook_with_only_lists_no_kpi_reads_stores_nothing(fresh_db, settings, tmp_path, digest):
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.add_worksheet("List 6").write_row(0, 0, ["Child Unique ID", "CIN Start Date", "Primary Need Code"])
    book.add_worksheet("CP").write_row(0, 0, ["Child Unique ID", "Child Protection Plan Start Date"])
    book.close()
    before = digest(fresh_db)
    with contextlib.closing(store.connect(fresh_db)) as conn:
        (r,) = ingest_path_all(conn, write(tmp_path, "b.xlsx", buf.getvalue()), settings=settings)
    assert r.status == "refused" and [e.rule for e in r.errors] == ["not_used"]
    assert "Annex A List 6 — children in need" in r.errors[0].message
    assert "Sheet 'CP' is Annex A List 7 — children subject to a child protection plan" in r.errors[0].message
    assert digest(fresh_db) == before


def test_a_sheet_named_list_4_without_its_headers_says_which_it_lacks(fresh_db, settings, tmp_path):
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.add_worksheet("List 4").write_row(0, 0, ["Child", "Started", "Outcome"])
    book.close()
    with contextlib.closing(store.connect(fresh_db)) as conn:
        (r,) = ingest_path_all(conn, write(tmp_path, "b.xlsx", buf.getvalue()), settings=settings)
    assert r.status == "refused"
    assert "Its name suggests Annex A List 4 — assessments, whose header row has 'Child Unique ID'" \
        in r.errors[0].message


# --- the children's social work workforce census ------------------------------------------------------------

WORKFORCE_KPIS = ("agency_rate", "permanent_practitioners_fte", "permanent_team_managers")


def test_csww_census_csv_gives_the_same_kpis_as_the_product_csv(run_kpi, fresh_db, other_db, tmp_path,
                                                              raw_store_bytes):
    r = accepted(ingest(run_kpi, write(tmp_path, "csww.csv", csww_csv()), "--month", "2024-03"))
    assert r["rows"] == len(WORKERS)
    accepted(ingest(run_kpi, write(tmp_path, "workforce.csv", product_workforce(
        [(w, a, r, f, s, e, "") for w, a, r, f, s, e, _ in WORKERS])), "--month", "2024-03", db=other_db))
    values = same_kpis(run_kpi, fresh_db, other_db, *WORKFORCE_KPIS)
    assert {(v["metric"], v["numerator"]) for v in values} >= {("permanent_team_managers", 1),
                                                              ("permanent_practitioners_fte", 2.1)}
    assert uploads(fresh_db)[0]["source"] == "CSWW census (CSV)"
    assert b"SW100001" not in raw_store_bytes(fresh_db) and b"1980-02-03" not in raw_store_bytes(fresh_db)


def test_csww_census_xml_takes_its_month_from_the_reference_date(run_kpi, fresh_db, other_db, tmp_path):
    r = accepted(ingest(run_kpi, write(tmp_path, "csww.xml", csww_xml())))
    assert (r["kind"], r["months"], r["rows"]) == ("workforce", ["2024-03"], len(WORKERS))
    assert any("Cases30" in w and "PersonBirthDate" in w for w in r["warnings"])
    accepted(ingest(run_kpi, write(tmp_path, "workforce.csv", product_workforce(
        [(w, a, r, f, s, e, "") for w, a, r, f, s, e, _ in WORKERS])), "--month", "2024-03", db=other_db))
    same_kpis(run_kpi, fresh_db, other_db, *WORKFORCE_KPIS)
    assert uploads(fresh_db)[0]["source"] == "CSWW census (XML)"


def test_csww_census_xml_errors_give_the_workers_line_and_a_month_that_disagrees_is_refused(run_kpi, tmp_path):
    bad = [*WORKERS[:2], ("SW100099", "2", "9", "1.5", "2020-01-01", "", "")]
    (r,) = ingest(run_kpi, write(tmp_path, "csww.xml", csww_xml(rows=bad)))
    got = {(e["column"], e["rule"]) for e in r["errors"]}
    assert got == {("AgencyWorker → agency", "bool"), ("OrgRole → role", "enum"), ("FTE → fte", "number_range")}
    lines = csww_xml(rows=bad).decode().splitlines()
    line = [i + 1 for i, text in enumerate(lines) if text == "  <CSWWWorker>"][2]  # the third worker's line
    assert {e["row"] for e in r["errors"]} == {line}
    (r,) = ingest(run_kpi, write(tmp_path, "csww2.xml", csww_xml()), "--month", "2024-02")
    assert [e["rule"] for e in r["errors"]] == ["snapshot_month"]


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE Message [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<Message><CSWWWorker><SWENo>&e;</SWENo><OrgRole>5</OrgRole><AgencyWorker>0</AgencyWorker><FTE>1</FTE></CSWWWorker>
</Message>
"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE Message [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Message><CSWWWorker><SWENo>&x;</SWENo><OrgRole>5</OrgRole><AgencyWorker>0</AgencyWorker><FTE>1</FTE></CSWWWorker>
</Message>
"""


@pytest.mark.parametrize("data, rule", [
    (BOMB, "xml_declaration"),
    (EXTERNAL, "xml_declaration"),
    (BOMB.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16"),
     "encoding"),  # the census is UTF-8: UTF-16 is refused before any XML is parsed
    (b"<?xml version='1.0'?><Message><CSWWWorker><SWENo>1</SWENo></Message>", "xml_malformed"),
    (b"<?xml version='1.0'?><Message><Other/></Message>", "unknown_kind"),
])
def test_a_dangerous_or_broken_census_xml_is_refused_and_changes_nothing(data, rule, run_kpi, fresh_db, tmp_path,
                                                                        digest):
    before = digest(fresh_db)
    res = run_kpi("ingest", write(tmp_path, "csww.xml", data), "--json", "--month", "2024-03")
    (r,) = res.json()
    assert res.code == 1 and [e["rule"] for e in r["errors"]] == [rule]
    assert "passwd" not in res.out and "root:" not in res.out
    assert digest(fresh_db) == before


@pytest.mark.parametrize("data", [BOMB, EXTERNAL, BOMB.replace(b'<?xml version="1.0"?>', b"")])
def test_the_xml_parser_itself_refuses_declarations_the_byte_scan_might_miss(data, monkeypatch):
    """Two guards: with the byte scan switched off, the parser's handlers still refuse the DOCTYPE, so no
    entity is ever expanded and no file is ever read."""
    from metrics.issues import Refused

    monkeypatch.setattr(sources, "_DECLARATION", __import__("re").compile(rb"(?!x)x"))
    with pytest.raises(Refused) as r:
        sources.read_census_xml(data)
    assert [e.rule for e in r.value.errors] == ["xml_declaration"]


# --- SSD table exports ---------------------------------------------------------------------------------------


def ssd_time(iso: str) -> str:
    return f"{iso} 00:00:00.000" if iso else ""


def test_ssd_professionals(run_kpi, fresh_db, other_db, tmp_path, raw_store_bytes):
    data = csv_bytes(
        ["prof_professional_id", "prof_staff_id", "prof_professional_name", "prof_social_worker_registration_no",
         "prof_professional_job_title", "prof_professional_caseload", "prof_professional_department",
         "prof_full_time_equivalency", "prof_agency_worker_flag"],
        [[f"P{i}", w, "Sam Example", "SW999999", JOB_TITLES[r], "12", team, f, "Y" if a == "1" else "N"]
         for i, (w, a, r, f, s, e, team) in enumerate(WORKERS) if not e])
    r = accepted(ingest(run_kpi, write(tmp_path, "ssd_professionals.csv", data), "--month", "2024-03"))
    assert "prof_professional_name" in r["warnings"][0] and "prof_professional_id" in r["warnings"][0]
    accepted(ingest(run_kpi, write(tmp_path, "workforce.csv", product_workforce(
        [w for w in WORKERS if not w[5]], dates=False)), "--month", "2024-03", db=other_db))
    same_kpis(run_kpi, fresh_db, other_db, *WORKFORCE_KPIS)
    assert uploads(fresh_db)[0]["source"] == "SSD ssd_professionals (CSV)"
    assert b"Sam Example" not in raw_store_bytes(fresh_db) and b"SW999999" not in raw_store_bytes(fresh_db)


def test_ssd_professionals_job_title_outside_the_roles_is_refused_with_advice(run_kpi, tmp_path):
    data = csv_bytes(["prof_staff_id", "prof_professional_job_title", "prof_full_time_equivalency",
                      "prof_agency_worker_flag"], [["W1", "Head of Everything", "1", "N"]])
    (r,) = ingest(run_kpi, write(tmp_path, "p.csv", data), "--month", "2024-03")
    (e,) = r["errors"]
    assert (e["rule"], e["column"]) == ("enum", "prof_professional_job_title → role")
    assert "map other titles before export" in e["message"]


def test_ssd_cin_assessments_with_database_dates_and_open_assessments(run_kpi, fresh_db, other_db, tmp_path):
    rows = [[f"A{i:04d}", c, "R1", ssd_time(s), "Y", ssd_time(e), "{}", "Y" if sup == "No" else "N", t, "W1"]
            for i, (c, s, e, sup, t) in enumerate([*ASSESSMENTS, OPEN])]
    data = csv_bytes(["cina_assessment_id", "cina_person_id", "cina_referral_id", "cina_assessment_start_date",
                      "cina_assessment_child_seen", "cina_assessment_auth_date", "cina_assessment_outcome_json",
                      "cina_assessment_outcome_nfa", "cina_assessment_team", "cina_assessment_worker_id"], rows)
    r = accepted(ingest(run_kpi, write(tmp_path, "ssd_cin_assessments.csv", data)))
    assert r["rows"] == 5 and any("left out" in w for w in r["warnings"])
    accepted(ingest(run_kpi, write(tmp_path, "assessments.csv", product_assessments()), db=other_db))
    same_kpis(run_kpi, fresh_db, other_db, "assessment_nfa_rate")
    assert uploads(fresh_db)[0]["source"] == "SSD ssd_cin_assessments (CSV)"


def test_ssd_involvements(run_kpi, fresh_db, other_db, tmp_path):
    data = csv_bytes(["invo_involvements_id", "invo_professional_id", "invo_professional_role_id",
                      "invo_professional_team", "invo_involvement_start_date", "invo_involvement_end_date",
                      "invo_worker_change_reason", "invo_person_id", "invo_referral_id"],
                     [[f"I{i}", w, "SW", "T1", ssd_time(s), ssd_time(e), why, c, "R1"]
                      for i, (c, w, s, e, why) in enumerate(EPISODES)])
    accepted(ingest(run_kpi, write(tmp_path, "ssd_involvements.csv", data), "--month", "2024-03"))
    accepted(ingest(run_kpi, write(tmp_path, "allocations.csv", product_allocations()), "--month", "2024-03",
                    db=other_db))
    (v,) = same_kpis(run_kpi, fresh_db, other_db, "three_plus_social_workers")
    assert (v["numerator"], v["denominator"]) == (1, 3)
    assert uploads(fresh_db)[0]["source"] == "SSD ssd_involvements (CSV)"


@pytest.mark.parametrize("table, rows, prefix, id_col, date_col", [
    ("ssd_initial_cp_conference", INITIAL, "icpc", "icpc_icpc_id", "icpc_icpc_date"),
    ("ssd_cp_reviews", REVIEWS, "cppr", "cppr_cp_review_id", "cppr_cp_review_date"),
])
def test_ssd_conference_tables(table, rows, prefix, id_col, date_col, run_kpi, fresh_db, other_db, tmp_path):
    header = [id_col, f"{prefix}_person_id", date_col, f"{prefix}_meeting_id", "format"]
    data = csv_bytes(header, [[i, c, ssd_time(d), "M1", f] for i, c, d, f in rows])
    r = accepted(ingest(run_kpi, write(tmp_path, f"{table}.csv", data)))
    assert r["rows"] == len(rows)
    which = "initial" if prefix == "icpc" else "review"
    accepted(ingest(run_kpi, write(tmp_path, "conferences.csv", product_conferences((which,))), db=other_db))
    same_kpis(run_kpi, fresh_db, other_db, "face_to_face_conferences")
    assert uploads(fresh_db)[0]["source"] == f"SSD {table} (CSV)"
    with contextlib.closing(store.connect(fresh_db)) as conn:
        assert set(store.read_current(conn, "conferences")["conference_type"]) == {which}


def test_ssd_conference_table_without_format_says_to_add_it(run_kpi, tmp_path):
    data = csv_bytes(["icpc_icpc_id", "icpc_person_id", "icpc_icpc_date"], [["IC1", "C1", "2024-02-06"]])
    (r,) = ingest(run_kpi, write(tmp_path, "icpc.csv", data))
    (e,) = r["errors"]
    assert (e["rule"], e["column"]) == ("missing_column", "format")
    assert "The SSD does not record how a conference was held: add a column `format`" in e["message"]


# --- the SSDA903 social worker table ------------------------------------------------------------------------


def test_ssda903_social_worker_table(run_kpi, fresh_db, other_db, tmp_path, raw_store_bytes):
    data = csv_bytes(["CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"],
                     [[c, "01/06/2012", w, uk(s), uk(e), why] for c, w, s, e, why in EPISODES])
    r = accepted(ingest(run_kpi, write(tmp_path, "sw.csv", data), "--month", "2024-03"))
    assert r["kind"] == "allocations" and "DOB" in r["warnings"][0]
    accepted(ingest(run_kpi, write(tmp_path, "allocations.csv", product_allocations()), "--month", "2024-03",
                    db=other_db))
    same_kpis(run_kpi, fresh_db, other_db, "three_plus_social_workers")
    assert uploads(fresh_db)[0]["source"] == "SSDA903 social workers (CSV)"
    assert b"2012-06-01" not in raw_store_bytes(fresh_db) and b"01/06/2012" not in raw_store_bytes(fresh_db)


# --- where each value came from -----------------------------------------------------------------------------


def test_kpi_uploads_shows_each_uploads_source(run_kpi, fresh_db, tmp_path):
    accepted(ingest(run_kpi, write(tmp_path, "assessments.csv", product_assessments())))
    accepted(ingest(run_kpi, write(tmp_path, "csww.xml", csww_xml())))
    res = run_kpi("uploads")
    assert res.code == 0
    lines = res.out.splitlines()
    assert "source" in lines[0]
    assert "product format (CSV)" in lines[1] and "CSWW census (XML)" in lines[2]
    assert [u["source"] for u in run_kpi("uploads", "--json").json()] == ["product format (CSV)",
                                                                          "CSWW census (XML)"]


def test_the_kpi_page_says_where_each_months_values_came_from(run_kpi, fresh_db, tmp_path):
    rows = list_4_rows(with_open=False)
    accepted(ingest(run_kpi, write(tmp_path, "annex.csv", annex_a_list_4(rows=rows[:2]))))  # February
    accepted(ingest(run_kpi, write(tmp_path, "march.csv", csv_bytes(
        ["assessment_id", "child_id", "start_date", "completed_date", "nfa"],
        [["A9", "C000109", "2024-03-01", "2024-03-05", "N"]]))))
    with contextlib.closing(store.connect(fresh_db)) as conn:
        found = sources.current_sources(conn, "assessments", "assessment_nfa_rate")
    assert found == [("Annex A List 4 (CSV)", ["2024-02"]), ("product format (CSV)", ["2024-03"])]
    assert sources.describe_sources(found) == "Source: Annex A List 4 (CSV), 2024-02; product format (CSV), 2024-03"


def test_every_source_is_documented_with_a_mapping_table():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "extracts.md").read_text()
    for s in sources.SOURCES:
        assert (f"### {s.name} → {s.kind}" in doc) if s.kind else (s.label in doc)


def test_an_older_store_records_its_uploads_as_product_csv(tmp_path):
    """Migration 7: every upload made before sources existed was a product-format CSV."""
    path = tmp_path / "v6.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.executescript((Path(__file__).parent / "fixtures" / "schema_versions" / "v6.sql").read_text())
    with contextlib.closing(store.connect(path)) as c:
        assert [(u["id"], u["source"]) for u in store.list_uploads(c)] == [(1, "product format (CSV)")]


def test_the_kpi_page_shows_the_source_line(run_kpi, fresh_db, tmp_path, monkeypatch):
    from helpers_pages import app_page, local_mode

    accepted(ingest(run_kpi, write(tmp_path, "annex.csv", annex_a_list_4())))
    local_mode(monkeypatch)
    at = app_page("kpi", kpi="assessment_nfa_rate")
    assert not at.exception, [e.value for e in at.exception]
    from dashboard.components.text import plain  # captions are shown as plain text (markdown escaped)

    assert plain("Source: Annex A List 4 (CSV), 2024-02 to 2024-03") in [c.value for c in at.caption]


def test_the_upload_page_reads_an_annex_a_workbook_by_its_headers(fresh_db, monkeypatch):
    from dashboard.components.text import plain
    from helpers_pages import app_page, local_mode

    local_mode(monkeypatch)
    at = app_page("upload")
    at.get("file_uploader")[0].set_value(("annex_a.xlsx", annex_a_workbook(), "application/vnd.ms-excel"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption]
    assert plain("Sheet 'List 6' is Annex A List 6 — children in need: not used by any KPI, so nothing from it was "
                 "stored.") in captions
    assert [s.value for s in at.selectbox if s.label == "Extract kind"] == ["assessments"]
    assert any("Ready: 5 rows of **assessments**" in s.value for s in at.success)


def workbook_of(sheet: str, header: list[str], rows: list[list]) -> bytes:
    """One sheet: numbers as numbers, datetime values as real Excel dates."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    ws = book.add_worksheet(sheet)
    ws.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row):
            if isinstance(v, dt.datetime):
                ws.write_datetime(i, j, v, when)
            elif v != "":
                ws.write(i, j, v)
    book.close()
    return buf.getvalue()


def test_csww_census_as_an_excel_workbook(run_kpi, fresh_db, other_db, tmp_path):
    rows = [[w, int(a), int(r), float(f), dt.datetime.fromisoformat(s), dt.datetime.fromisoformat(e) if e else ""]
            for w, a, r, f, s, e, _ in WORKERS]
    data = workbook_of("CSWW 2024", ["SWENo", "AgencyWorker", "OrgRole", "FTE", "RoleStartDate", "RoleEndDate"], rows)
    r = accepted(ingest(run_kpi, write(tmp_path, "csww.xlsx", data), "--month", "2024-03"))
    assert r["file"] == "csww.xlsx#CSWW 2024"
    accepted(ingest(run_kpi, write(tmp_path, "workforce.csv", product_workforce(
        [(w, a, r, f, s, e, "") for w, a, r, f, s, e, _ in WORKERS])), "--month", "2024-03", db=other_db))
    same_kpis(run_kpi, fresh_db, other_db, *WORKFORCE_KPIS)
    assert uploads(fresh_db)[0]["source"] == "CSWW census (Excel)"


def test_an_ssd_export_as_an_excel_workbook_with_date_times(run_kpi, fresh_db, other_db, tmp_path):
    rows = [[f"A{i:04d}", c, dt.datetime.fromisoformat(s).replace(hour=9, minute=30),
             dt.datetime.fromisoformat(e).replace(hour=16), "Y" if sup == "No" else "N", t]
            for i, (c, s, e, sup, t) in enumerate(ASSESSMENTS)]
    data = workbook_of("ssd_cin_assessments", ["cina_assessment_id", "cina_person_id", "cina_assessment_start_date",
                                               "cina_assessment_auth_date", "cina_assessment_outcome_nfa",
                                               "cina_assessment_team"], rows)
    accepted(ingest(run_kpi, write(tmp_path, "ssd.xlsx", data)))
    accepted(ingest(run_kpi, write(tmp_path, "assessments.csv", product_assessments()), db=other_db))
    same_kpis(run_kpi, fresh_db, other_db, "assessment_nfa_rate")
    assert uploads(fresh_db)[0]["source"] == "SSD ssd_cin_assessments (Excel)"


def test_a_product_format_sheet_named_list_4_is_read_as_it_is(fresh_db, settings, tmp_path):
    """The sheet name is only a hint: headers of the product's own format win."""
    rows = [[f"A{i}", c, s, e, "Y" if sup == "No" else "N"] for i, (c, s, e, sup, _) in enumerate(ASSESSMENTS)]
    data = workbook_of("List 4", ["assessment_id", "child_id", "start_date", "completed_date", "nfa"], rows)
    with contextlib.closing(store.connect(fresh_db)) as conn:
        (r,) = ingest_path_all(conn, write(tmp_path, "b.xlsx", data), settings=settings)
    assert r.status == "accepted" and r.source == "product format (Excel)"


def test_the_upload_page_takes_the_census_xml_and_its_month(fresh_db, monkeypatch):
    from helpers_pages import app_page, local_mode

    local_mode(monkeypatch)
    at = app_page("upload")
    at.get("file_uploader")[0].set_value(("csww_2024.xml", csww_xml(), "text/xml"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert not [s for s in at.selectbox if s.label.startswith("Month this snapshot")]  # the file gives it
    assert any(f"Ready: {len(WORKERS)} rows of **workforce**" in s.value for s in at.success)
