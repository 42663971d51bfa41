"""An upload's problems as a reader sees them (issue 15 item 5): each rule named in words, the problems
grouped by rule with counts and the first rows of each group, and the full list for download (where the
rule's code is kept, for whoever fixes the export). Pure pandas; the Upload page only renders this."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from metrics.contract import RULES
from metrics.issues import Issue

#: Every rule of :data:`metrics.contract.RULES` named in words (a test fails when one is missing).
RULE_NAMES: dict[str, str] = {
    "empty_file": "Empty file",
    "unreadable_file": "File could not be opened",
    "binary_file": "Not a text CSV file",
    "encoding": "Unsupported text encoding",
    "unknown_kind": "Headers match no extract kind",
    "ambiguous_kind": "Headers match more than one extract kind",
    "blank_header": "Column without a name",
    "duplicate_header": "Column named twice",
    "missing_column": "Required column missing",
    "ragged_row": "Row has the wrong number of cells",
    "unbalanced_quote": "Quote mark not closed",
    "too_long": "Value too long",
    "control_character": "Invisible character in a value",
    "identifier_in_text": "Identifier in a free-text column",
    "whole_number": "Not a whole number",
    "duplicate_event": "Already counted in another month",
    "required": "Required value missing",
    "date_format": "Date not in day/month/year form",
    "date_two_digit_year": "Year written with two digits",
    "date_excel_serial": "Excel date number instead of a date",
    "date_impossible": "Date does not exist",
    "bool": "Not a yes/no value",
    "enum": "Value not in the accepted list",
    "number": "Not a number",
    "number_range": "Number out of range",
    "month_format": "Month not written as YYYY-MM",
    "date_order": "Dates in the wrong order",
    "duplicate_key": "Record appears more than once",
    "formula": "Spreadsheet formula instead of a value",
    "snapshot_month": "Snapshot month unclear",
    "outside_period": "Event outside the months declared",
    "no_period": "Months not given for an empty file",
    "denominator_required": "Denominator missing or zero",
    "bad_option": "Month or period given on upload not accepted",
    "date_range": "Date outside the plausible range",
    "date_future": "Date in a month that has not begun",
    "month_range": "Month outside the plausible range",
    "empty_upload": "Empty file would replace stored data",
    "not_used": "File not used by any KPI",
    "xml_declaration": "XML with a DOCTYPE or ENTITY declaration",
    "xml_malformed": "Damaged XML",
    "duplicate_snapshot": "Second file for the same snapshot month",
    "workbook_format": "File type not taken",
    "workbook_encrypted": "Password-protected workbook",
    "workbook_corrupt": "Damaged workbook",
    "workbook_too_large": "Workbook too large when unpacked",
    "workbook_unsafe": "Workbook with an unsafe XML part",
    "no_header": "No header row found",
    "merged_cells": "Merged cells in the table",
    "cell_error": "Formula error in a cell",
}

#: Rows of each group shown in the page (the download has them all).
FIRST_ROWS = 5


def rule_name(rule: str) -> str:
    """The rule in words ('date_impossible' → 'Date does not exist'); an unknown code reads as words too."""
    return RULE_NAMES.get(rule) or (rule or "Problem").replace("_", " ").capitalize()


@dataclass(frozen=True)
class ProblemGroup:
    rule: str  # the code (the download keeps it)
    name: str  # the rule in words
    count: int
    fix: str  # how to fix it (metrics.contract.RULES)
    first: pd.DataFrame  # its first rows: row, column, value, problem (the full message)


def _frame(errors: list[Issue] | pd.DataFrame) -> pd.DataFrame:
    cols = ["row", "column", "value", "rule", "message"]
    if isinstance(errors, pd.DataFrame):
        return errors.reindex(columns=cols)
    return pd.DataFrame([e.as_dict() for e in errors], columns=cols)


def problem_groups(errors: list[Issue] | pd.DataFrame, first: int = FIRST_ROWS) -> list[ProblemGroup]:
    """The problems grouped by rule, largest group first (then in the order first met), each with its
    count, how to fix it and its first ``first`` rows with the full message."""
    df = _frame(errors)
    order = {r: i for i, r in enumerate(dict.fromkeys(df["rule"]))}
    sizes = df.groupby("rule", sort=False).size()
    out = []
    for rule in sorted(sizes.index, key=lambda r: (-sizes[r], order[r])):
        g = df[df["rule"] == rule].head(first)
        shown = pd.DataFrame({"Row": g["row"].map(lambda r: "" if r is None or r != r else f"{int(r):,}"),
                              "Column": g["column"].fillna("").astype(str), "Value": g["value"].fillna("").astype(str),
                              "Problem": g["message"].fillna("").astype(str)})
        out.append(ProblemGroup(rule, rule_name(rule), int(sizes[rule]), RULES.get(rule, ""), shown.reset_index(drop=True)))
    return out


def problems_download(errors: list[Issue] | pd.DataFrame) -> pd.DataFrame:
    """Every problem, for the CSV download: row, column, value, the problem in words, the full message and
    the rule's code (kept here only, for whoever fixes the export)."""
    df = _frame(errors)
    return pd.DataFrame({"row": df["row"], "column": df["column"], "value": df["value"],
                         "problem": df["rule"].map(rule_name), "message": df["message"], "rule code": df["rule"]})
