"""The comparison behind ``/api/reconcile``, on hand-made positions and fills."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from aigupiao.cloud.services.reconcile import (
    Fill,
    Holding,
    compare_positions,
    compare_trades,
    money,
)
from aigupiao.domain.sessions import BEIJING

TS = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)


def fill(id_: str, order: str = "o-1", quantity: int = 100, price: str = "10.00") -> Fill:
    return Fill(
        id_, order, "sz000001", "buy", quantity, Decimal(price), Decimal(price) * quantity, TS
    )


def test_positions_on_one_side_only_and_within_tolerance() -> None:
    broker = {"sz000001": Holding(100, 100, Decimal("10.001"))}
    cloud = {
        "sz000001": Holding(100, 100, Decimal("10.0000")),
        "sh600519": Holding(200, 200, Decimal("1466.8000")),
    }
    (only_cloud,) = compare_positions(broker, cloud, Decimal("0.001"))
    assert only_cloud["symbol"] == "sh600519"
    assert only_cloud["issues"] == ["missing_at_broker", "total", "available"]
    assert only_cloud["total_difference"] == -200 and only_cloud["broker"] is None
    assert only_cloud["cloud"] == {"total": 200, "available": 200, "cost_price": "1466.80"}
    assert only_cloud["cost_price_difference"] is None
    _, cost = compare_positions(broker, cloud, Decimal("0.0005"))
    assert cost["symbol"] == "sz000001"
    assert cost["issues"] == ["cost_price"] and cost["cost_price_difference"] == "0.001"


def test_fills_match_by_id_then_by_order_quantity_and_price() -> None:
    broker = [fill("t-1"), fill("t-2", quantity=200), fill("t-3"), fill("t-4", order="o-2")]
    cloud = [
        fill("t-1"),
        fill("x-2", quantity=200),
        fill("x-3", price="10.0100"),
        fill("t-5", order="o-9"),
    ]
    result = compare_trades(broker, cloud)
    # t-2 is x-2 renumbered; t-3 is not x-3 (another price); t-4's order has no match
    assert [t["id"] for t in result["missing_in_cloud"]] == ["t-3", "t-4"]
    assert [t["id"] for t in result["missing_at_broker"]] == ["t-5", "x-3"]
    assert result["different"] == []
    assert result["missing_in_cloud"][0]["price"] == "10.00"
    assert result["missing_in_cloud"][0]["ts"] == "2026-11-24T10:00:00+08:00"


def test_the_same_id_with_other_contents_is_reported() -> None:
    result = compare_trades([fill("t-1", quantity=200)], [fill("t-1", price="10.0000")])
    assert result["different"] == [
        {"id": "t-1", "fields": {"quantity": {"broker": 200, "cloud": 100}}}
    ]
    assert result["missing_in_cloud"] == [] and result["missing_at_broker"] == []


def test_money_drops_storage_padding_only() -> None:
    assert money(Decimal("1467.6100")) == "1467.61"
    assert money(Decimal("10.9370")) == "10.937"
    assert money(Decimal("5")) == "5.00"
    assert money(Decimal("-0.0500")) == "-0.05"
