"""Identity resolution: run history and pinned splits (issue 3).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("watermark", sa.BigInteger),
        sa.Column("sources", sa.BigInteger),
        sa.Column("persons", sa.BigInteger),
        sa.Column("touched", sa.BigInteger),
        sa.Column("remapped", sa.BigInteger),
        sa.Column("junk", sa.BigInteger),
        sa.Column("seconds", sa.Float),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "identity_pins",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("canonical_before", sa.String(255)),
        sa.Column("note", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source_id", name="uq_identity_pins_source_id"),
    )


def downgrade() -> None:
    op.drop_table("identity_pins")
    op.drop_table("identity_runs")
