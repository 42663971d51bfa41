"""Reviews against the store: settings versions (append-only, audited), the series a review judges,
checkpoints marked final (frozen, append-only) and the review at a date (frozen and restated if final).
See :mod:`metrics.reviews` for the reading of the spec.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass, field, replace

import pandas as pd
from pydantic import BaseModel

from metrics.reviews.changes import summarise
from metrics.reviews.evaluate import CheckpointResult, evaluate, restate
from metrics.reviews.settings import ReviewSettings, as_date, default_settings, diff_settings
from metrics.store import get_meta, transaction

# --- storage: settings versions (the tables are made by metrics.schema) ---------------------------


def _coerce(settings: ReviewSettings | dict) -> ReviewSettings:
    data = settings.model_dump(mode="json") if isinstance(settings, BaseModel) else settings
    return ReviewSettings.model_validate(data)  # re-validated even if built with model_copy


def save_settings(conn: sqlite3.Connection, settings: ReviewSettings | dict, by: str, note: str = "",
                  *, role: str = "") -> int:
    """Validate and append a new settings version. Raises pydantic ``ValidationError`` naming the field."""
    from metrics.store import utc_now

    s = _coerce(settings)
    if not by or not by.strip():
        raise ValueError("by: say who is saving the settings")
    if problems := text_problems(s, note):
        raise ValueError("; ".join(problems))
    from metrics import audit

    with transaction(conn):
        previous = latest_version_id(conn)
        cur = conn.execute(
            "INSERT INTO review_settings_versions (saved_at, saved_by, note, settings_json) VALUES (?, ?, ?, ?)",
            (utc_now(), by.strip(), note or "", s.model_dump_json()),
        )
        before = load_settings(conn, previous) if previous else None
        changes = diff_settings(before, s)
        audit.record(conn, by.strip(), "settings_change", f"settings version {cur.lastrowid}",
                     {"note": note or "", "changes": changes[:200], "summary": summarise(before, s)[:200]},
                     role=role)
    return int(cur.lastrowid)


def text_problems(settings: ReviewSettings, note: str = "") -> list[str]:
    """What a person typed into the settings (council name, checkpoint labels, rebase reasons, the note) that
    :func:`metrics.userinput.clean_text` refuses: one message per field, starting with the field's name.
    Checked when a version is saved, never when one is loaded (stored versions are never rewritten)."""
    from metrics.userinput import clean_text

    fields = [("council_name", settings.council_name, True),
              *((f"checkpoints → {c.date} → label", c.label, True) for c in settings.checkpoints),
              *((f"judgement → {k} → rebase {r.month} → reason", r.reason, True)
                for k, j in settings.judgement.kpis.items() for r in j.rebases),
              ("note", note, False)]
    problems = []
    for name, value, required in fields:
        try:
            clean_text(value, name, required=required)
        except ValueError as e:
            problems.append(str(e))
    return problems


def latest_version_id(conn: sqlite3.Connection) -> int | None:
    r = conn.execute("SELECT MAX(id) FROM review_settings_versions").fetchone()
    return r[0]


def load_settings(conn: sqlite3.Connection, version_id: int | None = None) -> ReviewSettings:
    """The latest saved settings (or version ``version_id``); the defaults if none were saved."""
    if version_id is None:
        r = conn.execute("SELECT settings_json FROM review_settings_versions ORDER BY id DESC LIMIT 1").fetchone()
        if r is None:  # the defaults, as the council the store belongs to (metrics.councils.bind_store)
            return default_settings(get_meta(conn, "council_name"), get_meta(conn, "la_code"))
    else:
        r = conn.execute("SELECT settings_json FROM review_settings_versions WHERE id = ?", (version_id,)).fetchone()
        if r is None:
            raise LookupError(f"There is no review settings version {version_id}.")
    return ReviewSettings.model_validate_json(r[0])


@dataclass(frozen=True)
class SettingsVersion:
    id: int
    saved_at: str
    saved_by: str
    note: str
    settings: ReviewSettings
    changes: list[str] = field(default_factory=list)  # the machine diff (as in the audit trail)
    summary: list[str] = field(default_factory=list)  # the same in words (metrics.reviews.changes)


def settings_history(conn: sqlite3.Connection) -> list[SettingsVersion]:
    """Every saved version, oldest first, each with what changed from the one before (the first: from the
    built-in defaults, in words)."""
    out: list[SettingsVersion] = []
    prev: ReviewSettings | None = None
    for r in conn.execute("SELECT id, saved_at, saved_by, note, settings_json FROM review_settings_versions ORDER BY id"):
        s = ReviewSettings.model_validate_json(r["settings_json"])
        out.append(SettingsVersion(r["id"], r["saved_at"], r["saved_by"], r["note"], s, diff_settings(prev, s),
                                   summarise(prev, s)))
        prev = s
    return out


# --- reviews against the store ---------------------------------------------------------------


class AlreadyFinal(Exception):
    pass


class NotACheckpoint(ValueError):
    pass


def _compute_series(conn: sqlite3.Connection, **kwargs) -> pd.DataFrame:
    """The one place that calls ``metrics.compute`` (imported lazily; tests may replace this)."""
    from metrics.compute import compute_series

    return compute_series(conn, **kwargs)


def current_series(conn: sqlite3.Connection, settings: ReviewSettings) -> pd.DataFrame:
    return _compute_series(conn, historic_cutoff=settings.historic_complaints_cutoff,
                           hybrid_face_to_face=settings.hybrid_counts_as_face_to_face)


def data_as_of(conn: sqlite3.Connection) -> str | None:
    """When the data last changed: the latest upload time (UTC)."""
    return conn.execute("SELECT MAX(uploaded_at) FROM uploads").fetchone()[0]


def _data_fingerprint(conn: sqlite3.Connection) -> str:
    h = hashlib.sha256()
    for r in conn.execute("SELECT kind, scope, month, upload_id FROM current_months ORDER BY kind, scope, month"):
        h.update(repr(tuple(r)).encode())
    h.update(repr(data_as_of(conn)).encode())
    return h.hexdigest()


def get_final(conn: sqlite3.Connection, checkpoint: dt.date | str) -> CheckpointResult | None:
    """The frozen evaluation of a final checkpoint (None if it is not final)."""
    r = conn.execute("SELECT * FROM checkpoint_finals WHERE checkpoint = ?", (as_date(checkpoint).isoformat(),)).fetchone()
    if r is None:
        return None
    return replace(CheckpointResult.from_json(json.loads(r["evaluation_json"])), final=True,
                   finalised_at=r["finalised_at"], finalised_by=r["finalised_by"],
                   settings_version_id=r["settings_version_id"], data_as_of=r["data_as_of"])


def is_final(conn: sqlite3.Connection, checkpoint: dt.date | str) -> bool:
    return conn.execute("SELECT 1 FROM checkpoint_finals WHERE checkpoint = ?",
                        (as_date(checkpoint).isoformat(),)).fetchone() is not None


def final_checkpoints(conn: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(
        "SELECT checkpoint, finalised_at, finalised_by, settings_version_id, data_as_of FROM checkpoint_finals"
        " ORDER BY checkpoint")]


def mark_final(conn: sqlite3.Connection, checkpoint_date: dt.date | str, by: str, *,
               series: pd.DataFrame | None = None, today: dt.date | None = None, role: str = "") -> CheckpointResult:
    """Freeze the evaluation of a configured checkpoint as presented. Final means final.

    Refused (nothing changed) if already final, not a configured checkpoint, or still in the future.
    If no settings version was ever saved, the defaults in force are saved first so the final record
    names a settings version.
    """
    from metrics.store import utc_now

    at = as_date(checkpoint_date)
    if not by or not by.strip():
        raise ValueError("by: say who is marking the checkpoint final")
    if is_final(conn, at):
        raise AlreadyFinal(f"Checkpoint {at} is already final; its record cannot be changed.")
    settings = load_settings(conn)
    if settings.checkpoint_on(at) is None:
        raise NotACheckpoint(f"{at} is not a configured checkpoint: "
                             f"{', '.join(c.date.isoformat() for c in settings.checkpoints)}")
    today = today or dt.datetime.now(dt.UTC).date()
    if at > today:
        raise NotACheckpoint(f"Checkpoint {at} is in the future; it can be marked final on or after that date.")
    before = _data_fingerprint(conn)
    result = evaluate(current_series(conn, settings) if series is None else series, settings, at)
    with transaction(conn):
        if _data_fingerprint(conn) != before:
            raise RuntimeError("The data changed while the review was being finalised; nothing was saved. Try again.")
        if is_final(conn, at):
            raise AlreadyFinal(f"Checkpoint {at} is already final; its record cannot be changed.")
        version = latest_version_id(conn)
        if version is None:
            version = save_settings(conn, settings, by, note=f"default settings in force when {at} was marked final")
        result = replace(result, final=True, finalised_at=utc_now(), finalised_by=by.strip(),
                         settings_version_id=version, data_as_of=data_as_of(conn))
        conn.execute(
            "INSERT INTO checkpoint_finals (checkpoint, finalised_at, finalised_by, evaluation_json,"
            " settings_version_id, data_as_of) VALUES (?, ?, ?, ?, ?, ?)",
            (at.isoformat(), result.finalised_at, result.finalised_by, json.dumps(result.to_json()),
             version, result.data_as_of),
        )
        from metrics import audit

        audit.record(conn, by.strip(), "checkpoint_final", f"checkpoint {at.isoformat()}",
                     {"summary": result.summary, "settings_version": version, "data_as_of": result.data_as_of},
                     role=role)
    return result


def review_at(conn: sqlite3.Connection, at: dt.date | str, *, settings: ReviewSettings | None = None,
              series: pd.DataFrame | None = None) -> CheckpointResult:
    """The review at ``at``: frozen (and restated against today's data) if final, else evaluated now."""
    at = as_date(at)
    settings = settings or load_settings(conn)
    if series is None:
        series = current_series(conn, settings)
    frozen = get_final(conn, at)
    if frozen is not None:
        return restate(frozen, series)
    return evaluate(series, settings, at)


def review_all(conn: sqlite3.Connection, *, settings: ReviewSettings | None = None,
               series: pd.DataFrame | None = None) -> list[CheckpointResult]:
    """Every configured checkpoint (and any final one no longer configured), in date order."""
    settings = settings or load_settings(conn)
    if series is None:
        series = current_series(conn, settings)
    dates = sorted({c.date for c in settings.checkpoints}
                   | {as_date(f["checkpoint"]) for f in final_checkpoints(conn)})
    return [review_at(conn, d, settings=settings, series=series) for d in dates]
