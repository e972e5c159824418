"""Candlestick patterns: hand-built bars at the thresholds, then real daily bars.

The hand-built bars use binary fractions (0.25, 0.125, ...) so that a value exactly at
a threshold is exact in float. Twelve bars come before each pattern: rising or falling
by 0.5 a day, each with a body of 0.5 and a range of 1.0, so the averages the
definitions compare with are AB = 0.5, AR = 1.0 and AS (average shadow) = 0.25.

The real bars are raw daily bars from ``../shared/data/daily/hzjsw_stock-backtest``
(without it these tests skip on a developer machine and fail under ``CI=true``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from aigupiao.market.daily import read_daily
from aigupiao.strategy.patterns import Pattern, PatternParams, detect, flags, from_flags

Row = tuple[float, float, float, float]  # open, high, low, close


def rising() -> list[Row]:
    return [(10 + 0.5 * i, 10.75 + 0.5 * i, 9.75 + 0.5 * i, 10.5 + 0.5 * i) for i in range(12)]


def falling() -> list[Row]:
    return [(20 - 0.5 * i, 20.25 - 0.5 * i, 19.25 - 0.5 * i, 19.5 - 0.5 * i) for i in range(12)]


def found(rows: list[Row], **params: float) -> set[Pattern]:
    o, h, low, c = (np.array([[row[k] for row in rows]]) for k in range(4))
    hits = detect(o, h, low, c, PatternParams(**params))  # type: ignore[arg-type]
    return {pattern for pattern, hit in hits.items() if hit[0]}


# Each pattern as (open, high, low, close) rows after its trend.
DARK_CLOUD = [(16.0, 17.25, 15.75, 17.0), (17.5, 17.5, 16.0, 16.25)]
TWO_CROWS = [(16.0, 17.25, 15.75, 17.0), (17.75, 18.0, 17.25, 17.5), (18.0, 18.25, 17.0, 17.25)]
SOLDIERS = [(14.0, 14.8125, 13.875, 14.75), (14.5, 15.3125, 14.375, 15.25),
            (15.0, 15.8125, 14.875, 15.75)]  # fmt: skip
HAMMER = [(14.0, 14.5625, 13.0, 14.5)]
DESCENT = [(14.0, 14.125, 12.875, 13.0), (13.125, 13.25, 12.125, 12.5),
           (12.5, 12.625, 12.0, 12.25)]  # fmt: skip


def test_dark_cloud_cover() -> None:
    assert found(rising() + DARK_CLOUD) == {Pattern.DARK_CLOUD_COVER}
    # bar 2 must close below bar 1's midpoint (17.0 - 0.5 x 1.0 = 16.5), strictly
    at_midpoint = [DARK_CLOUD[0], (17.5, 17.5, 16.0, 16.5)]
    assert Pattern.DARK_CLOUD_COVER not in found(rising() + at_midpoint)
    assert Pattern.DARK_CLOUD_COVER in found(rising() + at_midpoint, penetration=0.4)
    # ... and above bar 1's open
    assert Pattern.DARK_CLOUD_COVER not in found(
        [*rising(), DARK_CLOUD[0], (17.5, 17.5, 15.5, 16.0)]
    )
    # ... and open above bar 1's high (17.25), not at it
    assert Pattern.DARK_CLOUD_COVER not in found(
        [*rising(), DARK_CLOUD[0], (17.25, 17.25, 16.0, 16.25)]
    )
    # only after a rise, unless the trend is ignored
    assert Pattern.DARK_CLOUD_COVER not in found(falling() + DARK_CLOUD)
    assert Pattern.DARK_CLOUD_COVER in found(falling() + DARK_CLOUD, trend_days=0)


def test_upside_gap_two_crows() -> None:
    assert found(rising() + TWO_CROWS) == {Pattern.UPSIDE_GAP_TWO_CROWS}
    closes_the_gap = [*TWO_CROWS[:2], (18.0, 18.25, 16.75, 17.0)]  # bar 3 closes at bar 1's close
    assert Pattern.UPSIDE_GAP_TWO_CROWS not in found(rising() + closes_the_gap)
    long_second = [TWO_CROWS[0], (18.25, 18.5, 17.25, 17.5), (18.5, 18.75, 17.0, 17.25)]
    assert Pattern.UPSIDE_GAP_TWO_CROWS not in found(rising() + long_second)  # body 0.75 > AB
    assert Pattern.UPSIDE_GAP_TWO_CROWS not in found(falling() + TWO_CROWS)


def test_three_white_soldiers() -> None:
    assert found(falling() + SOLDIERS) == {Pattern.THREE_WHITE_SOLDIERS}
    # an upper shadow of 0.125 is not "very short" (< 0.1 x AR = 0.1)
    shadowed = [*SOLDIERS[:2], (15.0, 15.875, 14.875, 15.75)]
    assert Pattern.THREE_WHITE_SOLDIERS not in found(falling() + shadowed)
    assert Pattern.THREE_WHITE_SOLDIERS in found(falling() + shadowed, very_short_shadow=0.2)
    # bar 2 opening above bar 1's close + 0.2 x AR (14.95) is not "near"
    gapped = [SOLDIERS[0], (15.0, 15.8125, 14.875, 15.75), (15.5, 16.3125, 15.375, 16.25)]
    assert Pattern.THREE_WHITE_SOLDIERS not in found(falling() + gapped)
    assert Pattern.THREE_WHITE_SOLDIERS not in found(rising() + SOLDIERS)


def test_hammer() -> None:
    assert found(falling() + HAMMER) == {Pattern.HAMMER}  # lower shadow exactly 2 x body
    shorter = [(14.0, 14.5625, 13.0625, 14.5)]  # lower shadow 0.9375 < 2 x 0.5
    assert Pattern.HAMMER not in found(falling() + shorter)
    assert Pattern.HAMMER in found(falling() + shorter, hammer_shadow_ratio=1.5)
    upper = [(14.0, 14.75, 13.0, 14.5)]  # upper shadow 0.25 is not < 0.1 x range (0.175)
    assert Pattern.HAMMER not in found(falling() + upper)
    assert Pattern.HAMMER not in found(rising() + HAMMER)  # the same shape up high: hanging man
    small = [(14.0, 14.28125, 13.5, 14.25)]  # range 0.78 below the average range 1.0
    assert Pattern.HAMMER not in found(falling() + small)


def test_descent_block() -> None:
    assert found(falling() + DESCENT) == {Pattern.DESCENT_BLOCK}  # shrinking bodies
    # lower shadows of bars 2 and 3 only equal to the average shadow, bar 3's not longer
    # than its body: the selling did not tire
    steady = [DESCENT[0], (13.125, 13.25, 12.25, 12.5), DESCENT[2]]
    assert Pattern.DESCENT_BLOCK not in found(falling() + steady)
    # bodies not shrinking (bar 2's is longer than bar 1's), but bar 3 is smaller than bar 2
    # and rejected the lows: its lower shadow (0.375) is longer than its body (0.25)
    rejected = [DESCENT[0], (13.125, 13.25, 11.875, 12.0), (12.0, 12.125, 11.375, 11.75)]
    assert Pattern.DESCENT_BLOCK in found(falling() + rejected)
    equal = [*rejected[:2], (12.0, 12.125, 11.5, 11.75)]  # lower shadow = body: not longer
    assert Pattern.DESCENT_BLOCK not in found(falling() + equal)
    assert Pattern.DESCENT_BLOCK not in found(rising() + DESCENT)


def test_too_little_history_matches_nothing() -> None:
    rows = falling()[-5:] + HAMMER  # no ten bars to average
    padded = [(np.nan, np.nan, np.nan, np.nan)] * 8 + rows
    assert found(padded) == set()
    with pytest.raises(ValueError):
        found(rows)  # narrower than the window


def test_flags_round_trip() -> None:
    o, h, low, c = (np.array([[row[k] for row in falling() + HAMMER]]) for k in range(4))
    bits = flags(detect(o, h, low, c))
    assert from_flags(int(bits[0])) == [Pattern.HAMMER]
    assert Pattern.HAMMER.zh == "锤子线" and Pattern.HAMMER.bullish and Pattern.HAMMER.bars == 1
    assert not Pattern.DARK_CLOUD_COVER.bullish


# -- real daily bars -------------------------------------------------------------------------

HZJSW = Path("data/daily/hzjsw_stock-backtest/data")
REAL = [
    # 宁德时代: 05-19 white 366.50->375.05; 05-20 black 377.80->377.74 above it; 05-21 opens
    # 382.77 above that, closes 375.57: below 377.74, above 375.05
    (Pattern.UPSIDE_GAP_TWO_CROWS, "tech_300750.csv", date(2021, 5, 21)),
    # 平安银行: 05-20 white 23.41->23.82 (high 23.84); 05-21 opens 23.88, closes 23.49
    (Pattern.DARK_CLOUD_COVER, "bank_000001.csv", date(2021, 5, 21)),
    # 工商银行: 03-29 5.37->5.46, 03-30 5.46->5.48, 03-31 5.47->5.54, upper shadows <= 0.01
    (Pattern.THREE_WHITE_SOLDIERS, "bank_601398.csv", date(2021, 3, 31)),
    # 平安银行 after a slide from 15.15: open 14.74 high 14.78 low 14.27 close 14.60
    (Pattern.HAMMER, "bank_000001.csv", date(2023, 2, 2)),
    # 平安银行: 05-23 12.38->12.21, 05-24 12.20->12.01, 05-25 11.99->11.93 with low 11.81
    (Pattern.DESCENT_BLOCK, "bank_000001.csv", date(2023, 5, 25)),
]


@pytest.mark.parametrize(("pattern", "name", "day"), REAL, ids=[r[0].value for r in REAL])
def test_real_daily_bars(shared_dir: Path, pattern: Pattern, name: str, day: date) -> None:
    daily = read_daily(shared_dir / HZJSW / name).bars
    rows = np.array([[float(b.open), float(b.high), float(b.low), float(b.close)] for b in daily])
    window = PatternParams().window
    starts = np.arange(len(rows) - window + 1)[:, None] + np.arange(window)[None, :]
    hits = detect(rows[starts, 0], rows[starts, 1], rows[starts, 2], rows[starts, 3])[pattern]
    days = {daily[i + window - 1].end.date() for i in np.flatnonzero(hits)}
    assert day in days
    before = [b.end.date() for b in daily if b.end.date() < day][-1]
    assert before not in days  # it is that day's bar that completes it
    assert len(days) < len(daily) / 10  # a pattern, not a property of every day
