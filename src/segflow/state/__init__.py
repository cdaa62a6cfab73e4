"""The state store (SQLAlchemy 2 + Alembic): definitions, registry, run history."""

from segflow.state.store import AttributeRow, StateStore

__all__ = ["StateStore", "AttributeRow"]
