"""KPI computation: the store's current uploads → one value per KPI per month (shared/spec/metrics.md).

Pure pandas + SQL, no streamlit or plotly. Only the rows of the upload that ``current_months`` points
at for each kind and month are read, so superseded uploads are never counted. The counting is pushed
into SQLite, one aggregate query per current (upload, month), so a few numbers per month come back to
Python however many rows the store holds (see "Speed" below; bench/bench_kpis.py times it).

Public API
----------
* :func:`compute_series` — every KPI (or a chosen few) for every month, with numerator, denominator,
  source (``records`` / ``figures``) and data-quality flags (:data:`FLAGS`).
* :func:`secondary_series` — the secondary measures shown beside their KPIs
  (:data:`metrics.kpis.SECONDARY`).
* :func:`breakdown` — one KPI split by team, conference format or type, or audit grade
  (:data:`BREAKDOWNS`).
* :func:`window_start` — first day of the 12-month window used by ``three_plus_social_workers``.

Readings of the spec where it is silent (also in docs/metrics.md):

* **Records win when an upload exists.** Where the KPI's extract kind has a current record-level
  upload for the month, the value comes from the records — even if they give a zero denominator
  (e.g. an event upload covering a month with no conferences: that month has *no data*, flag
  ``zero_denominator``). A ``figures`` row for the same month is then ignored: the upload is the
  authority's latest, most detailed word on that month.
* **Counts and FTE of an existing snapshot are values, even 0.** For ``permanent_team_managers``,
  ``historic_complaints_outstanding`` and ``permanent_practitioners_fte`` the denominator is not a
  count of anything, so "zero denominator → no data" cannot apply: a snapshot uploaded for the month
  with no matching rows (e.g. an empty complaints register) means the value is 0. Only a month with
  no snapshot (and no figures) has no data.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from metrics.contract import KINDS, PRACTITIONER_ROLES, QUALIFIED_ROLES
from metrics.kpis import KPI, REGISTRY, SECONDARY, View
from metrics.settings import get_settings
from metrics.store import SCOPE_COLUMN, engine, record_table
from metrics.months import month_end, month_range

SERIES_COLUMNS: tuple[str, ...] = ("metric", "month", "value", "numerator", "denominator", "source", "flags")
SECONDARY_COLUMNS: tuple[str, ...] = ("metric", "month", "value", "numerator", "denominator")
BREAKDOWN_COLUMNS: tuple[str, ...] = ("metric", "month", "group", "value", "numerator", "denominator")

SOURCE_RECORDS = "records"
SOURCE_FIGURES = "figures"

#: A percentage KPI whose denominator is below this carries the ``small_denominator`` caution.
SMALL_DENOMINATOR = 10

#: Data-quality flag codes → plain English (the order is the order flags appear in a tuple).
FLAGS: dict[str, str] = {
    "month_missing": "No data for this month: neither a record-level extract nor a figures row.",
    "zero_denominator": "The extract for this month exists but gives a zero denominator (e.g. no "
                        "conferences held), so the percentage has no value (shown as no data, never 0).",
    "small_denominator": f"Fewer than {SMALL_DENOMINATOR} in the denominator: a small-number caution, a "
                         "single case moves the percentage a lot. Percentage KPIs only.",
    "figures_sourced": "The value comes from a figures (totals) upload, not from record-level data.",
    "snapshot_stale": "The snapshot was taken before the month ended (its snapshot_date, or if none "
                      "the upload date, is before the month's last day).",
    "hybrid_not_separable": "Hybrid conferences do not count as face to face (review setting), but the month's "
                            "value comes from a figures upload, whose numerator counts face to face and hybrid "
                            "together: there is no in-person-only value for it (shown as no data).",
}

#: KPI id → the aggregate column giving its numerator when hybrid conferences do not count as face to face
#: (the review setting ``hybrid_counts_as_face_to_face``, ToR 2b(iii)).
IN_PERSON_NUMERATOR: dict[str, str] = {"face_to_face_conferences": "format_face_to_face"}

#: Label for records with no team recorded, in team breakdowns.
NO_TEAM = "Not recorded"

_FACE_TO_FACE_FORMATS = ("face_to_face", "hybrid")
_GOOD_GRADES = ("good", "outstanding")
FORMATS: tuple[str, ...] = tuple(KINDS["conferences"].column("format").values)
CONFERENCE_TYPES: tuple[str, ...] = tuple(KINDS["conferences"].column("conference_type").values)
GRADES: tuple[str, ...] = tuple(KINDS["audits"].column("grade").values)


# --- calendar ----------------------------------------------------------------------------------


def window_start(e: dt.date) -> dt.date:
    """First day of W, "the 12 months ending on E": (E minus 12 months) plus one day.

    "E minus 12 months" is calendar arithmetic on the same month one year earlier:

    * when E is a month's last day (always so for KPI months) it is that month's **last day** a
      year earlier — month ends map to month ends, as Excel's ``EOMONTH(E, -12)`` — so W is always
      exactly 12 whole calendar months: E = 2024-02-29 → W starts 2023-03-01; E = 2023-02-28 →
      2022-03-01; E = 2025-02-28 → 2024-03-01 (not 2024-02-29: 28 Feb 2025 ends February, and
      the window must not reach back into the February of the year before). This also matches the
      allocations extract, which lists episodes open "in the 12 months ending on the snapshot
      month's last day", and DfE's "during the year to 31 March" (i.e. from 1 April).
    * otherwise it is the same day of the month a year earlier, clamped to that month's length
      (E = 2024-02-28 → 2023-02-28 → W starts 2023-03-01).

    The plain "same day of the month, clamped" rule agrees everywhere except E = 28 February in the
    year after a leap year (2025, 2029, …), where it would start W on 29 February and make W a day
    longer than twelve calendar months; we take the month-end reading there.
    """
    y = e.year - 1
    last_then = calendar.monthrange(y, e.month)[1]
    if e.day == calendar.monthrange(e.year, e.month)[1]:
        back = dt.date(y, e.month, last_then)
    else:
        back = dt.date(y, e.month, min(e.day, last_then))
    return back + dt.timedelta(days=1)


# --- reading the store -------------------------------------------------------------------------
#
# Speed. Every aggregate is one small query per current (upload, month): SQLite never sorts the
# records (a GROUP BY over a million rows costs seconds), it only scans them. An upload is written in
# one transaction, so a single-month upload's rows are one contiguous rowid range, found with two
# index seeks, and scanning that range is several times faster than a row-by-row index lookup.
# Uploads covering several months (event back-fills, whose months may interleave) use the
# (upload_id, month) index instead. Either way the predicates also test upload_id and month, so the
# result never depends on how rows happen to be laid out; only the speed does. Results are a few
# numbers per month, kept in plain dicts: pandas is used only to hand the answer back.
#
# PostgreSQL has no rowid, and a month's rows are scattered through the heap (an event file's months
# interleave), so one query per month would re-read most of the table each time: there, :func:`_run` asks
# once per kind for every month (:func:`_run_batched`), and the allocations stay one query per month (each
# month's episodes are a separate snapshot upload, read through the (upload_id, month) index).


@dataclass(frozen=True)
class _Upload:
    """The current record-level upload of one kind for one month. A month of conferences may rest on two
    uploads, one per conference type (the two SSD conference tables): the others are in ``more``."""

    kind: str
    month: str
    upload_id: int
    n_months: int  # how many months the upload covers
    as_of: str | None  # the file's snapshot_date, else the UTC date it was uploaded
    scope: str = ""  # the conference type this pointer counts ('' : every row of the month)
    more: tuple["_Upload", ...] = ()

    def parts(self) -> tuple["_Upload", ...]:
        return (self, *self.more)


def _month_filter(column: str, first: str | None, last: str | None) -> tuple[str, list]:
    sql, params = "", []
    if first:
        sql += f" AND {column} >= ?"
        params.append(first)
    if last:
        sql += f" AND {column} <= ?"
        params.append(last)
    return sql, params


def _current_uploads(conn: sqlite3.Connection, first: str | None, last: str | None) -> dict[str, dict[str, _Upload]]:
    """kind → month → its current record-level upload (figures excluded)."""
    where, params = _month_filter("c.month", first, last)
    out: dict[str, dict[str, _Upload]] = {}
    for kind, month, upload_id, n_months, as_of, scope in conn.execute(
        "SELECT c.kind, c.month, c.upload_id,"
        " (SELECT COUNT(DISTINCT um.month) FROM upload_months um WHERE um.upload_id = c.upload_id),"
        " COALESCE(u.as_of, substr(u.uploaded_at, 1, 10)), c.scope"
        " FROM current_months c JOIN uploads u ON u.id = c.upload_id"
        f" WHERE c.kind != 'figures'{where} ORDER BY c.kind, c.month, c.upload_id, c.scope", params,
    ):
        part = _Upload(kind, month, int(upload_id), int(n_months), as_of, scope)
        months = out.setdefault(kind, {})
        first = months.get(month)
        if first is None:
            months[month] = part
        elif first.upload_id == part.upload_id and first.scope and part.scope:  # both types, one upload: all rows
            months[month] = replace(first, scope="", more=())
        else:
            months[month] = replace(first, more=(*first.more, part))
    return out


def _store_span(conn: sqlite3.Connection, first: str | None, last: str | None) -> list[str]:
    """Months from the earliest to the latest with any current data (any kind, figures too)."""
    lo, hi = conn.execute("SELECT MIN(month), MAX(month) FROM current_months").fetchone()
    if lo is None:
        return []
    lo = max(lo, first) if first else lo
    hi = min(hi, last) if last else hi
    return month_range(lo, hi) if lo <= hi else []


def _figures(conn: sqlite3.Connection, first: str | None, last: str | None) -> dict[tuple[str, str], tuple]:
    """(metric, month) → (numerator, denominator) of the current figures rows. The pointer's scope is
    the KPI id, so one KPI's figures file never displaces another KPI's."""
    where, params = _month_filter("c.month", first, last)
    return {
        (metric, month): (num, den)
        for metric, month, num, den in conn.execute(
            "SELECT r.metric, r.month, r.numerator, r.denominator FROM current_months c JOIN rec_figures r"
            " ON r.upload_id = c.upload_id AND r.month = c.month AND r.metric = c.scope"
            f" WHERE c.kind = 'figures'{where}", params)
    }


def _scans(conn: sqlite3.Connection, kind: str, uploads: Iterable[_Upload]) -> Iterator[tuple[str, str, dict]]:
    """For each current (upload, month) of ``kind`` that has rows: (month, a WHERE predicate selecting
    exactly that upload's rows for that month, named parameters including E and W's first day)."""
    table = record_table(kind)
    for u in (part for up in uploads for part in up.parts()):
        e = month_end(u.month)
        p = {"u": u.upload_id, "m": u.month, "e": e.isoformat(), "w0": window_start(e).isoformat()}
        scoped = ""
        if u.scope:  # one conference type of the upload's rows (the other's pointer is another upload's)
            scoped = f" AND r.{SCOPE_COLUMN[kind]} = :s"
            p["s"] = u.scope
        if u.n_months == 1 and engine(conn) == "sqlite":
            lo = conn.execute(f"SELECT MIN(rowid) FROM {table} WHERE upload_id = :u AND month = :m", p).fetchone()[0]
            if lo is None:
                continue
            p["lo"] = lo
            p["hi"] = conn.execute(f"SELECT MAX(rowid) FROM {table} WHERE upload_id = :u AND month = :m",
                                   p).fetchone()[0]
            yield u.month, "r.rowid BETWEEN :lo AND :hi AND +r.upload_id = :u AND +r.month = :m" + scoped, p
        else:
            yield u.month, "r.upload_id = :u AND r.month = :m" + scoped, p


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # constants from the contract, not input


def _count(condition: str) -> str:
    """How many rows meet ``condition``, as a float like SQLite's TOTAL (NULL counts as not met). Written with
    CASE so it reads the same on PostgreSQL, whose comparisons are booleans, not 0/1 (``metrics.pg``)."""
    return f"TOTAL(CASE WHEN {condition} THEN 1 ELSE 0 END)"


_QUALIFIED = _in_list(QUALIFIED_ROLES)
_PRACTITIONER = _in_list(PRACTITIONER_ROLES)

Rows = list[dict]  # one dict per month (and group): "month", ["group"], then the named aggregates


def _run(conn: sqlite3.Connection, kind: str, uploads: Iterable[_Upload], select: str, where: str = "",
         group: str | None = None, params: dict | None = None) -> Rows:
    """``select`` (aggregates named with AS) over each current (upload, month) of ``kind``, optionally
    per value of the record column ``group`` (a blank team is "Not recorded")."""
    gsel = gby = ""
    if group is not None:
        expr = f"COALESCE(r.{group}, '{NO_TEAM}')" if group == "team" else f"r.{group}"
        gsel, gby = f"{expr} AS \"group\", ", " GROUP BY 1"
    out: dict[tuple, dict] = {}
    if engine(conn) != "sqlite":
        found = _run_batched(conn, kind, uploads, select, where, gsel, gby, params)
    else:
        found = _run_each(conn, kind, uploads, select, where, gsel, gby, params)
    for month, row in found:
        at = (month, row.get("group"))
        if at in out:  # a month resting on two uploads (the two conference types): their counts add up
            out[at] = {k: (v if k in ("month", "group") else out[at][k] + v) for k, v in row.items()}
        else:
            out[at] = row
    return list(out.values())


def _run_each(conn, kind, uploads, select, where, gsel, gby, params) -> Iterator[tuple[str, dict]]:
    """SQLite: one query per current (upload, month), each a scan of a contiguous rowid range (see "Speed")."""
    for month, access, p in _scans(conn, kind, uploads):
        cur = conn.execute(f"SELECT {gsel}{select} FROM {record_table(kind)} r WHERE {access}"
                           f"{' AND ' + where if where else ''}{gby}", {**p, **(params or {})})
        names = ["month", *(d[0] for d in cur.description)]
        for r in cur.fetchall():
            yield month, dict(zip(names, (month, *r)))


#: The per-(upload, month) parameters an aggregate's SQL may name, as columns of the batched query's list.
_PART_PARAM = re.compile(r":(u|m|e|w0|s)\b")


def _run_batched(conn, kind, uploads, select, where, gsel, gby, params) -> Iterator[tuple[str, dict]]:
    """PostgreSQL: one query for every current (upload, month) of ``kind`` at once (:func:`_batch`), grouped
    by the part. A month's rows are not contiguous in a PostgreSQL heap (a multi-month event file interleaves
    them), so one query per month re-reads most of the table each time: a million assessments took ~2 s as
    36 index scans and takes a fraction of that as one scan. A part with no matching rows returns no row
    (every aggregate then reads as 0, as documented above)."""
    batch = _batch(kind, uploads, params)
    if batch is None:
        return
    parts, join, args, as_part = batch
    if kind not in SCOPE_COLUMN and not _PART_PARAM.search(select + where):  # no E, W or scope: no join needed
        wanted = {(u.upload_id, u.month) for u in parts}  # (the uploads' other months are counted, then dropped)
        ids = sorted({u.upload_id for u in parts})
        cur = conn.execute(f"SELECT r.upload_id AS upload_, r.month AS month_, {gsel}{select} FROM"
                           f" {record_table(kind)} r WHERE r.upload_id IN ({', '.join(map(str, ids))})"
                           f"{' AND ' + where if where else ''} GROUP BY 1, 2{', 3' if gby else ''}", params or {})
        names = ["month", *(d[0] for d in cur.description[2:])]
        for r in cur.fetchall():
            if (r[0], r[1]) in wanted:
                yield r[1], dict(zip(names, (r[1], *r[2:])))
        return
    cur = conn.execute(f"SELECT c.k AS part_, {gsel}{as_part(select)} FROM {record_table(kind)} r {join}"
                       f"{' WHERE ' + as_part(where) if where else ''} GROUP BY c.k{', 2' if gby else ''}", args)
    names = ["month", *(d[0] for d in cur.description[1:])]
    for r in cur.fetchall():
        month = parts[r[0]].month
        yield month, dict(zip(names, (month, *r[1:])))


def _batch(kind: str, uploads: Iterable[_Upload], params: dict | None = None):
    """Every current (upload, month) part of ``kind`` as one join (PostgreSQL): (the parts, ``JOIN (VALUES …)
    c ON …`` selecting each part's rows as ``c.k`` = its position, the parameters, a function turning SQL that
    names a part's parameters — ``:u :m :e :w0 :s``, as :func:`_scans` gives them — into SQL naming the
    joined row's columns), or None when there are no parts. Each part's rows and E, W are exactly those of its
    own query in :func:`_scans`."""
    parts = [part for up in uploads for part in up.parts()]
    if not parts:
        return None
    values, args = [], {**(params or {})}
    for i, u in enumerate(parts):
        e = month_end(u.month)
        args.update({f"k{i}": i, f"u{i}": u.upload_id, f"m{i}": u.month, f"e{i}": e.isoformat(),
                     f"w0{i}": window_start(e).isoformat(), f"s{i}": u.scope})
        values.append(f"(:k{i}, :u{i}, :m{i}, :e{i}, :w0{i}, :s{i})" if i else
                      f"(CAST(:k{i} AS INTEGER), CAST(:u{i} AS BIGINT), CAST(:m{i} AS TEXT), CAST(:e{i} AS TEXT),"
                      f" CAST(:w0{i} AS TEXT), CAST(:s{i} AS TEXT))")
    col = {"u": "c.u", "m": "c.m", "e": 'c.e COLLATE "C"', "w0": 'c.w0 COLLATE "C"', "s": 'c.s COLLATE "C"'}

    def as_part(sql: str) -> str:
        return _PART_PARAM.sub(lambda m: f"({col[m.group(1)]})", sql)

    scoped = f" AND (c.s = '' OR r.{SCOPE_COLUMN[kind]} = (c.s COLLATE \"C\"))" if kind in SCOPE_COLUMN else ""
    join = (f"JOIN (VALUES {', '.join(values)}) AS c (k, u, m, e, w0, s)"
            f" ON r.upload_id = c.u AND r.month = (c.m COLLATE \"C\"){scoped}")
    return parts, join, args, as_part


# Each aggregator returns the raw counts and sums its KPIs and secondary measures need, per month
# (and group). A month whose upload has no matching rows may be absent: every aggregate is then 0.

_IN_POST = "(r.start_date IS NULL OR r.start_date <= :e) AND (r.end_date IS NULL OR r.end_date > :e)"


def _agg_workforce(conn, uploads, group=None, **_) -> Rows:
    return _run(conn, "workforce", uploads, group=group, where=_IN_POST, select=(
        f"TOTAL(CASE WHEN r.role IN {_QUALIFIED} THEN r.fte END) AS qualified_fte,"
        f" TOTAL(CASE WHEN r.role IN {_QUALIFIED} AND r.agency = 1 THEN r.fte END) AS agency_fte,"
        f" TOTAL(CASE WHEN r.role IN {_PRACTITIONER} AND r.agency = 0 THEN r.fte END) AS permanent_practitioner_fte,"
        " COUNT(DISTINCT CASE WHEN r.role = 'team_manager' AND r.agency = 0 THEN r.worker_id END) AS permanent_tm,"
        " COUNT(DISTINCT CASE WHEN r.role = 'team_manager' THEN r.worker_id END) AS all_tm"))


def _agg_assessments(conn, uploads, group=None, **_) -> Rows:
    # r.month is the month of completed_date (the event date), so "completed in M" is r.month = M.
    return _run(conn, "assessments", uploads, group=group,
                select=f"{_count('r.nfa = 1')} AS nfa, COUNT(*) AS assessments")


def _agg_conferences(conn, uploads, group=None, **_) -> Rows:
    rows = _run(conn, "conferences", uploads, group=group, select=(
        "".join(_count("r.format = '%s'" % f) + f" AS format_{f}, " for f in FORMATS)
        + "".join(_count("r.conference_type = '%s'" % t) + f" AS type_{t}, " for t in CONFERENCE_TYPES)
        + "COUNT(*) AS conferences"))
    for r in rows:
        r["face_to_face_or_hybrid"] = sum(r[f"format_{f}"] for f in _FACE_TO_FACE_FORMATS)
    return rows


def _agg_audits(conn, uploads, group=None, **_) -> Rows:
    return _run(conn, "audits", uploads, group=group, select=(
        f"{_count(f'r.grade IN {_in_list(_GOOD_GRADES)}')} AS good_or_better, "
        + "".join(_count("r.grade = '%s'" % g) + f" AS grade_{g}, " for g in GRADES)
        + "COUNT(*) AS audits"))


def _agg_milestones(conn, uploads, group=None, **_) -> Rows:
    def due(ref: str) -> str:
        return f"r.tor_ref = '{ref}' AND r.due_date <= :e"

    def done(ref: str) -> str:
        return f"{due(ref)} AND r.completed_date IS NOT NULL AND r.completed_date <= :e"

    return _run(conn, "milestones", uploads, group=group, select=(
        f"{_count(done('2b-vii'))} AS send_complete, {_count(due('2b-vii'))} AS send_due,"
        f" {_count(done('2a'))} AS plan_complete, {_count(due('2a'))} AS plan_due"))


def _agg_complaints(conn, uploads, group=None, cutoff: dt.date | None = None, **_) -> Rows:
    cutoff = cutoff or get_settings().historic_complaints_cutoff
    return _run(conn, "complaints", uploads, group=group, params={"cutoff": cutoff.isoformat()}, select=(
        f"{_count('r.received_date < :cutoff AND (r.closed_date IS NULL OR r.closed_date > :e)')} AS historic_open"))


def _agg_allocations(conn, uploads, group=None, **_) -> Rows:
    """Per snapshot month: the cohort (children with an episode open at E), how many of them had 3+
    distinct workers over the episodes overlapping W, and the total of their distinct workers.

    SQLite selects the episodes overlapping W and hands them over as three strings per month (child
    ids, worker ids, open-at-E flags), which :func:`_cohort_counts` groups with numpy: no Python object
    per row and no SQL sort, which is what makes a million episodes take well under a second.
    """
    if group is not None:
        raise ValueError("allocations have no breakdowns")
    overlaps_w = "r.start_date <= :e AND (r.end_date IS NULL OR r.end_date >= :w0)"
    out: Rows = []
    for month, access, p in _scans(conn, "allocations", uploads):
        n, children, workers, open_at_e = conn.execute(
            "SELECT COUNT(*), group_concat(r.child_id, char(31)), group_concat(r.worker_id, char(31)),"
            " group_concat(CASE WHEN r.end_date IS NULL OR r.end_date > :e THEN '1' ELSE '0' END, '')"
            f" FROM rec_allocations r WHERE {access} AND {overlaps_w}", p).fetchone()
        if not n:
            continue
        child_codes, worker_codes = _codes(children, n), _codes(workers, n)
        if child_codes is None or worker_codes is None:  # ids not fixed-width ASCII: the exact slow path
            rows = conn.execute("SELECT r.child_id, r.worker_id, r.end_date IS NULL OR r.end_date > :e"
                                f" FROM rec_allocations r WHERE {access} AND {overlaps_w}", p).fetchall()
            child_codes = pd.factorize(np.array([r[0] for r in rows], dtype=object), use_na_sentinel=False)[0]
            worker_codes = pd.factorize(np.array([r[1] for r in rows], dtype=object), use_na_sentinel=False)[0]
            is_open = np.array([r[2] == 1 for r in rows], dtype=bool)
        else:
            is_open = np.frombuffer(open_at_e.encode("ascii"), dtype=np.uint8) == ord("1")
        three_plus, cohort, workers_total = _cohort_counts(child_codes, worker_codes, is_open)
        out.append({"month": month, "three_plus": three_plus, "cohort": cohort, "workers": workers_total})
    return out


def _codes(joined: str, n: int) -> np.ndarray | None:
    """Integer codes (equal id ↔ equal code) for ``n`` ids joined by ``\\x1f``, read as fixed-width
    ASCII bytes without making a Python string per id. None when the ids are not all the same width
    in ASCII (pseudonyms always are: 32 hex characters), so the caller takes the exact slow path."""
    if not joined.isascii() or (len(joined) + 1) % n or joined.count("\x1f") != n - 1:
        return None  # (a NULL id is skipped by group_concat; an id containing \x1f would blur the joins)
    width = (len(joined) + 1) // n - 1
    if width < 1:
        return None
    raw = np.frombuffer((joined + "\x1f").encode("ascii"), dtype=np.uint8).reshape(n, width + 1)
    if not (raw[:, width] == 0x1F).all():
        return None
    pad = -width % 8
    ids = np.zeros((n, width + pad), dtype=np.uint8)
    ids[:, :width] = raw[:, :width]
    return _row_codes(ids.view(np.uint64))


def _row_codes(mat: np.ndarray, *, hashed: bool = True) -> np.ndarray:
    """Exact integer codes for the rows of a 2-D uint64 array (equal rows ↔ equal codes).

    Hash each row to one uint64 and factorize, then check every row equals its code's representative
    row; on a (vanishingly rare) hash collision — or with ``hashed=False`` — factorize column by
    column instead, combining codes as it goes.
    """
    n, k = mat.shape
    if hashed:
        with np.errstate(over="ignore"):
            h = mat[:, 0].copy()
            for j in range(1, k):
                h = h * np.uint64(0x9E3779B97F4A7C15) + (mat[:, j] ^ (mat[:, j] >> np.uint64(29)))
        codes, uniques = pd.factorize(h)
        rep = np.empty(len(uniques), dtype=np.int64)
        rep[codes] = np.arange(n)
        if (mat[rep[codes]] == mat).all():
            return codes
    codes = np.zeros(n, dtype=np.int64)
    for j in range(k):
        col, col_uniques = pd.factorize(mat[:, j])
        codes = pd.factorize(codes * len(col_uniques) + col)[0]
    return codes


def _cohort_counts(child: np.ndarray, worker: np.ndarray, is_open: np.ndarray) -> tuple[int, int, int]:
    """(cohort children with 3+ distinct workers, cohort size, total distinct workers over the cohort)
    from one month's episodes overlapping W, given as integer codes."""
    n_children = int(child.max()) + 1
    n_workers = int(worker.max()) + 1
    pairs = pd.unique(child.astype(np.int64) * n_workers + worker)  # distinct (child, worker)
    distinct = np.bincount(pairs // n_workers, minlength=n_children)
    cohort = np.zeros(n_children, dtype=bool)
    cohort[child[is_open]] = True
    k = distinct[cohort]
    return int((k >= 3).sum()), int(cohort.sum()), int(k.sum())


@dataclass(frozen=True)
class Aggregator:
    """One extract kind's aggregator: the function, the aggregate columns it returns for each month (and
    group) — the names a KPI's :class:`metrics.kpis.Part` and secondary measures refer to — and the
    record columns it can group by (the breakdowns a KPI of that kind may declare)."""

    fn: Callable[..., Rows]
    columns: tuple[str, ...]
    groups: tuple[str, ...] = ()


#: Extract kind → its aggregator. A KPI is computed from ``AGGREGATORS[kpi.source_kind]``.
AGGREGATORS: dict[str, Aggregator] = {
    "workforce": Aggregator(_agg_workforce, ("qualified_fte", "agency_fte", "permanent_practitioner_fte",
                                             "permanent_tm", "all_tm"), ("team",)),
    "assessments": Aggregator(_agg_assessments, ("nfa", "assessments"), ("team",)),
    "conferences": Aggregator(_agg_conferences, (*(f"format_{f}" for f in FORMATS),
                                                 *(f"type_{t}" for t in CONFERENCE_TYPES), "conferences",
                                                 "face_to_face_or_hybrid"), ("format", "conference_type")),
    "audits": Aggregator(_agg_audits, ("good_or_better", *(f"grade_{g}" for g in GRADES), "audits"),
                         ("team", "grade")),
    "milestones": Aggregator(_agg_milestones, ("send_complete", "send_due", "plan_complete", "plan_due")),
    "complaints": Aggregator(_agg_complaints, ("historic_open",)),
    "allocations": Aggregator(_agg_allocations, ("three_plus", "cohort", "workers")),
}

#: KPI id → the exact rule, as implemented (each KPI's ``rule``; for the definitions and KPI pages).
FORMULAS: View[str] = View(lambda k: k.rule)


def _parts(kpi: KPI, hybrid_face_to_face: bool = True) -> tuple[str, str | None]:
    """(aggregate column giving the numerator, the one giving the denominator or None); without
    ``hybrid_face_to_face``, the in-person-only numerator where the KPI has one (:data:`IN_PERSON_NUMERATOR`)."""
    num = kpi.numerator.column if hybrid_face_to_face else IN_PERSON_NUMERATOR.get(kpi.id, kpi.numerator.column)
    return num, (kpi.denominator.column if kpi.denominator else None)


#: Values, numerators and denominators are rounded to this many decimal places: far below any
#: published precision, it only removes binary floating-point noise (0.1 + 0.2 FTE is 0.3, and
#: 74.8 / 136 is 55%, not 54.99999999999999%), so a value exactly at a target compares equal to it.
DECIMALS = 10


def _ratio(num: float, den: float, scale: float) -> float:
    """num × scale ÷ den, NaN where den is 0 (no data, never 0)."""
    return num * scale / den if den > 0 else math.nan


def _value(num: float, den: float | None, unit: str) -> float:
    if den is None:  # count / FTE: the value is the numerator
        return num
    return _ratio(num, den, 100.0 if unit == "percent" else 1.0)


def _frame(columns: tuple[str, ...], rows: list[tuple]) -> pd.DataFrame:
    """The answer as a DataFrame: text columns as str, numbers as float (rounded), source/flags object."""
    data = list(zip(*rows)) if rows else [()] * len(columns)
    out = {}
    for name, values in zip(columns, data):
        if name in ("value", "numerator", "denominator"):
            out[name] = pd.Series(np.round(np.array(values, dtype=float), DECIMALS), dtype=float)
        elif name in ("source", "flags"):
            out[name] = pd.Series(list(values), dtype=object)
        else:
            out[name] = pd.Series(list(values), dtype=str)
    return pd.DataFrame(out)


def _aggregates(conn, kind: str, uploads: dict[str, _Upload], cutoff: dt.date | None = None) -> dict[str, dict]:
    """month → the kind's aggregates for that month (only months with rows; others are all 0)."""
    return {r["month"]: r for r in AGGREGATORS[kind].fn(conn, uploads.values(), cutoff=cutoff)}


def _check_metrics(metrics: Iterable[str]) -> list[str]:
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in REGISTRY]
    if unknown:
        raise ValueError(f"Unknown KPI {', '.join(map(repr, unknown))}. Known: {', '.join(REGISTRY)}")
    return [m for m in REGISTRY if m in set(metrics)]  # registry order


# --- the series --------------------------------------------------------------------------------


def compute_series(
    conn: sqlite3.Connection,
    *,
    metrics: list[str] | None = None,
    first: str | None = None,
    last: str | None = None,
    historic_cutoff: dt.date | None = None,
    hybrid_face_to_face: bool = True,
) -> pd.DataFrame:
    """Every KPI (or ``metrics``) for every month from the earliest to the latest month with any data
    in the store, within ``first``..``last`` (``YYYY-MM``) if given.

    Columns :data:`SERIES_COLUMNS`: ``metric``, ``month``, ``value`` (float, NaN = no data),
    ``numerator``, ``denominator`` (NaN for count and FTE KPIs), ``source`` (``"records"``,
    ``"figures"``, or None when no data) and ``flags`` (a tuple of :data:`FLAGS` codes; read it as
    ``frame["flags"]`` — ``frame.flags`` is pandas' own attribute). Sorted by registry order, then
    month. ``historic_cutoff`` defaults to the ``historic_complaints_cutoff`` setting.
    ``hybrid_face_to_face`` False (the review setting ``hybrid_counts_as_face_to_face``): face-to-face
    conferences count those held in person only; a month from a figures upload then has no value (flag
    ``hybrid_not_separable``: its numerator counts hybrid too).
    """
    ids = _check_metrics(metrics if metrics is not None else REGISTRY)
    grid = _store_span(conn, first, last)
    if not grid or not ids:
        return _frame(SERIES_COLUMNS, [])
    cutoff = historic_cutoff or get_settings().historic_complaints_cutoff
    uploads = _current_uploads(conn, grid[0], grid[-1])
    kinds = {REGISTRY[m].source_kind for m in ids}
    aggs = {k: _aggregates(conn, k, uploads.get(k, {}), cutoff) for k in kinds}
    figures = _figures(conn, grid[0], grid[-1])
    ends = {m: month_end(m).isoformat() for m in grid}

    rows: list[tuple] = []
    for metric in ids:
        kpi = REGISTRY[metric]
        num_col, den_col = _parts(kpi, hybrid_face_to_face)
        in_person_only = num_col != kpi.numerator.column
        snapshot = KINDS[kpi.source_kind].period == "snapshot"
        for month in grid:
            upload = uploads.get(kpi.source_kind, {}).get(month)
            fig = figures.get((metric, month))
            flags: list[str] = []
            if upload is not None:  # a record-level upload for the month: records win, even over figures
                agg = aggs[kpi.source_kind].get(month, {})
                num = float(agg.get(num_col, 0.0))
                den = float(agg.get(den_col, 0.0)) if den_col else None
                source = SOURCE_RECORDS
            elif fig is not None and in_person_only:  # totals count hybrid too: no in-person-only value
                rows.append((metric, month, math.nan, math.nan, math.nan, SOURCE_FIGURES,
                             ("figures_sourced", "hybrid_not_separable")))
                continue
            elif fig is not None:
                num = float(fig[0])
                den = (math.nan if fig[1] is None else float(fig[1])) if den_col else None
                source = SOURCE_FIGURES
            else:
                rows.append((metric, month, math.nan, math.nan, math.nan, None, ("month_missing",)))
                continue
            if den is not None:
                if den == 0:
                    flags.append("zero_denominator")
                elif den < SMALL_DENOMINATOR:
                    flags.append("small_denominator")
            if source == SOURCE_FIGURES:
                flags.append("figures_sourced")
            if upload is not None and snapshot and upload.as_of and upload.as_of < ends[month]:
                flags.append("snapshot_stale")
            value = _value(num, den, kpi.unit)
            rows.append((metric, month, value, num, math.nan if den is None else den, source, tuple(flags)))
    return _frame(SERIES_COLUMNS, rows)


def secondary_series(conn: sqlite3.Connection, first: str | None = None, last: str | None = None, *,
                     parents: Iterable[str] | None = None) -> pd.DataFrame:
    """The secondary measures (:data:`metrics.kpis.SECONDARY`) for every month their parent KPI's extract
    kind has a current record-level upload (figures carry no secondary measures).

    Columns :data:`SECONDARY_COLUMNS`, sorted by the secondary registry's order, then month. Percent
    measures are numerator ÷ denominator × 100, ``mean_distinct_workers`` numerator ÷ denominator,
    counts the numerator (denominator NaN). A zero denominator gives NaN. ``parents`` limits the work
    to the secondary measures of those KPIs (the detail page for one KPI need not read every extract).
    """
    wanted = {sid: m for sid, m in SECONDARY.items() if parents is None or m.parent in set(parents)}
    uploads = _current_uploads(conn, first, last)
    kinds = {REGISTRY[s.parent].source_kind for s in wanted.values()}
    aggs = {k: _aggregates(conn, k, uploads.get(k, {})) for k in kinds}
    rows: list[tuple] = []
    for sid, measure in wanted.items():
        kind = REGISTRY[measure.parent].source_kind
        num_col, den_col = measure.numerator, measure.denominator
        for month in uploads.get(kind, {}):
            agg = aggs[kind].get(month, {})
            num = float(agg.get(num_col, 0.0))
            den = float(agg.get(den_col, 0.0)) if den_col else None
            rows.append((sid, month, _value(num, den, measure.unit), num, math.nan if den is None else den))
    return _frame(SECONDARY_COLUMNS, rows)


# --- breakdowns --------------------------------------------------------------------------------

#: KPI id → the breakdowns it supports (each KPI's ``breakdowns``; KPIs with none are left out).
#: ``team``: the KPI computed within each team (teams as recorded; blank team → "Not recorded").
#: ``conference_type``: the KPI within initial and review conferences. ``format`` and ``grade`` split the
#: KPI's own classifying attribute, so each group is a count: value = numerator = conferences (audits) in
#: that format (grade), denominator = all in the month; every format (grade) is listed, with 0 where none.
BREAKDOWNS: View[tuple[str, ...]] = View(lambda k: k.breakdowns or None)


def breakdown(conn: sqlite3.Connection, metric: str, *, by: str = "team", first: str | None = None,
              last: str | None = None, hybrid_face_to_face: bool = True) -> pd.DataFrame:
    """One KPI split ``by`` a column of its extract, for every month with record-level data.

    Columns :data:`BREAKDOWN_COLUMNS`, sorted by month, then group (teams alphabetically; formats,
    types and grades in the contract's order). See :data:`BREAKDOWNS` for what each breakdown means.
    Raises ``ValueError`` for an unknown KPI or an unsupported breakdown.
    """
    if metric not in REGISTRY:
        raise ValueError(f"Unknown KPI {metric!r}. Known: {', '.join(REGISTRY)}")
    kpi = REGISTRY[metric]
    supported = BREAKDOWNS.get(metric, ())
    if by not in supported:
        if supported:
            raise ValueError(f"{metric} cannot be broken down by {by!r}; supported: {', '.join(supported)}.")
        raise ValueError(f"{metric} has no breakdowns: its {kpi.source_kind} extract has no team or category "
                         f"column to split it by. KPIs with breakdowns: {', '.join(BREAKDOWNS)}.")
    uploads = _current_uploads(conn, first, last).get(kpi.source_kind, {})
    found: dict[str, dict[str, dict]] = {}
    for r in AGGREGATORS[kpi.source_kind].fn(conn, uploads.values(), group=by):
        found.setdefault(r["month"], {})[r["group"]] = r
    categories = {"format": FORMATS, "grade": GRADES, "conference_type": CONFERENCE_TYPES}.get(by)
    num_col, den_col = _parts(kpi, hybrid_face_to_face)
    rows: list[tuple] = []
    for month in uploads:
        groups = found.get(month, {})
        if by in ("format", "grade"):  # counts per category; denominator = all in the month (the KPI's own)
            count_col = den_col
            total = float(sum(g[count_col] for g in groups.values()))
            for c in categories:
                n = float(groups.get(c, {}).get(count_col, 0.0))
                rows.append((metric, month, c, n, n, total))
            continue
        for g in (categories or sorted(groups)):
            agg = groups.get(g, {})
            num = float(agg.get(num_col, 0.0))
            den = float(agg.get(den_col, 0.0)) if den_col else None
            rows.append((metric, month, g, _value(num, den, kpi.unit), num, math.nan if den is None else den))
    return _frame(BREAKDOWN_COLUMNS, rows)
