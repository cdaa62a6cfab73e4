"""The state store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import segflow
from segflow.errors import StateError
from segflow.state.store import StateStore
from segflow.state.tables import metadata


@pytest.fixture(params=["sqlite", "postgres"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_url")


def test_migrations_reach_head_and_match_the_tables(state_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = StateStore.open(state_url)
    assert store.current_revision() == store.head_revision() == "0006"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    store.migrate()  # a second run is a no-op
    store.downgrade("base")
    assert store.current_revision() is None
    store.migrate()
    assert store.current_revision() == "0006"
    store.close()


def test_registry_and_load_history_round_trip(state_url: str) -> None:
    store = StateStore.open(state_url)
    store.put_attribute("profiles", "vip_score", "number", label="VIP", origin="declared")
    store.put_attribute("profiles", "vip_score", "integer", label="VIP", origin="declared")
    store.put_attribute("events", "campaign", "string", origin="inferred")
    got = [(a.kind, a.name, a.type, a.origin) for a in store.attributes()]
    assert got == [("events", "campaign", "string", "inferred"), ("profiles", "vip_score", "integer", "declared")]
    load_id = store.start_load(kind="events", path="/x/e.csv", fingerprint="ab" * 32, size=10)
    store.finish_load(load_id, status="ok", rows=5, accepted=3, inserted=3, rejected=1, duplicates=1)
    [row] = store.loads()
    assert (row["status"], row["rows"], row["accepted"], row["rejected"], row["duplicates"]) == ("ok", 5, 3, 1, 1)
    store.close()


@pytest.mark.postgres
def test_a_project_runs_on_a_postgres_state_store(pg_url: str, tmp_path: Path) -> None:
    ws = segflow.init(tmp_path / "p", state=pg_url)
    file = tmp_path / "p.csv"
    file.write_text("profile_id,vip\np1,true\np2,false\n", encoding="utf-8")
    [s] = ws.load("profiles", [file])
    assert s.inserted == 2
    ws.close()
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT kind, name, type, origin FROM attributes")).all() == [
            ("profiles", "vip", "boolean", "inferred")]
        assert conn.execute(sa.text("SELECT status, inserted FROM loads")).all() == [("ok", 2)]
    engine.dispose()


def test_unreachable_state_store_is_a_clear_error() -> None:
    with pytest.raises(StateError) as info:
        StateStore.open("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    assert info.value.code == "state_unreachable"
    assert str(info.value).startswith("cannot reach the state store at postgresql+psycopg://postgres@127.0.0.1:1/none")


def test_the_head_constant_names_the_newest_migration(tmp_path: Path) -> None:
    """Opening a store at head skips Alembic by comparing with ``migrations.HEAD``: it must
    be the scripts' head, and a store one revision behind must still be upgraded."""
    from segflow.state.migrations import HEAD

    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    assert HEAD == store.head_revision()
    store.downgrade("0003")
    assert not store._at_head()
    store.migrate()
    assert store.current_revision() == HEAD and store._at_head()
    store.close()
