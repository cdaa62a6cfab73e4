"""Delivering the outbox: messages through their channel, webhooks, internal effects.

Every due row (``pending``, its next attempt at or before now) is leased, delivered and
recorded; each batch's outcomes commit together. For a message, at send time:

1. **consent** — a profile whose subscription for the channel (channel-wide or the
   message's topic) is ``opted_out``, ``bounced`` or ``complained`` is skipped with that
   reason (a transactional message skips only ``bounced`` and ``complained``);
2. **address** — a profile without the channel's address (``email``, ``phone``) is
   skipped (``no_address``);
3. **render** — the template with the profile's attributes, traits and tags and the
   journey's context; a template that fails for this profile skips it (``template_error``);
4. **send** — ``sent``; a temporary error (SMTP 4xx, connection refused, timeout) is
   retried with exponential backoff (30 s, 1 min, 2 min, ... at most 6 h apart; given up
   as ``failed`` after :data:`MAX_ATTEMPTS`); a permanent one is ``failed`` at once. After
   :data:`CIRCUIT` temporary errors in a row a channel is left alone for the rest of the
   batch (its rows wait for their next attempt) so it does not hold up the others.

Internal effects (tag, attribute, static segment) are idempotent (assigning a tag twice,
setting a value twice, adding a member twice change nothing more), so applying one again
after a crash is the same as once. Each message outcome is also written to the
warehouse as an event (``message_sent``, ``message_failed``, ``message_skipped``; its
``event_id`` is the outbox key and the outcome, so it is written once).
In simulation nothing is made: messages are recorded in the report (``would``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from segflow.journeys import store
from segflow.journeys.store import OutboxRow

if TYPE_CHECKING:
    from segflow.journeys.engine import Engine

__all__ = ["MAX_ATTEMPTS", "backoff", "deliver"]

MAX_ATTEMPTS = 8
CIRCUIT = 5
SUPPRESSING = ("opted_out", "bounced", "complained")


def backoff(attempts: int) -> timedelta:
    """The wait before attempt *attempts* + 1: 30 s doubling, at most 6 h."""
    return min(timedelta(seconds=30 * 2 ** max(0, attempts - 1)), timedelta(hours=6))


def deliver(engine: Engine) -> None:
    ctx = engine.ctx
    names = engine.active
    channels: dict[str, Any] | None = None
    try:
        while True:
            rows = store.claim_outbox(ctx.state, engine.worker, engine.now, limit=engine.options.deliver_batch,
                                      lease=engine.options.lease, journeys=names)
            if not rows:
                return
            if channels is None and engine.options.effects:
                from segflow.channels import open_channels

                channels = open_channels(ctx.config, ctx.root)
            outcomes = _Delivery(engine, channels or {}).run(rows)
            store.finish_outbox(ctx.state, engine.worker, outcomes)
    finally:
        for channel in (channels or {}).values():
            try:
                channel.close()
            except Exception:  # noqa: S110 - closing a broken connection
                pass


class _Delivery:
    def __init__(self, engine: Engine, channels: dict[str, Any]) -> None:
        self.engine = engine
        self.ctx = engine.ctx
        self.now = engine.now
        self.channels = channels
        self.outcomes: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.failures: dict[str, int] = defaultdict(int)

    def run(self, rows: list[OutboxRow]) -> list[dict[str, Any]]:
        messages = [r for r in rows if r.effect == "message"]
        if messages:
            self.messages(messages)
        for effect in ("tag", "set", "segment"):
            group = [r for r in rows if r.effect == effect]
            if group:
                self.internal(effect, group)
        for row in rows:
            if row.effect == "webhook":
                self.webhook(row)
        self.write_events()
        return self.outcomes

    # -- outcomes -------------------------------------------------------------------------
    def outcome(self, row: OutboxRow, status: str, *, error: str | None = None, provider_id: str | None = None,
                payload: dict[str, Any] | None = None, retry: bool = False) -> None:
        attempts = row.attempts + (0 if status == "skipped" else 1)
        report = self.engine.report
        if retry and attempts < MAX_ATTEMPTS:
            status, next_at, finished = "pending", self.now + backoff(attempts), None
            report.retried += 1
        else:
            next_at, finished = self.now, self.now
            if retry:
                status, error = "failed", f"gave up after {attempts} attempts: {error}"
        if status == "sent" or status == "simulated":
            report.sent += 1
        elif status == "failed":
            report.failed += 1
        elif status == "skipped":
            report.skipped += 1
        elif status == "done":
            report.done += 1
        self.outcomes.append({"id": row.id, "status": status, "attempts": attempts, "next_attempt_at": next_at,
                              "finished_at": finished, "provider_id": provider_id, "error": error,
                              "payload": json.dumps(payload if payload is not None else row.payload, sort_keys=True,
                                                    default=str)})
        if row.effect == "message" and status in ("sent", "failed", "skipped"):
            self.events.append({
                "event_id": f"{row.key}:{status}", "profile_id": row.profile_id, "event": f"message_{status}",
                "channel": row.channel,
                "properties": json.dumps({"journey": row.journey, "node": row.node, "channel": row.channel,
                                          "template": row.payload.get("template"), "reason": error,
                                          "variant": row.payload.get("variant") or None}, default=str)})

    # -- messages -------------------------------------------------------------------------
    def messages(self, rows: list[OutboxRow]) -> None:
        from segflow.errors import SegflowError
        from segflow.journeys.templates import load_templates, render, template_context

        wh = self.ctx.warehouse
        broken: list[SegflowError] = []  # a broken template file fails its own messages, not the others'
        templates = load_templates(self.ctx.root, errors=broken)
        context = template_context(wh, sorted({r.profile_id for r in rows}), at=self.now)
        suppressed = self._suppressed(rows)
        for row in rows:
            name = row.payload.get("template")
            reason = suppressed.get(row.id)
            if reason is not None:
                self.outcome(row, "skipped", error=reason)
                continue
            template = templates.get(str(name))
            if template is None:
                problem = next((e.message.splitlines()[0] for e in broken if f"/{name}.y" in e.message), None)
                self.outcome(row, "failed", error=problem or f"template {name!r} is missing from templates/")
                continue
            channel = self.channels.get(row.channel)
            if channel is None and self.engine.options.effects:
                self.outcome(row, "failed", error=f"channel {row.channel!r} is not configured")
                continue
            profile = context.get(row.profile_id, {"profile": {}, "traits": {}, "tags": []})
            attribute = getattr(channel, "address_attribute", _ADDRESS.get(row.channel))
            to = profile["profile"].get(attribute) if attribute else None
            if attribute and not to:
                self.outcome(row, "skipped", error="no_address")
                continue
            values = {**profile, "journey": {"name": row.journey, "node": row.node,
                                             "variant": row.payload.get("variant") or ""}}
            try:
                rendered = render(template, values)
            except SegflowError as exc:
                self.outcome(row, "skipped", error=f"template_error: {exc.message}")
                continue
            if not self.engine.options.effects:
                self.engine.report.would.append({
                    "journey": row.journey, "profile_id": row.profile_id, "node": row.node, "channel": row.channel,
                    "template": name, "at": self.now.isoformat(), "subject": rendered.subject})
                self.outcome(row, "simulated")
                continue
            if self.failures[row.channel] >= CIRCUIT:
                self.outcome(row, "pending", error="channel unavailable: left for the next attempt", retry=True)
                continue
            self._send(row, channel, to, rendered)

    def _send(self, row: OutboxRow, channel: Any, to: Any, rendered: Any) -> None:
        from segflow.channels import OutMessage

        message = OutMessage(key=row.key, channel=row.channel, to=None if to is None else str(to),
                             subject=rendered.subject, text=rendered.text, html=rendered.html,
                             meta={"journey": row.journey, "node": row.node, "profile_id": row.profile_id,
                                   "template": row.payload.get("template"), "topic": row.payload.get("topic")})
        try:
            result = channel.send(message)
        except Exception as exc:  # a channel bug: recorded as temporary, never a stopped worker
            result = None
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = result.error
        payload = {**row.payload, "to": message.to, "subject": message.subject}
        if result is not None and result.status == "sent":
            self.failures[row.channel] = 0
            self.outcome(row, "sent", provider_id=result.provider_id, payload=payload)
        elif result is not None and result.status == "permanent":
            self.outcome(row, "failed", error=error, payload=payload)
        else:
            self.failures[row.channel] += 1
            self.outcome(row, "pending", error=error, payload=payload, retry=True)

    def _suppressed(self, rows: list[OutboxRow]) -> dict[int, str]:
        """Outbox row id → the subscription status that forbids the message."""
        from segflow.channels.policy import suppressed

        out: dict[int, str] = {}
        groups: dict[tuple[str, str | None], list[OutboxRow]] = defaultdict(list)
        for row in rows:
            groups[(row.channel, row.payload.get("topic"))].append(row)
        for (channel, topic), group in groups.items():
            found = suppressed(self.ctx.warehouse, sorted({r.profile_id for r in group}), channel, topic, at=self.now)
            for row in group:
                reason = found.get(row.profile_id)
                if reason is None:
                    continue
                if row.payload.get("transactional") and reason == "opted_out":
                    continue
                out[row.id] = reason
        return out

    # -- internal effects ----------------------------------------------------------------
    def internal(self, effect: str, rows: list[OutboxRow]) -> None:
        if not self.engine.options.effects:
            for row in rows:
                self.outcome(row, "simulated")
            return
        groups: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in rows:
            groups[json.dumps({k: v for k, v in row.payload.items() if k not in ("version", "variant", "occurrence")},
                              sort_keys=True, default=str)].append(row)
        for key, group in groups.items():
            spec = json.loads(key)
            ids = sorted({r.profile_id for r in group})
            try:
                self._apply(effect, spec, ids)
            except Exception as exc:
                text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                for row in group:
                    self.outcome(row, "failed", error=text)
                continue
            for row in group:
                self.outcome(row, "done")

    def _apply(self, effect: str, spec: dict[str, Any], ids: list[str]) -> None:
        ctx = self.ctx
        if effect == "tag":
            from segflow.tags.assign import assign_tags, remove_tags

            if spec.get("remove"):
                remove_tags(ctx, spec["tag"], ids)
            else:
                assign_tags(ctx, spec["tag"], ids, source="journey", at=self.now)
        elif effect == "segment":
            from segflow.segments.static import add_members, remove_members

            (remove_members if spec.get("remove") else add_members)(ctx, spec["segment"], ids, at=self.now)
        else:
            import pyarrow as pa

            from segflow.warehouse.base import quote_ident

            wh = ctx.warehouse
            table = pa.table({"profile_id": pa.array(ids, pa.string())})
            with wh.transaction(), wh.registered("journey_set_ids", table):
                for column, value in spec["values"].items():
                    wh.execute(f"UPDATE profiles SET {quote_ident(column)} = ? "
                               "WHERE profile_id IN (SELECT profile_id FROM journey_set_ids)", [value])

    def webhook(self, row: OutboxRow) -> None:
        if not self.engine.options.effects:
            self.outcome(row, "simulated")
            return
        from segflow.journeys.webhooks import call_webhook

        status, error = call_webhook(self.ctx, row, self.now)
        if status == "sent":
            self.outcome(row, "sent")
        elif status == "permanent":
            self.outcome(row, "failed", error=error)
        else:
            self.outcome(row, "pending", error=error, retry=True)

    # -- warehouse events -----------------------------------------------------------------
    def write_events(self) -> None:
        if not self.events or not self.engine.options.effects:
            return
        wh = self.ctx.warehouse
        if not wh.table_exists("events"):
            return
        import pyarrow as pa

        table = pa.table({
            "event_id": pa.array([e["event_id"] for e in self.events], pa.string()),
            "profile_id": pa.array([e["profile_id"] for e in self.events], pa.string()),
            "event": pa.array([e["event"] for e in self.events], pa.string()),
            "ts": pa.array([self.now] * len(self.events), pa.timestamp("us", tz="UTC")),
            "properties": pa.array([e["properties"] for e in self.events], pa.string()),
            "channel": pa.array([e["channel"] for e in self.events], pa.string()),
        })
        with wh.transaction(), wh.registered("journey_message_events", table):
            wh.execute(
                "INSERT INTO events (event_id, profile_id, event, ts, properties, channel, source) "
                "SELECT n.event_id, n.profile_id, n.event, n.ts, n.properties::JSON, n.channel, 'segflow' "
                "FROM journey_message_events n WHERE NOT EXISTS "
                "(SELECT 1 FROM events e WHERE e.event_id = n.event_id)")
        self.events = []


#: The profile attribute a channel's address is in, when the channel does not say.
_ADDRESS = {"email": "email", "sms": "phone"}
