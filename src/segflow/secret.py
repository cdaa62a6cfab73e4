"""The project's secret: the key behind signed links and the keyed hashes of erased identifiers.

``$SEGFLOW_SECRET_KEY`` when set (servers, several machines sharing one project), else
``.segflow/secret.key`` in the project, created on first use (32 random bytes, hex, mode 0600).
Keep it out of git (``.segflow/`` is ignored) and back it up with the state store: a lost
secret invalidates every signed link and unsubscribe token, and erased people's identifiers
can then no longer be recognised.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from segflow.config import STATE_DIR

__all__ = ["ENV", "identifier_hash", "keyed_hash", "project_secret"]

ENV = "SEGFLOW_SECRET_KEY"
FILE = "secret.key"


def project_secret(root: Path) -> bytes:
    """The secret of the project at *root* (created on first use)."""
    env = os.environ.get(ENV)
    if env:
        return env.encode()
    path = root / STATE_DIR / FILE
    try:
        return path.read_text(encoding="ascii").strip().encode()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip().encode()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return value.encode()


def keyed_hash(secret: bytes, value: str) -> str:
    """SHA-256 of ``secret + ":" + value``, hex (not reversible by a dictionary of emails
    without the secret).

    Plain SHA-256 over the secret-prefixed text rather than HMAC so that the warehouse can
    compute the same hash in SQL (DuckDB's ``sha256(secret || ':' || value)``): a load of
    millions of rows is checked against the erased identifiers set-based, without a Python
    call per row. Length extension (the weakness of a secret-prefix MAC) does not matter
    here: the hash is only ever compared for equality, never accepted as a signature.

        >>> keyed_hash(b"k", "email:a@b.com") == hashlib.sha256(b"k:email:a@b.com").hexdigest()
        True
    """
    return hashlib.sha256(secret + b":" + value.encode("utf-8")).hexdigest()


def identifier_hash(secret: bytes, type_: str, value: str) -> str:
    """The keyed hash of one identifier: ``keyed_hash(secret, f"{type_}:{value}")``, *value*
    normalised by the caller (see :mod:`segflow.privacy.suppression`)."""
    return keyed_hash(secret, f"{type_}:{value}")
