"""Journeys as the HTTP API drives them: one journey shown, its state changed, profiles enrolled —
each change recorded in the audit log with who made it.

The work is the journeys service's (:mod:`segflow.journeys.service`) and engine's
(:func:`segflow.journeys.engine.enroll`); this module adds the audit entries
(``journey.start`` / ``journey.pause`` / ``journey.stop`` / ``journey.enroll``: names and
counts, never profile ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from segflow.errors import QueryError

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["EnrollResult", "JourneyDetail", "StatusChange", "change_status", "enroll_profiles", "journey_detail"]

#: The most profile ids one enrol call takes.
MAX_ENROLL = 10_000


@dataclass
class JourneyDetail:
    info: dict[str, Any]
    #: The nodes from the start, in the order ``journey show`` lists them, with their counts.
    nodes: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {**self.info, "nodes": list(self.nodes)}


def journey_detail(ctx: ProjectContext, name: str) -> JourneyDetail:
    """The applied journey *name* as ``segflow journey show`` gives it."""
    from segflow.journeys.service import journey_stats, list_journeys

    stats = journey_stats(ctx, name)  # unknown_journey for a name not applied
    info = next(i for i in list_journeys(ctx) if i.name == name)
    return JourneyDetail(info.to_dict(), [n.to_dict() for n in stats.nodes])


@dataclass(frozen=True)
class StatusChange:
    name: str
    action: str
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "action": self.action, "status": self.status}


def _record(ctx: ProjectContext, action: str, name: str, detail: dict[str, Any], actor: str | None,
            key_id: int | None) -> None:
    if actor is None:
        return
    from segflow.access.audit import record

    record(ctx.state, actor=actor, action=action, target=name, detail=detail, key_id=key_id, at=ctx.clock.now())


def change_status(ctx: ProjectContext, name: str, action: str, *, actor: str | None = None,
                  key_id: int | None = None) -> StatusChange:
    """``start``, ``pause`` or ``stop`` journey *name*; recorded as ``journey.<action>``."""
    from segflow.journeys.service import set_status

    if action not in ("start", "pause", "stop"):
        raise QueryError(f"journey action {action!r}: expected start, pause or stop", code="bad_action",
                         path="action")
    status = set_status(ctx, name, action)
    _record(ctx, f"journey.{action}", name, {"journey": name, "status": status}, actor, key_id)
    return StatusChange(name, action, status)


@dataclass(frozen=True)
class EnrollResult:
    name: str
    requested: int
    started: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "requested": self.requested, "started": self.started,
                "not_entered": self.requested - self.started}


def enroll_profiles(ctx: ProjectContext, name: str, profile_ids: Sequence[str], *, actor: str | None = None,
                    key_id: int | None = None) -> EnrollResult:
    """Enrol *profile_ids* in journey *name* now (its re-entry policy applies); ``journey.enroll``."""
    from segflow.journeys.engine import enroll

    ids = list(dict.fromkeys(profile_ids))
    if not ids:
        raise QueryError("give at least one profile id", code="no_ids", path="profile_ids")
    if len(ids) > MAX_ENROLL:
        raise QueryError(f"at most {MAX_ENROLL:,} profile ids at a time", code="too_many_ids", path="profile_ids")
    started = enroll(ctx, name, ids)
    _record(ctx, "journey.enroll", name, {"journey": name, "requested": len(ids), "started": started}, actor, key_id)
    return EnrollResult(name, len(ids), started)
