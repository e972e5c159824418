"""Candlestick patterns over completed daily bars (日K线形态).

Each pattern is defined precisely below, after Steve Nison (*Japanese Candlestick
Charting Techniques*, 2nd ed.) and TA-Lib's pattern functions (``CDLUPSIDEGAP2CROWS``,
``CDLDARKCLOUDCOVER``, ``CDL3WHITESOLDIERS``, ``CDLHAMMER``, ``CDLADVANCEBLOCK``),
whose default candle settings give the thresholds: a body is *long* when it is longer
than the average body, *short* when not longer; a shadow is *very short* below 10% of
the average range (high - low); an open is *near* a price within 20% of the average
range; a body is *far* shorter when shorter by 60% of the average range. The
averages (``AB`` average body, ``AR`` average range, ``AS`` average shadow, the mean
of the upper and lower shadows) are taken over the ``average_bars`` (10) bars before
the pattern's first bar, as TA-Lib compares a candle with the candles before it.
"White" (阳线) means close > open, "black" (阴线) close < open.

The trend before a pattern is the change of the close over ``trend_days`` (5) bars
ending at the bar before the pattern: reversal patterns need the trend they reverse
(TA-Lib leaves that to the user; Nison insists on it). ``trend_days=0`` ignores it.

* **双飞乌鸦 upside gap two crows** (bearish, 3 bars; TA-Lib ``CDLUPSIDEGAP2CROWS``):
  after a rise; bar 1 long white; bar 2 black with a short body whose body gaps up
  over bar 1's (its close above bar 1's close); bar 3 black, opens above bar 2's open
  and closes below bar 2's close (its body engulfs bar 2's) but still above bar 1's
  close (the gap stays open).
* **乌云盖顶 dark cloud cover** (bearish, 2 bars; TA-Lib ``CDLDARKCLOUDCOVER``,
  penetration 0.5): after a rise; bar 1 long white; bar 2 black, opens above bar 1's
  high and closes inside bar 1's body, below its midpoint (close < close1 - 0.5 x
  body1) and above its open.
* **红三兵 three white soldiers** (bullish, 3 bars; TA-Lib ``CDL3WHITESOLDIERS``):
  after a fall; three white bars with higher closes; each opens inside or near the
  previous body (open1 < open2 <= close1 + 0.2 AR, the same for bar 3); each upper
  shadow very short (< 0.1 AR); bars 2 and 3 not far shorter than the bar before
  (body > previous body - 0.6 AR); bar 3's body not short (> AB).
* **锤子线 hammer** (bullish, 1 bar; Nison's three rules, TA-Lib ``CDLHAMMER``): after a
  fall; the lower shadow at least twice the body (``hammer_shadow_ratio``); no or a
  very short upper shadow (< 0.1 x the bar's range); the body small (<= AB); the range
  at least the average range (a long shadow in this stock's terms). Colour does not
  matter.
* **下降受阻 descent block** (bullish, 3 bars): the falling mirror of Nison's *advance
  block* (前进受阻, TA-Lib ``CDLADVANCEBLOCK``): after a fall; three black bars with lower
  closes; each opens inside or near the previous body (close1 - 0.2 AR <= open2 <
  open1, the same for bar 3); bar 1 long (> AB) with a short lower shadow (< AS); then
  the selling tires: either the bodies shrink (body3 < body2 < body1) with a lower
  shadow longer than AS on bar 2 or 3, or bar 3's body is smaller than bar 2's and its
  lower shadow is longer than its body (buyers rejected the lows).

:func:`detect` works on whole markets at once: each argument is a 2-D array, one row
per symbol, one column per bar, oldest first, the latest completed bar last; missing
bars are ``nan`` and never match.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Pattern(StrEnum):
    UPSIDE_GAP_TWO_CROWS = "upside_gap_two_crows"
    DARK_CLOUD_COVER = "dark_cloud_cover"
    THREE_WHITE_SOLDIERS = "three_white_soldiers"
    HAMMER = "hammer"
    DESCENT_BLOCK = "descent_block"

    @property
    def zh(self) -> str:
        return _NAMES[self][0]

    @property
    def en(self) -> str:
        return _NAMES[self][1]

    @property
    def bullish(self) -> bool:
        return self in _BULLISH

    @property
    def bars(self) -> int:
        """How many bars the pattern spans."""
        return _BARS[self]

    @property
    def bit(self) -> int:
        return 1 << list(Pattern).index(self)


_NAMES = {
    Pattern.UPSIDE_GAP_TWO_CROWS: ("双飞乌鸦", "upside gap two crows"),
    Pattern.DARK_CLOUD_COVER: ("乌云盖顶", "dark cloud cover"),
    Pattern.THREE_WHITE_SOLDIERS: ("红三兵", "three white soldiers"),
    Pattern.HAMMER: ("锤子线", "hammer"),
    Pattern.DESCENT_BLOCK: ("下降受阻", "descent block"),
}
_BULLISH = frozenset({Pattern.THREE_WHITE_SOLDIERS, Pattern.HAMMER, Pattern.DESCENT_BLOCK})
_BARS = {
    Pattern.UPSIDE_GAP_TWO_CROWS: 3,
    Pattern.DARK_CLOUD_COVER: 2,
    Pattern.THREE_WHITE_SOLDIERS: 3,
    Pattern.HAMMER: 1,
    Pattern.DESCENT_BLOCK: 3,
}


@dataclass(frozen=True, slots=True)
class PatternParams:
    """Thresholds (the defaults are TA-Lib's candle settings, see the module docstring)."""

    average_bars: int = 10
    trend_days: int = 5
    near: float = 0.2  # of the average range
    far: float = 0.6  # of the average range
    very_short_shadow: float = 0.1  # of the average range (of the bar's own range: hammer)
    penetration: float = 0.5  # of bar 1's body (dark cloud cover)
    hammer_shadow_ratio: float = 2.0  # lower shadow / body

    @property
    def window(self) -> int:
        """Bars a detection needs: the longest pattern, its averages and its trend."""
        return 3 + max(self.average_bars, self.trend_days + 1)


class _Bars:
    """Columns of a window of bars counted from the end: ``o(1)`` is the latest open."""

    def __init__(self, o: FloatArray, h: FloatArray, low: FloatArray, c: FloatArray) -> None:
        self.open, self.high, self.low, self.close = o, h, low, c
        self.width = o.shape[1]

    def o(self, k: int) -> FloatArray:
        return self.open[:, self.width - k]

    def h(self, k: int) -> FloatArray:
        return self.high[:, self.width - k]

    def l(self, k: int) -> FloatArray:  # noqa: E743 - the usual candle letter
        return self.low[:, self.width - k]

    def c(self, k: int) -> FloatArray:
        return self.close[:, self.width - k]

    def body(self, k: int) -> FloatArray:
        return np.abs(self.c(k) - self.o(k))

    def upper(self, k: int) -> FloatArray:
        return self.h(k) - np.maximum(self.o(k), self.c(k))

    def lower(self, k: int) -> FloatArray:
        return np.minimum(self.o(k), self.c(k)) - self.l(k)

    def white(self, k: int) -> BoolArray:
        return self.c(k) > self.o(k)

    def black(self, k: int) -> BoolArray:
        return self.c(k) < self.o(k)

    def averages(self, span: int, bars: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(average body, average range, average shadow) of the ``bars`` bars before a
        pattern of ``span`` bars; nan when any of them is missing."""
        end = self.width - span
        o, h = self.open[:, end - bars : end], self.high[:, end - bars : end]
        low, c = self.low[:, end - bars : end], self.close[:, end - bars : end]
        body = np.abs(c - o)
        shadows = (h - np.maximum(o, c) + np.minimum(o, c) - low) / 2
        return body.mean(axis=1), (h - low).mean(axis=1), shadows.mean(axis=1)

    def trend(self, span: int, days: int) -> FloatArray:
        """Change of the close over ``days`` bars ending just before the pattern."""
        if days == 0:
            return np.zeros(self.open.shape[0])
        before = self.c(span + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            result: FloatArray = before / self.c(span + 1 + days) - 1.0
        return result


def detect(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    params: PatternParams = PatternParams(),
) -> dict[Pattern, BoolArray]:
    """Which patterns end on the last column, per row (see the module docstring)."""
    if open_.ndim != 2 or open_.shape[1] < params.window:
        raise ValueError(f"need 2-D arrays with at least {params.window} columns")
    b = _Bars(open_, high, low, close)
    p = params
    return {
        Pattern.UPSIDE_GAP_TWO_CROWS: _two_crows(b, p),
        Pattern.DARK_CLOUD_COVER: _dark_cloud(b, p),
        Pattern.THREE_WHITE_SOLDIERS: _soldiers(b, p),
        Pattern.HAMMER: _hammer(b, p),
        Pattern.DESCENT_BLOCK: _descent_block(b, p),
    }


def _rising(b: _Bars, span: int, p: PatternParams) -> BoolArray:
    return np.asarray(b.trend(span, p.trend_days) > 0) if p.trend_days else _all(b)


def _falling(b: _Bars, span: int, p: PatternParams) -> BoolArray:
    return np.asarray(b.trend(span, p.trend_days) < 0) if p.trend_days else _all(b)


def _all(b: _Bars) -> BoolArray:
    return np.ones(b.open.shape[0], dtype=bool)


def _two_crows(b: _Bars, p: PatternParams) -> BoolArray:
    avg_body, _, _ = b.averages(3, p.average_bars)
    first = b.white(3) & (b.body(3) > avg_body)
    second = b.black(2) & (b.body(2) <= avg_body) & (b.c(2) > b.c(3))  # body gaps up
    third = b.black(1) & (b.o(1) > b.o(2)) & (b.c(1) < b.c(2)) & (b.c(1) > b.c(3))
    return first & second & third & _rising(b, 3, p)


def _dark_cloud(b: _Bars, p: PatternParams) -> BoolArray:
    avg_body, _, _ = b.averages(2, p.average_bars)
    first = b.white(2) & (b.body(2) > avg_body)
    second = (
        b.black(1)
        & (b.o(1) > b.h(2))
        & (b.c(1) < b.c(2) - p.penetration * b.body(2))
        & (b.c(1) > b.o(2))
    )
    return first & second & _rising(b, 2, p)


def _soldiers(b: _Bars, p: PatternParams) -> BoolArray:
    avg_body, avg_range, _ = b.averages(3, p.average_bars)
    near, far, short_shadow = p.near * avg_range, p.far * avg_range, p.very_short_shadow * avg_range
    white = b.white(3) & b.white(2) & b.white(1)
    closes = (b.c(2) > b.c(3)) & (b.c(1) > b.c(2))
    opens = (
        (b.o(2) > b.o(3))
        & (b.o(2) <= b.c(3) + near)
        & (b.o(1) > b.o(2))
        & (b.o(1) <= b.c(2) + near)
    )
    shadows = (
        (b.upper(3) < short_shadow) & (b.upper(2) < short_shadow) & (b.upper(1) < short_shadow)
    )
    bodies = (b.body(2) > b.body(3) - far) & (b.body(1) > b.body(2) - far) & (b.body(1) > avg_body)
    return white & closes & opens & shadows & bodies & _falling(b, 3, p)


def _hammer(b: _Bars, p: PatternParams) -> BoolArray:
    avg_body, avg_range, _ = b.averages(1, p.average_bars)
    span = b.h(1) - b.l(1)
    body = b.body(1)
    shape = (
        (span > 0)
        & (b.lower(1) >= p.hammer_shadow_ratio * body)
        & (b.upper(1) < p.very_short_shadow * span)
        & (body <= avg_body)
        & (span >= avg_range)
    )
    return shape & _falling(b, 1, p)


def _descent_block(b: _Bars, p: PatternParams) -> BoolArray:
    avg_body, avg_range, avg_shadow = b.averages(3, p.average_bars)
    near = p.near * avg_range
    black = b.black(3) & b.black(2) & b.black(1)
    closes = (b.c(2) < b.c(3)) & (b.c(1) < b.c(2))
    opens = (
        (b.o(2) < b.o(3))
        & (b.o(2) >= b.c(3) - near)
        & (b.o(1) < b.o(2))
        & (b.o(1) >= b.c(2) - near)
    )
    first = (b.body(3) > avg_body) & (b.lower(3) < avg_shadow)
    shrinking = (
        (b.body(1) < b.body(2))
        & (b.body(2) < b.body(3))
        & ((b.lower(2) > avg_shadow) | (b.lower(1) > avg_shadow))
    )
    rejected = (b.body(1) < b.body(2)) & (b.lower(1) > b.body(1))
    return black & closes & opens & first & (shrinking | rejected) & _falling(b, 3, p)


def flags(found: dict[Pattern, BoolArray]) -> npt.NDArray[np.int64]:
    """The patterns found per row as a bit set (``Pattern.bit``)."""
    rows = next(iter(found.values())).shape[0]
    result = np.zeros(rows, dtype=np.int64)
    for pattern, hit in found.items():
        result |= np.where(hit, pattern.bit, 0)
    return result


def from_flags(value: int) -> list[Pattern]:
    return [pattern for pattern in Pattern if value & pattern.bit]
