"""Symbols: parsing, boards, ticks, price limits and lot rules."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from aigupiao.domain.errors import DomainError, InvalidSymbol
from aigupiao.domain.symbols import (
    FUND_TICK,
    ST_LIMIT_WIDENED,
    STOCK_TICK,
    Board,
    Exchange,
    LotRule,
    Symbol,
    board_lot,
    is_st_name,
    limit_pct,
    lot_rule,
    parse_symbol,
    price_limits,
)

D = Decimal
HAN = re.compile(r"[\u4e00-\u9fff]")
TRADING_DAY = date(2026, 9, 14)


# --- parse_symbol ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["600519", "sh600519", "SH600519", "600519.SH", "600519.sh", "sh.600519", " 600519 "]
)
def test_parse_symbol_accepts_every_spelling_of_moutai(text: str) -> None:
    symbol = parse_symbol(text)
    assert symbol == Symbol(code="600519", exchange=Exchange.SH, board=Board.SH_MAIN)
    assert symbol.full == "sh600519"
    assert str(symbol) == "sh600519"
    assert symbol.is_stock
    assert symbol.tick == Decimal("0.01")


def test_sh000001_is_the_index_and_sz000001_the_bank() -> None:
    index = parse_symbol("sh000001")
    bank = parse_symbol("sz000001")
    assert (index.exchange, index.board) == (Exchange.SH, Board.INDEX)
    assert (bank.exchange, bank.board) == (Exchange.SZ, Board.SZ_MAIN)
    assert index != bank
    assert not index.is_stock
    assert bank.is_stock
    assert index.full == "sh000001"
    assert bank.full == "sz000001"


def test_bare_000001_is_read_as_the_stock_not_the_index() -> None:
    assert parse_symbol("000001") == parse_symbol("sz000001")


@pytest.mark.parametrize(
    ("text", "exchange", "board"),
    [
        ("601318", Exchange.SH, Board.SH_MAIN),
        ("603288", Exchange.SH, Board.SH_MAIN),
        ("605499", Exchange.SH, Board.SH_MAIN),
        ("001979", Exchange.SZ, Board.SZ_MAIN),
        ("002594", Exchange.SZ, Board.SZ_MAIN),
        ("003816", Exchange.SZ, Board.SZ_MAIN),
        ("300750", Exchange.SZ, Board.CHINEXT),
        ("301236", Exchange.SZ, Board.CHINEXT),
        ("302132", Exchange.SZ, Board.CHINEXT),
        ("688981", Exchange.SH, Board.STAR),
        ("689009", Exchange.SH, Board.STAR),
        ("920000", Exchange.BJ, Board.BSE),
        ("bj920000", Exchange.BJ, Board.BSE),
        ("920000.BJ", Exchange.BJ, Board.BSE),
        ("430047", Exchange.BJ, Board.BSE),
        ("830799", Exchange.BJ, Board.BSE),
        ("870204", Exchange.BJ, Board.BSE),
        ("159915", Exchange.SZ, Board.FUND),
        ("sz159915", Exchange.SZ, Board.FUND),
        ("161725", Exchange.SZ, Board.FUND),
        ("510300", Exchange.SH, Board.FUND),
        ("sz399001", Exchange.SZ, Board.INDEX),
        ("sh000300", Exchange.SH, Board.INDEX),
    ],
)
def test_parse_symbol_boards(text: str, exchange: Exchange, board: Board) -> None:
    symbol = parse_symbol(text)
    assert symbol.exchange is exchange
    assert symbol.board is board
    assert len(symbol.code) == 6


def test_ticks_by_board() -> None:
    assert parse_symbol("159915").tick == Decimal("0.001") == FUND_TICK
    assert parse_symbol("510300").tick == FUND_TICK
    for code in ("600519", "000001", "300750", "688981", "920000"):
        assert parse_symbol(code).tick == Decimal("0.01") == STOCK_TICK


def test_funds_are_not_stocks() -> None:
    assert not parse_symbol("159915").is_stock
    assert parse_symbol("688981").is_stock
    assert parse_symbol("920000").is_stock


@pytest.mark.parametrize(
    "text",
    [
        "12345",  # five digits
        "1234567",  # seven digits
        "abc",
        "",
        "   ",
        "999999",  # no exchange lists a 99 prefix
        "604000",  # SH but no board
        "399001",  # an index needs its prefix
        "sz600519",  # SH code under the SZ prefix
        "sh300750",
        "bj600519",
        "sh12345",
        "hk00700",
        "600519.HK",
        "sh600519sz",
        "60O519",  # letter O
    ],
)
def test_parse_symbol_rejects_bad_codes(text: str) -> None:
    with pytest.raises(InvalidSymbol) as info:
        parse_symbol(text)
    err = info.value
    assert isinstance(err, DomainError)
    assert err.code == "invalid_symbol"
    assert HAN.search(err.message_zh), err.message_zh
    assert err.message_en.isascii()
    assert err.message_zh in str(err)
    assert err.message_en in str(err)


@pytest.mark.parametrize("value", [None, 600519, 6.0, b"600519", ["600519"]])
def test_parse_symbol_rejects_non_strings_with_invalid_symbol(value: object) -> None:
    with pytest.raises(InvalidSymbol) as info:
        parse_symbol(value)  # type: ignore[arg-type]
    assert HAN.search(info.value.message_zh)
    assert "invalid security code" in info.value.message_en
    assert info.value.as_dict()["code"] == "invalid_symbol"


def test_parse_symbol_error_message_names_the_input() -> None:
    with pytest.raises(InvalidSymbol) as info:
        parse_symbol("999999")
    assert "999999" in info.value.message_zh
    assert "999999" in info.value.message_en


def test_parse_symbol_rejects_contradictory_prefix_and_suffix() -> None:
    with pytest.raises(InvalidSymbol):
        parse_symbol("sh600519.sz")


def test_parse_symbol_rejects_non_ascii_digits() -> None:
    with pytest.raises(InvalidSymbol):
        parse_symbol("600\u0665\u0661\u0669")  # Arabic-Indic digits after an ASCII 600


def test_parse_symbol_rejects_full_width_digits() -> None:
    with pytest.raises(InvalidSymbol):
        parse_symbol("６００５１９")


def test_symbol_is_frozen_and_hashable() -> None:
    symbol = parse_symbol("600519")
    with pytest.raises(AttributeError):
        symbol.code = "000001"  # type: ignore[misc]
    assert {symbol, parse_symbol("SH600519")} == {symbol}


# --- ST names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ST康美", "*ST海润", "* ST 大集", "S*ST前锋", "SST华新", "st 中孚"]
)
def test_is_st_name_true(name: str) -> None:
    assert is_st_name(name)


@pytest.mark.parametrize("name", ["贵州茅台", "平安银行", "康美ST", "", "XD工商银"])
def test_is_st_name_false(name: str) -> None:
    assert not is_st_name(name)


# --- price limits ------------------------------------------------------------------------


def test_reference_check_9_26_gives_10_19_and_8_33() -> None:
    assert price_limits(parse_symbol("600000"), D("9.26"), TRADING_DAY) == (D("10.19"), D("8.33"))
    assert price_limits(parse_symbol("000001"), D("9.26"), TRADING_DAY) == (D("10.19"), D("8.33"))


@pytest.mark.parametrize(
    ("code", "previous_close", "up", "down"),
    [
        ("300750", "10.00", "12.00", "8.00"),
        ("300750", "9.26", "11.11", "7.41"),  # 11.112, 7.408
        ("688981", "50.55", "60.66", "40.44"),
        ("688981", "9.26", "11.11", "7.41"),
        ("920000", "10.00", "13.00", "7.00"),
        ("920000", "9.26", "12.03", "6.49"),  # 12.038, 6.482: BSE cuts toward the close
        ("159919", "2.345", "2.580", "2.111"),  # 2.5795 and 2.1105 half up at 0.001
        ("510300", "4.000", "4.400", "3.600"),
    ],
)
def test_price_limits_by_board(code: str, previous_close: str, up: str, down: str) -> None:
    limits = price_limits(parse_symbol(code), D(previous_close), TRADING_DAY)
    assert limits == (D(up), D(down))
    assert limits is not None
    # quantized to the board's tick
    assert limits[0].as_tuple().exponent == parse_symbol(code).tick.as_tuple().exponent


def test_price_limits_round_half_up_not_half_even() -> None:
    # 10.15 x 1.1 = 11.165: half-even would give 11.16
    assert price_limits(parse_symbol("600519"), D("10.15"), TRADING_DAY) == (
        D("11.17"),
        D("9.14"),
    )


def test_st_limit_is_5pct_before_2026_07_06() -> None:
    symbol = parse_symbol("600000")
    assert limit_pct(symbol, date(2026, 7, 3), is_st=True) == D("0.05")
    assert limit_pct(symbol, date(2026, 7, 5), is_st=True) == D("0.05")
    assert price_limits(symbol, D("9.26"), date(2026, 7, 3), is_st=True) == (D("9.72"), D("8.80"))


def test_st_limit_is_10pct_from_2026_07_06() -> None:
    symbol = parse_symbol("600000")
    assert ST_LIMIT_WIDENED == date(2026, 7, 6)
    assert limit_pct(symbol, date(2026, 7, 6), is_st=True) == D("0.10")
    assert limit_pct(symbol, date(2027, 1, 4), is_st=True) == D("0.10")
    assert price_limits(symbol, D("9.26"), date(2026, 7, 6), is_st=True) == (
        D("10.19"),
        D("8.33"),
    )


def test_st_flag_does_not_narrow_chinext_star_or_bse() -> None:
    early = date(2026, 1, 5)
    assert limit_pct(parse_symbol("300750"), early, is_st=True) == D("0.20")
    assert limit_pct(parse_symbol("688981"), early, is_st=True) == D("0.20")
    assert limit_pct(parse_symbol("920000"), early, is_st=True) == D("0.30")


def test_limit_pct_per_board() -> None:
    assert limit_pct(parse_symbol("600519"), TRADING_DAY) == D("0.10")
    assert limit_pct(parse_symbol("000001"), TRADING_DAY) == D("0.10")
    assert limit_pct(parse_symbol("300750"), TRADING_DAY) == D("0.20")
    assert limit_pct(parse_symbol("688981"), TRADING_DAY) == D("0.20")
    assert limit_pct(parse_symbol("920000"), TRADING_DAY) == D("0.30")
    assert limit_pct(parse_symbol("159915"), TRADING_DAY) == D("0.10")
    assert limit_pct(parse_symbol("sh000001"), TRADING_DAY) is None


def test_index_has_no_price_limits() -> None:
    assert price_limits(parse_symbol("sh000001"), D("3000.00"), TRADING_DAY) is None
    assert price_limits(parse_symbol("sz399001"), D("10000.00"), TRADING_DAY) is None


@pytest.mark.parametrize(
    ("code", "previous_close", "up", "down", "is_st"),
    [
        # 0.055 -> 0.06 is fine; 0.045 rounds half up to 0.05 == previous close -> minus one tick
        ("600000", "0.05", "0.06", "0.04", False),
        # 0.044 -> 0.04 == previous close -> plus one tick; 0.036 -> 0.04 -> minus one tick
        ("600000", "0.04", "0.05", "0.03", False),
        # ST 5%: 0.0945 -> 0.09 and 0.0855 -> 0.09 both equal the close
        ("600000", "0.09", "0.10", "0.08", True),
        # fund tick 0.001: 0.0055 -> 0.006 ok, 0.0045 -> 0.005 -> 0.004
        ("159915", "0.005", "0.006", "0.004", False),
    ],
)
def test_limits_are_at_least_one_tick_from_a_very_low_close(
    code: str, previous_close: str, up: str, down: str, is_st: bool
) -> None:
    limits = price_limits(parse_symbol(code), D(previous_close), date(2026, 1, 5), is_st=is_st)
    assert limits == (D(up), D(down))


def test_limit_down_never_drops_below_one_tick() -> None:
    symbol = parse_symbol("600000")
    limits = price_limits(symbol, D("0.01"), TRADING_DAY)
    assert limits is not None
    up, down = limits
    assert up == D("0.02")
    assert down == D("0.01")
    assert down >= symbol.tick


def test_main_board_limits_bracket_the_close_by_at_least_a_tick() -> None:
    symbol = parse_symbol("600000")
    for cents in range(1, 5000, 7):
        previous_close = D(cents) / 100
        limits = price_limits(symbol, previous_close, TRADING_DAY)
        assert limits is not None
        up, down = limits
        assert up - previous_close >= D("0.01"), previous_close
        assert previous_close - down >= D("0.01") or down == D("0.01"), previous_close
        assert up <= max(previous_close * D("1.1") + D("0.005"), previous_close + D("0.01"))
        assert down >= previous_close * D("0.9") - D("0.005") or down == previous_close - D("0.01")
        assert up % D("0.01") == 0 and down % D("0.01") == 0


# --- lot rules ---------------------------------------------------------------------------


def test_lot_rules_per_board() -> None:
    assert lot_rule(parse_symbol("600519")) == LotRule(minimum=100, step=100, maximum=1_000_000)
    assert lot_rule(parse_symbol("000001")) == LotRule(minimum=100, step=100, maximum=1_000_000)
    assert lot_rule(parse_symbol("300750")) == LotRule(minimum=100, step=100, maximum=300_000)
    assert lot_rule(parse_symbol("688981")) == LotRule(minimum=200, step=1, maximum=100_000)
    assert lot_rule(parse_symbol("920000")) == LotRule(minimum=100, step=1, maximum=1_000_000)
    assert lot_rule(parse_symbol("159915")).step == 100


def test_board_lot() -> None:
    assert board_lot(parse_symbol("688981")) == 200
    assert board_lot(parse_symbol("600519")) == 100
    assert board_lot(parse_symbol("920000")) == 100
