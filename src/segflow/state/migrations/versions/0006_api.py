"""The HTTP API (issue 17): the tracking inbox, API keys, the audit log and erasure records.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("ts", TZ, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("key_id", sa.Integer),
        sa.Column("flushed_at", TZ),
        sa.Column("load_id", sa.Integer),
        sa.UniqueConstraint("message_id", name="uq_inbox_message"),
    )
    op.create_index("ix_inbox_pending", "inbox", ["flushed_at", "id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ),
        sa.Column("revoked_at", TZ),
        sa.Column("last_used_at", TZ),
        sa.Column("rotated_from", sa.Integer),
        sa.Column("rate_limit", sa.Float),
        sa.UniqueConstraint("hash", name="uq_api_keys_hash"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("detail", sa.Text),
        sa.Column("key_id", sa.Integer),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("erased_at", TZ, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("summary", sa.Text),
    )
    op.create_table(
        "erased_identifiers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("erasure_id", sa.Integer, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=False),
        sa.Column("erased_at", TZ, nullable=False),
        sa.Column("lifted_at", TZ),
        sa.Column("lifted_source", sa.Text),
        sa.UniqueConstraint("type", "value_hash", name="uq_erased_identifiers_value"),
    )


def downgrade() -> None:
    op.drop_table("erased_identifiers")
    op.drop_table("erasures")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("api_keys")
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_table("inbox")
