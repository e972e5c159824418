"""API key scopes and node tokens bound to one node id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

- ``api_keys.scope``: ``read``, ``trade`` or ``admin``. Keys made before scopes existed
  acted as a trader, so they become ``trade``.
- ``node_tokens.node_id``: the one node a token may register as. Tokens made before
  were named after their node (``aigupiao node add local-1``), so it is the name.
- Orders and trades are keyed by ``(account, id)``: brokers number them per account
  (合同编号, 成交编号), so two accounts may report the same id, and a report for one
  account must never overwrite another's row. ``order_events`` gains ``account``.
- ``audit_log.actor`` holds 128 characters: ``user:`` and a 64-character name did not fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scope", sa.String(16), nullable=False, server_default="trade"))
    with op.batch_alter_table("node_tokens") as batch:
        batch.add_column(sa.Column("node_id", sa.String(64), nullable=True))
    op.execute("UPDATE node_tokens SET node_id = name WHERE node_id IS NULL")
    with op.batch_alter_table("node_tokens") as batch:
        batch.alter_column("node_id", existing_type=sa.String(64), nullable=False)
        batch.create_index("ix_node_tokens_node_id", ["node_id"])

    with op.batch_alter_table("order_events") as batch:
        batch.add_column(sa.Column("account", sa.String(64), nullable=True))
    op.execute(
        "UPDATE order_events SET account = "
        "(SELECT orders.account FROM orders WHERE orders.id = order_events.order_id)"
    )
    with op.batch_alter_table("order_events") as batch:
        batch.drop_constraint("fk_order_events_order_id_orders", type_="foreignkey")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("pk_orders", type_="primary")
        batch.create_primary_key("pk_orders", ["account", "id"])
    with op.batch_alter_table("order_events") as batch:
        batch.alter_column("account", existing_type=sa.String(64), nullable=False)
        batch.create_foreign_key(
            "fk_order_events_account_orders", "orders", ["account", "order_id"], ["account", "id"]
        )
    with op.batch_alter_table("trades") as batch:
        batch.drop_constraint("pk_trades", type_="primary")
        batch.create_primary_key("pk_trades", ["account", "id"])
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("actor", existing_type=sa.String(64), type_=sa.String(128))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("actor", existing_type=sa.String(128), type_=sa.String(64))
    with op.batch_alter_table("trades") as batch:
        batch.drop_constraint("pk_trades", type_="primary")
        batch.create_primary_key("pk_trades", ["id"])
    with op.batch_alter_table("order_events") as batch:
        batch.drop_constraint("fk_order_events_account_orders", type_="foreignkey")
        batch.drop_column("account")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("pk_orders", type_="primary")
        batch.create_primary_key("pk_orders", ["id"])
    with op.batch_alter_table("order_events") as batch:
        batch.create_foreign_key("fk_order_events_order_id_orders", "orders", ["order_id"], ["id"])
    with op.batch_alter_table("node_tokens") as batch:
        batch.drop_index("ix_node_tokens_node_id")
        batch.drop_column("node_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
