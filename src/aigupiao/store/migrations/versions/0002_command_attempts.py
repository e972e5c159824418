"""Count the deliveries of each command (``commands.attempts``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-12

The cloud gives up re-sending a command the node never acknowledged once it has
been delivered ``1 + local_trading.retry_attempts`` times. Existing rows start at 0:
they get the full number of re-sends from now on. Batch mode, so the downgrade's
DROP COLUMN also works on SQLite (which then copies the table).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("commands") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("commands") as batch:
        batch.drop_column("attempts")
