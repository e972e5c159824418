"""The Tencent parser on real qt.gtimg.cn records (tests/fixtures/quotes/tencent.txt)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Board, Exchange
from aigupiao.market.feeds.tencent import parse_tencent
from tests.fixtures.quotes import recorded

LINES = recorded("tencent")
D = Decimal


def one(line: str) -> Quote:
    parsed = parse_tencent(line)
    assert not parsed.refused, parsed.samples
    assert parsed.records == 1 and len(parsed.quotes) == 1
    return parsed.quotes[0]


def refused(line: str) -> str:
    parsed = parse_tencent(line)
    assert parsed.records == 1 and not parsed.quotes
    (reason,) = parsed.refused
    return reason


def edit(label: str, **fields: str) -> str:
    """A recorded line with some fields replaced (``f3="0.00"``): a derived, not a real, record."""
    head, body, tail = LINES[label].split('"')
    parts = body.split("~")
    for name, value in fields.items():
        parts[int(name[1:])] = value
    return f'{head}"{"~".join(parts)}"{tail}'


def test_every_mapped_field_of_a_main_board_record() -> None:
    quote = one(LINES["sh600000"])
    assert quote.symbol.full == "sh600000" and quote.symbol.exchange is Exchange.SH
    assert quote.name == "浦发银行"
    assert quote.ts == datetime(2019, 10, 11, 15, 58, 58, tzinfo=BEIJING)
    assert quote.ts.utcoffset() is not None
    assert (quote.last, quote.previous_close, quote.open) == (D("12.45"), D("11.96"), D("12.05"))
    assert (quote.high, quote.low) == (D("12.45"), D("12.00"))
    assert quote.volume == 920308 * 100  # lots -> shares
    assert quote.amount == D("1131441679")  # field 35, exact CNY (field 37: 113144 x 10,000)
    assert quote.bids == (
        Level(D("12.44"), 93800),
        Level(D("12.43"), 53500),
        Level(D("12.42"), 43500),
        Level(D("12.41"), 78400),
        Level(D("12.40"), 116700),
    )
    assert quote.asks == (
        Level(D("12.45"), 49400),
        Level(D("12.46"), 939700),
        Level(D("12.47"), 515600),
        Level(D("12.48"), 747300),
        Level(D("12.49"), 551300),
    )
    assert (quote.limit_up, quote.limit_down) == (D("13.16"), D("10.76"))
    for value in (quote.last, quote.amount, quote.bids[0].price, quote.limit_up):
        assert isinstance(value, Decimal)


def test_a_shenzhen_record() -> None:
    quote = one(LINES["sz000001"])
    assert quote.symbol.full == "sz000001" and quote.symbol.exchange is Exchange.SZ
    assert quote.name == "平安银行"
    assert quote.ts == datetime(2019, 9, 30, 15, 40, 3, tzinfo=BEIJING)
    assert (quote.last, quote.previous_close) == (D("15.59"), D("15.90"))
    assert (quote.limit_up, quote.limit_down) == (D("17.49"), D("14.31"))
    assert quote.volume == 104636300


def test_star_volume_is_already_in_shares_but_its_book_is_in_lots() -> None:
    quote = one(LINES["sh688256_star"])
    assert quote.symbol.board is Board.STAR
    assert quote.volume == 16559805  # shares: not multiplied
    assert quote.amount == D("22683725029")
    assert quote.bids[0] == Level(D("1378.10"), 14300)  # 143 lots
    assert quote.asks[0] == Level(D("1378.35"), 200)
    assert (quote.limit_up, quote.limit_down) == (D("1560.00"), D("1040.00"))


def test_chinext_volume_is_in_lots() -> None:
    quote = one(LINES["sz300308_chinext"])
    assert quote.symbol.board is Board.CHINEXT
    assert quote.volume == 34525100
    assert quote.amount == D("43881189297")


@pytest.mark.parametrize(
    "label",
    ["sh600000", "sz000001", "sh688256_star", "sz300308_chinext", "sz000002_spaced_name",
     "sh600396_limit_up"],
)  # fmt: skip
def test_volume_units_agree_with_the_amount(label: str) -> None:
    """The day's average price (amount / volume) lies within the day's range: units are right."""
    quote = one(LINES[label])
    average = quote.amount / quote.volume
    assert quote.low <= average <= quote.high


def test_a_sealed_limit_up_has_no_asks() -> None:
    quote = one(LINES["sh600396_limit_up"])
    assert quote.asks == ()  # five "0.00~0" levels dropped
    assert quote.last == quote.limit_up == quote.bids[0].price == D("16.41")
    assert quote.bids[0].volume == 6409200


def test_a_name_with_inner_spaces_is_kept_as_sent() -> None:
    quote = one(LINES["sz000002_spaced_name"])
    assert quote.name == "万  科Ａ"
    assert (quote.limit_up, quote.limit_down) == (D("22.58"), D("18.48"))


def test_an_index_trades_with_limits_of_minus_one() -> None:
    quote = one(LINES["sh000905_index"])
    assert quote.symbol.board is Board.INDEX
    assert quote.limit_up is None and quote.limit_down is None
    assert quote.volume == 195487780 * 100
    assert quote.amount == D("417509654603")
    assert quote.bids == () and quote.asks == ()


def test_a_code_that_never_traded_and_has_no_book_is_skipped() -> None:
    assert refused(LINES["sh518801_no_trade"]) == "no_trade"


def test_suspended_limits_of_minus_one_without_volume_are_skipped() -> None:
    # Derived: no real record of a suspended stock was found; REFERENCE.md: limits -1 when
    # suspended. Volume, book and limits of the sh600000 record cleared the way Tencent does.
    book = {f"f{i}": ("0.00" if i % 2 else "0") for i in range(9, 29)}
    line = edit("sh600000", f6="0", f35="12.45/0/0", f37="0", f47="-1", f48="-1", **book)
    assert refused(line) == "suspended"


def test_before_the_first_trade_a_quote_with_a_book_is_indicative() -> None:
    # Derived: nothing traded yet (last/open/high/low 0, no volume), orders in the book.
    line = edit("sh600000", f3="0.00", f5="0.00", f6="0", f33="0.00", f34="0.00",
                f35="0.00/0/0", f37="0")  # fmt: skip
    quote = one(line)
    assert quote.last == quote.open == quote.high == quote.low == quote.previous_close
    assert quote.last == D("11.96")
    assert quote.volume == 0 and quote.amount == 0
    assert len(quote.bids) == 5 and len(quote.asks) == 5


def test_without_field_35_the_amount_comes_from_field_37() -> None:
    quote = one(edit("sh600000", f35=""))
    assert quote.amount == D("113144") * 10_000


def test_an_unknown_code() -> None:
    assert refused(LINES["unknown_code"]) == "empty"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (LINES["sh600002_shifted"], "layout two fields short: the time is not at field 30"),
        (LINES["sh600000"][:200] + '";', "cut short"),
        (edit("sh600000", f3="12,45"), "a price that is not a number"),
        (edit("sh600000", f3="-12.45"), "a negative price"),
        (edit("sh600000", f6="92030.5"), "a fractional volume"),
        (edit("sh600000", f2="600001"), "the code field disagrees with the key"),
        (edit("sh600000", f30="2019-10-11 15:58:58"), "a time in another format"),
        (edit("sh600000", f1=" "), "no name"),
        (edit("sh600000", f4="0.00"), "no previous close"),
        (LINES["sh600000"].replace("v_sh600000", "v_r_hk00700"), "not an A-share code"),
    ],
)
def test_malformed_records_are_refused(line: str, why: str) -> None:
    assert refused(line) == "malformed", why


def test_a_whole_gbk_answer() -> None:
    """Every recorded record in one body, sent as GBK and read back."""
    body = "\n".join(LINES.values()).encode("gbk").decode("gb18030")
    parsed = parse_tencent(body)
    assert parsed.records == len(LINES)
    names = {quote.symbol.full: quote.name for quote in parsed.quotes}
    assert names["sh688256"] == "寒武纪" and names["sz000002"] == "万  科Ａ"
    assert parsed.refused == {"no_trade": 1, "malformed": 1, "empty": 1}
    assert len(parsed.quotes) == len(LINES) - 3


def test_a_body_without_records() -> None:
    for body in ("", "<html><body>502 Bad Gateway</body></html>", "pv_none_match=1;"):
        parsed = parse_tencent(body)
        assert parsed.records == 0 and not parsed.quotes
