"""Security facts in the symbols table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

The facts of each security the cloud trades, as it knew them at start
(:mod:`aigupiao.domain.securities`: the built-in table with the user's
``symbols.json`` laid over it): ``special`` treatment (``ST``, ``*ST``, ``S``),
``listed_on``, ``fund_kind`` and its ``settlement`` (``T+0`` or ``T+1``), and
``limit_ratio`` where the security's daily limit differs from its board's. Rows
written before are T+1 with nothing else known until the next start rewrites them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 4).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("symbols") as batch:
        batch.add_column(sa.Column("special", sa.String(4), nullable=True))
        batch.add_column(sa.Column("listed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("fund_kind", sa.String(24), nullable=True))
        batch.add_column(
            sa.Column("settlement", sa.String(4), nullable=False, server_default="T+1")
        )
        batch.add_column(sa.Column("limit_ratio", MONEY, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("symbols") as batch:
        for column in ("limit_ratio", "settlement", "fund_kind", "listed_on", "special"):
            batch.drop_column(column)
