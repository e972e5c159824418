"""A small scripted broker for executor tests: records every call, answers as configured.

The real adapters (ths, qmt) need a Windows broker client; the paper broker has its
own tests. This fake only has to honour the :mod:`aigupiao.brokers.base` port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from aigupiao.brokers.base import (
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    OrderRequest,
    OrderResult,
)
from aigupiao.core.clock import BEIJING
from aigupiao.domain.account import Account, Position
from aigupiao.domain.orders import Fees, Order, OrderType, Side, Trade
from aigupiao.domain.symbols import parse_symbol
from aigupiao.protocol import v1

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)
PINGAN = parse_symbol("sz000001")
FILL_PRICE = Decimal("10.00")

Outcome = Literal["fill", "reject", "unavailable", "timeout", "hang"]


def filled_order(request: OrderRequest, order_id: str = "o-1") -> Order:
    return (
        Order(
            id=order_id,
            account=request.account,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            quantity=request.quantity,
            price=request.price,
            created_at=NOW,
            client_order_id=request.client_order_id,
        )
        .submit(f"B-{order_id}")
        .fill(request.quantity, request.price or FILL_PRICE)
    )


def order_for(client_order_id: str) -> Order:
    """An order as the broker would report it for ``client_order_id``."""
    request = OrderRequest(
        account="paper-1",
        symbol=PINGAN,
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=100,
        price=FILL_PRICE,
        client_order_id=client_order_id,
    )
    return filled_order(request, order_id="o-found")


class FakeBroker:
    name = "fake"
    account_id = "paper-1"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.outcome: Outcome = "fill"
        self.reject_code = "cash"
        self.hang_seconds = 30.0
        self.found: Order | None = None
        self.find_error: BrokerError | None = None
        self.account_error: BrokerError | None = None
        # Called inside place_order before it answers (to observe the journal).
        self.on_place: Callable[[OrderRequest], Awaitable[None]] | None = None

    def called(self, method: str) -> list[Any]:
        return [arg for name, arg in self.calls if name == method]

    async def place_order(self, request: OrderRequest) -> OrderResult:
        self.calls.append(("place_order", request))
        if self.on_place is not None:
            await self.on_place(request)
        if self.outcome == "reject":
            raise BrokerRejected("可用资金不足", "not enough cash", code=self.reject_code)
        if self.outcome == "unavailable":
            raise BrokerUnavailable("客户端未运行", "broker client not running")
        if self.outcome == "timeout":
            raise BrokerTimeout("券商无应答", "no answer from the broker")
        if self.outcome == "hang":
            await asyncio.sleep(self.hang_seconds)
        order = filled_order(request)
        trade = Trade(
            id="t-1",
            order_id=order.id,
            account=order.account,
            symbol=order.symbol,
            side=order.side,
            quantity=order.quantity,
            price=request.price or FILL_PRICE,
            amount=(request.price or FILL_PRICE) * order.quantity,
            fees=Fees(Decimal("5.00"), Decimal("0"), Decimal("0.01")),
            ts=NOW,
        )
        return OrderResult(order=order, trades=(trade,))

    async def cancel_order(self, order_id: str) -> Order:
        self.calls.append(("cancel_order", order_id))
        return _cancelled(order_id)

    async def get_account(self) -> Account:
        self.calls.append(("get_account", None))
        if self.account_error is not None:
            raise self.account_error
        position = Position(PINGAN, total=100, available=0, cost_price=Decimal("10.0501"))
        return Account(id=self.account_id, cash=Decimal("8994.99"), positions=(position,))

    async def get_orders(self) -> list[Order]:
        self.calls.append(("get_orders", None))
        return []

    async def get_trades(self) -> list[Trade]:
        self.calls.append(("get_trades", None))
        return []

    async def find_order(self, client_order_id: str) -> Order | None:
        self.calls.append(("find_order", client_order_id))
        if self.find_error is not None:
            raise self.find_error
        return self.found

    def set_listener(self, listener: Callable[[str, object], None] | None) -> None:
        self.listener = listener

    async def close(self) -> None:
        self.calls.append(("close", None))


def _cancelled(order_id: str) -> Order:
    order = Order(
        id=order_id,
        account="paper-1",
        symbol=PINGAN,
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=100,
        price=Decimal("9.00"),
        created_at=NOW,
    )
    return order.submit(f"B-{order_id}").cancel("用户撤单")


def trade_command(
    command_id: str = "c-1",
    *,
    ttl: timedelta = timedelta(seconds=10),
    price: Decimal | None = Decimal("10.00"),
    stock_code: str = "sz000001",
    action: str = "buy",
) -> v1.TradeCommand:
    now = datetime.now(UTC)
    return v1.TradeCommand(
        id=command_id,
        issued_at=now,
        expires_at=now + ttl,
        data=v1.TradeData(
            action=action,  # type: ignore[arg-type]
            stock_code=stock_code,
            quantity=100,
            price=price,
            agent_id="dip_buy",
            decision_id="d-1",
        ),
    )
