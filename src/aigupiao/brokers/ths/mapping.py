"""easytrader's output (dicts with Chinese keys) translated into aigupiao domain objects.

easytrader reads a 同花顺-style client's grids with pandas (``read_csv`` of the
clipboard or of a Ctrl+S export, ``dtype=str`` only for 证券代码, 合同编号 and a
few other id columns, ``na_filter=False``) and returns ``to_dict("records")``:
ids are strings (an export may wrap them as ``="600900"``), quantities and
prices are int or float (``20000.0``), empty cells are ``""``. Broker builds
name their columns differently, so every field is looked up by any of its
known names (REFERENCE.md, "Broker client exports"), never by position.

Money and prices become Decimal through ``str`` of the float, so ``29.9322``
stays ``Decimal("29.9322")``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from aigupiao.domain.account import Account, Position
from aigupiao.domain.errors import InvalidSymbol
from aigupiao.domain.money import ZERO, to_decimal
from aigupiao.domain.orders import Fees, MarketKind, Order, OrderStatus, OrderType, Side, Trade
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, parse_symbol

from ..vocabulary import UnknownStatus, reason_of, restore_order, side_from_text, status_from_label

log = logging.getLogger(__name__)

Row = Mapping[str, Any]

# Column names per field, in order of preference (variants seen across broker builds).
CODE = ("证券代码", "股票代码", "代码")
NAME = ("证券名称", "股票名称", "名称")
MARKET = ("交易市场", "市场名称", "市场")
SIDE = ("操作", "买卖标志", "买卖方向", "委托类别", "业务名称")
ENTRUST_NO = ("合同编号", "委托编号", "委托序号", "申请编号", "合同号")
ORDER_QUANTITY = ("委托数量",)
ORDER_PRICE = ("委托价格",)
FILLED_QUANTITY = ("成交数量",)
AVERAGE_PRICE = ("成交均价", "成交价格")
STATUS = ("备注", "状态说明", "委托状态", "状态", "订单状态")
ORDER_TIME = ("委托时间", "申报时间", "时间")
ORDER_DATE = ("委托日期", "日期")
TRADE_TIME = ("成交时间", "时间")
TRADE_DATE = ("成交日期", "发生日期", "日期")
TRADE_ID = ("成交编号", "成交序号")
TRADE_AMOUNT = ("成交金额",)
COMMISSION = ("佣金", "手续费")
STAMP_DUTY = ("印花税",)
TRANSFER_FEE = ("过户费",)
POSITION_TOTAL = (
    "股票余额",
    "参考持股",
    "当前持仓",
    "股份余额",
    "实际数量",
    "证券数量",
    "持仓数量",
)
POSITION_AVAILABLE = ("可用余额", "可用股份", "股份可用", "可卖数量", "可用数量")
COST_PRICE = ("成本价", "参考成本价", "摊薄成本价", "买入均价", "成本价格")
LAST_PRICE = ("市价", "当前价", "参考市价", "最新价", "现价")
CASH_AVAILABLE = ("可用金额", "可用资金", "可用余额")
CASH_BALANCE = ("资金余额",)
CASH_FROZEN = ("冻结资金", "冻结金额")

_TIME = re.compile(r"^(\d{1,2}):?(\d{2}):?(\d{2})")


class RowError(ValueError):
    """A row lacks a field it needs or holds a value that is not one."""


def clean(value: Any) -> str:
    """A cell as text: ``'="600900"'`` -> ``'600900'``, ``None`` -> ``''``."""
    if value is None:
        return ""
    text = str(value).strip()
    if text.startswith("="):
        text = text[1:]
    return text.strip().strip('"').strip("'").strip()


def first(row: Row, names: Iterable[str]) -> Any | None:
    """The first of ``names`` present in ``row`` with a non-empty value."""
    for name in names:
        if name in row and clean(row[name]) not in ("", "--", "nan"):
            return row[name]
    return None


def number(value: Any) -> Decimal:
    """A cell as Decimal (floats through ``str``); empty cells are zero."""
    if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
        return to_decimal(value)
    text = clean(value).replace(",", "")
    if text in ("", "--", "nan"):
        return ZERO
    try:
        return to_decimal(text)
    except (ValueError, InvalidOperation) as exc:
        raise RowError(f"not a number: {value!r}") from exc


def shares(value: Any) -> int:
    """A share count; exports write ``"1000.00"`` and ``-200`` for a sell."""
    return abs(int(number(value)))


def required(row: Row, names: tuple[str, ...], what: str) -> Any:
    value = first(row, names)
    if value is None:
        raise RowError(f"no {what} ({'/'.join(names)}) in {dict(row)!r}")
    return value


def symbol_of(row: Row) -> Symbol | None:
    """The row's security, prefixed by its 交易市场; None for what aigupiao does not trade
    (Hong Kong connect, bond repos, unknown codes)."""
    code = clean(required(row, CODE, "code"))
    market = clean(first(row, MARKET) or "")
    if "HK" in market.upper() or "港" in market:
        return None
    prefix = ""
    if "沪" in market or "上海" in market or market.upper().startswith("SH"):
        prefix = "sh"
    elif "深" in market or market.upper().startswith("SZ"):
        prefix = "sz"
    elif "北" in market or "京" in market or market.upper().startswith("BJ"):
        prefix = "bj"
    try:
        return parse_symbol(prefix + code)
    except InvalidSymbol:
        return None


def clock_time(value: Any) -> time | None:
    """``"09:50:30"``, ``"095030"`` or ``95030`` -> 09:50:30; None if absent."""
    text = clean(value)
    if not text:
        return None
    if text.isdigit():
        text = text.zfill(6)
    match = _TIME.match(text)
    if match is None:
        return None
    hour, minute, second = (int(part) for part in match.groups())
    return time(hour, minute, second)


def calendar_day(value: Any, default: date) -> date:
    """``"20170313"`` or ``"2017-03-13"``; ``default`` if absent or unreadable."""
    digits = re.sub(r"\D", "", clean(value))
    if len(digits) == 8:
        try:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError:
            return default
    return default


def order_id(day: date, entrust_no: str) -> str:
    """aigupiao's id of a client order: the 合同编号, made unique across days."""
    return f"{day:%Y%m%d}-{entrust_no}"


def entrust_of(any_order_id: str) -> str:
    """The 合同编号 in an id from :func:`order_id` (a bare 合同编号 is accepted too)."""
    match = re.fullmatch(r"\d{8}-(.+)", any_order_id.strip())
    return match.group(1) if match else any_order_id.strip()


# -- account ------------------------------------------------------------------------


def account_from(balance: Any, positions: Iterable[Row], account_id: str) -> Account:
    """``user.balance`` and ``user.position`` -> Account.

    ``balance`` is a dict of floats read from the 资金股票 page (easytrader's
    ``ClientTrader``), or a one-row list of dicts (older web traders). Cash is
    可用金额; frozen cash is 冻结资金 where the page shows it, else 资金余额 minus
    可用金额 (cash held for open buys), so cash + frozen + market value is the
    account's total as the client counts it.
    """
    data: Row = balance[0] if isinstance(balance, list) and balance else balance
    if not isinstance(data, Mapping):
        raise RowError(f"unreadable balance {balance!r}")
    cash = number(required(data, CASH_AVAILABLE, "available cash"))
    frozen_value = first(data, CASH_FROZEN)
    if frozen_value is not None:
        frozen = number(frozen_value)
    else:
        total_cash = first(data, CASH_BALANCE)
        frozen = max(ZERO, number(total_cash) - cash) if total_cash is not None else ZERO
    return Account(
        id=account_id,
        cash=cash,
        frozen_cash=frozen,
        positions=tuple(positions_from(positions)),
        paper=False,
    )


def positions_from(rows: Iterable[Row]) -> list[Position]:
    positions = []
    for row in rows:
        try:
            symbol = symbol_of(row)
            if symbol is None:
                continue
            total = shares(required(row, POSITION_TOTAL, "holding"))
            if total == 0:
                continue
            available = shares(first(row, POSITION_AVAILABLE) or 0)
            last = first(row, LAST_PRICE)
            positions.append(
                Position(
                    symbol=symbol,
                    total=total,
                    available=min(available, total),
                    cost_price=number(first(row, COST_PRICE) or 0),
                    last_price=number(last) if last is not None else None,
                )
            )
        except RowError as exc:
            log.warning("skipping a position row: %s", exc)
    return positions


# -- orders -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntrustRow:
    """One row of 当日委托, read."""

    entrust_no: str
    symbol: Symbol
    side: Side
    quantity: int
    filled_quantity: int
    price: Decimal  # 委托价格; 0 or a protective price for market orders
    average_price: Decimal
    status_text: str
    at: datetime

    @property
    def status(self) -> OrderStatus | None:
        """None when the client's word is unknown (see vocabulary)."""
        try:
            return status_from_label(self.status_text)
        except UnknownStatus:
            return None


def entrust_rows(rows: Iterable[Row], day: date) -> list[EntrustRow]:
    """The order rows of ``today_entrusts`` aigupiao can read (cancel rows and others skipped)."""
    result = []
    for row in rows:
        try:
            symbol = symbol_of(row)
            if symbol is None:
                continue
            side = side_from_text(clean(required(row, SIDE, "side")))
            entrust_no = clean(required(row, ENTRUST_NO, "contract number"))
            at = clock_time(first(row, ORDER_TIME)) or time(0, 0)
            result.append(
                EntrustRow(
                    entrust_no=entrust_no,
                    symbol=symbol,
                    side=side,
                    quantity=shares(required(row, ORDER_QUANTITY, "quantity")),
                    filled_quantity=shares(first(row, FILLED_QUANTITY) or 0),
                    price=number(first(row, ORDER_PRICE) or 0),
                    average_price=number(first(row, AVERAGE_PRICE) or 0),
                    status_text=clean(first(row, STATUS) or ""),
                    at=datetime.combine(
                        calendar_day(first(row, ORDER_DATE), day), at, tzinfo=BEIJING
                    ),
                )
            )
        except (RowError, ValueError) as exc:
            log.warning("skipping an order row: %s", exc)
    return result


def order_from(
    row: EntrustRow,
    account: str,
    *,
    client_order_id: str | None = None,
    order_type: OrderType | None = None,
    market_kind: MarketKind | None = None,
) -> Order:
    """A 当日委托 row as an Order in the status the client shows.

    The order type is what we sent when it is ours; otherwise a row with a
    price is a limit order and one without is a market order.
    """
    if order_type is None:
        order_type = OrderType.LIMIT if row.price > 0 else OrderType.MARKET
    placed = Order(
        id=order_id(row.at.date(), row.entrust_no),
        account=account,
        symbol=row.symbol,
        side=row.side,
        type=order_type,
        quantity=row.quantity,
        price=row.price if order_type is OrderType.LIMIT else None,
        created_at=row.at,
        status=OrderStatus.SUBMITTED,
        broker_order_id=row.entrust_no,
        client_order_id=client_order_id,
        market_kind=market_kind if order_type is OrderType.MARKET else None,
    )
    status = row.status
    if status is None:
        log.warning("unknown order status %r for %s; kept open", row.status_text, placed.id)
        status = OrderStatus.SUBMITTED
    filled = min(row.filled_quantity, row.quantity)
    average = row.average_price or row.price
    reason = ""
    if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
        reason = reason_of(row.status_text) or row.status_text
    return restore_order(
        placed,
        status,
        filled_quantity=filled,
        filled_amount=average * filled if filled else ZERO,
        reason=reason,
    )


# -- trades -------------------------------------------------------------------------


def trades_from(rows: Iterable[Row], account: str, day: date) -> list[Trade]:
    """``today_trades`` -> Trades, oldest first.

    The 当日成交 grid names no fees on most builds; fees the row does carry
    (佣金/手续费, 印花税, 过户费) are kept, absent ones are zero (the 交割单 has them).
    """
    trades: list[Trade] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            symbol = symbol_of(row)
            if symbol is None:
                continue
            side_text = clean(first(row, SIDE) or "")
            side = side_from_text(side_text)
            quantity = shares(required(row, FILLED_QUANTITY, "fill quantity"))
            if quantity == 0:
                continue
            price = number(required(row, AVERAGE_PRICE, "fill price"))
            amount_value = first(row, TRADE_AMOUNT)
            amount = abs(number(amount_value)) if amount_value is not None else price * quantity
            trade_day = calendar_day(first(row, TRADE_DATE), day)
            at = clock_time(first(row, TRADE_TIME)) or time(0, 0)
            entrust_no = clean(first(row, ENTRUST_NO) or "")
            trade_no = clean(first(row, TRADE_ID) or "")
            if trade_no:
                key = f"{trade_day:%Y%m%d}-{trade_no}"
            else:
                key = f"{trade_day:%Y%m%d}-{entrust_no}-{at:%H%M%S}-{quantity}-{price}"
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:  # the same fill twice in one grid: keep both, apart
                key = f"{key}#{seen[key]}"
            trades.append(
                Trade(
                    id=key,
                    order_id=order_id(trade_day, entrust_no) if entrust_no else key,
                    account=account,
                    symbol=symbol,
                    side=side,
                    quantity=quantity,
                    price=price,
                    amount=amount,
                    fees=Fees(
                        commission=abs(number(first(row, COMMISSION) or 0)),
                        stamp_duty=abs(number(first(row, STAMP_DUTY) or 0)),
                        transfer_fee=abs(number(first(row, TRANSFER_FEE) or 0)),
                    ),
                    ts=datetime.combine(trade_day, at, tzinfo=BEIJING),
                )
            )
        except (RowError, ValueError) as exc:
            log.warning("skipping a fill row: %s", exc)
    trades.sort(key=lambda trade: trade.ts)
    return trades
