"""Definitions as code over HTTP, and the reads of segments, tags, traits and models.

``/api/definitions/{kind}[/{name}]`` reads and edits the project folder's files (the ones
``segflow plan`` / ``segflow apply`` read) through :mod:`segflow.definitions.edit`: a PUT or
DELETE is validated like ``segflow plan``, written atomically and applied with the whole
project's apply; replacing or deleting needs ``If-Match`` with the file's ETag. ``/api/plan``
is ``segflow plan``. ``/api/segments``, ``/api/tags``, ``/api/traits`` and ``/api/models``
are what ``segflow segment|tags|traits|model list`` and friends show (docs/api.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from segflow.api.deps import Authed, need

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["definitions"])

Read = Annotated[Authed, Depends(need("definitions:read"))]
Write = Annotated[Authed, Depends(need("definitions:write"))]
Export = Annotated[Authed, Depends(need("exports:read"))]


class Kind(str, Enum):
    segment = "segment"
    tag = "tag"
    trait = "trait"
    model = "model"
    journey = "journey"


class ExportFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"


# -- response models --------------------------------------------------------------------------

class DefinitionListing(BaseModel):
    kind: str
    name: str
    file: str | None = Field(description="The file defining it; null when applied but its file is gone.")
    etag: str | None
    applied_version: int | None


class DefinitionList(BaseModel):
    items: list[DefinitionListing]


class DefinitionFile(BaseModel):
    kind: str
    name: str
    file: str
    etag: str
    text: str = Field(description="The file as written (YAML).")
    definition: Any = Field(description="The file's data, parsed; null when it does not parse.")
    applied_version: int | None
    error: str | None = Field(description="Why the file does not parse, when it does not.")


class EditResult(BaseModel):
    kind: str
    name: str
    file: str
    action: str = Field(description="created, replaced, unchanged or deleted")
    etag: str | None
    version: int | None = Field(description="The version apply recorded.")
    applied: list[dict[str, Any]] = Field(description="Every change the (whole-project) apply made.")
    refreshed: list[dict[str, Any]]
    warnings: list[str]


class PlanChange(BaseModel):
    kind: str
    name: str
    action: str
    file: str | None
    version: int | None
    schedule: str | None
    members_before: int | None
    members_after: int | None
    delta: int | None
    runs_moved: int | None
    runs_ended: int | None


class PlanOut(BaseModel):
    as_of: datetime
    changes: list[PlanChange]
    warnings: list[str]


class Items(BaseModel):
    items: list[dict[str, Any]]


class MemberPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last.")


class PreviewIn(BaseModel):
    rule: Any = Field(description="A rule of the rule language, as JSON (docs/rules.md).")
    limit: int = Field(20, ge=0, le=1000, description="Members listed (the count is of all).")
    as_of: datetime | None = None


class PreviewOut(BaseModel):
    count: int
    members: list[dict[str, Any]]
    as_of: datetime
    seconds: float
    warnings: list[dict[str, str]]


class Explanation(BaseModel):
    segment: str
    type: str
    profile_id: str
    member: bool = Field(description="A member now (as of the segment's last refresh).")
    matches: bool | None = Field(description="Whether the rule holds now; null for a static segment.")
    tree: dict[str, Any] | None
    resolved_from: str | None
    note: str | None


# -- the body of a PUT -------------------------------------------------------------------------

async def _definition_body(request: Request) -> Any:
    """The raw body: JSON (Content-Type application/json) as data, anything else as the YAML text."""
    from segflow.definitions.edit import decode_body

    return decode_body(await request.body(), request.headers.get("content-type"))


_PUT_BODY = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}},
    "text/plain": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object"}},
}}}

NameParam = Annotated[str, Path(description="The definition's name (a tag's with its groups: lifecycle/churn_risk).")]


# -- definitions ----------------------------------------------------------------------------------

@router.get("/definitions/{kind}", response_model=DefinitionList, summary="The definitions of a kind")
def list_definitions(kind: Kind, authed: Read) -> dict[str, Any]:
    from segflow.definitions.edit import list_definitions as service

    with authed.host.warehouse():
        return {"items": [d.to_dict() for d in service(authed.host.ctx, kind.value)]}


@router.get("/definitions/{kind}/{name:path}", response_model=DefinitionFile, summary="One definition file",
            responses={200: {"headers": {"ETag": {"description": "The file's ETag", "schema": {"type": "string"}}}}})
def get_definition(kind: Kind, name: NameParam, authed: Read, response: Response) -> dict[str, Any]:
    from segflow.definitions.edit import read_definition

    with authed.host.warehouse():
        found = read_definition(authed.host.ctx, kind.value, name)
    response.headers["ETag"] = found.etag
    return found.to_dict()


@router.put("/definitions/{kind}/{name:path}", response_model=EditResult, openapi_extra=_PUT_BODY,
            summary="Create or replace a definition file, then apply",
            responses={201: {"model": EditResult, "description": "Created"}})
def put_definition(kind: Kind, name: NameParam, authed: Write, response: Response,
                   body: Annotated[Any, Depends(_definition_body)],
                   if_match: Annotated[str | None, Header(description="The ETag read (replacing).")] = None,
                   if_none_match: Annotated[str | None, Header(description="`*` to create only.")] = None,
                   ) -> dict[str, Any]:
    from segflow.definitions.edit import put_definition as service

    with authed.host.warehouse():
        result = service(authed.host.ctx, kind.value, name, body, if_match=if_match, if_none_match=if_none_match,
                         actor=authed.actor, key_id=authed.key.id)
    if result.etag:
        response.headers["ETag"] = result.etag
    response.status_code = 201 if result.action == "created" else 200
    return result.to_dict()


@router.delete("/definitions/{kind}/{name:path}", response_model=EditResult,
               summary="Delete a definition file, then apply")
def delete_definition(kind: Kind, name: NameParam, authed: Write,
                      if_match: Annotated[str | None, Header(description="The file's current ETag.")] = None,
                      ) -> dict[str, Any]:
    from segflow.definitions.edit import delete_definition as service

    with authed.host.warehouse():
        return service(authed.host.ctx, kind.value, name, if_match=if_match, actor=authed.actor,
                       key_id=authed.key.id).to_dict()


@router.get("/plan", response_model=PlanOut, summary="What applying the project folder would change")
def plan(authed: Read) -> dict[str, Any]:
    from segflow.definitions.plan import make_plan

    with authed.host.warehouse():
        return make_plan(authed.host.ctx).to_dict()


# -- segments ------------------------------------------------------------------------------------

@router.get("/segments", response_model=Items, tags=["segments"], summary="Applied segments with their sizes")
def list_segments(authed: Read) -> dict[str, Any]:
    from segflow.segments.listing import list_segments as service

    with authed.host.warehouse():
        return {"items": [s.to_dict() for s in service(authed.host.ctx)]}


@router.post("/segments/preview", response_model=PreviewOut, tags=["segments"],
             summary="Count and list the members of a rule")
def preview(body: PreviewIn, authed: Read) -> dict[str, Any]:
    from segflow.segments.reads import preview_rule

    with authed.host.warehouse():
        return preview_rule(authed.host.ctx, body.rule, limit=body.limit, as_of=body.as_of).to_dict()


Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page.")]


@router.get("/segments/{name}/members", response_model=MemberPage, tags=["segments"],
            summary="A segment's members, a page at a time")
def segment_members(name: str, authed: Read, limit: Limit = 100, cursor: Cursor = None) -> dict[str, Any]:
    from segflow.segments.reads import segment_member_page

    with authed.host.warehouse():
        return segment_member_page(authed.host.ctx, name, limit=limit, cursor=cursor).to_dict()


@router.get("/segments/{name}/export", tags=["segments"], summary="A segment's members as a csv or jsonl file",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}})
def segment_export(name: str, authed: Export, format: ExportFormat = ExportFormat.csv) -> StreamingResponse:
    from segflow.segments.reads import export_stream

    with authed.host.warehouse():
        stream = export_stream(authed.host.ctx, name, format.value, actor=authed.actor, key_id=authed.key.id)
    return StreamingResponse(stream.chunks(), media_type=stream.media_type,
                             headers={"Content-Disposition": stream.content_disposition})


@router.get("/segments/{name}/explain/{profile_id}", response_model=Explanation, tags=["segments"],
            summary="Why a profile is or is not in a segment")
def segment_explain(name: str, profile_id: str, authed: Read) -> dict[str, Any]:
    from segflow.segments.reads import explain_member

    with authed.host.warehouse():
        return explain_member(authed.host.ctx, name, profile_id).to_dict()


# -- tags, traits, models -----------------------------------------------------------------------

@router.get("/tags", response_model=Items, tags=["tags"], summary="Every tag, defined or assigned")
def list_tags(authed: Read) -> dict[str, Any]:
    from segflow.tags.library import tags_overview

    with authed.host.warehouse():
        return {"items": tags_overview(authed.host.ctx)}


@router.get("/tags/{name:path}/members", response_model=MemberPage, tags=["tags"],
            summary="The profiles carrying a tag, a page at a time")
def tag_members(name: str, authed: Read, limit: Limit = 100, cursor: Cursor = None) -> dict[str, Any]:
    from segflow.segments.reads import tag_member_page

    with authed.host.warehouse():
        return tag_member_page(authed.host.ctx, name, limit=limit, cursor=cursor).to_dict()


@router.get("/traits", response_model=Items, tags=["traits"], summary="Every trait, defined or written by a model")
def list_traits(authed: Read) -> dict[str, Any]:
    from segflow.traits.catalog import list_traits as service

    with authed.host.warehouse():
        return {"items": [t.to_dict() for t in service(authed.host.ctx)]}


@router.get("/models", response_model=Items, tags=["models"], summary="Every customer model")
def list_models(authed: Read) -> dict[str, Any]:
    from segflow.models.registry import list_models as service

    with authed.host.warehouse():
        return {"items": [m.to_dict() for m in service(authed.host.ctx)]}
