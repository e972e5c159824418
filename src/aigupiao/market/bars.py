"""1-minute bars from Level-1 snapshots (pure: no I/O, no clock of its own).

Snapshots carry the day's cumulative volume and amount, so a bar's volume is the
difference between the last snapshot before it and the last one in it. Bars are
labelled by their end time (Beijing) and follow the exchange sessions:

* ``09:31`` is the first bar. It holds everything up to 09:31: the opening call
  auction's match (09:25) and the first minute of continuous trading. Its open is the
  day's open.
* ``09:32`` ... ``11:30``: a snapshot taken at ``hh:mm:ss`` belongs to the bar ending
  at ``hh:mm+1``. The last morning bar (11:30) covers [11:29, 11:30] *including* the
  11:30:00 print, and snapshots taken during the lunch break (late prints of the
  morning) go into it too. There are no bars in the lunch break.
* ``13:01`` ... ``15:00``: the same; the 15:00 bar covers [14:59, 15:00] and every
  later snapshot of the day, so the closing call auction's print at 15:00 (and the
  after-hours fixed-price trades of STAR/ChiNext) land in it.

That is 240 bars a trading day. Snapshots before 09:15 are ignored.

A bar's close is the last traded price in it; its high and low are the traded prices
seen, widened by any new day high or low a snapshot reports (a trade at that price
happened between the two snapshots). A snapshot whose cumulative volume did not grow
carries no trade and does not move the bar.

**Minutes without trades** (decided): once a symbol has traded today, a minute of a
trading session without any trade is a bar with zero volume whose open, high, low and
close repeat the last close. Before a symbol's first trade of the day no bars are made
(a suspended stock has none), and never outside the sessions.

**Emission.** :meth:`MinuteBarAggregator.on_quote` returns the bars a snapshot closes
(a snapshot of a later minute closes the earlier ones, filling silent minutes);
:meth:`MinuteBarAggregator.close_due` closes every bar whose end is ``grace`` seconds
past, so quiet symbols get their bars too. A snapshot that arrives for a bar already
emitted (a late print, a lunch-break snapshot for 11:30, the closing print for 15:00)
amends it, and the amended bar is emitted again with the same end: store bars with an
upsert on ``(symbol, freq, end)``.

**Joining late.** The first snapshot of a symbol after 09:31 carries the whole day's
volume so far, which belongs to no single minute: if it is not zero, that minute's bar is
not emitted and bars start with the next minute.

**Day change.** The first snapshot of a new day closes the previous day (its remaining
session minutes become flat bars up to 15:00) and starts from zero volume.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.sessions import BEIJING, is_trading_day
from aigupiao.domain.symbols import Symbol

FREQ = "1m"
AUCTION_START = time(9, 15)
FIRST_END = time(9, 31)
MORNING_END = time(11, 30)
AFTERNOON_FIRST_END = time(13, 1)
LAST_END = time(15, 0)
_MINUTE = timedelta(minutes=1)
_ZERO = Decimal(0)
_END_CACHE = 4096  # distinct snapshot times remembered (a day has 14,400 seconds of trading)


def bar_end(moment: datetime) -> datetime | None:
    """The end (label) of the 1-minute bar a snapshot taken at ``moment`` belongs to.

    None before 09:15 and on days that are not trading days. Naive times are Beijing time.
    """
    local = moment.astimezone(BEIJING) if moment.tzinfo else moment.replace(tzinfo=BEIJING)
    clock = local.time()
    if clock < AUCTION_START or not is_trading_day(local.date()):
        return None
    if clock < FIRST_END:
        end = FIRST_END
    elif clock < time(11, 29):
        end = _next_minute(clock)
    elif clock < time(13, 0):
        end = MORNING_END
    elif clock < time(14, 59):
        end = _next_minute(clock)
    else:
        end = LAST_END
    return datetime.combine(local.date(), end, BEIJING)


def next_bar_end(end: datetime) -> datetime | None:
    """The label after ``end`` on the same day (11:30 -> 13:01); None after 15:00."""
    clock = end.timetz().replace(tzinfo=None)
    if clock >= LAST_END:
        return None
    if clock == MORNING_END:
        return datetime.combine(end.date(), AFTERNOON_FIRST_END, end.tzinfo)
    return end + _MINUTE


def day_bar_ends(day: date) -> list[datetime]:
    """The 240 labels of a trading day, 09:31 ... 11:30, 13:01 ... 15:00."""
    ends: list[datetime] = []
    end: datetime | None = datetime.combine(day, FIRST_END, BEIJING)
    while end is not None:
        ends.append(end)
        end = next_bar_end(end)
    return ends


def _next_minute(clock: time) -> time:
    minutes = clock.hour * 60 + clock.minute + 1
    return time(minutes // 60, minutes % 60)


@dataclass(slots=True)
class _Building:
    """The bar being built for one symbol."""

    end: datetime
    flat: Decimal | None  # the last close before this bar: its price if nothing trades
    open: Decimal = _ZERO
    high: Decimal = _ZERO
    low: Decimal = _ZERO
    close: Decimal = _ZERO
    volume: int = 0
    amount: Decimal = _ZERO
    traded: bool = False
    partial: bool = False  # joined late: the volume of this minute is unknown
    emitted: bool = False
    dirty: bool = False  # changed after it was emitted

    def emittable(self) -> bool:
        return not self.partial and (self.traded or self.flat is not None)

    def trade(self, open_: Decimal, price: Decimal, high: Decimal, low: Decimal) -> None:
        if not self.traded:
            self.open, self.high, self.low = open_, max(open_, price), min(open_, price)
            self.traded = True
        self.high = max(self.high, price, high)
        self.low = min(self.low, price, low)
        self.close = price
        if self.emitted:
            self.dirty = True

    def to_bar(self, symbol: Symbol) -> Bar:
        if self.traded:
            prices = (self.open, self.high, self.low, self.close)
        else:
            assert self.flat is not None
            prices = (self.flat,) * 4
        return Bar(symbol, FREQ, self.end, *prices, volume=self.volume, amount=self.amount)


@dataclass(slots=True)
class _Series:
    """One symbol's state for one trading day."""

    symbol: Symbol
    day: date
    volume: int = 0  # cumulative volume and amount of the last snapshot used
    amount: Decimal = _ZERO
    day_high: Decimal = _ZERO  # the day high / low reported by that snapshot (0: not yet)
    day_low: Decimal = _ZERO
    last_close: Decimal | None = None  # the last traded price (None: no trade yet today)
    bar: _Building | None = None


class MinuteBarAggregator:
    """Turns snapshots into closed 1-minute :class:`Bar` objects (``freq="1m"``).

    Args:
        grace: seconds after a bar's end before :meth:`close_due` emits it, so that
            snapshots taken just before the end and delivered late still count.

    Feed it every accepted quote (cumulative volume never going backwards within a
    day, as :class:`~aigupiao.market.validate.QuoteValidator` guarantees).
    """

    def __init__(self, *, grace: float = 3.0) -> None:
        if grace < 0:
            raise ValueError("grace must not be negative")
        self._grace = timedelta(seconds=grace)
        self._series: dict[str, _Series] = {}
        # Snapshot time -> bar end. A feed's quotes share a few time objects per round,
        # and an aware datetime keeps its hash, so this saves bar_end's calendar work.
        self._ends: dict[datetime, datetime | None] = {}

    @property
    def symbols(self) -> int:
        """How many symbols have a bar in progress or a day started."""
        return len(self._series)

    def on_quotes(self, quotes: Iterable[Quote]) -> list[Bar]:
        closed: list[Bar] = []
        for quote in quotes:
            self._add(quote, closed)
        return closed

    def on_quote(self, quote: Quote) -> list[Bar]:
        """Take one snapshot; returns the bars it closes (oldest first)."""
        closed: list[Bar] = []
        self._add(quote, closed)
        return closed

    def close_due(self, now: datetime) -> list[Bar]:
        """Emit every bar whose end is at least ``grace`` before ``now`` (and amended ones),
        filling minutes without trades; bars of earlier days are closed through 15:00."""
        closed: list[Bar] = []
        local = now.astimezone(BEIJING)
        due_today = bar_end(local - self._grace)
        if due_today is not None and due_today > local - self._grace:
            # The bar ``now - grace`` falls in has not ended yet: the one before it is due.
            due_today = _previous_end(due_today)
        finished: list[str] = []
        for code, series in self._series.items():
            if series.day < local.date():
                self._close_through(series, datetime.combine(series.day, LAST_END, BEIJING), closed)
                finished.append(code)  # its day is over: nothing can amend it any more
            elif series.day == local.date() and due_today is not None:
                self._close_through(series, due_today, closed, keep_last=True)
        for code in finished:
            del self._series[code]
        return closed

    # -- internals ------------------------------------------------------------------

    def _add(self, quote: Quote, closed: list[Bar]) -> None:
        ends = self._ends
        ts = quote.ts
        if ts in ends:
            end = ends[ts]
        else:
            if len(ends) >= _END_CACHE:
                ends.clear()
            end = ends[ts] = bar_end(ts)
        if end is None:
            return
        code = quote.symbol.full
        series = self._series.get(code)
        day = end.date()
        if series is not None and day < series.day:
            return  # an older day's snapshot after the new day began
        if series is None or day > series.day:
            if series is not None:
                self._close_through(series, datetime.combine(series.day, LAST_END, BEIJING), closed)
            series = self._series[code] = _Series(quote.symbol, day)
            if end.time() != FIRST_END:
                self._join_late(series, quote, end)
                return
        volume_delta = quote.volume - series.volume
        if volume_delta < 0:
            return  # never happens after the validator; never let a bar go negative
        bar = series.bar
        if bar is None or end > bar.end:
            if bar is not None:
                self._close_through(series, end - _MINUTE, closed, keep_last=False)
            bar = series.bar = _Building(end, series.last_close)
        if volume_delta > 0:
            first_trade = series.last_close is None
            price = quote.last
            opening = quote.open if first_trade and quote.open > 0 else price
            high = quote.high if quote.high > series.day_high else price
            new_low = 0 < quote.low and (series.day_low == 0 or quote.low < series.day_low)
            low = quote.low if new_low else price
            bar.trade(opening, price, high, low)
            bar.volume += volume_delta
            bar.amount += max(_ZERO, quote.amount - series.amount)
            series.last_close = price
        self._remember(series, quote)

    def _join_late(self, series: _Series, quote: Quote, end: datetime) -> None:
        # With volume traded before this snapshot, this minute's share of it is unknown.
        # Without, nothing is unknown: the minute is built like any other.
        series.bar = _Building(end, None, partial=quote.volume > 0)
        if quote.volume > 0:
            series.last_close = quote.last
        self._remember(series, quote)

    @staticmethod
    def _remember(series: _Series, quote: Quote) -> None:
        series.volume, series.amount = quote.volume, quote.amount
        if quote.volume == 0:
            return  # auction quotes carry indicative prices, not the day's range
        if quote.high > series.day_high:
            series.day_high = quote.high
        if quote.low > 0 and (series.day_low == 0 or quote.low < series.day_low):
            series.day_low = quote.low

    def _close_through(
        self, series: _Series, through: datetime, closed: list[Bar], *, keep_last: bool = False
    ) -> None:
        """Emit the current bar and flat bars for silent minutes, up to ``through``.

        With ``keep_last`` the last bar walked stays current (late snapshots may still
        amend it); otherwise the caller replaces it.
        """
        bar = series.bar
        if bar is None or bar.end > through:
            return
        while True:
            if bar.emittable() and (not bar.emitted or bar.dirty):
                closed.append(bar.to_bar(series.symbol))
                bar.emitted, bar.dirty = True, False
            following = next_bar_end(bar.end)
            if following is None or following > through:
                break
            if series.last_close is None:
                # Nothing traded yet today: silent minutes make no bars.
                bar = _Building(through, None)
                break
            bar = _Building(following, series.last_close)
        if keep_last:
            series.bar = bar


def _previous_end(end: datetime) -> datetime | None:
    clock = end.timetz().replace(tzinfo=None)
    if clock <= FIRST_END:
        return None
    if clock == AFTERNOON_FIRST_END:
        return datetime.combine(end.date(), MORNING_END, end.tzinfo)
    return end - _MINUTE


__all__ = [
    "FREQ",
    "MinuteBarAggregator",
    "bar_end",
    "day_bar_ends",
    "next_bar_end",
]
