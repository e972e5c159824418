"""The 同花顺 adapter: a broker's desktop client (xiadan.exe) driven through easytrader.

Everything the Broker port promises (:mod:`aigupiao.brokers.base`), for a GUI:

* **One window, one step at a time.** Every client call (a menu switch, a grid
  copy, a click) runs on the adapter's own client thread
  (:class:`~aigupiao.brokers.client_thread.ClientThread`) under one
  ``asyncio.Lock``, each with a timeout: ``step_timeout`` for reads,
  ``order_timeout`` for placing or cancelling (pop-ups included).
* **Validated first.** Account, trading hours, lot and odd-lot sells, tick,
  price limits (when the node has a quote), T+1 available quantity and cash
  (read from the client just before) are checked before the order window is
  touched (:class:`~aigupiao.brokers.precheck.PreTradeCheck`).
* **Sent at most once.** The click is never repeated. A step that times out
  after it began, or an error after the submit button was clicked, raises
  :class:`BrokerTimeout`; an error before the click raises
  :class:`BrokerUnavailable` (nothing was sent); the client's own refusal
  raises :class:`BrokerRejected` with the client's words.
* **Risk warnings are never confirmed.** Pop-ups follow
  :mod:`aigupiao.brokers.ths.dialogs`: a risk warning is declined and the
  order fails (``risk_warning``) with the dialog's text.
* **The contract number is read back and kept.** The 合同编号 the client shows
  becomes the order's ``broker_order_id`` (its id is ``YYYYMMDD-合同编号``), and
  the link from our ``client_order_id`` to it is written to
  ``<data_dir>/ths_orders.db`` (:class:`~aigupiao.brokers.client_orders.ClientOrderStore`)
  *before* the click, so it survives a restart.

**find_order** (``client_order_id`` -> order) after a timeout or a restart:

1. No row in the store: the order was never sent -> None.
2. The row has the 合同编号: the order is read from today's 当日委托; an order of
   an earlier day is answered from the last state the adapter saw.
3. The number never came back (the client said 成功 without one, the step
   timed out, or the node died mid-click): the order is looked for in today's
   当日委托 by code, side, quantity, price and entry time, among rows no other
   of ours holds (the rule and its limits: :mod:`aigupiao.brokers.ths.matching`).
   The row found is linked for good. An earlier day's order without a number
   cannot be looked for any more: :class:`BrokerUnavailable`, check by hand.

**Events.** While a listener is set, a task named ``ths/poll`` reads 当日委托
and 当日成交 every ``poll_interval`` seconds during trading hours (09:10-15:10
on trading days) and pushes ``("order_update", Order)`` for every order whose
status or filled quantity changed and ``("trade", Trade)`` for every new fill,
orders first, then fills oldest first. The first poll only learns what is
already there, except the fills of orders placed by this adapter, which are
always pushed. ``place_order`` returns no trades: fills are reported once,
as events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from aigupiao.core.clock import Clock
from aigupiao.core.lifecycle import TaskGroup
from aigupiao.domain.account import Account
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import MarketKind, Order, OrderStatus, OrderType, Side, Trade
from aigupiao.domain.sessions import is_trading_day

from ..base import (
    BrokerError,
    BrokerListener,
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    OrderRequest,
    OrderResult,
)
from ..client_orders import ClientOrder, ClientOrderStore, DuplicateClientOrder
from ..client_thread import ClientThread, StepNotStarted, StepTimeout
from ..extras import extra_missing
from ..precheck import PreTradeCheck
from .client import ThsClient, missing_reason, open_client, order_call
from .dialogs import DialogFailure, RiskWarningDeclined, TooManyDialogs
from .mapping import (
    EntrustRow,
    RowError,
    account_from,
    entrust_of,
    entrust_rows,
    order_from,
    order_id,
    positions_from,
    trades_from,
)
from .matching import assign, cancelled_instead, find_row

log = logging.getLogger(__name__)

T = TypeVar("T")

POLL_HOURS = (time(9, 10), time(15, 10))
_CANCEL_REFUSED = ("不能撤单", "失败", "错误", "不允许", "无法")


class ThsBroker:
    """A broker account in a 同花顺-style desktop client (Windows).

    Args:
        account_id: the account the orders must name (``node.account``).
        data_dir: where ``ths_orders.db`` keeps client order ids across restarts.
        clock: the wall clock (trading hours, order times).
        quotes: the latest quote by prefixed code, for price limits and cash checks.
        client_path: ``xiadan.exe`` of the running, logged-in client.
        client_type: easytrader's client type (``ths``, ``universal_client``, ``ht_client``...).
        grid_strategy: how grids are read: ``copy`` (clipboard), ``wmcopy`` or ``xls`` (Ctrl+S).
        type_keys: type into edit boxes instead of setting their text (some clients need it).
        step_timeout: seconds for one read (a menu switch and a grid copy).
        order_timeout: seconds for placing or cancelling, pop-ups included.
        poll_interval: seconds between polls for events; 0 turns events off.
        connect: makes the client (tests pass a fake; default: easytrader).

    Raises:
        ExtraMissing: easytrader cannot run here (not Windows, or the extra is missing).
        BrokerUnavailable: ``client_path`` is not set.
    """

    name = "ths"

    def __init__(
        self,
        account_id: str,
        *,
        data_dir: Path,
        clock: Clock,
        quotes: Callable[[str], Quote | None] | None = None,
        client_path: Path | None = None,
        client_type: str = "ths",
        grid_strategy: str = "copy",
        type_keys: bool = False,
        step_timeout: float = 10.0,
        order_timeout: float = 12.0,
        poll_interval: float = 3.0,
        connect: Callable[[], ThsClient] | None = None,
    ) -> None:
        if connect is None:
            reason = missing_reason()
            if reason is not None:
                raise extra_missing("ths", reason)
            if client_path is None:
                raise BrokerUnavailable(
                    "未设置 trading.ths_client_path（下单程序 xiadan.exe 的路径）",
                    "trading.ths_client_path (the path of xiadan.exe) is not set",
                    code="broker_config",
                )
            connect = partial(open_client, client_type, client_path, grid_strategy, type_keys)
        self.account_id = account_id
        self._connect = connect
        self._clock = clock
        self._check = PreTradeCheck(account_id, quotes)
        self._step_timeout = step_timeout
        self._order_timeout = order_timeout
        self._poll_interval = poll_interval
        self._thread = ClientThread("ths-client")
        self._lock = asyncio.Lock()
        self._store = ClientOrderStore(data_dir / "ths_orders.db")
        self._client: ThsClient | None = None
        self._closed = False
        self._listener: BrokerListener | None = None
        self._tasks = TaskGroup("ths")
        self._poll_task: asyncio.Task[None] | None = None
        self._seen_orders: dict[str, tuple[OrderStatus, int]] = {}
        self._seen_trades: set[str] = set()
        self._ours: set[str] = set()  # ids of orders placed by this adapter since it started
        self._learned = False

    # -- the port ----------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderResult:
        async with self._lock:
            now = self._begin()
            quote = self._check.before_reading(request, now)
            if self._store.get(request.client_order_id) is not None:
                raise BrokerRejected(
                    f"客户委托号 {request.client_order_id} 已使用",
                    f"client order id {request.client_order_id} was already used",
                    code="duplicate",
                )
            await self._check_account(request, quote, now)
            client = await self._ensure_client()
            call = order_call(client, request, quote)
            try:
                record = self._store.begin(
                    client_order_id=request.client_order_id,
                    broker=self.name,
                    account=self.account_id,
                    placed_at=now,
                    symbol=request.symbol,
                    side=request.side,
                    type=request.type,
                    quantity=request.quantity,
                    price=request.price,
                    market_kind=_kind(request),
                )
            except DuplicateClientOrder as exc:
                raise BrokerRejected(
                    f"客户委托号 {request.client_order_id} 已使用",
                    f"client order id {request.client_order_id} was already used",
                    code="duplicate",
                ) from exc
            result = await self._send(client, call, request.client_order_id)
            entrust_no = str(result.get("entrust_no") or "").strip()
            if entrust_no:
                self._store.placed(request.client_order_id, entrust_no)
                order = await self._read_back(record, entrust_no)
            else:
                # Submitted, but the client showed no number: look for the order.
                adopted = await self._adopt_quietly(record)
                if adopted is None:
                    self._store.unknown(request.client_order_id)
                    raise BrokerTimeout(
                        "委托已提交，但客户端未返回合同编号，当日委托中也未找到；"
                        "结果未知，将按客户委托号查询，不会重下",
                        "the order was submitted but the client showed no contract number and "
                        "it is not in today's orders yet; outcome unknown, resolve with "
                        "find_order, it is never resubmitted",
                    )
                order = adopted
            self._store.remember(request.client_order_id, order)
            self._ours.add(order.id)
            self._seen_orders[order.id] = (order.status, order.filled_quantity)
            return OrderResult(order)

    async def cancel_order(self, order_id: str) -> Order:
        entrust_no = entrust_of(order_id)
        async with self._lock:
            self._begin()
            before = await self._entrusts()
            row = find_row(before, entrust_no)
            if row is None:
                raise BrokerRejected(
                    "委托不存在", f"no order {order_id} today", code="unknown_order"
                )
            order = self._order(row)
            if order.status.is_final:
                raise BrokerRejected(
                    f"委托已{order.status.label_zh}，不能撤单",
                    f"order is {order.status.value} and cannot be cancelled",
                    code="order_final",
                )
            client = await self._ensure_client()
            try:
                result = await self._thread.run(
                    "cancel", lambda: client.cancel_entrust(entrust_no), self._order_timeout
                )
            except StepNotStarted as exc:
                raise _busy() from exc
            except StepTimeout as exc:
                raise BrokerTimeout(
                    "撤单无应答，结果未知", "no answer to the cancel; outcome unknown"
                ) from exc
            except DialogFailure as exc:
                raise BrokerRejected(
                    f"撤单被拒绝：{exc.text}",
                    f"the client refused the cancel: {exc.text}",
                    code="cancel_refused",
                ) from exc
            except TooManyDialogs as exc:
                raise BrokerTimeout(
                    "撤单时弹窗过多，结果未知", "too many pop-ups while cancelling"
                ) from exc
            except Exception as exc:
                self._client = None
                raise BrokerTimeout(
                    f"撤单时客户端出错，结果未知：{exc}", f"client error while cancelling: {exc}"
                ) from exc
            message = str(result.get("message", ""))
            if any(word in message for word in _CANCEL_REFUSED):
                raise BrokerRejected(
                    f"撤单被拒绝：{message}",
                    f"the client refused the cancel: {message}",
                    code="cancel_refused",
                )
            return await self._after_cancel(order, before)

    async def get_account(self) -> Account:
        async with self._lock:
            self._begin()
            balance = await self._read("balance", lambda c: c.balance)
            rows = await self._read("positions", lambda c: c.position)
            try:
                return account_from(balance, _rows(rows, "position"), self.account_id)
            except RowError as exc:
                raise BrokerUnavailable(
                    f"无法读取资金：{exc}", f"cannot read the balance: {exc}"
                ) from exc

    async def get_orders(self) -> list[Order]:
        async with self._lock:
            self._begin()
            orders = [self._order(row) for row in await self._entrusts()]
        return sorted(orders, key=lambda order: order.created_at)

    async def get_trades(self) -> list[Trade]:
        async with self._lock:
            self._begin()
            return await self._trades()

    async def find_order(self, client_order_id: str) -> Order | None:
        async with self._lock:
            self._begin()
            record = self._store.get(client_order_id)
            if record is None:
                return None
            today = self._clock.today()
            if record.trading_day != today:
                if record.broker_order_id is None:
                    raise BrokerUnavailable(
                        f"{record.trading_day} 的委托未取得合同编号，当日委托中已查不到；"
                        "请人工核对",
                        f"the order of {record.trading_day} never got a contract number and "
                        "is no longer in today's orders; check it manually",
                    )
                return _submitted(
                    record.order(order_id(record.trading_day, record.broker_order_id)),
                    record.broker_order_id,
                )
            rows = await self._entrusts()
            if record.broker_order_id is not None:
                row = find_row(rows, record.broker_order_id)
                if row is None:  # the client gave the number but does not show the row yet
                    return _submitted(
                        record.order(order_id(today, record.broker_order_id)),
                        record.broker_order_id,
                    )
                order = self._order(row)
            else:
                adopted = self._adopt(record, rows)
                if adopted is None:
                    return None
                order = adopted
            self._store.remember(client_order_id, order)
            return order

    def set_listener(self, listener: BrokerListener | None) -> None:
        self._listener = listener
        if listener is None:
            if self._poll_task is not None:
                self._poll_task.cancel()
                self._poll_task = None
            return
        if self._poll_interval <= 0 or self._closed or self._poll_task is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: events start when a listener is set from a running node
        self._poll_task = self._tasks.start("poll", self._poll_loop())

    async def close(self) -> None:
        self._closed = True
        self._listener = None
        self._poll_task = None
        await self._tasks.stop()
        self._thread.close()
        self._store.close()

    # -- events ------------------------------------------------------------------

    async def poll_once(self) -> None:
        """Read today's orders and fills once and push what changed (see the module doc)."""
        async with self._lock:
            self._begin()
            orders = [self._order(row) for row in await self._entrusts()]
            trades = await self._trades()
        events: list[tuple[str, Order | Trade]] = []
        for order in sorted(orders, key=lambda o: o.created_at):
            state = (order.status, order.filled_quantity)
            if self._seen_orders.get(order.id) != state:
                if self._learned or order.id in self._ours:
                    events.append(("order_update", order))
                self._seen_orders[order.id] = state
        for trade in trades:
            if trade.id not in self._seen_trades:
                if self._learned or trade.order_id in self._ours:
                    events.append(("trade", trade))
                self._seen_trades.add(trade.id)
        self._learned = True
        for kind, item in events:
            if kind == "order_update" and isinstance(item, Order) and item.client_order_id:
                self._store.remember(item.client_order_id, item)
            self._push(kind, item)

    async def _poll_loop(self) -> None:
        while not self._closed:
            now = self._clock.now()
            if _polling_hours(now):
                try:
                    await self.poll_once()
                except BrokerError as exc:
                    log.warning("ths poll failed: %s", exc)
            await asyncio.sleep(self._poll_interval)

    def _push(self, kind: str, item: Order | Trade) -> None:
        if self._listener is not None:
            self._listener(kind, item)

    # -- sending -----------------------------------------------------------------

    async def _check_account(
        self, request: OrderRequest, quote: Quote | None, now: datetime
    ) -> None:
        """Read what the checks need (positions for a sell, cash for a buy); nothing is sent."""
        try:
            if request.side is Side.SELL:
                rows = await self._read("positions", lambda c: c.position)
                held = next(
                    (
                        p
                        for p in positions_from(_rows(rows, "position"))
                        if p.symbol == request.symbol
                    ),
                    None,
                )
                available = held.available if held is not None else 0
                self._check.with_account(
                    request, quote, cash=Decimal(0), available=available, day=now.date()
                )
            else:
                balance = await self._read("balance", lambda c: c.balance)
                cash = account_from(balance, [], self.account_id).cash
                self._check.with_account(request, quote, cash=cash, available=0, day=now.date())
        except BrokerTimeout as exc:
            raise BrokerUnavailable(
                f"下单前读取账户超时，未下单：{exc.message_zh}",
                f"reading the account before the order timed out; nothing was sent: "
                f"{exc.message_en}",
            ) from exc
        except RowError as exc:
            raise BrokerUnavailable(
                f"下单前无法读取账户，未下单：{exc}",
                f"cannot read the account; nothing sent: {exc}",
            ) from exc

    async def _send(
        self, client: ThsClient, call: Callable[[], dict[str, Any]], cid: str
    ) -> dict[str, Any]:
        """Fill in the order window and submit, once. Maps every outcome onto the port's errors."""

        def send() -> dict[str, Any]:
            client.submit_clicked = False
            result = call()
            return result if isinstance(result, dict) else {"message": str(result)}

        try:
            return await self._thread.run("order", send, self._order_timeout)
        except StepNotStarted as exc:
            self._store.forget(cid)
            raise _busy() from exc
        except StepTimeout as exc:
            self._store.unknown(cid)
            raise BrokerTimeout(
                "下单无应答（已超时），结果未知；将按客户委托号查询，不会重下",
                "no answer from the client in time; outcome unknown, resolve with find_order, "
                "it is never resubmitted",
            ) from exc
        except RiskWarningDeclined as exc:
            self._store.forget(cid)
            raise BrokerRejected(
                f"客户端弹出风险警示，已拒绝确认，未下单：{exc.text}",
                f"the client showed a risk warning; aigupiao declined it, nothing was sent: "
                f"{exc.text}",
                code="risk_warning",
            ) from exc
        except DialogFailure as exc:
            self._store.forget(cid)
            raise BrokerRejected(
                exc.text, f"the client refused the order: {exc.text}", code=exc.code
            ) from exc
        except TooManyDialogs as exc:
            self._store.unknown(cid)
            raise BrokerTimeout(
                "下单时弹窗过多，结果未知；将按客户委托号查询",
                "too many pop-ups while placing; outcome unknown, resolve with find_order",
            ) from exc
        except Exception as exc:
            if type(exc).__name__ == "TradeError":  # easytrader's own refusal
                self._store.forget(cid)
                raise BrokerRejected(
                    str(exc), f"the client refused the order: {exc}", code="broker_rejected"
                ) from exc
            self._client = None  # a window that failed is reattached on the next call
            if client.submit_clicked:
                self._store.unknown(cid)
                raise BrokerTimeout(
                    f"点击下单后客户端出错，结果未知：{exc}",
                    f"the client failed after the order was submitted; outcome unknown: {exc}",
                ) from exc
            self._store.forget(cid)
            raise BrokerUnavailable(
                f"客户端操作失败，未下单：{exc}", f"the client failed before sending: {exc}"
            ) from exc

    async def _read_back(self, record: ClientOrder, entrust_no: str) -> Order:
        """The order as 当日委托 shows it right after placing; submitted if it cannot be read."""
        today = record.trading_day
        placed = _submitted(record.order(order_id(today, entrust_no)), entrust_no)
        try:
            row = find_row(await self._entrusts(), entrust_no)
        except BrokerError as exc:
            log.warning("placed %s but could not read it back: %s", entrust_no, exc)
            return placed
        if row is None:
            return placed
        return self._order(row, record)

    async def _adopt_quietly(self, record: ClientOrder) -> Order | None:
        try:
            rows = await self._entrusts()
        except BrokerError as exc:
            log.warning("could not look for %s in today's orders: %s", record.client_order_id, exc)
            return None
        return self._adopt(record, rows)

    def _adopt(self, record: ClientOrder, rows: list[EntrustRow]) -> Order | None:
        """Link ``record`` (no number) to its row in ``rows`` (:mod:`.matching`)."""
        day = record.trading_day
        pairs = assign(
            self._store.unlinked(self.name, self.account_id, day),
            rows,
            self._store.claimed(self.name, self.account_id, day),
        )
        row = pairs.get(record.client_order_id)
        if row is None:
            return None
        self._store.placed(record.client_order_id, row.entrust_no)
        linked = self._store.get(record.client_order_id)
        assert linked is not None
        return self._order(row, linked)

    async def _after_cancel(self, order: Order, before: list[EntrustRow]) -> Order:
        """Read back after a cancel; a cancel that hit another row is an error, not a result."""
        entrust_no = order.broker_order_id or entrust_of(order.id)
        try:
            after = await self._entrusts()
        except BrokerError as exc:
            log.warning("cancel sent for %s but could not read back: %s", entrust_no, exc)
            return _cancel_requested(order)
        mine = find_row(after, entrust_no)
        moved = cancelled_instead(before, after, entrust_no)
        if moved:
            log.error("cancel of %s changed %s instead", entrust_no, moved)
            raise BrokerError(
                f"撤单 {entrust_no} 后，被撤的却是 {'、'.join(moved)}（客户端点错了行）；"
                "请立即人工核对",
                f"cancelling {entrust_no} changed {', '.join(moved)} instead (the client hit "
                "the wrong row); check the account now",
                code="cancel_wrong_row",
            )
        if mine is None:
            return _cancel_requested(order)
        result = self._order(mine)
        if not result.status.is_final and result.status is not OrderStatus.CANCEL_PENDING:
            result = _cancel_requested(result)
        self._seen_orders[result.id] = (result.status, result.filled_quantity)
        return result

    # -- reading -----------------------------------------------------------------

    async def _entrusts(self) -> list[EntrustRow]:
        rows = await self._read("today's orders", lambda c: c.today_entrusts)
        return entrust_rows(_rows(rows, "today's orders"), self._clock.today())

    async def _trades(self) -> list[Trade]:
        rows = await self._read("today's fills", lambda c: c.today_trades)
        return trades_from(_rows(rows, "today's fills"), self.account_id, self._clock.today())

    def _order(self, row: EntrustRow, record: ClientOrder | None = None) -> Order:
        if record is None:
            cid = self._store.by_broker_id(
                self.name, self.account_id, row.at.date(), row.entrust_no
            )
            record = self._store.get(cid) if cid is not None else None
        if record is None:
            return order_from(row, self.account_id)
        return order_from(
            row,
            self.account_id,
            client_order_id=record.client_order_id,
            order_type=record.type,
            market_kind=record.market_kind,
        )

    async def _read(self, what: str, read: Callable[[ThsClient], T]) -> T:
        """One read on the client thread. Nothing is sent by a read."""
        client = await self._ensure_client()
        try:
            return await self._thread.run(what, lambda: read(client), self._step_timeout)
        except StepNotStarted as exc:
            raise _busy() from exc
        except StepTimeout as exc:
            raise BrokerTimeout(
                f"读取{_ZH.get(what, what)}超时", f"reading {what} timed out"
            ) from exc
        except BrokerError:
            raise
        except Exception as exc:
            self._client = None
            raise BrokerUnavailable(
                f"无法读取{_ZH.get(what, what)}：{exc}（客户端未运行、未登录或界面已变化）",
                f"cannot read {what}: {exc} (client not running, not logged in, or its window "
                "changed)",
            ) from exc

    async def _ensure_client(self) -> ThsClient:
        if self._client is not None:
            return self._client
        try:
            # Attaching waits for pywinauto and closes start-up prompts: allow it longer.
            self._client = await self._thread.run("connect", self._connect, self._step_timeout * 3)
        except (StepNotStarted, StepTimeout) as exc:
            raise BrokerUnavailable(
                "连接同花顺客户端超时", "attaching to the client timed out"
            ) from exc
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerUnavailable(
                f"无法连接同花顺客户端（未运行或未登录？）：{exc}",
                f"cannot attach to the client (not running or not logged in?): {exc}",
            ) from exc
        return self._client

    def _begin(self) -> datetime:
        if self._closed:
            raise BrokerUnavailable("同花顺适配器已关闭", "the ths broker is closed")
        return self._clock.now()


_ZH = {
    "balance": "资金",
    "positions": "持仓",
    "today's orders": "当日委托",
    "today's fills": "当日成交",
}


def _busy() -> BrokerUnavailable:
    return BrokerUnavailable(
        "客户端仍在执行上一步操作（已超时），本次未发送",
        "the client is still busy with an earlier step that timed out; nothing was sent",
        code="broker_busy",
    )


def _rows(rows: Any, what: str) -> list[dict[str, Any]]:
    """A grid as a list of dicts; easytrader returns None when it could not read one."""
    if rows is None:
        raise BrokerUnavailable(
            f"无法读取表格（{what}），可能弹出了验证码或复制被禁止；可改用 ths_grid_strategy=xls",
            f"cannot read the {what} grid (a captcha, or copying is blocked); "
            "try ths_grid_strategy=xls",
        )
    if isinstance(rows, dict):
        return [rows]
    if hasattr(rows, "to_dict"):  # a DataFrame, as some easytrader forks return
        return list(rows.to_dict("records"))
    return list(rows)


def _kind(request: OrderRequest) -> MarketKind | None:
    if request.type is OrderType.MARKET:
        return request.market_kind or MarketKind.BEST5_IOC
    return None


def _submitted(order: Order, entrust_no: str) -> Order:
    """An order the client numbered is at least submitted."""
    return order.submit(entrust_no) if order.status is OrderStatus.NEW else order


def _cancel_requested(order: Order) -> Order:
    if order.status in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED):
        return order.request_cancel()
    return order


def _polling_hours(now: datetime) -> bool:
    return is_trading_day(now.date()) and POLL_HOURS[0] <= now.time() <= POLL_HOURS[1]
