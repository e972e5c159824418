"""The agent's evaluation rounds (``agent_rounds``), for the live-versus-backtest replay.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

One row per round of the agent: its market time (``ts``), the wall-clock time the
strategies ran (``wall_at``: they had seen the quotes received up to then), the agent's run
(``run``: one id per process, so a replay knows which earlier days the strategies' market
state had seen close), what woke it (``trigger``), and per account traded the account
snapshot it used (``"same"`` when unchanged since the previous round, null when none had
arrived). ``aigupiao backtest
replay`` evaluates at exactly these moments with exactly these inputs. The index on ``ts``
serves the replay (one day) and the retention (60 days). Types as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "agent_rounds",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("wall_at", TS, nullable=False),
        sa.Column("run", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(24), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agent_rounds"),
    )
    op.create_index("ix_agent_rounds_ts", "agent_rounds", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_agent_rounds_ts", table_name="agent_rounds")
    op.drop_table("agent_rounds")
