"""API keys: creating, listing, revoking and rotating them, and checking a request's key.

Two kinds of key (the state store's ``api_keys``)::

    write   sfw_<32 chars>   tracking calls only (the browser / app SDKs); no scopes
    secret  sfs_<43 chars>   management calls, limited to its scopes (least privilege:
                             the read scopes unless others are given)

A key is shown once, when it is made (:class:`NewKey`); the store keeps its SHA-256 and its
first 12 characters (the *prefix*, to tell keys apart in lists and messages). A plain hash
is enough, and a slow password hash would be wrong here: the keys are 192 or 256 random bits
(``secrets.token_urlsafe``), so there is no dictionary to try and no brute force to slow
down, and the hash is computed on every request of the tracking hot path (thousands a
second), where a bcrypt/argon2 of 50 ms each would be the bottleneck. SHA-256 makes a
stolen table useless (a hash is not a key) and a lookup one indexed equality (the unique
index on ``hash``).

Revoking a key is immediate in the database and idempotent: revoking a revoked key changes
nothing (no second audit entry) and returns it as it is. Rotating makes a new key with the
same kind, name, scopes and rate, and lets the old one work for a grace period (its
``expires_at``), so the clients can be moved over; a grace of zero ends it at once.

:func:`authenticate` checks a key against the store; :class:`KeyCache` does the same through
an in-process cache for the request path (a revocation made elsewhere — the CLI — takes
effect within the cache's ``ttl``), and :func:`require` checks a scope. Every error is an
:class:`~segflow.errors.AccessError` (``unauthorized``, ``forbidden``) for a request, and a
:class:`~segflow.errors.QueryError` for a bad argument (``unknown_scope``,
``unknown_api_key``, ``ambiguous_api_key``, ``inactive_api_key``, ``bad_key_kind``).
"""

from __future__ import annotations

import difflib
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow.access.audit import record
from segflow.clock import as_utc, utc
from segflow.clock import now as wall_clock
from segflow.errors import AccessError, QueryError
from segflow.state.tables import api_keys

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from segflow.context import ProjectContext
    from segflow.state.store import StateStore

__all__ = [
    "DEFAULT_SECRET_SCOPES",
    "KINDS",
    "SCOPES",
    "KeyCache",
    "KeyInfo",
    "NewKey",
    "authenticate",
    "create_key",
    "get_key",
    "hash_key",
    "list_keys",
    "parse_scopes",
    "require",
    "revoke_key",
    "rotate_key",
]

#: Every scope a secret key may hold, with what it lets the key do.
SCOPES: dict[str, str] = {
    "profiles:read": "read profiles, their traits, tags, segments and events",
    "profiles:erase": "erase a person (GDPR Art. 17 / PIPL Art. 47)",
    "definitions:read": "read segment, tag, trait and model definitions and their versions",
    "definitions:write": "change definitions (plan / apply)",
    "journeys:read": "read journeys, their runs and statistics",
    "journeys:write": "start, pause, stop journeys and enroll profiles",
    "loads:write": "load files into the warehouse",
    "exports:read": "export segment members",
    "analytics:read": "run analyses (funnels, paths, retention, ...)",
    "audit:read": "read the audit log",
}

#: The scopes of a secret key made without any: reading only (least privilege). Writing,
#: erasing, loading, exporting and the audit log are given by name (or ``all``).
DEFAULT_SECRET_SCOPES: frozenset[str] = frozenset(
    {"profiles:read", "definitions:read", "journeys:read", "analytics:read"})

#: Key kind → the start of its keys.
KINDS: dict[str, str] = {"write": "sfw_", "secret": "sfs_"}
#: Random bytes per kind: 192 bits for a write key (it sits in web pages), 256 for a secret key.
_TOKEN_BYTES = {"write": 24, "secret": 32}
#: Characters of a key kept (and shown) as its prefix.
PREFIX_LEN = 12


def hash_key(key: str) -> str:
    """The SHA-256 of *key*, hex: what the store keeps instead of the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _stamp(value: datetime) -> str:
    return utc(value).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One API key as stored (never its plaintext or its hash)."""

    id: int
    kind: str
    name: str
    prefix: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    #: Requests per second for this key (None: the server's default for its kind).
    rate_limit: float | None = None
    #: The id of the key this one replaced.
    rotated_from: int | None = None

    @property
    def label(self) -> str:
        """How messages name the key: its prefix and an ellipsis (``sfs_AbCdEfGh…``)."""
        return f"{self.prefix}…"

    def active(self, now: datetime) -> bool:
        """Whether the key works at *now*: not revoked, not past its expiry."""
        return self.revoked_at is None and (self.expires_at is None or utc(now) < self.expires_at)

    def status(self, now: datetime) -> str:
        """``active``, ``expires <time>`` (rotated, in its grace period), ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None:
            return f"expires {_stamp(self.expires_at)}" if utc(now) < self.expires_at else "expired"
        return "active"

    def allows(self, scope: str) -> bool:
        """Whether the key holds *scope* (a write key holds none)."""
        return scope in self.scopes

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON-able (ISO times); with *now*, also the ``status`` at *now*."""
        iso = lambda v: None if v is None else v.isoformat()  # noqa: E731
        body: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "name": self.name, "prefix": self.prefix,
            "scopes": sorted(self.scopes), "created_at": iso(self.created_at), "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at), "last_used_at": iso(self.last_used_at),
            "rate_limit": self.rate_limit, "rotated_from": self.rotated_from,
        }
        if now is not None:
            body["status"] = self.status(now)
        return body


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: its stored info and the key itself, which is shown this once."""

    info: KeyInfo
    key: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.info.to_dict(), "key": self.key}


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        id=int(row.id), kind=row.kind, name=row.name or "", prefix=row.prefix,
        scopes=frozenset(row.scopes.split()) if row.scopes else frozenset(),
        created_at=utc(row.created_at), expires_at=as_utc(row.expires_at), revoked_at=as_utc(row.revoked_at),
        last_used_at=as_utc(row.last_used_at), rate_limit=row.rate_limit, rotated_from=row.rotated_from,
    )


_COLUMNS = [c for c in api_keys.c if c.name != "hash"]


# -- scopes -------------------------------------------------------------------------------
def _split(scopes: str | Iterable[str]) -> list[str]:
    items = [scopes] if isinstance(scopes, str) else list(scopes)
    return [s for item in items for s in item.replace(",", " ").split()]


def parse_scopes(scopes: str | Iterable[str] | None, kind: str = "secret") -> frozenset[str]:
    """The scopes of a new key of *kind*: *scopes* as names (a list, or one string of names
    separated by commas or spaces; ``all`` for every scope), checked; None for the default
    (:data:`DEFAULT_SECRET_SCOPES` for a secret key, none for a write key).

    Raises :class:`QueryError` naming every unknown scope (with a did-you-mean), and for scopes
    given to a write key (it only sends tracking calls)."""
    if kind not in KINDS:
        raise QueryError(f"API key kind {kind!r} is not known: give write or secret", code="bad_key_kind")
    if scopes is None:
        return DEFAULT_SECRET_SCOPES if kind == "secret" else frozenset()
    names = _split(scopes)
    if kind == "write":
        if names:
            raise QueryError(f"a write key takes no scopes (given: {', '.join(names)}): it can only send "
                             "tracking calls; make a secret key for management calls", code="write_key_scopes")
        return frozenset()
    if not names:
        raise QueryError("a secret key needs at least one scope", code="unknown_scope")
    if "all" in names:
        names = [n for n in names if n != "all"] + list(SCOPES)
    unknown = [n for n in dict.fromkeys(names) if n not in SCOPES]
    if unknown:
        raise QueryError(f"unknown scope{'s' if len(unknown) > 1 else ''} "
                         + ", ".join(f"{n!r}{_did_you_mean(n, SCOPES)}" for n in unknown)
                         + f"; the scopes are: {', '.join(SCOPES)}, or all", code="unknown_scope")
    return frozenset(names)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- managing keys ------------------------------------------------------------------------
def _insert(conn: Connection, kind: str, *, name: str, scopes: frozenset[str], rate_limit: float | None,
            at: datetime, rotated_from: int | None = None) -> NewKey:
    key = KINDS[kind] + secrets.token_urlsafe(_TOKEN_BYTES[kind])
    values = {"kind": kind, "name": name, "prefix": key[:PREFIX_LEN], "hash": hash_key(key),
              "scopes": " ".join(sorted(scopes)), "created_at": at, "rate_limit": rate_limit,
              "rotated_from": rotated_from}
    pk = conn.execute(api_keys.insert().values(**values)).inserted_primary_key
    assert pk is not None
    info = KeyInfo(id=int(pk[0]), kind=kind, name=name, prefix=key[:PREFIX_LEN], scopes=scopes, created_at=at,
                   rate_limit=rate_limit, rotated_from=rotated_from)
    return NewKey(info, key)


def _about(info: KeyInfo) -> dict[str, Any]:
    return {"kind": info.kind, "name": info.name, "scopes": sorted(info.scopes)}


def create_key(ctx: ProjectContext, kind: str, *, name: str = "", scopes: str | Iterable[str] | None = None,
               rate_limit: float | None = None, actor: str = "cli") -> NewKey:
    """Make a key of *kind* (``write`` or ``secret``) and record ``key.create``.

    *scopes*: see :func:`parse_scopes` (a secret key's default: the read scopes). *rate_limit*:
    requests per second for this key (None: the server's default for its kind). The returned
    :attr:`NewKey.key` is the only time the key exists outside its holder's hands::

        >>> made = create_key(ws, "secret", name="crm sync", scopes="profiles:read,exports:read")  # doctest: +SKIP
        >>> made.key[:4], made.info.prefix == made.key[:12]                                        # doctest: +SKIP
        ('sfs_', True)
    """
    chosen = parse_scopes(scopes, kind)
    if rate_limit is not None and not rate_limit > 0:
        raise QueryError(f"rate limit {rate_limit} of API key {name or kind!r} must be a positive number of "
                         "requests per second", code="bad_rate_limit")
    at = utc(ctx.clock.now())
    with ctx.state.begin() as conn:
        made = _insert(conn, kind, name=name, scopes=chosen, rate_limit=rate_limit, at=at)
        record(ctx.state, actor=actor, action="key.create", target=made.info.prefix, detail=_about(made.info),
               at=at, conn=conn)
    return made


def list_keys(ctx: ProjectContext, *, include_revoked: bool = False) -> list[KeyInfo]:
    """The keys, oldest first; revoked ones only with *include_revoked* (expired ones are listed:
    their status says so)."""
    query = sa.select(*_COLUMNS).order_by(api_keys.c.id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    with ctx.state.engine.connect() as conn:
        return [_info(row) for row in conn.execute(query)]


def _find(conn: Connection, ref: str | int) -> KeyInfo:
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        row = conn.execute(sa.select(*_COLUMNS).where(api_keys.c.id == int(text))).first()
    elif text.startswith(tuple(KINDS.values())) and len(text) > PREFIX_LEN:
        row = conn.execute(sa.select(*_COLUMNS).where(api_keys.c.hash == hash_key(text))).first()
    else:
        rows = conn.execute(sa.select(*_COLUMNS).where(api_keys.c.prefix.startswith(text, autoescape=True))
                            .order_by(api_keys.c.id)).fetchall() if text else []
        if len(rows) > 1:
            raise QueryError(f"API key {text!r} matches {len(rows)} keys ("
                             + ", ".join(f"{r.prefix} id {r.id}" for r in rows[:5])
                             + "): give more of the prefix, or the id", code="ambiguous_api_key")
        row = rows[0] if rows else None
    if row is None:
        prefixes = [p for (p,) in conn.execute(sa.select(api_keys.c.prefix))]
        shown = text[:PREFIX_LEN] + ("…" if len(text) > PREFIX_LEN else "")
        raise QueryError(f"no API key {shown!r}{_did_you_mean(text[:PREFIX_LEN], prefixes)}: give a key's id, "
                         "its prefix or the key", code="unknown_api_key")
    return _info(row)


def get_key(ctx: ProjectContext, ref: str | int) -> KeyInfo:
    """The key *ref* names: its id, its prefix (or the start of it, when only one key has it)
    or the full key. Revoked keys are found too. Raises :class:`QueryError` ``unknown_api_key``."""
    with ctx.state.engine.connect() as conn:
        return _find(conn, ref)


def revoke_key(ctx: ProjectContext, ref: str | int, *, actor: str = "cli") -> KeyInfo:
    """Revoke the key *ref* names (see :func:`get_key`) at once and record ``key.revoke``.

    Idempotent: a key already revoked is returned unchanged (its first ``revoked_at``) and
    nothing is recorded; compare its ``revoked_at`` with now to tell."""
    at = utc(ctx.clock.now())
    with ctx.state.begin() as conn:
        info = _find(conn, ref)
        if info.revoked_at is not None:
            return info
        conn.execute(api_keys.update().where(api_keys.c.id == info.id, api_keys.c.revoked_at.is_(None))
                     .values(revoked_at=at))
        record(ctx.state, actor=actor, action="key.revoke", target=info.prefix, detail=_about(info),
               key_id=info.id, at=at, conn=conn)
    return replace(info, revoked_at=at)


def rotate_key(ctx: ProjectContext, ref: str | int, *, grace: timedelta = timedelta(hours=24),
               actor: str = "cli") -> NewKey:
    """Replace the key *ref* names with a new one (same kind, name, scopes and rate limit,
    ``rotated_from`` the old id) and record ``key.rotate``; the old key keeps working for
    *grace* (it expires then; zero: at once; an earlier expiry is kept).

    A revoked or expired key is not rotated (:class:`QueryError` ``inactive_api_key``): make a
    new key instead."""
    if grace < timedelta(0):
        raise QueryError(f"rotation grace {grace} is negative", code="bad_grace")
    at = utc(ctx.clock.now())
    with ctx.state.begin() as conn:
        old = _find(conn, ref)
        if not old.active(at):
            raise QueryError(f"API key {old.label} (id {old.id}) is {old.status(at)}: it cannot be rotated; "
                             "make a new key instead", code="inactive_api_key")
        ends = at + grace if old.expires_at is None else min(old.expires_at, at + grace)
        conn.execute(api_keys.update().where(api_keys.c.id == old.id).values(expires_at=ends))
        made = _insert(conn, old.kind, name=old.name, scopes=old.scopes, rate_limit=old.rate_limit, at=at,
                       rotated_from=old.id)
        record(ctx.state, actor=actor, action="key.rotate", target=old.prefix,
               detail={**_about(old), "new": made.info.prefix, "old_expires_at": ends.isoformat()},
               key_id=old.id, at=at, conn=conn)
    return made


# -- checking a request's key -------------------------------------------------------------
def _lookup(state: StateStore, digest: str) -> KeyInfo | None:
    with state.engine.connect() as conn:
        row = conn.execute(sa.select(*_COLUMNS).where(api_keys.c.hash == digest)).first()
    return None if row is None else _info(row)


def _unknown(key: str) -> AccessError:
    if not key:
        return AccessError("no API key was given", code="unauthorized")
    if key.startswith(tuple(KINDS.values())):
        return AccessError(f"unknown API key {key[:PREFIX_LEN]}…", code="unauthorized")
    return AccessError("unknown API key: segflow keys begin with sfw_ or sfs_", code="unauthorized")


def _admit(info: KeyInfo | None, key: str, now: datetime) -> KeyInfo:
    if info is None:
        raise _unknown(key)
    if info.revoked_at is not None:
        raise AccessError(f"API key {info.label} was revoked at {_stamp(info.revoked_at)}", code="unauthorized")
    if info.expires_at is not None and utc(now) >= info.expires_at:
        raise AccessError(f"API key {info.label} expired at {_stamp(info.expires_at)}", code="unauthorized")
    return info


def authenticate(state: StateStore, key: str, *, now: datetime) -> KeyInfo:
    """The stored key whose hash is *key*'s, if it works at *now*; else
    :class:`~segflow.errors.AccessError` ``unauthorized`` (unknown, revoked or expired, named
    by its prefix). The plaintext is hashed and forgotten: never logged, stored or cached."""
    return _admit(_lookup(state, hash_key(key)), key, now)


def require(info: KeyInfo, scope: str) -> None:
    """Nothing when *info* holds *scope*; :class:`~segflow.errors.AccessError` ``forbidden``
    naming the scope otherwise (a write key holds none: it can only send tracking calls)."""
    if scope not in SCOPES:
        raise QueryError(f"unknown scope {scope!r}{_did_you_mean(scope, SCOPES)}", code="unknown_scope")
    if info.kind == "write":
        raise AccessError(f"API key {info.label} is a write key: a write key can only send tracking calls "
                          f"(this needs a secret key with the scope {scope})", code="forbidden")
    if scope not in info.scopes:
        raise AccessError(f"API key {info.label} lacks the scope {scope}", code="forbidden")


@dataclass(slots=True)
class _Use:
    """What :meth:`KeyCache.touch` remembers of one key: when it last wrote, and what since."""

    written: datetime | None = None  # last_used_at written
    audited: datetime | None = None  # last key.use entry
    requests: int = 0  # since the last key.use entry


class KeyCache:
    """:func:`authenticate` through an in-process cache, for the request path.

    Lookups are cached by the key's hash (never the key) for *ttl* seconds of *clock*
    (``time.monotonic`` by default), unknown keys too (so a flood of bad keys does not reach
    the database); revoked and expired keys are refused from the cache as exactly as from
    the store (an expiry is checked against the request's *now* every time). A change made by
    another process — ``segflow keys revoke`` — is seen once the entry is older than *ttl*:
    a revoked key may keep working in a running server for up to *ttl* seconds (1 by
    default). Thread-safe: one lock around the dictionary, never held during a query.

    At most *max_entries* hashes are kept; past that the stale ones go, and if that is not
    enough, all of them (the next requests look up again).
    """

    #: last_used_at is written at most this often per key.
    TOUCH_EVERY = timedelta(seconds=60)
    #: A ``key.use`` audit entry is written at most this often per key (and at a key's first use).
    AUDIT_EVERY = timedelta(hours=1)

    def __init__(self, state: StateStore, *, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 10_000) -> None:
        self.state = state
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, KeyInfo | None]] = {}
        self._uses: dict[int, _Use] = {}

    def authenticate(self, key: str, *, now: datetime | None = None) -> KeyInfo:
        """Like :func:`authenticate` (as of *now*, the wall clock when None), answered from the
        cache when the entry is fresh."""
        if now is None:
            now = wall_clock()
        digest = hash_key(key)
        tick = self.clock()
        with self._lock:
            cached = self._entries.get(digest)
        if cached is not None and tick - cached[0] < self.ttl:
            return _admit(cached[1], key, now)
        info = _lookup(self.state, digest)
        with self._lock:
            if len(self._entries) >= self.max_entries and digest not in self._entries:
                self._entries = {d: e for d, e in self._entries.items() if tick - e[0] < self.ttl}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[digest] = (tick, info)
        return _admit(info, key, now)

    def invalidate(self) -> None:
        """Forget every cached lookup (a revocation made in this process takes effect at once)."""
        with self._lock:
            self._entries.clear()

    def touch(self, info: KeyInfo, now: datetime) -> None:
        """Count one request of *info* at *now*: write its ``last_used_at`` at most once per
        :attr:`TOUCH_EVERY`, and a ``key.use`` audit entry (``{"requests": n}``, the requests
        since the previous entry of this process) at its first use and then at most once per
        :attr:`AUDIT_EVERY`. Throttled calls only count, under the lock (no database access)."""
        when = utc(now)
        with self._lock:
            use = self._uses.setdefault(info.id, _Use())
            use.requests += 1
            write = use.written is None or when - use.written >= self.TOUCH_EVERY
            audit = use.audited is None or when - use.audited >= self.AUDIT_EVERY
            if write:
                use.written = when
            requests = 0
            if audit:
                use.audited, requests, use.requests = when, use.requests, 0
        if write:
            with self.state.begin() as conn:
                conn.execute(api_keys.update().where(
                    api_keys.c.id == info.id,
                    sa.or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < when),
                ).values(last_used_at=when))
        if audit:
            self._audit_use(info.id, info.prefix, requests, when)

    def flush(self, now: datetime) -> int:
        """Write a ``key.use`` entry for every key with requests not yet recorded (a server
        calls this when it stops); the number of entries written."""
        when = utc(now)
        with self._lock:
            pending = [(key_id, use.requests) for key_id, use in self._uses.items() if use.requests]
            for key_id, _ in pending:
                self._uses[key_id].requests, self._uses[key_id].audited = 0, when
        if not pending:
            return 0
        with self.state.engine.connect() as conn:
            prefixes = dict(conn.execute(sa.select(api_keys.c.id, api_keys.c.prefix)
                                         .where(api_keys.c.id.in_([k for k, _ in pending]))).all())
        for key_id, requests in pending:
            self._audit_use(key_id, prefixes.get(key_id, ""), requests, when)
        return len(pending)

    def _audit_use(self, key_id: int, prefix: str, requests: int, at: datetime) -> None:
        record(self.state, actor=f"key:{key_id}", action="key.use", target=prefix, detail={"requests": requests},
               key_id=key_id, at=at)
