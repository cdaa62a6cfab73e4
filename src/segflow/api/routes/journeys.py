"""Journeys over HTTP: list, show, stats, start / pause / stop, enroll (as ``segflow journey ...``).

The reads are :mod:`segflow.journeys.service`'s; the changes go through
:mod:`segflow.journeys.control`, which records them in the audit log (docs/api.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from segflow.api.deps import Authed, need

__all__ = ["router"]

router = APIRouter(prefix="/api/journeys", tags=["journeys"])

Read = Annotated[Authed, Depends(need("journeys:read"))]
Write = Annotated[Authed, Depends(need("journeys:write"))]


class JourneyInfo(BaseModel):
    name: str
    version: int
    status: str = Field(description="active, paused or stopped")
    description: str
    entry: str
    active: int = Field(description="Runs in progress.")
    entered: int
    converted: int


class JourneyList(BaseModel):
    items: list[JourneyInfo]


class JourneyDetail(JourneyInfo):
    nodes: list[dict[str, Any]] = Field(description="The nodes from the start, as `segflow journey show` lists them.")


class JourneyStats(BaseModel):
    name: str
    version: int
    status: str
    runs: int
    active: int
    converted: int
    exits: dict[str, int]
    nodes: list[dict[str, Any]]
    groups: list[dict[str, Any]]


class StatusChange(BaseModel):
    name: str
    action: str
    status: str


class EnrollIn(BaseModel):
    profile_ids: list[str] = Field(min_length=1, max_length=10_000,
                                   description="Profile ids (any source id of the person).")


class EnrollOut(BaseModel):
    name: str
    requested: int
    started: int
    not_entered: int = Field(description="Already in the journey, or not allowed to re-enter.")


@router.get("", response_model=JourneyList, summary="Every applied journey")
def list_journeys(authed: Read) -> dict[str, Any]:
    from segflow.journeys.service import list_journeys as service

    with authed.host.warehouse():
        return {"items": [j.to_dict() for j in service(authed.host.ctx)]}


@router.get("/{name}", response_model=JourneyDetail, summary="One journey and its nodes in order")
def show_journey(name: str, authed: Read) -> dict[str, Any]:
    from segflow.journeys.control import journey_detail

    with authed.host.warehouse():
        return journey_detail(authed.host.ctx, name).to_dict()


@router.get("/{name}/stats", response_model=JourneyStats, summary="Per node and per group counts")
def journey_stats(name: str, authed: Read) -> dict[str, Any]:
    from segflow.journeys.service import journey_stats as service

    with authed.host.warehouse():
        return service(authed.host.ctx, name).to_dict()


def _change(authed: Authed, name: str, action: str) -> dict[str, Any]:
    from segflow.journeys.control import change_status

    with authed.host.warehouse():
        return change_status(authed.host.ctx, name, action, actor=authed.actor, key_id=authed.key.id).to_dict()


@router.post("/{name}/start", response_model=StatusChange, summary="Make a paused or stopped journey active")
def start_journey(name: str, authed: Write) -> dict[str, Any]:
    return _change(authed, name, "start")


@router.post("/{name}/pause", response_model=StatusChange, summary="Hold a journey (entries keep counting)")
def pause_journey(name: str, authed: Write) -> dict[str, Any]:
    return _change(authed, name, "pause")


@router.post("/{name}/stop", response_model=StatusChange, summary="End a journey's runs in progress")
def stop_journey(name: str, authed: Write) -> dict[str, Any]:
    return _change(authed, name, "stop")


@router.post("/{name}/enroll", response_model=EnrollOut, summary="Enrol profiles in a journey now")
def enroll(name: str, body: EnrollIn, authed: Write) -> dict[str, Any]:
    from segflow.journeys.control import enroll_profiles

    with authed.host.warehouse():
        return enroll_profiles(authed.host.ctx, name, body.profile_ids, actor=authed.actor,
                               key_id=authed.key.id).to_dict()
