"""The writer's two formats, byte for byte where the clients are particular, and its files."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.brokers.exports import ExportDirectory, ExportFormat, remove_old_exports, render
from aigupiao.brokers.exports.writer import (
    ORDER_COLUMNS,
    POSITION_COLUMNS,
    TRADE_COLUMNS,
    orders_table,
    positions_table,
    trades_table,
    write_exports,
)
from aigupiao.domain.account import Position
from aigupiao.domain.sessions import BEIJING

from .samples import MAOTAI, NAMES, ORDERS, POSITIONS, STATUS_WORDS, TRADES

NOW = datetime(2025, 7, 2, 16, 51, 22, tzinfo=BEIJING)


def _xiadan_lines(data: bytes) -> list[list[str]]:
    text = data.decode("gbk")  # strict: the file must be valid GBK
    assert "\r" not in text and not text.endswith("\n")  # LF between lines, none after the last
    lines = text.split("\n")
    assert all(line.endswith("\t") for line in lines)  # the client's trailing TAB
    return [line[:-1].split("\t") for line in lines]


def _csv_lines(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    text = data[3:].decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_xiadan_positions_are_gbk_tab_text_with_quoted_codes() -> None:
    lines = _xiadan_lines(render(positions_table(POSITIONS, NAMES.get), ExportFormat.XIADAN))
    assert tuple(lines[0]) == POSITION_COLUMNS
    rows = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert [r["证券代码"] for r in rows] == ['="600519"', '="000001"', '="159915"']
    assert [r["证券名称"] for r in rows] == ["贵州茅台", "平安银行", "创业板ETF"]
    maotai = rows[0]
    assert maotai["股票余额"] == "300" and maotai["可用余额"] == "200"
    assert maotai["成本价"] == "1450.123" and maotai["市价"] == "1466.80"
    assert maotai["市值"] == "440040.00" and maotai["成本金额"] == "435036.900"
    assert maotai["盈亏"] == "5003.100" and maotai["盈亏比例(%)"] == "1.150"
    assert maotai["交易市场"] == "上海" and rows[1]["交易市场"] == "深圳"
    # Without a quote there is no price to value the position at: left empty, not made up.
    assert [rows[1][c] for c in ("市价", "市值", "盈亏", "盈亏比例(%)")] == ["", "", "", ""]
    assert rows[1]["成本金额"] == "10905.000"


def test_csv_has_the_same_headers_and_cells_in_utf8_with_bom() -> None:
    table = trades_table(TRADES, NAMES.get)
    xiadan = _xiadan_lines(render(table, ExportFormat.XIADAN))
    assert _csv_lines(render(table, ExportFormat.CSV)) == xiadan
    assert tuple(xiadan[0]) == TRADE_COLUMNS


def test_trades_carry_date_time_side_fees_and_numbers_as_strings() -> None:
    lines = _xiadan_lines(render(trades_table(TRADES, NAMES.get), ExportFormat.XIADAN))
    first, second = (dict(zip(lines[0], line, strict=True)) for line in lines[1:])
    assert (first["成交日期"], first["成交时间"]) == ("20250702", "09:35:01")
    assert (first["操作"], second["操作"]) == ("买入", "卖出")
    assert first["成交数量"] == "100" and first["成交均价"] == "1466.80"
    assert first["成交金额"] == "146680.00" and first["佣金"] == "14.67"
    assert second["印花税"] == "1.64" and second["过户费"] == "0.03"
    assert first["合同编号"] == '="P1-000001"' and first["成交编号"] == '="T1-000001"'


def test_trade_times_are_written_in_beijing_time() -> None:
    utc = TRADES[0].ts.astimezone(UTC)  # 01:35:01 UTC
    lines = _xiadan_lines(render(trades_table([replace(TRADES[0], ts=utc)]), ExportFormat.XIADAN))
    row = dict(zip(lines[0], lines[1], strict=True))
    assert (row["成交日期"], row["成交时间"]) == ("20250702", "09:35:01")


def test_orders_say_their_status_in_the_clients_words() -> None:
    lines = _xiadan_lines(render(orders_table(ORDERS, NAMES.get), ExportFormat.XIADAN))
    assert tuple(lines[0]) == ORDER_COLUMNS
    rows = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert tuple(r["备注"] for r in rows) == STATUS_WORDS
    part = rows[1]  # 1000 to sell, 300 filled, the rest cancelled: 部撤
    assert (part["委托数量"], part["成交数量"], part["撤消数量"]) == ("1000", "300", "700")
    assert part["成交均价"] == "10.90" and part["操作"] == "卖出"
    market = rows[4]
    assert market["委托价格"] == "" and market["订单类型"] == "市价"
    assert market["成交均价"] == "" and market["撤消数量"] == "0"
    assert rows[6]["撤消数量"] == "1000"  # expired: nothing filled, all taken off
    assert rows[3]["证券名称"] == ""  # no name known for sh688981: left empty


def test_characters_gbk_lacks_become_question_marks_and_tabs_become_spaces() -> None:
    odd = {"sh600519": "贵州\t茅台😀\n"}
    xiadan = _xiadan_lines(render(positions_table(POSITIONS[:1], odd.get), ExportFormat.XIADAN))
    assert xiadan[1][1] == "贵州 茅台? "
    assert len(xiadan[1]) == len(POSITION_COLUMNS)
    assert _csv_lines(render(positions_table(POSITIONS[:1], odd.get), ExportFormat.CSV))[1][1] == (
        "贵州 茅台😀 "
    )


def test_empty_lists_give_header_only_files(tmp_path: Path) -> None:
    paths = write_exports(tmp_path, now=NOW, positions=[], trades=[], orders=[])
    assert [p.name for p in paths] == [
        "持仓数据_0702_165122.xls",
        "持仓数据_0702_165122.csv",
        "成交数据_0702_165122.xls",
        "成交数据_0702_165122.csv",
        "委托数据_0702_165122.xls",
        "委托数据_0702_165122.csv",
    ]
    assert paths[0].read_bytes() == "".join(c + "\t" for c in POSITION_COLUMNS).encode("gbk")


def test_file_names_use_beijing_time_and_never_overwrite(tmp_path: Path) -> None:
    utc_now = NOW.astimezone(UTC)  # 08:51:22 UTC is 16:51:22 in Beijing
    first = write_exports(tmp_path, now=utc_now, trades=TRADES, formats=[ExportFormat.XIADAN])
    second = write_exports(tmp_path, now=utc_now, trades=[], formats=[ExportFormat.XIADAN])
    third = write_exports(tmp_path, now=utc_now, trades=[], formats=[ExportFormat.XIADAN])
    assert [p.name for p in first + second + third] == [
        "成交数据_0702_165122.xls",
        "成交数据_0702_165122_2.xls",
        "成交数据_0702_165122_3.xls",
    ]
    assert len(_xiadan_lines(first[0].read_bytes())) == 3  # the first file was kept
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in first + second + third
    )  # no temporary files left behind


def test_only_old_export_files_are_removed(tmp_path: Path) -> None:
    old = write_exports(tmp_path, now=NOW, positions=[])
    keep_mine = tmp_path / "我的笔记.xls"
    keep_mine.write_text("not an export", encoding="utf-8")
    lookalike = tmp_path / "持仓数据_备份.xls"
    lookalike.write_text("not named like an export", encoding="utf-8")
    day_old = (NOW - timedelta(hours=25)).timestamp()
    for path in [*old, keep_mine, lookalike]:
        os.utime(path, (day_old, day_old))
    fresh = write_exports(tmp_path, now=NOW + timedelta(seconds=1), positions=POSITIONS)
    removed = remove_old_exports(tmp_path, older_than=timedelta(hours=24), now=NOW)
    assert sorted(removed) == sorted(old)
    assert sorted(tmp_path.iterdir()) == sorted([*fresh, keep_mine, lookalike])
    assert remove_old_exports(tmp_path / "missing", older_than=timedelta(hours=1), now=NOW) == []


def test_export_directory_writes_then_cleans_up(tmp_path: Path) -> None:
    exports = ExportDirectory(tmp_path / "exports", keep=timedelta(hours=24))
    stale = exports.write(now=NOW, orders=ORDERS)
    hour_later = NOW + timedelta(hours=1)
    for path in stale:
        os.utime(path, (NOW.timestamp() - 90_000, NOW.timestamp() - 90_000))
    written = exports.write(now=hour_later, positions=POSITIONS, names=NAMES.get)
    assert [p.suffix for p in written] == [".xls", ".csv"]
    assert sorted(exports.path.iterdir()) == sorted(written)


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_position_without_cost_has_no_percentage(fmt: ExportFormat) -> None:
    free = Position(MAOTAI, 100, 100, Decimal("0"), Decimal("1466.80"))
    data = render(positions_table([free]), fmt)
    lines = _xiadan_lines(data) if fmt is ExportFormat.XIADAN else _csv_lines(data)
    assert dict(zip(lines[0], lines[1], strict=True))["盈亏比例(%)"] == ""


def test_an_average_of_several_fills_is_shown_to_a_tenth_of_a_cent() -> None:
    # 300 shares for 3100.00 in all: 10.3333... a share
    order = replace(ORDERS[0], quantity=300, filled_quantity=300, filled_amount=Decimal("3100.00"))
    lines = _xiadan_lines(render(orders_table([order, ORDERS[0]]), ExportFormat.XIADAN))
    rows = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert [r["成交均价"] for r in rows] == ["10.333", "1466.80"]
