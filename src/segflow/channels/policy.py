"""The send policy: whom a message must not reach, checked at send time.

Consent lives in the warehouse table ``subscriptions`` (profile_id, channel, topic, status,
ts; topic ``''`` means every topic of the channel). For a send on *channel* about *topic*,
a profile's rows that count are that channel's channel-wide rows and its rows for that
topic; the **latest** of them (by ``ts``; rows without ``ts`` count as the oldest; at equal
times a suppressing row wins) decides: ``opted_out``, ``bounced`` or ``complained``
suppress the message, with the status as the reason; ``opted_in`` (or no row) lets it go.
So a later opt-in to one topic lifts an earlier channel-wide opt-out for that topic, and a
later channel-wide opt-out stops every topic.

The check is set-based: one query for the whole batch, the ids registered as an Arrow
table (never a query per profile). Later: frequency caps and quiet hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["SUBSCRIPTIONS", "SUPPRESSING", "suppressed"]

SUBSCRIPTIONS = "subscriptions"
#: The statuses that stop a message (``segflow.schema.kinds.SUBSCRIPTION_STATUSES`` less opted_in).
SUPPRESSING = ("opted_out", "bounced", "complained")
_IDS = "_segflow_policy_ids"


def suppressed(wh: Warehouse, profile_ids: Sequence[str], channel: str, topic: str | None,
               *, at: datetime | None = None) -> dict[str, str]:
    """``{profile_id: reason}`` for the profiles of *profile_ids* that must not get a message
    on *channel* about *topic* (None: channel-wide rows only); the reason is the deciding
    status (``"opted_out"``, ``"bounced"``, ``"complained"``). With *at*, rows stamped later
    than *at* are not known yet (a run as of a pinned time). No ``subscriptions`` table:
    nobody is suppressed.

        >>> suppressed(ctx.warehouse, ["p1", "p2"], "email", "promotions")   # doctest: +SKIP
        {'p2': 'opted_out'}
    """
    ids = list(dict.fromkeys(str(p) for p in profile_ids))
    if not ids or not wh.table_exists(SUBSCRIPTIONS):
        return {}
    import pyarrow as pa

    from segflow.clock import as_utc

    topics = ["", topic] if topic else [""]
    marks = ", ".join("?" for _ in SUPPRESSING)
    params: list[object] = [channel.strip().lower(), *topics]
    when = ""
    if at is not None:
        when = " AND (s.ts IS NULL OR s.ts <= ?)"
        params.append(as_utc(at))
    sql = (
        "SELECT profile_id, status FROM ("
        "SELECT s.profile_id, s.status, row_number() OVER (PARTITION BY s.profile_id "
        f"ORDER BY s.ts DESC NULLS LAST, CASE WHEN s.status IN ({marks}) THEN 0 ELSE 1 END) AS _rank "
        f"FROM {SUBSCRIPTIONS} AS s JOIN {_IDS} AS i ON i.profile_id = s.profile_id "
        f"WHERE s.channel = ? AND coalesce(s.topic, '') IN ({', '.join('?' for _ in topics)}){when}"
        f") AS latest WHERE _rank = 1 AND status IN ({marks})"
    )
    with wh.registered(_IDS, pa.table({"profile_id": pa.array(ids, pa.string())})):
        rows = wh.rows(sql, [*SUPPRESSING, *params, *SUPPRESSING])
    return {str(pid): str(status) for pid, status in rows}
