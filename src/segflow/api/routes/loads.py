"""Loads: upload a file into a kind (the same load as `segflow load`), and the load history."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi import Path as Path_

from segflow.api.deps import Authed, need
from segflow.errors import LoadError

__all__ = ["router"]

router = APIRouter(prefix="/api/loads", tags=["loads"])

UPLOADS = Path(".segflow") / "uploads"
SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json", ".parquet", ".gz")


def _saved(ctx: Any, upload: UploadFile) -> Path:
    """The upload streamed to ``.segflow/uploads/`` under a fresh name keeping its suffixes."""
    name = Path(upload.filename or "upload.csv").name
    suffix = "".join(s for s in Path(name).suffixes if s.lower() in SUFFIXES) or ".csv"
    stem = re.sub(r"[^\w.-]+", "_", name[: -len(suffix)] if name.lower().endswith(suffix.lower()) else name)[:80]
    folder = ctx.root / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex[:12]}-{stem or 'upload'}{suffix}"
    with path.open("wb") as fh:
        shutil.copyfileobj(upload.file, fh, 1 << 20)
    return path


@router.post("/{kind}", summary="Load an uploaded file into a kind (profiles, events, orders, ...)")
def upload(kind: str, authed: Annotated[Authed, Depends(need("loads:write"))],
           file: Annotated[UploadFile, File(description="CSV, JSON lines or Parquet")],
           new_attributes: Annotated[bool, Query(description="Accept new columns close to known ones")] = False,
           ) -> dict[str, Any]:
    from segflow.access.audit import record
    from segflow.ingest.files import load_files
    from segflow.schema.kinds import KINDS

    ctx = authed.host.ctx
    if kind not in KINDS:
        raise LoadError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})", code="unknown_kind", path=kind)
    path = _saved(ctx, file)
    with authed.host.warehouse():
        report = load_files(ctx, kind, [path], new_attributes=new_attributes).to_dict()
    record(ctx.state, actor=authed.actor, action="load.upload", target=kind, key_id=authed.key.id,
           at=ctx.clock.now(), detail={"file": path.name, **{k: report[k] for k in ("rows", "accepted", "rejected")}})
    return report


@router.get("", summary="The latest loads, newest first")
def history(authed: Annotated[Authed, Depends(need("loads:write"))],
            limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    return {"items": authed.host.ctx.state.loads(limit)}


@router.get("/{load_id}/rejects", summary="The refused rows of a load, each with its line and reason")
def rejects(load_id: Annotated[int, Path_(ge=1)], authed: Annotated[Authed, Depends(need("loads:write"))],
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            cursor: Annotated[int | None, Query(ge=0, description="next_offset of the previous page")] = None,
            ) -> dict[str, Any]:
    from segflow.ingest.rejects import read_rejects

    page = read_rejects(authed.host.ctx, load_id, limit=limit, offset=cursor or 0)
    return {**page.to_dict(), "next_cursor": page.next_offset}
