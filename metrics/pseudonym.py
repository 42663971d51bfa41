"""Keyed pseudonymisation of identifiers (HMAC-SHA-256), applied before anything is stored.

The same identifier always maps to the same pseudonym under one key, so a child can be followed
across extracts and months; without the key a pseudonym cannot be reversed or recomputed from a
guessed identifier. The key lives outside the store (env var or a 0600 key file, git-ignored).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.settings import Settings

PSEUDONYM_HEX_CHARS = 32  # 128 bits of the HMAC: collisions are negligible at any council's scale


MIN_KEY_CHARS = 16


def load_key(settings: Settings) -> bytes:
    if settings.pseudonym_key is not None:
        k = settings.pseudonym_key  # a SecretStr, or a plain str from Settings.model_copy(update=...)
        key = (k.get_secret_value() if hasattr(k, "get_secret_value") else str(k)).encode()
        if len(key) < MIN_KEY_CHARS:
            raise ValueError(f"KPI_PSEUDONYM_KEY must be at least {MIN_KEY_CHARS} characters.")
        return key
    path = Path(settings.resolved_key_file)
    if not path.exists():
        _create_key_file(path)
    key = path.read_text().strip().encode()
    if len(key) < MIN_KEY_CHARS:
        raise ValueError(f"The pseudonymisation key file {path} is empty or too short (under {MIN_KEY_CHARS} "
                         "characters). Restore it from your backup; never replace the key of a store that holds data.")
    return key


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
