"""Access control for the HTTP API: API keys and their scopes, rate limits, the audit log.

Small modules behind this one (see each module's docstring)::

    keys.py       SCOPES, KeyInfo / NewKey, create / list / get / revoke / rotate keys,
                  authenticate (a request's key), require (a scope), KeyCache (the hot path)
    ratelimit.py  RateLimiter: a token bucket per key id, per server process
    audit.py      record / list_audit over the state store's audit_log

Errors (:mod:`segflow.errors`)::

    AccessError   code unauthorized (no, unknown, revoked, expired key), forbidden (a scope
                  the key lacks; a write key on a management call), rate_limited (retry_after)
    QueryError    a bad argument: unknown_scope, unknown_api_key, ambiguous_api_key,
                  inactive_api_key, write_key_scopes, bad_key_kind, bad_rate_limit, bad_grace,
                  bad_limit

The package does not import FastAPI: the API maps these errors to 401 / 403 / 429.
"""

from __future__ import annotations

from segflow.access.audit import AuditEntry, list_audit, record
from segflow.access.keys import (
    DEFAULT_SECRET_SCOPES,
    KINDS,
    SCOPES,
    KeyCache,
    KeyInfo,
    NewKey,
    authenticate,
    create_key,
    get_key,
    hash_key,
    list_keys,
    parse_scopes,
    require,
    revoke_key,
    rotate_key,
)
from segflow.access.ratelimit import DEFAULT_SECRET_RATE, DEFAULT_WRITE_RATE, RateLimiter

__all__ = [
    "DEFAULT_SECRET_RATE",
    "DEFAULT_SECRET_SCOPES",
    "DEFAULT_WRITE_RATE",
    "KINDS",
    "SCOPES",
    "AuditEntry",
    "KeyCache",
    "KeyInfo",
    "NewKey",
    "RateLimiter",
    "authenticate",
    "create_key",
    "get_key",
    "hash_key",
    "list_audit",
    "list_keys",
    "parse_scopes",
    "record",
    "require",
    "revoke_key",
    "rotate_key",
]
