"""Initial schema: every table of ARCHITECTURE.md "Data".

Revision ID: 0001
Revises:
Create Date: 2026-01-05

Types are spelled out here rather than imported from ``models.py``, so this
revision keeps creating the same schema when the models move on. They match
``aigupiao.store.types``: money is NUMERIC(20, 4) on PostgreSQL and decimal text
on SQLite, times are TIMESTAMP WITH TIME ZONE (UTC text on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 4).with_variant(sa.String(32), "sqlite")
TS = sa.DateTime(timezone=True)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(64)
CODE = sa.String(16)
STATE = sa.String(24)


def _id_column(name: str = "id") -> sa.Column[int]:
    return sa.Column(name, AUTO_ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "symbols",
        sa.Column("code", CODE, nullable=False),
        sa.Column("exchange", sa.String(4), nullable=False),
        sa.Column("board", STATE, nullable=False),
        sa.Column("name", ID, nullable=False),
        sa.Column("previous_close", MONEY, nullable=True),
        sa.Column("is_st", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_symbols"),
    )
    op.create_table(
        "quotes_latest",
        sa.Column("symbol", CODE, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("last", MONEY, nullable=False),
        sa.Column("previous_close", MONEY, nullable=False),
        sa.Column("open", MONEY, nullable=False),
        sa.Column("high", MONEY, nullable=False),
        sa.Column("low", MONEY, nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("bids", sa.JSON(), nullable=False),
        sa.Column("asks", sa.JSON(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("symbol", name="pk_quotes_latest"),
    )
    op.create_table(
        "bars",
        sa.Column("symbol", CODE, nullable=False),
        sa.Column("freq", sa.String(4), nullable=False),
        sa.Column("end", TS, nullable=False),
        sa.Column("open", MONEY, nullable=False),
        sa.Column("high", MONEY, nullable=False),
        sa.Column("low", MONEY, nullable=False),
        sa.Column("close", MONEY, nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "freq", "end", name="pk_bars"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("strategy", ID, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("symbol", CODE, nullable=False),
        sa.Column("side", STATE, nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("verdict", STATE, nullable=True),
        sa.Column("rule", ID, nullable=True),
        sa.Column("risk_message", sa.Text(), nullable=True),
        sa.Column("command_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_ts", "decisions", ["ts"])
    op.create_table(
        "commands",
        sa.Column("id", ID, nullable=False),
        sa.Column("type", STATE, nullable=False),
        sa.Column("node_id", ID, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("status", STATE, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("client_order_id", ID, nullable=True),
        sa.Column("decision_id", ID, nullable=True),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("acked_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_commands"),
        sa.UniqueConstraint("client_order_id", name="uq_commands_client_order_id"),
    )
    op.create_index("ix_commands_issued_at", "commands", ["issued_at"])
    op.create_index("ix_commands_node_id", "commands", ["node_id"])
    op.create_index("ix_commands_status", "commands", ["status"])
    op.create_table(
        "orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("node_id", ID, nullable=True),
        sa.Column("command_id", ID, nullable=True),
        sa.Column("symbol", CODE, nullable=False),
        sa.Column("side", STATE, nullable=False),
        sa.Column("type", STATE, nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("status", STATE, nullable=False),
        sa.Column("filled_quantity", sa.BigInteger(), nullable=False),
        sa.Column("filled_amount", MONEY, nullable=False),
        sa.Column("broker_order_id", ID, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )
    op.create_index("ix_orders_account", "orders", ["account"])
    op.create_index("ix_orders_created_at", "orders", ["created_at"])
    op.create_table(
        "order_events",
        _id_column(),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("status", STATE, nullable=False),
        sa.Column("filled_quantity", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_order_events_order_id_orders"
        ),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])
    op.create_table(
        "trades",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("node_id", ID, nullable=True),
        sa.Column("symbol", CODE, nullable=False),
        sa.Column("side", STATE, nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("commission", MONEY, nullable=False),
        sa.Column("stamp_duty", MONEY, nullable=False),
        sa.Column("transfer_fee", MONEY, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
    )
    op.create_index("ix_trades_account", "trades", ["account"])
    op.create_index("ix_trades_order_id", "trades", ["order_id"])
    op.create_index("ix_trades_ts", "trades", ["ts"])
    op.create_table(
        "positions",
        sa.Column("account", ID, nullable=False),
        sa.Column("symbol", CODE, nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("cost_price", MONEY, nullable=False),
        sa.Column("last_price", MONEY, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("account", "symbol", name="pk_positions"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("node_id", ID, nullable=True),
        sa.Column("paper", sa.Boolean(), nullable=False),
        sa.Column("cash", MONEY, nullable=False),
        sa.Column("frozen_cash", MONEY, nullable=False),
        sa.Column("equity", MONEY, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
    )
    op.create_table(
        "nodes",
        sa.Column("id", ID, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("broker", ID, nullable=False),
        sa.Column("status", STATE, nullable=False),
        sa.Column("connection_id", ID, nullable=True),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_nodes"),
    )
    op.create_table(
        "node_tokens",
        _id_column(),
        sa.Column("name", ID, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_node_tokens"),
        sa.UniqueConstraint("name", name="uq_node_tokens_name"),
        sa.UniqueConstraint("token_hash", name="uq_node_tokens_token_hash"),
    )
    op.create_table(
        "users",
        _id_column(),
        sa.Column("username", ID, nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", STATE, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "api_keys",
        _id_column(),
        sa.Column("name", ID, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "backtests",
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_backtests"),
    )
    op.create_table(
        "audit_log",
        _id_column(),
        sa.Column("ts", TS, nullable=False),
        sa.Column("actor", ID, nullable=False),
        sa.Column("action", ID, nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])


def downgrade() -> None:
    for index, table in (
        ("ix_audit_log_ts", "audit_log"),
        ("ix_trades_ts", "trades"),
        ("ix_trades_order_id", "trades"),
        ("ix_trades_account", "trades"),
        ("ix_order_events_order_id", "order_events"),
        ("ix_orders_created_at", "orders"),
        ("ix_orders_account", "orders"),
        ("ix_commands_status", "commands"),
        ("ix_commands_node_id", "commands"),
        ("ix_commands_issued_at", "commands"),
        ("ix_decisions_ts", "decisions"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "audit_log",
        "backtests",
        "settings",
        "api_keys",
        "users",
        "node_tokens",
        "nodes",
        "accounts",
        "positions",
        "trades",
        "order_events",
        "orders",
        "commands",
        "decisions",
        "bars",
        "quotes_latest",
        "symbols",
    ):
        op.drop_table(table)
