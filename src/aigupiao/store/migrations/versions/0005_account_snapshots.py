"""Account equity history (``account_snapshots``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

One row per account per ``accounts.equity_interval`` seconds (the latest snapshot of
that interval) plus the first snapshot of each trading day, which is never overwritten:
the dashboard's equity curve and today's P&L read it. The index on ``(account, ts)``
serves those reads, the one on ``ts`` the retention task
(``accounts.equity_retention_days``). Types as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 4).with_variant(sa.String(32), "sqlite")
TS = sa.DateTime(timezone=True)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_snapshots",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("equity", MONEY, nullable=False),
        sa.Column("cash", MONEY, nullable=False),
        sa.Column("frozen_cash", MONEY, nullable=False),
        sa.Column("market_value", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_account_snapshots"),
    )
    op.create_index("ix_account_snapshots_ts", "account_snapshots", ["ts"])
    op.create_index("ix_account_snapshots_account_ts", "account_snapshots", ["account", "ts"])


def downgrade() -> None:
    op.drop_index("ix_account_snapshots_account_ts", table_name="account_snapshots")
    op.drop_index("ix_account_snapshots_ts", table_name="account_snapshots")
    op.drop_table("account_snapshots")
