"""Keyed pseudonymisation of identifiers (HMAC-SHA-256), applied before anything is stored.

The same identifier always maps to the same pseudonym under one key, so a child can be followed
across extracts and months; without the key a pseudonym cannot be reversed or recomputed from a
guessed identifier. The key lives outside the store (env var or a 0600 key file, git-ignored).

The key is bound to its store: the first upload records a fingerprint (an HMAC of a fixed label under
the key — it reveals nothing about the key) and every later write checks it (:func:`key_for_store`),
so a lost, truncated or replaced key can never silently give the same child a second pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from metrics import store
from metrics.settings import Settings

PSEUDONYM_HEX_CHARS = 32  # 128 bits of the HMAC: collisions are negligible at any council's scale


MIN_KEY_CHARS = 16


FINGERPRINT_LABEL = b"kpi store key fingerprint v1"
FINGERPRINT_META = "key_fingerprint"

#: The demo store's key (:mod:`metrics.demo_store`): fixed, so demo pseudonyms are reproducible; public, so
#: no real identifier may ever be stored under it.
DEMO_KEY = "synthetic-demo-data-key-not-for-real-data"


class KeyProblem(store.StoreProblem, ValueError):
    """The key is missing, too short, unsafe or not this store's: nothing is written under it."""

    def __init__(self, message: str):
        super().__init__("key_mismatch", message)


def fingerprint(key: bytes) -> str:
    """A keyed hash of a fixed label: the same key always gives the same fingerprint; it cannot give the key."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:32]


def load_key(settings: Settings, *, create: bool = True) -> bytes:
    """The key from KPI_PSEUDONYM_KEY or the key file. The file is created only when ``create`` (a store
    with no data yet) and is refused unless only its owner can read it."""
    if settings.pseudonym_key is not None:
        k = settings.pseudonym_key  # a SecretStr, or a plain str from Settings.model_copy(update=...)
        key = (k.get_secret_value() if hasattr(k, "get_secret_value") else str(k)).encode()
        if len(key) < MIN_KEY_CHARS:
            raise KeyProblem(f"KPI_PSEUDONYM_KEY must be at least {MIN_KEY_CHARS} characters.")
        return key
    path = Path(settings.resolved_key_file)
    if not path.exists():
        if not create:
            raise KeyProblem(f"The pseudonymisation key file {path} is missing, but the store already holds "
                             "data. Restore the key file from your backup; a new key would give every child "
                             "a new pseudonym. Nothing was changed.")
        _create_key_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise KeyProblem(f"The pseudonymisation key file {path} can be read by other users (mode {mode:04o}). "
                         f"Make it private with: chmod 600 {path}. Nothing was changed.")
    key = path.read_text().strip().encode()
    if len(key) < MIN_KEY_CHARS:
        raise KeyProblem(f"The pseudonymisation key file {path} is empty or too short (under {MIN_KEY_CHARS} "
                         "characters). Restore it from your backup; never replace the key of a store that holds data.")
    return key


def _demo_fingerprint() -> str:
    return fingerprint(DEMO_KEY.encode())


def _holds_data(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM uploads LIMIT 1").fetchone() is not None


def key_status(conn: sqlite3.Connection, settings: Settings) -> tuple[bool, str]:
    """(ok, plain sentence): does the configured key belong to this store? Never creates a key file."""
    recorded = store.get_meta(conn, FINGERPRINT_META)
    if store.is_demo(conn) and recorded in (None, _demo_fingerprint()) and settings.pseudonym_key is None \
            and not Path(settings.resolved_key_file).exists():
        # the dashboard and `kpi demo` use the public demo key for the demo store; no key file is expected
        return True, "the demo store: synthetic data under the public demo key (never load real extracts into it)"
    try:
        key = load_key(settings, create=False)
    except KeyProblem as e:
        if recorded is None and not _holds_data(conn) and not Path(settings.resolved_key_file).exists() \
                and settings.pseudonym_key is None:
            return True, "no key yet: one is created at the first upload"
        return False, str(e)
    fp = fingerprint(key)
    if store.is_demo(conn) and fp != _demo_fingerprint():
        return False, ("this is the demo store: it holds synthetic data under a public key and refuses real "
                       "extracts. Load real data into a store of its own (--db or KPI_DB_PATH).")
    if recorded is None:
        return True, ("the store records no key fingerprint yet: the next upload records this key's"
                      if not _holds_data(conn) else
                      "the store's data predates key fingerprints: the next upload records this key's")
    if fp != recorded:
        return False, ("the pseudonymisation key is not the one this store's data was pseudonymised with "
                       f"(key file {settings.resolved_key_file} or KPI_PSEUDONYM_KEY was changed, replaced or "
                       "truncated). Restore the original key from your backup. Nothing was changed.")
    return True, "the key matches the store"


def key_for_store(conn: sqlite3.Connection, settings: Settings) -> bytes:
    """The key, checked against the store before any write; refuses (KeyProblem) with a plain message.
    A key file is created only for a store that holds no data."""
    fresh = store.get_meta(conn, FINGERPRINT_META) is None and not _holds_data(conn)
    key = load_key(settings, create=fresh)
    ok, message = key_status(conn, settings)
    if not ok:
        raise KeyProblem(message[0].upper() + message[1:])
    return key


def bind_key(conn: sqlite3.Connection, key: bytes) -> None:
    """Inside the write transaction: record the key's fingerprint at the first upload, or refuse if another
    writer bound a different key meanwhile."""
    recorded = store.get_meta(conn, FINGERPRINT_META)
    if recorded is None:
        store.set_meta(conn, FINGERPRINT_META, fingerprint(key))
    elif recorded != fingerprint(key):
        raise KeyProblem("The pseudonymisation key is not the one this store's data was pseudonymised with. "
                         "Restore the original key from your backup. Nothing was changed.")


def _create_key_file(path: Path) -> None:
    """Create the key file atomically: readers see no file or the whole key, never an empty file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails if another process published its key first
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _hmac_sha256_prefixed(key: bytes, prefix: bytes):
    """HMAC-SHA-256 over ``prefix + message`` with the key pads hashed once (RFC 2104).

    Identical to ``hmac.digest(key, prefix + msg, "sha256")`` (a test checks it) but about three
    times faster per value, because the padded key blocks are not re-hashed for every identifier.
    """
    block = 64
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
    inner.update(prefix)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))

    def digest_hex(msg: bytes, ic=inner.copy, oc=outer.copy) -> str:
        i = ic()
        i.update(msg)
        o = oc()
        o.update(i.digest())
        return o.hexdigest()[:PSEUDONYM_HEX_CHARS]

    return digest_hex


def pseudonymise(values: np.ndarray, key: bytes, domain: str) -> np.ndarray:
    """Pseudonyms for an object array of raw identifiers (None stays None).

    ``domain`` (the column name, e.g. ``child_id``) separates identifier spaces, so a child and a
    worker who share a raw number do not share a pseudonym, while ``child_id`` links across kinds.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    h = _hmac_sha256_prefixed(key, domain.encode() + b"\x00")
    hashed = np.empty(len(uniques) + 1, dtype=object)  # the trailing None: code -1 (missing) picks it
    hashed[:-1] = list(map(h, map(str.encode, uniques)))
    return hashed[codes]
