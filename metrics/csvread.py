"""Turning uploaded bytes into a table of trimmed strings, with spreadsheet row numbers.

Nothing is coerced here: every cell stays text; typing is the validator's job. The reader refuses
files that are not text CSV (binary, UTF-16, undecodable) and reports ragged rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

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
    # one column per header, cells as written (untrimmed): a numpy object array of str, or (fast path)
    # a pyarrow string array, which the validator dictionary-encodes without making Python objects
    columns: list
    rows: np.ndarray  # int64 spreadsheet row number of each record (header row = its own line)
    encoding: str
    errors: list[Issue]  # ragged rows: reported with the rest, the row's extra cells ignored

    @property
    def n_rows(self) -> int:
        return int(self.rows.shape[0])


def decode(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name). Raises Refused for empty, binary or undecodable input."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise Refused([Issue.file("empty_file", "The file is empty.")])
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise Refused([Issue.file("encoding", "The file is UTF-16 encoded.")])
    for sig, what in _BINARY_SIGNATURES.items():
        if data.startswith(sig):
            raise Refused([Issue.file("binary_file", f"The file is {what}, not a CSV text file.")])
    if b"\x00" in data[:65536]:
        sample = data[:4096]
        if sample.count(b"\x00") * 3 >= len(sample):
            raise Refused([Issue.file("encoding", "The file looks UTF-16 encoded (every other byte is 0).")])
        raise Refused([Issue.file("binary_file", "The file contains binary data (NUL bytes), not CSV text.")])
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise Refused([Issue.file("encoding", f"The file says it is UTF-8 but byte {e.start + 3} is not "
                                                  "valid UTF-8.")]) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as e:
        raise Refused([Issue.file(
            "encoding",
            f"The file is neither UTF-8 nor Windows-1252 (byte 0x{data[e.start]:02x} at position {e.start}).",
        )]) from None


def read_table(data: bytes) -> RawTable:
    text, encoding = decode(data)
    if any(ch in text for ch in ("\x01", "\x02", "\x03", "\x04", "\x1a")):
        raise Refused([Issue.file("binary_file", "The file contains control characters: it is not CSV text.")])
    fast = _read_plain(text, encoding)
    return fast if fast is not None else _read_general(text, encoding)


def _read_plain(text: str, encoding: str) -> RawTable | None:
    """Fast path (pyarrow) for the common large file: one record per line, nothing unusual.

    Returns None — and the general reader takes over — for anything where a record might not be
    exactly one physical line (quoted newlines, blank lines, ragged rows), so row numbers stay exact.
    """
    if '"' in text or "\r" in text or not text or text[0] == "\n" or "\n\n" in text:
        return None
    try:
        import pyarrow as pa
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
    if columns and table.num_rows:
        # rows whose cells are all empty or spaces (as Excel leaves below a table) are ignored
        import pyarrow.compute as pc

        empty = None
        for i in range(table.num_columns):
            e = pc.equal(pc.utf8_trim_whitespace(table.column(i)), "")
            empty = e if empty is None else pc.and_(empty, e)
        keep = np.asarray(pc.invert(empty).to_numpy(zero_copy_only=False), dtype=bool)
        if not keep.all():
            mask = pa.array(keep)
            columns = [c.filter(mask) for c in columns]
            rows = rows[keep]
    return RawTable(headers=header, header_row=1, columns=columns, rows=rows, encoding=encoding, errors=[])


def _read_general(text: str, encoding: str) -> RawTable:
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
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
    except csv.Error as e:  # pragma: no cover - csv is lenient with strict=False
        raise Refused([Issue.file("ragged_row", f"The file could not be read as CSV: {e}.")]) from None
    if header is None:
        raise Refused([Issue.file("empty_file", "The file has no header row.")])
    width = len(header)
    lengths = np.fromiter((len(r) for r in records), dtype=np.int64, count=len(records))
    if lengths.size and lengths.max() > width:
        for i in np.flatnonzero(lengths > width):
            rec = records[i]
            errors.append(Issue(row=starts[i], column=None, value=None, rule="ragged_row",
                                message=f"Row has {len(rec)} cells but the header has {width}."))
    if lengths.size and (lengths.min() < width or lengths.max() > width):
        pad = [""] * width
        records = [r if len(r) == width else (r + pad)[:width] for r in records]
    columns: list[np.ndarray] = []
    if records:
        for col in zip(*records):
            columns.append(np.array(col, dtype=object))
    else:
        columns = [np.array([], dtype=object) for _ in range(width)]
    return RawTable(
        headers=[h for h in header],
        header_row=header_row,
        columns=columns,
        rows=np.asarray(starts, dtype=np.int64),
        encoding=encoding,
        errors=errors,
    )
