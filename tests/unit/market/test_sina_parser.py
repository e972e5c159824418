"""The Sina parser on real hq.sinajs.cn records (tests/fixtures/quotes/sina.txt)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Board, is_st_name
from aigupiao.market.feeds.sina import parse_sina
from tests.fixtures.quotes import recorded

LINES = recorded("sina")
D = Decimal


def one(line: str) -> Quote:
    parsed = parse_sina(line)
    assert not parsed.refused, parsed.samples
    assert parsed.records == 1 and len(parsed.quotes) == 1
    return parsed.quotes[0]


def refused(line: str) -> str:
    parsed = parse_sina(line)
    assert parsed.records == 1 and not parsed.quotes
    (reason,) = parsed.refused
    return reason


def edit(label: str, **fields: str) -> str:
    """A recorded line with some fields replaced (``f3="0.000"``): a derived, not a real, record."""
    head, body, tail = LINES[label].split('"')
    parts = body.split(",")
    for name, value in fields.items():
        parts[int(name[1:])] = value
    return f'{head}"{",".join(parts)}"{tail}'


def test_every_mapped_field() -> None:
    quote = one(LINES["sh600000"])
    assert quote.symbol.full == "sh600000"
    assert quote.name == "浦发银行"
    assert quote.ts == datetime(2019, 7, 16, 15, 0, 0, tzinfo=BEIJING)
    assert quote.open == D("11.510") and quote.previous_close == D("11.490")
    assert quote.last == D("11.560")
    assert (quote.high, quote.low) == (D("11.570"), D("11.440"))
    assert quote.volume == 21606007  # shares
    assert quote.amount == D("248901949.000")  # CNY
    assert quote.bids == (
        Level(D("11.540"), 19900),
        Level(D("11.530"), 54700),
        Level(D("11.520"), 561500),
        Level(D("11.510"), 105600),
        Level(D("11.500"), 172400),
    )
    assert quote.asks == (
        Level(D("11.550"), 259981),
        Level(D("11.560"), 206108),
        Level(D("11.570"), 325641),
        Level(D("11.580"), 215109),
        Level(D("11.590"), 262900),
    )
    assert quote.limit_up is None and quote.limit_down is None  # Sina sends none


def test_a_fund_record() -> None:
    quote = one(LINES["sz162411"])
    assert quote.symbol.board is Board.FUND
    assert quote.name == "华宝油气"
    assert quote.last == D("0.491") and quote.volume == 133819867
    assert quote.ts == datetime(2019, 3, 12, 15, 0, 3, tzinfo=BEIJING)


def test_star_volume_in_shares_and_a_sealed_limit_up_without_asks() -> None:
    quote = one(LINES["sh688047_star_limit_up"])  # ends with a trailing comma
    assert quote.symbol.board is Board.STAR
    assert quote.volume == 8256723
    assert quote.asks == ()
    assert quote.bids[0] == Level(D("119.620"), 25600)
    assert quote.bids[1] == Level(D("119.610"), 7255)  # STAR: any share count above 200


@pytest.mark.parametrize(
    "label", ["sh600000", "sz162411", "sz000002_spaced_name", "sh688047_star_limit_up"]
)
def test_volume_units_agree_with_the_amount(label: str) -> None:
    quote = one(LINES[label])
    assert quote.low <= quote.amount / quote.volume <= quote.high


def test_before_the_first_trade_a_quote_with_a_book_is_indicative() -> None:
    quote = one(LINES["sz160922_no_trade_yet"])  # last/open/high/low 0.000, volume 0
    assert quote.last == quote.open == quote.high == quote.low == D("1.074")  # previous close
    assert quote.volume == 0 and quote.amount == 0
    assert quote.bids == (Level(D("1.053"), 42000), Level(D("1.050"), 7500))  # 3 empty dropped
    assert len(quote.asks) == 4
    assert quote.ts == datetime(2019, 4, 8, 9, 41, 45, tzinfo=BEIJING)


def test_no_volume_and_no_book_is_skipped() -> None:
    line = edit("sz160922_no_trade_yet", **{f"f{i}": "0" for i in range(10, 30)})
    assert refused(line) == "no_trade"


def test_an_empty_record_is_an_unknown_or_delisted_code() -> None:
    assert refused(LINES["sz160923_empty"]) == "empty"


@pytest.mark.parametrize("label", ["sh500038_suspended", "sh600001_delisted"])
def test_a_status_other_than_00_is_suspended(label: str) -> None:
    assert refused(LINES[label]) == "suspended"


def test_a_suspension_mid_day_is_skipped_even_with_volume() -> None:
    assert refused(edit("sh600000", f32="03")) == "suspended"  # derived


def test_a_name_with_an_inner_space_is_kept_as_sent() -> None:
    quote = one(LINES["sz000002_spaced_name"])
    assert quote.name == "万 科Ａ"
    assert not is_st_name(quote.name)
    spaced_st = one(edit("sz000002_spaced_name", f0="*ST 万科"))  # derived
    assert spaced_st.name == "*ST 万科" and is_st_name(spaced_st.name)


def test_a_shanghai_index_counts_lots_a_shenzhen_index_shares() -> None:
    sh = one(LINES["sh000001_index"])
    assert sh.symbol.board is Board.INDEX and sh.volume == 204023956 * 100
    sz = one(LINES["sz399001_index"])
    assert sz.volume == 16529925277
    for quote in (sh, sz):  # average share price in CNY: a plausible A-share price
        assert D(3) < quote.amount / quote.volume < D(30)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (LINES["sh600000"][:120] + '";', "cut short"),
        (LINES["sh600000"].replace("var hq_str_sh600000", "var hq_str_sa600000"), "bad key"),
        (edit("sh600000", f1="-11.510"), "a negative price"),
        (edit("sh600000", f3="abc"), "a price that is not a number"),
        (edit("sh600000", f8="216060.07"), "a fractional volume"),
        (edit("sh600000", f30="2019/07/16"), "a date in another format"),
        (edit("sh600000", f2="0.000"), "no previous close"),
        (edit("sh600000", f3="0.000"), "traded, but no last price"),
        (edit("sh600000", f0=""), "no name"),
    ],
)
def test_malformed_records_are_refused(line: str, why: str) -> None:
    assert refused(line) == "malformed", why


def test_a_whole_gbk_answer() -> None:
    body = "\n".join(LINES.values()).encode("gbk").decode("gb18030")
    parsed = parse_sina(body)
    assert parsed.records == len(LINES)
    names = {quote.symbol.full: quote.name for quote in parsed.quotes}
    assert names["sh688047"] == "龙芯中科" and names["sz000002"] == "万 科Ａ"
    assert parsed.refused == {"empty": 1, "suspended": 2}
    assert len(parsed.quotes) == len(LINES) - 3


def test_a_body_without_records() -> None:
    for body in ("", "Kinsoku jikou desu!", '<script>var hq_str_="";</script>'):
        assert parse_sina(body).records == 0
