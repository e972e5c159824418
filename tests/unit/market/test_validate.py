"""QuoteValidator: every refusal reason, the counters, the once-per-key log."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from aigupiao.core.clock import BEIJING, ManualClock
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.symbols import parse_symbol
from aigupiao.market.validate import QuoteValidator, Reason

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=BEIJING)


def quote(**changes: object) -> Quote:
    base = Quote(
        symbol=parse_symbol("sh600519"),
        name="贵州茅台",
        ts=NOW,
        last=Decimal("1488.00"),
        previous_close=Decimal("1480.00"),
        open=Decimal("1481.00"),
        high=Decimal("1490.50"),
        low=Decimal("1479.99"),
        volume=1_000_000,
        amount=Decimal("1488000000"),
        bids=(Level(Decimal("1487.99"), 300),),
        asks=(Level(Decimal("1488.00"), 200),),
        limit_up=Decimal("1628.00"),
        limit_down=Decimal("1332.00"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def validator() -> QuoteValidator:
    return QuoteValidator(ManualClock(NOW), max_age=120)


def reason_of(validator: QuoteValidator, item: Quote) -> Reason | None:
    screened = validator.screen([item], "test")
    if screened.accepted:
        return None
    ((_, refusal),) = screened.refused
    return refusal.reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"symbol": parse_symbol("sh000001")}, Reason.NOT_A_SECURITY),  # the SSE index
        ({"symbol": parse_symbol("sz399001")}, Reason.NOT_A_SECURITY),
        ({"symbol": parse_symbol("sz000001")}, None),  # a stock, not the index
        ({"symbol": parse_symbol("sh510300")}, None),  # an ETF is a security
        ({"ts": NOW - timedelta(seconds=121)}, Reason.STALE),
        ({"ts": NOW - timedelta(seconds=120)}, None),
        ({"ts": NOW + timedelta(seconds=61)}, Reason.FUTURE),
        ({"ts": NOW + timedelta(seconds=59)}, None),
        ({"ts": NOW.astimezone(UTC)}, None),  # any zone, same instant
        ({"ts": NOW.replace(tzinfo=None)}, Reason.NAIVE_TIME),
        ({"volume": -1}, Reason.NEGATIVE_VOLUME),
        ({"amount": Decimal("-0.01")}, Reason.NEGATIVE_VOLUME),
        ({"last": Decimal(0)}, Reason.NO_TRADE_YET),
        ({"last": Decimal("-1")}, Reason.NON_POSITIVE_PRICE),
        ({"previous_close": Decimal(0)}, Reason.NON_POSITIVE_PRICE),
        ({"open": Decimal(0)}, Reason.NON_POSITIVE_PRICE),  # traded: open must be set
        ({"low": Decimal(0)}, Reason.NON_POSITIVE_PRICE),
        ({"high": Decimal("-1490")}, Reason.NON_POSITIVE_PRICE),
        ({"limit_up": Decimal(0)}, Reason.NON_POSITIVE_PRICE),
        ({"limit_down": Decimal("-1")}, Reason.NON_POSITIVE_PRICE),
        ({"bids": (Level(Decimal(0), 100),)}, Reason.NON_POSITIVE_PRICE),
        ({"bids": (Level(Decimal(0), 0),)}, None),  # an empty level
        ({"asks": (Level(Decimal("1488"), -100),)}, Reason.NEGATIVE_VOLUME),
        ({"high": Decimal("1470"), "low": Decimal("1479.99")}, Reason.HIGH_BELOW_LOW),
        ({"last": Decimal("1490.51")}, Reason.LAST_OUTSIDE_RANGE),
        ({"last": Decimal("1479.98")}, Reason.LAST_OUTSIDE_RANGE),
        ({"last": Decimal("1490.50")}, None),
        # Beyond what the market holds (feeds' quotes never pass quote_json's bounds).
        ({"volume": 10**30}, Reason.OUT_OF_RANGE),
        ({"volume": 10**12}, None),
        ({"amount": Decimal("1e13") + 1}, Reason.OUT_OF_RANGE),
        ({"last": Decimal("1e308"), "high": Decimal("1e308")}, Reason.OUT_OF_RANGE),
        ({"previous_close": Decimal("100000.01")}, Reason.OUT_OF_RANGE),
        ({"limit_up": Decimal("1e6")}, Reason.OUT_OF_RANGE),
        ({"bids": (Level(Decimal("1487.99"), 10**13),)}, Reason.OUT_OF_RANGE),
        ({"asks": (Level(Decimal("1e400"), 100),)}, Reason.OUT_OF_RANGE),
    ],
)
def test_each_rule(
    validator: QuoteValidator, changes: dict[str, object], reason: Reason | None
) -> None:
    assert reason_of(validator, quote(**changes)) is reason


def test_before_the_first_trade_open_high_low_may_be_zero(validator: QuoteValidator) -> None:
    # Sina's pre-open shape with an indicative last (the simulator's auction quotes).
    pre_open = quote(
        ts=NOW.replace(hour=9, minute=20),
        open=Decimal(0),
        high=Decimal(0),
        low=Decimal(0),
        volume=0,
        amount=Decimal(0),
    )
    clock = ManualClock(pre_open.ts)
    assert reason_of(QuoteValidator(clock, max_age=120), pre_open) is None
    # ... but Sina's 0.000 last is no price at all.
    assert reason_of(validator, quote(last=Decimal(0), volume=0)) is Reason.NO_TRADE_YET


def test_volume_never_goes_backwards_within_a_day_whatever_the_source() -> None:
    clock = ManualClock(NOW)
    validator = QuoteValidator(clock, max_age=120)
    assert validator.screen([quote(volume=1000)], "a").accepted
    assert validator.screen([quote(volume=1000)], "b").accepted  # equal is fine
    refused = validator.screen([quote(volume=999)], "b")
    assert [r.reason for _, r in refused.refused] == [Reason.VOLUME_BACKWARDS]
    assert validator.screen([quote(volume=1200)], "a").accepted
    # Another symbol has its own volume.
    assert validator.screen([quote(symbol=parse_symbol("sz000001"), volume=5)], "a").accepted
    # The next day starts from zero; the old day is then stale even within max_age.
    midnight = datetime.combine(NOW.date() + timedelta(days=1), time(0, 0, 30), BEIJING)
    clock.set(midnight)
    assert validator.screen([quote(ts=midnight, volume=10)], "a").accepted
    old = quote(ts=midnight - timedelta(minutes=1), volume=2000)  # 23:59:30, within max_age
    assert [r.reason for _, r in validator.screen([old], "a").refused] == [Reason.STALE]


def test_a_quote_out_of_range_never_becomes_the_volume_to_beat() -> None:
    # A volume of 1e30 was once accepted and refused every real quote of the day after it.
    validator = QuoteValidator(ManualClock(NOW), max_age=120)
    assert validator.screen([quote(volume=1000)], "feed").accepted
    bogus = validator.screen([quote(volume=10**30)], "push:bot")
    assert [r.reason for _, r in bogus.refused] == [Reason.OUT_OF_RANGE]
    assert validator.screen([quote(volume=1001)], "feed").accepted


def test_a_batch_is_screened_item_by_item_in_order(validator: QuoteValidator) -> None:
    batch = [quote(volume=10), quote(volume=5), quote(last=Decimal(0)), quote(volume=20)]
    screened = validator.screen(batch, "feed")
    assert [q.volume for q in screened.accepted] == [10, 20]
    assert [(i, r.reason) for i, r in screened.refused] == [
        (1, Reason.VOLUME_BACKWARDS),
        (2, Reason.NO_TRADE_YET),
    ]
    refusal = screened.refused[0][1]
    assert refusal.code == "sh600519" and "5" in refusal.detail
    assert refusal.message.startswith("累计成交量倒退") and "backwards" in refusal.message_en


def test_counters_by_source_and_reason(validator: QuoteValidator) -> None:
    validator.screen([quote(), quote(last=Decimal(0))], "sina")
    validator.screen([quote(symbol=parse_symbol("sh000001"))] * 3, "chagubang")
    validator.screen([quote(volume=2_000_000)], "chagubang")
    assert validator.counters() == {
        "accepted": {"chagubang": 1, "sina": 1},
        "refused": {
            "chagubang": {"not_a_security": 3},
            "sina": {"no_trade_yet": 1},
        },
        "refused_total": 4,
    }


def test_each_source_and_reason_is_logged_once(
    validator: QuoteValidator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="aigupiao.market.validate"):
        for _ in range(50):
            validator.screen([quote(last=Decimal(0))], "sina")
        validator.screen([quote(last=Decimal(0))], "tencent")
        validator.screen([quote(ts=NOW - timedelta(hours=1))], "sina")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "sina" in lines[0] and "no_trade_yet" in lines[0] and "sh600519" in lines[0]
    assert "tencent" in lines[1] and "stale" in lines[2]


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        QuoteValidator(ManualClock(NOW), max_age=0)
