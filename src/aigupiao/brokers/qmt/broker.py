"""The miniQMT adapter: a broker account through xtquant's XtQuantTrader (Windows).

Everything the Broker port promises (:mod:`aigupiao.brokers.base`), for a vendor SDK:

* **Non-blocking.** xtquant's calls block until the counter answers; each runs
  on the adapter's client thread with ``step_timeout`` seconds, under one
  ``asyncio.Lock``.
* **Validated first.** The same checks as the other adapters
  (:class:`~aigupiao.brokers.precheck.PreTradeCheck`), with cash and the T+1
  available quantity read from miniQMT just before.
* **Sent at most once.** ``order_stock`` is called once. A timeout, or an
  error from it, raises :class:`BrokerTimeout` (outcome unknown); ``-1``, or a
  refusal arriving in ``on_order_error`` within ``confirm_wait`` seconds,
  raises :class:`BrokerRejected` with the counter's message.
* **The client order id travels with the order.** It is sent as
  ``order_remark`` (a digest of it when longer than
  :data:`~aigupiao.brokers.qmt.mapping.REMARK_LIMIT`), and also kept with the
  miniQMT ``order_id`` in ``<data_dir>/qmt_orders.db``. ``find_order`` looks
  for today's order whose ``order_remark`` matches in ``query_stock_orders``;
  an order of an earlier day is answered from the last state seen.
* **Events from callbacks.** xtquant calls ``on_stock_order`` /
  ``on_stock_trade`` / ``on_order_error`` / ``on_disconnected`` on its own
  thread; each is handed to the event loop with ``loop.call_soon_threadsafe``
  and becomes ``("order_update", Order)`` (when status or fills changed) or
  ``("trade", Trade)`` (each fill once), in the order they arrived, for every
  order of the account (manual ones included). ``place_order`` returns no
  trades: fills are reported once, as events.
* **Reconnects.** After ``on_disconnected`` the next call (or, while a
  listener is set, the task ``qmt/link``) connects again with a new session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from aigupiao.core.clock import Clock
from aigupiao.core.lifecycle import TaskGroup
from aigupiao.core.retry import Backoff
from aigupiao.domain.account import Account
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import MarketKind, Order, OrderStatus, OrderType, Side, Trade

from ..base import (
    BrokerError,
    BrokerListener,
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    OrderRequest,
    OrderResult,
)
from ..client_orders import ClientOrder, ClientOrderStore
from ..client_thread import ClientThread, StepNotStarted, StepTimeout
from ..extras import extra_missing
from ..precheck import PreTradeCheck
from ..vocabulary import restore_order
from . import client as xt
from .client import Sink, XtTrader, missing_reason, open_trader
from .mapping import (
    STRATEGY_NAME,
    account_from,
    order_from,
    order_id,
    price_args,
    remark_for,
    symbol_of,
    trade_from,
    xt_code,
    xt_order_id_of,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Connect = Callable[[Sink], tuple[XtTrader, Any]]


class QmtBroker:
    """A stock account in miniQMT.

    Args:
        account_id: the account the orders must name (``node.account``).
        data_dir: where ``qmt_orders.db`` keeps client order ids across restarts.
        clock: the wall clock.
        quotes: the latest quote by prefixed code (price limits, cash checks, last prices).
        qmt_path: miniQMT's ``userdata_mini`` folder.
        qmt_account: the 资金账号 in miniQMT (default: ``account_id``).
        session_id: XtQuantTrader's session id (default: random per connection).
        step_timeout: seconds for one xtquant call.
        confirm_wait: seconds to wait after ``order_stock`` for an ``on_order_error``.
        connect: ``connect(sink) -> (trader, account)`` (tests pass a fake; default: xtquant).

    Raises:
        ExtraMissing: xtquant cannot run here.
        BrokerUnavailable: ``qmt_path`` is not set.
    """

    name = "qmt"

    def __init__(
        self,
        account_id: str,
        *,
        data_dir: Path,
        clock: Clock,
        quotes: Callable[[str], Quote | None] | None = None,
        qmt_path: Path | None = None,
        qmt_account: str | None = None,
        session_id: int | None = None,
        step_timeout: float = 10.0,
        confirm_wait: float = 1.0,
        connect: Connect | None = None,
    ) -> None:
        if connect is None:
            reason = missing_reason()
            if reason is not None:
                raise extra_missing("qmt", reason)
            if qmt_path is None:
                raise BrokerUnavailable(
                    "未设置 trading.qmt_path（miniQMT 的 userdata_mini 目录）",
                    "trading.qmt_path (miniQMT's userdata_mini folder) is not set",
                    code="broker_config",
                )
            connect = partial(open_trader, qmt_path, qmt_account or account_id, session_id)
        self.account_id = account_id
        self._connect = connect
        self._clock = clock
        self._quotes = quotes
        self._check = PreTradeCheck(account_id, quotes)
        self._step_timeout = step_timeout
        self._confirm_wait = confirm_wait
        self._thread = ClientThread("qmt-client")
        self._lock = asyncio.Lock()
        self._store = ClientOrderStore(data_dir / "qmt_orders.db")
        self._trader: XtTrader | None = None
        self._stale: list[XtTrader] = []
        self._xt_account: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._listener: BrokerListener | None = None
        self._tasks = TaskGroup("qmt")
        self._link_task: asyncio.Task[None] | None = None
        self._seen_orders: dict[str, tuple[OrderStatus, int]] = {}
        self._seen_trades: set[str] = set()
        self._order_errors: dict[int, str] = {}
        self._remark_errors: dict[str, str] = {}
        self._cancel_errors: dict[int, str] = {}
        self._news = asyncio.Event()  # set by every callback, for the waits after sending

    # -- the port ----------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderResult:
        async with self._lock:
            now = self._begin()
            quote = self._check.before_reading(request, now)
            if self._store.get(request.client_order_id) is not None:
                raise _duplicate(request.client_order_id)
            price_type, price = price_args(request, quote)
            trader, account = await self._ensure()
            await self._check_account(request, quote, now)
            remark = remark_for(request.client_order_id)
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
                market_kind=(request.market_kind or MarketKind.BEST5_IOC)
                if request.type is OrderType.MARKET
                else None,
                remark=remark,
            )
            side = xt.STOCK_BUY if request.side is Side.BUY else xt.STOCK_SELL
            send = partial(
                trader.order_stock,
                account,
                xt_code(request.symbol),
                side,
                request.quantity,
                price_type,
                price,
                STRATEGY_NAME,
                remark,
            )
            xt_id = await self._send(send, request.client_order_id)
            if xt_id <= 0:
                error = await self._await_error(None, remark)
                self._store.forget(request.client_order_id)
                raise BrokerRejected(
                    error or f"miniQMT 未接受委托（order_stock 返回 {xt_id}）",
                    f"miniQMT did not accept the order (order_stock returned {xt_id})"
                    + (f": {error}" if error else ""),
                    code="broker_rejected",
                )
            self._store.placed(request.client_order_id, str(xt_id))
            # A number is no promise: the counter may still refuse it in on_order_error.
            error = await self._await_error(xt_id, remark)
            order = await self._read_back(record, xt_id)
            if error is not None and order.status is not OrderStatus.REJECTED:
                order = restore_order(
                    order,
                    OrderStatus.REJECTED,
                    filled_quantity=order.filled_quantity,
                    filled_amount=order.filled_amount,
                    reason=error,
                )
            self._store.remember(request.client_order_id, order)
            self._seen_orders[order.id] = (order.status, order.filled_quantity)
            if order.status is OrderStatus.REJECTED or error is not None:
                message = error or order.reason or "废单"
                raise BrokerRejected(
                    message, f"the counter refused the order: {message}", code="broker_rejected"
                )
            return OrderResult(order)

    async def cancel_order(self, order_id: str) -> Order:
        try:
            xt_id = xt_order_id_of(order_id)
        except ValueError as exc:
            raise BrokerRejected(
                "委托不存在", f"no order {order_id}", code="unknown_order"
            ) from exc
        async with self._lock:
            self._begin()
            trader, account = await self._ensure()
            current = await self._call(
                "query order", lambda: trader.query_stock_order(account, xt_id)
            )
            order = self._order(current) if current is not None else None
            if order is None:
                raise BrokerRejected("委托不存在", f"no order {order_id}", code="unknown_order")
            if order.status.is_final:
                raise BrokerRejected(
                    f"委托已{order.status.label_zh}，不能撤单",
                    f"order is {order.status.value} and cannot be cancelled",
                    code="order_final",
                )
            self._cancel_errors.pop(xt_id, None)
            try:
                result = await self._thread.run(
                    "cancel", lambda: trader.cancel_order_stock(account, xt_id), self._step_timeout
                )
            except StepNotStarted as exc:
                raise _busy() from exc
            except StepTimeout as exc:
                raise BrokerTimeout(
                    "撤单无应答，结果未知", "no answer to the cancel; outcome unknown"
                ) from exc
            except Exception as exc:
                self._drop()
                raise BrokerTimeout(
                    f"撤单时 miniQMT 出错，结果未知：{exc}", f"miniQMT failed cancelling: {exc}"
                ) from exc
            if result != 0:
                error = await self._await_cancel_error(xt_id)
                raise BrokerRejected(
                    f"撤单失败：{error or result}",
                    f"the cancel was refused: {error or result}",
                    code="cancel_refused",
                )
            after = await self._call(
                "query order", lambda: trader.query_stock_order(account, xt_id)
            )
            updated = self._order(after) if after is not None else None
            result_order = updated or order
            if result_order.status in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED):
                result_order = result_order.request_cancel()
            return result_order

    async def get_account(self) -> Account:
        async with self._lock:
            self._begin()
            trader, account = await self._ensure()
            asset = await self._call("asset", lambda: trader.query_stock_asset(account))
            positions = await self._call("positions", lambda: trader.query_stock_positions(account))
        if asset is None:
            raise BrokerUnavailable("miniQMT 未返回资金", "miniQMT returned no asset")
        return account_from(asset, list(positions or []), self.account_id, self._quotes)

    async def get_orders(self) -> list[Order]:
        async with self._lock:
            self._begin()
            orders = await self._orders()
        return sorted(orders, key=lambda order: order.created_at)

    async def get_trades(self) -> list[Trade]:
        async with self._lock:
            self._begin()
            trader, account = await self._ensure()
            rows = await self._call("trades", lambda: trader.query_stock_trades(account))
        today = self._clock.today()
        trades = [t for t in (trade_from(r, self.account_id, today) for r in rows or []) if t]
        return sorted(trades, key=lambda trade: trade.ts)

    async def find_order(self, client_order_id: str) -> Order | None:
        async with self._lock:
            self._begin()
            record = self._store.get(client_order_id)
            today = self._clock.today()
            if record is not None and record.trading_day != today:
                if record.broker_order_id is None:
                    raise BrokerUnavailable(
                        f"{record.trading_day} 的委托未取得委托编号，当日委托中已查不到；"
                        "请人工核对",
                        f"the order of {record.trading_day} never got an order_id and is no "
                        "longer in today's orders; check it manually",
                    )
                placed = record.order(order_id(record.trading_day, record.broker_order_id))
                return _submitted(placed, record.broker_order_id)
            remark = remark_for(client_order_id)
            rows = await self._query_orders()
        found = [
            order
            for row in rows
            if str(getattr(row, "order_remark", "") or "") == remark
            and (order := self._order(row, client_order_id)) is not None
        ]
        if not found:
            if record is not None and record.broker_order_id is not None:
                placed = record.order(order_id(today, record.broker_order_id))
                return _submitted(placed, record.broker_order_id)
            return None
        order = max(found, key=lambda o: o.created_at)
        if record is not None:
            if record.broker_order_id is None and order.broker_order_id is not None:
                self._store.placed(client_order_id, order.broker_order_id)
            self._store.remember(client_order_id, order)
        return order

    def set_listener(self, listener: BrokerListener | None) -> None:
        self._listener = listener
        if listener is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if not self._closed and (self._link_task is None or self._link_task.done()):
            self._link_task = self._tasks.start("link", self._keep_connected())

    async def close(self) -> None:
        self._closed = True
        self._listener = None
        await self._tasks.stop()
        self._drop()
        while self._stale:
            trader = self._stale.pop()
            try:
                await self._thread.run("stop", trader.stop, self._step_timeout)
            except Exception as exc:
                log.warning("stopping XtQuantTrader failed: %s", exc)
        self._thread.close()
        self._store.close()

    # -- callbacks (xtquant's thread -> the event loop) ---------------------------

    def _sink(self, kind: str, item: Any) -> None:
        """Called by xtquant on its own thread: hand over to the loop, never block."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._on_callback, kind, item)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _on_callback(self, kind: str, item: Any) -> None:
        if self._closed:
            return
        self._news.set()
        if kind == "disconnected":
            log.warning("miniQMT disconnected")
            self._drop()
        elif kind == "order":
            order = self._order(item)
            if order is not None:
                self._order_changed(order)
        elif kind == "trade":
            trade = trade_from(item, self.account_id, self._clock.today())
            if trade is not None and trade.id not in self._seen_trades:
                self._seen_trades.add(trade.id)
                self._push("trade", trade)
        elif kind == "order_error":
            message = str(getattr(item, "error_msg", "") or getattr(item, "error_id", ""))
            self._order_errors[int(getattr(item, "order_id", -1) or -1)] = message
            remark = getattr(item, "order_remark", None)
            if remark:
                self._remark_errors[str(remark)] = message
        elif kind == "cancel_error":
            message = str(getattr(item, "error_msg", "") or getattr(item, "error_id", ""))
            self._cancel_errors[int(getattr(item, "order_id", -1) or -1)] = message
        elif kind == "account_status":
            log.info("miniQMT account status %s", getattr(item, "status", item))

    def _order_changed(self, order: Order) -> None:
        state = (order.status, order.filled_quantity)
        if self._seen_orders.get(order.id) == state:
            return
        self._seen_orders[order.id] = state
        if order.client_order_id:
            self._store.remember(order.client_order_id, order)
        self._push("order_update", order)

    def _push(self, kind: str, item: Order | Trade) -> None:
        if self._listener is not None:
            self._listener(kind, item)

    async def _keep_connected(self) -> None:
        backoff = Backoff(initial=1.0, maximum=60.0)
        while not self._closed:
            if self._trader is None:
                try:
                    async with self._lock:
                        await self._ensure()
                    backoff.reset()
                except BrokerError as exc:
                    delay = backoff.next_delay()
                    log.warning("miniQMT not connected (%s); retrying in %.0f s", exc, delay)
                    await asyncio.sleep(delay)
                    continue
            await asyncio.sleep(1.0)

    # -- helpers -----------------------------------------------------------------

    async def _send(self, send: Callable[[], int], cid: str) -> int:
        try:
            result = await self._thread.run("order", send, self._step_timeout)
        except StepNotStarted as exc:
            self._store.forget(cid)
            raise _busy() from exc
        except StepTimeout as exc:
            self._store.unknown(cid)
            raise BrokerTimeout(
                "miniQMT 下单无应答（已超时），结果未知；将按委托备注查询，不会重下",
                "no answer from miniQMT in time; outcome unknown, resolve with find_order "
                "(order_remark), it is never resubmitted",
            ) from exc
        except Exception as exc:
            self._store.unknown(cid)
            self._drop()
            raise BrokerTimeout(
                f"miniQMT 下单出错，结果未知：{exc}",
                f"miniQMT failed while placing; outcome unknown: {exc}",
            ) from exc
        return int(result) if result is not None else -1

    async def _await_error(self, xt_id: int | None, remark: str) -> str | None:
        """An on_order_error for the order, waiting up to ``confirm_wait`` (less once the
        order is seen past the counter)."""

        def outcome() -> tuple[str | None] | None:
            if xt_id is not None and xt_id in self._order_errors:
                return (self._order_errors.pop(xt_id),)
            if remark in self._remark_errors:
                return (self._remark_errors.pop(remark),)
            if xt_id is not None and self._past_counter(xt_id):
                return (None,)
            return None

        found = await self._wait_for(outcome)
        return found[0] if found is not None else None

    def _past_counter(self, xt_id: int) -> bool:
        suffix = f"-{xt_id}"
        return any(
            key.endswith(suffix) and status is not OrderStatus.NEW
            for key, (status, _) in self._seen_orders.items()
        )

    async def _await_cancel_error(self, xt_id: int) -> str | None:
        return await self._wait_for(lambda: self._cancel_errors.pop(xt_id, None))

    async def _wait_for(self, ready: Callable[[], T | None]) -> T | None:
        """``ready()`` once it is not None, rechecked after each callback, for up to
        ``confirm_wait`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._confirm_wait
        while (value := ready()) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            # Callbacks run on this loop, never between ready() and clear().
            self._news.clear()
            try:
                await asyncio.wait_for(self._news.wait(), remaining)
            except TimeoutError:
                return ready()
        return value

    async def _read_back(self, record: ClientOrder, xt_id: int) -> Order:
        trader, account = await self._ensure()
        today = self._clock.today()
        placed = _submitted(record.order(order_id(today, xt_id)), str(xt_id))
        try:
            current = await self._call(
                "query order", lambda: trader.query_stock_order(account, xt_id)
            )
        except BrokerError as exc:
            log.warning("placed %s but could not read it back: %s", xt_id, exc)
            return placed
        order = self._order(current) if current is not None else None
        return order or placed

    async def _check_account(
        self, request: OrderRequest, quote: Quote | None, now: datetime
    ) -> None:
        trader, account = await self._ensure()
        try:
            if request.side is Side.SELL:
                positions = await self._call(
                    "positions", lambda: trader.query_stock_positions(account)
                )
                available = sum(
                    int(p.can_use_volume or 0)
                    for p in positions or []
                    if symbol_of(p.stock_code) == request.symbol
                )
                self._check.with_account(
                    request, quote, cash=Decimal(0), available=available, day=now.date()
                )
            else:
                asset = await self._call("asset", lambda: trader.query_stock_asset(account))
                if asset is None:
                    raise BrokerUnavailable("miniQMT 未返回资金", "miniQMT returned no asset")
                cash = account_from(asset, [], self.account_id).cash
                self._check.with_account(request, quote, cash=cash, available=0, day=now.date())
        except BrokerTimeout as exc:
            raise BrokerUnavailable(
                f"下单前读取账户超时，未下单：{exc.message_zh}",
                f"reading the account before the order timed out; nothing was sent: "
                f"{exc.message_en}",
            ) from exc

    async def _query_orders(self) -> list[Any]:
        trader, account = await self._ensure()
        rows = await self._call("orders", lambda: trader.query_stock_orders(account, False))
        return list(rows or [])

    async def _orders(self) -> list[Order]:
        return [o for o in (self._order(row) for row in await self._query_orders()) if o]

    def _order(self, xt_order: Any, client_order_id: str | None = None) -> Order | None:
        """An XtOrder as an Order, with our client order id when the remark is ours."""
        if client_order_id is None:
            remark = str(getattr(xt_order, "order_remark", "") or "")
            if remark:
                client_order_id = self._store.by_remark(self.name, self.account_id, remark)
                if client_order_id is None and _ours(xt_order) and remark == remark_for(remark):
                    client_order_id = remark  # our remark for an id no longer on file
        return order_from(
            xt_order, self.account_id, self._clock.today(), client_order_id=client_order_id
        )

    async def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return await self._thread.run(what, call, self._step_timeout)
        except StepNotStarted as exc:
            raise _busy() from exc
        except StepTimeout as exc:
            raise BrokerTimeout(
                f"miniQMT 查询{what}超时", f"miniQMT {what} query timed out"
            ) from exc
        except BrokerError:
            raise
        except Exception as exc:
            self._drop()
            raise BrokerUnavailable(
                f"miniQMT 查询失败（{what}）：{exc}", f"miniQMT {what} query failed: {exc}"
            ) from exc

    async def _ensure(self) -> tuple[XtTrader, Any]:
        if self._trader is not None:
            return self._trader, self._xt_account
        self._loop = asyncio.get_running_loop()
        while self._stale:  # release the threads of a session that failed
            stale = self._stale.pop()
            try:
                await self._thread.run("stop", stale.stop, self._step_timeout)
            except Exception as exc:
                log.warning("stopping a failed XtQuantTrader: %s", exc)
        try:
            trader, account = await self._thread.run(
                "connect", lambda: self._connect(self._sink), self._step_timeout * 3
            )
        except (StepNotStarted, StepTimeout) as exc:
            raise BrokerUnavailable("连接 miniQMT 超时", "connecting to miniQMT timed out") from exc
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerUnavailable(
                f"无法连接 miniQMT：{exc}", f"cannot connect to miniQMT: {exc}"
            ) from exc
        self._trader, self._xt_account = trader, account
        return trader, account

    def _drop(self) -> None:
        """Forget a trader that failed; the next call connects again (a new session)."""
        if self._trader is not None:
            self._stale.append(self._trader)
        self._trader = None

    def _begin(self) -> datetime:
        if self._closed:
            raise BrokerUnavailable("miniQMT 适配器已关闭", "the qmt broker is closed")
        return self._clock.now()


def _ours(xt_order: Any) -> bool:
    """Orders placed through aigupiao carry its strategy name."""
    return getattr(xt_order, "strategy_name", None) == STRATEGY_NAME


def _submitted(order: Order, broker_order_id: str) -> Order:
    return order.submit(broker_order_id) if order.status is OrderStatus.NEW else order


def _duplicate(client_order_id: str) -> BrokerRejected:
    return BrokerRejected(
        f"客户委托号 {client_order_id} 已使用",
        f"client order id {client_order_id} was already used",
        code="duplicate",
    )


def _busy() -> BrokerUnavailable:
    return BrokerUnavailable(
        "miniQMT 仍在执行上一步调用（已超时），本次未发送",
        "miniQMT is still busy with an earlier call that timed out; nothing was sent",
        code="broker_busy",
    )
