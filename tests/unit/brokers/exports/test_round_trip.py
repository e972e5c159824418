"""What the writer writes, the reader reads back to the same values, in both formats."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from aigupiao.brokers.exports import ExportFormat, ExportKind, read_export, write_exports
from aigupiao.domain.orders import OrderStatus, OrderType
from aigupiao.domain.sessions import BEIJING

from .samples import NAMES, ORDERS, POSITIONS, STATUS_WORDS, TRADES

NOW = datetime(2025, 7, 2, 16, 51, 22, tzinfo=BEIJING)


@pytest.fixture(params=list(ExportFormat), ids=lambda f: f.value)
def files(request: pytest.FixtureRequest, tmp_path: Path) -> dict[ExportKind, Path]:
    paths = write_exports(
        tmp_path,
        now=NOW,
        positions=POSITIONS,
        trades=TRADES,
        orders=ORDERS,
        names=NAMES.get,
        formats=[request.param],
    )
    by_kind = {read_export(path).kind: path for path in paths}
    assert len(by_kind) == 3
    return by_kind


def test_positions_read_back(files: dict[ExportKind, Path]) -> None:
    read = read_export(files[ExportKind.POSITIONS])
    assert read.problems == [] and read.notes == []
    assert len(read.rows) == len(POSITIONS)
    for row, position in zip(read.rows, POSITIONS, strict=True):
        assert row["code"] == position.symbol.code and isinstance(row["code"], str)
        assert row["exchange"] == position.symbol.exchange.value
        assert row["name"] == NAMES[position.symbol.full]
        assert (row["total"], row["available"]) == (position.total, position.available)
        assert row["cost_price"] == position.cost_price
        assert row["last_price"] == position.last_price
        assert row["cost_amount"] == position.cost_price * position.total
        if position.last_price is None:
            assert row["market_value"] is None and row["pnl"] is None
        else:
            assert row["market_value"] == position.market_value
            assert row["pnl"] == position.unrealized_pnl


def test_trades_read_back(files: dict[ExportKind, Path]) -> None:
    read = read_export(files[ExportKind.TRADES])
    assert read.kind is ExportKind.TRADES and read.problems == []
    for row, trade in zip(read.rows, TRADES, strict=True):
        when = datetime.combine(row["date"], row["time"], BEIJING)
        assert when == trade.ts
        assert (row["code"], row["exchange"]) == (trade.symbol.code, trade.symbol.exchange.value)
        assert row["side"] is trade.side
        assert (row["quantity"], row["price"], row["amount"]) == (
            trade.quantity,
            trade.price,
            trade.amount,
        )
        assert (row["commission"], row["stamp_duty"], row["transfer_fee"]) == (
            trade.fees.commission,
            trade.fees.stamp_duty,
            trade.fees.transfer_fee,
        )
        assert (row["order_no"], row["trade_no"]) == (trade.order_id, trade.id)


def test_orders_read_back(files: dict[ExportKind, Path]) -> None:
    read = read_export(files[ExportKind.ORDERS])
    assert read.kind is ExportKind.ORDERS and read.problems == []
    assert tuple(row["status_text"] for row in read.rows) == STATUS_WORDS
    for row, order in zip(read.rows, ORDERS, strict=True):
        assert row["status"] is order.status
        assert row["order_no"] == order.id
        assert datetime.combine(row["date"], row["time"], BEIJING) == order.created_at
        assert (row["code"], row["side"]) == (order.symbol.code, order.side)
        assert (row["quantity"], row["filled_quantity"]) == (order.quantity, order.filled_quantity)
        assert row["price"] == order.price
        assert row["average_price"] == order.average_price
        assert row["order_type"] == ("市价" if order.type is OrderType.MARKET else "限价")
        ended = order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
        assert row["cancelled_quantity"] == (order.remaining_quantity if ended else 0)
