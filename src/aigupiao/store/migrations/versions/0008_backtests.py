"""Backtests run from the API: status, progress, reason, times and who asked.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

``backtests`` had only ``params`` and ``result``. A run now goes ``queued`` ->
``running`` -> ``done`` | ``failed`` | ``cancelled``, with its progress (``progress_done``
of ``progress_total`` bars or days), the reason of a failure or a cancel (``error``:
code, Chinese and English message), when it started and finished, and the actor that
asked for it (``created_by``, as the audit log names actors), and a done run's
self-contained HTML report (``report_html``, read only by its own route). Rows written before hold
a result or nothing: they become ``done`` or ``failed``. Indexes: ``created_at`` for the
newest-first list, ``status`` for the sweep at start that fails runs a dead process left.
Types as in 0001; batch mode so the downgrade works on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("backtests") as batch:
        batch.add_column(sa.Column("status", sa.String(24), nullable=False, server_default="done"))
        batch.add_column(
            sa.Column("progress_done", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("progress_total", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("error", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("report_html", sa.Text(), nullable=True))
        batch.add_column(sa.Column("started_at", TS, nullable=True))
        batch.add_column(sa.Column("finished_at", TS, nullable=True))
        batch.add_column(
            sa.Column("created_by", sa.String(128), nullable=False, server_default="unknown")
        )
    backtests = sa.table(
        "backtests",
        sa.column("status", sa.String(24)),
        sa.column("result", sa.JSON()),
        sa.column("error", sa.JSON()),
    )
    op.execute(
        backtests.update()
        .where(backtests.c.result.is_(None))
        .values(
            status="failed",
            error={
                "code": "no_result",
                "message": "升级前的回测没有结果",
                "message_en": "a backtest from before the upgrade, without a result",
            },
        )
    )
    op.create_index("ix_backtests_created_at", "backtests", ["created_at"])
    op.create_index("ix_backtests_status", "backtests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_backtests_status", table_name="backtests")
    op.drop_index("ix_backtests_created_at", table_name="backtests")
    with op.batch_alter_table("backtests") as batch:
        for column in (
            "created_by",
            "finished_at",
            "started_at",
            "report_html",
            "error",
            "progress_total",
            "progress_done",
            "status",
        ):
            batch.drop_column(column)
