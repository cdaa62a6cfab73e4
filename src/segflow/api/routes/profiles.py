"""Profiles: the global file of a person, search, erasure and export (GDPR Art. 15/17, PIPL Art. 45/47).

Lookups take any id the person answers to (a source record's id, a merged record's id), or an
identifier: ``GET /api/profiles/lookup?by=email&value=ann@example.com``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from segflow.api.deps import Authed, need
from segflow.errors import QueryError

__all__ = ["router"]

router = APIRouter(prefix="/api/profiles", tags=["profiles"])

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Events = Annotated[int, Query(ge=0, le=1000, description="How many recent events, orders, ... to include.")]


def cursor_of(value: str | None) -> str | None:
    return None if value is None else base64.urlsafe_b64encode(value.encode()).decode()


def after_of(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise QueryError(f"cursor {cursor!r} is not one this API gave", code="bad_cursor", path="cursor") from None


@router.get("", summary="Search profiles by id prefix, e-mail, phone or name")
def search(authed: Annotated[Authed, Depends(need("profiles:read"))], q: str = "", limit: Limit = 100,
           cursor: str | None = None) -> dict[str, Any]:
    from segflow.identity.search import search_profiles

    with authed.host.warehouse():
        page = search_profiles(authed.host.ctx, q, limit=limit, after=after_of(cursor))
    return {"items": page.items, "next_cursor": cursor_of(page.next_after)}


@router.get("/lookup", summary="The global file of the person with an identifier")
def lookup(authed: Annotated[Authed, Depends(need("profiles:read"))],
           by: Annotated[str, Query(min_length=1, description="An identifier type: email, phone, wechat_openid, ...")],
           value: Annotated[str, Query(min_length=1)], events: Events = 10) -> dict[str, Any]:
    from segflow.identity.profile import global_file

    with authed.host.warehouse():
        return global_file(authed.host.ctx, by=(by, value), limit=events).to_dict()


@router.get("/{profile_id}", summary="The global file of a person: attributes, sources, identifiers, tags, "
                                     "recent events and orders")
def get_profile(profile_id: str, authed: Annotated[Authed, Depends(need("profiles:read"))],
                events: Events = 10) -> dict[str, Any]:
    from segflow.identity.profile import global_file

    with authed.host.warehouse():
        return global_file(authed.host.ctx, profile_id, limit=events).to_dict()


@router.get("/{profile_id}/export", summary="Everything segflow holds about a person (right of access)")
def export_profile(profile_id: str, authed: Annotated[Authed, Depends(need("exports:read"))]) -> dict[str, Any]:
    from segflow.privacy import export_person

    with authed.host.warehouse():
        return export_person(authed.host.ctx, profile_id, actor=authed.actor).to_dict()


@router.delete("/{profile_id}", summary="Erase a person everywhere, leaving a suppression record (right to erasure)")
def erase_profile(profile_id: str, authed: Annotated[Authed, Depends(need("profiles:erase"))]) -> dict[str, Any]:
    from segflow.privacy import erase_person

    with authed.host.warehouse():
        return erase_person(authed.host.ctx, profile_id, actor=authed.actor).to_dict()
