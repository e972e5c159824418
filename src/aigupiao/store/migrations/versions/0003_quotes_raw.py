"""Raw snapshots (``quotes_raw``), kept only when ``market.keep_raw`` is on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-19

Append-only: one row per accepted quote with the feed or pusher it came from. The
index on ``ts`` serves the retention task (``market.raw_retention_days``), the one on
``(symbol, ts)`` reads of one symbol's history. Types as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 4).with_variant(sa.String(32), "sqlite")
TS = sa.DateTime(timezone=True)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "quotes_raw",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(16), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("last", MONEY, nullable=False),
        sa.Column("previous_close", MONEY, nullable=False),
        sa.Column("open", MONEY, nullable=False),
        sa.Column("high", MONEY, nullable=False),
        sa.Column("low", MONEY, nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("bids", sa.JSON(), nullable=False),
        sa.Column("asks", sa.JSON(), nullable=False),
        sa.Column("limit_up", MONEY, nullable=True),
        sa.Column("limit_down", MONEY, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quotes_raw"),
    )
    op.create_index("ix_quotes_raw_ts", "quotes_raw", ["ts"])
    op.create_index("ix_quotes_raw_symbol_ts", "quotes_raw", ["symbol", "ts"])


def downgrade() -> None:
    op.drop_index("ix_quotes_raw_symbol_ts", table_name="quotes_raw")
    op.drop_index("ix_quotes_raw_ts", table_name="quotes_raw")
    op.drop_table("quotes_raw")
