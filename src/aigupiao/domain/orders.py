"""Orders, their state machine, and trades (fills).

Orders are immutable: every transition returns a new :class:`Order`, checked
against ``ORDER_TRANSITIONS``; an illegal transition raises.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import Any

from .errors import RuleViolation
from .states import next_state
from .symbols import Exchange, Symbol, lot_rule


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class MarketKind(StrEnum):
    """The exchanges' market-order kinds (市价委托类型).

    What happens to the part the book cannot fill at once differs by kind; which kinds
    an exchange takes is :func:`market_kinds_for`.
    """

    BEST5_IOC = "best5_ioc"  # 最优五档即时成交剩余撤销
    BEST5_TO_LIMIT = "best5_to_limit"  # 最优五档即时成交剩余转限价
    COUNTERPARTY_BEST = "counterparty_best"  # 对手方最优价格
    OWN_BEST = "own_best"  # 本方最优价格
    IOC = "ioc"  # 即时成交剩余撤销 (SZSE)
    FOK = "fok"  # 全额成交或撤销 (SZSE)

    @property
    def label_zh(self) -> str:
        return _MARKET_KIND_LABELS[self]


_MARKET_KIND_LABELS = {
    MarketKind.BEST5_IOC: "最优五档即时成交剩余撤销",
    MarketKind.BEST5_TO_LIMIT: "最优五档即时成交剩余转限价",
    MarketKind.COUNTERPARTY_BEST: "对手方最优价格",
    MarketKind.OWN_BEST: "本方最优价格",
    MarketKind.IOC: "即时成交剩余撤销",
    MarketKind.FOK: "全额成交或撤销",
}

# SSE and BSE take the four kinds below (SSE main board since the 2023 registration
# reform); SZSE also takes IOC and FOK. [?] REFERENCE.md lists no primary source.
_SH_MARKET_KINDS = frozenset(
    {
        MarketKind.BEST5_IOC,
        MarketKind.BEST5_TO_LIMIT,
        MarketKind.COUNTERPARTY_BEST,
        MarketKind.OWN_BEST,
    }
)
_MARKET_KINDS = {
    Exchange.SH: _SH_MARKET_KINDS,
    Exchange.BJ: _SH_MARKET_KINDS,
    Exchange.SZ: _SH_MARKET_KINDS | {MarketKind.IOC, MarketKind.FOK},
}


def market_kinds_for(symbol: Symbol) -> frozenset[MarketKind]:
    """The market-order kinds ``symbol``'s exchange accepts."""
    return _MARKET_KINDS[symbol.exchange]


class OrderStatus(StrEnum):
    NEW = "new"  # 未报
    SUBMITTED = "submitted"  # 已报
    PARTIALLY_FILLED = "partially_filled"  # 部成
    CANCEL_PENDING = "cancel_pending"  # 已报待撤 / 部成待撤
    FILLED = "filled"  # 已成
    CANCELLED = "cancelled"  # 已撤 / 部撤
    REJECTED = "rejected"  # 废单
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in _FINAL

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]


_FINAL = {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
_LABELS_ZH = {
    OrderStatus.NEW: "未报",
    OrderStatus.SUBMITTED: "已报",
    OrderStatus.PARTIALLY_FILLED: "部成",
    OrderStatus.CANCEL_PENDING: "已报待撤",
    OrderStatus.FILLED: "已成",
    OrderStatus.CANCELLED: "已撤",
    OrderStatus.REJECTED: "废单",
    OrderStatus.EXPIRED: "已过期",
}

_S = OrderStatus
ORDER_TRANSITIONS: dict[tuple[OrderStatus, str], OrderStatus] = {
    (_S.NEW, "submit"): _S.SUBMITTED,
    (_S.NEW, "reject"): _S.REJECTED,
    (_S.SUBMITTED, "reject"): _S.REJECTED,
    (_S.SUBMITTED, "partial_fill"): _S.PARTIALLY_FILLED,
    (_S.SUBMITTED, "fill"): _S.FILLED,
    (_S.SUBMITTED, "request_cancel"): _S.CANCEL_PENDING,
    (_S.SUBMITTED, "cancel"): _S.CANCELLED,
    (_S.SUBMITTED, "expire"): _S.EXPIRED,
    (_S.PARTIALLY_FILLED, "partial_fill"): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, "fill"): _S.FILLED,
    (_S.PARTIALLY_FILLED, "request_cancel"): _S.CANCEL_PENDING,
    (_S.PARTIALLY_FILLED, "cancel"): _S.CANCELLED,
    (_S.PARTIALLY_FILLED, "expire"): _S.EXPIRED,
    (_S.CANCEL_PENDING, "partial_fill"): _S.CANCEL_PENDING,
    (_S.CANCEL_PENDING, "fill"): _S.FILLED,
    (_S.CANCEL_PENDING, "cancel"): _S.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class Order:
    """An order and how much of it has filled. Prices in CNY, quantities in shares."""

    id: str
    account: str
    symbol: Symbol
    side: Side
    type: OrderType
    quantity: int
    price: Decimal | None  # None for market orders
    created_at: datetime
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: int = 0
    filled_amount: Decimal = Decimal(0)
    broker_order_id: str | None = None
    client_order_id: str | None = None
    reason: str = ""  # why rejected or cancelled
    # For a market order: its kind; ``price`` is then set once the rest turns into a limit
    # order (best5_to_limit, counterparty_best, own_best).
    market_kind: MarketKind | None = None

    @property
    def status_zh(self) -> str:
        """The broker clients' word for the status (部撤 for a cancel after a partial fill)."""
        if self.filled_quantity and self.status is OrderStatus.CANCELLED:
            return "部撤"
        if self.filled_quantity and self.status is OrderStatus.CANCEL_PENDING:
            return "部成待撤"
        return self.status.label_zh

    @property
    def average_price(self) -> Decimal | None:
        if self.filled_quantity == 0:
            return None
        return self.filled_amount / self.filled_quantity

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    def _to(self, trigger: str, **changes: Any) -> Order:
        status = next_state(ORDER_TRANSITIONS, self.status, trigger, "委托/order")
        # What dataclasses.replace does, at a fraction of its cost (orders change often).
        values = list(_ORDER_VALUES(self))
        for name, value in changes.items():
            values[_ORDER_INDEX[name]] = value
        values[_ORDER_INDEX["status"]] = status
        return Order(*values)

    def submit(self, broker_order_id: str) -> Order:
        return self._to("submit", broker_order_id=broker_order_id)

    def reject(self, reason: str) -> Order:
        return self._to("reject", reason=reason)

    def request_cancel(self) -> Order:
        return self._to("request_cancel")

    def cancel(self, reason: str = "") -> Order:
        return self._to("cancel", reason=reason)

    def expire(self) -> Order:
        return self._to("expire")

    def fill(self, quantity: int, price: Decimal) -> Order:
        """Record a fill of ``quantity`` shares at ``price``."""
        filled = self.filled_quantity + quantity
        trigger = "fill" if filled == self.quantity else "partial_fill"
        next_state(ORDER_TRANSITIONS, self.status, trigger, "委托/order")  # state first
        if quantity <= 0 or quantity > self.remaining_quantity:
            raise RuleViolation(
                f"成交数量 {quantity} 超出剩余委托 {self.remaining_quantity}",
                f"fill of {quantity} exceeds remaining {self.remaining_quantity}",
                code="overfill",
            )
        return self._to(
            trigger, filled_quantity=filled, filled_amount=self.filled_amount + quantity * price
        )


_ORDER_FIELDS = tuple(f.name for f in fields(Order))
_ORDER_VALUES = attrgetter(*_ORDER_FIELDS)  # every field, in order, in one C call
_ORDER_INDEX = {name: index for index, name in enumerate(_ORDER_FIELDS)}


@dataclass(frozen=True, slots=True)
class Fees:
    commission: Decimal
    stamp_duty: Decimal
    transfer_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.commission + self.stamp_duty + self.transfer_fee


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill. ``amount`` is quantity x price; ``fees`` are on top of it."""

    id: str
    order_id: str
    account: str
    symbol: Symbol
    side: Side
    quantity: int
    price: Decimal
    amount: Decimal
    fees: Fees
    ts: datetime


def check_quantity(
    symbol: Symbol, side: Side, quantity: int, *, available: int | None = None
) -> None:
    """Validate an order size against the board's lot rule.

    A sell may carry an odd remainder below one lot only if it sells the whole
    available position in one order.

    Raises:
        RuleViolation: with code ``lot`` or ``max_order_size``.
    """
    rule = lot_rule(symbol)
    if quantity <= 0:
        raise RuleViolation(
            f"委托数量必须为正数，收到 {quantity}",
            f"quantity must be positive, got {quantity}",
            code="lot",
        )
    if quantity > rule.maximum:
        raise RuleViolation(
            f"单笔委托最多 {rule.maximum} 股，收到 {quantity}",
            f"at most {rule.maximum} shares per order, got {quantity}",
            code="max_order_size",
        )
    valid = quantity >= rule.minimum and (quantity - rule.minimum) % rule.step == 0
    if valid:
        return
    if side is Side.SELL and available is not None and quantity <= available:
        # An odd remainder below one lot can only be sold, all of it in one order:
        # the whole position, or round lots plus exactly the odd remainder.
        if quantity == available or (
            rule.step > 1 and quantity % rule.step == available % rule.step
        ):
            return
    if rule.step == 1:
        hint_zh, hint_en = f"至少 {rule.minimum} 股", f"at least {rule.minimum} shares"
    else:
        hint_zh, hint_en = f"{rule.step} 股的整数倍", f"a multiple of {rule.step} shares"
    raise RuleViolation(
        f"{symbol.full} 委托数量须为{hint_zh}，收到 {quantity}",
        f"{symbol.full} quantity must be {hint_en}, got {quantity}",
        code="lot",
    )


def check_price_tick(symbol: Symbol, price: Decimal) -> None:
    """Raises RuleViolation (code ``tick``) for non-positive or off-tick prices."""
    if price <= 0:
        raise RuleViolation(
            f"委托价格必须大于0，收到 {price}", f"price must be positive, got {price}", code="tick"
        )
    if price % symbol.tick != 0:
        raise RuleViolation(
            f"{symbol.full} 价格须为 {symbol.tick} 的整数倍，收到 {price}",
            f"{symbol.full} price must be a multiple of {symbol.tick}, got {price}",
            code="tick",
        )
