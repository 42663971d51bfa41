"""Excel workbooks (.xlsx, .xlsm) read into tables for the one validation path.

Each visible worksheet whose header row is recognised becomes one :class:`metrics.csvread.RawTable`, exactly
what the CSV reader gives the validator: trimmed-later text cells (real Excel dates as ISO dates, whole
numbers without ".0", TRUE/FALSE for logical cells) and the sheet's own row numbers. Everything the
validator cannot see in a table is checked here first, before the workbook is parsed:

- what the file really is (magic bytes): an encrypted (password-protected) workbook or an old .xls is an
  OLE compound file, not a zip; a CSV, HTML page or PDF renamed .xlsx is named as what it is;
- the zip itself: damaged archives, compression Excel never writes, more than ``MAX_UNPACKED`` bytes
  unpacked, a part that unpacks to more than ``MAX_RATIO`` times its packed size or to more than its header
  says (zip bombs), and any XML part holding a DTD (``<!DOCTYPE``/``<!ENTITY``: XML bombs and external
  entities; Excel never writes one);
- error cells (``#REF!``, ``#N/A``…), which the reader would otherwise give as blanks: found in the sheet XML
  and refused with sheet, row and column;
- merged cells in the table (refused: only the first cell of a merge holds the value).

The workbook is read with python-calamine (Rust): formulas give their cached values; rows come out as
Python lists and are turned into Arrow columns chunk by chunk, one conversion per *distinct* value.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics.contract import KINDS, normalise_header
from metrics.csvread import RawTable, drop_blank_rows
from metrics.issues import Issue, Refused

#: File types the upload takes (suffixes without the dot), and the advice for anything else.
CSV_TYPES = ("csv",)
WORKBOOK_TYPES = ("xlsx", "xlsm")
UPLOAD_TYPES = CSV_TYPES + WORKBOOK_TYPES + ("xml",)  # .xml: the workforce census (metrics.sources)
ADVICE = "Save as CSV UTF-8 or Excel workbook (.xlsx)."

# Limits checked on the zip's directory and while unpacking, before any XML is parsed.
MAX_UNPACKED = 1 << 30  # all parts together, bytes (a 1,000,000-row extract unpacks to ~250 MB)
MAX_RATIO = 100  # unpacked ÷ packed, for any part over RATIO_FLOOR bytes (real sheets: 5–20)
RATIO_FLOOR = 1 << 20
MAX_CELLS = 60_000_000  # a sheet's used range (rows × columns): 1,048,576 rows of 57 columns
HEADER_SCAN_ROWS = 50  # title rows above the header: the header is searched for in this many rows
_CHUNK_ROWS = 65_536
_UNPACK_CHUNK = 1 << 22

_ZIP = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .xls, .doc, and every encrypted Office file
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_OTHER_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"Rar!": "a RAR archive",
    b"\x1f\x8b": "a gzip archive",
}


def is_workbook(data: bytes, file_name: str = "") -> bool:
    """Is this upload for the workbook reader: named like a spreadsheet, or (not named .csv) a zip or OLE file?
    Everything else goes to the CSV reader, which refuses a binary file named .csv as not CSV text."""
    suffix = PurePosixPath(file_name).suffix.lower().lstrip(".")
    if suffix in CSV_TYPES:
        return False
    return data[:4] in (_ZIP, _EMPTY_ZIP) or data[:8] == _CFB or suffix in (*WORKBOOK_TYPES, "xls", "xlsb", "ods")


def wrong_type(file_name: str) -> str | None:
    """The page's and CLI's refusal for a file whose name says it is neither CSV nor a workbook (None: fine)."""
    suffix = PurePosixPath(file_name).suffix.lower().lstrip(".")
    if suffix in UPLOAD_TYPES:
        return None
    what = f"a .{suffix} file" if suffix else "a file with no type in its name"
    return (f"{file_name} is {what}: uploads take CSV files (.csv), Excel workbooks (.xlsx, .xlsm) and the "
            f"workforce census XML (.xml). {ADVICE}")


@dataclass
class SheetTable:
    """One visible worksheet: its table for the validator, or why it cannot be read."""

    sheet: str
    kind: str | None  # from its header row (or the kind asked for)
    table: RawTable | None = None
    errors: list[Issue] = field(default_factory=list)  # the sheet is refused whole (no header, merged cells)


@dataclass
class Workbook:
    sheets: list[SheetTable]
    notes: list[str] = field(default_factory=list)  # sheets skipped (hidden, chart, empty), said in the report


def _refuse(rule: str, message: str) -> Refused:
    return Refused([Issue.file(rule, message)])


# --- what the file really is ----------------------------------------------------------------------


def _not_a_workbook(data: bytes, file_name: str) -> Refused:
    """A file named like a workbook that is no zip: say what it is."""
    name = file_name or "The file"
    if data[:8] == _CFB:
        if _ENCRYPTED_STREAM in data:
            return _refuse("workbook_encrypted", f"{name} is a password-protected (encrypted) workbook, so it "
                                                 "cannot be read.")
        return _refuse("workbook_format", f"{name} is an Excel 97–2003 workbook (.xls) or another old Office "
                                          "file, which is not taken: open it in Excel and use File > Save As.")
    for magic, what in _OTHER_MAGIC.items():
        if data.startswith(magic):
            return _refuse("workbook_format", f"{name} is {what}, not an Excel workbook.")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return _refuse("empty_file", f"{name} is empty.")
    if head.startswith((b"<!doctype html", b"<html")) or b"<table" in head:
        what = "a web page (HTML) with a spreadsheet name, as some systems export"
    elif head.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in data[:65536]:
        what = "an Excel 2003 XML spreadsheet"
    elif b"\x00" not in head and (b"," in head or b";" in head or b"\t" in head):
        return _refuse("workbook_format", f"{name} is not an Excel workbook: it is a CSV text file with a "
                                          "workbook's name. Rename it to .csv and upload that.")
    else:
        what = "not a file Excel saves as a workbook"
    return _refuse("workbook_format", f"{name} is {what}, not an Excel workbook (.xlsx).")


def _what_zip(names: set[str]) -> str | None:
    if "xl/workbook.bin" in names:
        return "an Excel binary workbook (.xlsb)"
    if "content.xml" in names and "mimetype" in names:
        return "an OpenDocument file (.ods, from LibreOffice or Google Sheets)"
    if "word/document.xml" in names:
        return "a Word document"
    if "ppt/presentation.xml" in names:
        return "a PowerPoint presentation"
    return None


# --- the zip: limits, bombs, DTDs and error cells, before any XML is parsed --------------------------

_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\s([^>]*\bt="e"[^>]*)>(.*?)</(?:\w+:)?c>', re.S)
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_ROOT = re.compile(rb"<(\w+:)?worksheet[\s>]")


def _unpack(data: bytes, info: zipfile.ZipInfo, file_name: str):
    """Yield a part's unpacked bytes in chunks, never more than its header declares (a part that would
    unpack to more is a zip bomb, refused), checking its CRC at the end."""
    name = file_name or "The workbook"
    damaged = _refuse("workbook_corrupt", f"{name} is damaged (part {info.filename} cannot be unpacked).")
    off = info.header_offset
    if data[off:off + 4] != _ZIP:
        raise damaged
    n, extra = struct.unpack("<HH", data[off + 26:off + 30])
    start = off + 30 + n + extra
    packed = memoryview(data)[start:start + info.compress_size]
    if len(packed) != info.compress_size:
        raise damaged
    crc, total = 0, 0
    if info.compress_type == zipfile.ZIP_STORED:
        chunks = (packed[i:i + _UNPACK_CHUNK] for i in range(0, len(packed), _UNPACK_CHUNK))
        for chunk in chunks:
            b = bytes(chunk)
            crc, total = zlib.crc32(b, crc), total + len(b)
            yield b
    else:
        d = zlib.decompressobj(-15)
        pending = bytes(packed)
        while True:
            try:
                out = d.decompress(pending, _UNPACK_CHUNK)
            except zlib.error:
                raise damaged from None
            pending = d.unconsumed_tail
            if out:
                total += len(out)
                if total > info.file_size:
                    raise _refuse("workbook_too_large",
                                  f"{name} holds a part ({info.filename}) that unpacks to more than its "
                                  f"{info.file_size:,} declared bytes: a zip bomb. Nothing was read.")
                crc = zlib.crc32(out, crc)
                yield out
            if d.eof or (not pending and not out):
                break
        if not d.eof:
            raise damaged
    if total != info.file_size or crc != info.CRC:
        raise damaged


def _open_zip(data: bytes, file_name: str) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    name = file_name or "The workbook"
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error):
        raise _refuse("workbook_corrupt", f"{name} is damaged: it starts like an Excel workbook (a zip file) but "
                                          "its contents cannot be read.") from None
    names = {i.filename for i in infos}
    other = _what_zip(names)
    if other:
        raise _refuse("workbook_format", f"{name} is {other}, not an Excel workbook.")
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise _refuse("workbook_format", f"{name} is a zip archive, not an Excel workbook.")
    if any(i.flag_bits & 0x1 for i in infos):
        raise _refuse("workbook_encrypted", f"{name} is password-protected (encrypted zip parts), so it cannot be "
                                            "read.")
    if any(i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for i in infos):
        raise _refuse("workbook_corrupt", f"{name} uses a compression method Excel never writes.")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED:
        raise _refuse("workbook_too_large", f"{name} unpacks to {total / 1e6:,.0f} MB, over the "
                                            f"{MAX_UNPACKED / 1e6:,.0f} MB limit. Split it, or save it as CSV.")
    for i in infos:
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise _refuse("workbook_too_large",
                          f"{name} holds a part ({i.filename}) that unpacks "
                          f"{i.file_size / max(i.compress_size, 1):,.0f}"
                          f" times over (more than {MAX_RATIO}×, as a zip bomb does). Nothing was read.")
    return z, infos


def _scan_parts(data: bytes, infos: list[zipfile.ZipInfo], file_name: str) -> dict[str, list[tuple[str, int, str]]]:
    """Unpack every XML part once (bounded, see :func:`_unpack`): refuse any DTD, and return each worksheet
    part's error cells as (column letters, row number, error such as "#REF!")."""
    errors: dict[str, list[tuple[str, int, str]]] = {}
    for info in infos:
        if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        is_sheet = info.filename.startswith("xl/worksheets/")
        found: list[tuple[str, int, str]] = []
        tail, edge, cell = b"", b"", None
        for chunk in _unpack(data, info, file_name):
            # "<!" never appears in what Excel writes (no DTD, no CDATA): look closer only when it does
            if b"<!" in edge + chunk[:16] or b"<!" in chunk:
                if _DTD.search(edge + chunk):
                    raise _refuse("workbook_unsafe",
                                  f"{file_name or 'The workbook'} holds a document type declaration (<!DOCTYPE or "
                                  f"<!ENTITY) in {info.filename}. Excel never writes one; it is how XML bombs and "
                                  "external-entity attacks work, so nothing in it was read.")
            edge = chunk[-16:]
            if not is_sheet:
                continue
            buf = tail + chunk
            if cell is None:  # a cell's start tag, with the namespace prefix the sheet uses (<c or <x:c)
                root = _ROOT.search(buf)
                cell = None if root is None else b"<" + (root.group(1) or b"") + b"c "
            cut = -1 if cell is None else buf.rfind(cell)  # cells do not nest: those before the last one opened
            if cut < 0:                                    # are complete
                cut = len(buf) if cell is not None else 0
            head, tail = buf[:cut], buf[cut:]
            if b't="e"' in head:
                found += _error_cells(head)
            if len(tail) > (1 << 24):  # a single cell this long is not a worksheet Excel wrote
                tail = tail[-(1 << 16):]
        if is_sheet and b't="e"' in tail:
            found += _error_cells(tail)
        if found:
            errors[info.filename] = found
    return errors


def _error_cells(xml: bytes) -> list[tuple[str, int, str]]:
    out = []
    for m in _ERROR_CELL.finditer(xml):
        ref = _REF.search(m.group(1))
        v = _VALUE.search(m.group(2))
        value = v.group(1).decode("utf-8", "replace") if v else "an error"
        if ref:
            out.append((ref.group(1).decode(), int(ref.group(2)), value))
        else:
            out.append(("", 0, value))
    return out


def _sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its worksheet part (e.g. 'xl/worksheets/sheet1.xml'), from workbook.xml and its rels.
    Parsed only after :func:`_scan_parts` has refused any DTD."""
    import xml.etree.ElementTree as ET

    try:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for el in book.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            out[el.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return out


# --- cells to text, one conversion per distinct value -----------------------------------------------


def cell_text(v) -> str:
    """One cell as the CSV reader would have read it: text as is; a real Excel date (or date-time: its day)
    as an ISO date; a whole number without '.0'; other numbers to Excel's 15 significant digits;
    TRUE/FALSE for logical cells."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return f"{v:.15g}"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)  # times of day, durations: refused by the validator as not dates


def _to_arrow(values: np.ndarray) -> pa.Array:
    """A column of cells (an object array of calamine's values) as an Arrow string array."""
    try:
        return pa.array(values, type=pa.string())  # all text: the common case, no Python per cell
    except (pa.ArrowTypeError, pa.ArrowInvalid, TypeError):
        pass
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    kinds = {type(u) for u in uniques}
    if bool in kinds and kinds & {int, float}:  # True == 1.0 to a hash: convert exactly, cell by cell
        return pa.array([cell_text(v) for v in values], type=pa.string())
    text = pa.array([cell_text(u) for u in uniques], type=pa.string())
    return text.take(pa.array(codes))


def _letters(col: int) -> str:
    """0-based column index → Excel letters (0 → A, 27 → AB)."""
    s = ""
    col += 1
    while col:
        col, r = divmod(col - 1, 26)
        s = chr(65 + r) + s
    return s


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


# --- header rows --------------------------------------------------------------------------------------


def contract_kind(headers: list[str], kind: str | None = None) -> str | None:
    """The kind whose required columns (or aliases) all appear in ``headers`` — only ``kind`` if given;
    None if none or several do. The default recogniser of a header row."""
    norm = {normalise_header(h) for h in headers if h.strip()}
    if not norm:
        return None
    found = []
    for spec in ([KINDS[kind]] if kind else KINDS.values()):
        hmap = spec.header_map()
        present = {hmap[h] for h in norm if h in hmap}
        if all(c in present for c in spec.required):
            found.append(spec.name)
    return found[0] if len(found) == 1 else None


def _no_header(sheet: str, rows: list[list[str]], kind: str | None) -> Issue:
    best = (0, "", [], 0)
    for i, row in enumerate(rows):
        norm = {normalise_header(h) for h in row if h.strip()}
        for spec in ([KINDS[kind]] if kind else KINDS.values()):
            hmap = spec.header_map()
            present = {hmap[h] for h in norm if h in hmap}
            if len(present) > best[0]:
                best = (len(present), spec.name, [c for c in spec.required if c not in present], i)
    hint = ""
    if best[0] and best[2]:
        hint = f" The closest is row {{row{best[3]}}}, which looks like '{best[1]}' but lacks: {', '.join(best[2])}."
    elif best[0]:
        hint = f" Row {{row{best[3]}}} fits more than one kind: choose the kind."
    what = f"kind '{kind}'" if kind else "any extract kind"
    return Issue.file("no_header", f"Sheet '{sheet}' has no header row of {what} in its first {HEADER_SCAN_ROWS} "
                                   f"rows.{hint}")


# --- the reader -------------------------------------------------------------------------------------


Recogniser = Callable[[list[str], "str | None"], "str | None"]


def read_workbook(data: bytes, file_name: str = "", *, kind: str | None = None, sheets: list[str] | None = None,
                  recognise: Recogniser = contract_kind) -> Workbook:
    """Read a workbook's visible worksheets as tables (see the module's docstring). Raises Refused for a
    file that is no readable workbook; a sheet that cannot be read carries its own errors.

    ``kind``: every sheet is of this kind (its header row is searched for that kind's columns).
    ``sheets``: read only these sheets. ``recognise(cells, kind)``: the kind a row of header cells
    announces, or None (default: the contract's columns and aliases).
    """
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    if data[:4] not in (_ZIP, _EMPTY_ZIP):
        raise _not_a_workbook(data, file_name)
    z, infos = _open_zip(data, file_name)
    error_cells = _scan_parts(data, infos, file_name)
    parts = _sheet_parts(z)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        meta = book.sheets_metadata
    except CalamineError as e:
        raise _refuse("workbook_corrupt", f"{file_name or 'The workbook'} cannot be read as a workbook "
                                          f"({type(e).__name__}).") from None
    out = Workbook(sheets=[])
    for m in meta:
        if sheets is not None and m.name not in sheets:
            continue
        if m.visible != SheetVisibleEnum.Visible:
            out.notes.append(f"Hidden sheet '{m.name}' was skipped (hidden sheets are never read).")
            continue
        if m.typ != SheetTypeEnum.WorkSheet:
            out.notes.append(f"Sheet '{m.name}' is not a worksheet (a chart or macro sheet) and was skipped.")
            continue
        try:
            sheet = book.get_sheet_by_name(m.name)
        except CalamineError as e:
            out.sheets.append(SheetTable(m.name, kind, errors=[Issue.file(
                "workbook_corrupt", f"Sheet '{m.name}' cannot be read ({type(e).__name__}).")]))
            continue
        if sheet.end is None:
            out.notes.append(f"Sheet '{m.name}' is empty and was skipped.")
            continue
        out.sheets.append(_read_sheet(sheet, m.name, kind, recognise, error_cells.get(parts.get(m.name, ""), [])))
    if not out.sheets:
        why = " ".join(out.notes) or "It has no worksheets."
        raise _refuse("no_header", f"{file_name or 'The workbook'} has no visible sheet with data. {why}")
    return out


def _read_sheet(sheet, name: str, kind: str | None, recognise: Recogniser,
                errors_xml: list[tuple[str, int, str]]) -> SheetTable:
    (r0, c0), (r1, c1) = sheet.start, sheet.end
    if (r1 + 1) * (c1 - c0 + 1) > MAX_CELLS:  # a used range stretched by a stray cell far below or right
        return SheetTable(name, kind, errors=[Issue.file(
            "workbook_too_large", f"Sheet '{name}' spans {r1 + 1:,} rows by {c1 - c0 + 1:,} columns (cells up to "
                                  f"{_letters(c1)}{r1 + 1}), over {MAX_CELLS:,} cells. Delete the rows and columns "
                                  "below and to the right of the table, or save the sheet as CSV.")])
    rows_iter = sheet.iter_rows()
    head = list(itertools.islice(rows_iter, HEADER_SCAN_ROWS))
    head_text = [[cell_text(c).strip() for c in r] for r in head]
    at = found = None
    for i, cells in enumerate(head_text):
        if any(cells):
            found = recognise(cells, kind)
            if found:
                at = i
                break
    end_row, end_col = sheet.end
    width = len(head[0]) if head else 0
    col0 = end_col - width + 1  # absolute 0-based column of the first cell of each row
    if at is None:
        # row numbers: the rows run up to the sheet's last row, so the first is end_row - (count - 1)
        rest = sum(1 for _ in rows_iter)
        first_row = end_row - (len(head) + rest - 1) + 1
        issue = _no_header(name, head_text, kind)
        msg = re.sub(r"\{row(\d+)\}", lambda mm: str(first_row + int(mm.group(1))), issue.message)
        return SheetTable(name, kind, errors=[Issue.file(issue.rule, msg)])
    headers = head_text[at]
    columns: list[list[pa.Array]] = [[] for _ in range(width)]
    n = 0
    body = itertools.chain(head[at + 1:], rows_iter)
    while True:
        chunk = list(itertools.islice(body, _CHUNK_ROWS))
        if not chunk:
            break
        n += len(chunk)
        block = np.empty((len(chunk), width), dtype=object)  # rows → columns without a Python loop per cell
        block[:] = chunk
        for j in range(width):
            columns[j].append(_to_arrow(block[:, j]))
    first_row = end_row - (at + n) + 1  # the rows run up to the sheet's last row (at + 1 + n of them)
    header_row = first_row + at
    rows = np.arange(header_row + 1, header_row + 1 + n, dtype=np.int64)
    cols = [pa.concat_arrays(c) if c else pa.array([], type=pa.string()) for c in columns]
    # columns with no header and nothing in them (margins, separators) are dropped
    keep_cols = [j for j in range(width) if headers[j] or (n and not _all_blank(cols[j]))]
    table_cols = set(keep_cols)
    issues: list[Issue] = []
    # merged cells in the header row or below, within the table: only the first cell holds the value
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
        if r1 + 1 < header_row or not any((c - col0) in table_cols for c in range(c0, c1 + 1)):
            continue
        ref = f"{_letters(c0)}{r0 + 1}:{_letters(c1)}{r1 + 1}"
        where = "header cells" if r0 + 1 <= header_row else "cells"
        issues.append(Issue(r0 + 1, headers[c0 - col0] if 0 <= c0 - col0 < width and headers[c0 - col0] else None,
                            None, "merged_cells",
                            f"Sheet '{name}': the {where} {ref} are merged, so only the first holds a value."))
    if issues:
        return SheetTable(name, found, errors=issues)
    bad = np.zeros(n, dtype=bool)
    table_errors: list[Issue] = []
    hmap = KINDS[found].header_map() if found in KINDS else None
    for letters, r, value in errors_xml:
        j = _col_index(letters) - col0 if letters else -1
        if r <= header_row or r > header_row + n or not (0 <= j < width) or j not in table_cols:
            continue
        if hmap is not None and normalise_header(headers[j]) not in hmap:
            continue  # a column outside the contract: dropped unread
        table_errors.append(Issue(r, headers[j], value, "cell_error",
                                  f"Sheet '{name}', cell {letters}{r} holds the error {value}, not a value."))
        bad[r - header_row - 1] = True
    if bad.any():
        keep = pa.array(~bad)
        cols = [c.filter(keep) for c in cols]
        rows = rows[~bad]
    cols, rows = drop_blank_rows([cols[j] for j in keep_cols], rows)  # as Excel leaves below a table
    table = RawTable(headers=[headers[j] for j in keep_cols], header_row=header_row, columns=cols, rows=rows,
                     encoding="xlsx", errors=sorted(table_errors, key=lambda e: (e.row or 0, e.column or "")))
    return SheetTable(name, found, table=table)


def _all_blank(col: pa.Array) -> bool:
    return not len(col) or bool(pc.all(pc.equal(pc.utf8_trim_whitespace(col), "")).as_py())


_TEXT_DATE = ("date_format", "date_impossible", "date_two_digit_year")


def explain(errors: list[Issue]) -> list[Issue]:
    """A workbook sheet's validation errors, with what differs from a CSV said: a date error there is always a
    cell holding text, never a real Excel date (those are read exactly), so the CSV date rule applied."""
    from dataclasses import replace

    note = (" In a workbook this cell is text, not an Excel date, so it is read as a CSV date is: day first, "
            "never month-first. Format the column as Date in Excel, or type the date as 30/04/2023.")
    return [replace(e, message=e.message + note) if e.rule in _TEXT_DATE else e for e in errors]
