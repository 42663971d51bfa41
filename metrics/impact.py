"""What an upload or a restore would change, worked out before it is made (issue 15, item 2).

The change is applied inside a write transaction that is always rolled back, the KPI series is computed
from what the store would then hold, and the review model (:func:`metrics.reviews.build_board`) is built
before and after at every checkpoint whose judged month has a changed value. So nothing is stored, and
the answer is the one the pages would show afterwards::

    impact = upload_impact(conn, [prepared, ...])       # or restore_impact(conn, upload_id)
    impact.changes        # non-final reviews: checkpoint, KPI, old → new value and RAG
    impact.restatements   # final reviews whose value today would change (old → new)

A restatement of a final review needs a reason (:func:`check_reason`), recorded in the audit trail in the
same transaction as the change (:func:`record_restatements`, action ``restatement``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from metrics import audit, store
from metrics.issues import Issue, Refused
from metrics.months import month_from_index, month_index
from metrics.reviews.evaluate import EPS, judged_month
from metrics.reviews.model import ReviewBoard, build_board
from metrics.reviews.settings import ReviewSettings
from metrics.userinput import clean_text


@dataclass(frozen=True)
class RatingChange:
    """One KPI at one non-final review whose value or RAG rating would change."""

    checkpoint: str  # ISO date
    title: str  # the checkpoint's label
    metric: str
    label: str
    month: str  # the judged month
    old_value: float | None
    new_value: float | None
    old_rag: str | None
    new_rag: str | None

    @property
    def rating_changed(self) -> bool:
        return self.old_rag != self.new_rag


@dataclass(frozen=True)
class Restatement:
    """One KPI at a final review whose value today (from the stored data) would change."""

    checkpoint: str
    title: str
    metric: str
    label: str
    month: str
    presented: float | None  # the value frozen when the review was made final
    old_value: float | None  # today's value before the change
    new_value: float | None  # after it
    old_rag: str | None
    new_rag: str | None

    def as_dict(self) -> dict:
        return {"checkpoint": self.checkpoint, "kpi": self.metric, "month": self.month, "presented": self.presented,
                "old": self.old_value, "new": self.new_value}


@dataclass(frozen=True)
class Impact:
    """What a change would do to the reviews (``changes``, ``restatements``) and to the uploads
    (``replaces``: the uploads it displaces, each with the months it takes from them)."""

    changes: tuple[RatingChange, ...] = ()
    restatements: tuple[Restatement, ...] = ()
    replaces: tuple[dict, ...] = ()
    #: step label (a file, or "upload 12") → the restatements that step makes (for the audit rows)
    by_step: dict[str, tuple[Restatement, ...]] = field(default_factory=dict)

    @property
    def needs_reason(self) -> bool:
        return bool(self.restatements)

    @property
    def rating_changes(self) -> tuple[RatingChange, ...]:
        return tuple(c for c in self.changes if c.rating_changed)


# --- the pure part: compare the review model before and after ----------------------------------------


def _same(a: float | None, b: float | None) -> bool:
    na, nb = a is None or a != a, b is None or b != b
    return (na and nb) or (not na and not nb and abs(float(a) - float(b)) <= EPS)


def _num(x) -> float | None:
    return None if x is None or x != x else float(x)


def compare(before: Iterable[ReviewBoard], after: Iterable[ReviewBoard]) -> tuple[list[RatingChange], list[Restatement]]:
    """Every rated KPI whose judgement differs between two sets of boards (matched by checkpoint):
    at a non-final review, its value or RAG; at a final review, its value today (a restatement)."""
    later = {b.at: b for b in after}
    changes, restated = [], []
    for old in before:
        new = later.get(old.at)
        if new is None:
            continue
        for r in old.rated:
            n = new.row(r.metric)
            if old.final:
                if not _same(r.current_actual, n.current_actual):
                    restated.append(Restatement(old.at, old.title, r.metric, r.label, r.actual_month, _num(r.actual),
                                                _num(r.current_actual), _num(n.current_actual), r.current_rag,
                                                n.current_rag))
            elif not _same(r.actual, n.actual) or r.rag != n.rag:
                changes.append(RatingChange(old.at, old.title, r.metric, r.label, r.actual_month, _num(r.actual),
                                            _num(n.actual), r.rag, n.rag))
    return changes, restated


def changed_months(before: pd.DataFrame, after: pd.DataFrame) -> set[str]:
    """The months in which any KPI's value differs between two series (``compute_series`` frames)."""
    key = ["metric", "month"]
    a = before[[*key, "value"]] if len(before) else pd.DataFrame(columns=[*key, "value"])
    b = after[[*key, "value"]] if len(after) else pd.DataFrame(columns=[*key, "value"])
    both = a.merge(b, on=key, how="outer", suffixes=("_a", "_b"))
    differ = [not _same(_num(x), _num(y)) for x, y in zip(both["value_a"], both["value_b"])]
    return set(both.loc[differ, "month"].astype(str)) if len(both) else set()


# --- against the store ------------------------------------------------------------------------------


class _Undo(Exception):
    """Raised at the end of :func:`_rolled_back`'s block so that :func:`metrics.store.transaction` rolls back."""


@contextmanager
def _rolled_back(conn: sqlite3.Connection):
    """A write transaction (:func:`metrics.store.transaction`, the one helper) that is always rolled back:
    whatever happens inside is never stored."""
    if conn.in_transaction:
        raise RuntimeError("impact: the connection is already in a transaction")
    try:
        with store.transaction(conn):
            yield conn
            raise _Undo
    except _Undo:
        pass


def _checkpoints(conn: sqlite3.Connection, settings: ReviewSettings) -> list[dt.date]:
    from metrics.reviews.store import final_checkpoints
    from metrics.reviews.settings import as_date

    return sorted({c.date for c in settings.checkpoints} | {as_date(f["checkpoint"]) for f in final_checkpoints(conn)})


def _boards(conn, dates, series, settings) -> list[ReviewBoard]:
    from metrics.reviews.store import review_at

    return [build_board(review_at(conn, d, settings=settings, series=series), series, settings) for d in dates]


def impact_of(conn: sqlite3.Connection, steps: list[tuple[str, Callable[[sqlite3.Connection], None]]], *,
              settings: ReviewSettings | None = None, replaces: Iterable[dict] = ()) -> Impact:
    """The impact of applying ``steps`` (label, function that writes through ``conn``) in order. Each is
    applied inside one write transaction that is rolled back, so nothing is stored. The boards are built
    only at checkpoints whose judged month has a changed value (elsewhere no value or RAG can change)."""
    from metrics.reviews.store import current_series, load_settings

    settings = settings or load_settings(conn)
    series = [current_series(conn, settings)]
    with _rolled_back(conn):
        for _, apply in steps:
            apply(conn)
            series.append(current_series(conn, settings))
    dates = _checkpoints(conn, settings)

    def pooled(d: dt.date) -> set[str]:
        """The months a rating at ``d`` rests on: its judged month and, pooled, the two before it."""
        i = month_index(judged_month(d, settings.reporting_lag_days))
        return {month_from_index(i - k) for k in range(3)}

    def touched(a: pd.DataFrame, b: pd.DataFrame) -> list[dt.date]:
        months = set(changed_months(a, b))
        return [d for d in dates if pooled(d) & months]

    overall = touched(series[0], series[-1])
    changes, restated = compare(_boards(conn, overall, series[0], settings), _boards(conn, overall, series[-1], settings))
    by_step: dict[str, tuple[Restatement, ...]] = {}
    if restated:  # which step restates what: its audit row goes in that step's own transaction
        finals = {r.checkpoint for r in restated}
        for (label, _), a, b in zip(steps, series, series[1:]):
            ds = [d for d in touched(a, b) if d.isoformat() in finals]
            by_step[label] = tuple(compare(_boards(conn, ds, a, settings), _boards(conn, ds, b, settings))[1])
    return Impact(tuple(changes), tuple(restated), tuple(replaces), by_step)


def upload_impact(conn: sqlite3.Connection, prepared: list, *, settings: ReviewSettings | None = None) -> Impact:
    """The impact of storing ``prepared`` (``metrics.ingest.Prepared``, ready to load) in order. Their
    identifiers are pseudonymised here, once (as :func:`metrics.ingest.commit` would)."""
    from metrics.ingest import pseudonymise_frame
    from metrics.pseudonym import key_for_store
    from metrics.settings import get_settings

    ready = [p for p in prepared if p.ok and p.result.status == "preview" and not p.committed]
    steps, replaced = [], {}
    for p in ready:
        if not p.pseudonymised:
            pseudonymise_frame(p.validated, key_for_store(conn, p.settings or get_settings()))
            p.pseudonymised = True
        for u in p.result.replaces:
            replaced.setdefault(u["id"], u)

        def write(c: sqlite3.Connection, p=p) -> None:
            v = p.validated
            store.write_upload(c, kind=v.kind, months=v.months, frame=v.frame, sha256=p.result.sha256,
                               file_name=p.result.file, uploaded_by="impact preview", warnings=[], as_of=v.as_of,
                               source=v.source)

        steps.append((p.result.file, write))
    return impact_of(conn, steps, settings=settings, replaces=sorted(replaced.values(), key=lambda u: u["id"]))


def restore_impact(conn: sqlite3.Connection, upload_id: int, *, settings: ReviewSettings | None = None) -> Impact:
    """The impact of making upload ``upload_id`` current again (:func:`metrics.store.restore`): the uploads
    it displaces, and what it does to the reviews."""
    u = store.get_upload(conn, upload_id)
    pairs = [(r["scope"], r["month"]) for r in conn.execute(
        "SELECT scope, month FROM upload_months WHERE upload_id = ? ORDER BY scope, month", (upload_id,))]
    current = store.current_for(conn, u["kind"], pairs)
    replaced = {x["id"]: x for x in current.values() if x["id"] != upload_id}
    return impact_of(conn, [(f"upload {upload_id}", lambda c: store.restore(c, upload_id))], settings=settings,
                     replaces=sorted(replaced.values(), key=lambda x: x["id"]))


# --- the second confirmation and its audit row -------------------------------------------------------


def check_reason(impact: Impact, reason: str | None) -> str:
    """The reason for restating final reviews, trimmed; refused (``restatement_reason``) when the change
    restates a final review and no reason is given, or the reason holds a control character
    (:func:`metrics.userinput.clean_text`). Changes that restate nothing need none."""
    reason = (reason or "").strip()
    if impact.needs_reason and not reason:
        raise Refused([Issue.file("restatement_reason", "This change restates a final review: give the reason "
                                                        "(it is kept in the audit trail) and confirm again.")])
    if impact.needs_reason:  # stored in the audit trail and printed: one line of plain text
        try:
            clean_text(reason, "reason")
        except ValueError as e:
            raise Refused([Issue.file("restatement_reason", f"{e}. Nothing was changed.")]) from None
    return reason


def record_restatements(conn: sqlite3.Connection, restated: Iterable[Restatement], *, reason: str, by: str,
                        role: str = "", cause: str = "") -> None:
    """One audit row (action ``restatement``) per final review restated, with the reason, what caused it
    (``cause``: "upload 12" or "restore of upload 9") and each KPI's old → new value. Call inside the
    change's transaction (e.g. its ``on_commit``)."""
    by_checkpoint: dict[str, list[Restatement]] = {}
    for r in restated:
        by_checkpoint.setdefault(r.checkpoint, []).append(r)
    for at, rows in sorted(by_checkpoint.items()):
        audit.record(conn, by, "restatement", f"checkpoint {at}",
                     {"reason": reason, "cause": cause, "kpis": [r.as_dict() for r in rows]}, role=role)


def restatement_guard(reason: str | None, *, by: str, role: str = ""):
    """A ``guard`` for :func:`metrics.ingest.ingest_all` (``kpi ingest``): an extract that would restate a
    final review is refused (rule ``restatement_reason``, nothing stored) unless ``reason`` is given; then
    the restatements are recorded with it in the extract's transaction. Free when no review is final."""
    from dataclasses import replace

    def guard(conn: sqlite3.Connection, prepared):
        if not conn.execute("SELECT 1 FROM checkpoint_finals LIMIT 1").fetchone():
            return None
        found = upload_impact(conn, [prepared])
        try:
            why = check_reason(found, reason)
        except Refused as r:
            return replace(prepared.result, status="refused", errors=r.errors)
        if not found.restatements:
            return None
        return lambda c, uid: record_restatements(c, found.restatements, reason=why, by=by, role=role,
                                                  cause=f"upload {uid}")

    return guard
