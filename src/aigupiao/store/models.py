"""The database schema (ARCHITECTURE.md, "Data").

One declarative class per table. The repositories read and write these tables
with Core statements, so the classes are the schema, not a unit of work.
``migrations/versions`` must create exactly this schema; a test compares them.

Conventions: ids and codes are strings (symbols as ``sh600519``), money and prices
are :class:`~aigupiao.store.types.Money`, times are
:class:`~aigupiao.store.types.UTCDateTime`, enums are stored as their string value.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import JSONDoc, Money, UTCDateTime

# Deterministic constraint names, so the migration can name them and PostgreSQL
# and SQLite agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY columns.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

ID = 64  # length of ids, names and account ids
CODE = 16  # symbol codes such as sh600519
STATE = 24  # status and enum values


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        Decimal: Money(),
        dict[str, Any]: JSONDoc,
        list[Any]: JSONDoc,
    }


class SymbolRow(Base):
    __tablename__ = "symbols"

    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    exchange: Mapped[str] = mapped_column(String(4))
    board: Mapped[str] = mapped_column(String(STATE))
    name: Mapped[str] = mapped_column(String(ID))
    previous_close: Mapped[Decimal | None]
    is_st: Mapped[bool] = mapped_column(Boolean, default=False)
    # The security facts (aigupiao.domain.securities) the cloud knew at start.
    special: Mapped[str | None] = mapped_column(String(4))  # ST, *ST, S
    listed_on: Mapped[date | None]
    fund_kind: Mapped[str | None] = mapped_column(String(STATE))
    settlement: Mapped[str] = mapped_column(String(4), default="T+1")  # T+0 or T+1
    limit_ratio: Mapped[Decimal | None]  # where it differs from the board's
    updated_at: Mapped[datetime]


class QuoteRow(Base):
    """The latest Level-1 quote per symbol."""

    __tablename__ = "quotes_latest"

    symbol: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    ts: Mapped[datetime]
    last: Mapped[Decimal]
    previous_close: Mapped[Decimal]
    open: Mapped[Decimal]
    high: Mapped[Decimal]
    low: Mapped[Decimal]
    volume: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal]
    bids: Mapped[list[Any]]  # [[price as str, volume], ...]
    asks: Mapped[list[Any]]
    received_at: Mapped[datetime]


class BarRow(Base):
    """An OHLCV bar labelled by its end time; ``freq`` is ``1m`` or ``1d``."""

    __tablename__ = "bars"

    symbol: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    freq: Mapped[str] = mapped_column(String(4), primary_key=True)
    end: Mapped[datetime] = mapped_column(primary_key=True)
    open: Mapped[Decimal]
    high: Mapped[Decimal]
    low: Mapped[Decimal]
    close: Mapped[Decimal]
    volume: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal]


class RawQuoteRow(Base):
    """Every accepted snapshot with its source, kept only when ``market.keep_raw`` is on
    and deleted after ``market.raw_retention_days``. Append-only."""

    __tablename__ = "quotes_raw"
    __table_args__ = (Index("ix_quotes_raw_symbol_ts", "symbol", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(CODE))
    ts: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(ID))
    last: Mapped[Decimal]
    previous_close: Mapped[Decimal]
    open: Mapped[Decimal]
    high: Mapped[Decimal]
    low: Mapped[Decimal]
    volume: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal]
    bids: Mapped[list[Any]]  # [[price as str, volume], ...]
    asks: Mapped[list[Any]]
    limit_up: Mapped[Decimal | None]
    limit_down: Mapped[Decimal | None]
    received_at: Mapped[datetime]


class DecisionRow(Base):
    """A strategy decision with its inputs and the risk verdict. Append-only."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    ts: Mapped[datetime] = mapped_column(index=True)
    strategy: Mapped[str] = mapped_column(String(ID))
    account: Mapped[str] = mapped_column(String(ID))
    symbol: Mapped[str] = mapped_column(String(CODE))
    side: Mapped[str] = mapped_column(String(STATE))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[Decimal | None]
    reason: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]]
    verdict: Mapped[str | None] = mapped_column(String(STATE))
    rule: Mapped[str | None] = mapped_column(String(ID))
    risk_message: Mapped[str | None] = mapped_column(Text)
    command_id: Mapped[str | None] = mapped_column(String(ID))


class CommandRow(Base):
    """A command for a local node; ``id`` is the idempotency key."""

    __tablename__ = "commands"
    __table_args__ = (UniqueConstraint("client_order_id"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    type: Mapped[str] = mapped_column(String(STATE))
    node_id: Mapped[str] = mapped_column(String(ID), index=True)
    account: Mapped[str] = mapped_column(String(ID))
    status: Mapped[str] = mapped_column(String(STATE), index=True)
    # How often it was sent (each ``send``); caps the re-sends of a never-acked command.
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    data: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None]
    client_order_id: Mapped[str | None] = mapped_column(String(ID))
    decision_id: Mapped[str | None] = mapped_column(String(ID))
    issued_at: Mapped[datetime] = mapped_column(index=True)
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class OrderRow(Base):
    """An order as last reported; its history is in ``order_events``.

    Keyed by account and id: a broker numbers orders per account (合同编号), so two
    accounts may report the same id, and one account's report never touches another's.
    """

    __tablename__ = "orders"

    account: Mapped[str] = mapped_column(String(ID), primary_key=True, index=True)
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    node_id: Mapped[str | None] = mapped_column(String(ID))
    command_id: Mapped[str | None] = mapped_column(String(ID))
    symbol: Mapped[str] = mapped_column(String(CODE))
    side: Mapped[str] = mapped_column(String(STATE))
    type: Mapped[str] = mapped_column(String(STATE))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[Decimal | None]
    status: Mapped[str] = mapped_column(String(STATE))
    filled_quantity: Mapped[int] = mapped_column(BigInteger)
    filled_amount: Mapped[Decimal]
    broker_order_id: Mapped[str | None] = mapped_column(String(ID))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class OrderEventRow(Base):
    """One change of an order's status or filled quantity. Append-only."""

    __tablename__ = "order_events"
    __table_args__ = (
        ForeignKeyConstraint(["account", "order_id"], ["orders.account", "orders.id"]),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ID))
    order_id: Mapped[str] = mapped_column(String(ID), index=True)
    ts: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(STATE))
    filled_quantity: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]]


class TradeRow(Base):
    """One fill. Append-only; ``id`` comes from the broker side (numbered per account),
    so adding is idempotent per account."""

    __tablename__ = "trades"

    account: Mapped[str] = mapped_column(String(ID), primary_key=True, index=True)
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(ID), index=True)
    node_id: Mapped[str | None] = mapped_column(String(ID))
    symbol: Mapped[str] = mapped_column(String(CODE))
    side: Mapped[str] = mapped_column(String(STATE))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[Decimal]
    amount: Mapped[Decimal]
    commission: Mapped[Decimal]
    stamp_duty: Mapped[Decimal]
    transfer_fee: Mapped[Decimal]
    ts: Mapped[datetime] = mapped_column(index=True)


class PositionRow(Base):
    """The latest position snapshot of an account, one row per symbol."""

    __tablename__ = "positions"

    account: Mapped[str] = mapped_column(String(ID), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)
    available: Mapped[int] = mapped_column(BigInteger)
    cost_price: Mapped[Decimal]
    last_price: Mapped[Decimal | None]
    updated_at: Mapped[datetime]


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    node_id: Mapped[str | None] = mapped_column(String(ID))
    paper: Mapped[bool] = mapped_column(Boolean)
    cash: Mapped[Decimal]
    frozen_cash: Mapped[Decimal]
    equity: Mapped[Decimal]
    updated_at: Mapped[datetime]


class AccountSnapshotRow(Base):
    """An account's equity over time: at most one row per ``accounts.equity_interval``
    seconds, plus the first snapshot of each trading day. Deleted after
    ``accounts.equity_retention_days``."""

    __tablename__ = "account_snapshots"
    __table_args__ = (Index("ix_account_snapshots_account_ts", "account", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ID))
    ts: Mapped[datetime] = mapped_column(index=True)
    equity: Mapped[Decimal]
    cash: Mapped[Decimal]
    frozen_cash: Mapped[Decimal]
    market_value: Mapped[Decimal]


class NodeRow(Base):
    """A local execution node; ``last_seq`` is the last response/event seq received."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    account: Mapped[str] = mapped_column(String(ID))
    broker: Mapped[str] = mapped_column(String(ID))
    status: Mapped[str] = mapped_column(String(STATE))
    connection_id: Mapped[str | None] = mapped_column(String(ID))
    last_seen: Mapped[datetime]
    registered_at: Mapped[datetime]
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class NodeTokenRow(Base):
    __tablename__ = "node_tokens"
    __table_args__ = (UniqueConstraint("name"), UniqueConstraint("token_hash"))

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(ID))
    account: Mapped[str] = mapped_column(String(ID))
    node_id: Mapped[str] = mapped_column(String(ID), index=True)  # the one node it may be
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(ID))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(STATE))
    created_at: Mapped[datetime]


class UserSessionRow(Base):
    """A person's login: the token is random, shown once (cookie / bearer), stored hashed.

    Deleting the row ends the session at once (logout, user removal, password change).
    """

    __tablename__ = "user_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(ID), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("name"), UniqueConstraint("key_hash"))

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(ID))
    key_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16), server_default="trade")  # read/trade/admin
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class SettingRow(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONDoc)  # any JSON value
    updated_at: Mapped[datetime]


class BacktestRow(Base):
    """A backtest run from the API (migration 0008): queued, running, then done (with its
    report), failed or cancelled (with the reason, never half a report)."""

    __tablename__ = "backtests"
    __table_args__ = (Index("ix_backtests_status", "status"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    params: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(STATE))  # queued running done failed cancelled
    progress_done: Mapped[int] = mapped_column(BigInteger)
    progress_total: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[dict[str, Any] | None]  # {code, message, message_en}
    report_html: Mapped[str | None] = mapped_column(Text)  # the self-contained page, when done
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(128))  # the actor, as in audit_log


class AgentRoundRow(Base):
    """One evaluation round of the agent (migration 0009), so a day can be replayed at the
    very moments it was decided: the market time, the wall-clock time the strategies ran
    (which quotes they had seen: ``quotes_raw.received_at`` up to it), what woke it, and
    per account traded the snapshot it used (``"same"`` when unchanged since the previous
    round, null when none had arrived). Append-only; deleted after 60 days."""

    __tablename__ = "agent_rounds"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(index=True)
    wall_at: Mapped[datetime]
    run: Mapped[str] = mapped_column(String(ID))  # one per process: the market state's life
    trigger: Mapped[str] = mapped_column(String(STATE))
    accounts: Mapped[dict[str, Any]]


class AuditRow(Base):
    """Who did what to what. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(index=True)
    # ``user:NAME``, ``apikey:NAME``, ``node:NAME``: a prefix and a 64-character name.
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(ID))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]]
