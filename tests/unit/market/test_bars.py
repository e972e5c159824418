"""MinuteBarAggregator over hand-built snapshot sequences: the opening auction, the lunch
break, the close, silent minutes, joining late, a day change; and a simulated day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from aigupiao.core.clock import BEIJING, ManualClock
from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.symbols import parse_symbol
from aigupiao.market.bars import MinuteBarAggregator, bar_end, day_bar_ends, next_bar_end
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import load_universe

DAY = date(2026, 3, 2)  # a Monday, a trading day
NEXT_DAY = date(2026, 3, 3)
STOCK = parse_symbol("sz000001")


def at(hour: int, minute: int, second: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute, second), BEIJING)


def snap(
    moment: datetime,
    last: str,
    volume: int,
    amount: str,
    *,
    open_: str | None = None,
    high: str | None = None,
    low: str | None = None,
) -> Quote:
    """A snapshot with the day's cumulative volume and amount."""
    price = Decimal(last)
    return Quote(
        symbol=STOCK,
        name="平安银行",
        ts=moment,
        last=price,
        previous_close=Decimal("10.00"),
        open=Decimal(open_ or (last if volume else "0")),
        high=Decimal(high or (last if volume else "0")),
        low=Decimal(low or (last if volume else "0")),
        volume=volume,
        amount=Decimal(amount),
    )


def ohlcv(bar: Bar) -> tuple[str, str, str, str, str, int, str]:
    return (
        bar.end.strftime("%H:%M"),
        str(bar.open),
        str(bar.high),
        str(bar.low),
        str(bar.close),
        bar.volume,
        str(bar.amount),
    )


@pytest.mark.parametrize(
    ("moment", "label"),
    [
        ((9, 14, 59), None),
        ((9, 15, 0), "09:31"),  # the opening call auction ...
        ((9, 25, 3), "09:31"),  # ... its match ...
        ((9, 30, 59), "09:31"),  # ... and the first minute: one bar
        ((9, 31, 0), "09:32"),
        ((10, 0, 0), "10:01"),
        ((11, 28, 59), "11:29"),
        ((11, 29, 0), "11:30"),
        ((11, 30, 0), "11:30"),  # the 11:30:00 print belongs to the morning's last bar
        ((12, 10, 0), "11:30"),  # lunch-break snapshots too: no lunch bars
        ((12, 59, 59), "11:30"),
        ((13, 0, 0), "13:01"),
        ((14, 58, 59), "14:59"),
        ((14, 59, 0), "15:00"),
        ((15, 0, 0), "15:00"),  # the closing auction's print
        ((15, 30, 0), "15:00"),
    ],
)
def test_bar_end(moment: tuple[int, int, int], label: str | None) -> None:
    end = bar_end(at(*moment))
    assert (end.strftime("%H:%M") if end else None) == label
    assert end is None or end.tzinfo is not None


def test_bar_end_is_none_on_closed_days() -> None:
    assert bar_end(datetime(2026, 3, 1, 10, 0, tzinfo=BEIJING)) is None  # a Sunday


def test_a_day_has_240_bars() -> None:
    ends = day_bar_ends(DAY)
    assert len(ends) == 240
    assert ends[0] == at(9, 31) and ends[119] == at(11, 30)
    assert ends[120] == at(13, 1) and ends[-1] == at(15, 0)
    assert next_bar_end(at(11, 30)) == at(13, 1) and next_bar_end(at(15, 0)) is None


def test_the_opening_auction_goes_into_the_first_bar() -> None:
    agg = MinuteBarAggregator()
    quotes = [
        snap(at(9, 15), "10.00", 0, "0"),  # indicative prices, nothing traded
        snap(at(9, 20), "10.50", 0, "0"),
        snap(at(9, 25, 3), "10.02", 5000, "50100"),  # the auction match
        snap(at(9, 30, 5), "10.03", 7000, "70160", open_="10.02", high="10.03", low="10.02"),
        snap(at(9, 30, 59), "10.01", 8000, "80170", open_="10.02", high="10.03", low="10.01"),
    ]
    assert agg.on_quotes(quotes) == []
    closed = agg.on_quote(
        snap(at(9, 31, 2), "10.04", 9000, "90210", open_="10.02", high="10.04", low="10.01")
    )
    # The indicative 10.50 is no trade: it never reaches the bar.
    assert [ohlcv(b) for b in closed] == [
        ("09:31", "10.02", "10.03", "10.01", "10.01", 8000, "80170")
    ]
    assert closed[0].freq == "1m" and closed[0].symbol == STOCK


def test_a_new_day_high_between_snapshots_widens_the_bar_and_silent_minutes_are_flat() -> None:
    agg = MinuteBarAggregator()
    first = agg.on_quotes(
        [
            snap(at(9, 25, 3), "10.02", 5000, "50100"),
            snap(at(9, 31, 2), "10.04", 9000, "90260", open_="10.02", high="10.04", low="10.02"),
            # Traded up to 10.08 and back between two snapshots: only the day high says so.
            snap(at(9, 31, 30), "10.02", 9500, "95270", open_="10.02", high="10.08", low="10.02"),
        ]
    )
    assert [ohlcv(b) for b in first] == [
        ("09:31", "10.02", "10.02", "10.02", "10.02", 5000, "50100")
    ]
    closed = agg.on_quote(
        snap(at(9, 34, 10), "10.05", 9800, "98285", open_="10.02", high="10.08", low="10.02")
    )
    assert [ohlcv(b) for b in closed] == [
        ("09:32", "10.04", "10.08", "10.02", "10.02", 4500, "45170"),
        ("09:33", "10.02", "10.02", "10.02", "10.02", 0, "0"),  # no trade: the last close
        ("09:34", "10.02", "10.02", "10.02", "10.02", 0, "0"),
    ]


def test_lunch_break_no_bars_and_late_prints_amend_11_30() -> None:
    agg = MinuteBarAggregator(grace=3)
    kw = {"open_": "10.00", "high": "10.30", "low": "9.90"}
    agg.on_quotes(
        [
            snap(at(9, 25), "10.00", 100_000, "1000000", **kw),
            snap(at(11, 28, 30), "10.10", 200_000, "2010000", **kw),
            snap(at(11, 29, 30), "10.11", 200_300, "2013033", **kw),
        ]
    )
    closed = agg.on_quote(snap(at(11, 30, 0), "10.12", 200_500, "2015057", **kw))
    assert closed == []  # the 11:30:00 print is in the 11:30 bar, which is still open
    assert agg.on_quote(snap(at(11, 30, 3), "10.12", 200_500, "2015057", **kw)) == []
    assert agg.close_due(at(11, 30, 2)) == []  # not yet: grace
    (bar_1130,) = agg.close_due(at(11, 30, 3))
    assert ohlcv(bar_1130) == ("11:30", "10.11", "10.12", "10.11", "10.12", 500, "5057")
    assert agg.close_due(at(12, 0)) == []  # nothing in the lunch break
    # A late print of the morning arrives with a lunch-time snapshot: 11:30 is amended.
    assert agg.on_quote(snap(at(11, 31, 0), "10.12", 200_600, "2016069", **kw)) == []
    (amended,) = agg.close_due(at(12, 0))
    assert ohlcv(amended) == ("11:30", "10.11", "10.12", "10.11", "10.12", 600, "6069")
    assert agg.close_due(at(12, 30)) == []
    # The afternoon starts with 13:01; nothing between 11:30 and it.
    assert agg.on_quote(snap(at(13, 0, 2), "10.13", 200_700, "2017082", **kw)) == []
    closed = agg.on_quote(snap(at(13, 2, 30), "10.14", 200_800, "2018096", **kw))
    assert [ohlcv(b) for b in closed] == [
        ("13:01", "10.13", "10.13", "10.13", "10.13", 100, "1013"),
        ("13:02", "10.13", "10.13", "10.13", "10.13", 0, "0"),
    ]


def test_the_closing_auction_print_goes_into_the_15_00_bar() -> None:
    agg = MinuteBarAggregator(grace=3)
    kw = {"open_": "10.00", "high": "10.30", "low": "9.90"}
    agg.on_quotes(
        [
            snap(at(9, 25), "10.00", 100_000, "1000000", **kw),
            snap(at(14, 56, 30), "10.10", 300_000, "3000000", **kw),
        ]
    )
    closed = agg.on_quotes(
        [
            snap(at(14, 57, 30), "10.10", 300_000, "3000000", **kw),  # closing auction: no trade
            snap(at(14, 59, 30), "10.10", 300_000, "3000000", **kw),
        ]
    )
    assert [b.end.strftime("%H:%M") for b in closed] == ["14:57", "14:58", "14:59"]
    assert [b.volume for b in closed] == [200_000, 0, 0]
    assert agg.on_quote(snap(at(15, 0, 2), "10.20", 350_000, "3510000", **kw)) == []
    assert agg.close_due(at(15, 0, 2)) == []
    (close,) = agg.close_due(at(15, 0, 5))
    assert ohlcv(close) == ("15:00", "10.20", "10.20", "10.20", "10.20", 50_000, "510000")
    # After-hours snapshots repeating the close change nothing.
    assert agg.on_quote(snap(at(15, 5), "10.20", 350_000, "3510000", **kw)) == []
    assert agg.close_due(at(15, 30)) == []


def test_quiet_symbols_get_flat_bars_from_close_due_only_after_their_first_trade() -> None:
    agg = MinuteBarAggregator(grace=3)
    agg.on_quotes([snap(at(9, 20), "10.00", 0, "0"), snap(at(9, 40), "10.00", 0, "0")])
    assert agg.close_due(at(10, 0)) == []  # no trade yet: no bars at all
    agg.on_quote(snap(at(10, 0, 30), "10.05", 1000, "10050", open_="10.05"))
    closed = agg.close_due(at(10, 3, 3))
    assert [ohlcv(b) for b in closed] == [
        ("10:01", "10.05", "10.05", "10.05", "10.05", 1000, "10050"),
        ("10:02", "10.05", "10.05", "10.05", "10.05", 0, "0"),
        ("10:03", "10.05", "10.05", "10.05", "10.05", 0, "0"),
    ]
    assert agg.close_due(at(10, 3, 30)) == []  # each bar once


def test_joining_late_skips_the_minute_whose_volume_is_unknown() -> None:
    agg = MinuteBarAggregator()
    assert agg.on_quote(snap(at(10, 15, 20), "10.00", 1_000_000, "10000000")) == []
    assert agg.on_quote(snap(at(10, 16, 10), "10.01", 1_000_500, "10005005")) == []
    closed = agg.on_quote(snap(at(10, 17, 1), "10.02", 1_000_600, "10006007"))
    # 10:16 held the day's volume so far: not a bar. 10:17 has only its own trades.
    assert [ohlcv(b) for b in closed] == [
        ("10:17", "10.01", "10.01", "10.01", "10.01", 500, "5005")
    ]


def test_joining_late_before_the_first_trade_loses_nothing() -> None:
    agg = MinuteBarAggregator()
    agg.on_quotes(
        [snap(at(10, 15, 20), "10.00", 0, "0"), snap(at(10, 15, 40), "10.02", 300, "3006")]
    )
    (bar,) = agg.on_quote(snap(at(10, 16, 1), "10.03", 400, "4009"))
    assert ohlcv(bar) == ("10:16", "10.02", "10.02", "10.02", "10.02", 300, "3006")


def test_a_day_change_closes_the_old_day_and_starts_from_zero() -> None:
    agg = MinuteBarAggregator()
    closed = agg.on_quotes(
        [
            snap(at(9, 25), "10.00", 100_000, "1000000"),
            snap(at(14, 0, 30), "10.10", 200_000, "2010000"),
        ]
    )
    closed += agg.on_quote(snap(at(9, 25, day=NEXT_DAY), "10.20", 500, "5100"))
    # The old day: the 09:31 bar, flat bars to 14:00, the 14:01 trade, flat bars to 15:00.
    assert len(closed) == 240
    assert closed[-1].end == at(15, 0) and closed[-1].volume == 0
    assert sum(b.volume for b in closed) == 200_000
    (first,) = agg.on_quote(snap(at(9, 31, 1, day=NEXT_DAY), "10.21", 700, "7142"))
    assert ohlcv(first) == ("09:31", "10.20", "10.20", "10.20", "10.20", 500, "5100")


def test_close_due_on_a_later_day_finishes_the_old_one() -> None:
    agg = MinuteBarAggregator()
    agg.on_quote(snap(at(9, 25), "10.00", 100_000, "1000000"))
    closed = agg.close_due(at(8, 0, day=NEXT_DAY))
    assert len(closed) == 240 and agg.symbols == 0


def test_a_simulated_day_adds_up() -> None:
    """Snapshots every 3 s of a whole simulated day: 240 bars per symbol whose volumes and
    amounts add up to the day's totals, with consistent prices."""
    clock = ManualClock(at(9, 15))
    sim = SimMarket(load_universe(None)[:3], clock, seed=3)
    agg = MinuteBarAggregator(grace=3)
    bars: list[Bar] = []
    last: dict[str, Quote] = {}
    while clock.now() < at(15, 10):
        batch = sim.step()
        for quote in batch:
            last[quote.symbol.full] = quote
        bars.extend(agg.on_quotes(batch))
        bars.extend(agg.close_due(clock.now()))
        clock.advance(3)
    for code, final in last.items():
        mine = [b for b in bars if b.symbol.full == code]
        assert [b.end for b in mine] == day_bar_ends(DAY)
        assert sum(b.volume for b in mine) == final.volume
        assert sum(b.amount for b in mine) == final.amount
        assert mine[0].open == final.open
        assert mine[-1].close == final.last
        assert max(b.high for b in mine) == final.high and min(b.low for b in mine) == final.low
        for bar in mine:
            assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high


def test_grace_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        MinuteBarAggregator(grace=-1)


def test_bar_end_accepts_naive_beijing_times() -> None:
    assert bar_end(datetime(2026, 3, 2, 9, 45, 10)) == at(9, 46)
    assert bar_end(at(9, 45, 10).astimezone(UTC)) == at(9, 46)
