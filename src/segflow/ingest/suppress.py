"""Dropping the staged rows of erased people (the suppression of :mod:`segflow.privacy.suppression`).

A load stages its rows, then, before the merge and inside the load's transaction,
:func:`suppress_staged` deletes the staged rows that carry an erased identifier that
still suppresses: a ``profile_id``, an ``anonymous_id``, an ``order_id`` (orders and
their items), a profile column that is an identifier (``identity.profile_columns``:
``email``, ``phone``), or an ``identities`` row's (type, value). Their number is the
load's ``suppressed`` count. They are not written to the rejects file (that would store
the erased person's data again), rejected or not; rows DuckDB's reader could not parse
at all are the exception: they cannot be read, so they are checked by nobody and go to the
rejects file as always.

A subscription row with status ``opted_in`` whose ``profile_id`` is suppressed and whose ``ts``
is later than the erasure lifts it (the person came back with consent; the load file is the
lift's source) and is accepted — an older opted_in row (a reloaded export from before the
erasure) is not a return and stays suppressed, as does a row without a time:
:func:`apply_lifts` records the lift once the load has committed.

Cost: without any erasure, one state query (:func:`~segflow.privacy.suppression.active_suppressions`)
and nothing in the warehouse. With erasures, one statement hashes the *distinct* identifier
values of the staged rows in SQL (``sha256``, the same keyed hash Python computes) and joins
them with the erased hashes; only when one matches does a second pass find the rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from segflow.ingest.readers import sql_string
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.schema.kinds import Kind

__all__ = ["Suppressed", "apply_lifts", "identifier_columns", "suppress_staged"]


@dataclass
class Suppressed:
    """What :func:`suppress_staged` did: rows dropped, and identifiers to lift after the commit."""

    count: int = 0
    lifts: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""


def identifier_columns(kind: Kind, columns: list[str], profile_columns: dict[str, str]) -> list[tuple[str, str]]:
    """The identifiers a staged row of *kind* carries, as (type SQL, value column) over a
    row alias ``s`` — the columns among *columns* (the staged ones)."""
    have = set(columns)
    out = [(sql_string(col), f"s.{q(col)}") for col in ("profile_id", "anonymous_id", "order_id") if col in have]
    if kind.name == "profiles":
        out += [(sql_string(type_), f"s.{q(col)}") for col, type_ in profile_columns.items()
                if col in have and col != "profile_id"]
    if kind.name == "identities" and {"type", "value"} <= have:
        out.append(('s."type"', 's."value"'))
    return out


def suppress_staged(ctx: ProjectContext, kind: Kind, staged: str, columns: list[str], *, source: str) -> Suppressed:
    """Delete the rows of the staged table *staged* that carry a suppressed identifier; see
    the module docstring. Runs inside the load's warehouse transaction."""
    from segflow.privacy.suppression import (
        active_suppressions,
        hash_sql,
        secret_of,
        suppression_rows,
    )

    done = Suppressed(source=source)
    specs = identifier_columns(kind, columns, ctx.config.identity.profile_columns)
    if not specs or not active_suppressions(ctx):
        return done
    wh = ctx.warehouse
    rows = suppression_rows(ctx)
    tag = uuid.uuid4().hex[:12]
    erased, matched, hits = f"_erased_{tag}", f"_suppressed_{tag}", f"_suppressed_rows_{tag}"
    wh.temp_table(erased, "SELECT unnest(?::VARCHAR[]) AS type, unnest(?::VARCHAR[]) AS value_hash, "
                          "unnest(?::BIGINT[]) AS erasure_id, unnest(?::BOOLEAN[]) AS lifted, "
                          "unnest(?::TIMESTAMPTZ[]) AS erased_at",
                  [[r.type for r in rows], [r.value_hash for r in rows], [r.erasure_id for r in rows],
                   [r.lifted for r in rows], [r.erased_at for r in rows]])
    try:
        # The distinct values only are hashed: a 50M-row events file has far fewer ids.
        values = " UNION ".join(f"SELECT {t} AS t, {v}::VARCHAR AS v FROM {staged} AS s WHERE {v} IS NOT NULL"
                                for t, v in specs)
        wh.temp_table(matched, f"SELECT d.t, d.v, e.erasure_id, e.lifted, e.value_hash, e.erased_at FROM ({values}) AS d "
                               f"JOIN {erased} AS e ON e.type = d.t AND e.value_hash = {hash_sql('d.t', 'd.v')}",
                      {"secret": secret_of(ctx)})
        if not wh.count(f"SELECT count(*) FROM {matched} WHERE NOT lifted"):
            return done
        if kind.name == "subscriptions" and {"status", "ts"} <= set(columns):
            # Consent given after the erasure only: an old export's opted_in row is not a return.
            consent = (f"EXISTS (SELECT 1 FROM {staged} AS s WHERE s._reason IS NULL AND s.status = 'opted_in' "
                       f"AND s.profile_id = m.v AND s.ts > m.erased_at)")
            done.lifts = [(str(t), str(h)) for t, h in wh.rows(
                f"SELECT DISTINCT t, value_hash FROM {matched} AS m WHERE t = 'profile_id' AND NOT lifted "
                f"AND {consent} ORDER BY 1, 2")]
            if done.lifts:
                wh.execute(f"UPDATE {matched} AS m SET lifted = true WHERE t = 'profile_id' AND {consent}")
        wh.temp_table(hits, " UNION ALL ".join(
            f"SELECT s.rowid AS r, m.erasure_id, m.lifted FROM {staged} AS s JOIN {matched} AS m "
            f"ON m.t = {t} AND m.v = {v}::VARCHAR" for t, v in specs))
        done.count = wh.count(
            f"DELETE FROM {staged} WHERE rowid IN (SELECT a.r FROM {hits} AS a WHERE NOT a.lifted AND NOT EXISTS "
            f"(SELECT 1 FROM {hits} AS b WHERE b.r = a.r AND b.lifted AND b.erasure_id = a.erasure_id))")
        return done
    finally:
        wh.drop_tables(erased, matched, hits)


def apply_lifts(ctx: ProjectContext, done: Suppressed) -> int:
    """Record the lifts a load's opted-in subscriptions made (after the load committed)."""
    if not done.lifts:
        return 0
    from segflow.privacy.suppression import lift_hashes

    return lift_hashes(ctx, done.lifts, source=f"opted_in subscription in {done.source}", actor="load")
