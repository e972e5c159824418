"""Reconciliation: the broker's positions and today's trades against the cloud's records.

The broker side is what the account's node exports now (an ``export`` command,
``all``); the cloud side is the stored position snapshot and the stored trades of the
same trading day. The cloud side is read *before* the export is sent, because the
export's answer is stored like any other: its fills are added (insert-once by id) and
its account snapshot replaces the stored one. So a fill the cloud had missed is shown
once and is stored by the check itself; a second check then matches.

A trade made while the check runs can show up on one side only; check again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from aigupiao.core.clock import Clock
from aigupiao.domain.decisions import CommandType
from aigupiao.domain.sessions import BEIJING
from aigupiao.store import Database, PositionRepo, TradeRepo

from ..errors import ServiceError
from ..hub import NodeHub
from .commands import CommandService
from .results import ResultRecorder

# Brokers show cost prices to 0.001 CNY; a difference within that is display rounding.
COST_TOLERANCE = Decimal("0.001")
_CENT = Decimal("0.01")


class ExportTimeout(ServiceError):
    status = 504
    code = "export_timeout"


class ExportFailed(ServiceError):
    status = 502
    code = "export_failed"


@dataclass(frozen=True)
class Holding:
    """One symbol's position on one side."""

    total: int
    available: int
    cost_price: Decimal

    def public(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "available": self.available,
            "cost_price": money(self.cost_price),
        }


@dataclass(frozen=True)
class Fill:
    """One fill on one side."""

    id: str
    order_id: str
    symbol: str
    side: str
    quantity: int
    price: Decimal
    amount: Decimal
    ts: datetime

    @property
    def key(self) -> tuple[str, int, Decimal]:
        """What identifies a fill when the ids differ: its order, quantity and price."""
        return (self.order_id, self.quantity, self.price.normalize())

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "order_id": self.order_id,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": self.quantity,
            "price": money(self.price),
            "amount": money(self.amount),
            "ts": self.ts.astimezone(BEIJING).isoformat(),
        }


def money(value: Decimal) -> str:
    """A Decimal as a string without storage padding (``1467.6100`` -> ``1467.61``)."""
    rounded = value.quantize(_CENT)
    return str(rounded if rounded == value else value.normalize())


class Reconciler:
    """Compares one account's broker state (via its node) with the cloud's records."""

    def __init__(
        self,
        db: Database,
        hub: NodeHub,
        commands: CommandService,
        results: ResultRecorder,
        clock: Clock,
    ) -> None:
        self._db, self._hub, self._commands = db, hub, commands
        self._results, self._clock = results, clock

    async def run(
        self, account: str | None = None, *, cost_tolerance: Decimal = COST_TOLERANCE
    ) -> dict[str, Any]:
        """Reconcile ``account`` (default: the only connected node's) and report.

        Raises:
            NodeNotConnected: no node of the account is connected (or several, and
                no account given).
            ExportTimeout: the node did not answer the export within ``api_timeout``.
            ExportFailed: the node answered the export with a failure.
        """
        link = self._hub.pick(account=account)
        day = self._clock.today()
        await self._results.flush()  # snapshots still in memory are the cloud's too
        cloud_positions, cloud_fills = await self._cloud_side(link.account, day)
        outcome = await self._commands.submit(
            CommandType.EXPORT, {"data_type": "all"}, node_id=link.node_id
        )
        command = outcome.command
        if not outcome.completed:
            raise ExportTimeout(
                f"节点 {link.node_id} 未在时限内返回导出结果（指令 {command['id']}）",
                f"node {link.node_id} did not answer the export in time (command {command['id']})",
            )
        result = command.get("result") or {}
        if command["status"] != "done":
            raise ExportFailed(
                f"节点导出失败：{result.get('message', command['status'])}",
                f"the node's export failed: {result.get('message_en', command['status'])}",
            )
        broker_positions = _broker_holdings(result.get("positions") or [])
        broker_fills = [
            fill
            for fill in map(_fill_from_report, result.get("trades") or [])
            if fill.ts.astimezone(BEIJING).date() == day
        ]
        positions = compare_positions(broker_positions, cloud_positions, cost_tolerance)
        trades = compare_trades(broker_fills, cloud_fills)
        return {
            "account": link.account,
            "node_id": link.node_id,
            "checked_at": datetime.now(UTC).isoformat(),
            "trading_day": day.isoformat(),
            "matched": not positions and not any(trades.values()),
            "cost_tolerance": money(cost_tolerance),
            "counts": {
                "broker_positions": len(broker_positions),
                "cloud_positions": len(cloud_positions),
                "broker_trades": len(broker_fills),
                "cloud_trades": len(cloud_fills),
            },
            "positions": positions,
            "trades": trades,
            "export_command_id": command["id"],
        }

    async def _cloud_side(self, account: str, day: date) -> tuple[dict[str, Holding], list[Fill]]:
        start = datetime.combine(day, time(0), BEIJING)
        async with self._db.session() as session:
            rows = await PositionRepo(session).list(account)
            trades = await TradeRepo(session).list(
                account=account, since=start, until=start + timedelta(days=1), limit=None
            )
        positions = {
            row["symbol"]: Holding(int(row["total"]), int(row["available"]), row["cost_price"])
            for row in rows
            if row["total"] or row["available"]
        }
        return positions, [_fill_from_row(row) for row in trades]


def _broker_holdings(reported: Iterable[dict[str, Any]]) -> dict[str, Holding]:
    holdings = {}
    for position in reported:
        total, available = int(position["total"]), int(position["available"])
        if total or available:
            holdings[position["symbol"]] = Holding(
                total, available, Decimal(position["cost_price"])
            )
    return holdings


def _fill_from_report(trade: dict[str, Any]) -> Fill:
    return Fill(
        id=trade["id"],
        order_id=trade["order_id"],
        symbol=trade["symbol"],
        side=trade["side"],
        quantity=int(trade["quantity"]),
        price=Decimal(trade["price"]),
        amount=Decimal(trade["amount"]),
        ts=datetime.fromisoformat(trade["ts"]),
    )


def _fill_from_row(row: dict[str, Any]) -> Fill:
    return Fill(
        id=row["id"],
        order_id=row["order_id"],
        symbol=str(row["symbol"]),
        side=str(row["side"]),
        quantity=int(row["quantity"]),
        price=row["price"],
        amount=row["amount"],
        ts=row["ts"],
    )


def compare_positions(
    broker: dict[str, Holding], cloud: dict[str, Holding], cost_tolerance: Decimal
) -> list[dict[str, Any]]:
    """One entry per symbol whose quantities differ, or whose cost prices differ by more
    than ``cost_tolerance``, or that only one side holds. Differences are broker - cloud."""
    differences = []
    for symbol in sorted(broker.keys() | cloud.keys()):
        at_broker, in_cloud = broker.get(symbol), cloud.get(symbol)
        issues = []
        if in_cloud is None:
            issues.append("missing_in_cloud")
        if at_broker is None:
            issues.append("missing_at_broker")
        total = (at_broker.total if at_broker else 0) - (in_cloud.total if in_cloud else 0)
        available = (at_broker.available if at_broker else 0) - (
            in_cloud.available if in_cloud else 0
        )
        cost = None
        if at_broker is not None and in_cloud is not None:
            cost = at_broker.cost_price - in_cloud.cost_price
            if abs(cost) > cost_tolerance:
                issues.append("cost_price")
        if total:
            issues.append("total")
        if available:
            issues.append("available")
        if issues:
            differences.append(
                {
                    "symbol": symbol,
                    "issues": issues,
                    "broker": at_broker.public() if at_broker else None,
                    "cloud": in_cloud.public() if in_cloud else None,
                    "total_difference": total,
                    "available_difference": available,
                    "cost_price_difference": None if cost is None else money(cost),
                }
            )
    return differences


def compare_trades(broker: list[Fill], cloud: list[Fill]) -> dict[str, list[dict[str, Any]]]:
    """Fills on one side only: matched by id, then by order id + quantity + price (a
    broker that renumbers its fills). Fills with the same id but other contents are
    listed under ``different``."""
    cloud_by_id = {fill.id: fill for fill in cloud}
    broker_ids = {fill.id for fill in broker}
    different = []
    unmatched_broker = []
    for fill in broker:
        stored = cloud_by_id.get(fill.id)
        if stored is None:
            unmatched_broker.append(fill)
            continue
        changed = {
            name: {"broker": _shown(getattr(fill, name)), "cloud": _shown(getattr(stored, name))}
            for name in ("order_id", "symbol", "side", "quantity", "price")
            if getattr(fill, name) != getattr(stored, name)
        }
        if changed:
            different.append({"id": fill.id, "fields": changed})
    unmatched_cloud: dict[tuple[str, int, Decimal], list[Fill]] = {}
    for fill in cloud:
        if fill.id not in broker_ids:
            unmatched_cloud.setdefault(fill.key, []).append(fill)
    missing_in_cloud = []
    for fill in unmatched_broker:
        candidates = unmatched_cloud.get(fill.key)
        if candidates:
            candidates.pop(0)  # the same fill under another id
        else:
            missing_in_cloud.append(fill.public())
    missing_at_broker = [fill.public() for group in unmatched_cloud.values() for fill in group]
    return {
        "missing_in_cloud": missing_in_cloud,
        "missing_at_broker": sorted(missing_at_broker, key=lambda t: (t["ts"], t["id"])),
        "different": different,
    }


def _shown(value: object) -> object:
    return money(value) if isinstance(value, Decimal) else value
