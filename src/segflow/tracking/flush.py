"""Moving the tracking inbox into the warehouse: ``flush_inbox(ctx)``.

The server calls it every half second or so, holding the warehouse. Steps, in order:

1. :func:`take_pending` — the inbox rows not yet flushed, in id order (at most *limit*);
2. :func:`rows_of` — each call as rows of the kinds it feeds (events, profiles, identities,
   accounts), in files of JSON Lines;
3. :func:`load_rows` — loaded with :func:`segflow.ingest.files.load_files`, so tracking gets
   the same cleaning, typing, dedupe and rejects as files (a rejected row is counted in the
   report, and is in the rejects file);
4. :func:`mark_flushed` — ``flushed_at`` and ``load_id`` set in the state store;
5. an incremental identity resolution when the project resolves (it has run before) and the
   flush brought profiles or identities, so anonymous events join the known profile;
6. :func:`prune` — flushed rows older than :data:`KEEP` go (kept that long for messageId
   dedup across restarts; the warehouse's ``event_id`` covers longer).

A crash between 3 and 4 flushes the same rows again, which is a no-op: each event's
``event_id`` is its messageId (insert-only), profiles and accounts coalesce to the same values,
identities are insert-only.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.tracking.calls import Call

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["KEEP", "FlushReport", "event_name", "flush_inbox", "load_rows", "mark_flushed", "prune", "rows_of",
           "take_pending"]

#: How long flushed inbox rows are kept (messageId dedup across restarts).
KEEP = timedelta(days=7)
#: The order kinds load in (a profile's account before the profile, ids after profiles).
KINDS = ("accounts", "profiles", "identities", "events")
#: Event names of page and screen calls (``page_view`` is the generator's and the docs' name).
PAGE_EVENT = "page_view"
SCREEN_EVENT = "screen_view"
#: The events column holding each call's Segment ``context`` (JSON).
CONTEXT_COLUMN = "context"


@dataclass
class FlushReport:
    """What one flush did: calls taken, rows loaded per kind, rows the loader refused."""

    calls: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    #: Trait names that are not usable attribute names (dropped from the profile; kept in the call).
    dropped_traits: int = 0
    #: identify calls with traits but no userId (no profile to put them on).
    anonymous_traits: int = 0
    load_ids: list[int] = field(default_factory=list)
    resolved: bool = False
    pruned: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- 1. pending rows -------------------------------------------------------------------------
def take_pending(ctx: ProjectContext, limit: int) -> list[tuple[int, Call]]:
    import sqlalchemy as sa

    from segflow.state.tables import inbox

    query = (sa.select(inbox.c.id, inbox.c.body).where(inbox.c.flushed_at.is_(None))
             .order_by(inbox.c.id).limit(limit))
    with ctx.state.begin() as conn:
        return [(int(r[0]), Call.from_body(json.loads(r[1]))) for r in conn.execute(query)]


# -- 2. rows ---------------------------------------------------------------------------------
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_USABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


def attribute_name(key: str) -> str | None:
    """A trait name as an attribute: snake_case (``firstName`` → ``first_name``, as Segment's
    warehouses do), or None when it cannot be a column name."""
    name = _CAMEL.sub("_", key.strip()).replace(" ", "_").replace("-", "_").lower()
    return name if _USABLE.match(name) else None


def _flat(traits: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in traits.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}_"))
        elif isinstance(value, list):
            out[f"{prefix}{key}"] = json.dumps(value, ensure_ascii=False)
        else:
            out[f"{prefix}{key}"] = value
    return out


def event_name(call: Call) -> str | None:
    """The event a call records (None: identify, group, alias record none)."""
    if call.type == "track":
        return call.event
    return {"page": PAGE_EVENT, "screen": SCREEN_EVENT}.get(call.type)


def _channel(call: Call) -> str | None:
    context = call.context or {}
    if call.type == "screen" or "app" in context or "device" in context:
        return "app"
    if call.type == "page" or "page" in context or "userAgent" in context:
        return "web"
    return None


def _properties(call: Call) -> dict[str, Any]:
    props = dict(call.properties or {})
    if call.type in ("page", "screen"):
        page = (call.context or {}).get("page") or {}
        for key in ("url", "path", "referrer", "title", "search"):
            if key not in props and isinstance(page, dict) and page.get(key) is not None:
                props[key] = page[key]
        if call.name is not None:
            props.setdefault("name", call.name)
        if call.category is not None:
            props.setdefault("category", call.category)
        if "page" not in props and props.get("path") is not None:
            props["page"] = props["path"]  # the generator's page_view property
    return props


def rows_of(calls: list[Call], known: dict[str, dict[str, str]], report: FlushReport) -> dict[str, list[dict[str, Any]]]:
    """Rows per kind for *calls* (in order); *known*: kind → {lower-cased name: attribute name}."""
    events: list[dict[str, Any]] = []
    profiles: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}
    identities: dict[tuple[str, str, str], dict[str, Any]] = {}

    def attrs(kind: str, traits: dict[str, Any] | None, into: dict[str, Any]) -> None:
        names = known.setdefault(kind, {})
        for key, value in _flat(traits or {}).items():
            name = attribute_name(key)
            if name is None:
                report.dropped_traits += 1
                continue
            name = names.setdefault(name.lower(), name)
            into[name] = value

    def identity(profile_id: str, type_: str, value: Any) -> None:
        if isinstance(value, str | int) and str(value).strip():
            identities[(profile_id, type_, str(value))] = {"profile_id": profile_id, "type": type_,
                                                           "value": str(value)}

    for call in calls:
        name = event_name(call)
        if name is not None:
            row: dict[str, Any] = {"event_id": call.message_id, "profile_id": call.user_id,
                                   "anonymous_id": call.anonymous_id, "event": name,
                                   "ts": call.ts.astimezone(UTC).isoformat(), "properties": _properties(call),
                                   "channel": _channel(call), CONTEXT_COLUMN: call.context or {}}
            campaign = (call.context or {}).get("campaign")
            row["source"] = campaign.get("source") if isinstance(campaign, dict) else None
            events.append(row)
        if call.type == "identify":
            if call.user_id is None:
                report.anonymous_traits += 1 if call.traits else 0
                continue
            profile = profiles.setdefault(call.user_id, {"profile_id": call.user_id})
            attrs("profiles", call.traits, profile)
            profile["profile_id"] = call.user_id
            if call.anonymous_id is not None:
                identity(call.user_id, "anonymous_id", call.anonymous_id)
            for type_ in ("email", "phone"):
                identity(call.user_id, type_, (call.traits or {}).get(type_))
        elif call.type == "alias" and call.user_id is not None and call.previous_id is not None:
            identity(call.user_id, "anonymous_id", call.previous_id)
        elif call.type == "group" and call.group_id is not None:
            account = accounts.setdefault(call.group_id, {"account_id": call.group_id})
            attrs("accounts", call.traits, account)
            account["account_id"] = call.group_id
            if call.user_id is not None:
                profiles.setdefault(call.user_id, {"profile_id": call.user_id})["account_id"] = call.group_id
    return {"accounts": list(accounts.values()), "profiles": list(profiles.values()),
            "identities": list(identities.values()), "events": events}


# -- 3. load ---------------------------------------------------------------------------------
def _ensure_context_column(ctx: ProjectContext) -> None:
    from segflow.schema.types import AttributeType

    if CONTEXT_COLUMN in ctx.registry.attributes("events"):
        return
    ctx.warehouse.add_column("events", CONTEXT_COLUMN, AttributeType.JSON)
    ctx.registry.record_inferred("events", CONTEXT_COLUMN, AttributeType.JSON)


def load_rows(ctx: ProjectContext, rows: dict[str, list[dict[str, Any]]], report: FlushReport) -> None:
    """Load *rows* kind by kind through the file loader (JSON Lines in a scratch folder)."""
    from segflow.ingest.files import load_files

    scratch = ctx.root / ".segflow" / "tracking"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        for kind in KINDS:
            if not rows.get(kind):
                continue
            if kind == "events":
                _ensure_context_column(ctx)
            path = Path(folder) / f"{kind}.jsonl"
            with open(path, "w", encoding="utf-8") as fh:
                for row in rows[kind]:
                    fh.write(json.dumps(row, ensure_ascii=False, default=str))
                    fh.write("\n")
            loaded = load_files(ctx, kind, [path], file_format="jsonl", new_attributes=True)
            report.rows[kind] = loaded.total("rows")
            report.inserted[kind] = loaded.total("inserted")
            report.rejected[kind] = loaded.total("rejected")
            report.duplicates[kind] = loaded.total("duplicates")
            report.load_ids += [s.load_id for s in loaded.files if s.load_id is not None]


# -- 4.-6. -----------------------------------------------------------------------------------
def mark_flushed(ctx: ProjectContext, ids: list[int], load_id: int | None, at: datetime) -> None:
    import sqlalchemy as sa

    from segflow.state.tables import inbox

    with ctx.state.begin() as conn:
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            conn.execute(sa.update(inbox).where(inbox.c.id.in_(chunk)).values(flushed_at=at, load_id=load_id))


def prune(ctx: ProjectContext, at: datetime) -> int:
    import sqlalchemy as sa

    from segflow.state.tables import inbox

    with ctx.state.begin() as conn:
        result = conn.execute(sa.delete(inbox).where(inbox.c.flushed_at.is_not(None), inbox.c.flushed_at < at - KEEP))
        return int(result.rowcount or 0)


def _resolves(ctx: ProjectContext) -> bool:
    from segflow.identity.store import META, watermark

    return ctx.warehouse.table_exists(META) and watermark(ctx.warehouse) is not None


def flush_inbox(ctx: ProjectContext, *, limit: int = 50_000) -> FlushReport:
    """Move up to *limit* pending inbox calls into the warehouse; see the module docstring."""
    import time

    from segflow import clock

    started = time.perf_counter()
    report = FlushReport()
    pending = take_pending(ctx, limit)
    now = clock.now()
    if pending:
        report.calls = len(pending)
        known = {kind: {name.lower(): name for name in ctx.registry.attributes(kind)}
                 for kind in ("profiles", "accounts")}
        rows = rows_of([call for _, call in pending], known, report)
        load_rows(ctx, rows, report)
        mark_flushed(ctx, [i for i, _ in pending], report.load_ids[-1] if report.load_ids else None, now)
        if (rows["profiles"] or rows["identities"]) and _resolves(ctx):
            from segflow.identity.resolve import resolve_identities

            resolve_identities(ctx)
            report.resolved = True
    report.pruned = prune(ctx, now)
    report.seconds = round(time.perf_counter() - started, 4)
    return report
