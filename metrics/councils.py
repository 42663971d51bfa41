"""The councils this deployment serves, each with a store of its own (isolation by construction).

Every council's data lives in its OWN store: one SQLite file per council, or one PostgreSQL schema per
council (``la_<code>``) in the shared database. Every stored row therefore belongs to exactly one
council, no query can reach another council's rows, and each council's pseudonymisation key, review
settings, checkpoints, evidence and actions are its own — with no change to any query.

Configuration (see docs/deploy.md, "Several councils"):

* **One council** (the default; existing deployments are unchanged): ``KPI_LA_CODE``,
  ``KPI_COUNCIL_NAME``, the store ``KPI_DB_PATH`` (or ``KPI_DB_URL``) and the key as before.
* **Several**: ``KPI_COUNCILS``, JSON or the path of a JSON file, e.g.
  ``{"884": {"name": "Herefordshire Council"}, "881": {"name": "Essex County Council"}}``, each with an
  optional ``db`` (store target: a SQLite path or ``postgresql://…#la_881``) and ``key_file``. Defaults:
  with ``KPI_DB_URL`` the schema ``la_<code>`` of that database; otherwise
  ``<data dir>/councils/<code>/kpi.sqlite`` (the data dir is the folder of ``KPI_DB_PATH``), with
  ``pseudonym.key`` beside it. Two councils never share a key or a store: such a configuration is refused.

Each store records its council's LA code in ``store_meta`` (:func:`bind_store`): opening council A's
store as council B is refused with a specific message, as a key that is not the store's is
(:mod:`metrics.pseudonym`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metrics import store
from metrics.pg import is_url
from metrics.settings import Settings, get_settings

#: DfE's old (three-digit) local authority code, e.g. 884 for Herefordshire.
LA_CODE = re.compile(r"\d{3}")
COUNCIL_META, COUNCIL_NAME_META = "la_code", "council_name"


class CouncilConfigError(ValueError):
    """KPI_COUNCILS (or the roles that refer to it) cannot be used; the message says what to fix."""


class CouncilMismatch(store.StoreProblem):
    """A store opened as a council it does not belong to: nothing is read or written."""

    def __init__(self, message: str):
        super().__init__("council_mismatch", message)


class CouncilEntry(BaseModel):
    """One council in KPI_COUNCILS."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    db: str | None = Field(default=None, description="store target: SQLite path or postgresql://…#la_<code>")
    key_file: Path | None = None


@dataclass(frozen=True)
class Council:
    """A configured council: its DfE LA code, its name, its store target and its key."""

    code: str
    name: str
    store: str  # a SQLite path, or postgresql://…#la_<code>
    key_file: Path | None = None  # None: Settings' own (KPI_PSEUDONYM_KEY or the file beside the store)

    @property
    def is_postgres(self) -> bool:
        return is_url(self.store)

    def settings(self, base: Settings | None = None) -> Settings:
        """``base`` (default: the deployment's) as this council: its store, key, name and LA code."""
        base = base or get_settings()
        update: dict = {"council_name": self.name, "la_code": self.code}
        if self.is_postgres:
            update["db_url"] = self.store
        else:
            update["db_path"] = Path(self.store)
        if self.key_file is not None:
            update["key_file"] = self.key_file
        return base.model_copy(update=update)


def _load_json(raw: str) -> dict:
    text = raw.strip()
    if not text.startswith("{"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise CouncilConfigError(f"KPI_COUNCILS: {text} is neither JSON nor a file that exists.")
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CouncilConfigError(f"KPI_COUNCILS is not valid JSON ({e.msg}, line {e.lineno} column {e.colno}).") \
            from None
    if not isinstance(data, dict) or not data:
        raise CouncilConfigError('KPI_COUNCILS must map LA codes to councils, e.g. {"884": {"name": "Herefordshire '
                                 'Council"}}.')
    return data


def _check_code(code: str, where: str) -> str:
    code = str(code).strip()
    if not LA_CODE.fullmatch(code):
        raise CouncilConfigError(f"{where}: '{code}' is not a DfE LA code (three digits, e.g. 884).")
    return code


def _same_store(a: str, b: str) -> bool:
    if is_url(a) or is_url(b):
        return a == b
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def parse_councils(settings: Settings) -> tuple[Council, ...]:
    """The configured councils, in the order given; refuses a bad configuration (CouncilConfigError)."""
    raw = getattr(settings, "councils", None)
    db_url = getattr(settings, "db_url", None)
    if not raw or not str(raw).strip():
        code = _check_code(settings.la_code, "KPI_LA_CODE")
        return (Council(code, settings.council_name, db_url or str(settings.db_path)),)
    entries = _load_json(str(raw))
    if settings.pseudonym_key is not None and len(entries) > 1:
        raise CouncilConfigError("KPI_PSEUDONYM_KEY would give every council the same key: with several councils, "
                                 "leave it unset and give each council its own key_file (or use the default, "
                                 "pseudonym.key beside each council's store).")
    data_dir = Path(settings.db_path).parent
    out: list[Council] = []
    for code, entry in entries.items():
        code = _check_code(code, "KPI_COUNCILS")
        try:
            e = CouncilEntry.model_validate(entry)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(x) for x in first["loc"]) or "entry"
            raise CouncilConfigError(f"KPI_COUNCILS: council {code}, {field}: {first['msg']}.") from None
        home = data_dir / "councils" / code
        target = e.db or (f"{db_url.split('#')[0]}#la_{code}" if db_url else str(home / "kpi.sqlite"))
        key = e.key_file or (home / "pseudonym.key" if is_url(target)
                             else Path(target).parent / "pseudonym.key")
        out.append(Council(code, e.name.strip(), target, key))
    for i, a in enumerate(out):
        for b in out[i + 1:]:
            if _same_store(a.store, b.store):
                raise CouncilConfigError(f"KPI_COUNCILS: councils {a.code} and {b.code} share the store {a.store}; "
                                         "each council needs a store of its own.")
            if Path(a.key_file).expanduser().resolve() == Path(b.key_file).expanduser().resolve():
                raise CouncilConfigError(f"KPI_COUNCILS: councils {a.code} and {b.code} share the key file "
                                         f"{a.key_file}; each council needs a pseudonymisation key of its own.")
    return tuple(out)


_PARSED: dict[tuple, tuple[Council, ...]] = {}


def configured(settings: Settings | None = None) -> tuple[Council, ...]:
    """The councils of ``settings`` (default: the deployment's), parsed once per configuration."""
    s = settings or get_settings()
    key = (s.councils, getattr(s, "db_url", None), str(s.db_path), s.la_code, s.council_name,
           s.pseudonym_key is None)
    if key not in _PARSED:
        _PARSED[key] = parse_councils(s)
    return _PARSED[key]


def council(code: str | None, settings: Settings | None = None) -> Council:
    """The council ``code``; with ``None``, the only one. LookupError with a plain message otherwise."""
    councils = configured(settings)
    if code is None:
        if len(councils) == 1:
            return councils[0]
        raise LookupError("Several councils are configured: say which with --council "
                          f"({', '.join(c.code for c in councils)}).")
    code = str(code).strip()
    for c in councils:
        if c.code == code:
            return c
    raise LookupError(f"There is no council {code} in this deployment "
                      f"(configured: {', '.join(c.code for c in councils)}).")


def _mismatch(recorded: str, code: str, name: str) -> CouncilMismatch:
    return CouncilMismatch(f"This store belongs to council {recorded}, not to council {code} ({name}): check the "
                           "council's store in KPI_COUNCILS, --db or KPI_DB_PATH. Nothing was read or changed.")


def record_council(conn: sqlite3.Connection, code: str, name: str) -> None:
    """Inside a write transaction (an upload's, as :func:`metrics.pseudonym.bind_key`): record the council in
    a store that names none yet, or refuse a store that belongs to another."""
    recorded = store.get_meta(conn, COUNCIL_META)
    if recorded is not None and recorded != code:
        raise _mismatch(recorded, code, name)
    if recorded is None:
        store.set_meta(conn, COUNCIL_META, code)
    if store.get_meta(conn, COUNCIL_NAME_META) is None:
        store.set_meta(conn, COUNCIL_NAME_META, name)


def bind_store(conn: sqlite3.Connection, c: Council, *, record: bool | None = None) -> None:
    """Refuse a store that belongs to another council. ``record``: also record the council in a store that
    names none yet (default: when several councils are configured, so that each store is bound from its
    first opening; with one council, a store is bound at its first upload and opening it changes nothing).
    A read-only store is only checked."""
    try:
        recorded = store.get_meta(conn, COUNCIL_META)
    except sqlite3.OperationalError:  # a store older than store_meta, opened without migrating: nothing to check
        return
    if recorded is not None and recorded != c.code:
        raise _mismatch(recorded, c.code, c.name)
    if record is None:
        record = len(configured()) > 1
    if record and (recorded is None or store.get_meta(conn, COUNCIL_NAME_META) is None):
        try:
            with store.transaction(conn):
                record_council(conn, c.code, c.name)
        except (sqlite3.OperationalError, store.StoreProblem) as e:
            if isinstance(e, CouncilMismatch) or ("readonly" not in str(e) and "read-only" not in str(e)):
                raise


def open_store(c: Council, *, migrate_schema: bool = True) -> sqlite3.Connection:
    """Council ``c``'s store, checked to be its own (:func:`bind_store`)."""
    conn = store.connect(c.store, migrate_schema=migrate_schema)
    try:
        bind_store(conn, c)
    except BaseException:
        conn.close()
        raise
    return conn
