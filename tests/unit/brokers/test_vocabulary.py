"""The one status vocabulary: client words and miniQMT codes -> OrderStatus."""

from datetime import datetime
from decimal import Decimal

import pytest

from aigupiao.brokers.vocabulary import (
    LABEL_ALIASES,
    QMT_ORDER_UNKNOWN,
    QMT_STATUS_CODES,
    STATUS_LABELS,
    UnknownStatus,
    label_from_qmt,
    normalize_label,
    reason_of,
    restore_order,
    side_from_text,
    status_from_label,
    status_from_qmt,
)
from aigupiao.core.clock import BEIJING
from aigupiao.domain.orders import Order, OrderStatus, OrderType, Side
from aigupiao.domain.symbols import parse_symbol

from ...fixtures.brokers import qmt_recorded as qr

S = OrderStatus

# REFERENCE.md: 未报 待报 已报 已报待撤 部成待撤 部撤 已撤 部成 已成 废单
EXPECTED = {
    "未报": S.NEW,
    "待报": S.NEW,
    "已报": S.SUBMITTED,
    "已报待撤": S.CANCEL_PENDING,
    "部成待撤": S.CANCEL_PENDING,
    "部撤": S.CANCELLED,
    "已撤": S.CANCELLED,
    "部成": S.PARTIALLY_FILLED,
    "已成": S.FILLED,
    "废单": S.REJECTED,
    "已过期": S.EXPIRED,  # ours: a paper day order that ended unfilled
}


@pytest.mark.parametrize(("word", "status"), EXPECTED.items())
def test_each_of_the_ten_words(word: str, status: OrderStatus) -> None:
    assert status_from_label(word) is status
    assert status_from_label(f" {word} ") is status


def test_the_table_is_exactly_the_ten_words_and_ours() -> None:
    assert STATUS_LABELS == EXPECTED
    assert set(LABEL_ALIASES.values()) <= set(EXPECTED)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("已成交", "已成"),
        ("全部成交", "已成"),
        ("部分成交", "部成"),
        ("已撤单", "已撤"),
        ("场内撤单", "已撤"),
        ("部分撤单", "部撤"),
        ("未成交", "已报"),
        ("正报", "待报"),
        ("正撤", "已报待撤"),
        ("废单:资金不足", "废单"),
        ("废单（价格超出涨跌停）", "废单"),
        ("已撤(用户撤单)", "已撤"),
    ],
)
def test_grid_spellings_fold_into_the_ten(text: str, word: str) -> None:
    assert normalize_label(text) == word


def test_the_reason_after_the_word_is_kept() -> None:
    assert reason_of("废单:资金不足") == "资金不足"
    assert reason_of("废单（价格超出涨跌停）") == "价格超出涨跌停"
    assert reason_of("已成") == ""


@pytest.mark.parametrize("text", ["", "未知", "撤单", "xyz", "成交"])
def test_an_unknown_word_is_never_guessed(text: str) -> None:
    with pytest.raises(UnknownStatus):
        status_from_label(text)


def test_qmt_codes_are_xtconstant_order_status() -> None:
    # xtconstant ORDER_UNREPORTED .. ORDER_JUNK, recorded in the fixture with their source.
    codes = {
        qr.ORDER_UNREPORTED: "未报",
        qr.ORDER_WAIT_REPORTING: "待报",
        qr.ORDER_REPORTED: "已报",
        qr.ORDER_REPORTED_CANCEL: "已报待撤",
        qr.ORDER_PARTSUCC_CANCEL: "部成待撤",
        qr.ORDER_PART_CANCEL: "部撤",
        qr.ORDER_CANCELED: "已撤",
        qr.ORDER_PART_SUCC: "部成",
        qr.ORDER_SUCCEEDED: "已成",
        qr.ORDER_JUNK: "废单",
    }
    assert codes == QMT_STATUS_CODES
    for code, word in codes.items():
        assert label_from_qmt(code) == word
        assert status_from_qmt(code) is EXPECTED[word]


@pytest.mark.parametrize("code", [QMT_ORDER_UNKNOWN, 47, 58, None, "x"])
def test_unknown_qmt_codes_raise(code: object) -> None:
    with pytest.raises(UnknownStatus):
        status_from_qmt(code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "side"),
    [("买入", Side.BUY), ("证券买入", Side.BUY), ("卖出", Side.SELL), ("证券卖出", Side.SELL)],
)
def test_sides(text: str, side: Side) -> None:
    assert side_from_text(text) is side


@pytest.mark.parametrize("text", ["撤买", "撤卖", "", "申购"])
def test_not_a_side(text: str) -> None:
    with pytest.raises(ValueError):
        side_from_text(text)


def _placed(quantity: int = 300, price: str | None = "10.00") -> Order:
    return Order(
        id="20260302-1",
        account="a",
        symbol=parse_symbol("sz000001"),
        side=Side.BUY,
        type=OrderType.LIMIT if price else OrderType.MARKET,
        quantity=quantity,
        price=Decimal(price) if price else None,
        created_at=datetime(2026, 3, 2, 10, tzinfo=BEIJING),
    )


def test_restore_any_reported_state() -> None:
    order = restore_order(
        _placed(), S.CANCELLED, filled_quantity=100, filled_amount=Decimal("999.00"), reason="x"
    )
    assert (order.status, order.filled_quantity, order.filled_amount, order.reason) == (
        S.CANCELLED,
        100,
        Decimal("999.00"),
        "x",
    )
    assert order.status_zh == "部撤"
    pending = restore_order(_placed(), S.CANCEL_PENDING, filled_quantity=100)
    assert pending.filled_amount == Decimal("1000.00")  # unknown amount: at the limit price
    assert pending.status_zh == "部成待撤"
    # The restored order goes on through the state machine.
    assert pending.cancel().status is S.CANCELLED


def test_restore_reconciles_stale_figures() -> None:
    # 已成 while 成交数量 still shows part of it: the whole order filled.
    filled = restore_order(_placed(), S.FILLED, filled_quantity=100, filled_amount=Decimal("1000"))
    assert (filled.filled_quantity, filled.filled_amount) == (300, Decimal("3000"))
    # 部成 with nothing filled yet is open; 已报 with fills is partly filled.
    assert restore_order(_placed(), S.PARTIALLY_FILLED).status is S.SUBMITTED
    assert restore_order(_placed(), S.SUBMITTED, filled_quantity=100).status is S.PARTIALLY_FILLED
    assert restore_order(_placed(), S.SUBMITTED, filled_quantity=300).status is S.FILLED


def test_restore_refuses_impossible_fills() -> None:
    with pytest.raises(ValueError):
        restore_order(_placed(), S.PARTIALLY_FILLED, filled_quantity=301)
    with pytest.raises(ValueError):
        restore_order(_placed(), S.SUBMITTED, filled_quantity=-1)


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("filled", [0, 100])
def test_every_status_word_we_write_reads_back(status: S, filled: int) -> None:
    """Order.status_zh (what exports and the API show) and this table agree."""
    order = Order(
        id="o", account="a", symbol=parse_symbol("sz000001"), side=Side.BUY,
        type=OrderType.LIMIT, quantity=200, price=Decimal("10.00"),
        created_at=datetime(2026, 3, 2, 10, tzinfo=BEIJING), status=status,
        filled_quantity=filled, filled_amount=Decimal("10.00") * filled,
    )  # fmt: skip
    assert status_from_label(order.status_zh) is status
