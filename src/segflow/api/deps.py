"""Who is calling: the API key of a request, the workspace it belongs to, its scope, its rate.

A key belongs to exactly one served workspace (it is stored, hashed, in that project's state
store), so the workspace is never a parameter of a request: it is the key's. A key of workspace A
finds nothing of B because every route reads only ``authed.host``.

Keys are read from ``Authorization: Basic <base64(key:)>`` (how Segment's libraries send the
write key), ``Authorization: Bearer <key>``, or — tracking calls only — ``writeKey`` in the body.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from segflow.errors import AccessError

if TYPE_CHECKING:
    from segflow.access.keys import KeyInfo
    from segflow.api.host import Host

__all__ = ["Authed", "authenticate_write", "hosts_of", "need", "request_key"]

_basic = HTTPBasic(auto_error=False, description="The API key as the user name (password empty).")
_bearer = HTTPBearer(auto_error=False, description="A secret key: `Authorization: Bearer sfs_...`.")


@dataclass(frozen=True)
class Authed:
    host: Host
    key: KeyInfo

    @property
    def actor(self) -> str:
        return f"key:{self.key.id}"


def hosts_of(request: Request) -> dict[str, Host]:
    hosts: dict[str, Host] = request.app.state.hosts
    return hosts


def request_key(request: Request) -> str | None:
    """The key in the Authorization header (Basic user name or Bearer token), if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer" and value:
        return value
    if scheme == "basic" and value:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise AccessError("the Authorization header is not valid Basic credentials") from None
        return user or password or None
    return None


def _authenticate(request: Request, key: str | None) -> Authed:
    from segflow.access.ratelimit import DEFAULT_SECRET_RATE, DEFAULT_WRITE_RATE

    if not key:
        raise AccessError("no API key: send it as the Basic user name or a Bearer token")
    refused: AccessError | None = None
    for host in hosts_of(request).values():
        try:
            info = host.keys.authenticate(key)
        except AccessError as exc:
            if "unknown" not in str(exc).lower():  # revoked or expired here: say so
                refused = exc
            continue
        default = DEFAULT_WRITE_RATE if info.kind == "write" else DEFAULT_SECRET_RATE
        wait = host.limiter.take(info.id, rate=info.rate_limit or default)
        if wait > 0:
            raise AccessError(f"API key {info.prefix}… is over its rate limit of {info.rate_limit or default:g} "
                              f"requests/s", code="rate_limited", retry_after=wait)
        host.keys.touch(info, host.ctx.clock.now())
        return Authed(host, info)
    raise refused or AccessError("unknown API key")


def authenticate_write(request: Request, body_key: str | None = None) -> Authed:
    """A tracking call's key: the header's, else ``writeKey`` from the body. Any valid key of the
    workspace may send tracking calls (a secret key too)."""
    return _authenticate(request, request_key(request) or body_key)


def need(scope: str) -> Callable[..., Authed]:
    """A dependency: the request's secret key, which must have *scope*."""

    def dependency(request: Request,
                   _basic_credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)] = None,
                   _bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
                   ) -> Authed:
        from segflow.access.keys import require

        authed = _authenticate(request, request_key(request))
        require(authed.key, scope)
        return authed

    dependency.__name__ = f"need_{scope.replace(':', '_')}"
    return dependency
