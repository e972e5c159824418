"""The xtquant side of the miniQMT adapter: the only module that imports xtquant.

xtquant is not on PyPI: it ships inside the broker's miniQMT (极简模式 /
独立交易) installation and runs on Windows only. Nothing here imports it at
module load; :func:`open_trader` does, on the adapter's client thread, when the
adapter first connects.

The constants below are the values of ``xtquant.xtconstant`` as shipped with
miniQMT (``xtquant/xtconstant.py``: 委托类型, 报价类型, 委托状态), the same numbers
easytrader's ``miniqmt/miniqmt_trader.py`` uses. They are written out so that
mapping code and tests run without xtquant; :func:`check_constants` compares
them with the real module when connecting, so a renumbered release fails loudly
instead of trading on the wrong code.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..base import BrokerUnavailable

# 委托类型 (order_type)
STOCK_BUY = 23
STOCK_SELL = 24
# 报价类型 (price_type)
LATEST_PRICE = 5
FIX_PRICE = 11
MARKET_SH_CONVERT_5_CANCEL = 42  # 最优五档即时成交剩余撤销 [上交所][股票]
MARKET_SH_CONVERT_5_LIMIT = 43  # 最优五档即时成交剩转限价 [上交所][股票]
MARKET_PEER_PRICE_FIRST = 44  # 对手方最优价格委托
MARKET_MINE_PRICE_FIRST = 45  # 本方最优价格委托
MARKET_SZ_INSTBUSI_RESTCANCEL = 46  # 即时成交剩余撤销委托 [深交所]
MARKET_SZ_CONVERT_5_CANCEL = 47  # 最优五档即时成交剩余撤销 [深交所]
MARKET_SZ_FULL_OR_CANCEL = 48  # 全额成交或撤销委托 [深交所]
# 交易操作 (offset_flag) of stock orders
OFFSET_FLAG_OPEN = 48  # 买入
OFFSET_FLAG_CLOSE = 49  # 卖出

CHECKED_CONSTANTS = (
    "STOCK_BUY",
    "STOCK_SELL",
    "LATEST_PRICE",
    "FIX_PRICE",
    "MARKET_SH_CONVERT_5_CANCEL",
    "MARKET_SZ_CONVERT_5_CANCEL",
    "MARKET_PEER_PRICE_FIRST",
)
STATUS_CONSTANTS = {
    "ORDER_UNREPORTED": 48,
    "ORDER_WAIT_REPORTING": 49,
    "ORDER_REPORTED": 50,
    "ORDER_REPORTED_CANCEL": 51,
    "ORDER_PARTSUCC_CANCEL": 52,
    "ORDER_PART_CANCEL": 53,
    "ORDER_CANCELED": 54,
    "ORDER_PART_SUCC": 55,
    "ORDER_SUCCEEDED": 56,
    "ORDER_JUNK": 57,
}

Sink = Callable[[str, Any], None]


class XtTrader(Protocol):
    """The part of ``xtquant.xttrader.XtQuantTrader`` the adapter calls (blocking)."""

    def order_stock(
        self,
        account: Any,
        stock_code: str,
        order_type: int,
        order_volume: int,
        price_type: int,
        price: float,
        strategy_name: str = "",
        order_remark: str = "",
    ) -> int: ...

    def cancel_order_stock(self, account: Any, order_id: int) -> int: ...

    def query_stock_order(self, account: Any, order_id: int) -> Any: ...

    def query_stock_orders(self, account: Any, cancelable_only: bool = False) -> Any: ...

    def query_stock_trades(self, account: Any) -> Any: ...

    def query_stock_positions(self, account: Any) -> Any: ...

    def query_stock_asset(self, account: Any) -> Any: ...

    def stop(self) -> None: ...


class QmtCallback:
    """xtquant's callbacks (on its own thread) handed to ``sink(kind, object)``.

    The kinds: ``order`` (XtOrder), ``trade`` (XtTrade), ``order_error``
    (XtOrderError), ``cancel_error`` (XtCancelError), ``account_status``
    (XtAccountStatus) and ``disconnected`` (None).
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def on_disconnected(self) -> None:
        self._sink("disconnected", None)

    def on_account_status(self, status: Any) -> None:
        self._sink("account_status", status)

    def on_stock_order(self, order: Any) -> None:
        self._sink("order", order)

    def on_stock_trade(self, trade: Any) -> None:
        self._sink("trade", trade)

    def on_order_error(self, order_error: Any) -> None:
        self._sink("order_error", order_error)

    def on_cancel_error(self, cancel_error: Any) -> None:
        self._sink("cancel_error", cancel_error)


def missing_reason() -> str | None:
    """Why xtquant cannot run here, or None if it can."""
    if sys.platform != "win32":
        return "not_windows"
    if importlib.util.find_spec("xtquant") is None:
        return "not_installed"
    return None


def check_constants(xtconstant: Any) -> None:
    """Refuse to trade if xtquant numbers orders or statuses differently from this module.

    Raises:
        BrokerUnavailable: a constant differs (names the first one).
    """
    expected = {name: globals()[name] for name in CHECKED_CONSTANTS} | STATUS_CONSTANTS
    for name, value in expected.items():
        actual = getattr(xtconstant, name, None)
        if actual != value:
            raise BrokerUnavailable(
                f"xtquant 的常量 {name} 为 {actual!r}，aigupiao 认定为 {value}；请升级 aigupiao",
                f"xtquant's {name} is {actual!r}, aigupiao expects {value}; upgrade aigupiao",
                code="broker_version",
            )


def open_trader(
    userdata_path: Path, account_id: str, session_id: int | None, sink: Sink
) -> tuple[XtTrader, Any]:
    """Start an XtQuantTrader on miniQMT's ``userdata_mini`` folder and subscribe the account.

    Runs on the adapter's client thread (XtQuantTrader sets an event loop for the
    thread that creates it; that must not be the node's loop thread).
    """
    # Only on Windows, only when connecting.
    from xtquant import xtconstant  # type: ignore[import-not-found,unused-ignore]
    from xtquant.xttrader import (  # type: ignore[import-not-found,unused-ignore]
        XtQuantTrader,
        XtQuantTraderCallback,
    )
    from xtquant.xttype import StockAccount  # type: ignore[import-not-found,unused-ignore]

    check_constants(xtconstant)
    callback_type = type("AigupiaoXtCallback", (QmtCallback, XtQuantTraderCallback), {})
    session = session_id if session_id is not None else random.randint(100_000, 999_999)
    trader = XtQuantTrader(str(userdata_path), session, callback_type(sink))
    trader.start()
    result = trader.connect()
    if result != 0:
        trader.stop()
        raise BrokerUnavailable(
            f"无法连接 miniQMT（connect 返回 {result}）：请确认 miniQMT 已以极简模式登录，"
            f"且 qmt_path 指向其 userdata_mini 目录：{userdata_path}",
            f"cannot connect to miniQMT (connect returned {result}): is miniQMT logged in in "
            f"its minimal mode, and does qmt_path point at its userdata_mini folder? "
            f"{userdata_path}",
        )
    account = StockAccount(account_id)
    subscribed = trader.subscribe(account)
    if subscribed != 0:
        trader.stop()
        raise BrokerUnavailable(
            f"无法订阅资金账号 {account_id}（subscribe 返回 {subscribed}）",
            f"cannot subscribe account {account_id} (subscribe returned {subscribed})",
        )
    return trader, account
