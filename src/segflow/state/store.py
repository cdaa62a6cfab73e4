"""The state store: small, transactional rows (schema registry, load history, ...).

SQLite by default, PostgreSQL when several workers share the work. The schema is
managed by Alembic; :func:`StateStore.open` brings any database to the latest
revision before use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from segflow import clock
from segflow.errors import StateError
from segflow.state.tables import attributes, loads

__all__ = ["StateStore", "AttributeRow", "MIGRATIONS_DIR"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True, slots=True)
class AttributeRow:
    kind: str
    name: str
    type: str
    label: str
    origin: str


class StateStore:
    """Repository over the state database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> StateStore:
        """Connect to *url* (a SQLAlchemy URL) and upgrade it to the latest revision."""
        try:
            engine = sa.create_engine(url, future=True)
            if engine.dialect.name == "sqlite":
                path = engine.url.database
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
        except (sa.exc.ArgumentError, ModuleNotFoundError) as exc:
            raise StateError(f"state store URL {url!r} is not usable: {exc}", code="bad_state_url") from exc
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- migrations -------------------------------------------------------
    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        assert head is not None
        return head

    def _at_head(self) -> bool:
        """Whether the store is at :data:`~segflow.state.migrations.HEAD`, read without Alembic
        (a plain query of its version table); anything unexpected says no, and Alembic decides."""
        from segflow.state.migrations import HEAD

        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).fetchall()
        except sa.exc.DBAPIError:
            return False
        return [r[0] for r in rows] == [HEAD]

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the database to *revision* (no-op when already there)."""
        try:
            if revision == "head" and self._at_head():
                return
            from alembic import command

            with self.engine.begin() as conn:
                cfg = self._alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except sa.exc.OperationalError as exc:
            raise StateError(
                f"cannot reach the state store at {self.engine.url.render_as_string(hide_password=True)}: "
                f"{exc.orig}",
                code="state_unreachable",
            ) from exc

    def downgrade(self, revision: str) -> None:
        from alembic import command

        with self.engine.begin() as conn:
            cfg = self._alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)

    @staticmethod
    def _alembic_config() -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        return cfg

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- schema registry --------------------------------------------------
    def attributes(self, kind: str | None = None) -> list[AttributeRow]:
        query = sa.select(
            attributes.c.kind, attributes.c.name, attributes.c.type, attributes.c.label, attributes.c.origin
        ).order_by(attributes.c.kind, attributes.c.id)
        if kind is not None:
            query = query.where(attributes.c.kind == kind)
        with self.engine.connect() as conn:
            return [AttributeRow(*row) for row in conn.execute(query)]

    def put_attribute(self, kind: str, name: str, type_: str, *, label: str = "", origin: str) -> None:
        """Insert or update one registry row (kind, name)."""
        now = clock.now()
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(attributes.c.id).where(attributes.c.kind == kind, attributes.c.name == name)
            ).first()
            if existing is None:
                conn.execute(
                    attributes.insert().values(
                        kind=kind, name=name, type=type_, label=label, origin=origin,
                        created_at=now, updated_at=now,
                    )
                )
            else:
                conn.execute(
                    attributes.update()
                    .where(attributes.c.id == existing.id)
                    .values(type=type_, label=label, origin=origin, updated_at=now)
                )

    # -- load history -----------------------------------------------------
    def start_load(self, *, kind: str, path: str, fingerprint: str, size: int) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                loads.insert().values(
                    kind=kind, path=path, fingerprint=fingerprint, bytes=size, started_at=clock.now(), status="running"
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_load(self, load_id: int, *, status: str, error: str | None = None, **counts: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                loads.update()
                .where(loads.c.id == load_id)
                .values(status=status, finished_at=clock.now(), error=error, **counts)
            )

    def loads(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(loads).order_by(loads.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]
