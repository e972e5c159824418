"""The reader on self-made exports (``tests/fixtures/exports``) and on edge cases in bytes.

The fixtures copy the real clients' shapes (see that folder's README) so a clone
without ``../shared`` still tests GBK, truncated names, ``="..."`` codes,
short SZ codes, UTF-8 with a BOM and header-only files.
"""

from __future__ import annotations

import json
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.brokers.exports import ExportKind, ExportReadError, parse_export, read_export
from aigupiao.domain.orders import OrderStatus, Side

from ....conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "exports"


def test_gbk_positions_with_quoted_codes_a_cut_name_hk_and_a_bad_number() -> None:
    result = read_export(FIXTURES / "持仓_参考持股.xls")
    assert (result.kind, result.encoding, result.delimiter) == (ExportKind.POSITIONS, "gbk", "\t")
    assert [row["code"] for row in result.rows] == ["560850", "600900", "159633"]
    etf, dianli, cut = result.rows
    assert etf["total"] == 20000 and etf["available"] == 20000  # 20000.00 is a whole number
    assert dianli["cost_price"] == Decimal("29.9322") and dianli["pnl_pct"] == Decimal("1.763")
    assert cut["name"] == "中证1000ETF易方\ufffd" and cut["exchange"] == "SZ"
    assert [note.line for note in result.notes] == [4]
    hk, bad = result.problems
    assert hk.line == 5 and "港股通" in hk.reason_zh and "09988" in hk.raw
    assert bad.line == 6 and "可用股份" in bad.reason_zh and "'5O0.00'" in bad.reason_en


def test_todays_trades_in_the_xiadan_layout() -> None:
    result = read_export(FIXTURES / "成交数据_0702_184610.xls")
    assert result.kind is ExportKind.TRADES and result.problems == []
    buy, sell = result.rows
    assert buy["date"] is None and buy["time"] == time(9, 31, 2)  # 当日成交 has no date column
    assert (buy["code"], buy["exchange"], buy["side"]) == ("000001", "SZ", Side.BUY)
    assert (buy["order_no"], buy["trade_no"]) == ("0012345", "0001")  # leading zeros kept
    assert (sell["exchange"], sell["side"], sell["amount"]) == ("SH", Side.SELL, Decimal("6076"))
    assert buy["extra"] == {"撤消数量": "0"}


def test_statement_short_codes_follow_the_documented_rule() -> None:
    result = read_export(FIXTURES / "交割单_短代码.csv")
    assert (result.encoding, result.delimiter) == ("gbk", ",")
    assert [(r["code"], r["exchange"]) for r in result.rows] == [
        ("000878", "SZ"),  # SZ shareholder account (all digits): padded
        ("000001", "SZ"),
        ("600519", None),  # six digits: kept; no market column to say which exchange
    ]
    assert result.rows[1]["quantity"] == -1000 and result.rows[1]["side"] is Side.SELL
    tencent, bad_price = result.problems
    assert "700" in tencent.reason_zh and "Stock Connect" in tencent.reason_en
    assert "成交价格" in bad_price.reason_zh and "'abc'" in bad_price.reason_en
    assert bad_price.raw.startswith("20190716,2466,")


def test_orders_in_utf8_with_bom_map_statuses() -> None:
    result = read_export(FIXTURES / "委托_utf8_bom.csv")
    assert (result.kind, result.encoding) == (ExportKind.ORDERS, "utf-8-sig")
    assert [r["status"] for r in result.rows] == [
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,  # 部撤
        OrderStatus.REJECTED,
        OrderStatus.SUBMITTED,
    ]
    part = result.rows[1]
    assert (part["status_text"], part["quantity"], part["filled_quantity"]) == ("部撤", 1000, 300)
    assert part["code"] == "000001" and part["order_no"] == "0002"  # ="..." inside CSV quotes
    assert result.rows[2]["average_price"] is None
    assert result.rows[0]["date"] == date(2025, 7, 2)


def test_header_only_export() -> None:
    result = read_export(FIXTURES / "委托数据_空.xls")
    assert result.kind is ExportKind.ORDERS
    assert result.rows == [] and result.problems == [] and result.notes == []
    assert len(result.columns) == 15 and result.columns[-1] == "冻结金额"


def test_resaved_statement_with_a_title_line_and_a_total_line() -> None:
    result = read_export(FIXTURES / "对账单_utf8.txt")
    assert (result.kind, result.encoding, result.delimiter) == (ExportKind.STATEMENT, "utf-8", "\t")
    assert result.notes[0].line is None and "1" in result.notes[0].message_en
    buy, transfer, sell = result.rows
    assert buy["time"] == time(9, 33, 45) and buy["commission"] == Decimal("5.000")
    assert transfer["code"] is None and transfer["cash_change"] == Decimal("245000.000")
    assert sell["code"] == "159633" and sell["exchange"] == "SZ"
    (total,) = result.problems
    assert total.line == 6 and total.raw.startswith("合计")


# -- bytes-level edge cases --------------------------------------------------------------

HEADER = "证券代码\t证券名称\t股票余额\t可用余额\t成本价\t交易市场\t"


def _positions(*rows: str, encoding: str = "gbk") -> bytes:
    return "\n".join([HEADER, *rows]).encode(encoding)


def test_header_names_decide_not_positions() -> None:
    moved = "交易市场\t可用余额\t证券名称\t成本价\t股票余额\t证券代码\t\n"
    moved += '深圳\t100\t平安银行\t10.5\t300\t="000001"\t'
    (row,) = parse_export(moved.encode("gbk")).rows
    assert (row["code"], row["total"], row["available"]) == ("000001", 300, 100)
    assert row["cost_price"] == Decimal("10.5")


def test_full_width_brackets_and_the_other_zhang_in_headers() -> None:
    text = "证券代码\t股票余额\t盈亏比例（%）\t股东账户\n600519\t100\t1.5\tA1\n"
    result = parse_export(text.encode("utf-8"))
    assert result.fields == {
        "code": "证券代码",
        "shareholder": "股东账户",
        "total": "股票余额",
        "pnl_pct": "盈亏比例（%）",
    }
    assert result.rows[0]["pnl_pct"] == Decimal("1.5")


@pytest.mark.parametrize(
    ("cell", "reason"),
    [("1.5", "whole number"), ("1e999x", "not a number"), ("", "no security code")],
)
def test_unreadable_cells_make_a_problem_not_a_crash(cell: str, reason: str) -> None:
    if reason == "no security code":
        data = _positions("\t平安银行\t300\t300\t10.5\t深圳\t")
    else:
        data = _positions(f'="000001"\t平安银行\t{cell}\t300\t10.5\t深圳\t')
    result = parse_export(data)
    assert result.rows == []
    (problem,) = result.problems
    assert reason in problem.reason_en and problem.line == 2


def test_a_row_with_too_many_cells_is_a_problem() -> None:
    result = parse_export(_positions('="000001"\t平安银行\t300\t300\t10.5\t深圳\tsurprise\t'))
    (problem,) = result.problems
    assert "7" in problem.reason_en and "6" in problem.reason_en


def test_short_codes_need_a_sz_market_to_be_padded() -> None:
    result = parse_export(
        _positions(
            "878\t云南铜业\t100\t100\t9.9\t深圳A股\t", "878\t云南铜业\t100\t100\t9.9\t上海\t"
        )
    )
    assert [r["code"] for r in result.rows] == ["000878"]
    (problem,) = result.problems
    assert "878" in problem.reason_en and problem.line == 3


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf\r\n", "empty"),
        (b"PK\x03\x04rest of a zip", "excel_workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "excel_workbook"),
        ("名称,数值\n甲,1\n".encode("gbk"), "no_header"),
        ("证券代码\t证券名称\t\n600519\t贵州茅台\t".encode("gbk"), "unknown_kind"),
    ],
    ids=["empty", "bom-only", "xlsx", "xls-binary", "no-header", "unknown-kind"],
)
def test_files_that_cannot_be_read_raise_with_a_reason(data: bytes, code: str) -> None:
    with pytest.raises(ExportReadError) as info:
        parse_export(data)
    assert info.value.code == code
    assert info.value.message_zh and info.value.message_en


def test_a_comma_header_after_a_title_line_is_found() -> None:
    text = "对账单 2025年6月\n发生日期,证券代码,业务名称,发生金额\n"
    text += "20250603,600900,证券买入,-15195.15\n"
    result = parse_export(text.encode("gbk"))
    assert (result.kind, result.delimiter) == (ExportKind.STATEMENT, ",")
    assert result.rows[0]["cash_change"] == Decimal("-15195.15")


def test_a_missing_file_raises_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ExportReadError) as info:
        read_export(tmp_path / "nope.xls")
    assert info.value.code == "unreadable" and "nope.xls" in info.value.message_en


def test_dates_and_times_in_their_variants() -> None:
    text = (
        "成交日期,成交时间,证券代码,成交数量,成交价格,成交编号\n"
        "2025-06-03,93856,600519,100,1466.8,1\n"
        "2025/6/4,9:08,600519,100,1466.8,2\n"
        "20250605,25:00:00,600519,100,1466.8,3\n"
    )
    result = parse_export(text.encode("utf-8"))
    assert [(r["date"], r["time"]) for r in result.rows] == [
        (date(2025, 6, 3), time(9, 38, 56)),
        (date(2025, 6, 4), time(9, 8)),
    ]
    (problem,) = result.problems
    assert "成交时间" in problem.reason_zh and "25:00:00" in problem.reason_en


def test_as_dict_is_json_ready() -> None:
    result = read_export(FIXTURES / "委托_utf8_bom.csv")
    data = json.loads(json.dumps(result.as_dict(), ensure_ascii=False))
    first = data["rows"][0]
    assert first["code"] == "600519" and first["price"] == "1466.80"
    assert first["status"] == "filled" and first["side"] == "buy"
    assert first["date"] == "2025-07-02" and first["time"] == "09:35:01"
    assert data["delimiter"] == "," and data["kind"] == "orders"
