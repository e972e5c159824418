"""Executes commands exactly once through the broker adapter.

The order of things is the guarantee: journal, then ack, then check expiry,
then call the broker, then journal the outcome (which queues the response).
A command id already in the journal is never run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aigupiao.brokers.base import (
    Broker,
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    OrderRequest,
)
from aigupiao.brokers.exports import ExportDirectory
from aigupiao.domain.account import Account
from aigupiao.domain.errors import DomainError
from aigupiao.domain.orders import Order, OrderType, Side, Trade
from aigupiao.domain.symbols import parse_symbol
from aigupiao.protocol import v1
from aigupiao.protocol.codec import (
    cancel_result,
    check_result,
    error_result,
    export_result,
    resolved_result,
    status_result,
    trade_result,
)

from .journal import Journal
from .names import NameSource

log = logging.getLogger(__name__)

Outcome = tuple[str, dict[str, Any]]
Trades = list[Trade] | None  # None: not asked for
Orders = list[Order] | None


class Executor:
    def __init__(
        self,
        broker: Broker,
        journal: Journal,
        *,
        broker_timeout: float,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        exports: ExportDirectory | None = None,
        names: NameSource | None = None,
    ) -> None:
        self.broker = broker
        self.journal = journal
        self._broker_timeout = broker_timeout
        self.wall_clock = wall_clock
        # Where exports are also written as files (None: JSON only), and who names securities.
        self.exports = exports
        self.names = names
        # Cloud time minus this machine's time, measured by the link at each connect:
        # expiry is judged on the cloud's clock, so a PC whose clock is off by minutes
        # neither trades late nor refuses fresh orders.
        self.clock_offset = timedelta(0)
        self.last_result: dict[str, Any] | None = None

    def now(self) -> datetime:
        """The cloud's time as best this node knows it."""
        return self.wall_clock() + self.clock_offset

    async def execute(
        self, command: v1.Command, ack: Callable[[], Awaitable[None]] | None = None
    ) -> int | None:
        """Run ``command`` once; returns the seq of its queued response.

        Returns None when the command is already running (a duplicate delivery):
        its response will follow when the first run finishes.
        """
        existing = await self.journal.begin(
            command.id, command.type, command.model_dump(mode="json")
        )
        if existing is not None:
            if ack is not None:
                await ack()
            return existing.seq  # finished: the stored response is re-sent, never re-run
        if ack is not None:
            await ack()
        if self.now() >= command.expires_at:
            status, result = (
                "expired",
                error_result(
                    {
                        "code": "expired",
                        "message": "指令已过期，未提交给券商",
                        "message_en": f"command expired at {command.expires_at.isoformat()}; "
                        "not sent",
                    }
                ),
            )
        else:
            status, result = _checked(command.id, *await self._run(command))
        seq = await self.journal.finish(command.id, status, result)
        self.last_result = {"command_id": command.id, "status": status, **result}
        return seq

    async def _run(self, command: v1.Command) -> Outcome:
        try:
            async with asyncio.timeout(self._broker_timeout):
                match command:
                    case v1.TradeCommand():
                        return await self._trade(command)
                    case v1.CancelCommand():
                        order = await self.broker.cancel_order(command.data.order_id)
                        return "done", cancel_result(order, await self._account_quietly())
                    case v1.ExportCommand():
                        return "done", await self.export(command.data.data_type)
                    case v1.StatusCommand():
                        return "done", await self.status()
        except BrokerRejected as exc:
            return "rejected", error_result(exc.as_dict(), await self._account_quietly())
        except (BrokerTimeout, TimeoutError):
            return "unknown", error_result(
                {
                    "code": "broker_timeout",
                    "message": "券商无应答，结果未知；将查询券商确认，不会自动重下",
                    "message_en": "broker did not answer; outcome unknown, "
                    "will be resolved by query",
                }
            )
        except BrokerError as exc:
            return "failed", error_result(exc.as_dict())
        raise AssertionError(f"unhandled command type {command.type}")

    async def _trade(self, command: v1.TradeCommand) -> Outcome:
        data = command.data
        try:
            symbol = parse_symbol(data.stock_code)
        except DomainError as exc:
            return "rejected", error_result(exc.as_dict())
        request = OrderRequest(
            account=self.broker.account_id,
            symbol=symbol,
            side=Side(data.action),
            type=OrderType.MARKET if data.price is None else OrderType.LIMIT,
            quantity=data.quantity,
            price=data.price,
            client_order_id=command.id,
            market_kind=data.market_kind,
        )
        placed = await self.broker.place_order(request)
        # The order is placed: a failed account read must not turn that into a failure.
        return "done", trade_result(
            placed.order, list(placed.trades), await self._account_quietly()
        )

    async def _account_quietly(self) -> Account | None:
        """The account snapshot if the broker gives it in time, else None."""
        try:
            async with asyncio.timeout(self._broker_timeout):
                return await self.broker.get_account()
        except (BrokerError, TimeoutError):
            return None

    async def snapshot(self, data_type: str) -> dict[str, Any]:
        """Positions, trades and/or orders from the broker, as JSON-ready dicts."""
        return export_result(data_type, *await self._collect(data_type))

    async def export(self, data_type: str) -> dict[str, Any]:
        """:meth:`snapshot`, also written as files in the clients' formats.

        With an export directory the result gains ``files`` (the paths written,
        both formats), or ``files: []`` and ``files_error`` if they could not be
        written: the data is still answered.
        """
        account, trades, orders = await self._collect(data_type)
        result = export_result(data_type, account, trades, orders)
        if self.exports is not None:
            result.update(await self._write_files(self.exports, account, trades, orders, data_type))
        return result

    async def _collect(self, data_type: str) -> tuple[Account, Trades, Orders]:
        account = await self.broker.get_account()
        trades = await self.broker.get_trades() if data_type in ("trades", "all") else None
        orders = await self.broker.get_orders() if data_type in ("orders", "all") else None
        return account, trades, orders

    async def _write_files(
        self,
        exports: ExportDirectory,
        account: Account,
        trades: Trades,
        orders: Orders,
        data_type: str,
    ) -> dict[str, Any]:
        positions = account.positions if data_type in ("positions", "all") else None
        items = (*(positions or ()), *(trades or ()), *(orders or ()))
        symbols = {item.symbol.full for item in items}
        names = await self._names_of(symbols)
        try:
            paths = await asyncio.to_thread(
                exports.write,
                now=self.wall_clock(),
                positions=positions,
                trades=trades,
                orders=orders,
                names=names.get,
            )
        except OSError as exc:
            log.warning("could not write export files to %s: %s", exports.path, exc)
            return {
                "files": [],
                "files_error": {
                    "code": "export_write_failed",
                    "message": f"导出文件写入失败（{exports.path}）：{exc}",
                    "message_en": f"could not write the export files to {exports.path}: {exc}",
                },
            }
        return {"files": [str(path) for path in paths]}

    async def _names_of(self, symbols: set[str]) -> Mapping[str, str]:
        """Names for the export files; a failing name source leaves them empty, never the export."""
        if self.names is None or not symbols:
            return {}
        try:
            return await self.names(symbols)
        except Exception:
            log.exception("security name lookup failed; exporting without names")
            return {}

    async def status(self) -> dict[str, Any]:
        account = await self.broker.get_account()
        return status_result(
            self.broker.name,
            account,
            len(await self.broker.get_orders()),
            len(await self.broker.get_trades()),
        )

    async def resolve_interrupted(self) -> list[str]:
        """Resolve what the node could not answer: commands cut off mid-call by a stop, and
        trades whose broker call timed out. Asks the broker; never resubmits.

        Returns the ids resolved.
        """
        timed_out = await self.journal.unknown_trades()  # before this pass adds any
        resolved = []
        for entry in await self.journal.interrupted():
            order = None
            if entry.type == "trade":
                try:
                    order = await self.broker.find_order(entry.id)
                except BrokerError as exc:
                    log.warning("could not query broker for %s: %s", entry.id, exc)
                    await self.journal.finish(
                        entry.id,
                        "unknown",
                        error_result(
                            {
                                "code": "broker_query_failed",
                                "message": f"节点在执行中停止，查询券商失败：{exc}；"
                                "请人工核对，不会自动重下",
                                "message_en": "node stopped mid-command and the broker query "
                                f"failed: {exc}; check manually, it is never resubmitted",
                            }
                        ),
                    )
                    resolved.append(entry.id)
                    continue
            if order is not None:
                await self.journal.finish(entry.id, "done", resolved_result(order))
            else:
                await self.journal.finish(
                    entry.id,
                    "unknown",
                    error_result(
                        {
                            "code": "interrupted",
                            "message": "节点在执行中停止，券商查无此委托；请人工核对，不会自动重下",
                            "message_en": "node stopped mid-command and the broker has no such "
                            "order; check manually, it is never resubmitted",
                        }
                    ),
                )
            resolved.append(entry.id)
        for entry in timed_out:
            # A broker call that timed out: if the order did reach the broker, say so now.
            with contextlib.suppress(BrokerError):
                order = await self.broker.find_order(entry.id)
                if order is not None:
                    await self.journal.finish(entry.id, "done", resolved_result(order))
                    resolved.append(entry.id)
        return resolved


def _checked(command_id: str, status: str, result: dict[str, Any]) -> Outcome:
    """``(status, result)``, unless the cloud could not read ``result`` (a broker's value
    out of every plausible range, say): then ``unknown`` with the reason, so the answer
    still reaches the cloud and a person checks the broker, instead of a response the
    cloud refuses on every re-send."""
    problem = check_result(result)
    if problem is None:
        return status, result
    log.error("command %s: the broker's answer cannot be reported (%s)", command_id, problem)
    return "unknown", error_result(
        {
            "code": "invalid_result",
            "message": f"券商返回的结果无法上报（{problem}）；请在券商客户端核对，不会自动重下",
            "message_en": f"the broker's answer cannot be reported ({problem}); "
            "check the broker's client, it is never resubmitted",
        }
    )
