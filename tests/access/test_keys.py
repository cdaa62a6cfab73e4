"""API keys on real state stores: SQLite (a fresh project) and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from segflow.access import (
    DEFAULT_SECRET_SCOPES,
    SCOPES,
    KeyCache,
    authenticate,
    create_key,
    get_key,
    list_audit,
    list_keys,
    require,
    revoke_key,
    rotate_key,
)
from segflow.clock import FixedClock
from segflow.errors import AccessError, QueryError
from segflow.state.store import StateStore
from segflow.state.tables import api_keys, audit_log

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Ctx:
    """The narrow context the key services read: a state store and a clock."""

    state: StateStore
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    root: Path = Path(".")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ctx]:
    if request.param == "sqlite":
        import segflow

        ws = segflow.init(tmp_path / "proj")
        ws.clock = FixedClock(T0)
        yield ws  # type: ignore[misc]
        ws.close()
    else:
        store = StateStore.open(request.getfixturevalue("pg_url"))
        yield Ctx(store)
        store.close()


def _rows(ctx: Any) -> list[dict[str, Any]]:
    with ctx.state.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(api_keys))]


def test_the_plaintext_is_never_stored_only_its_sha256(ctx: Ctx) -> None:
    made = create_key(ctx, "secret", name="crm", scopes="profiles:read,exports:read")
    assert made.key.startswith("sfs_") and len(made.key) == 4 + 43
    (row,) = _rows(ctx)
    assert row["hash"] == hashlib.sha256(made.key.encode()).hexdigest()
    assert row["prefix"] == made.key[:12] == made.info.prefix
    assert all(made.key not in str(v) for v in row.values())
    with ctx.state.engine.connect() as conn:
        audit = [dict(r._mapping) for r in conn.execute(sa.select(audit_log))]
    assert audit and all(made.key not in str(v) for r in audit for v in r.values())
    assert "key" not in made.info.to_dict() and made.to_dict()["key"] == made.key


def test_authenticate_finds_the_key_by_its_hash(ctx: Ctx) -> None:
    a = create_key(ctx, "write", name="web")
    b = create_key(ctx, "secret", scopes="all")
    assert a.key.startswith("sfw_") and len(a.key) == 4 + 32
    assert authenticate(ctx.state, a.key, now=T0).id == a.info.id
    got = authenticate(ctx.state, b.key, now=T0)
    assert (got.id, got.kind, got.scopes) == (b.info.id, "secret", frozenset(SCOPES))
    with pytest.raises(AccessError) as caught:
        authenticate(ctx.state, b.key[:-1] + ("A" if b.key[-1] != "A" else "B"), now=T0)
    assert caught.value.code == "unauthorized"
    assert caught.value.message == f"unknown API key {b.key[:12]}…"
    with pytest.raises(AccessError, match="^unknown API key: segflow keys begin with sfw_ or sfs_$"):
        authenticate(ctx.state, "hunter2", now=T0)


def test_revoked_keys_are_refused_and_revoking_twice_changes_nothing(ctx: Ctx) -> None:
    made = create_key(ctx, "secret")
    ctx.clock.at = T0 + timedelta(minutes=5)
    info = revoke_key(ctx, made.info.prefix)
    assert info.revoked_at == T0 + timedelta(minutes=5)
    with pytest.raises(AccessError) as caught:
        authenticate(ctx.state, made.key, now=T0 + timedelta(minutes=6))
    assert (caught.value.code, caught.value.message) == (
        "unauthorized", f"API key {made.info.prefix}… was revoked at 2026-03-01T09:05:00+00:00")
    ctx.clock.at = T0 + timedelta(hours=1)
    again = revoke_key(ctx, made.key)  # by the full key this time
    assert again.revoked_at == T0 + timedelta(minutes=5)
    assert [e.action for e in list_audit(ctx)] == ["key.revoke", "key.create"]
    assert list_keys(ctx) == [] and [k.id for k in list_keys(ctx, include_revoked=True)] == [made.info.id]


def test_rotation_keeps_the_old_key_for_the_grace_period(ctx: Ctx) -> None:
    old = create_key(ctx, "secret", name="crm", scopes=["profiles:read", "journeys:write"], rate_limit=5.0)
    new = rotate_key(ctx, old.info.id, grace=timedelta(hours=2))
    assert new.key != old.key
    assert (new.info.kind, new.info.name, new.info.scopes, new.info.rate_limit, new.info.rotated_from) == (
        "secret", "crm", frozenset({"profiles:read", "journeys:write"}), 5.0, old.info.id)
    assert get_key(ctx, old.info.id).expires_at == T0 + timedelta(hours=2)
    assert authenticate(ctx.state, old.key, now=T0 + timedelta(hours=1, minutes=59)).id == old.info.id
    with pytest.raises(AccessError, match=r"expired at 2026-03-01T11:00:00\+00:00$"):
        authenticate(ctx.state, old.key, now=T0 + timedelta(hours=2))
    assert authenticate(ctx.state, new.key, now=T0 + timedelta(days=30)).id == new.info.id
    assert get_key(ctx, old.info.id).status(T0 + timedelta(hours=3)) == "expired"
    (entry, *_) = list_audit(ctx)
    assert (entry.action, entry.target, entry.detail["new"]) == ("key.rotate", old.info.prefix, new.info.prefix)


def test_rotation_with_no_grace_ends_the_old_key_at_once_and_inactive_keys_are_not_rotated(ctx: Ctx) -> None:
    old = create_key(ctx, "write")
    rotate_key(ctx, old.info.prefix, grace=timedelta(0))
    with pytest.raises(AccessError, match="expired at"):
        authenticate(ctx.state, old.key, now=T0)
    with pytest.raises(QueryError) as caught:
        rotate_key(ctx, old.info.id)
    assert caught.value.code == "inactive_api_key"


def test_scopes_default_to_reading_and_unknown_ones_are_refused(ctx: Ctx) -> None:
    plain = create_key(ctx, "secret")
    assert plain.info.scopes == DEFAULT_SECRET_SCOPES
    assert all(s.endswith(":read") for s in plain.info.scopes) and "audit:read" not in plain.info.scopes
    require(plain.info, "profiles:read")
    with pytest.raises(AccessError) as caught:
        require(plain.info, "profiles:erase")
    assert (caught.value.code, caught.value.message) == (
        "forbidden", f"API key {plain.info.prefix}… lacks the scope profiles:erase")
    with pytest.raises(QueryError) as bad:
        create_key(ctx, "secret", scopes="profiles:read, profils:erase")
    assert bad.value.code == "unknown_scope"
    assert bad.value.message.startswith("unknown scope 'profils:erase' (did you mean 'profiles:erase'?)")
    with pytest.raises(QueryError, match="^a write key takes no scopes"):
        create_key(ctx, "write", scopes="profiles:read")
    assert len(list_keys(ctx)) == 1


def test_a_write_key_is_refused_for_management(ctx: Ctx) -> None:
    write = create_key(ctx, "write")
    with pytest.raises(AccessError) as caught:
        require(write.info, "definitions:read")
    assert caught.value.code == "forbidden"
    assert "a write key can only send tracking calls" in caught.value.message


def test_unknown_and_ambiguous_references(ctx: Ctx) -> None:
    made = create_key(ctx, "secret")
    with pytest.raises(QueryError) as caught:
        get_key(ctx, made.info.prefix[:-1] + "?")
    assert caught.value.code == "unknown_api_key"
    assert f"(did you mean {made.info.prefix!r}?)" in caught.value.message
    create_key(ctx, "secret")
    with pytest.raises(QueryError) as ambiguous:
        get_key(ctx, "sfs_")
    assert ambiguous.value.code == "ambiguous_api_key"
    with pytest.raises(QueryError, match="^no API key '99'"):
        revoke_key(ctx, 99)


class Tick:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_cache_sees_a_revocation_from_elsewhere_after_its_ttl(ctx: Ctx) -> None:
    made = create_key(ctx, "secret")
    tick = Tick()
    cache = KeyCache(ctx.state, ttl=1.0, clock=tick)
    assert cache.authenticate(made.key, now=T0).id == made.info.id
    revoke_key(ctx, made.info.id)  # as the CLI would, in another process
    tick.t = 0.9
    assert cache.authenticate(made.key, now=T0).id == made.info.id  # still cached
    tick.t = 1.0
    with pytest.raises(AccessError, match="was revoked at"):
        cache.authenticate(made.key, now=T0)


def test_the_cache_checks_expiry_against_each_request_time(ctx: Ctx) -> None:
    old = create_key(ctx, "write")
    cache = KeyCache(ctx.state, ttl=3600.0, clock=Tick())
    rotate_key(ctx, old.info.id, grace=timedelta(minutes=10))
    assert cache.authenticate(old.key, now=T0).id == old.info.id
    with pytest.raises(AccessError, match="expired at"):
        cache.authenticate(old.key, now=T0 + timedelta(minutes=10))
    late = create_key(ctx, "write")
    unknown = KeyCache(ctx.state, ttl=1.0, clock=Tick())
    assert unknown.authenticate(late.key, now=T0).id == late.info.id


def test_touch_writes_last_used_and_hourly_use_entries_only(ctx: Ctx) -> None:
    made = create_key(ctx, "write")
    cache = KeyCache(ctx.state)
    info = made.info
    cache.touch(info, T0)  # first use: both written
    assert get_key(ctx, info.id).last_used_at == T0
    for s in range(1, 50):
        cache.touch(info, T0 + timedelta(seconds=s))
    assert get_key(ctx, info.id).last_used_at == T0  # throttled
    cache.touch(info, T0 + timedelta(seconds=60))
    assert get_key(ctx, info.id).last_used_at == T0 + timedelta(seconds=60)
    assert [e.detail for e in list_audit(ctx, action="key.use")] == [{"requests": 1}]
    cache.touch(info, T0 + timedelta(hours=1))
    uses = list_audit(ctx, action="key.use")
    assert [e.detail for e in uses] == [{"requests": 51}, {"requests": 1}]
    assert (uses[0].actor, uses[0].key_id, uses[0].target) == (f"key:{info.id}", info.id, info.prefix)
    cache.touch(info, T0 + timedelta(hours=1, seconds=1))
    assert cache.flush(T0 + timedelta(hours=1, seconds=2)) == 1
    assert list_audit(ctx, action="key.use")[0].detail == {"requests": 1}
    assert cache.flush(T0 + timedelta(hours=1, seconds=3)) == 0
