"""The actions log: what is being done about each KPI, by whom (a role or team), by when, and how it stands.

An action is agreed at a review (its ``checkpoint``) for one KPI, with an owner, a due date, a status and a
title. It is never edited: a status change or a correction is a NEW entry (:func:`add_update`) pointing at
the action's first entry and carrying the action's whole state after the change, with a note saying why.
The current state of an action is its latest entry; the entries before it are its history
(:func:`list_actions`). Once the review where the action was agreed is final, new *actions* can no longer
be added to it (agree them at the next review) and nothing written can be changed or deleted — refused
here and in SQL by triggers (``metrics.schema.actions``), which also refuse, at any time, changing who
wrote an entry, when, or for which review and KPI, and changing or deleting an entry a later update follows.
Updates are always allowed: an action agreed in June is marked done in August.

Owners are roles or teams ("Head of Service, Children in Care", "Workforce team"), never a person's
name: people move on, the log outlives them, and a name in a published pack is personal data.
:func:`owner_problem` refuses text that looks like a person's name (a heuristic: an email address, a
title such as Mr/Ms/Dr, or two to four capitalised words none of which names a role or team).

Every entry is audited (``action_add``, ``action_update``) in the same transaction as the entry.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass, field

from metrics import audit
from metrics.kpis import REGISTRY
from metrics.reviews import as_date, is_final
from metrics.schema import ACTION_STATUSES
from metrics.store import transaction, utc_now
from metrics.userinput import clean_text, known_kpi

#: status -> the words every surface shows (declared once: forms, tables, packs, docs)
STATUSES: dict[str, str] = dict(zip(ACTION_STATUSES, ("Open", "In progress", "Done", "Dropped")))
CLOSED = ("done", "dropped")

TITLE_LIMIT, OWNER_LIMIT, NOTE_LIMIT = 300, 120, 2000

#: Words that make an owner a role or team rather than a person (lower case).
ROLE_WORDS = frozenset("""
    adviser advisor agency analyst assistant board business children commissioner commissioning committee
    coordinator council county dcs department deputy designated development director directorate early edge
    finance front governance group head hr independent intelligence it lado lead leader leadership learning
    legal manager managers mash member members office officer officers operations panel partnership people
    performance practice principal programme project quality recruitment resources review safeguarding senior
    service services social staff strategic strategy support team teams training transformation unit virtual
    workforce worker workers youth
""".split())

_HONORIFIC = re.compile(r"^(mr|mrs|ms|miss|mx|dr|cllr|councillor|prof|sir|dame)\.?\s", re.IGNORECASE)
_EMAIL = re.compile(r"\S@\S")
_NAME_WORD = re.compile(r"(?:[A-Z]['’])?[A-Z][a-z]+(?:['’-]?[A-Z][a-z]+)*")  # Jane, O'Neill, McDonald, Patel-Shah


class ActionReadOnly(Exception):
    """The action's review is final: add an update instead."""


class ActionNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ActionEntry:
    """One row of the log: an action as agreed (``updates`` None) or an update of it."""

    id: int
    checkpoint: dt.date
    kpi: str
    title: str
    owner: str
    due: dt.date
    status: str
    note: str
    author: str
    created_at: str
    updates: int | None = None

    @property
    def status_text(self) -> str:
        return STATUSES[self.status]


@dataclass(frozen=True)
class Action:
    """An action's current state (its latest entry) with every entry, first to latest, as its history."""

    id: int  # the first entry's id: the action's reference ("A12")
    checkpoint: dt.date
    kpi: str
    history: list[ActionEntry] = field(default_factory=list)

    @property
    def current(self) -> ActionEntry:
        return self.history[-1]

    @property
    def title(self) -> str:
        return self.current.title

    @property
    def owner(self) -> str:
        return self.current.owner

    @property
    def due(self) -> dt.date:
        return self.current.due

    @property
    def status(self) -> str:
        return self.current.status

    @property
    def status_text(self) -> str:
        return STATUSES[self.status]

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    @property
    def agreed_by(self) -> str:
        return self.history[0].author

    @property
    def updated(self) -> bool:
        return len(self.history) > 1

    def overdue(self, on: dt.date) -> bool:
        return not self.closed and self.due < on

    @property
    def label(self) -> str:
        return REGISTRY[self.kpi].label if self.kpi in REGISTRY else self.kpi


def changes(before: ActionEntry, after: ActionEntry) -> list[str]:
    """What an update changed, in words: ['status Open → Done', 'due 30 Jun 2024 → 31 Jul 2024']."""
    out = []
    if before.status != after.status:
        out.append(f"status {before.status_text} → {after.status_text}")
    if before.due != after.due:
        out.append(f"due {_uk(before.due)} → {_uk(after.due)}")
    if before.owner != after.owner:
        out.append(f"owner {before.owner} → {after.owner}")
    if before.title != after.title:
        out.append("title corrected")
    return out


def _uk(d: dt.date) -> str:
    return f"{d.day} {d:%b %Y}"


# --- validation: bad input gets a message naming the field, and nothing is written --------------------


def owner_problem(owner: str) -> str | None:
    """Why ``owner`` looks like a person rather than a role or team (None if it does not)."""
    text = owner.strip()
    if _EMAIL.search(text):
        return "an email address names a person: give the role or team that owns the action"
    if _HONORIFIC.match(text + " "):
        return "a title such as Mr, Ms or Dr names a person: give the role or team that owns the action"
    words = re.split(r"[\s,]+", text)
    lowered = {w.strip("().'’-").lower() for w in words}
    if 2 <= len(words) <= 4 and all(_NAME_WORD.fullmatch(w) for w in words) and not lowered & ROLE_WORDS:
        return (f"'{text}' looks like a person's name: give the role or team that owns the action "
                "(e.g. 'Head of Service, Children in Care' or 'Workforce team')")
    return None


def clean_owner(owner) -> str:
    text = clean_text(owner, "owner", OWNER_LIMIT)
    if problem := owner_problem(text):
        raise ValueError(f"owner: {problem}")
    return text


def clean_status(status) -> str:
    s = str(status or "").strip().lower().replace(" ", "_").replace("-", "_")
    if s not in STATUSES:
        raise ValueError(f"status: '{status}' is not one of {', '.join(STATUSES.values())}")
    return s


def clean_due(due) -> dt.date:
    try:
        return as_date(due)
    except (ValueError, TypeError):
        raise ValueError(f"due: '{due}' is not a date (YYYY-MM-DD)") from None


# --- reading --------------------------------------------------------------------------------------


def _entry(r: sqlite3.Row) -> ActionEntry:
    return ActionEntry(id=r["id"], checkpoint=as_date(r["checkpoint"]), kpi=r["kpi"], title=r["title"],
                       owner=r["owner"], due=as_date(r["due"]), status=r["status"], note=r["note"],
                       author=r["author"], created_at=r["created_at"], updates=r["updates"])


def get_action(conn: sqlite3.Connection, action_id: int) -> Action:
    """The action whose first entry (or any of whose updates) is ``action_id``."""
    r = conn.execute("SELECT id, updates FROM actions WHERE id = ?", (int(action_id),)).fetchone()
    if r is None:
        raise ActionNotFound(f"There is no action {action_id}.")
    root = r["updates"] or r["id"]
    rows = conn.execute("SELECT * FROM actions WHERE id = ? OR updates = ? ORDER BY id", (root, root)).fetchall()
    first = _entry(rows[0])
    return Action(first.id, first.checkpoint, first.kpi, [_entry(x) for x in rows])


def list_actions(conn: sqlite3.Connection, checkpoint: dt.date | str | None = None, kpi: str | None = None, *,
                 up_to: dt.date | str | None = None) -> list[Action]:
    """Every action (agreed at ``checkpoint`` if given, or at a review on or before ``up_to``; for ``kpi``
    if given) in its current state with its history, ordered by review, KPI and the order agreed."""
    sql, params = "SELECT * FROM actions WHERE 1 = 1", []
    if checkpoint is not None:
        sql += " AND checkpoint = ?"
        params.append(as_date(checkpoint).isoformat())
    if up_to is not None:
        sql += " AND checkpoint <= ?"
        params.append(as_date(up_to).isoformat())
    if kpi is not None:
        sql += " AND kpi = ?"
        params.append(kpi)
    by_root: dict[int, list[ActionEntry]] = {}
    for r in conn.execute(sql + " ORDER BY id", params):
        e = _entry(r)
        by_root.setdefault(e.updates or e.id, []).append(e)
    out = [Action(root, h[0].checkpoint, h[0].kpi, h) for root, h in by_root.items() if h[0].id == root]
    order = list(REGISTRY)
    return sorted(out, key=lambda a: (a.checkpoint, order.index(a.kpi) if a.kpi in order else len(order), a.id))


def actions_for_review(conn: sqlite3.Connection, checkpoint: dt.date | str, kpi: str | None = None,
                       previous: dt.date | str | None = None) -> list[Action]:
    """The actions a review looks at: those agreed at it or at an earlier review, except those already
    closed (done or dropped) before the previous review (``previous``; none dropped out without it)."""
    before = as_date(previous).isoformat() if previous is not None else None
    out = []
    for a in list_actions(conn, kpi=kpi, up_to=checkpoint):
        closed_at = a.current.created_at[:10] if a.closed else None
        if a.checkpoint != as_date(checkpoint) and before and closed_at and closed_at < before:
            continue
        out.append(a)
    return out


# --- writing --------------------------------------------------------------------------------------


def add_action(conn: sqlite3.Connection, checkpoint: dt.date | str, kpi: str, title: str, owner: str,
               due: dt.date | str, author: str, *, status: str = "open", note: str = "", role: str = "") -> int:
    """Record an action agreed at review ``checkpoint`` for ``kpi``; returns its id. Refused
    (:class:`ActionReadOnly`) once that review is final."""
    cp = as_date(checkpoint)
    known_kpi(kpi)
    title = clean_text(title, "title", TITLE_LIMIT)
    owner, due_d, status = clean_owner(owner), clean_due(due), clean_status(status)
    note = clean_text(note, "note", NOTE_LIMIT, multiline=True, required=False)
    author = clean_text(author, "author", 300)
    if is_final(conn, cp):
        raise ActionReadOnly(f"The review of {_uk(cp)} is final: its actions are read-only. Agree new actions at "
                             "the next review, or add an update to an action agreed there.")
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO actions (checkpoint, kpi, title, owner, due, status, note, author, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cp.isoformat(), kpi, title, owner, due_d.isoformat(), status, note, author, utc_now()))
        audit.record(conn, author, "action_add", f"action {cur.lastrowid}",
                     {"checkpoint": cp.isoformat(), "kpi": kpi, "owner": owner, "due": due_d.isoformat(),
                      "status": status}, role=role)
    return int(cur.lastrowid)


def add_update(conn: sqlite3.Connection, action_id: int, author: str, *, status: str | None = None,
               owner: str | None = None, due: dt.date | str | None = None, title: str | None = None,
               note: str = "", role: str = "") -> int:
    """A new entry for action ``action_id`` (a status change or a correction): the fields given change, the
    others carry over; ``note`` says why. Allowed whether or not the review is final. Returns its id."""
    action = get_action(conn, action_id)
    now = action.current
    new = {
        "title": now.title if title is None else clean_text(title, "title", TITLE_LIMIT),
        "owner": now.owner if owner is None else clean_owner(owner),
        "due": now.due if due is None else clean_due(due),
        "status": now.status if status is None else clean_status(status),
    }
    note = clean_text(note, "note", NOTE_LIMIT, multiline=True, required=False)
    author = clean_text(author, "author", 300)
    changed = [k for k, v in new.items() if v != getattr(now, k)]
    if not changed and not note:
        raise ValueError("update: nothing changed — give a new status, owner, due date or title, or a note")
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO actions (checkpoint, kpi, title, owner, due, status, note, author, created_at, updates)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (action.checkpoint.isoformat(), action.kpi, new["title"], new["owner"], new["due"].isoformat(),
             new["status"], note, author, utc_now(), action.id))
        audit.record(conn, author, "action_update", f"action {action.id}",
                     {"entry": cur.lastrowid, "checkpoint": action.checkpoint.isoformat(), "kpi": action.kpi,
                      "changed": {k: [str(getattr(now, k)), str(new[k])] for k in changed}}, role=role)
    return int(cur.lastrowid)
