"""Tag library (issue 5): no state tables.

Tag definitions are files (``tags/*.yaml``, versioned by ``segflow apply`` with the other
definitions); assignments and the refresh history live in the warehouse next to the
data they are computed from (``tag_assignments``, ``tag_refreshes``), so a refresh writes
them in the same transaction as it reads. The revision keeps its place in the chain.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
