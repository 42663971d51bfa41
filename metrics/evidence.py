"""The evidence log: dated commentary per KPI per checkpoint, and the qualitative ToR items.

Each entry has an author and a UTC time. Entries are editable (their body only) until the checkpoint
is marked final (:func:`mark_final`); from then on they are read-only — refused here with
:class:`EvidenceReadOnly` *and* in SQL by triggers that look at ``checkpoint_finals`` — and a
correction is a NEW entry whose ``corrects`` points at the entry it corrects. Nothing is overwritten.

An entry is about one KPI (``kpi``), one qualitative Terms of Reference item (``tor_item``, see
:data:`TOR_ITEMS`), or — with neither — the checkpoint as a whole.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field

from metrics import audit
from metrics.kpis import REGISTRY
from metrics.reviews import CheckpointResult, as_date, is_final
from metrics.store import transaction
from metrics.userinput import clean_text, known_kpi

#: The Terms of Reference items evidenced by commentary rather than a KPI (statutory direction,
#: 1 March 2023, Annex). Declared once: validation, the evidence page and docs read this.
TOR_ITEMS: dict[str, str] = {
    "2a": "Leadership of children's services and the pace of the Improvement Plan",
    "2c": "Resolving outstanding historic complaints",
    "2d": "Partners' commitment through strategic forums, responding to children's views",
    "2e": "Members' knowledge and impact, with the Local Government Association",
    "3": "Short-term external support and the effectiveness of the Improvement Board",
    "4": "Options for a long-term partnership with a good or outstanding local authority",
    "5": "Six-month review: level and trajectory of progress; alternative delivery model",
}

class EvidenceReadOnly(Exception):
    """The entry's checkpoint is final: add a correction instead."""


class EntryNotFound(LookupError):
    pass


@dataclass(frozen=True)
class EvidenceEntry:
    id: int
    checkpoint: dt.date
    kpi: str | None
    tor_item: str | None
    body: str
    author: str
    created_at: str
    corrects: int | None = None
    edited_at: str | None = None
    edited_by: str | None = None
    corrected_by: list[int] = field(default_factory=list)  # later entries that correct this one

    @property
    def subject(self) -> str:
        if self.kpi:
            return REGISTRY[self.kpi].label if self.kpi in REGISTRY else self.kpi
        if self.tor_item:
            return f"ToR {self.tor_item}: {TOR_ITEMS.get(self.tor_item, '')}".rstrip(": ")
        return "Overall"


def _row(r: sqlite3.Row, corrected_by: list[int] | None = None) -> EvidenceEntry:
    return EvidenceEntry(id=r["id"], checkpoint=as_date(r["checkpoint"]), kpi=r["kpi"], tor_item=r["tor_item"],
                         body=r["body"], author=r["author"], created_at=r["created_at"], corrects=r["corrects"],
                         edited_at=r["edited_at"], edited_by=r["edited_by"], corrected_by=corrected_by or [])


def get_entry(conn: sqlite3.Connection, entry_id: int) -> EvidenceEntry:
    r = conn.execute("SELECT * FROM evidence WHERE id = ?", (entry_id,)).fetchone()
    if r is None:
        raise EntryNotFound(f"There is no evidence entry {entry_id}.")
    by = [x[0] for x in conn.execute("SELECT id FROM evidence WHERE corrects = ? ORDER BY id", (entry_id,))]
    return _row(r, by)


def add_entry(conn: sqlite3.Connection, checkpoint: dt.date | str, body: str, author: str, *,
              kpi: str | None = None, tor_item: str | None = None, corrects: int | None = None,
              role: str = "") -> int:
    """Add an entry; returns its id. After the checkpoint is final, only corrections (``corrects=ID``)."""
    from metrics.store import utc_now

    cp = as_date(checkpoint)
    body, author = clean_text(body, "body", multiline=True), clean_text(author, "author")
    if kpi is not None:
        known_kpi(kpi)
    if tor_item is not None and tor_item not in TOR_ITEMS:
        raise ValueError(f"tor_item: '{tor_item}' is not one of {', '.join(TOR_ITEMS)}")
    if kpi is not None and tor_item is not None:
        raise ValueError("kpi, tor_item: an entry is about one KPI or one ToR item, not both")
    if corrects is not None:
        target = get_entry(conn, corrects)
        if target.checkpoint != cp:
            raise ValueError(f"corrects: entry {corrects} belongs to checkpoint {target.checkpoint}, not {cp}")
    elif is_final(conn, cp):
        raise EvidenceReadOnly(f"Checkpoint {cp} is final: its evidence is read-only. "
                               "Add a correction with corrects=<entry id>.")
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO evidence (checkpoint, kpi, tor_item, body, author, created_at, corrects)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cp.isoformat(), kpi, tor_item, body, author, utc_now(), corrects),
        )
        audit.record(conn, author, "evidence_add", f"evidence {cur.lastrowid}",
                     {"checkpoint": cp.isoformat(), "kpi": kpi, "tor_item": tor_item, "corrects": corrects},
                     role=role)
    return int(cur.lastrowid)


def add_correction(conn: sqlite3.Connection, entry_id: int, body: str, author: str, *, role: str = "") -> int:
    """A new entry correcting ``entry_id`` (same checkpoint and subject); the original stays as it was."""
    e = get_entry(conn, entry_id)
    return add_entry(conn, e.checkpoint, body, author, kpi=e.kpi, tor_item=e.tor_item, corrects=e.id, role=role)


def edit_entry(conn: sqlite3.Connection, entry_id: int, body: str, by: str, *, role: str = "") -> EvidenceEntry:
    """Replace the body of an entry whose checkpoint is not final."""
    from metrics.store import utc_now

    body, by = clean_text(body, "body", multiline=True), clean_text(by, "by")
    e = get_entry(conn, entry_id)
    if is_final(conn, e.checkpoint):
        raise EvidenceReadOnly(f"Checkpoint {e.checkpoint} is final: entry {entry_id} is read-only. "
                               f"Add a correction with add_correction({entry_id}, ...).")
    with transaction(conn):
        conn.execute("UPDATE evidence SET body = ?, edited_at = ?, edited_by = ? WHERE id = ?",
                     (body, utc_now(), by, entry_id))
        # the text it replaced is kept in the (append-only) audit trail: an edit never loses what was written
        audit.record(conn, by, "evidence_edit", f"evidence {entry_id}",
                     {"checkpoint": e.checkpoint.isoformat(), "previous_body": e.body}, role=role)
    return get_entry(conn, entry_id)


def list_entries(conn: sqlite3.Connection, checkpoint: dt.date | str, kpi: str | None = None, *,
                 tor_item: str | None = None) -> list[EvidenceEntry]:
    """A checkpoint's entries in the order written (filtered to one KPI or ToR item if given)."""
    sql = "SELECT * FROM evidence WHERE checkpoint = ?"
    params: list = [as_date(checkpoint).isoformat()]
    if kpi is not None:
        sql += " AND kpi = ?"
        params.append(kpi)
    if tor_item is not None:
        sql += " AND tor_item = ?"
        params.append(tor_item)
    rows = conn.execute(sql + " ORDER BY id", params).fetchall()
    ids = [r["id"] for r in rows]
    corrected: dict[int, list[int]] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        for c in conn.execute(f"SELECT id, corrects FROM evidence WHERE corrects IN ({marks}) ORDER BY id", ids):
            corrected.setdefault(c["corrects"], []).append(c["id"])
    return [_row(r, corrected.get(r["id"])) for r in rows]


def mark_final(conn: sqlite3.Connection, checkpoint_date: dt.date | str, by: str, **kwargs) -> CheckpointResult:
    """Mark the checkpoint final: freezes its evaluation (``metrics.reviews.mark_final``) and its evidence."""
    from metrics.reviews import mark_final as _mark_final

    return _mark_final(conn, checkpoint_date, by, **kwargs)
