"""The pre-trade risk gate: each rule's code, its bilingual message, and what passes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from aigupiao.core.clock import BEIJING
from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.risk.gate import RiskGate, RiskLimits, RiskVerdict, TradingState

DAY = date(2026, 11, 24)  # a Tuesday
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)
MOUTAI = parse_symbol("600519")  # main board, lot 100, tick 0.01
PINGAN = parse_symbol("sz000001")
STAR = parse_symbol("688981")  # STAR market: 200 minimum, then 1 share steps
ETF = parse_symbol("510300")  # fund: tick 0.001

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{4,}")


def at(hour: int, minute: int, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), BEIJING)


def quote(
    symbol: Symbol = MOUTAI,
    last: str = "1468.00",
    *,
    limit_up: str | None = "1614.80",
    limit_down: str | None = "1321.20",
) -> Quote:
    price = Decimal(last)
    tick = symbol.tick
    return Quote(
        symbol=symbol,
        name="测试",
        ts=NOW,
        last=price,
        previous_close=price,
        open=price,
        high=price,
        low=price,
        volume=1000,
        amount=price * 1000,
        bids=tuple(Level(price - i * tick, 1000) for i in range(5)),
        asks=tuple(Level(price + i * tick, 1000) for i in range(1, 6)),
        limit_up=None if limit_up is None else Decimal(limit_up),
        limit_down=None if limit_down is None else Decimal(limit_down),
    )


def account(cash: str = "1000000", *positions: Position) -> Account:
    return Account(id="paper-1", cash=Decimal(cash), positions=positions)


def holding(symbol: Symbol = MOUTAI, total: int = 300, available: int = 300) -> Position:
    return Position(
        symbol, total=total, available=available, cost_price=Decimal("1400"), last_price=None
    )


def check(
    *,
    side: Side = Side.BUY,
    quantity: int = 100,
    price: Decimal | None = Decimal("1468.00"),
    quote: Quote | None = None,
    account: Account | None = None,
    now: datetime = NOW,
    state: TradingState = TradingState.ACTIVE,
    limits: RiskLimits | None = None,
) -> RiskVerdict:
    gate = RiskGate(limits or RiskLimits(), state)
    return gate.check(
        side=side,
        quantity=quantity,
        price=price,
        quote=quote,
        account=account,
        now=now,
    )


def assert_rejected(verdict: RiskVerdict, rule: str) -> None:
    assert verdict.accepted is False
    assert verdict.rule == rule, verdict.message
    assert verdict.message is not None
    assert _CJK.search(verdict.message), f"no Chinese in {verdict.message!r}"
    assert _LATIN_WORD.search(verdict.message), f"no English in {verdict.message!r}"


# -- accepted ----------------------------------------------------------------------


def test_an_acceptable_limit_buy_passes() -> None:
    verdict = check(
        price=Decimal("10.00"),
        quote=quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00"),
        account=account(),
    )
    assert verdict == RiskVerdict(True, None, None)


def test_an_acceptable_market_buy_passes() -> None:
    verdict = check(
        price=None,
        quote=quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00"),
        account=account(),
    )
    assert verdict.accepted and verdict.rule is None and verdict.message is None


def test_selling_what_is_available_passes() -> None:
    verdict = check(side=Side.SELL, quantity=300, quote=quote(), account=account("0", holding()))
    assert verdict.accepted


# -- trading state -----------------------------------------------------------------


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_halted_rejects_everything(side: Side) -> None:
    verdict = check(
        side=side, quote=quote(), account=account("0", holding()), state=TradingState.HALTED
    )
    assert_rejected(verdict, "trading_state")
    assert "halted" in (verdict.message or "")


def test_reducing_rejects_buys() -> None:
    verdict = check(quote=quote(), account=account(), state=TradingState.REDUCING)
    assert_rejected(verdict, "trading_state")
    assert "exits only" in (verdict.message or "")


def test_reducing_lets_sells_pass() -> None:
    verdict = check(
        side=Side.SELL,
        quantity=100,
        quote=quote(),
        account=account("0", holding()),
        state=TradingState.REDUCING,
    )
    assert verdict.accepted


def test_gate_state_can_be_changed_at_runtime() -> None:
    gate = RiskGate(RiskLimits())
    kwargs = {
        "side": Side.SELL,
        "quantity": 100,
        "price": Decimal("1468.00"),
        "quote": quote(),
        "account": account("0", holding()),
        "now": NOW,
    }
    assert gate.check(**kwargs).accepted  # type: ignore[arg-type]
    gate.state = TradingState.HALTED
    assert gate.check(**kwargs).rule == "trading_state"  # type: ignore[arg-type]


# -- quote, hours, account ---------------------------------------------------------


def test_no_quote() -> None:
    assert_rejected(check(quote=None, account=account()), "no_quote")


@pytest.mark.parametrize(
    "moment",
    [
        at(12, 0),  # lunch
        at(9, 20),  # opening auction
        at(9, 27),  # pre-open
        at(14, 58),  # closing auction
        at(10, 0, date(2026, 11, 28)),  # Saturday
        at(10, 0, date(2026, 10, 1)),  # National Day holiday
        at(15, 30),  # after the close
    ],
    ids=["lunch", "auction", "pre_open", "closing_auction", "weekend", "holiday", "closed"],
)
def test_market_order_outside_continuous_trading(moment: datetime) -> None:
    verdict = check(price=None, quote=quote(PINGAN, "10.00"), account=account(), now=moment)
    assert_rejected(verdict, "trading_hours")
    assert "continuous trading" in (verdict.message or "")


@pytest.mark.parametrize("moment", [at(9, 30), at(11, 29), at(13, 0), at(14, 56)])
def test_market_order_inside_continuous_trading(moment: datetime) -> None:
    verdict = check(
        price=None,
        quote=quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00"),
        account=account(),
        now=moment,
    )
    assert verdict.accepted


@pytest.mark.parametrize("moment", [at(12, 0), at(8, 0), at(15, 30), at(10, 0, date(2026, 11, 29))])
def test_limit_order_when_the_market_is_closed(moment: datetime) -> None:
    verdict = check(quote=quote(), account=account(), now=moment)
    assert_rejected(verdict, "trading_hours")


@pytest.mark.parametrize("moment", [at(9, 20), at(14, 58)])
def test_limit_order_in_an_auction_passes_the_hours_check(moment: datetime) -> None:
    verdict = check(
        quote=quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00"),
        price=Decimal("10.00"),
        account=account(),
        now=moment,
    )
    assert verdict.accepted


def test_account_unknown() -> None:
    assert_rejected(check(quote=quote(), account=None), "account_unknown")


# -- exchange rules ----------------------------------------------------------------


@pytest.mark.parametrize("quantity", [50, 150, 0, -100])
def test_lot(quantity: int) -> None:
    verdict = check(
        quantity=quantity,
        price=Decimal("10.00"),
        quote=quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00"),
        account=account(),
    )
    assert_rejected(verdict, "lot")


def test_star_market_minimum_is_200_shares() -> None:
    q = quote(STAR, "50.00", limit_up="60.00", limit_down="40.00")
    assert_rejected(check(quantity=100, price=Decimal("50.00"), quote=q, account=account()), "lot")
    assert check(quantity=201, price=Decimal("50.00"), quote=q, account=account()).accepted


def test_selling_an_odd_remainder_with_the_whole_position_passes() -> None:
    verdict = check(
        side=Side.SELL,
        quantity=150,
        quote=quote(),
        account=account("0", holding(total=150, available=150)),
    )
    assert verdict.accepted


def test_max_order_size() -> None:
    verdict = check(
        quantity=1_000_100,
        price=Decimal("10.00"),
        quote=quote(PINGAN, "10.00"),
        account=account("1000000000"),
    )
    assert_rejected(verdict, "max_order_size")


@pytest.mark.parametrize("price", ["1468.005", "1468.001"])
def test_tick(price: str) -> None:
    verdict = check(price=Decimal(price), quote=quote(), account=account())
    assert_rejected(verdict, "tick")
    assert "0.01" in (verdict.message or "")


def test_fund_tick_is_a_tenth_of_a_cent() -> None:
    q = quote(ETF, "4.123", limit_up="4.535", limit_down="3.711")
    assert check(price=Decimal("4.123"), quote=q, account=account()).accepted
    assert_rejected(check(price=Decimal("4.1235"), quote=q, account=account()), "tick")


@pytest.mark.parametrize("price", ["1614.81", "1321.19", "2000.00"])
def test_price_limit(price: str) -> None:
    verdict = check(
        price=Decimal(price),
        quote=quote(),
        account=account("10000000"),
        limits=RiskLimits(max_position_size=Decimal(1)),
    )
    assert_rejected(verdict, "price_limit")
    assert "1321.20" in (verdict.message or "") and "1614.80" in (verdict.message or "")


@pytest.mark.parametrize("price", ["1614.80", "1321.20"])
def test_prices_at_the_limits_pass(price: str) -> None:
    # In the opening auction: no price cage, only the day's limits.
    verdict = check(
        price=Decimal(price),
        quote=quote(),
        account=account("10000000"),
        limits=RiskLimits(max_position_size=Decimal(1)),
        now=at(9, 20),
    )
    assert verdict.accepted, verdict.message


def test_sell_more_than_available() -> None:
    # T+1: 300 held, only 100 sellable today.
    verdict = check(
        side=Side.SELL,
        quantity=200,
        quote=quote(),
        account=account("0", holding(total=300, available=100)),
    )
    assert_rejected(verdict, "available")
    assert "100" in (verdict.message or "") and "200" in (verdict.message or "")


def test_sell_without_a_position() -> None:
    verdict = check(side=Side.SELL, quantity=100, quote=quote(), account=account())
    assert_rejected(verdict, "available")


def test_cash() -> None:
    # 100 x 10.00 = 1000.00, plus the 0.1% cost margin = 1001.00 > 1000.99
    q = quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00")
    no_cap = RiskLimits(max_position_size=Decimal(1))
    verdict = check(price=Decimal("10.00"), quote=q, account=account("1000.99"), limits=no_cap)
    assert_rejected(verdict, "cash")
    assert "1001.00" in (verdict.message or "")
    assert check(
        price=Decimal("10.00"), quote=q, account=account("1001.00"), limits=no_cap
    ).accepted


def test_cash_of_a_market_buy_uses_the_worst_price() -> None:
    # A market buy freezes cash at the limit-up price (11.00), as the broker does.
    q = quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00")
    no_cap = RiskLimits(max_position_size=Decimal(1))
    assert_rejected(check(price=None, quote=q, account=account("1000.99"), limits=no_cap), "cash")


# -- max_position_size -------------------------------------------------------------


def test_max_position_size_rejects_a_lot_of_an_expensive_stock() -> None:
    # 100 x 1468 = 146,800 > 10% of 1,000,000 equity
    verdict = check(price=Decimal("1468.00"), quote=quote(), account=account("1000000"))
    assert_rejected(verdict, "max_position_size")
    assert "100000.00" in (verdict.message or "")
    assert "146800.00" in (verdict.message or "")


def test_max_position_size_accepts_a_lot_of_a_cheap_stock() -> None:
    q = quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00")
    assert check(price=Decimal("10.00"), quote=q, account=account("1000000")).accepted


def test_max_position_size_counts_what_is_already_held() -> None:
    # Equity 1,000,000 (cash 910,000 + 9,000 x 10.00); holding 90,000, cap 100,000.
    held = Position(PINGAN, total=9000, available=9000, cost_price=Decimal("10.00"))
    q = quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00")
    acc = account("910000", held)
    assert acc.equity == Decimal("1000000")
    assert check(quantity=1000, price=Decimal("10.00"), quote=q, account=acc).accepted
    assert_rejected(
        check(quantity=1100, price=Decimal("10.00"), quote=q, account=acc), "max_position_size"
    )


def test_max_position_size_is_configurable() -> None:
    verdict = check(
        price=Decimal("1468.00"),
        quote=quote(),
        account=account("1000000"),
        limits=RiskLimits(max_position_size=Decimal("0.15")),
    )
    assert verdict.accepted


def test_default_max_position_size_is_ten_percent() -> None:
    assert RiskLimits().max_position_size == Decimal("0.1")


def test_an_aware_utc_moment_is_judged_in_beijing_time() -> None:
    ten_beijing_in_utc = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    verdict = check(
        price=None,
        quote=quote(PINGAN, "10.00", limit_up="11.00", limit_down="9.00"),
        account=account(),
        now=ten_beijing_in_utc,
    )
    assert verdict.accepted, verdict.message
