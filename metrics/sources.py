"""The files a council already has, recognised by their own headers and mapped onto the contract's kinds.

Each external source is declared once in :data:`SOURCES`: its name, the headers that recognise it (several
spellings, matched case-, space- and punctuation-insensitively), how its columns map onto a kind's columns and
how its values map onto the contract's values. :func:`adapt` applies a source to a table's headers and cells
*before* the contract's own validation, so CSV, Excel and the census XML share one path and one set of rules;
:func:`render_sources_md` writes the mapping tables of ``docs/extracts.md`` from the same declarations.

- **Annex A** (Ofsted's child-level data request): List 4 → ``assessments``. The other lists are recognised and
  named, and never stored (no KPI reads them).
- **CSWW census** (children's social work workforce census) as CSV, Excel or its XML → ``workforce``.
- **SSD** (Standard Safeguarding Dataset) table exports → ``workforce``, ``assessments``, ``allocations``,
  ``conferences``.
- **SSDA903 social worker table** (from the 2024 return) → ``allocations``.

A file none of them recognises is read as the product's own format (``product format``).
"""

from __future__ import annotations

import re
import xml.parsers.expat
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metrics.contract import KINDS, normalise_header
from metrics.csvread import RawTable
from metrics.issues import Issue, Refused

PRODUCT = "product format"


def key(text: str) -> str:
    """Lenient matching key for a header or a value: lower case, apostrophes dropped (straight or curly), every
    other run of punctuation or space one space. "Was the child assessed as requiring LA children’s social care
    support?" and "was the child assessed as requiring la childrens social care support" match."""
    t = text.replace("\ufeff", "").replace("’", "").replace("'", "").replace("‘", "").lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


_ANSWER_PREFIX = re.compile(r"^[a-z]\s+(?=\S)")  # "a) Yes" → key "a yes" → "yes"


@dataclass(frozen=True)
class Field:
    """One of a source's columns, and the contract column it fills."""

    target: str  # the contract column (or, for a list no KPI reads, a label)
    headers: tuple[str, ...]  # spellings seen in the wild; the first is the one documented
    pattern: str | None = None  # a regex on key(header), for long questions spelt many ways
    values: tuple[tuple[str, str], ...] = ()  # (their value, the contract's value), matched on key(value)
    datetime: bool = False  # database exports write dates as "2023-04-03 00:00:00.000": the date is kept
    hint: str = ""  # added to any message about this column

    def value_map(self) -> dict[str, str]:
        return {key(theirs): ours for theirs, ours in self.values}


@dataclass(frozen=True)
class Source:
    name: str  # as recorded with an upload and shown on the KPI page, e.g. "Annex A List 4"
    family: str  # "Annex A", "CSWW census", "SSD", "SSDA903"
    title: str  # what it lists, e.g. "assessments"
    kind: str | None  # the contract kind it fills; None: recognised, not used by any KPI
    signature: tuple[str, ...]  # targets whose headers must all be present to recognise the source
    fields: tuple[Field, ...] = ()
    constants: tuple[tuple[str, str], ...] = ()  # contract column → the value of every row
    derived_id: tuple[str, tuple[str, ...]] | None = None  # (contract id column, the columns it is made of)
    completed_only: str | None = None  # rows with this contract column blank are left out (not yet completed)
    missing_hints: tuple[tuple[str, str], ...] = ()  # contract column → what to do when the file lacks it
    note: str = ""  # for the docs

    @property
    def label(self) -> str:
        return f"{self.name} — {self.title}"

    def field(self, target: str) -> Field:
        return next(f for f in self.fields if f.target == target)

    def locate(self, headers: list[str]) -> dict[str, int]:
        """target → index of the first header that matches it (a header serves one target)."""
        keys = [key(str(h)) if h is not None else "" for h in headers]
        found: dict[str, int] = {}
        for f in self.fields:
            free = [i for i in range(len(keys)) if i not in found.values()]
            hit = next((i for spelling in f.headers for i in free if keys[i] == key(spelling)), None)
            if hit is None and f.pattern:  # spellings first, in their order; then the pattern
                hit = next((i for i in free if re.search(f.pattern, keys[i])), None)
            if hit is not None:
                found[f.target] = hit
        return found

    def recognised_by(self, headers: list[str]) -> bool:
        found = self.locate(headers)
        return all(t in found for t in self.signature)


# --- the declarations -----------------------------------------------------------------------------------

_YES = ("Yes", "Y", "a) Yes", "True", "1")
_NO = ("No", "N", "b) No", "False", "0")
_CHILD_ID = Field("child_id", ("Child Unique ID", "Child ID", "Unique Child ID", "Child Unique Identifier",
                               "Child Identifier", "ChildUniqueID", "Child Unique Ref", "CHILD"))
_ANNEX_A_NOTE = ("Recognised by its column headers (the spellings of liia-tools' Annex A schema and others seen "
                 "in councils' workbooks); the sheet name (\"List 4\", \"List 4 - Assessments\") is a hint, not a "
                 "requirement.")


def _list(number: int, title: str, *markers: str) -> Source:
    """An Annex A list no KPI reads: recognised by any one of its own headers, named, never stored."""
    fields = tuple(Field(f"marker {i}", (m,)) for i, m in enumerate(markers))
    return Source(f"Annex A List {number}", "Annex A", title, None, (), fields)


ANNEX_A_LIST_4 = Source(
    name="Annex A List 4", family="Annex A", title="assessments", kind="assessments",
    signature=("child_id", "start_date", "completed_date", "nfa"),
    fields=(
        _CHILD_ID,
        Field("start_date", ("Continuous Assessment Start Date", "Assessment Start Date", "Date Assessment Started",
                             "Start Date of Continuous Assessment", "Continuous Assessment Start")),
        Field("completed_date", ("Continuous Assessment Date of Authorisation", "Assessment Authorisation Date",
                                 "Date of Authorisation", "Assessment Date of Authorisation",
                                 "Date Assessment Authorised", "Continuous Assessment Authorisation Date"),
              pattern=r"^(continuous )?assessment (date of )?authori[sz]ation( date)?$"),
        Field("nfa", ("Was the child assessed as requiring LA children's social care support?",),
              pattern=r"assessed as (requiring|needing) .*support",
              values=tuple((v, "N") for v in _YES) + tuple((v, "Y") for v in _NO),
              hint="Annex A's question is the opposite of NFA: answer Yes (the child needs support, not NFA) or "
                   "No (no further action) for every authorised assessment; Unknown or blank cannot be counted."),
        Field("team", ("Allocated Team", "Team", "Allocated Team Name", "Team Allocated")),
    ),
    derived_id=("assessment_id", ("child_id", "start_date")),
    completed_only="completed_date",
    note="List 4 has no assessment identifier: each assessment is identified by the child and its start date "
         "(as liia-tools does), pseudonymised like any identifier. Assessments without an authorisation date are "
         "still open: they are left out and counted in a warning. \"No\" to the support question is an assessment "
         "that concluded with no further action.",
)

ANNEX_A_OTHER = (
    _list(1, "contacts", "Date of Contact", "Contact Source"),
    _list(2, "early help assessments", "Organisation completing assessment"),
    _list(3, "referrals", "Date of referral", "Referral NFA?", "Number of Referrals in Last 12 Months"),
    _list(5, "section 47 enquiries and initial child protection conferences",
          "Strategy discussion initiating Section 47 Enquiry Start Date",
          "Number of Section 47 Enquiries in the last 12 months", "Was an Initial Child Protection Conference "
          "deemed unnecessary?"),
    _list(6, "children in need", "CIN Start Date", "Primary Need Code", "CIN Closure Date"),
    _list(7, "children subject to a child protection plan", "Child Protection Plan Start Date",
          "Initial Category of Abuse", "Latest Category of Abuse"),
    _list(8, "children in care", "Date Started to be Looked After", "Child's Legal Status",
          "Start Date of Most Recent Placement"),
    _list(9, "care leavers", "Eligibility Category", "Allocated Personal Advisor", "Latest Pathway Plan Review Date"),
    _list(10, "children with an adoption decision", "Date of Decision that Child Should be Placed for Adoption",
          "Date of Matching Child and Prospective Adopters"),
    _list(11, "adopters", "Individual adopter identifier", "Date enquiry received", "Date Stage 1 started"),
)

# CSWW OrgRole codes (the census guide): 1 senior manager, 2 middle manager, 3 first line manager,
# 4 senior practitioner, 5 case holder, 6 qualified without cases.
ORG_ROLE_CODES = (("1", "senior_manager"), ("2", "middle_manager"), ("3", "team_manager"),
                  ("4", "senior_practitioner"), ("5", "case_holder"), ("6", "qualified_no_cases"))

CSWW = Source(
    name="CSWW census", family="CSWW census", title="workforce", kind="workforce",
    signature=("worker_id", "role", "agency"),
    fields=(
        Field("worker_id", ("SWENo",)),
        Field("role", ("OrgRole",), values=ORG_ROLE_CODES,
              hint="CSWW OrgRole codes are 1 to 6 (3 = first line manager)."),
        Field("agency", ("AgencyWorker",), values=(("1", "Y"), ("0", "N")),
              hint="CSWW AgencyWorker is 1 (agency) or 0 (employed directly)."),
        Field("fte", ("FTE",)),
        Field("start_date", ("RoleStartDate",)),
        Field("end_date", ("RoleEndDate",)),
    ),
    note="As CSV, Excel or the census XML (one `<CSWWWorker>` per worker; the header's `<ReferenceDate>` is the "
         "snapshot date unless a month is given, and must agree with it). XML is read with entity declarations "
         "refused outright: a file with a `<!DOCTYPE` or `<!ENTITY` is refused whole. In XML, the row number of a "
         "message is the line of the worker's `<CSWWWorker>`. Leavers (with RoleEndDate) may stay in the file: "
         "the KPIs count who was in post at each month's end. Other census items (birth date, gender, "
         "ethnicity, qualifications, absence) are dropped and never stored.",
)

_SSD_DATE = r"(\d{4}-\d{2}-\d{2})"

SSD_PROFESSIONALS = Source(
    name="SSD ssd_professionals", family="SSD", title="workforce", kind="workforce",
    signature=("worker_id", "agency", "fte"),
    fields=(
        Field("worker_id", ("prof_staff_id", "prof_professional_id")),
        Field("role", ("prof_professional_job_title",),
              hint="The job title must name a contract role (e.g. Social Worker, Senior Practitioner, Team "
                   "Manager, Service Manager) or a CSWW OrgRole code 1 to 6; map other titles before export."),
        Field("agency", ("prof_agency_worker_flag",)),
        Field("fte", ("prof_full_time_equivalency",)),
        Field("team", ("prof_professional_department",)),
    ),
    note="`prof_staff_id` is the worker identifier (`prof_professional_id` when the export has no staff id). "
         "Names, registration numbers and caseloads are dropped and never stored.",
)

SSD_CIN_ASSESSMENTS = Source(
    name="SSD ssd_cin_assessments", family="SSD", title="assessments", kind="assessments",
    signature=("assessment_id", "child_id", "completed_date"),
    fields=(
        Field("assessment_id", ("cina_assessment_id",)),
        Field("child_id", ("cina_person_id",)),
        Field("start_date", ("cina_assessment_start_date",), datetime=True),
        Field("completed_date", ("cina_assessment_auth_date",), datetime=True),
        Field("nfa", ("cina_assessment_outcome_nfa",)),
        Field("team", ("cina_assessment_team",)),
    ),
    completed_only="completed_date",
    note="Assessments without `cina_assessment_auth_date` are still open: they are left out and counted in a "
         "warning.",
)

SSD_INVOLVEMENTS = Source(
    name="SSD ssd_involvements", family="SSD", title="allocated social workers", kind="allocations",
    signature=("child_id", "worker_id", "start_date"),
    fields=(
        Field("child_id", ("invo_person_id",)),
        Field("worker_id", ("invo_professional_id",)),
        Field("start_date", ("invo_involvement_start_date",), datetime=True),
        Field("end_date", ("invo_involvement_end_date",), datetime=True),
        Field("change_reason", ("invo_worker_change_reason",)),
    ),
    note="Export the allocated-social-worker involvements only (filter `invo_professional_role_id` to the "
         "allocated social worker role): every row counts as a social worker the child had.",
)

_SSD_FORMAT = ("The SSD does not record how a conference was held: add a column `format` (face_to_face, hybrid or "
               "virtual) to the export.")
_SSD_CONFERENCE_NOTE = (
    "Each SSD conference table is its own part of the month's conferences: an upload of {this} covers only the "
    "{type} conferences of its months, so {other} loads beside it (in either order, in one batch or separately) "
    "and each replaces only its own earlier upload. A product-format conferences file covers both types of its "
    "months, so it replaces both tables' uploads, and either table replaces its type in it. A file with these "
    "headers and its own `conference_type` column is a whole conferences file (both types of its months), "
    "recorded as '{name} with its own conference_type'.")

SSD_INITIAL_CP_CONFERENCE = Source(
    name="SSD ssd_initial_cp_conference", family="SSD", title="initial child protection conferences",
    kind="conferences", signature=("conference_id", "child_id", "conference_date"),
    fields=(
        Field("conference_id", ("icpc_icpc_id",)),
        Field("child_id", ("icpc_person_id",)),
        Field("conference_date", ("icpc_icpc_date",), datetime=True),
    ),
    constants=(("conference_type", "initial"),),
    missing_hints=(("format", _SSD_FORMAT),),
    note=_SSD_CONFERENCE_NOTE.format(this="ssd_initial_cp_conference", type="initial", other="ssd_cp_reviews",
                                     name="SSD ssd_initial_cp_conference"),
)

SSD_CP_REVIEWS = Source(
    name="SSD ssd_cp_reviews", family="SSD", title="child protection review conferences", kind="conferences",
    signature=("conference_id", "child_id", "conference_date"),
    fields=(
        Field("conference_id", ("cppr_cp_review_id",)),
        Field("child_id", ("cppr_person_id",)),
        Field("conference_date", ("cppr_cp_review_date",), datetime=True),
    ),
    constants=(("conference_type", "review"),),
    missing_hints=(("format", _SSD_FORMAT),
                   ("child_id", "Use an SSD version whose ssd_cp_reviews has cppr_person_id.")),
    note=_SSD_CONFERENCE_NOTE.format(this="ssd_cp_reviews", type="review", other="ssd_initial_cp_conference",
                                     name="SSD ssd_cp_reviews"),
)

SSDA903_SOCIAL_WORKERS = Source(
    name="SSDA903 social workers", family="SSDA903", title="social workers of children in care",
    kind="allocations", signature=("child_id", "worker_id", "start_date"),
    fields=(
        Field("child_id", ("CHILD",)),
        Field("worker_id", ("SW_ID",)),
        Field("start_date", ("SW_DECOM",)),
        Field("end_date", ("SW_DEC",)),
        Field("change_reason", ("SW_REASON",)),
    ),
    note="The social worker table of the SSDA903 return (from 2024), the source of DfE's published \"3 or more "
         "social workers\" figure for children in care. It lists children in care only, so the KPI computed "
         "from it is for children in care. DOB is dropped and never stored.",
)

#: Every source, in the order they are tried (the first recognised wins).
SOURCES: tuple[Source, ...] = (
    ANNEX_A_LIST_4, *ANNEX_A_OTHER, CSWW, SSD_PROFESSIONALS, SSD_CIN_ASSESSMENTS, SSD_INVOLVEMENTS,
    SSD_INITIAL_CP_CONFERENCE, SSD_CP_REVIEWS, SSDA903_SOCIAL_WORKERS,
)


def source_named(source: str) -> Source | None:
    """The declared source an upload's recorded ``source`` ("SSD ssd_cp_reviews (Excel)") names, if any."""
    name = source.rsplit(" (", 1)[0]
    return next((s for s in SOURCES if s.name == name), None)


def conference_scope(source: str) -> str | None:
    """The one conference type an upload from ``source`` covers (an SSD conference table: ``initial`` or
    ``review``), or None: a product-format conferences file (or SSD conference headers with their own
    ``conference_type`` column) covers every conference of its months, both types.
    :func:`metrics.store.scopes_and_months` scopes a conferences upload by it."""
    src = source_named(source)
    if src is None or src.kind != "conferences":
        return None
    return dict(src.constants).get("conference_type")


def _recognise_unused(s: Source, headers: list[str]) -> bool:
    return any(f.target in s.locate(headers) for f in s.fields)


def recognise(headers: list[str]) -> Source | None:
    """The source whose headers these are, or None (the product's own format, or not recognised)."""
    for s in SOURCES:
        if s.kind is None:
            if _recognise_unused(s, headers):
                return s
        elif s.recognised_by(headers):
            return s
    return None


_LIST_HINT = re.compile(r"\blist\s*(\d{1,2})\b", re.IGNORECASE)


def hinted(sheet_name: str | None) -> Source | None:
    """The Annex A list a sheet's name points to ("List 4 - Assessments" → List 4), if any: only a hint."""
    m = _LIST_HINT.search(sheet_name or "")
    if not m:
        return None
    return next((s for s in SOURCES if s.name == f"Annex A List {int(m.group(1))}"), None)


# --- workbooks: which sheet is which ----------------------------------------------------------------------

NOT_USED = "not used: "  # a sheet's "kind" when it is a list no KPI reads, followed by the source's name


def sheet_kind(cells: list[str], kind: str | None = None) -> str | None:
    """The workbook reader's recogniser (:func:`metrics.workbook.read_workbook`): the kind a row of header cells
    announces — a source's kind, ``NOT_USED + name`` for a list no KPI reads, or the contract's own columns."""
    from metrics.workbook import contract_kind

    src = recognise(cells)
    if src is not None and src.kind is None:
        return NOT_USED + src.name
    if src is not None and kind in (None, src.kind):
        return src.kind
    return contract_kind(cells, kind)


def set_aside(book) -> None:
    """Take the sheets that are lists no KPI reads out of ``book`` (a :class:`metrics.workbook.Workbook`), naming
    each in its notes. Refused (``not_used``) when no other sheet is left: nothing would be stored."""
    kept = []
    for sheet in book.sheets:
        if sheet.kind and sheet.kind.startswith(NOT_USED):
            src = next(s for s in SOURCES if s.name == sheet.kind[len(NOT_USED):])
            book.notes.append(f"Sheet '{sheet.sheet}' is {src.label}: not used by any KPI, so nothing from it was "
                              "stored.")
        else:
            kept.append(sheet)
    if not kept:
        raise Refused([Issue.file("not_used", " ".join(book.notes))])
    book.sheets = kept


def explain_sheet(sheet: str, errors: list[Issue]) -> list[Issue]:
    """A sheet with no header row the reader knows, named like an Annex A list ("List 4 - Assessments"): say
    which of that list's headers it lacks (the name is only a hint, so the headers decide)."""
    hint = hinted(sheet)
    if hint is None or hint.kind is None:
        return errors
    need = ", ".join(f"'{hint.field(t).headers[0]}'" for t in hint.signature)
    return [replace(e, message=f"{e.message} Its name suggests {hint.label}, whose header row has {need} (or "
                                f"their other spellings: see 'Files a council already has').")
            if e.rule == "no_header" else e for e in errors]


# --- applying a source ----------------------------------------------------------------------------------


@dataclass
class Adapted:
    """A table in the contract's terms: what :func:`adapt` returns."""

    table: RawTable
    kind: str | None
    source: str  # e.g. "Annex A List 4 (CSV)"
    spec: Source | None = None
    warnings: list[str] = field(default_factory=list)
    shown: dict[str, str] = field(default_factory=dict)  # contract column → how messages name it

    def explain(self, refused: Refused) -> Refused:
        """The validator's findings in the source's own words: its column names, and what to do."""
        if self.spec is None:
            return refused
        hints = {f.target: f.hint for f in self.spec.fields if f.hint}
        missing = dict(self.spec.missing_hints)
        out = []
        for e in refused.errors:
            col = e.column
            msg = e.message
            if e.rule == "missing_column" and col in missing:
                msg = f"{msg} {missing[col]}"
            elif e.rule == "missing_column" and col in {f.target for f in self.spec.fields}:
                f = self.spec.field(col)
                msg = f"{self.spec.name} gives '{col}' as '{f.headers[0]}', which is missing."
            elif col in hints and e.rule not in ("missing_column",):
                msg = f"{msg} {hints[col]}"
            out.append(replace(e, column=self.shown.get(col, col) if col else col, message=msg))
        return Refused(out, refused.kind)


class NotUsed(Refused):
    """A file recognised as a source no KPI reads (e.g. Annex A List 6): named, nothing stored."""

    def __init__(self, source: Source, where: str = "This file"):
        self.source = source
        super().__init__([Issue.file("not_used", f"{where} is {source.label}: not used by any KPI, so nothing "
                                                 "was stored.")])


def adapt(table: RawTable, kind: str | None = None, *, container: str = "CSV",
          sheet: str | None = None) -> Adapted:
    """Recognise ``table`` by its headers and put it in the contract's terms (headers renamed, values mapped,
    constant and derived columns added, not-yet-completed rows left out). A table no source recognises is
    returned as it is (the product's own format). Raises :class:`NotUsed` for a list no KPI reads, and
    :class:`Refused` when the file is a source of another kind than the one chosen, or a sheet named after an
    Annex A list whose headers are not that list's."""
    where = f"Sheet '{sheet}'" if sheet else "This file"
    src = recognise(table.headers)
    if src is None:
        hint = hinted(sheet)
        hmap = KINDS[hint.kind].header_map() if hint is not None and hint.kind else {}
        product = {hmap.get(normalise_header(str(h))) for h in table.headers}
        if hint is not None and hint.kind is not None and kind in (None, hint.kind) and \
                not all(c in product for c in KINDS[hint.kind].required):
            found = hint.locate(table.headers)
            lacking = [f"'{hint.field(t).headers[0]}'" for t in hint.signature if t not in found]
            raise Refused([Issue.file("unknown_kind", f"{where} is named like {hint.label}, but its headers lack "
                                                      f"{', '.join(lacking)}.")], hint.kind)
        return Adapted(table, kind, f"{PRODUCT} ({container})")
    if src.kind is None:
        raise NotUsed(src, where)
    if kind is not None and kind != src.kind:
        raise Refused([Issue.file("unknown_kind", f"{where} is {src.label}, which gives {src.kind}, not {kind}.")],
                      kind)
    return _apply(src, table, container)


def _apply(src: Source, table: RawTable, container: str) -> Adapted:
    found = src.locate(table.headers)
    headers = list(table.headers)
    columns = list(table.columns)
    shown: dict[str, str] = {}
    for target, i in found.items():
        f = src.field(target)
        shown[target] = f"{str(headers[i]).strip()} → {target}"
        headers[i] = target
        if f.values or f.datetime:
            columns[i] = _map_values(columns[i], f)
    rows = table.rows
    warnings: list[str] = []
    n = len(rows)
    if src.completed_only and src.completed_only in found:
        i = found[src.completed_only]
        open_ = np.asarray(pc.equal(pc.utf8_trim_whitespace(columns[i]), "").to_numpy(zero_copy_only=False),
                           dtype=bool) if n else np.zeros(0, dtype=bool)
        if open_.any():
            keep = pa.array(~open_)
            columns = [c.filter(keep) for c in columns]
            rows = rows[~open_]
            k = int(open_.sum())
            warnings.append(f"{k:,} {src.title} with no {shown[src.completed_only].split(' → ')[0]} (not yet "
                            f"completed) {'was' if k == 1 else 'were'} left out: only completed {src.title} count.")
    n = len(rows)
    hmap = KINDS[src.kind].header_map()
    given = {hmap.get(normalise_header(str(h))) for h in headers}
    own = [target for target, _ in src.constants if target in given]
    for target, value in src.constants:
        if target in given:  # the file says it itself
            continue
        headers.append(target)
        columns.append(pa.array([value] * n, type=pa.string()))
        shown[target] = f"{target} (always '{value}' for {src.name})"
    if src.derived_id:
        target, parts = src.derived_id
        if all(p in found for p in parts):
            headers.append(target)
            dates = [KINDS[src.kind].column(p).type == "date" for p in parts]
            columns.append(_joined([columns[found[p]] for p in parts], dates, rows))
            shown[target] = f"{target} (made from {' + '.join(shown[p].split(' → ')[0] for p in parts)})"
    out = RawTable(headers=headers, header_row=table.header_row, columns=columns, rows=rows,
                   encoding=table.encoding, errors=table.errors, plain_ascii=table.plain_ascii)
    # A file that gives a constant's column itself is not that one table: e.g. SSD conference headers with a
    # conference_type column list both types (metrics.store.scopes_and_months then covers both).
    name = f"{src.name} with its own {', '.join(own)}" if own else src.name
    return Adapted(out, src.kind, f"{name} ({container})", src, warnings, shown)


def _map_values(col: pa.Array, f: Field) -> pa.Array:
    """Map each distinct value once (dictionary-encoded): their value → the contract's; anything else as written,
    so the contract's own rule refuses it with its row."""
    enc = (col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col).dictionary_encode()
    lookup = f.value_map()
    out = []
    for v in enc.dictionary.to_pylist():
        s = "" if v is None else v
        if f.datetime:
            m = re.fullmatch(_SSD_DATE + r"(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", s.strip())
            if m:
                s = m.group(1)
        if lookup:
            k = key(s)
            k = _ANSWER_PREFIX.sub("", k) if k not in lookup else k
            s = lookup.get(k, s)
        out.append(s)
    return pa.array(out, type=pa.string()).take(enc.indices)


_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)


def _joined(parts: list[pa.Array], dates: list[bool], rows: np.ndarray) -> pa.Array:
    """An identifier made of several cells (a child and a date): a date written one way (ISO), so the same
    assessment has the same identifier from CSV and from Excel. Where a part is blank (refused by its own
    column's rule) the row number stands in, so the blank is reported once."""
    texts = []
    for col, is_date in zip(parts, dates):
        col = pc.utf8_trim_whitespace(col)
        if is_date:  # each distinct date once
            enc = col.dictionary_encode()
            norm = []
            for v in enc.dictionary.to_pylist():
                uk = _UK_DATE.fullmatch(v or "")  # the contract's day-first form; anything else is left as written
                norm.append(f"{uk.group(3)}-{int(uk.group(2)):02d}-{int(uk.group(1)):02d}" if uk else v)
            col = pa.array(norm, type=pa.string()).take(enc.indices)
        texts.append(col)
    joined = pc.binary_join_element_wise(*texts, "/")
    blank = None
    for t in texts:
        b = pc.equal(t, "")
        blank = b if blank is None else pc.or_(blank, b)
    if not len(joined) or not pc.any(blank).as_py():
        return joined
    return pc.if_else(blank, pa.array([f"row {r}" for r in rows], type=pa.string()), joined)


# --- the CSWW census XML --------------------------------------------------------------------------------

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def read_census_xml(data: bytes) -> tuple[RawTable, str | None]:
    """The census XML's workers as a table (one row per ``<CSWWWorker>``, one column per child element, its text)
    and the header's ``<ReferenceDate>``. Entity declarations are refused outright (no DOCTYPE, no ENTITY: no
    entity expansion, no external entity is ever fetched); anything that is not well-formed is refused."""
    m = _DECLARATION.search(data)
    if m:
        what = m.group(1).decode().upper()
        raise Refused([Issue.file("xml_declaration", f"The XML file holds a <!{what} declaration, which is never "
                                                     "read (it can expand entities or fetch other files).")])

    def refuse_declaration(*_args):
        raise _Declared()

    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse_declaration
    parser.EntityDeclHandler = refuse_declaration
    parser.ExternalEntityRefHandler = refuse_declaration
    records: list[dict[str, str]] = []
    lines: list[int] = []
    path: list[str] = []
    text: list[str] = []
    reference: list[str] = []
    current: dict[str, str] | None = None

    def start(name, _attrs):
        nonlocal current
        path.append(name)
        text.clear()
        if name == "CSWWWorker":
            current = {}
            lines.append(parser.CurrentLineNumber)

    def end(name):
        nonlocal current
        value = "".join(text).strip()
        text.clear()
        if name == "CSWWWorker":
            records.append(current or {})
            current = None
        elif current is not None and len(path) >= 2 and path[-2] == "CSWWWorker":
            current[name] = value
        elif name == "ReferenceDate" and "CollectionDetails" in path:
            reference.append(value)
        path.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(data, True)
    except _Declared:
        raise Refused([Issue.file("xml_declaration", "The XML file holds a DOCTYPE or ENTITY declaration, which is "
                                                     "never read.")]) from None
    except xml.parsers.expat.ExpatError as e:
        raise Refused([Issue(e.lineno, None, None, "xml_malformed",
                             f"The XML is not well-formed at line {e.lineno}, column {e.offset}: "
                             f"{xml.parsers.expat.ErrorString(e.code)}.")]) from None
    if not records:
        raise Refused([Issue.file("unknown_kind", "The XML file holds no <CSWWWorker> records: it is not a "
                                                  "children's social work workforce census.")])
    headers: list[str] = []
    for r in records:
        headers += [h for h in r if h not in headers]
    columns = [pa.array([r.get(h, "") for r in records], type=pa.string()) for h in headers]
    table = RawTable(headers=headers, header_row=1, columns=columns, rows=np.asarray(lines, dtype=np.int64),
                     encoding="xml", errors=[])
    return table, (reference[0] if reference and reference[0] else None)


class _Declared(Exception):
    pass


def census_xml_table(data: bytes) -> RawTable:
    """:func:`read_census_xml` with the reference date as a ``snapshot_date`` column (every row)."""
    table, reference = read_census_xml(data)
    if reference and "snapshot_date" not in [normalise_header(h) for h in table.headers]:
        table.headers.append("snapshot_date")
        table.columns.append(pa.array([reference] * table.n_rows, type=pa.string()))
    return table


# --- where a KPI's values came from -----------------------------------------------------------------------


def current_sources(conn, kind: str, metric: str | None = None) -> list[tuple[str, list[str]]]:
    """(source, months) of the uploads whose rows count for ``kind`` (and ``metric``'s figures), in the order
    of their first month. A month of conferences may rest on two (the two SSD conference tables)."""
    rows = conn.execute(
        "SELECT COALESCE(NULLIF(u.source, ''), ?) AS source, c.month FROM current_months c"
        " JOIN uploads u ON u.id = c.upload_id"
        " WHERE (c.kind = ? AND c.kind != 'figures') OR (c.kind = 'figures' AND c.scope = ?)"
        " ORDER BY c.month, u.id",
        (f"{PRODUCT} (CSV)", kind, metric or "")).fetchall()
    out: dict[str, list[str]] = {}
    for source, month in rows:
        months = out.setdefault(source, [])
        if month not in months:
            months.append(month)
    return list(out.items())


def describe_sources(found: list[tuple[str, list[str]]]) -> str:
    """"Source: Annex A List 4 (CSV), 2024-01 to 2024-06; product format (CSV), 2023-04 to 2023-12"."""
    if not found:
        return ""
    parts = [f"{s}, {m[0]}" + (f" to {m[-1]}" if len(m) > 1 else "") for s, m in found]
    return "Source: " + "; ".join(parts)


# --- docs -------------------------------------------------------------------------------------------------


def _values_doc(f: Field) -> str:
    """"Yes, Y, a) Yes → N; No, N, b) No → Y; anything else is refused"."""
    if not f.values:
        return ""
    by: dict[str, list[str]] = {}
    for theirs, ours in f.values:
        by.setdefault(ours, []).append(theirs)
    return "; ".join(f"{', '.join(t)} → `{o}`" for o, t in by.items()) + "; any other value is read by the contract's own rule"


def render_sources_md() -> list[str]:
    """The "Files a council already has" section of docs/extracts.md: one mapping table per source."""
    out = [
        "## Files a council already has",
        "",
        "These files are recognised by their own column headers (case, spaces and punctuation do not matter) and "
        "mapped onto the kinds above before the contract's checks run, so every rule above applies to them too. "
        "Which source each upload came from is recorded with it, shown by `kpi uploads` and on the KPI page. "
        "Messages name their column as `their header → our column`. Columns not listed are dropped and never "
        "stored. A file that is none of these is read as the product's own format.",
        "",
    ]
    families: dict[str, list[Source]] = {}
    for s in SOURCES:
        families.setdefault(s.family, []).append(s)
    for family, members in families.items():
        used = [s for s in members if s.kind]
        for s in used:
            out += [f"### {s.name} → {s.kind}", ""]
            if s.family == "Annex A":
                out += [_ANNEX_A_NOTE, ""]
            out += ["| their column | our column | values |", "|---|---|---|"]
            for f in s.fields:
                spell = ", ".join(f"`{h}`" for h in f.headers)
                if f.pattern:
                    spell += " (or a similar spelling)"
                vals = _values_doc(f)
                if f.datetime:
                    vals = "date and time → the date" + (f"; {vals}" if vals else "")
                out.append(f"| {spell} | `{f.target}` | {vals or 'as given'} |")
            for target, value in s.constants:
                out.append(f"| (none) | `{target}` | always `{value}` |")
            if s.derived_id:
                target, parts = s.derived_id
                out.append(f"| (none) | `{target}` | made from {' + '.join(f'`{p}`' for p in parts)} |")
            for target, hint in s.missing_hints:
                if target not in {f.target for f in s.fields}:
                    out.append(f"| (add it) | `{target}` | {hint} |")
            out += ["", f"Recognised when the file has: {', '.join(f'`{s.field(t).headers[0]}`' for t in s.signature)}."
                    + (f" {s.note}" if s.note else ""), ""]
        unused = [s for s in members if not s.kind]
        if unused:
            out += [f"### Other {family} lists: recognised, not stored", "",
                    "Each is named in the report (e.g. \"Annex A List 6 — children in need: not used by any KPI\") "
                    "and nothing from it is stored.", "", "| list | recognised by any of |", "|---|---|"]
            for s in unused:
                out.append(f"| {s.label} | {', '.join(f'`{f.headers[0]}`' for f in s.fields)} |")
            out.append("")
    return out
