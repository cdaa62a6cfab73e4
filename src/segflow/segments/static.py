"""Static segments: members added and removed by id (a list, a file, the API).

    >>> result = add_members(ws, "vip_manual", ["p1", "p2", "nobody"])   # doctest: +SKIP
    >>> result.diff.entered, result.unknown                               # doctest: +SKIP
    (2, ['nobody'])

Ids with no profile are reported and skipped; the others are loaded. Each call is one
``refresh_runs`` row (trigger ``add`` or ``remove``) and one warehouse transaction that
writes the members and their ``entered``/``exited`` events.
"""

from __future__ import annotations

import csv
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from segflow.clock import at_or_now
from segflow.errors import LoadError
from segflow.segments import runs
from segflow.segments.definition import DefinitionError

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.segments.membership import ImportResult

__all__ = ["add_members", "read_ids", "remove_members"]


def read_ids(path: str | Path) -> list[str]:
    """Profile ids from a file: a CSV with a ``profile_id`` column, or one id per line (first column)."""
    p = Path(path)
    if not p.is_file():
        raise LoadError(f"{p}: no such file", code="no_file", path=str(p))
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})", code="bad_encoding",
                        path=str(p)) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    if "profile_id" in header:
        col = header.index("profile_id")
        return [r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()]
    return [r[0].strip() for r in rows if r and r[0].strip()]


def _static_version(ws: ProjectContext, name: str) -> int:
    from segflow.definitions.versions import applied_segments

    applied = applied_segments(ws.state)
    if name not in applied:
        raise DefinitionError(f"no applied segment {name!r}: write segments/{name}.yaml with `type: static` "
                              "and run segflow apply", code="unknown_segment", path=name)
    version, seg = applied[name]
    if seg.dynamic:
        raise DefinitionError(f"segment {name!r} is dynamic: its members come from its rule (segflow segment refresh)",
                              code="dynamic_segment", path=name)
    return version


def _change(ws: ProjectContext, name: str, ids: list[str], at: datetime | None, trigger: str) -> ImportResult:
    from segflow.segments import membership

    version = _static_version(ws, name)
    when = at_or_now(at, ws.clock)
    run_id = runs.start_run(ws.state, kind="segment", name=name, version=version, trigger=trigger, as_of=when)
    started = time.perf_counter()
    fn = membership.add_members if trigger == "add" else membership.remove_members
    try:
        result = fn(ws.warehouse, name, ids, at=when, run_id=run_id)
    except Exception as exc:
        runs.finish_run(ws.state, run_id, status="failed", seconds=time.perf_counter() - started,
                        error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    note = f"{len(result.unknown)} unknown id(s), e.g. {result.unknown[0]!r}" if result.unknown else None
    runs.finish_run(ws.state, run_id, status="ok", members=result.diff.members, entered=result.diff.entered,
                    exited=result.diff.exited, seconds=time.perf_counter() - started, error=note)
    return result


def add_members(ws: ProjectContext, name: str, ids: list[str], *, at: datetime | None = None) -> ImportResult:
    """Add *ids* to the static segment *name* (unknown ids are reported in ``.unknown``)."""
    return _change(ws, name, ids, at, "add")


def remove_members(ws: ProjectContext, name: str, ids: list[str], *, at: datetime | None = None) -> ImportResult:
    """Remove *ids* from the static segment *name* (ids not in it count as ``.unchanged``)."""
    return _change(ws, name, ids, at, "remove")
