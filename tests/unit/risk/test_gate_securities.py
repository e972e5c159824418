"""The risk gate judges limits and sessions from the security's facts (issue 13,
"Exchange rules"): BSE rounding (1), +-20% funds (2), SSE before its closing auction
(4), and new listings the running system knows (7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from aigupiao.core.clock import BEIJING
from aigupiao.domain.account import Account
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.securities import current_securities, use_securities
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.market.feeds.tencent import parse_tencent_record
from aigupiao.risk.gate import RiskGate, RiskVerdict

D = Decimal
DAY = date(2026, 11, 24)  # a Tuesday
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)


@pytest.fixture(autouse=True)
def restore_table() -> Iterator[None]:
    previous = current_securities()
    yield
    use_securities(previous)


def quote(
    symbol: Symbol, previous_close: str, last: str, *, name: str = "测试", ts: datetime = NOW
) -> Quote:
    """A quote without limits: the gate works them out."""
    price, tick = D(last), symbol.tick
    return Quote(
        symbol=symbol,
        name=name,
        ts=ts,
        last=price,
        previous_close=D(previous_close),
        open=price,
        high=price,
        low=price,
        volume=10_000,
        amount=price * 10_000,
        bids=tuple(Level(price - i * tick, 10_000) for i in range(5)),
        asks=tuple(Level(price + i * tick, 10_000) for i in range(1, 6)),
    )


def check(q: Quote, price: str | None, quantity: int = 100, now: datetime = NOW) -> RiskVerdict:
    account = Account(id="paper-1", cash=D("10000000"))
    return RiskGate().check(
        side=Side.BUY,
        quantity=quantity,
        price=None if price is None else D(price),
        quote=q,
        account=account,
        now=now,
    )


def test_bse_limit_up_is_cut_toward_the_previous_close() -> None:
    """Item 1: 430047 at 15.29 has limit up 19.87; a buy at 19.88 is refused."""
    q = quote(parse_symbol("430047"), "15.29", "19.80")
    assert check(q, "19.87").accepted
    refused = check(q, "19.88")
    assert refused.rule == "price_limit"
    assert refused.values["limit_up"] == "19.87" and refused.values["limit_down"] == "10.71"


def test_a_star_index_fund_may_be_bought_up_to_20pct() -> None:
    """Item 2: 588000 at 1.074: limits 1.289 / 0.859, not 1.181 / 0.967."""
    q = quote(parse_symbol("588000"), "1.074", "1.270")
    assert check(q, "1.289").accepted
    assert check(q, "1.290").rule == "price_limit"
    assert check(q, "1.200").accepted  # above the +-10% a code-prefix rule gave


def test_sse_took_market_orders_at_14_58_before_its_closing_auction() -> None:
    """Item 4: on 2017-04-20, 14:58 is continuous trading on SSE (not on SZSE)."""
    then = datetime.combine(date(2017, 4, 20), time(14, 58), BEIJING)
    sse = quote(parse_symbol("600122"), "11.99", "11.64", ts=then)
    assert check(sse, None, now=then).accepted
    szse = quote(parse_symbol("sz000001"), "9.00", "9.00", ts=then)
    refused = check(szse, None, now=then)
    assert refused.rule == "trading_hours" and refused.values["phase"] == "closing_auction"


def test_a_day_2_star_listing_known_to_the_facts_has_no_limit() -> None:
    """Item 7: the gate gets the listing date from the facts table in use."""
    star = parse_symbol("688999")
    use_securities(
        current_securities().overlaid({star.full: {"listed_on": date(2026, 11, 23)}}, "t")
    )
    assert check(quote(star, "10.00", "12.80", name="测试"), "13.00", quantity=200).accepted
    # day 6 has limits again
    later = datetime(2026, 12, 1, 10, 0, tzinfo=BEIJING)
    q = quote(star, "10.00", "11.90", ts=later)
    assert check(q, "13.00", quantity=200, now=later).rule == "price_limit"


def test_a_tencent_no_limit_quote_is_not_given_20pct() -> None:
    """Item 7: Tencent writes -1 for a listing without a limit; that is kept as no limit,
    not recomputed as +-20%, even for a listing the facts do not know."""
    fields = ["0"] * 88
    fields[:7] = ["1", "新股", "688999", "12.80", "10.00", "11.00", "5000"]
    for i in range(9, 29, 2):
        fields[i], fields[i + 1] = "12.80", "10"
    fields[30] = "20261124100000"
    fields[33], fields[34] = "12.90", "10.50"
    fields[35] = "12.80/5000/64000"
    fields[47] = fields[48] = "-1"
    parsed = parse_tencent_record("sh688999", "~".join(fields))
    assert parsed.no_limit and parsed.limit_up is None
    assert check(parsed, "13.00", quantity=200).accepted
