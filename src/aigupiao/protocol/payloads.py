"""The typed payloads a node reports: orders, fills, accounts, and command results.

``response.result`` and ``event.data`` used to be free-form dicts that the cloud read
by key, so a missing field was a ``KeyError`` and a bad decimal an
``InvalidOperation`` deep inside the cloud. Here each shape is a frozen model with
every number bounded (:mod:`aigupiao.protocol.bounds`), unknown fields refused and
symbols checked; :mod:`aigupiao.protocol.codec` turns domain objects into them (on
the node) and them into domain objects and rows (on the cloud), so both directions
live in one place.

A result names its shape in ``kind``: ``trade``, ``cancel``, ``resolved``,
``export``, ``status``, ``error`` or ``none``. Results a node journaled before
``kind`` existed are still read: their shape is recognised from their keys.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)

from aigupiao.domain.errors import DomainError
from aigupiao.domain.orders import MarketKind, OrderStatus, OrderType, Side
from aigupiao.domain.symbols import parse_symbol

from .bounds import Identifier, Money, Price, Quantity, Shares, SignedMoney, SignedPrice, Text

MAX_ITEMS = 100_000  # orders, fills or positions in one report: far above any day's trading
ExportKind = Literal["positions", "trades", "orders", "all"]


def _known_symbol(value: str) -> str:
    try:
        return parse_symbol(value).full
    except DomainError as exc:
        raise ValueError(exc.message_en) from exc


SymbolText = Annotated[
    str, StringConstraints(pattern=r"^(sh|sz|bj)?\d{6}$"), AfterValidator(_known_symbol)
]
"""A security, ``sh600519`` (or ``600519``, read as the exchange its code belongs to);
always given back in its prefixed form."""

BrokerId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$")]
"""An id a broker gave (order, fill, 合同编号): printable ASCII without spaces, 1 to 64."""

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
"""An error code: ``rejected``, ``broker_timeout``, ``limit_up`` ..."""


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderPayload(Payload):
    """An order as the node's broker last reported it."""

    id: BrokerId
    account: Identifier
    symbol: SymbolText
    side: Side
    type: OrderType
    quantity: Quantity
    price: Price | None = None
    status: OrderStatus
    status_zh: Text = ""
    filled_quantity: Shares = 0
    filled_amount: Money = Decimal(0)
    average_price: Price | None = None
    broker_order_id: BrokerId | None = None
    client_order_id: BrokerId | None = None
    reason: Text = ""
    created_at: AwareDatetime
    market_kind: MarketKind | None = None


class TradePayload(Payload):
    """One fill."""

    id: BrokerId
    order_id: BrokerId
    account: Identifier
    symbol: SymbolText
    side: Side
    quantity: Quantity
    price: Price
    amount: Money
    commission: Money
    stamp_duty: Money
    transfer_fee: Money
    ts: AwareDatetime


class PositionPayload(Payload):
    symbol: SymbolText
    total: Shares
    available: Shares
    cost_price: SignedPrice
    last_price: Price | None = None


class AccountPayload(Payload):
    """An account snapshot. ``market_value`` and ``equity`` are informative: the cloud
    computes its own from the positions."""

    id: Identifier
    cash: SignedMoney
    frozen_cash: Money = Decimal(0)
    market_value: Money | None = None
    equity: SignedMoney | None = None
    paper: bool = True
    positions: Annotated[list[PositionPayload], Field(max_length=MAX_ITEMS)] = []


class ErrorInfo(Payload):
    code: Code
    message: Text
    message_en: Text = ""


# -- command results ----------------------------------------------------------------


class TradeResult(Payload):
    """A trade command's order, the fills it got at once, and the account after."""

    kind: Literal["trade"] = "trade"
    order: OrderPayload
    trades: Annotated[list[TradePayload], Field(max_length=MAX_ITEMS)] = []
    account: AccountPayload | None = None


class CancelResult(Payload):
    kind: Literal["cancel"] = "cancel"
    order: OrderPayload
    account: AccountPayload | None = None


class ResolvedResult(Payload):
    """An interrupted or timed-out trade, found at the broker afterwards."""

    kind: Literal["resolved"] = "resolved"
    order: OrderPayload
    resolved_by: Literal["broker_query"] = "broker_query"


class ExportResult(Payload):
    kind: Literal["export"] = "export"
    data_type: ExportKind
    account: AccountPayload
    positions: Annotated[list[PositionPayload], Field(max_length=MAX_ITEMS)] | None = None
    trades: Annotated[list[TradePayload], Field(max_length=MAX_ITEMS)] | None = None
    orders: Annotated[list[OrderPayload], Field(max_length=MAX_ITEMS)] | None = None
    files: Annotated[list[Text], Field(max_length=64)] | None = None
    files_error: ErrorInfo | None = None


class StatusResult(Payload):
    kind: Literal["status"] = "status"
    broker: Identifier
    account: AccountPayload
    orders_today: Shares
    trades_today: Shares


class ErrorResult(Payload):
    """A refusal, failure, expiry or unknown outcome, with the account when known."""

    kind: Literal["error"] = "error"
    code: Code
    message: Text
    message_en: Text = ""
    account: AccountPayload | None = None


class EmptyResult(Payload):
    kind: Literal["none"] = "none"


def _result_kind(value: Any) -> str | None:
    """The tag of a result: its ``kind``, or for one journaled before ``kind`` existed,
    the shape its keys show."""
    if not isinstance(value, dict):
        return getattr(value, "kind", None)
    kind = value.get("kind")
    if kind is not None:
        return kind if isinstance(kind, str) else None
    if "code" in value:
        return "error"
    if "resolved_by" in value:
        return "resolved"
    if "order" in value:
        return "trade" if "trades" in value else "cancel"
    if "data_type" in value:
        return "export"
    if "broker" in value:
        return "status"
    return "none" if not value else None


Result = Annotated[
    Annotated[TradeResult, Tag("trade")]
    | Annotated[CancelResult, Tag("cancel")]
    | Annotated[ResolvedResult, Tag("resolved")]
    | Annotated[ExportResult, Tag("export")]
    | Annotated[StatusResult, Tag("status")]
    | Annotated[ErrorResult, Tag("error")]
    | Annotated[EmptyResult, Tag("none")],
    Discriminator(
        _result_kind,
        custom_error_type="unknown_result",
        custom_error_message="result has no known kind (trade, cancel, resolved, export, "
        "status, error, none)",
    ),
]
"""What ``response.result`` carries."""


def result_orders(result: BaseModel) -> list[OrderPayload]:
    """Every order a result carries."""
    match result:
        case TradeResult() | CancelResult() | ResolvedResult():
            return [result.order]
        case ExportResult():
            return list(result.orders or ())
    return []


def result_trades(result: BaseModel) -> list[TradePayload]:
    """Every fill a result carries."""
    match result:
        case TradeResult():
            return list(result.trades)
        case ExportResult():
            return list(result.trades or ())
    return []


def result_account(result: BaseModel) -> AccountPayload | None:
    """The account snapshot a result carries, if any."""
    account = getattr(result, "account", None)
    return account if isinstance(account, AccountPayload) else None


def accounts_named(payload: BaseModel) -> set[str]:
    """Every account a result or an event's data speaks for: what the cloud checks
    against the one account a node's token is bound to."""
    match payload:
        case OrderPayload() | TradePayload():
            return {payload.account}
        case AccountPayload():
            return {payload.id}
    named = {order.account for order in result_orders(payload)}
    named |= {trade.account for trade in result_trades(payload)}
    account = result_account(payload)
    if account is not None:
        named.add(account.id)
    return named
