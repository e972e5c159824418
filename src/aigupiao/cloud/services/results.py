"""Persisting what nodes report: orders, fills, and account snapshots.

Orders and fills are stored in the same transaction as the command's outcome, before
the node is told ``received``. Account and position snapshots only ever replace the
previous one, so they are written a moment later, off the answer's path, by
:meth:`ResultRecorder.run`; the in-memory :class:`Ledger` has them at once. Each
written account snapshot is also added to the account's equity history
(:class:`~aigupiao.cloud.services.equity.EquityHistory`, throttled there), stamped
with the market-clock time the cloud received it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from aigupiao.core.clock import Clock, LiveClock
from aigupiao.domain.account import Account
from aigupiao.domain.market import Quote
from aigupiao.domain.sessions import BEIJING, QUOTING_PHASES, is_trading_day, phase_at
from aigupiao.protocol.codec import account_from_payload, order_columns, trade_columns
from aigupiao.protocol.payloads import AccountPayload, OrderPayload, TradePayload
from aigupiao.store import AccountRepo, Database, NodeRepo, OrderRepo, PositionRepo, TradeRepo

from ..hub import NodeLink
from .equity import EquityHistory
from .ledger import Ledger, Stats

log = logging.getLogger(__name__)

# Marking to market happens in the quoting phases, and once more just after the closing match.
_CLOSE, _AFTER_CLOSE = time(15, 0), time(15, 5)


def _is_close(moment: datetime) -> bool:
    """Just after the closing match of a trading day (its prices are the day's last)."""
    local = moment.astimezone(BEIJING)
    return _CLOSE <= local.time() < _AFTER_CLOSE and is_trading_day(local.date())


@dataclass(frozen=True)
class _NodeSeen:
    link: NodeLink
    seq: int | None


class ResultRecorder:
    """Stores what nodes report.

    Args:
        db: the database.
        ledger: the in-memory latest snapshot per account.
        stats: counters.
        equity: the equity history; default: one on the wall clock with the default
            settings (60 s interval, 400 days).
    """

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        stats: Stats,
        *,
        equity: EquityHistory | None = None,
    ) -> None:
        self._db, self._ledger, self._stats = db, ledger, stats
        self.equity = equity or EquityHistory(db, LiveClock(), interval=60, retention_days=400)
        self._clock: Clock = self.equity.clock
        # account -> (node, snapshot, when it arrived)
        self._snapshots: dict[str, tuple[str, Account, datetime]] = {}
        self._flushing = asyncio.Lock()  # one writer: snapshots land in order
        self._nodes: dict[str, _NodeSeen] = {}
        self._dirty = asyncio.Event()

    async def store_fills(
        self,
        session: AsyncSession,
        link: NodeLink,
        command_id: str | None,
        orders: list[OrderPayload],
        trades: list[TradePayload],
    ) -> None:
        """Store the orders and fills a response or event carries (in the caller's
        transaction). The caller has checked that they are of the link's account."""
        for order in orders:
            await OrderRepo(session).upsert(
                {
                    **order_columns(order),
                    "node_id": link.node_id,
                    "command_id": command_id,
                    "updated_at": datetime.now(UTC),
                }
            )
        for trade in trades:
            if await TradeRepo(session).add({**trade_columns(trade), "node_id": link.node_id}):
                self._stats.fills += 1

    def note(self, link: NodeLink, account: AccountPayload | None, seq: int | None) -> None:
        """Take an account snapshot (checked to be the link's account) and the node's
        newest seq."""
        if account is not None:
            snapshot = self._ledger.update(account_from_payload(account))
            self._snapshots[snapshot.id] = (link.node_id, snapshot, self._clock.now())
        seen = self._nodes.get(link.node_id)
        highest = max(seq or 0, seen.seq or 0) if seen else seq
        self._nodes[link.node_id] = _NodeSeen(link, highest)
        self._dirty.set()

    async def run(self, stop: asyncio.Event, every: float = 0.5) -> None:
        """Write the latest snapshots when there are new ones, at most once per ``every``
        seconds (a burst of fills is one write, and answers do not queue behind it)."""
        while not stop.is_set():
            waiter = asyncio.ensure_future(self._dirty.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
            await self.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def run_marks(
        self, stop: asyncio.Event, quote_of: Callable[[str], Quote | None], every: float
    ) -> None:
        """Every ``every`` seconds while the market is open, :meth:`mark_to_market`."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            try:
                await self.mark_to_market(quote_of)
            except Exception:  # the next round tries again; a crash would end the curve
                log.exception("marking accounts to market failed")

    async def mark_to_market(self, quote_of: Callable[[str], Quote | None]) -> int:
        """Add each known account, its positions valued at the latest quotes, to the
        equity history, so the curve moves with the market between the node's reports
        (which come with fills and status answers only). Outside trading hours (after
        the closing match) nothing moves, so nothing is added. Returns how many accounts
        were marked."""
        now = self._clock.now()
        if phase_at(now) not in QUOTING_PHASES and not _is_close(now):
            return 0
        marked = []
        for snapshot in self._ledger.accounts():
            positions = []
            for position in snapshot.positions:
                quote = quote_of(position.symbol.full)
                last = quote.last if quote is not None and quote.last > 0 else None
                positions.append(position if last is None else replace(position, last_price=last))
            marked.append(replace(snapshot, positions=tuple(positions)))
        if not marked:
            return 0
        async with self._flushing:
            try:
                async with self._db.session() as session:
                    for snapshot in marked:
                        await self.equity.record(session, snapshot, now)
                    await session.commit()
            except BaseException:
                self.equity.forget()
                raise
        return len(marked)

    async def flush(self) -> None:
        """Write what is pending; a caller that finds a flush running waits for it, so
        after ``flush`` returns every snapshot noted before the call is stored."""
        async with self._flushing:
            try:
                await self._flush()
            except BaseException:
                self.equity.forget()  # its rows may have been rolled back
                raise

    async def _flush(self) -> None:
        self._dirty.clear()
        snapshots, self._snapshots = self._snapshots, {}
        nodes, self._nodes = self._nodes, {}
        if not snapshots and not nodes:
            return
        async with self._db.session() as session:
            for node_id, snapshot, received in snapshots.values():
                await _write_snapshot(session, node_id, snapshot)
                await self.equity.record(session, snapshot, received)
            for node_id, seen in nodes.items():
                await NodeRepo(session).upsert(
                    node_id,
                    account=seen.link.account,
                    broker=seen.link.broker,
                    status="online",
                    connection_id=seen.link.connection_id,
                    last_seen=seen.link.last_seen,
                    last_seq=seen.seq,
                )
            await session.commit()


async def _write_snapshot(session: AsyncSession, node_id: str, snapshot: Account) -> None:
    await AccountRepo(session).upsert(
        snapshot.id,
        node_id=node_id,
        paper=snapshot.paper,
        cash=snapshot.cash,
        frozen_cash=snapshot.frozen_cash,
        equity=snapshot.equity,
    )
    await PositionRepo(session).replace(
        snapshot.id,
        [
            {
                "symbol": p.symbol.full,
                "total": p.total,
                "available": p.available,
                "cost_price": p.cost_price,
                "last_price": p.last_price,
            }
            for p in snapshot.positions
        ],
    )
