"""The suppression record an erasure leaves, and lifting it when a person comes back.

An erasure (:mod:`segflow.privacy.erase`) keeps, in the state store's
``erased_identifiers``, one keyed hash per id and identifier value of the erased person
(``profile_id``, ``anonymous_id``, ``order_id``, ``email``, ``phone``, ``wechat_openid``,
...): ``sha256(secret + ":" + type + ":" + normalised value)``
(:func:`segflow.secret.identifier_hash`). No value is kept, only its hash.

While a row of an erasure is not lifted, loads drop the rows that carry it
(:mod:`segflow.ingest.suppress`) and :func:`is_suppressed` answers for tracking calls.
*Lifted* identifiers (:func:`lift_suppression`: the person came back with consent) no
longer suppress, and they vouch for their erasure: a row that carries a lifted identifier
of an erasure is not suppressed by the other identifiers of that same erasure (the
person gave consent under it; the row is theirs). Identifiers of another erasure still
suppress it.

Values are normalised as ingest normalises them (:func:`identifier_sql`): e-mails trimmed
and lower-cased, phones E.164 with the project's default country, every other value
trimmed, so a hash made at erasure time matches the staged value of a later load.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from segflow import clock
from segflow.errors import IdentityError
from segflow.ingest.phones import phone_sql
from segflow.secret import identifier_hash, project_secret

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from segflow.context import ProjectContext

__all__ = ["SuppressionRow", "active_suppressions", "hash_sql", "identifier_sql", "is_suppressed", "lift_hashes",
           "lift_suppression", "normalise_identifiers", "record_identifiers", "secret_of", "suppression_rows"]


class SuppressionRow(NamedTuple):
    type: str
    value_hash: str
    erasure_id: int
    lifted: bool
    erased_at: datetime


def identifier_sql(type_sql: str, value_sql: str, country: str | None) -> str:
    """SQL normalising the text *value_sql* of the identifier type *type_sql* as ingest does
    (NULL for an empty value)."""
    value = f"nullif(trim({value_sql}), '')"
    return (f"CASE WHEN {value} IS NULL THEN NULL WHEN {type_sql} = 'email' THEN lower({value}) "
            f"WHEN {type_sql} = 'phone' THEN {phone_sql(value, country)} ELSE {value} END")


def hash_sql(type_sql: str, value_sql: str) -> str:
    """SQL of the keyed hash of an identifier; the secret is the named parameter ``$secret``
    (:func:`secret_of`), so it is never written into a statement's text."""
    return f"sha256($secret || ':' || {type_sql} || ':' || {value_sql})"


def secret_of(ctx: ProjectContext) -> str:
    """The project's secret as text (what :func:`hash_sql` takes as ``$secret``)."""
    return project_secret(ctx.root).decode()


def active_suppressions(ctx: ProjectContext) -> int:
    """How many erased identifiers suppress now (one cheap query: the cost of a load when
    nobody was ever erased)."""
    import sqlalchemy as sa

    from segflow.state.tables import erased_identifiers as t

    with ctx.state.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.lifted_at.is_(None))).scalar() or 0)


def suppression_rows(ctx: ProjectContext) -> list[SuppressionRow]:
    """Every identifier of the erasures that still suppress something, lifted ones included
    (they vouch for their erasure)."""
    import sqlalchemy as sa

    from segflow.state.tables import erased_identifiers as t

    live = sa.select(t.c.erasure_id).where(t.c.lifted_at.is_(None)).distinct()
    query = sa.select(t.c.type, t.c.value_hash, t.c.erasure_id, t.c.lifted_at.is_not(None), t.c.erased_at).where(
        t.c.erasure_id.in_(live))
    with ctx.state.engine.connect() as conn:
        return [SuppressionRow(str(a), str(b), int(c), bool(d), clock.utc(e)) for a, b, c, d, e in conn.execute(query)]


def normalise_identifiers(ctx: ProjectContext, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """Each (type, value) with the type trimmed and lower-cased and the value normalised as
    ingest does (None when empty), in one warehouse query."""
    given = [(str(t).strip().lower(), str(v)) for t, v in pairs]
    if not given:
        return []
    expr = identifier_sql("t", "v", ctx.config.default_phone_country)
    rows = ctx.warehouse.rows(
        f"SELECT i, {expr} FROM (SELECT unnest(?::VARCHAR[]) AS t, unnest(?::VARCHAR[]) AS v, "
        f"unnest(range(?::BIGINT)) AS i) ORDER BY i",
        [[t for t, _ in given], [v for _, v in given], len(given)],
    )
    return [(given[int(i)][0], None if n is None else str(n)) for i, n in rows]


def _hashed(ctx: ProjectContext, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(type, value) as given → (type, keyed hash of the normalised value)."""
    given = list(pairs)
    secret = project_secret(ctx.root)
    out = {}
    for (raw_type, raw), (type_, value) in zip(given, normalise_identifiers(ctx, given)):
        if value is not None:
            out[(raw_type, raw)] = (type_, identifier_hash(secret, type_, value))
    return out


def is_suppressed(ctx: ProjectContext, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The pairs among *pairs* (identifiers of one call or row: ``("profile_id", "u1")``,
    ``("anonymous_id", "a9")``, ``("email", " Ann@X.com ")``) that suppress it: erased and
    not lifted, and not vouched for by a lifted identifier of the same erasure among *pairs*.
    Empty: take the call. Without any erasure this is one state query, no warehouse work.

        >>> if is_suppressed(ctx, [("profile_id", user_id), ("email", email)]):  # doctest: +SKIP
        ...     return  # the person was erased: drop the call (and count it)
    """
    given = list(dict.fromkeys((t, v) for t, v in pairs if v is not None and str(v).strip()))
    if not given or not active_suppressions(ctx):
        return set()
    rows = {(r.type, r.value_hash): r for r in suppression_rows(ctx)}
    found = {pair: rows[h] for pair, h in _hashed(ctx, given).items() if h in rows}
    vouched = {r.erasure_id for r in found.values() if r.lifted}
    return {pair for pair, r in found.items() if not r.lifted and r.erasure_id not in vouched}


def record_identifiers(conn: Connection, erasure_id: int, hashes: Iterable[tuple[str, str]]) -> int:
    """Record (type, keyed hash) pairs for *erasure_id* in the open state transaction *conn*;
    a pair erased before (and perhaps lifted since) suppresses again, for this erasure."""
    import sqlalchemy as sa

    from segflow.state.tables import erased_identifiers as t

    now = clock.now()
    pairs = sorted(set(hashes))
    for type_, value_hash in pairs:
        found = conn.execute(sa.select(t.c.id).where(t.c.type == type_, t.c.value_hash == value_hash)).first()
        if found is None:
            conn.execute(t.insert().values(erasure_id=erasure_id, type=type_, value_hash=value_hash, erased_at=now))
        else:
            conn.execute(t.update().where(t.c.id == found.id).values(
                erasure_id=erasure_id, erased_at=now, lifted_at=None, lifted_source=None))
    return len(pairs)


def lift_hashes(ctx: ProjectContext, hashes: Iterable[tuple[str, str]], *, source: str, actor: str = "cli") -> int:
    """Lift the erased identifiers (type, keyed hash) that still suppress; return how many
    were lifted. One audit entry ``profile.unsuppress`` per identifier (its type and hash)."""
    import sqlalchemy as sa

    from segflow.privacy.audit import record_audit
    from segflow.state.tables import erased_identifiers as t

    lifted = 0
    with ctx.state.begin() as conn:
        for type_, value_hash in sorted(set(hashes)):
            n = conn.execute(t.update().where(t.c.type == type_, t.c.value_hash == value_hash,
                                              t.c.lifted_at.is_(None))
                             .values(lifted_at=clock.now(), lifted_source=source)).rowcount
            if n:
                lifted += n
                erasure = conn.execute(sa.select(t.c.erasure_id).where(
                    t.c.type == type_, t.c.value_hash == value_hash)).scalar()
                record_audit(conn, actor=actor, action="profile.unsuppress", target=f"{type_}:{value_hash}",
                             detail={"erasure_id": erasure, "source": source})
    return lifted


def lift_suppression(ctx: ProjectContext, type_: str, value: str, *, source: str, actor: str = "cli") -> int:
    """The person came back with consent under the identifier (*type_*, *value*): it no longer
    suppresses, and rows that carry it load again (see the module docstring). *source* says
    where the consent came from (a form, a ticket, a file); it is kept with the record.
    Returns how many records were lifted (1); an identifier that suppresses nothing raises
    :class:`~segflow.errors.IdentityError` (code ``not_suppressed``)."""
    hashed = _hashed(ctx, [(type_, value)])
    if not hashed or not lift_hashes(ctx, hashed.values(), source=source, actor=actor):
        shown = type_.strip().lower()
        raise IdentityError(f"{shown} {value!r} is not suppressed (no erasure holds it, or it was lifted already)",
                            code="not_suppressed", path=f"{shown}:{value}")
    return 1
