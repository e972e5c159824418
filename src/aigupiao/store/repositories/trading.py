"""Orders and their events, trades, positions and accounts as the nodes report them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, func, select, update

from aigupiao.domain.orders import OrderStatus

from ..models import (
    AccountRow,
    AccountSnapshotRow,
    OrderEventRow,
    OrderRow,
    PositionRow,
    TradeRow,
)
from ._base import Repository, table, text_value

_orders = table(OrderRow)
_order_events = table(OrderEventRow)
_trades = table(TradeRow)
_positions = table(PositionRow)
_accounts = table(AccountRow)
_snapshots = table(AccountSnapshotRow)
_INSERT_EVENT = _order_events.insert()
_Rows = list[dict[str, Any]]  # (``list`` is a method name inside the repositories)
# Orders that may still fill (or release what they hold).
OPEN_STATUSES = tuple(status.value for status in OrderStatus if not status.is_final)

# Filled in when a report leaves them out, and kept from the stored order when a
# later report does not carry them (an event may not know which command placed it).
_OPTIONAL_ORDER_COLUMNS = ("node_id", "command_id", "price", "broker_order_id")


class OrderRepo(Repository):
    async def upsert(self, order: dict[str, Any]) -> None:
        """Store an order as last reported and log an ``order_events`` row when it is
        new or its status or filled quantity changed.

        ``order`` has the keys of the ``orders`` table. Required: id, account, symbol,
        side, type, quantity, status, created_at, updated_at. ``filled_quantity`` and
        ``filled_amount`` default to 0, ``reason`` to "". For an existing order,
        ``created_at`` is kept, and None/empty optional values do not erase stored ones.
        """
        values = _order_values(order)
        # Most reports are of new orders: try the insert first (one statement), and read
        # the stored order only when there is one.
        insert_new = self._prepared(
            "orders.insert_new",
            lambda: self._insert(_orders).on_conflict_do_nothing(index_elements=["account", "id"]),
        )
        if await self._execute_count(insert_new, values):
            await self._add_event(values)
            return
        current = await self._current(values["account"], values["id"])
        assert current is not None  # the insert found it
        for name in (*_OPTIONAL_ORDER_COLUMNS, "reason"):
            if not values[name] and current[name]:
                values[name] = current[name]
        values["created_at"] = current["created_at"]
        await self._session.execute(
            update(_orders)
            .where(_orders.c.account == values["account"], _orders.c.id == values["id"])
            .values(values)
        )
        changed = (current["status"], current["filled_quantity"]) != (
            values["status"],
            values["filled_quantity"],
        )
        if changed:
            await self._add_event(values)

    async def get(self, order_id: str, account: str | None = None) -> dict[str, Any] | None:
        """The order with this id in ``account``; without an account, the newest order
        with this id in any account (ids are unique per account only)."""
        c = _orders.c
        statement = select(_orders).where(c.id == order_id)
        if account is not None:
            statement = statement.where(c.account == account)
        return await self._one(statement.order_by(c.created_at.desc()).limit(1))

    async def events(self, order_id: str, account: str) -> list[dict[str, Any]]:
        """The order's history, oldest first."""
        c = _order_events.c
        return await self._all(
            select(_order_events).where(c.account == account, c.order_id == order_id).order_by(c.id)
        )

    async def list(self, *, account: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Orders, newest first."""
        c = _orders.c
        statement = select(_orders).order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        if account is not None:
            statement = statement.where(c.account == account)
        return await self._all(statement)

    async def open_since(self, account: str, since: datetime) -> _Rows:
        """The account's orders created since ``since`` that are not final yet (new,
        submitted, partly filled, cancel pending), oldest first, each with ``first_seen``:
        when the cloud first stored a report of it."""
        c, e = _orders.c, _order_events.c

        def build() -> Any:
            first_seen = (
                select(func.min(e.ts))
                .where(e.account == c.account, e.order_id == c.id)
                .scalar_subquery()
                .label("first_seen")
            )
            return (
                select(_orders, first_seen)
                .where(
                    c.account == bindparam("account"),
                    c.created_at >= bindparam("since", type_=c.created_at.type),
                    c.status.in_(OPEN_STATUSES),
                )
                .order_by(c.created_at, c.id)
            )

        statement = self._prepared("orders.open_since", build)  # on every order's path
        result = await self._session.execute(statement, {"account": account, "since": since})
        return [dict(row) for row in result.mappings()]

    async def _current(self, account: str, order_id: str) -> dict[str, Any] | None:
        # FOR UPDATE: two reports of one order must not both log the same change.
        c = _orders.c
        return await self._one(
            select(_orders).where(c.account == account, c.id == order_id).with_for_update()
        )

    async def _add_event(self, values: dict[str, Any]) -> None:
        await self._session.execute(
            _INSERT_EVENT,
            {
                "account": values["account"],
                "order_id": values["id"],
                "ts": values["updated_at"],
                "status": values["status"],
                "filled_quantity": values["filled_quantity"],
                "data": {
                    "filled_amount": values["filled_amount"],
                    "broker_order_id": values["broker_order_id"],
                    "reason": values["reason"],
                },
            },
        )


def _order_values(order: dict[str, Any]) -> dict[str, Any]:
    values = {
        "id": order["id"],
        "account": order["account"],
        "symbol": text_value(order["symbol"]),
        "side": text_value(order["side"]),
        "type": text_value(order["type"]),
        "quantity": order["quantity"],
        "status": text_value(order["status"]),
        "filled_quantity": order.get("filled_quantity") or 0,
        "filled_amount": order.get("filled_amount") or Decimal(0),
        "reason": order.get("reason") or "",
        "created_at": order["created_at"],
        "updated_at": order["updated_at"],
    }
    values.update({name: order.get(name) for name in _OPTIONAL_ORDER_COLUMNS})
    return values


class TradeRepo(Repository):
    async def add(self, trade: dict[str, Any]) -> bool:
        """Store a fill; False (and nothing changes) if the account has a trade with this id.

        Keys: id, order_id, account, node_id, symbol, side, quantity, price, amount,
        commission, stamp_duty, transfer_fee, ts.
        """
        values = {column.name: trade.get(column.name) for column in _trades.columns}
        values["symbol"] = text_value(values["symbol"])
        values["side"] = text_value(values["side"])
        insert_new = self._prepared(
            "trades.insert_new",
            lambda: self._insert(_trades).on_conflict_do_nothing(index_elements=["account", "id"]),
        )
        return await self._execute_count(insert_new, values) > 0

    async def list(
        self,
        *,
        account: str | None = None,
        symbol: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 200,
    ) -> list[dict[str, Any]]:
        """Trades, newest first; ``since`` <= ts < ``until`` where given; ``limit`` None: all."""
        c = _trades.c
        statement = select(_trades).order_by(c.ts.desc(), c.id.desc()).limit(limit)
        if account is not None:
            statement = statement.where(c.account == account)
        if symbol is not None:
            statement = statement.where(c.symbol == text_value(symbol))
        if since is not None:
            statement = statement.where(c.ts >= since)
        if until is not None:
            statement = statement.where(c.ts < until)
        return await self._all(statement)


class PositionRepo(Repository):
    async def replace(self, account: str, positions: list[dict[str, Any]]) -> None:
        """Replace the account's whole position snapshot.

        Each position has symbol, total, available, cost_price and last_price (may be None).
        """
        now = self._now()
        await self._session.execute(delete(_positions).where(_positions.c.account == account))
        rows = [
            {
                "account": account,
                "symbol": text_value(p["symbol"]),
                "total": p["total"],
                "available": p["available"],
                "cost_price": p["cost_price"],
                "last_price": p.get("last_price"),
                "updated_at": now,
            }
            for p in positions
        ]
        if rows:
            await self._session.execute(_positions.insert(), rows)

    async def list(self, account: str | None = None) -> list[dict[str, Any]]:
        c = _positions.c
        statement = select(_positions).order_by(c.account, c.symbol)
        if account is not None:
            statement = statement.where(c.account == account)
        return await self._all(statement)


class AccountRepo(Repository):
    async def upsert(
        self,
        account_id: str,
        *,
        node_id: str | None,
        paper: bool,
        cash: Decimal,
        frozen_cash: Decimal,
        equity: Decimal,
    ) -> None:
        await self._upsert(
            _accounts,
            [
                {
                    "id": account_id,
                    "node_id": node_id,
                    "paper": paper,
                    "cash": cash,
                    "frozen_cash": frozen_cash,
                    "equity": equity,
                    "updated_at": self._now(),
                }
            ],
            ["id"],
        )

    async def list(self) -> list[dict[str, Any]]:
        return await self._all(select(_accounts).order_by(_accounts.c.id))


class AccountSnapshotRepo(Repository):
    """The equity history of accounts (``account_snapshots``); the throttling is the
    caller's (``cloud/services/equity.py``)."""

    async def add(self, account: str, ts: datetime, values: dict[str, Decimal]) -> int:
        """Append a row; returns its id. ``values``: equity, cash, frozen_cash, market_value."""
        result = await self._session.execute(
            _snapshots.insert().values(account=account, ts=ts, **values)
        )
        (row_id,) = cast(CursorResult[Any], result).inserted_primary_key or (None,)
        assert row_id is not None
        return int(row_id)

    async def replace(self, row_id: int, ts: datetime, values: dict[str, Decimal]) -> None:
        """Overwrite a row with a newer snapshot of the same interval."""
        await self._session.execute(
            update(_snapshots).where(_snapshots.c.id == row_id).values(ts=ts, **values)
        )

    async def last(self, account: str) -> dict[str, Any] | None:
        c = _snapshots.c
        return await self._one(
            select(_snapshots)
            .where(c.account == account)
            .order_by(c.ts.desc(), c.id.desc())
            .limit(1)
        )

    async def last_before(self, account: str, moment: datetime) -> dict[str, Any] | None:
        """The newest row with ``ts < moment``."""
        c = _snapshots.c
        statement = select(_snapshots).where(c.account == account, c.ts < moment)
        return await self._one(statement.order_by(c.ts.desc(), c.id.desc()).limit(1))

    async def first_since(self, account: str, moment: datetime) -> dict[str, Any] | None:
        """The oldest row with ``ts >= moment``."""
        c = _snapshots.c
        statement = select(_snapshots).where(c.account == account, c.ts >= moment)
        return await self._one(statement.order_by(c.ts, c.id).limit(1))

    async def list(
        self,
        account: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` rows with ``start <= ts <= end``, oldest first."""
        c = _snapshots.c
        statement = select(_snapshots).where(c.account == account)
        if start is not None:
            statement = statement.where(c.ts >= start)
        if end is not None:
            statement = statement.where(c.ts <= end)
        rows = await self._all(statement.order_by(c.ts.desc(), c.id.desc()).limit(limit))
        rows.reverse()
        return rows

    async def delete_before(self, cutoff: datetime, *, limit: int = 10_000) -> int:
        """Delete up to ``limit`` rows with ``ts < cutoff``; returns how many went.

        Call it until it returns less than ``limit``, committing in between.
        """
        c = _snapshots.c
        doomed = select(c.id).where(c.ts < cutoff).limit(limit).scalar_subquery()
        return await self._execute_count(delete(_snapshots).where(c.id.in_(doomed)))
