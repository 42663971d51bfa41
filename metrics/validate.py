"""Vectorised validation of one extract against the contract.

Each column is factorised once; every rule runs on the distinct values (a month's dates, an enum's
handful of spellings) and errors are mapped back to rows through the codes. So a million-row file
costs about as much as its distinct values, and *every* error is collected, not only the first.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics.contract import (
    FTE_KPI_IDS,
    KINDS,
    MAX_ID_CHARS,
    MAX_NUMBER,
    PERCENT_KPI_IDS,
    Column,
    Kind,
    normalise_header,
    normalise_token,
)
from metrics.csvread import RawTable, read_table
from metrics.issues import Issue, Refused, mask
from metrics.months import month_range

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", re.ASCII)
_UK_SHORT_YEAR = re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$", re.ASCII)
_EXCEL_SERIAL = re.compile(r"^\d{5}(\.\d+)?$", re.ASCII)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$", re.ASCII)
_FORMULA_START = ("=", "+", "@", "\t", "\r")
# Characters refused (RE2 syntax, run on distinct values): in identifiers and typed values, any control,
# format (Cf: zero-width, bidi overrides), private-use or surrogate character, and in identifiers any space
# other than the plain one (a no-break space would make a second key that looks the same); in free text,
# the same except the line breaks a quoted cell may hold.
_HIDDEN = {"id": r"\p{C}|[^\PZ ]", "text": r"[^\P{C}\n\r]"}
_HIDDEN_OTHER = r"\p{C}"
# Free text that holds something shaped like an identifier: a letter then 5+ digits (C0000101, C-000123,
# CHILD12345) or 6+ digits in a row (a phone, NHS or pupil number).
_ID_SHAPE = r"[A-Za-z]-?[0-9]{5,}|[0-9]{6,}"
_TRUE = {"y", "yes", "true", "1"}
_FALSE = {"n", "no", "false", "0"}


@dataclass
class Validated:
    kind: str
    months: list[str]  # months the upload covers, YYYY-MM, sorted
    frame: pd.DataFrame  # canonical columns, typed; identifiers still raw (pseudonymised at storage)
    rows: np.ndarray  # spreadsheet row numbers, aligned with frame
    warnings: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    as_of: str | None = None  # snapshot kinds: the snapshot_date given in the file, if any
    source: str = ""  # where the rows came from, e.g. "Annex A List 4 (CSV)" (metrics.sources)


def month_of(iso_date: str) -> str:
    return iso_date[:7]


def _uk(d: dt.date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def _uk_iso(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


@dataclass(frozen=True)
class Window:
    """The plausible dates for an upload, so a mistyped year (9999, 2204, 0001) is refused, never stored.

    Dates lie in ``first``..``last`` (``KPI_DATE_MIN``, default 01/01/1990; ``KPI_DATE_MAX``, default one
    year after today). The months an upload *describes* (snapshot months, event months, figures months and
    the ``--month``/``--months`` options) go no later than the current month: a month that has not begun
    cannot have happened yet. Other dates (a milestone's due date, a planned end date) may be in the future.
    """

    first: dt.date
    last: dt.date
    today: dt.date

    @classmethod
    def of(cls, settings=None, today: dt.date | None = None) -> "Window":
        from metrics.settings import get_settings

        today = today or dt.date.today()
        first, last = (settings or get_settings()).date_window(today)
        return cls(first, last, today)

    @property
    def first_month(self) -> str:
        return self.first.isoformat()[:7]

    @property
    def latest_month(self) -> str:
        """The latest month an upload may describe: the current month (or the window's end, if earlier)."""
        return min(self.today.isoformat()[:7], self.last.isoformat()[:7])

    def describe(self) -> str:
        return f"{_uk(self.first)} to {_uk(self.last)}"

    def month_problem(self, month: str, upload: bool) -> str | None:
        """Why ``month`` is implausible (None if it is fine); ``upload``: a month an upload describes."""
        last = self.latest_month if upload else self.last.isoformat()[:7]
        if month < self.first_month:
            return f"is before {self.first_month}, the earliest month accepted (dates from {_uk(self.first)})."
        if month > last:
            if upload:
                return (f"is after the current month {last}: an upload can only describe a month that has "
                        "begun.")
            return f"is after {last}, the latest month accepted (dates up to {_uk(self.last)})."
        return None


def parse_month(value: str, what: str = "month", *, window: Window | None = None, upload: bool = False) -> str:
    """A ``YYYY-MM`` option inside the plausible window (``upload``: also not after the current month)."""
    v = value.strip()
    if not _MONTH.match(v):
        raise Refused([Issue.file("bad_option", f"The {what} '{v}' is not a month written YYYY-MM.")])
    problem = (window or Window.of()).month_problem(v, upload)
    if problem:
        raise Refused([Issue.file("bad_option", f"The {what} '{v}' {problem}")])
    return v


def parse_months(value: str, *, window: Window | None = None, upload: bool = False) -> tuple[str, str]:
    """Parse ``YYYY-MM..YYYY-MM`` (or a single month)."""
    parts = value.split("..")
    if len(parts) == 1:
        m = parse_month(parts[0], "period", window=window, upload=upload)
        return m, m
    if len(parts) != 2:
        raise Refused([Issue.file("bad_option", f"The period '{value}' is not written YYYY-MM..YYYY-MM.")])
    first = parse_month(parts[0], "period start", window=window, upload=upload)
    last = parse_month(parts[1], "period end", window=window, upload=upload)
    if last < first:
        raise Refused([Issue.file("bad_option", f"The period '{value}' ends before it starts.")])
    return first, last


# --- header handling -------------------------------------------------------------------------


def detect_kind(headers: list[str]) -> str:
    norm = {normalise_header(h) for h in headers}
    matches = []
    best: tuple[int, str, list[str]] | None = None
    for kind in KINDS.values():
        hmap = kind.header_map()
        present = {hmap[h] for h in norm if h in hmap}
        missing = [c for c in kind.required if c not in present]
        if not missing:
            matches.append(kind.name)
        score = len(present)
        if best is None or score > best[0]:
            best = (score, kind.name, missing)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise Refused([Issue.file("ambiguous_kind",
                                  f"The headers fit more than one kind ({', '.join(matches)}).")])
    hint = ""
    if best and best[0] > 0:
        hint = f" Closest is '{best[1]}', which also needs: {', '.join(best[2])}."
    raise Refused([Issue.file("unknown_kind", f"The headers do not match any extract kind.{hint}")])


def sniff(data: bytes) -> tuple[str | None, list[str], str]:
    """Cheap look at a file's header row: (detected kind or None, headers, message for the user)."""
    from metrics import sources
    from metrics.csvread import decode

    if sources.looks_like_xml(data):  # the census XML: its headers are its workers' elements
        try:
            headers = sources.census_xml_table(data).headers
        except Refused as r:
            return None, [], r.errors[0].message
        return "workforce", headers, "The children's social work workforce census (XML)."
    try:
        text, _ = decode(data[:65536])
    except Refused as r:
        return None, [], r.errors[0].message
    except UnicodeDecodeError:
        return None, [], "The start of the file could not be decoded."
    import csv
    import io

    first = next((row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)), [])
    src = sources.recognise(first)
    if src is not None:
        return src.kind, first, f"{src.label}." if src.kind else f"{src.label}: not used by any KPI."
    try:
        return detect_kind(first), first, ""
    except Refused as r:
        return None, first, r.errors[0].message


def map_headers(kind: Kind, headers: list[str], header_row: int = 1) -> tuple[dict[int, str], list[str]]:
    """Return {column index: canonical name} and the dropped unknown headers. Raises on bad headers."""
    hmap = kind.header_map()
    errors: list[Issue] = []
    seen: dict[str, str] = {}
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    for i, h in enumerate(headers):
        n = normalise_header(h)
        if not n:
            errors.append(Issue(header_row, None, None, "blank_header", f"Column {i + 1} has no header."))
            continue
        canonical = hmap.get(n, n)
        if canonical in seen:
            same = seen[canonical]
            what = "is repeated" if normalise_header(same) == n else f"and '{same}' both mean '{canonical}'"
            errors.append(Issue(header_row, canonical, None, "duplicate_header", f"Header '{h.strip()}' {what}."))
            continue
        seen[canonical] = h.strip()
        if n in hmap:
            mapping[i] = canonical
        else:
            unknown.append(h.strip())
    for c in kind.required:
        if c not in mapping.values():
            col = kind.column(c)
            alias = f" (or {', '.join(col.aliases)})" if col.aliases else ""
            errors.append(Issue(header_row, c, None, "missing_column", f"Required column '{c}'{alias} is missing."))
    if errors:
        raise Refused(errors)
    return mapping, unknown


# --- per-type parsing of distinct values -----------------------------------------------------
# Each parser takes the distinct stripped values and returns (converted values, error per value):
# error is None or (rule, message).

Err = tuple[str, str] | None


def _parse_date(v: str) -> tuple[str | None, Err]:
    m = _ISO.match(v)
    if m:
        y, mo, d = (int(x) for x in m.groups())
    else:
        m = _UK.match(v)
        if not m:
            if _UK_SHORT_YEAR.match(v):
                return None, ("date_two_digit_year", f"'{v}' has a two-digit year.")
            if _EXCEL_SERIAL.match(v):
                return None, ("date_excel_serial", f"'{v}' is a number, not a date.")
            return None, ("date_format", f"'{v}' is not a date written 30/04/2023 or 2023-04-30.")
        d, mo, y = (int(x) for x in m.groups())
    try:  # year 0 is a real day/month in a year no calendar here knows: the window check refuses it by name
        dt.date(y or 2000, mo, d)
        return f"{y:04d}-{mo:02d}-{d:02d}", None
    except ValueError:
        hint = " (it would only make sense month-first, which is never read)" if mo > 12 and d <= 12 else ""
        return None, ("date_impossible", f"'{v}' is not a real date{hint}.")


def _parse_bool(v: str) -> tuple[int | None, Err]:
    lv = v.lower()
    if lv in _TRUE:
        return 1, None
    if lv in _FALSE:
        return 0, None
    return None, ("bool", f"'{v}' is not a yes/no value.")


def _number_parser(col: Column):
    lo, hi = col.min_value, col.max_value

    def parse(v: str) -> tuple[float | None, Err]:
        if not _NUMBER.match(v):
            return None, ("number", f"'{v}' is not a number.")
        x = float(v)
        if not math.isfinite(x) or abs(x) >= MAX_NUMBER:
            shown = v if len(v) <= 20 else f"{v[:12]}… ({len(v)} characters)"
            return None, ("number_range", f"{shown} is out of range: numbers must be below {MAX_NUMBER:,.0f}.")
        if lo is not None and (x < lo or (x == lo and not col.min_inclusive)):
            op = "≥" if col.min_inclusive else ">"
            bound = f"{op} {lo:g}" + (f" and ≤ {hi:g}" if hi is not None else "")
            return None, ("number_range", f"{v} is out of range: {col.name} must be {bound}.")
        if hi is not None and x > hi:
            op = ">" if not col.min_inclusive else "≥"
            return None, ("number_range", f"{v} is out of range: {col.name} must be {op} {lo:g} and ≤ {hi:g}.")
        return x, None

    return parse


def _enum_parser(col: Column):
    lookup = col.enum_lookup()
    accepted = ", ".join(col.values)

    def parse(v: str) -> tuple[str | None, Err]:
        c = lookup.get(normalise_token(v))
        if c is None:
            return None, ("enum", f"'{v}' is not an accepted {col.name}; use one of: {accepted}.")
        return c, None

    return parse


def _parse_month_cell(v: str) -> tuple[str | None, Err]:
    if _MONTH.match(v):
        return v, None
    return None, ("month_format", f"'{v}' is not a month written YYYY-MM.")


def _parse_text(v: str) -> tuple[str | None, Err]:
    if v.startswith(_FORMULA_START):
        return None, ("formula", f"'{v[:20]}' starts like a formula.")
    return v, None


def _parser(col: Column):
    return {
        "date": _parse_date,
        "bool": _parse_bool,
        "number": _number_parser(col),
        "enum": _enum_parser(col),
        "month": _parse_month_cell,
        "text": _parse_text,
        "id": _parse_text,
    }[col.type]


_SNAPSHOT_DATE = Column("snapshot_date", "date")


def _flags(values: pa.Array, pattern: str | pa.Array | None = None) -> list[int]:
    """Indices of the true entries of a boolean array, or of the values matching an RE2 pattern."""
    hits = pc.match_substring_regex(values, pattern) if isinstance(pattern, str) else values
    if not pc.any(hits).as_py():
        return []
    return np.flatnonzero(np.asarray(hits.to_numpy(zero_copy_only=False), dtype=bool)).tolist()


def _is_hidden(c: str, col_type: str) -> bool:
    cat = unicodedata.category(c)
    if col_type == "text":
        return cat[0] == "C" and c not in "\r\n"
    return cat[0] == "C" or (col_type == "id" and cat[0] == "Z" and c != " ")


def _char_name(c: str) -> str:
    return f"U+{ord(c):04X} " + unicodedata.name(c, "a control character" if c < "\xa0" else unicodedata.category(c))


def _visible(v: str, limit: int = 40) -> str:
    """A value for a message: cut to ``limit`` characters, invisible characters written as U+XXXX."""
    out = "".join(c if c.isprintable() else f"<U+{ord(c):04X}>" for c in v[:limit])
    return out + ("…" if len(v) > limit else "")


def _convert_column(col: Column, raw: np.ndarray, rows: np.ndarray, errors: list[Issue],
                    check: Callable[[str], Err] | None = None, plain_ascii: bool = False) -> np.ndarray:
    """Typed values (object array, None for blank) for one column; appends errors.

    ``check``: a further test of each distinct parsed value (the plausible-date window). ``plain_ascii``: the
    file has no byte outside printable ASCII and line breaks, so no value can hold an invisible character."""
    if isinstance(raw, (pa.Array, pa.ChunkedArray)):  # fast path: encode in Arrow, no Python objects per row
        enc = (raw.combine_chunks() if isinstance(raw, pa.ChunkedArray) else raw).dictionary_encode()
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        uniques_arrow = enc.dictionary.cast(pa.string())
    else:
        codes, uniques = pd.factorize(raw, use_na_sentinel=False)
        uniques_arrow = pa.array(uniques, type=pa.string(), from_pandas=True)
    uniques = uniques_arrow
    trimmed = pc.utf8_trim_whitespace(uniques_arrow.fill_null(""))
    blank = np.asarray(pc.equal(trimmed, "").to_numpy(zero_copy_only=False), dtype=bool)
    bad: dict[int, tuple[str, str, str]] = {}
    for i in [] if plain_ascii else _flags(trimmed, _HIDDEN.get(col.type, _HIDDEN_OTHER)):
        v = trimmed[i].as_py()
        ch = next(c for c in v if _is_hidden(c, col.type))
        shown = v if col.type == "id" else _visible(v)  # an identifier is masked below
        bad[i] = ("control_character", f"'{shown[:20]}' contains an invisible character ({_char_name(ch)}).", shown)
    if col.type == "id":
        for i in _flags(pc.greater(pc.utf8_length(trimmed), MAX_ID_CHARS)):
            v = trimmed[i].as_py()
            bad.setdefault(i, ("too_long", f"'{v[:20]}' is {len(v)} characters long; an identifier holds at most "
                                           f"{MAX_ID_CHARS}.", v))
    if col.type == "text":
        for i in _flags(trimmed, _ID_SHAPE):
            shown = _visible(re.sub(_ID_SHAPE, lambda m: mask(m.group()), trimmed[i].as_py()))
            bad.setdefault(i, ("identifier_in_text", f"'{shown}' holds something shaped like an identifier.",
                               shown))
    if col.type in ("id", "text"):
        # vectorised: text is kept as written (trimmed); only a formula-like start is refused
        converted = trimmed.to_numpy(zero_copy_only=False).astype(object)
        for i in _flags(trimmed, r"^[=+@\t\r]"):
            v = converted[i]
            bad.setdefault(i, ("formula", f"'{v[:20]}' starts like a formula.", v))
    else:
        parse = _parser(col)
        out_list: list[object] = []
        for i, v in enumerate(trimmed.to_pylist()):
            if blank[i] or i in bad:
                out_list.append(None)
                continue
            value, err = parse(v)
            if err is None and check is not None:
                err = check(value)
            out_list.append(value)
            if err is not None:
                bad[i] = (err[0], err[1], v)
        converted = np.empty(len(out_list), dtype=object)
        converted[:] = out_list
    converted[blank] = None
    if col.required and blank.any():
        for r in rows[blank[codes]]:
            errors.append(Issue(int(r), col.name, "", "required", f"{col.name} is required but blank."))
    if bad:
        is_bad = np.zeros(len(uniques), dtype=bool)
        is_bad[list(bad)] = True
        shown_mask = col.type == "id"
        for idx in np.flatnonzero(is_bad[codes]):
            rule, message, v = bad[int(codes[idx])]
            shown = _visible(mask(v)) if shown_mask else v  # a mask keeps the first character
            if shown_mask:
                message = message.replace(f"'{v[:20]}'", f"'{shown}'")
            errors.append(Issue(int(rows[idx]), col.name, shown, rule, message))
    return converted[codes] if len(codes) else np.array([], dtype=object)


def validate(
    data: bytes | RawTable,
    *,
    kind: str | None = None,
    month: str | None = None,
    months: tuple[str, str] | None = None,
    window: Window | None = None,
    sheet: str | None = None,
) -> Validated:
    """Validate an upload. Returns the typed table or raises Refused with every error found.

    ``window``: the plausible dates (default: from the settings, as of today). ``data``: a CSV file's bytes
    (or the workforce census's XML), or a table already read (a workbook's sheet, :mod:`metrics.workbook`;
    ``sheet``: its name).
    """
    from metrics import sources

    window = window or Window.of()
    if isinstance(data, RawTable):  # a workbook's sheet
        return validate_table(data, kind=kind, month=month, months=months, window=window, container="Excel",
                              sheet=sheet)
    if sources.looks_like_xml(data):  # the workforce census's XML
        return validate_table(sources.census_xml_table(data), kind=kind, month=month, months=months, window=window,
                              container="XML")
    return validate_table(read_table(data), kind=kind, month=month, months=months, window=window)


def validate_table(table: RawTable, *, kind: str | None = None, month: str | None = None,
                   months: tuple[str, str] | None = None, window: Window | None = None, container: str = "CSV",
                   sheet: str | None = None) -> Validated:
    """Validate one table (a CSV file, a census XML, a workbook's sheet). A file the council already has (Annex A,
    the workforce census, SSD or SSDA903 tables) is first put in the contract's terms (:mod:`metrics.sources`);
    its findings are then reported in its own column names."""
    from metrics import sources

    window = window or Window.of()
    if kind is not None and kind not in KINDS:
        raise Refused([Issue.file("unknown_kind", f"'{kind}' is not an extract kind; use one of {', '.join(KINDS)}.")])
    adapted = sources.adapt(table, kind, container=container, sheet=sheet)
    table, kind = adapted.table, adapted.kind
    if kind is None:
        kind = detect_kind(table.headers)
    try:
        if month is not None:
            month = parse_month(month, "month", window=window, upload=True)
        if months is not None:
            months = parse_months("..".join(months), window=window, upload=True)
        v = _validate_table(table, kind, month, months, window)
    except Refused as r:
        r = adapted.explain(r)
        r.kind = r.kind or kind
        raise r from None
    v.source, v.warnings = adapted.source, adapted.warnings + v.warnings
    return v


def _validate_table(table: RawTable, kind: str, month, months, window: Window) -> Validated:
    spec = KINDS[kind]
    mapping, unknown = map_headers(spec, table.headers, table.header_row)
    warnings: list[str] = []
    if unknown:
        warnings.append(
            "Columns not in the contract were dropped and not stored: " + ", ".join(unknown) + "."
        )
    hmap = spec.header_map()  # the reader names a column as written; report it by its contract name
    errors = [replace(e, column=hmap.get(normalise_header(e.column), e.column)) if e.column else e
              for e in table.errors]
    by_name = {name: table.columns[i] for i, name in mapping.items()}
    typed: dict[str, np.ndarray] = {}
    n = table.n_rows
    for col in spec.columns:
        if col.name in by_name:
            typed[col.name] = _convert_column(col, by_name[col.name], table.rows, errors,
                                              _window_check(spec, col.name, window), table.plain_ascii)
        else:
            typed[col.name] = np.full(n, None, dtype=object)
    snapshot_dates = None
    if "snapshot_date" in by_name:
        snapshot_dates = _convert_column(_SNAPSHOT_DATE, by_name["snapshot_date"], table.rows, errors,
                                         _window_check(spec, "snapshot_date", window))
    frame = pd.DataFrame(typed, dtype=object)
    implausible = {(e.row, e.column) for e in errors if e.rule == "date_range"}  # reported once, not also as order
    for earlier, later in spec.ordered_dates:
        a, b = frame[earlier], frame[later]
        both = a.notna() & b.notna()
        if implausible:
            both &= ~pd.Series([(int(r), earlier) in implausible or (int(r), later) in implausible
                                for r in table.rows], index=frame.index, dtype=bool)
        bad = both & (b.where(both, "") < a.where(both, ""))
        for idx in np.flatnonzero(bad.to_numpy()):
            errors.append(Issue(int(table.rows[idx]), later, str(b.iat[idx]), "date_order",
                                f"{later} {b.iat[idx]} is before {earlier} {a.iat[idx]}."))
    if kind == "figures":
        _check_figures(frame, table.rows, errors)
    _check_keys(spec, frame, table.rows, errors)
    covered = _period(spec, frame, table.rows, snapshot_dates, month, months, window, errors)
    if errors:
        errors.sort(key=lambda e: (e.row or 0, e.column or ""))
        raise Refused(errors, kind)
    if spec.event_date:
        frame.insert(0, "month", pd.Series(_months_of(frame[spec.event_date].to_numpy(dtype=object)), dtype=object))
    as_of = None
    if snapshot_dates is not None and len(snapshot_dates):
        as_of = next((d for d in snapshot_dates if d is not None), None)
    return Validated(kind=kind, months=covered, frame=frame, rows=table.rows, warnings=warnings,
                     encoding=table.encoding, as_of=as_of)


def _months_of(dates: np.ndarray) -> np.ndarray:
    """'YYYY-MM' of each ISO date (None stays None), computed once per distinct date."""
    if not len(dates):
        return np.array([], dtype=object)
    codes, uniques = pd.factorize(dates, use_na_sentinel=True)
    months = np.array([u[:7] for u in uniques] + [None], dtype=object)
    return months[codes]


def _window_check(spec: Kind, name: str, w: Window) -> Callable[[str], Err] | None:
    """The window test for one column's parsed values (None for columns that hold no date or month):
    every date inside the window; the months an upload describes no later than the current month."""
    col = _SNAPSHOT_DATE if name == "snapshot_date" else spec.column(name)
    if col.type == "month":
        def month(v: str) -> Err:
            problem = w.month_problem(v, upload=True)
            return ("month_range", f"{name} {v} {problem}") if problem else None
        return month
    if col.type != "date":
        return None
    lo, hi = w.first.isoformat(), w.last.isoformat()
    describes_month = name in (spec.event_date, "snapshot_date")
    what = ("a snapshot of a month that has not begun cannot exist yet" if name == "snapshot_date"
            else "an event cannot be recorded before its month")

    def date(v: str) -> Err:
        if v < lo or v > hi:
            return "date_range", (f"{name} {_uk_iso(v)} is outside the accepted dates, {w.describe()} "
                                  "(a mistyped year?).")
        if describes_month and v[:7] > w.latest_month:
            return "date_future", f"{name} {_uk_iso(v)} is after the current month {w.latest_month}: {what}."
        return None

    return date


def _check_figures(frame: pd.DataFrame, rows: np.ndarray, errors: list[Issue]) -> None:
    is_pct = frame["metric"].isin(PERCENT_KPI_IDS)
    already = {e.row for e in errors if e.column == "denominator"}  # an invalid value is reported once
    missing = is_pct & frame["denominator"].isna() & frame["metric"].notna() & ~pd.Series(rows).isin(already).to_numpy()
    for idx in np.flatnonzero(missing.to_numpy()):
        errors.append(Issue(int(rows[idx]), "denominator", "", "denominator_required",
                            f"{frame['metric'].iat[idx]} is a percentage: it needs a denominator."))
    num = pd.to_numeric(frame["numerator"], errors="coerce")
    den = pd.to_numeric(frame["denominator"], errors="coerce")
    counted = frame["metric"].notna() & ~frame["metric"].isin(FTE_KPI_IDS)  # people or records: whole numbers
    for name, values in (("numerator", num), ("denominator", den)):
        for idx in np.flatnonzero((counted & (values % 1 != 0) & values.notna()).to_numpy()):
            errors.append(Issue(int(rows[idx]), name, f"{values.iat[idx]:g}", "whole_number",
                                f"{frame['metric'].iat[idx]} counts people or records, so its {name} must be a "
                                f"whole number, not {values.iat[idx]:g}."))
    over = is_pct & (num > den)
    for idx in np.flatnonzero(over.to_numpy()):
        errors.append(Issue(int(rows[idx]), "numerator", f"{num.iat[idx]:g}", "number_range",
                            f"numerator {num.iat[idx]:g} is larger than denominator {den.iat[idx]:g}."))


def _check_keys(spec: Kind, frame: pd.DataFrame, rows: np.ndarray, errors: list[Issue]) -> None:
    keys = frame[list(spec.key)]
    if keys.isna().any(axis=None):
        keys = keys[keys.notna().all(axis=1)]  # blanks are already reported as required
    dup = keys.duplicated(keep=False)
    if not dup.any():
        return
    d = keys[dup]
    pos = np.flatnonzero(dup.to_numpy())
    first = pd.Series(rows[pos], index=d.index).groupby([d[c] for c in spec.key], sort=False).transform("min")
    for p, (i, f) in zip(pos, first.items()):
        r = int(rows[p])
        if r == f:
            continue
        value = " / ".join(
            mask(str(keys.at[i, c])) if spec.column(c).type == "id" else str(keys.at[i, c]) for c in spec.key
        )
        errors.append(Issue(r, "+".join(spec.key), value, "duplicate_key",
                            f"The key ({', '.join(spec.key)}) repeats row {int(f)}."))


def _implausible(errors: list[Issue], column: str) -> set[int]:
    """Rows whose ``column`` is already refused as outside the window (reported once, not again as outside
    the period)."""
    return {e.row for e in errors if e.column == column and e.rule in ("date_range", "date_future", "month_range")}


def _period(spec: Kind, frame: pd.DataFrame, rows: np.ndarray, snapshot_dates, month, months, w: Window,
            errors: list[Issue]) -> list[str]:
    """The months the upload covers: bounded by its data (or the declared period) and by the window."""
    if spec.period == "snapshot":
        found: str | None = None
        if snapshot_dates is not None:
            vals = {v for v in snapshot_dates if v is not None}
            if len(vals) > 1:
                errors.append(Issue.file("snapshot_month",
                                         f"snapshot_date has {len(vals)} different values; it must be the same "
                                         "on every row.", column="snapshot_date"))
                return []
            if vals:
                found = month_of(vals.pop())
        given = month or (months[0] if months and months[0] == months[1] else None)
        if months and months[0] != months[1]:
            errors.append(Issue.file("snapshot_month", f"A {spec.name} extract is a snapshot of one month, "
                                     "not a period."))
            return []
        if found and given and found != given:
            errors.append(Issue.file("snapshot_month", f"snapshot_date says {found} but the upload says {given}.",
                                     column="snapshot_date"))
            return []
        chosen = given or found
        if not chosen:
            errors.append(Issue.file("snapshot_month", f"No month given for this {spec.name} snapshot."))
            return []
        return [chosen]
    if spec.period == "event":
        col = frame[spec.event_date]
        col_months = pd.Series(_months_of(col.to_numpy(dtype=object)), index=col.index, dtype=object)
        event_months = col_months.dropna()
        event_months = event_months[(event_months >= w.first_month) & (event_months <= w.latest_month)]
        if months is None and month is not None:
            months = (month, month)
        if months is None:
            if event_months.empty:
                if not errors:
                    errors.append(Issue.file("no_period", "The file has no events and no period was given."))
                return []
            return month_range(event_months.min(), event_months.max())
        first, last = months
        known = col_months.notna() & ~pd.Series(rows, index=col.index).isin(_implausible(errors, spec.event_date))
        outside = known & ((col_months.where(known, first) < first) | (col_months.where(known, last) > last))
        for idx in np.flatnonzero(outside.to_numpy()):
            errors.append(Issue(int(rows[idx]), spec.event_date, str(col.iat[idx]), "outside_period",
                                f"{col.iat[idx]} is outside the period {first} to {last}."))
        return month_range(first, last)
    # aggregate (figures): the months present, optionally restricted to a declared period
    present = sorted(m for m in set(frame["month"].dropna()) if w.first_month <= m <= w.latest_month)
    if months is None and month is not None:
        months = (month, month)
    if months is not None:
        first, last = months
        col = frame["month"]
        known = col.notna() & ~pd.Series(rows, index=col.index).isin(_implausible(errors, "month"))
        outside = known & ((col.where(known, first) < first) | (col.where(known, last) > last))
        for idx in np.flatnonzero(outside.to_numpy()):
            errors.append(Issue(int(rows[idx]), "month", str(col.iat[idx]), "outside_period",
                                f"{col.iat[idx]} is outside the period {first} to {last}."))
    if not present and not errors:
        errors.append(Issue.file("empty_file", "The figures file has no rows."))
    return present
