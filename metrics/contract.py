"""The monthly extract contract (v1), declared once.

Everything that needs to know about extract kinds — the validator, kind detection, the example
files, the column guide in the dashboard and ``docs/extracts.md`` — reads :data:`KINDS`.
The text this implements is ``shared/spec/extracts.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from metrics.kpis import Ids, View

ColumnType = Literal["id", "text", "date", "bool", "number", "enum", "month"]
Period = Literal["snapshot", "event", "aggregate"]

# KPI ids, as in metrics.md: read from the KPI registry each time (metrics.kpis imports nothing from
# here), so a KPI registered later is one a figures upload may name. PERCENT_KPI_IDS follows each
# KPI's declared unit.
KPI_IDS: Ids = Ids()
PERCENT_KPI_IDS: Ids = Ids(lambda k: k.is_percent)
# KPIs whose figures are FTE (fractions allowed); every other KPI's numerator and denominator count
# people or records and must be whole numbers. Follows each KPI's declared parts_unit.
FTE_KPI_IDS: Ids = Ids(lambda k: k.parts_unit == "fte")

# Length limits (characters): any cell of any column, and an identifier.
MAX_CELL_CHARS = 10_000
MAX_ID_CHARS = 100
# Numbers: no count or FTE comes near; larger values are typing slips (or, 400 digits long, infinity).
MAX_NUMBER = 1e12


def normalise_header(name: str) -> str:
    """Header matching rule: case-insensitive, trimmed, ``-`` and space treated as ``_``."""
    return re.sub(r"[\s\-]", "_", name.strip().lstrip("\ufeff").strip()).lower()


def normalise_token(value: str) -> str:
    """Enumeration matching rule: as headers (case-insensitive, ``-``/space as ``_``)."""
    return re.sub(r"[\s\-]+", "_", value.strip()).lower()


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    aliases: tuple[str, ...] = ()
    # enum: canonical value -> accepted aliases (canonical value itself is always accepted)
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: str = ""
    # keyed hash before storage: child_id and worker_id as the contract requires, and every other
    # case-record identifier too (assessment, conference, audit, complaint ids) — only a milestone
    # id, which names a line of a public plan, is stored as given.
    pseudonymise: bool = False
    min_value: float | None = None  # number bounds
    min_inclusive: bool = True
    max_value: float | None = None
    example: str = ""

    @property
    def accepted_headers(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def enum_lookup(self) -> dict[str, str]:
        """Normalised accepted token -> canonical value."""
        out: dict[str, str] = {}
        for canonical, aliases in self.values.items():
            out[normalise_token(canonical)] = canonical
            for a in aliases:
                out[normalise_token(a)] = canonical
        return out


@dataclass(frozen=True)
class Kind:
    name: str
    period: Period
    tor: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    event_date: str | None = None  # event kinds: the column that dates the event
    # pairs (earlier, later): later must be >= earlier when both present
    ordered_dates: tuple[tuple[str, str], ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def header_map(self) -> dict[str, str]:
        """Normalised accepted header -> canonical column name."""
        out: dict[str, str] = {}
        for c in self.columns:
            for h in c.accepted_headers:
                out[normalise_header(h)] = c.name
        if self.period == "snapshot":
            out["snapshot_date"] = "snapshot_date"
        return out


def _id(name: str, aliases: tuple[str, ...] = (), required: bool = True, pseudo: bool = True,
        notes: str = "", example: str = "") -> Column:
    return Column(name, "id", required=required, aliases=aliases, pseudonymise=pseudo,
                  notes=notes, example=example)


ROLE_VALUES = {
    "senior_manager": ("1",),
    "middle_manager": ("2", "service_manager"),
    "team_manager": ("3", "first_line_manager"),
    "senior_practitioner": ("4", "advanced_practitioner"),
    "case_holder": ("5", "social_worker"),
    "qualified_no_cases": ("6",),
    "other": (),
}
QUALIFIED_ROLES = ("senior_manager", "middle_manager", "team_manager", "senior_practitioner",
                   "case_holder", "qualified_no_cases")
PRACTITIONER_ROLES = ("senior_practitioner", "case_holder", "qualified_no_cases")

TOR_REFS = ("2a", "2b-vii", "2c", "2d", "2e", "3", "4")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            name="workforce",
            period="snapshot",
            tor="2b(i), 2b(ii)",
            description=(
                "Every qualified children's social worker, manager and agency worker in the service "
                "at month end (leavers during the month may be included with end_date)."
            ),
            columns=(
                _id("worker_id", ("prof_staff_id", "SWENo"), pseudo=True, example="W000123"),
                Column("role", "enum", required=True, aliases=("OrgRole", "prof_professional_job_title"),
                       values=ROLE_VALUES, notes="CSWW OrgRole digits 1..6 accepted",
                       example="case_holder"),
                Column("agency", "bool", required=True,
                       aliases=("AgencyWorker", "prof_agency_worker_flag"), example="N"),
                Column("fte", "number", required=True, aliases=("FTE", "prof_full_time_equivalency"),
                       min_value=0, min_inclusive=False, max_value=1, notes="0 < fte ≤ 1",
                       example="0.8"),
                Column("team", "text", aliases=("prof_professional_department",), example="Safeguarding East"),
                Column("start_date", "date", aliases=("RoleStartDate",), example="2021-09-01"),
                Column("end_date", "date", aliases=("RoleEndDate",), notes="blank if in post", example=""),
            ),
            key=("worker_id",),
            ordered_dates=(("start_date", "end_date"),),
        ),
        Kind(
            name="assessments",
            period="event",
            tor="2b(iv)",
            description="Every child and family (single) assessment completed (authorised) in the period.",
            columns=(
                _id("assessment_id", ("cina_assessment_id",), example="A0001"),
                _id("child_id", ("cina_person_id",), pseudo=True, example="C000123"),
                Column("start_date", "date", required=True, aliases=("cina_assessment_start_date",),
                       example="2023-04-03"),
                Column("completed_date", "date", required=True, aliases=("cina_assessment_auth_date",),
                       notes="≥ start_date; the event date", example="2023-04-28"),
                Column("nfa", "bool", required=True, aliases=("cina_assessment_outcome_nfa",),
                       notes="assessment concluded with no further action", example="N"),
                Column("team", "text", aliases=("cina_assessment_team",), example="Assessment North"),
            ),
            key=("assessment_id",),
            event_date="completed_date",
            ordered_dates=(("start_date", "completed_date"),),
        ),
        Kind(
            name="conferences",
            period="event",
            tor="2b(iii)",
            description="One row per child per child protection conference (initial or review) held in the period.",
            columns=(
                _id("conference_id", ("icpc_icpc_id", "cppr_cp_review_id"), example="CP0001"),
                _id("child_id", ("icpc_person_id", "cppr_person_id"), pseudo=True, example="C000123"),
                Column("conference_type", "enum", required=True,
                       values={"initial": ("ICPC",), "review": ("RCPC",)}, example="initial"),
                Column("conference_date", "date", required=True,
                       aliases=("icpc_icpc_date", "cppr_cp_review_date"), notes="the event date",
                       example="2023-04-12"),
                Column("format", "enum", required=True,
                       values={"face_to_face": ("in_person",), "hybrid": (),
                               "virtual": ("remote", "online")}, example="face_to_face"),
            ),
            key=("conference_id", "child_id"),
            event_date="conference_date",
        ),
        Kind(
            name="allocations",
            period="snapshot",
            tor="2b(v)",
            description=(
                "Every allocated-social-worker episode, for any child, that was open at any time in "
                "the 12 months ending on the snapshot month's last day."
            ),
            columns=(
                _id("child_id", ("invo_person_id", "CHILD"), pseudo=True, example="C000123"),
                _id("worker_id", ("invo_professional_id", "SW_ID"), pseudo=True, example="W000123"),
                Column("start_date", "date", required=True, aliases=("invo_involvement_start_date", "SW_DECOM"),
                       example="2022-11-14"),
                Column("end_date", "date", aliases=("invo_involvement_end_date", "SW_DEC"),
                       notes="blank if still open, ≥ start_date", example=""),
                Column("change_reason", "text", aliases=("invo_worker_change_reason", "SW_REASON"),
                       notes="RIIA codes e.g. LEFTRL, ORGRST", example=""),
            ),
            key=("child_id", "worker_id", "start_date"),
            ordered_dates=(("start_date", "end_date"),),
        ),
        Kind(
            name="audits",
            period="event",
            tor="2b(vi)",
            description="Every case-file audit completed in the period.",
            columns=(
                _id("audit_id", example="AU0001"),
                Column("audit_date", "date", required=True, notes="the event date", example="2023-04-20"),
                Column("grade", "enum", required=True,
                       values={"outstanding": ("1",), "good": ("2",),
                               "requires_improvement": ("3", "RI", "requires improvement to be good"),
                               "inadequate": ("4",)}, example="good"),
                _id("child_id", required=False, pseudo=True, example="C000123"),
                Column("team", "text", example="Child Protection South"),
            ),
            key=("audit_id",),
            event_date="audit_date",
        ),
        Kind(
            name="complaints",
            period="snapshot",
            tor="2(c)",
            description="The complaints register at month end.",
            columns=(
                _id("complaint_id", example="CO0001"),
                Column("received_date", "date", required=True, example="2022-06-01"),
                Column("closed_date", "date", notes="blank if open, ≥ received_date", example=""),
                Column("stage", "enum", values={"1": (), "2": (), "3": (), "ombudsman": ()}, example="1"),
            ),
            key=("complaint_id",),
            ordered_dates=(("received_date", "closed_date"),),
        ),
        Kind(
            name="milestones",
            period="snapshot",
            tor="2(a), 2b(vii), 2(d), 2(e), 3, 4",
            description="The register of Improvement Plan and SEND strategy milestones at month end.",
            columns=(
                _id("milestone_id", pseudo=False, example="M001"),
                Column("tor_ref", "enum", required=True, values={t: () for t in TOR_REFS}, example="2a"),
                Column("title", "text", required=True, notes="short public title, stored (no personal data)",
                       example="Practice standards launched"),
                Column("due_date", "date", required=True, example="2023-06-30"),
                Column("completed_date", "date", notes="blank if not complete", example=""),
                Column("status", "enum",
                       values={s: () for s in ("not_started", "on_track", "at_risk", "off_track", "complete")},
                       example="on_track"),
            ),
            key=("milestone_id",),
        ),
        Kind(
            name="figures",
            period="aggregate",
            tor="any KPI",
            description=(
                "Monthly totals for a KPI, for months before record-level extracts existed or for "
                "authorities that can only supply totals."
            ),
            columns=(
                Column("month", "month", required=True, notes="YYYY-MM", example="2022-04"),
                Column("metric", "enum", required=True, values=View(lambda k: ()),
                       notes="a KPI id from metrics.md", example="agency_rate"),
                Column("numerator", "number", required=True, min_value=0,
                       notes="for count and FTE KPIs, the value itself", example="61.5"),
                Column("denominator", "number", min_value=0, min_inclusive=False,
                       notes="required for percentage KPIs", example="112.0"),
            ),
            key=("month", "metric"),
        ),
    )
}

SNAPSHOT_KINDS = tuple(k for k, v in KINDS.items() if v.period == "snapshot")
EVENT_KINDS = tuple(k for k, v in KINDS.items() if v.period == "event")

# Validation rules: code -> plain-English fix. Every error carries one of these codes.
RULES: dict[str, str] = {
    "empty_file": "The file is empty. Export the extract again, including the header row.",
    "unreadable_file": "The file could not be opened. Check its name and that you may read it.",
    "binary_file": "This is not a text CSV file (it may be a spreadsheet renamed .csv). In Excel use "
                   "File > Save As > 'CSV UTF-8 (Comma delimited)'.",
    "encoding": "Save the file as 'CSV UTF-8' (or Excel's plain 'CSV'); other encodings such as UTF-16 "
                "are not accepted.",
    "unknown_kind": "The headers do not match any extract kind. Check the header row against the "
                    "column guide, or choose the kind explicitly.",
    "ambiguous_kind": "The headers match more than one extract kind. Choose the kind explicitly.",
    "blank_header": "Every column needs a name. Delete the unnamed column or give it a header.",
    "duplicate_header": "Two columns have the same name (or are aliases of the same column). Keep one.",
    "missing_column": "Add the required column (any accepted alias will do).",
    "ragged_row": "This row has a different number of cells from the header. Check for stray commas, unquoted "
                  "text or missing cells.",
    "unbalanced_quote": "A quote mark opens a cell but is never closed, or is closed in the wrong place, so rows "
                        "run together. Fix the quotes on this row (a quote inside a cell is written twice: \"\").",
    "too_long": f"The value is too long (a cell holds at most {MAX_CELL_CHARS:,} characters, an identifier "
                f"{MAX_ID_CHARS}). Check for text pasted into the wrong cell.",
    "control_character": "The value holds an invisible control or formatting character (such as a zero-width "
                         "space or a right-to-left override). Retype the value.",
    "identifier_in_text": "Free-text columns are stored as written, so they must not hold identifiers (a letter "
                          "followed by 5 or more digits, or 6 or more digits in a row). Remove the identifier.",
    "whole_number": "This KPI counts people or records: use a whole number.",
    "duplicate_event": "This record is already counted in another upload that is still current (another month's, "
                       "or the other SSD conference table's). Upload one file covering both (or correct the "
                       "earlier file) so it is counted once.",
    "required": "Fill in this required value.",
    "date_format": "Write dates as day/month/year (30/04/2023) or ISO (2023-04-30).",
    "date_two_digit_year": "Write the year in full (30/04/2023): a two-digit year is ambiguous.",
    "date_excel_serial": "This looks like an Excel date number. Format the column as a date before saving.",
    "date_impossible": "This date does not exist. Dates are day/month/year, never month/day/year.",
    "bool": "Use Y/N, Yes/No, True/False or 1/0.",
    "enum": "Use one of the accepted values listed in the column guide.",
    "number": "Use a plain number, e.g. 0.8.",
    "number_range": "The number is outside the allowed range for this column.",
    "month_format": "Write the month as YYYY-MM, e.g. 2023-04.",
    "date_order": "The later date is before the earlier one. Check the two dates on this row.",
    "duplicate_key": "This record appears more than once. Each key must be unique in the file.",
    "formula": "The cell starts like a spreadsheet formula. Export values, not formulas.",
    "snapshot_month": "Snapshot extracts describe one month: give the month on upload or a snapshot_date "
                      "column with the same date on every row.",
    "outside_period": "This event is dated outside the months declared for the upload. Correct the "
                      "date or widen the period.",
    "no_period": "An event file with no rows needs the months it covers (e.g. --months 2023-04..2023-04).",
    "denominator_required": "Percentage KPIs need a denominator greater than 0.",
    "bad_option": "Check the month or period given on upload.",
    # plausible dates and empty uploads (issue 17)
    "date_range": "Dates must lie between KPI_DATE_MIN (default 01/01/1990) and KPI_DATE_MAX (default one year "
                  "after today). Check the year; leave an end date blank if it is still open.",
    "date_future": "An event date or snapshot_date cannot fall after the current month. Check the year, or "
                   "upload the file once the month has begun.",
    "month_range": "Months must lie between the month of KPI_DATE_MIN (default 1990-01) and the current month. "
                   "Check the year.",
    "empty_upload": "A file with no rows would replace data already stored. Check the export; if those months "
                    "really had none, load it with --allow-empty (kpi ingest) or tick the confirmation on the "
                    "Upload page.",
    # files a council already has (metrics.sources)
    "not_used": "This file was recognised, but no KPI reads it. Upload the list or table a KPI uses (see "
                "'Files a council already has' in the column guide).",
    "xml_declaration": "Export the census XML again without a DOCTYPE or ENTITY declaration (the census needs "
                       "neither).",
    "xml_malformed": "The XML is damaged or incomplete. Export the census file again.",
    "duplicate_snapshot": "Two files in one upload describe the same snapshot month; only the first is taken. "
                          "Keep one file per month, or upload the replacement on its own.",
    # Excel workbooks (issue 12)
    "workbook_format": "The upload takes CSV files (.csv) and Excel workbooks (.xlsx, .xlsm). Save as CSV UTF-8 or "
                       "Excel workbook (.xlsx).",
    "workbook_encrypted": "Remove the password (Excel: File > Info > Protect Workbook > Encrypt with Password, "
                          "clear it), save, and upload again.",
    "workbook_corrupt": "The workbook is damaged. Open it in Excel and save it again, or export it again.",
    "workbook_too_large": "The workbook unpacks to far more than its size (or over the limit). Save it again from "
                          "Excel, split it, or save it as CSV UTF-8.",
    "workbook_unsafe": "Save the workbook again from Excel (which never writes a document type declaration), or "
                       "save it as CSV UTF-8.",
    "no_header": "Each sheet needs one row of column headers (any accepted alias) in its first 50 rows, with only "
                 "title rows above it. Delete or hide sheets that are not extracts.",
    "merged_cells": "Unmerge the cells (Home > Merge & Center > Unmerge Cells) and give each its own value.",
    "cell_error": "The cell holds a formula error such as #REF! or #N/A. Fix the formula, or paste the column as "
                  "values, before uploading.",
}
