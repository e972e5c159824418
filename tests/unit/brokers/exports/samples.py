"""Domain objects to export: positions, orders in every status the 备注 column shows, fills."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from aigupiao.domain.account import Position
from aigupiao.domain.orders import Fees, Order, OrderType, Side, Trade
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, parse_symbol

MAOTAI = parse_symbol("sh600519")
PINGAN = parse_symbol("sz000001")
CHINEXT_ETF = parse_symbol("sz159915")
SMIC = parse_symbol("sh688981")
NAMES = {"sh600519": "贵州茅台", "sz000001": "平安银行", "sz159915": "创业板ETF"}

MORNING = datetime(2025, 7, 2, 9, 35, 1, tzinfo=BEIJING)
AFTERNOON = datetime(2025, 7, 2, 14, 5, 59, tzinfo=BEIJING)

POSITIONS = (
    Position(MAOTAI, 300, 200, Decimal("1450.123"), Decimal("1466.80")),
    Position(PINGAN, 1000, 1000, Decimal("10.905"), None),  # no quote yet
    Position(CHINEXT_ETF, 5000, 5000, Decimal("2.739"), Decimal("2.816")),
)


def _order(order_id: str, symbol: Symbol, side: Side, quantity: int, price: str | None) -> Order:
    return Order(
        id=order_id,
        account="paper-1",
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT if price else OrderType.MARKET,
        quantity=quantity,
        price=Decimal(price) if price else None,
        created_at=MORNING,
    )


FILLED = _order("P1-000001", MAOTAI, Side.BUY, 100, "1466.80").submit("P1-000001")
FILLED = FILLED.fill(100, Decimal("1466.80"))
PART_CANCELLED = _order("P1-000002", PINGAN, Side.SELL, 1000, "10.90").submit("P1-000002")
PART_CANCELLED = PART_CANCELLED.fill(300, Decimal("10.90")).request_cancel().cancel("用户撤单")
CANCELLED = _order("P1-000003", PINGAN, Side.BUY, 500, "10.50").submit("P1-000003").cancel()
REJECTED = _order("P1-000004", SMIC, Side.BUY, 100, "115.82").reject("资金不足")
OPEN_MARKET = _order("P1-000005", MAOTAI, Side.SELL, 100, None).submit("P1-000005")
PART_PENDING = _order("P1-000006", CHINEXT_ETF, Side.BUY, 2000, "2.816").submit("P1-000006")
PART_PENDING = PART_PENDING.fill(800, Decimal("2.815")).request_cancel()
EXPIRED = _order("P1-000007", CHINEXT_ETF, Side.SELL, 1000, "2.900").submit("P1-000007").expire()
ORDERS = (FILLED, PART_CANCELLED, CANCELLED, REJECTED, OPEN_MARKET, PART_PENDING, EXPIRED)
STATUS_WORDS = ("已成", "部撤", "已撤", "废单", "已报", "部成待撤", "已过期")

TRADES = (
    Trade(
        id="T1-000001",
        order_id="P1-000001",
        account="paper-1",
        symbol=MAOTAI,
        side=Side.BUY,
        quantity=100,
        price=Decimal("1466.80"),
        amount=Decimal("146680.00"),
        fees=Fees(Decimal("14.67"), Decimal("0"), Decimal("1.47")),
        ts=MORNING,
    ),
    Trade(
        id="T1-000002",
        order_id="P1-000002",
        account="paper-1",
        symbol=PINGAN,
        side=Side.SELL,
        quantity=300,
        price=Decimal("10.90"),
        amount=Decimal("3270.00"),
        fees=Fees(Decimal("5"), Decimal("1.64"), Decimal("0.03")),
        ts=AFTERNOON,
    ),
)
