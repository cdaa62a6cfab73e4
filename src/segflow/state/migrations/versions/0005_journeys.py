"""Journeys (issue 15): journey states, runs, their steps and the outbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "journey_states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("journey", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("entries_from", TZ, nullable=False),
        sa.Column("entry_cursor", TZ),
        sa.Column("seq_cursor", sa.BigInteger),
        sa.Column("identity_seen", sa.BigInteger),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("journey", name="uq_journey_states_journey"),
    )
    op.create_table(
        "journey_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("journey", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("profile_id", sa.String(255), nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False),
        sa.Column("entry_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("due_at", TZ),
        sa.Column("entered_at", TZ, nullable=False),
        sa.Column("node_at", TZ, nullable=False),
        sa.Column("holdout", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("variant", sa.String(255), nullable=False, server_default=""),
        sa.Column("converted_at", TZ),
        sa.Column("exit_reason", sa.String(32)),
        sa.Column("finished_at", TZ),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_until", TZ),
        sa.UniqueConstraint("journey", "profile_id", "occurrence", name="uq_journey_runs_occurrence"),
        sa.UniqueConstraint("journey", "profile_id", "entry_key", name="uq_journey_runs_entry"),
    )
    op.create_index("ix_journey_runs_due", "journey_runs", ["status", "due_at", "id"])
    op.create_index("ix_journey_runs_journey_node", "journey_runs", ["journey", "node"])
    op.create_table(
        "journey_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("journey", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_journey_steps_journey_node", "journey_steps", ["journey", "node"])
    op.create_index("ix_journey_steps_run", "journey_steps", ["run_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(600), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("journey", sa.String(255), nullable=False),
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("profile_id", sa.String(255), nullable=False),
        sa.Column("effect", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False, server_default=""),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("provider_id", sa.String(255)),
        sa.Column("error", sa.Text),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_until", TZ),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at", "id"])
    op.create_index("ix_outbox_journey_node", "outbox", ["journey", "node"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("journey_steps")
    op.drop_table("journey_runs")
    op.drop_table("journey_states")
