"""What the HTTP polling feeds (``tencent``, ``sina``) share: the poll loop and the record rules.

A polling feed asks a free quote page for every code every ``interval`` seconds, in batches
(one URL names up to ``batch_size`` codes), a few requests at a time, and publishes the quotes
that changed since the previous round. The source-specific part is :meth:`HttpPollingFeed.
parse_body`, which turns one decoded answer into quotes and counted refusals.

How a record becomes a quote (both sources):

* **Suspended or delisted** (Sina status other than ``00``; Tencent price limits of ``-1``
  with no volume): nothing is published; counted as ``suspended``.
* **Nothing traded yet** (volume 0): if at least one bid or ask level is shown (the call
  auction, or a quiet fund with resting orders), the quote is published as *indicative*:
  ``last`` is the source's last price, or the previous close when the source says 0;
  ``open``/``high``/``low`` equal ``last``; volume and amount are 0. With an empty book too
  (before 09:15, or suspended without a flag) nothing is published; counted as ``no_trade``.
* **Names** are kept as the source spells them, inner spaces and full-width letters included
  (``万 科Ａ``, ``*ST 四环``): the universe file (akshare, from Sina) spells them the same way,
  and :func:`aigupiao.domain.symbols.is_st_name` ignores the spaces.
* **Empty book levels** (price or volume 0) are dropped; volumes become shares.
* **Unparseable records** are counted as ``malformed`` and logged once per kind
  (:class:`~aigupiao.core.logging.QuietLog`); an empty record (an unknown or delisted code)
  is counted as ``empty``.

Failed requests are counted in ``stats.refused`` too, by cause (``timeout``,
``connect_error``, ``transport_error``, ``http_403``, ``http_503``, ... and ``bad_body``: an
HTTP 200 whose body holds no record of the expected shape). A round with any failed request
is followed by a back-off (``stats.reconnects`` + 1) of at least ``interval`` seconds.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar

import httpx

from aigupiao.core.clock import Clock
from aigupiao.core.logging import QuietLog
from aigupiao.core.retry import Backoff
from aigupiao.domain.errors import InvalidSymbol
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, parse_symbol

from .base import FeedError, FeedStats, Publish

log = logging.getLogger(__name__)

POLITE_INTERVAL = 3.0  # seconds: polling a free page faster than this is rude and gets blocked
DEFAULT_CONCURRENCY = 4
USER_AGENT = "Mozilla/5.0 (compatible; aigupiao)"
_LOGGED_REASONS = frozenset({"malformed", "empty"})  # data problems; suspensions are routine
_SAMPLE_CHARS = 120

T = TypeVar("T")
RecordParser = Callable[[str, str], Quote]  # (code key, record text) -> Quote, or RecordError


class RequestFailed(Exception):
    """A request gave no usable answer; ``reason`` is the key counted in ``FeedStats.refused``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RecordError(ValueError):
    """One record cannot be published; ``reason`` is the key counted in ``FeedStats.refused``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class ParsedBody:
    """One answer, parsed: its quotes, its refused records by reason, one sample of each."""

    quotes: list[Quote] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    records: int = 0  # records of the expected shape, usable or not

    def refuse(self, reason: str, record: str, detail: str = "") -> None:
        self.refused[reason] += 1
        if reason not in self.samples:
            sample = record[:_SAMPLE_CHARS]
            self.samples[reason] = f"{detail}: {sample}" if detail else sample


def parse_records(matches: Iterable[tuple[str, str, str]], parse_one: RecordParser) -> ParsedBody:
    """Apply ``parse_one(key, fields_text)`` to each ``(whole, key, body)``; count what fails."""
    parsed = ParsedBody()
    for whole, key, body in matches:
        parsed.records += 1
        try:
            parsed.quotes.append(parse_one(key, body))
        except RecordError as exc:
            parsed.refuse(exc.reason, whole, str(exc))
        except (ValueError, ArithmeticError, IndexError, InvalidSymbol) as exc:
            parsed.refuse("malformed", whole, f"{type(exc).__name__}: {exc}")
    return parsed


# -- field helpers ---------------------------------------------------------------------------


def symbol_of(key: str) -> Symbol:
    """``sh600000`` -> Symbol; anything else (HK, US, a typo) is malformed."""
    try:
        return parse_symbol(key)
    except InvalidSymbol as exc:
        raise RecordError("malformed", f"not an A-share code: {key!r}") from exc


def price(text: str, what: str, *, allow_negative: bool = False) -> Decimal:
    """A non-negative decimal (``-1`` passes with ``allow_negative``, for Tencent's limits)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise RecordError("malformed", f"{what} is not a number: {text!r}") from exc
    if not value.is_finite() or (value < 0 and not allow_negative):
        raise RecordError("malformed", f"{what} out of range: {text!r}")
    return value


def whole(text: str, what: str) -> int:
    """A non-negative whole number (``123``, ``123.0``, ``0``)."""
    value = price(text, what)
    if value != value.to_integral_value():
        raise RecordError("malformed", f"{what} is not a whole number: {text!r}")
    return int(value)


def book(pairs: Iterable[tuple[Decimal, int]]) -> tuple[Level, ...]:
    """Levels in source order; an empty level (price or volume 0) is dropped."""
    return tuple(Level(p, v) for p, v in pairs if p > 0 and v > 0)


def beijing_time(text: str, fmt: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), fmt).replace(tzinfo=BEIJING)
    except ValueError as exc:
        raise RecordError("malformed", f"bad timestamp {text!r}") from exc


def settle(
    *,
    symbol: Symbol,
    name: str,
    ts: datetime,
    last: Decimal,
    previous_close: Decimal,
    open: Decimal,
    high: Decimal,
    low: Decimal,
    volume: int,
    amount: Decimal,
    bids: tuple[Level, ...],
    asks: tuple[Level, ...],
    limit_up: Decimal | None = None,
    limit_down: Decimal | None = None,
    no_limit: bool = False,
) -> Quote:
    """The quote a record stands for, after the no-trade rules of the module docstring."""
    if not name:
        raise RecordError("malformed", "no name")
    if previous_close <= 0:
        raise RecordError("malformed", "previous close is not positive")
    if volume == 0:
        if not bids and not asks:
            raise RecordError("no_trade", "no volume and an empty book")
        indicative = last if last > 0 else previous_close
        last = open = high = low = indicative
        amount = Decimal(0)
    elif min(last, open, high, low) <= 0:
        raise RecordError("malformed", "traded, but a price is 0")
    return Quote(
        symbol=symbol,
        name=name,
        ts=ts,
        last=last,
        previous_close=previous_close,
        open=open,
        high=high,
        low=low,
        volume=volume,
        amount=amount,
        bids=bids,
        asks=asks,
        limit_up=limit_up,
        limit_down=limit_down,
        no_limit=no_limit,
    )


def decode_body(content: bytes) -> str:
    """The pages answer in GBK; one public client reports Sina in UTF-8 since 2026-09.

    Chinese GBK text is practically never valid UTF-8, so valid UTF-8 is taken as UTF-8;
    anything else is read as GB18030 (a superset of GBK), a rare byte replaced, not fatal.
    """
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("gb18030", errors="replace")


def parse_codes(codes: Iterable[str], feed: str) -> list[Symbol]:
    """The codes to poll, validated and de-duplicated (first occurrence wins)."""
    symbols: dict[str, Symbol] = {}
    for code in codes:
        try:
            symbol = parse_symbol(code)
        except InvalidSymbol as exc:
            raise FeedError(
                f"{feed} 行情源的代码无效：{code!r}（{exc.message_zh}）",
                f"{feed} feed: invalid code {code!r} ({exc.message_en})",
                code="feed_bad_code",
            ) from exc
        symbols.setdefault(symbol.full, symbol)
    if not symbols:
        raise FeedError(
            f"{feed} 行情源没有要轮询的代码（market.{feed}.codes 为空，且股票池为空）",
            f"{feed} feed has no codes to poll (market.{feed}.codes is empty and so is the "
            "universe)",
            code="feed_no_codes",
        )
    return list(symbols.values())


def batched(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# -- the poll loop ---------------------------------------------------------------------------


class HttpPollingFeed(abc.ABC):
    """Polls ``base_url + path + "sh600000,sz000001,..."`` and publishes what changed.

    Args:
        codes: the securities to poll (``sh600000``, ``600000``, ``600000.SH``, ...).
        clock: stamps :attr:`last_success_at`; quote times come from the source.
        interval: seconds between the starts of two rounds (all codes once).
        timeout: seconds for one request (connect, read, write and pool wait each).
        base_url: scheme and host (tests point it at a local server).
        concurrency: requests of one round in flight at once.
        batch_size: codes per request (default: the source's documented maximum).
        backoff: the delays after a failed round (default: 0.5 s doubling to 60 s).

    Raises:
        FeedError: no codes, or a code that is not an A-share code.
    """

    name: str  # set by each source; an instance attribute for the Feed protocol
    path: ClassVar[str]  # e.g. "/q=": the codes follow it, comma-separated
    default_base_url: ClassVar[str]
    max_batch: ClassVar[int]
    extra_headers: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        codes: Iterable[str],
        *,
        clock: Clock,
        interval: float = POLITE_INTERVAL,
        timeout: float = 5.0,
        base_url: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        batch_size: int | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if interval <= 0 or timeout <= 0:
            raise ValueError("interval and timeout must be positive")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        size = batch_size if batch_size is not None else self.max_batch
        if not 1 <= size <= self.max_batch:
            raise ValueError(f"batch_size must be between 1 and {self.max_batch}")
        self.symbols = parse_codes(codes, self.name)
        self.clock = clock
        self.interval = interval
        self.timeout = timeout
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.concurrency = concurrency
        self.batches = batched(self.symbols, size)
        self.backoff = backoff or Backoff(initial=0.5, maximum=60.0)
        self.stats = FeedStats()
        self.last_success_at: datetime | None = None
        self._quiet = QuietLog(log)
        # (ts, volume) of the last quote published per symbol: an unchanged quote is not resent.
        self._published: dict[str, tuple[datetime, int]] = {}

    @abc.abstractmethod
    def parse_body(self, text: str) -> ParsedBody:
        """Quotes and refusals in one decoded answer."""

    def url_for(self, batch: Sequence[Symbol]) -> str:
        return f"{self.base_url}{self.path}{','.join(symbol.full for symbol in batch)}"

    async def run(self, publish: Publish, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; see the module docstring for what is published."""
        if self.interval < POLITE_INTERVAL and self.base_url == self.default_base_url:
            log.warning(
                "%s: polling every %.1fs; the free quote pages ask for %.0fs or more",
                self.name,
                self.interval,
                POLITE_INTERVAL,
            )
        loop = asyncio.get_running_loop()
        headers = {"User-Agent": USER_AGENT, **self.extra_headers}
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        async with httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(self.timeout), limits=limits
        ) as client:
            due = loop.time()
            while not stop.is_set():
                ok = await _unless_stopped(self._round(client, publish), stop, self.name)
                if ok is None:  # stopped mid-round
                    return
                if ok:
                    self.backoff.reset()
                    due += self.interval
                    delay = due - loop.time()
                    if delay <= 0:  # a slow round: start the next one now, skip the missed ones
                        due = loop.time()
                        await asyncio.sleep(0)
                        continue
                else:
                    self.stats.reconnects += 1
                    delay = max(self.interval, self.backoff.next_delay())
                    due = loop.time() + delay
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _round(self, client: httpx.AsyncClient, publish: Publish) -> bool:
        """Every batch once; publishes what changed. False if any request failed."""
        gate = asyncio.Semaphore(self.concurrency)

        async def fetch(batch: list[Symbol]) -> ParsedBody | None:
            async with gate:
                return await self._fetch(client, batch)

        answers = await asyncio.gather(*(fetch(batch) for batch in self.batches))
        fresh: list[Quote] = []
        for answer in answers:
            if answer is not None:
                self._count(answer)
                fresh.extend(self._changed(answer.quotes))
        if fresh:
            self.stats.published += len(fresh)
            publish(fresh)
        ok = all(answer is not None for answer in answers)
        if ok:
            self.last_success_at = self.clock.now()
        return ok

    async def _fetch(self, client: httpx.AsyncClient, batch: list[Symbol]) -> ParsedBody | None:
        """One request; a failure is counted and logged (once per cause) and gives None."""
        try:
            return await self._get(client, self.url_for(batch))
        except RequestFailed as exc:
            self.stats.refused[exc.reason] += 1
            self._quiet.warning(f"{self.name}:{exc.reason}", "%s: %s", self.name, exc)
            return None

    async def _get(self, client: httpx.AsyncClient, url: str) -> ParsedBody:
        where = self.base_url
        try:
            response = await client.get(url)
        except httpx.TimeoutException as exc:
            raise RequestFailed(
                "timeout", f"no answer from {where} within {self.timeout}s"
            ) from exc
        except httpx.ConnectError as exc:
            raise RequestFailed("connect_error", f"cannot connect to {where}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise RequestFailed(
                "transport_error", f"request to {where} failed: {type(exc).__name__}: {exc}"
            ) from exc
        status = response.status_code
        if status != 200:
            hint = " (Sina answers 403 without the Referer header, or to a blocked address)"
            raise RequestFailed(
                f"http_{status}", f"HTTP {status} from {where}{hint if status == 403 else ''}"
            )
        text = decode_body(response.content)
        parsed = self.parse_body(text)
        if parsed.records == 0:
            raise RequestFailed(
                "bad_body", f"HTTP 200 from {where} without quote records: {text[:_SAMPLE_CHARS]!r}"
            )
        return parsed

    def _count(self, answer: ParsedBody) -> None:
        self.stats.refused.update(answer.refused)
        for reason, sample in answer.samples.items():
            if reason in _LOGGED_REASONS:
                self._quiet.warning(
                    f"{self.name}:record:{reason}",
                    "%s: %s record from %s: %s",
                    self.name,
                    reason,
                    self.base_url,
                    sample,
                )

    def _changed(self, quotes: Iterable[Quote]) -> Iterator[Quote]:
        for quote in quotes:
            seen = (quote.ts, quote.volume)
            if self._published.get(quote.symbol.full) != seen:
                self._published[quote.symbol.full] = seen
                yield quote


async def _unless_stopped(
    work: Coroutine[Any, Any, T], stop: asyncio.Event, owner: str
) -> T | None:
    """``await work``, or None as soon as ``stop`` is set (``work`` is then cancelled)."""
    task = asyncio.create_task(work, name=f"{owner}/round")
    stopped = asyncio.create_task(stop.wait(), name=f"{owner}/stop-watch")
    try:
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        task.cancel()  # no-op once done
        stopped.cancel()
        await asyncio.gather(task, stopped, return_exceptions=True)
    if task.cancelled():
        return None
    return task.result()
