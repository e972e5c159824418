"""Every real client export under ``../shared/data/exports`` is read, in place.

Without ``../shared`` these tests skip on a developer machine and fail under
``CI=true`` (the ``shared_dir`` fixture); the self-made fixtures in
``tests/fixtures/exports`` keep the reader tested either way.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.brokers.exports import ExportKind, read_export
from aigupiao.brokers.exports.fields import FIELDS
from aigupiao.brokers.exports.writer import ORDER_COLUMNS, POSITION_COLUMNS, TRADE_COLUMNS
from aigupiao.domain.orders import Side

P, T, S = ExportKind.POSITIONS, ExportKind.TRADES, ExportKind.STATEMENT
ORD = ExportKind.ORDERS
XIADAN = "308186235_realtime-stock-data-cloud"
CITIC = "lqbin007_trade-script"
STOCK = "tyr-liu_stock"

# file: (kind, encoding, delimiter, rows read, rows not read, lines with replaced bytes)
EXPECTED: dict[str, tuple[ExportKind, str, str, int, int, int]] = {
    f"{XIADAN}/-0623-204232..xls": (ORD, "gbk", "\t", 0, 0, 0),
    f"{XIADAN}/成交数据_0702_184610.csv": (T, "gbk", "\t", 0, 0, 0),
    f"{XIADAN}/持仓数据_0702_165122.csv": (P, "gbk", "\t", 0, 0, 0),
    f"{CITIC}/table.xls": (P, "gbk", "\t", 5, 1, 0),
    f"{CITIC}/613.xls": (P, "gbk", "\t", 5, 1, 0),
    f"{CITIC}/20250612/tableCZ.xls": (P, "gbk", "\t", 9, 1, 1),
    f"{CITIC}/20250612/table603-610.xls": (T, "gbk", "\t", 23, 12, 2),
    f"{CITIC}/20250612/table530-612.xls": (S, "gbk", "\t", 49, 3, 4),
    f"{CITIC}/20250612/对账单.xls": (S, "gbk", "\t", 729, 35, 0),
    f"{CITIC}/20250612/对账单01.xls": (S, "gbk", "\t", 105, 0, 0),
    f"{CITIC}/20250612/对账单02.xls": (S, "gbk", "\t", 65, 2, 0),
    f"{CITIC}/20250612/对账单03.xls": (S, "gbk", "\t", 140, 18, 0),
    f"{CITIC}/20250612/对账单04.xls": (S, "gbk", "\t", 133, 7, 0),
    f"{CITIC}/20250612/对账单05.xls": (S, "gbk", "\t", 79, 5, 0),
    f"{CITIC}/20250612/对账单06.xls": (S, "gbk", "\t", 47, 3, 0),
    f"{CITIC}/20250612/对账单12.xls": (S, "gbk", "\t", 114, 0, 0),
    f"{STOCK}/2021stock.csv": (S, "gbk", ",", 686, 50, 0),
    f"{STOCK}/交割单.csv": (S, "utf-8", ",", 646, 0, 0),
}


@pytest.fixture
def exports(shared_dir: Path) -> Path:
    return shared_dir / "data" / "exports"


def test_every_shared_export_is_known_here(exports: Path) -> None:
    """A new sample in ../shared must be added to EXPECTED (and so be read by these tests)."""
    found = {str(p.relative_to(exports)) for p in exports.rglob("*") if p.is_file()}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_shared_export_reads_without_losing_a_row(exports: Path, name: str) -> None:
    kind, encoding, delimiter, rows, problems, notes = EXPECTED[name]
    path = exports / name
    result = read_export(path)
    assert (result.kind, result.encoding, result.delimiter) == (kind, encoding, delimiter)
    assert (len(result.rows), len(result.problems), len(result.notes)) == (rows, problems, notes)
    # Nothing dropped silently: every non-blank line after the header is a row or a problem.
    text = path.read_bytes().decode(encoding, errors="replace")
    data_lines = [line for line in text.splitlines()[1:] if line.strip(" \t,\r")]
    assert len(data_lines) == len(result.rows) + len(result.problems)
    fields = {field.name for field in FIELDS[kind]}
    for row in result.rows:
        assert fields <= row.keys()
        code = row["code"]
        assert code is None or (isinstance(code, str) and len(code) == 6 and code.isdigit())
        for key in ("total", "available", "quantity", "filled_quantity", "share_balance"):
            assert row.get(key) is None or type(row[key]) is int, (key, row)
        for key in ("price", "amount", "cost_price", "cash_change", "commission"):
            assert row.get(key) is None or isinstance(row[key], Decimal), (key, row)
    for problem in result.problems:
        assert problem.reason_zh and problem.reason_en and problem.raw.strip()


def test_positions_variant_with_etfs_and_a_stock_connect_holding(exports: Path) -> None:
    result = read_export(exports / CITIC / "613.xls")
    assert result.fields["total"] == "参考持股" and result.fields["available"] == "可用股份"
    assert result.fields["last_price"] == "当前价" and result.fields["market_value"] == "最新市值"
    by_code = {row["code"]: row for row in result.rows}
    assert list(by_code) == ["560850", "600900", "131990", "159636", "159992"]
    etf = by_code["560850"]
    assert etf["name"] == "信创50ETF" and etf["exchange"] == "SH"
    assert (etf["total"], etf["available"]) == (20000, 20000)
    assert etf["cost_price"] == Decimal("1.2616") and etf["pnl"] == Decimal("-467.000")
    assert etf["shareholder"] == "A000000001"  # ="A000000001" unquoted
    assert etf["extra"]["当日盈亏"] == "-240.00"  # unmapped columns are kept as text
    assert by_code["159636"]["exchange"] == "SZ"
    (hk,) = result.problems
    assert hk.line == 7 and "09988" in hk.reason_zh and "沪HK" in hk.reason_zh
    assert "Stock Connect" in hk.reason_en and hk.raw.startswith("阿里巴巴")


def test_a_name_cut_mid_character_is_read_with_a_replacement(exports: Path) -> None:
    result = read_export(exports / CITIC / "20250612" / "tableCZ.xls")
    row = next(r for r in result.rows if r["code"] == "159633")
    assert row["name"] == "中证1000ETF易方\ufffd"
    assert (row["total"], row["last_price"]) == (1300, Decimal("2.5560"))
    (note,) = result.notes
    assert note.line == row["line"] == 6 and "gbk" in note.message_en


def test_trade_history_reads_dates_times_sides_and_order_numbers(exports: Path) -> None:
    result = read_export(exports / CITIC / "20250612" / "table603-610.xls")
    first = result.rows[0]
    assert (first["date"], first["time"]) == (date(2025, 6, 3), time(10, 22, 42))
    assert (first["code"], first["side"], first["quantity"]) == ("560850", Side.BUY, 4800)
    assert first["order_no"] == "274461" and first["order_date"] == date(2025, 6, 3)
    sell = next(r for r in result.rows if r["code"] == "600900")
    assert (sell["side"], sell["quantity"]) == (Side.SELL, -200)  # signed, as the broker wrote
    assert sell["price"] == Decimal("29.880") and sell["cash_change"] == Decimal("5967.950")
    fee_lines = [p for p in result.problems if "not a trade" in p.reason_en]
    assert len(fee_lines) == 9 and "港股通组合费收取" in fee_lines[1].reason_zh


def test_statement_without_leading_zeros_is_padded_by_the_sz_account(exports: Path) -> None:
    result = read_export(exports / STOCK / "交割单.csv")
    yunnan = [r for r in result.rows if r["name"] == "云南铜业"]
    assert yunnan and {r["code"] for r in yunnan} == {"000878"}
    assert {r["exchange"] for r in yunnan} == {"SZ"}
    pingan = next(r for r in result.rows if r["name"] == "平安银行")
    assert pingan["code"] == "000001"
    first = result.rows[0]
    assert (first["code"], first["price"], first["cash_change"]) == (
        "510500",
        Decimal("5.235"),
        Decimal("-36128.72"),
    )
    assert first["commission"] == Decimal("7.22") and first["extra"] == {"手续费": "7.22"}


def test_statement_stock_connect_trades_are_told_apart_by_the_exchange_rate(exports: Path) -> None:
    result = read_export(exports / STOCK / "2021stock.csv")
    assert result.fields["cash_balance"] == "后资金额" and result.fields["quantity"] == "成交数量"
    xiaomi = [p for p in result.problems if ",1810," in p.raw]
    assert xiaomi and all("汇率" in p.reason_zh for p in xiaomi)
    assert all("Stock Connect" in p.reason_en for p in result.problems)
    times = {r["time"] for r in result.rows}
    assert time(9, 48, 13) in times  # 9:48:13 without the leading zero
    cash_rows = [r for r in result.rows if r["code"] is None]
    assert cash_rows and {r["business"] for r in cash_rows} >= {"港股通组合费收取"}


def test_monthly_statement_columns(exports: Path) -> None:
    result = read_export(exports / CITIC / "20250612" / "对账单01.xls")
    assert result.fields["cash_change"] == "发生金额"
    assert result.fields["cash_balance"] == "资金本次余额"
    assert result.fields["clearing_fee"] == "交易所清算费"
    repo = result.rows[0]
    assert repo["business"] == "拆出质押购回" and repo["code"] == "204001"
    assert repo["cash_change"] == Decimal("162007.480") and repo["exchange"] == "SH"
    transfer = next(r for r in result.rows if r["business"] == "银行转存")
    assert transfer["code"] is None and transfer["order_no"] == "0"


def test_written_columns_are_the_clients_own_header_names(exports: Path) -> None:
    """Every header the writer uses appears in some real client export."""
    real: set[str] = set()
    for path in exports.rglob("*"):
        if path.is_file():
            real.update(read_export(path).columns)
    assert set(POSITION_COLUMNS + TRADE_COLUMNS + ORDER_COLUMNS) <= real
