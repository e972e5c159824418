"""Paper accounts on disk: one SQLite file holds any number of them, side by side.

The paper broker writes what each call changed (the account's cash and counters,
the holdings, orders and fills it touched, where its resting orders stand in their
queues and the depth it took from each symbol's book) in one transaction before it
answers, so a restarted node finds its account exactly as it left it. Writes are a few
small rows (WAL, ``synchronous=NORMAL``): tens of microseconds, on the caller's
thread, like the broker's own bookkeeping.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aigupiao.core.files import private_sqlite
from aigupiao.domain.orders import (
    Fees,
    MarketKind,
    Order,
    OrderStatus,
    OrderType,
    Side,
    Trade,
)
from aigupiao.domain.symbols import parse_symbol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    cash TEXT NOT NULL,
    frozen_cash TEXT NOT NULL,
    day TEXT NOT NULL,
    order_seq INTEGER NOT NULL,
    trade_seq INTEGER NOT NULL,
    run TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS holdings (
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    total INTEGER NOT NULL,
    available INTEGER NOT NULL,
    cost TEXT NOT NULL,
    PRIMARY KEY (account, symbol)
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    client_order_id TEXT,
    day TEXT NOT NULL,
    open INTEGER NOT NULL,       -- 1 while the order rests
    auction INTEGER NOT NULL,    -- 1 while it waits for the opening call auction
    reserved TEXT NOT NULL,      -- cash a buy still has frozen
    data TEXT NOT NULL,
    queue TEXT                   -- JSON: where a resting order stands (ahead, better)
);
CREATE INDEX IF NOT EXISTS orders_client ON orders (account, client_order_id);
CREATE INDEX IF NOT EXISTS orders_open ON orders (account, open);
CREATE TABLE IF NOT EXISTS trades (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    day TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trades_day ON trades (account, day);
CREATE TABLE IF NOT EXISTS tapes (
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    day TEXT NOT NULL,
    data TEXT NOT NULL,          -- JSON: the depth taken from the book, by side and price
    PRIMARY KEY (account, symbol)
);
"""


@dataclass(frozen=True, slots=True)
class SavedHolding:
    symbol: str
    total: int
    available: int
    cost: Decimal


@dataclass(frozen=True, slots=True)
class SavedOrder:
    order: Order
    open: bool
    auction: bool
    reserved: Decimal
    queue: str | None = None  # the broker's JSON of where a resting order stands


@dataclass(frozen=True, slots=True)
class SavedAccount:
    """An account as stored: its open and today's orders, today's fills."""

    id: str
    cash: Decimal
    frozen_cash: Decimal
    day: date
    order_seq: int
    trade_seq: int
    run: str
    holdings: tuple[SavedHolding, ...]
    orders: tuple[SavedOrder, ...]  # open ones and those of ``day``
    trades: tuple[Trade, ...]  # those of ``day``
    tapes: tuple[tuple[str, str], ...] = ()  # (symbol, the broker's JSON) of ``day``


class PaperStore:
    """The SQLite file of the paper accounts (``<node data dir>/paper.db`` by default)."""

    def __init__(self, path: Path) -> None:
        private_sqlite(path)  # the paper account: owner-only
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(orders)")}
        if "queue" not in columns:  # a file written before queues were kept
            self._conn.execute("ALTER TABLE orders ADD COLUMN queue TEXT")
        self._lock = threading.Lock()  # several brokers (accounts) may share one store

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def load(self, account_id: str) -> SavedAccount | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT cash, frozen_cash, day, order_seq, trade_seq, run FROM accounts WHERE id=?",
                (account_id,),
            ).fetchone()
            if row is None:
                return None
            cash, frozen, day, order_seq, trade_seq, run = row
            holdings = self._conn.execute(
                "SELECT symbol, total, available, cost FROM holdings WHERE account=?",
                (account_id,),
            ).fetchall()
            orders = self._conn.execute(
                "SELECT open, auction, reserved, data, queue FROM orders "
                "WHERE account=? AND (open=1 OR day=?) ORDER BY rowid",
                (account_id, day),
            ).fetchall()
            trades = self._conn.execute(
                "SELECT data FROM trades WHERE account=? AND day=? ORDER BY rowid",
                (account_id, day),
            ).fetchall()
            tapes = self._conn.execute(
                "SELECT symbol, data FROM tapes WHERE account=? AND day=?", (account_id, day)
            ).fetchall()
        return SavedAccount(
            id=account_id,
            cash=Decimal(cash),
            frozen_cash=Decimal(frozen),
            day=date.fromisoformat(day),
            order_seq=order_seq,
            trade_seq=trade_seq,
            run=run,
            holdings=tuple(
                SavedHolding(symbol, total, available, Decimal(cost))
                for symbol, total, available, cost in holdings
            ),
            orders=tuple(
                SavedOrder(
                    order_from_json(data), bool(is_open), bool(auction), Decimal(reserved), queue
                )
                for is_open, auction, reserved, data, queue in orders
            ),
            trades=tuple(trade_from_json(data) for (data,) in trades),
            tapes=tuple((symbol, data) for symbol, data in tapes),
        )

    def save(
        self,
        account: dict[str, Any],
        *,
        holdings: Iterable[SavedHolding] = (),
        orders: Iterable[SavedOrder] = (),
        trades: Iterable[Trade] = (),
        tapes: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Write one change in one transaction. ``account`` has the columns of ``accounts``;
        a holding with ``total == 0`` is deleted; ``tapes`` are (symbol, JSON) of its day."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO accounts (id, cash, frozen_cash, day, order_seq, "
                    "trade_seq, run) VALUES (:id, :cash, :frozen_cash, :day, :order_seq, "
                    ":trade_seq, :run)",
                    {
                        **account,
                        "cash": str(account["cash"]),
                        "frozen_cash": str(account["frozen_cash"]),
                        "day": account["day"].isoformat(),
                    },
                )
                for holding in holdings:
                    if holding.total:
                        conn.execute(
                            "INSERT OR REPLACE INTO holdings VALUES (?, ?, ?, ?, ?)",
                            (
                                account["id"],
                                holding.symbol,
                                holding.total,
                                holding.available,
                                str(holding.cost),
                            ),
                        )
                    else:
                        conn.execute(
                            "DELETE FROM holdings WHERE account=? AND symbol=?",
                            (account["id"], holding.symbol),
                        )
                for saved in orders:
                    order = saved.order
                    conn.execute(
                        "INSERT OR REPLACE INTO orders (id, account, client_order_id, day, open, "
                        "auction, reserved, data, queue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            order.id,
                            account["id"],
                            order.client_order_id,
                            order.created_at.date().isoformat(),
                            int(saved.open),
                            int(saved.auction),
                            str(saved.reserved),
                            order_to_json(order),
                            saved.queue if saved.open else None,
                        ),
                    )
                conn.executemany(
                    "INSERT OR REPLACE INTO tapes VALUES (?, ?, ?, ?)",
                    [
                        (account["id"], symbol, account["day"].isoformat(), data)
                        for symbol, data in tapes
                    ],
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?)",
                    [
                        (t.id, account["id"], t.ts.date().isoformat(), trade_to_json(t))
                        for t in trades
                    ],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def find_order(self, account_id: str, client_order_id: str) -> Order | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM orders WHERE account=? AND client_order_id=?",
                (account_id, client_order_id),
            ).fetchone()
        return order_from_json(row[0]) if row else None

    def accounts(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._conn.execute("SELECT id FROM accounts ORDER BY id")]


def order_to_json(order: Order) -> str:
    return json.dumps(
        {
            "id": order.id,
            "account": order.account,
            "symbol": order.symbol.full,
            "side": order.side.value,
            "type": order.type.value,
            "quantity": order.quantity,
            "price": None if order.price is None else str(order.price),
            "created_at": order.created_at.isoformat(),
            "status": order.status.value,
            "filled_quantity": order.filled_quantity,
            "filled_amount": str(order.filled_amount),
            "broker_order_id": order.broker_order_id,
            "client_order_id": order.client_order_id,
            "reason": order.reason,
            "market_kind": order.market_kind.value if order.market_kind else None,
        },
        ensure_ascii=False,
    )


def order_from_json(text: str) -> Order:
    data = json.loads(text)
    return Order(
        id=data["id"],
        account=data["account"],
        symbol=parse_symbol(data["symbol"]),
        side=Side(data["side"]),
        type=OrderType(data["type"]),
        quantity=data["quantity"],
        price=None if data["price"] is None else Decimal(data["price"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        status=OrderStatus(data["status"]),
        filled_quantity=data["filled_quantity"],
        filled_amount=Decimal(data["filled_amount"]),
        broker_order_id=data["broker_order_id"],
        client_order_id=data["client_order_id"],
        reason=data["reason"],
        market_kind=MarketKind(data["market_kind"]) if data["market_kind"] else None,
    )


def trade_to_json(trade: Trade) -> str:
    return json.dumps(
        {
            "id": trade.id,
            "order_id": trade.order_id,
            "account": trade.account,
            "symbol": trade.symbol.full,
            "side": trade.side.value,
            "quantity": trade.quantity,
            "price": str(trade.price),
            "amount": str(trade.amount),
            "commission": str(trade.fees.commission),
            "stamp_duty": str(trade.fees.stamp_duty),
            "transfer_fee": str(trade.fees.transfer_fee),
            "ts": trade.ts.isoformat(),
        }
    )


def trade_from_json(text: str) -> Trade:
    data = json.loads(text)
    return Trade(
        id=data["id"],
        order_id=data["order_id"],
        account=data["account"],
        symbol=parse_symbol(data["symbol"]),
        side=Side(data["side"]),
        quantity=data["quantity"],
        price=Decimal(data["price"]),
        amount=Decimal(data["amount"]),
        fees=Fees(
            Decimal(data["commission"]), Decimal(data["stamp_duty"]), Decimal(data["transfer_fee"])
        ),
        ts=datetime.fromisoformat(data["ts"]),
    )
