"""Which broker order each of our client order ids became, kept on disk across restarts.

A desktop client or a vendor SDK knows nothing of aigupiao's client order id
(the command id), so the live adapters keep the link themselves in a small
SQLite file in the node's data directory:

* A row is written, and committed, **before** the order is sent (state
  ``sending``). A node that dies in the middle of the click still finds the
  row after a restart, so ``find_order`` knows the order may exist.
* When the broker's number comes back (合同编号 / QMT ``order_id``) the row
  becomes ``placed``. A step that timed out leaves it ``unknown``.
* A request that was refused, or never reached the client, is deleted: the
  broker never got it.
* ``last_order`` keeps the latest state the adapter saw, so an order of an
  earlier day (no longer in the client's 当日委托) can still be answered.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aigupiao.core.files import private_sqlite
from aigupiao.domain.orders import MarketKind, Order, OrderStatus, OrderType, Side
from aigupiao.domain.symbols import Symbol, parse_symbol

from .vocabulary import restore_order

SENDING, PLACED, UNKNOWN = "sending", "placed", "unknown"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS client_orders (
    client_order_id TEXT PRIMARY KEY,
    broker TEXT NOT NULL,
    account TEXT NOT NULL,
    trading_day TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    market_kind TEXT,
    quantity INTEGER NOT NULL,
    price TEXT,
    remark TEXT,
    broker_order_id TEXT,
    state TEXT NOT NULL,
    last_order TEXT
);
CREATE INDEX IF NOT EXISTS client_orders_broker_id
    ON client_orders (broker, account, trading_day, broker_order_id);
"""


@dataclass(frozen=True, slots=True)
class ClientOrder:
    """One order we sent (or were sending), as remembered."""

    client_order_id: str
    broker: str
    account: str
    trading_day: date
    placed_at: datetime
    symbol: Symbol
    side: Side
    type: OrderType
    market_kind: MarketKind | None
    quantity: int
    price: Decimal | None
    remark: str | None
    broker_order_id: str | None
    state: str
    last_order: dict[str, Any] | None

    def order(self, order_id: str, created_at: datetime | None = None) -> Order:
        """The order as sent (status NEW), or in its last remembered state."""
        placed = Order(
            id=order_id,
            account=self.account,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            quantity=self.quantity,
            price=self.price,
            created_at=created_at or self.placed_at,
            market_kind=self.market_kind,
            broker_order_id=self.broker_order_id,
            client_order_id=self.client_order_id,
        )
        last = self.last_order
        if last is None:
            return placed
        return restore_order(
            placed,
            OrderStatus(last["status"]),
            filled_quantity=int(last["filled_quantity"]),
            filled_amount=Decimal(last["filled_amount"]),
            reason=str(last.get("reason", "")),
        )


class DuplicateClientOrder(Exception):
    """The client order id was already used."""


class ClientOrderStore:
    """The SQLite file ``path`` (created if missing). Statements are tiny and run inline."""

    def __init__(self, path: Path) -> None:
        private_sqlite(path)  # orders of a real account: owner-only
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # The row must be on disk before the click: a crash right after must still find it.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        self._db.close()

    def begin(
        self,
        *,
        client_order_id: str,
        broker: str,
        account: str,
        placed_at: datetime,
        symbol: Symbol,
        side: Side,
        type: OrderType,
        quantity: int,
        price: Decimal | None,
        market_kind: MarketKind | None = None,
        remark: str | None = None,
    ) -> ClientOrder:
        """Record an order about to be sent (state ``sending``).

        Raises:
            DuplicateClientOrder: the id is already recorded.
        """
        try:
            self._db.execute(
                "INSERT INTO client_orders (client_order_id, broker, account, trading_day,"
                " placed_at, symbol, side, type, market_kind, quantity, price, remark, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    client_order_id,
                    broker,
                    account,
                    placed_at.date().isoformat(),
                    placed_at.isoformat(),
                    symbol.full,
                    side.value,
                    type.value,
                    None if market_kind is None else market_kind.value,
                    quantity,
                    None if price is None else str(price),
                    remark,
                    SENDING,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateClientOrder(client_order_id) from exc
        record = self.get(client_order_id)
        assert record is not None
        return record

    def placed(self, client_order_id: str, broker_order_id: str) -> None:
        self._db.execute(
            "UPDATE client_orders SET broker_order_id = ?, state = ? WHERE client_order_id = ?",
            (broker_order_id, PLACED, client_order_id),
        )

    def unknown(self, client_order_id: str) -> None:
        self._db.execute(
            "UPDATE client_orders SET state = ? WHERE client_order_id = ? AND state = ?",
            (UNKNOWN, client_order_id, SENDING),
        )

    def forget(self, client_order_id: str) -> None:
        """The broker never got it (refused before sending, or never sent)."""
        self._db.execute("DELETE FROM client_orders WHERE client_order_id = ?", (client_order_id,))

    def remember(self, client_order_id: str, order: Order) -> None:
        """Keep ``order`` as the last state seen of ``client_order_id``."""
        last = {
            "status": order.status.value,
            "filled_quantity": order.filled_quantity,
            "filled_amount": str(order.filled_amount),
            "reason": order.reason,
        }
        self._db.execute(
            "UPDATE client_orders SET last_order = ? WHERE client_order_id = ?",
            (json.dumps(last), client_order_id),
        )

    def get(self, client_order_id: str) -> ClientOrder | None:
        row = self._db.execute(
            "SELECT * FROM client_orders WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()
        return None if row is None else _record(row)

    def by_broker_id(
        self, broker: str, account: str, day: date, broker_order_id: str
    ) -> str | None:
        """The client order id that became broker order ``broker_order_id`` on ``day``."""
        row = self._db.execute(
            "SELECT client_order_id FROM client_orders WHERE broker = ? AND account = ?"
            " AND trading_day = ? AND broker_order_id = ?",
            (broker, account, day.isoformat(), broker_order_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def by_remark(self, broker: str, account: str, remark: str) -> str | None:
        row = self._db.execute(
            "SELECT client_order_id FROM client_orders WHERE broker = ? AND account = ?"
            " AND remark = ? ORDER BY placed_at DESC",
            (broker, account, remark),
        ).fetchone()
        return None if row is None else str(row[0])

    def claimed(self, broker: str, account: str, day: date) -> set[str]:
        """Broker order ids of ``day`` already linked to one of our client order ids."""
        rows = self._db.execute(
            "SELECT broker_order_id FROM client_orders WHERE broker = ? AND account = ?"
            " AND trading_day = ? AND broker_order_id IS NOT NULL",
            (broker, account, day.isoformat()),
        ).fetchall()
        return {str(row[0]) for row in rows}

    def unlinked(self, broker: str, account: str, day: date) -> list[ClientOrder]:
        """Orders of ``day`` sent (or being sent) whose broker number never came back."""
        rows = self._db.execute(
            "SELECT * FROM client_orders WHERE broker = ? AND account = ? AND trading_day = ?"
            " AND broker_order_id IS NULL ORDER BY placed_at",
            (broker, account, day.isoformat()),
        ).fetchall()
        return [_record(row) for row in rows]


def _record(row: sqlite3.Row) -> ClientOrder:
    return ClientOrder(
        client_order_id=row["client_order_id"],
        broker=row["broker"],
        account=row["account"],
        trading_day=date.fromisoformat(row["trading_day"]),
        placed_at=datetime.fromisoformat(row["placed_at"]),
        symbol=parse_symbol(row["symbol"]),
        side=Side(row["side"]),
        type=OrderType(row["type"]),
        market_kind=None if row["market_kind"] is None else MarketKind(row["market_kind"]),
        quantity=int(row["quantity"]),
        price=None if row["price"] is None else Decimal(row["price"]),
        remark=row["remark"],
        broker_order_id=row["broker_order_id"],
        state=row["state"],
        last_order=None if row["last_order"] is None else json.loads(row["last_order"]),
    )
