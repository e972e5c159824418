"""Stand-ins for what cannot run here: easytrader driving xiadan.exe, and xtquant's XtQuantTrader.

They keep the libraries' method names and return the recorded shapes of
``tests/fixtures/brokers``. The easytrader fake answers pop-ups through aigupiao's real
:func:`~aigupiao.brokers.ths.dialogs.handle_dialogs`, as the guarded trader does on Windows.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aigupiao.brokers.qmt.client import QmtCallback, Sink
from aigupiao.brokers.ths.dialogs import Action, handle_dialogs

from ...fixtures.brokers import qmt_recorded as qr
from ...fixtures.brokers import ths_recorded as tr

# -- easytrader ---------------------------------------------------------------------------


class FakeDialog:
    def __init__(self, title: str, text: str, pressed: list[tuple[str, Action]]) -> None:
        self._title, self._text, self._pressed = title, text, pressed

    def title(self) -> str:
        return self._title

    def text(self) -> str:
        return self._text

    def press(self, action: Action) -> None:
        self._pressed.append((self._title or self._text[:8], action))


@dataclass
class FakeEasytrader:
    """easytrader's ClientTrader attached to a 同花顺 client, replaying recorded grids.

    ``dialogs`` is the pop-up script of the next order (or cancel): a list of
    (title, text) pairs shown one after the other after the submit click.
    When the pop-ups end without a refusal the client shows the order in 当日委托 under
    the contract number its success notice named, or ``next_no`` when none did.
    """

    balance_value: Any = field(default_factory=lambda: dict(tr.BALANCE_THS))
    positions: list[dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(tr.POSITION_THS))
    entrusts: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    next_no: str = "865912566"
    clock_text: str = "10:00:01"
    hang: threading.Event | None = None  # the order step blocks until this is set
    hang_reads: threading.Event | None = None
    fail_before_submit: Exception | None = None
    fail_after_submit: Exception | None = None
    cancel_result: dict[str, Any] = field(default_factory=lambda: {"message": "撤单申报成功"})
    cancel_hits: str | None = None  # the contract number a cancel really hits (wrong row)
    submit_clicked: bool = False
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    pressed: list[tuple[str, Action]] = field(default_factory=list)

    # the grids (properties in easytrader)
    @property
    def balance(self) -> Any:
        self._read("balance")
        return copy.deepcopy(self.balance_value)

    @property
    def position(self) -> Any:
        self._read("position")
        return copy.deepcopy(self.positions)

    @property
    def today_entrusts(self) -> Any:
        self._read("today_entrusts")
        return copy.deepcopy(self.entrusts)

    @property
    def today_trades(self) -> Any:
        self._read("today_trades")
        return copy.deepcopy(self.trades)

    def _read(self, what: str) -> None:
        self.calls.append((what,))
        if self.hang_reads is not None:
            self.hang_reads.wait(10)

    # orders
    def buy(self, security: str, price: float, amount: int) -> dict[str, Any]:
        return self._trade("buy", security, price, amount)

    def sell(self, security: str, price: float, amount: int) -> dict[str, Any]:
        return self._trade("sell", security, price, amount)

    def market_buy(
        self, security: str, amount: int, ttype: str | None = None, limit_price: Any = None
    ) -> dict[str, Any]:
        return self._trade("market_buy", security, 0.0, amount, ttype, limit_price)

    def market_sell(
        self, security: str, amount: int, ttype: str | None = None, limit_price: Any = None
    ) -> dict[str, Any]:
        return self._trade("market_sell", security, 0.0, amount, ttype, limit_price)

    def _trade(self, kind: str, security: str, price: float, amount: int, *extra: Any) -> Any:
        self.calls.append((kind, security, price, amount, *extra))
        if self.fail_before_submit is not None:
            raise self.fail_before_submit
        self.submit_clicked = True  # what the guarded trader's _submit_trade records
        if self.hang is not None:
            self.hang.wait(10)
        if self.fail_after_submit is not None:
            raise self.fail_after_submit
        script = iter(self.dialogs)
        result = handle_dialogs(lambda: self._next_dialog(script))
        self.entrusts.append(
            tr.entrust(
                result.get("entrust_no") or self.next_no,
                security[-6:],
                "买入" if "buy" in kind else "卖出",
                amount,
                price,
                "已报",
                at=self.clock_text,
                market="深圳" if security.startswith(("sz", "0", "3")) else "上海",
            )
        )
        return result

    def _next_dialog(self, script: Any) -> FakeDialog | None:
        step = next(script, None)
        return None if step is None else FakeDialog(step[0], step[1], self.pressed)

    def cancel_entrust(self, entrust_no: str) -> dict[str, Any]:
        self.calls.append(("cancel_entrust", entrust_no))
        target = self.cancel_hits or entrust_no
        for row in self.entrusts:
            if row["合同编号"] == target and row["备注"] in ("已报", "部成", "未成交"):
                row["备注"] = "已报待撤" if row["成交数量"] == 0 else "部成待撤"
        return dict(self.cancel_result)


# -- xtquant ------------------------------------------------------------------------------


class FakeXtTrader:
    """XtQuantTrader on a subscribed StockAccount, callbacks fired from its own thread."""

    def __init__(self) -> None:
        self.account = SimpleAccount(qr.ACCOUNT_ID)
        self.asset = qr.xt_asset()
        self.positions: list[Any] = list(qr.POSITIONS)
        self.orders: list[Any] = []
        self.trades: list[Any] = []
        self.callback: QmtCallback | None = None
        self.calls: list[tuple[Any, ...]] = []
        self.ids = itertools.count(1001)
        self.order_result: int | None = None  # force order_stock's return value
        self.after_order: Callable[[Any], None] | None = None  # e.g. fire callbacks
        self.hang: threading.Event | None = None
        self.cancel_result = 0
        self.connects = 0
        self.stopped = False

    def connect(self, sink: Sink) -> tuple[FakeXtTrader, SimpleAccount]:
        """The adapter's ``connect(sink)``: what open_trader returns on Windows."""
        self.connects += 1
        self.callback = QmtCallback(sink)
        return self, self.account

    # xtquant API
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
    ) -> int:
        self.calls.append(
            ("order_stock", stock_code, order_type, order_volume, price_type, price,
             strategy_name, order_remark)
        )  # fmt: skip
        if self.hang is not None:
            self.hang.wait(10)
        if self.order_result is not None:
            return self.order_result
        order = qr.xt_order(
            next(self.ids), stock_code, order_type, order_volume, price,
            qr.ORDER_REPORTED, price_type=qr.BROKER_PRICE_LIMIT if price_type == 11 else 88,
            remark=order_remark, strategy=strategy_name,
        )  # fmt: skip
        self.orders.append(order)
        if self.after_order is not None:
            self.after_order(order)
        return int(order.order_id)

    def cancel_order_stock(self, account: Any, order_id: int) -> int:
        self.calls.append(("cancel_order_stock", order_id))
        if self.cancel_result == 0:
            for order in self.orders:
                if order.order_id == order_id:
                    order.order_status = qr.ORDER_REPORTED_CANCEL
        return self.cancel_result

    def query_stock_order(self, account: Any, order_id: int) -> Any:
        self.calls.append(("query_stock_order", order_id))
        return next((copy.copy(o) for o in self.orders if o.order_id == order_id), None)

    def query_stock_orders(self, account: Any, cancelable_only: bool = False) -> Any:
        self.calls.append(("query_stock_orders",))
        return [copy.copy(o) for o in self.orders]

    def query_stock_trades(self, account: Any) -> Any:
        self.calls.append(("query_stock_trades",))
        return list(self.trades)

    def query_stock_positions(self, account: Any) -> Any:
        self.calls.append(("query_stock_positions",))
        return list(self.positions)

    def query_stock_asset(self, account: Any) -> Any:
        self.calls.append(("query_stock_asset",))
        return self.asset

    def stop(self) -> None:
        self.stopped = True

    # pushes, from another thread like xtquant's executor
    def push(self, method: str, item: Any) -> threading.Thread:
        assert self.callback is not None
        thread = threading.Thread(target=getattr(self.callback, method), args=(item,))
        thread.start()
        return thread

    def orders_sent(self) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == "order_stock"]


@dataclass
class SimpleAccount:
    """xttype.StockAccount: account_id and account_type (2, SECURITY_ACCOUNT)."""

    account_id: str
    account_type: int = qr.SECURITY_ACCOUNT
