"""Turning uploaded bytes into a table of trimmed strings, with spreadsheet row numbers.

Nothing is coerced here: every cell stays text; typing is the validator's job. The reader refuses
files that are not text CSV (binary, UTF-16, damaged UTF-8, undecodable) and reports, with row and
column, every row whose parse disagrees with the header: ragged rows, quotes never closed or closed in
the wrong place, and cells over the length limit (see docs/extracts.md, "How a file is read").
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metrics.contract import MAX_CELL_CHARS
from metrics.issues import Issue, Refused

# Magic numbers of files people rename to .csv by mistake.
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "an Excel workbook (.xlsx) or other zip file",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


@dataclass
class RawTable:
    headers: list[str]
    header_row: int
    # one pyarrow string array per header, cells as written (untrimmed); the validator dictionary-encodes
    # them without making Python objects per row
    columns: list
    rows: np.ndarray  # int64 spreadsheet row number of each record (header row = its own line)
    encoding: str
    # rows the reader could not trust (ragged, quote faults, over-long cells): reported with the rest
    # and left out of ``columns``; ``column`` is the header as written (the validator names it)
    errors: list[Issue]
    # one record per line and every byte printable ASCII: no cell can hold an invisible character, so
    # the validator need not look (a 40 ms check of the whole file saves a regex over every distinct value)
    plain_ascii: bool = False

    @property
    def n_rows(self) -> int:
        return int(self.rows.shape[0])


# A valid UTF-8 sequence of two to four bytes. Windows-1252 text almost never contains one (it would be
# an accented capital followed by a symbol such as "Ã©"), so a file with one is UTF-8 with damage in it,
# and reading it whole as Windows-1252 would turn every accent into mojibake ("Équipe" → "Ã‰quipe").
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _row_at(text_before: str) -> int:
    """Spreadsheet row (header = 1, blank lines counted, a quoted line break stays in its row) of the
    character that follows ``text_before``."""
    return sum(1 for _ in csv.reader(io.StringIO(text_before + "x", newline=""), strict=False))


def _bad_byte(data: bytes, offset: int, prefix_encoding: str, why: str) -> Refused:
    row = _row_at(data[:offset].decode(prefix_encoding, errors="replace"))
    return Refused([Issue(row, None, None, "encoding",
                          f"{why} (byte 0x{data[offset]:02x} at byte offset {offset}, row {row}).")])


def decode(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name). Raises Refused for empty, binary or undecodable input.

    UTF-8 (with or without BOM) is read as such. A file that is not valid UTF-8 is read as Windows-1252
    only when the whole file decodes so *and* holds no valid UTF-8 multi-byte sequence; anything else
    is refused naming the first bad byte's offset and row.
    """
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise Refused([Issue.file("empty_file", "The file is empty.")])
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise Refused([Issue.file("encoding", "The file is UTF-16 encoded.")])
    for sig, what in _BINARY_SIGNATURES.items():
        if data.startswith(sig):
            raise Refused([Issue.file("binary_file", f"The file is {what}, not a CSV text file.")])
    nul = data.find(b"\x00")
    if nul >= 0:
        sample = data[:4096]
        if sample.count(b"\x00") * 3 >= len(sample):
            raise Refused([Issue.file("encoding", "The file looks UTF-16 encoded (every other byte is 0).")])
        line = data.count(b"\n", 0, nul) + 1
        raise Refused([Issue.file("binary_file", f"The file contains binary data (a NUL byte at byte offset {nul}, "
                                                 f"line {line}), not CSV text.")])
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise _bad_byte(data, e.start + 3, "utf-8", "The file says it is UTF-8 but has a byte that is not "
                                                        "valid UTF-8") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        bad = e.start
    if _UTF8_MULTIBYTE.search(data):
        raise _bad_byte(data, bad, "utf-8", "The file is UTF-8 (it has UTF-8 accented letters) but one byte is "
                                            "not valid UTF-8, so no character in it can be trusted")
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as e:
        raise _bad_byte(data, e.start, "cp1252", "The file is neither UTF-8 nor Windows-1252") from None


def read_table(data: bytes) -> RawTable:
    """Decode and split into cells. Rows whose parse disagrees with the header (ragged, an unclosed or
    misplaced quote, rows swallowed into one cell) and over-long cells are reported with their row and
    column and left out of the table, so nothing after them is read as a value."""
    text, encoding = decode(data)
    if any(ch in text for ch in ("\x01", "\x02", "\x03", "\x04", "\x1a")):
        raise Refused([Issue.file("binary_file", "The file contains control characters: it is not CSV text.")])
    fast = _read_plain(text, encoding)
    table = _screen(fast if fast is not None else _read_general(text, encoding), multiline=fast is None)
    # one record per line (the fast path) and nothing but printable ASCII: no cell holds a hidden character
    table.plain_ascii = fast is not None and not data.translate(None, _PLAIN_ASCII)
    return table


_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\n"


def _read_plain(text: str, encoding: str) -> RawTable | None:
    """Fast path (pyarrow) for the common large file: one record per line, nothing unusual.

    Returns None — and the general reader takes over — for anything where a record might not be
    exactly one physical line (quoted newlines, blank lines, ragged rows), so row numbers stay exact.
    """
    if '"' in text or "\r" in text or not text or text[0] == "\n" or "\n\n" in text:
        return None
    try:
        import pyarrow.csv as pacsv

        header = text.split("\n", 1)[0].split(",")
        table = pacsv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(header))], skip_rows=1,
                                           use_threads=True),
            parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(len(header))},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except Exception:
        return None  # ragged rows and other oddities: the general reader reports them exactly
    columns = [table.column(i).combine_chunks() for i in range(table.num_columns)]
    rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
    columns, rows = drop_blank_rows(columns, rows)
    return RawTable(headers=header, header_row=1, columns=columns, rows=rows, encoding=encoding, errors=[])


def drop_blank_rows(columns: list, rows: np.ndarray) -> tuple[list, np.ndarray]:
    """``columns`` (pyarrow string arrays) and ``rows`` (their spreadsheet row numbers) without the rows whose
    cells are all empty or spaces (as Excel leaves below a table): those rows are ignored."""
    if not (columns and len(rows)):
        return columns, rows
    empty = None
    for c in columns:
        e = pc.equal(pc.utf8_trim_whitespace(c), "")
        empty = e if empty is None else pc.and_(empty, e)
    keep = np.asarray(pc.invert(empty).to_numpy(zero_copy_only=False), dtype=bool)
    if keep.all():
        return columns, rows
    mask = pa.array(keep)
    return [c.filter(mask) for c in columns], rows[keep]


def _read_general(text: str, encoding: str) -> RawTable:
    # strict: a closing quote followed by anything but a comma or line end, or a quote never closed,
    # stops the parse (reported below) instead of silently gluing cells or rows together
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # long cells: reported by _screen
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    header_row = 0
    records: list[list[str]] = []
    starts: list[int] = []
    errors: list[Issue] = []
    n_records = 0
    try:
        for rec in reader:
            # spreadsheet row: one per CSV record (a quoted cell's newline stays inside its row; a blank
            # line is an empty row in Excel, so it counts too)
            n_records += 1
            start = n_records
            if not rec or not "".join(rec).strip():
                continue  # blank line or a row of empty cells, as Excel leaves below a table
            if header is None:
                header, header_row = rec, start
                continue
            records.append(rec)
            starts.append(start)
    except csv.Error:
        errors.append(_quote_error(text, n_records, header))
    if header is None:
        raise Refused(errors or [Issue.file("empty_file", "The file has no header row.")])
    width = len(header)
    lengths = np.fromiter((len(r) for r in records), dtype=np.int64, count=len(records))
    ragged = lengths != width
    for i in np.flatnonzero(ragged):
        errors.append(Issue(row=starts[i], column=None, value=None, rule="ragged_row",
                            message=f"Row has {lengths[i]} cells but the header has {width}."))
    if ragged.any():
        records = [r for r, bad in zip(records, ragged) if not bad]
        starts = [s for s, bad in zip(starts, ragged) if not bad]
    columns = [pa.array(col, type=pa.string()) for col in zip(*records)] if records else \
        [pa.array([], type=pa.string()) for _ in range(width)]
    return RawTable(headers=list(header), header_row=header_row, columns=columns,
                    rows=np.asarray(starts, dtype=np.int64), encoding=encoding, errors=errors)


_QUOTED_CELL = re.compile(r'"[^"]*(?:""[^"]*)*"')
_PLAIN_CELL = re.compile(r'[^,\r\n]*')


def _quote_error(text: str, n_done: int, header: list[str] | None) -> Issue:
    """The issue for the record after the first ``n_done``, where the strict parse stopped: a quote
    never closed, or text after a closing quote. Names its row and (when the header is known) column."""
    f = io.StringIO(text, newline="")
    lenient = csv.reader(f, strict=False)
    for _ in range(n_done):
        next(lenient)
    pos, row = f.tell(), n_done + 1
    column = 0
    while True:  # walk the record's cells with the same rules as csv, to find the faulty one
        if text.startswith('"', pos):
            m = _QUOTED_CELL.match(text, pos)
            if m is None:
                what = "opens a quote that is never closed, so every row after it would be read into this cell"
                break
            pos = m.end()
            if pos < len(text) and text[pos] not in ",\r\n":
                what = "has text after its closing quote"
                break
        else:
            pos = _PLAIN_CELL.match(text, pos).end()
        if pos >= len(text) or text[pos] != ",":  # pragma: no cover - the strict parse found a fault
            what = "has an unbalanced quote"
            break
        pos += 1
        column += 1
    name = header[column].strip() if header and column < len(header) else f"column {column + 1}"
    if header is None:
        return Issue.file("unbalanced_quote", f"The header row's cell {column + 1} {what}. Nothing after it was read.")
    return Issue(row, name, None, "unbalanced_quote", f"The cell {what}. Nothing after it was read.")


def _screen(table: RawTable, multiline: bool) -> RawTable:
    """Vectorised checks on every cell: no cell over MAX_CELL_CHARS and (``multiline``: the file has quoted
    cells) no line break in a cell that holds a whole row's worth of commas (rows swallowed by a stray
    quote). Offending rows are reported and dropped, so their cells are never checked, typed or stored."""
    width = len(table.headers)
    bad = np.zeros(table.n_rows, dtype=bool)
    found: list[tuple[int, int, Issue]] = []
    for j, col in enumerate(table.columns):
        if not len(col):
            continue
        name = table.headers[j].strip() if j < width else f"column {j + 1}"
        lengths = pc.utf8_length(col)
        too_long = np.zeros(len(col), dtype=bool)
        if pc.max(lengths).as_py() > MAX_CELL_CHARS:
            too_long = _np(pc.greater(lengths, MAX_CELL_CHARS))
        swallowed = np.zeros(len(col), dtype=bool)
        if multiline and width > 1:
            breaks = pc.or_(pc.match_substring(col, "\n"), pc.match_substring(col, "\r"))
            if pc.any(breaks).as_py():
                swallowed = _np(pc.and_(breaks, pc.greater_equal(pc.count_substring(col, ","), width - 1)))
        for i in np.flatnonzero(too_long):
            found.append((i, j, Issue(int(table.rows[i]), name, None, "too_long",
                                      f"The cell holds {len(col[int(i)].as_py()):,} characters; the limit is "
                                      f"{MAX_CELL_CHARS:,}.")))
        for i in np.flatnonzero(swallowed & ~too_long):
            v = col[int(i)].as_py()
            found.append((i, j, Issue(int(table.rows[i]), name, None, "unbalanced_quote",
                                      f"The cell runs over {len(v.splitlines())} lines and holds {v.count(',')} "
                                      "commas, as if whole rows had been read into it from a quote that was "
                                      "closed in the wrong place.")))
        bad |= too_long | swallowed
    if not found:
        return table
    table.errors.extend(issue for _, _, issue in sorted(found, key=lambda t: (t[0], t[1])))
    keep = pa.array(~bad)
    table.columns = [c.filter(keep) for c in table.columns]
    table.rows = table.rows[~bad]
    return table


def _np(arr) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)
