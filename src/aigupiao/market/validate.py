"""The gate every quote passes before the cloud keeps it, stores it or passes it on.

:class:`QuoteValidator` refuses a quote that would mislead a strategy, the risk gate
or the bar aggregator. The rules, in the order they are checked:

* ``not_a_security``: the code is an index (``Board.INDEX``) or cannot be parsed
  (pushers). Indexes are not traded and must not reach the agent.
* ``naive_time`` / ``stale`` / ``future``: ``ts`` has no time zone, is more than
  ``max_age`` seconds older than the clock, or more than ``max_lead`` seconds ahead of
  it. "The clock" is the market clock of the process (the simulated trading-day clock
  in the embedded mode), so simulated and replayed quotes are judged on their own time.
* ``negative_volume``: volume or amount below zero.
* ``out_of_range``: a number beyond what the market can hold and the database can store
  (:mod:`aigupiao.domain.ranges`): a price above 100,000, a volume above 10**12 shares,
  an amount above 10**13 CNY. Checked before the volume rule, so such a quote never
  becomes the volume the next ones are compared with.
* ``no_trade_yet``: ``last`` is 0. Sina and Tencent send 0.000 before a symbol's first
  trade of the day. Such a quote carries no price a strategy could use (its change
  from the previous close would read -100%), so it is refused, counted and never
  passed on; the symbol appears with its first trade.
* ``non_positive_price``: a price that must be positive is not: ``last``,
  ``previous_close``; ``open``/``high``/``low`` once the symbol has traded (volume > 0;
  before that they may be 0, meaning "not set"); any non-zero book level; ``limit_up``
  and ``limit_down`` when given. No price may be negative. An empty book level
  (price 0 and volume 0) is tolerated.
* ``high_below_low``: ``high < low`` when both are set (> 0).
* ``last_outside_range``: ``last`` outside ``[low, high]`` when both are set.
* ``volume_backwards``: the cumulative volume of a symbol is below the last accepted
  one of the same trading day, whichever source sent either (a lagging second source
  must not move the latest quote or a bar backwards). A new day starts from zero; a
  quote of an older day than the last accepted one is ``stale``. Only a quote that
  passed every other rule moves that volume.

Every refusal is counted by ``(source, reason)`` and logged once per pair (then
summarised, see :class:`~aigupiao.core.logging.QuietLog`) with the source and the code.
Pushers' records that are not quotes at all are counted here too
(:meth:`QuoteValidator.refuse`, reason ``malformed``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from aigupiao.core.clock import Clock
from aigupiao.core.logging import QuietLog
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.ranges import MAX_MONEY, MAX_PRICE, MAX_SHARES
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Board

log = logging.getLogger(__name__)

MAX_LEAD = 60.0  # seconds a quote may be ahead of the clock (clock skew between machines)


class Reason(StrEnum):
    NOT_A_SECURITY = "not_a_security"
    NAIVE_TIME = "naive_time"
    STALE = "stale"
    FUTURE = "future"
    NEGATIVE_VOLUME = "negative_volume"
    OUT_OF_RANGE = "out_of_range"
    NO_TRADE_YET = "no_trade_yet"
    NON_POSITIVE_PRICE = "non_positive_price"
    HIGH_BELOW_LOW = "high_below_low"
    LAST_OUTSIDE_RANGE = "last_outside_range"
    VOLUME_BACKWARDS = "volume_backwards"
    MALFORMED = "malformed"


# What each reason means, for answers to pushers (Chinese, English).
REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.NOT_A_SECURITY: (
        "不是可交易的证券（指数或无法识别的代码）",
        "not a security (an index or an unknown code)",
    ),
    Reason.NAIVE_TIME: ("时间没有时区", "timestamp without a time zone"),
    Reason.STALE: ("行情过期", "stale quote"),
    Reason.FUTURE: ("行情时间在未来", "quote time is in the future"),
    Reason.NEGATIVE_VOLUME: ("成交量或成交额为负", "negative volume or amount"),
    Reason.OUT_OF_RANGE: ("数值超出范围", "a number is out of range"),
    Reason.NO_TRADE_YET: ("今日尚未成交（最新价为 0）", "no trade yet today (last is 0)"),
    Reason.NON_POSITIVE_PRICE: ("价格必须为正", "a price that must be positive is not"),
    Reason.HIGH_BELOW_LOW: ("最高价低于最低价", "high below low"),
    Reason.LAST_OUTSIDE_RANGE: ("最新价不在最低价与最高价之间", "last outside [low, high]"),
    Reason.VOLUME_BACKWARDS: ("累计成交量倒退", "cumulative volume went backwards"),
    Reason.MALFORMED: ("不是有效的行情记录", "not a valid quote record"),
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one quote (or record) was refused. ``detail`` names the values involved."""

    code: str
    reason: Reason
    detail: str = ""

    @property
    def message(self) -> str:
        text = REASON_TEXT[self.reason][0]
        return f"{text}：{self.detail}" if self.detail else text

    @property
    def message_en(self) -> str:
        text = REASON_TEXT[self.reason][1]
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(slots=True)
class Screened:
    """The outcome of one batch: the accepted quotes in order, and the refused ones
    with their index in the batch."""

    accepted: list[Quote] = field(default_factory=list)
    refused: list[tuple[int, Refusal]] = field(default_factory=list)


class QuoteValidator:
    """Screens batches of quotes; keeps the per-symbol volume state and the counters.

    Args:
        clock: the market clock quotes are judged against.
        max_age: seconds; an older quote is stale (``market.max_quote_age``).
        max_lead: seconds a quote may be ahead of the clock.
        logger: where refusals are logged (once per source and reason).

    Not thread-safe: call it from the event loop, like ``MarketService.publish``.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        max_age: float,
        max_lead: float = MAX_LEAD,
        logger: logging.Logger | None = None,
    ) -> None:
        if max_age <= 0 or max_lead < 0:
            raise ValueError("max_age must be positive and max_lead not negative")
        self._clock = clock
        self._max_age = timedelta(seconds=max_age)
        self._max_lead = timedelta(seconds=max_lead)
        self._quiet = QuietLog(logger or log)
        # symbol -> (day, volume, bids, asks) of the last accepted quote
        self._seen: dict[str, tuple[date, int, tuple[Level, ...], tuple[Level, ...]]] = {}
        self.accepted: Counter[str] = Counter()
        self.refused: Counter[tuple[str, Reason]] = Counter()

    def screen(self, quotes: Sequence[Quote], source: str) -> Screened:
        """Check each quote of a batch in order; count and log the refusals."""
        now = self._clock.now().astimezone(BEIJING)
        oldest, newest = now - self._max_age, now + self._max_lead
        result = Screened()
        for index, quote in enumerate(quotes):
            refusal = self._check(quote, oldest, newest)
            if refusal is None:
                result.accepted.append(quote)
            else:
                self.refuse(source, refusal)
                result.refused.append((index, refusal))
        if result.accepted:
            self.accepted[source] += len(result.accepted)
        return result

    def refuse(self, source: str, refusal: Refusal) -> None:
        """Count and log a refusal (also for records that never became a Quote)."""
        self.refused[source, refusal.reason] += 1
        self._quiet.warning(
            f"{source}/{refusal.reason.value}",
            "refused quote from %s: %s %s (%s)",
            source,
            refusal.reason.value,
            refusal.code,
            refusal.detail,
        )

    def counters(self) -> dict[str, object]:
        """``{"accepted": {source: n}, "refused": {source: {reason: n}}, "refused_total": n}``."""
        refused: dict[str, dict[str, int]] = {}
        for (source, reason), count in sorted(self.refused.items()):
            refused.setdefault(source, {})[reason.value] = count
        return {
            "accepted": dict(sorted(self.accepted.items())),
            "refused": refused,
            "refused_total": sum(self.refused.values()),
        }

    def _check(self, quote: Quote, oldest: datetime, newest: datetime) -> Refusal | None:
        symbol = quote.symbol
        code = symbol.full
        if symbol.board is Board.INDEX:
            return Refusal(code, Reason.NOT_A_SECURITY, "index")
        ts = quote.ts
        # Feeds give Beijing time; comparing datetimes of the same zone skips the offsets.
        beijing = ts.tzinfo is BEIJING
        if not beijing and (ts.tzinfo is None or ts.utcoffset() is None):
            return Refusal(code, Reason.NAIVE_TIME, ts.isoformat())
        if ts < oldest:
            return Refusal(code, Reason.STALE, f"ts {ts.isoformat()} before {oldest.isoformat()}")
        if ts > newest:
            return Refusal(code, Reason.FUTURE, f"ts {ts.isoformat()} after {newest.isoformat()}")
        volume = quote.volume
        if volume < 0 or quote.amount < _ZERO:
            detail = f"volume {volume} amount {quote.amount}"
            return Refusal(code, Reason.NEGATIVE_VOLUME, detail)
        seen = self._seen.get(code)
        refusal = _check_ranges(code, quote) or _check_prices(code, quote)
        if refusal is None:
            # A side of the book that is the very tuple already accepted for the code
            # (feeds reuse an unchanged side) was checked then.
            bids, asks = quote.bids, quote.asks
            if seen is None or bids is not seen[2]:
                refusal = _check_levels(code, "bid", bids)
            if refusal is None and (seen is None or asks is not seen[3]):
                refusal = _check_levels(code, "ask", asks)
        if refusal is not None:
            return refusal
        day = ts.date() if beijing else ts.astimezone(BEIJING).date()
        if seen is not None:
            seen_day, seen_volume = seen[0], seen[1]
            if day < seen_day:
                return Refusal(code, Reason.STALE, f"day {day} after {seen_day} was seen")
            if day == seen_day and volume < seen_volume:
                return Refusal(
                    code, Reason.VOLUME_BACKWARDS, f"volume {volume} after {seen_volume}"
                )
        self._seen[code] = (day, volume, quote.bids, quote.asks)
        return None


_ZERO = Decimal(0)


def _check_ranges(code: str, quote: Quote) -> Refusal | None:
    if quote.volume > MAX_SHARES:
        return Refusal(code, Reason.OUT_OF_RANGE, f"volume above {MAX_SHARES:.0e}")
    if quote.amount > MAX_MONEY:
        return Refusal(code, Reason.OUT_OF_RANGE, f"amount above {MAX_MONEY:.0e}")
    if (
        quote.last > MAX_PRICE
        or quote.high > MAX_PRICE
        or quote.previous_close > MAX_PRICE
        or quote.open > MAX_PRICE
        or quote.low > MAX_PRICE
    ):
        return Refusal(code, Reason.OUT_OF_RANGE, _prices_detail(quote))
    for limit in (quote.limit_up, quote.limit_down):
        if limit is not None and limit > MAX_PRICE:
            return Refusal(code, Reason.OUT_OF_RANGE, _prices_detail(quote))
    return None


def _prices_detail(quote: Quote) -> str:
    prices = (
        ("last", quote.last), ("previous_close", quote.previous_close), ("open", quote.open),
        ("high", quote.high), ("low", quote.low), ("limit_up", quote.limit_up),
        ("limit_down", quote.limit_down),
    )  # fmt: skip
    named = (f"{name} {price:.6g}" for name, price in prices if price is not None)
    return f"{', '.join(named)}; max {MAX_PRICE}"


def _check_prices(code: str, quote: Quote) -> Refusal | None:
    last, high, low = quote.last, quote.high, quote.low
    if not last:
        return Refusal(code, Reason.NO_TRADE_YET)
    previous_close = quote.previous_close
    if quote.volume > 0:  # traded: open, high and low are set
        fast = last > _ZERO and previous_close > _ZERO and quote.open > _ZERO
        if fast and high > _ZERO and low > _ZERO and low <= last <= high:
            limit_up, limit_down = quote.limit_up, quote.limit_down
            if (limit_up is None or limit_up > _ZERO) and (
                limit_down is None or limit_down > _ZERO
            ):
                return None  # the usual quote, in a dozen comparisons
    traded = quote.volume > 0
    named = (
        ("last", last, True),
        ("previous_close", previous_close, True),
        ("open", quote.open, traded),
        ("high", high, traded),
        ("low", low, traded),
    )
    for name, price, must_be_positive in named:
        if price < _ZERO or (must_be_positive and not price):
            return Refusal(code, Reason.NON_POSITIVE_PRICE, f"{name} {price}")
    for name, limit in (("limit_up", quote.limit_up), ("limit_down", quote.limit_down)):
        if limit is not None and limit <= _ZERO:
            return Refusal(code, Reason.NON_POSITIVE_PRICE, f"{name} {limit}")
    if high > _ZERO and low > _ZERO:
        if high < low:
            return Refusal(code, Reason.HIGH_BELOW_LOW, f"high {high} low {low}")
        if not low <= last <= high:
            return Refusal(code, Reason.LAST_OUTSIDE_RANGE, f"last {last} not in [{low}, {high}]")
    return None


def _check_levels(code: str, side: str, levels: tuple[Level, ...]) -> Refusal | None:
    for level in levels:
        volume, price = level.volume, level.price
        if volume > MAX_SHARES or price > MAX_PRICE:
            detail = f"{side}: price above {MAX_PRICE} or volume above {MAX_SHARES:.0e}"
            return Refusal(code, Reason.OUT_OF_RANGE, detail)
        if volume > 0 and price > _ZERO:
            continue  # the usual level
        if volume < 0:
            return Refusal(code, Reason.NEGATIVE_VOLUME, f"{side} volume {volume}")
        if price < _ZERO or (not price and volume > 0):
            return Refusal(code, Reason.NON_POSITIVE_PRICE, f"{side} {price}")
    return None


__all__ = ["MAX_LEAD", "REASON_TEXT", "QuoteValidator", "Reason", "Refusal", "Screened"]
