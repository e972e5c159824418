"""The tencent and sina feeds against a real HTTP server on 127.0.0.1 that answers like the pages.

The server (:class:`QuotePage`) speaks HTTP/1.1 with keep-alive over asyncio streams and sends
GBK bodies built from the recorded records in tests/fixtures/quotes/. It checks what a request
may carry (codes per request, the Sina Referer: 403 without it) and, on demand, answers with an
error status, garbage, a dropped connection or no answer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import pytest

from aigupiao.cli.feeds import build_feed
from aigupiao.cloud.settings import HttpPollSection, MarketSection
from aigupiao.core.clock import ManualClock
from aigupiao.core.retry import Backoff
from aigupiao.domain.market import Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.market.feeds.base import FeedError
from aigupiao.market.feeds.polling import HttpPollingFeed
from aigupiao.market.feeds.sina import REFERER, SinaFeed
from aigupiao.market.feeds.tencent import TencentFeed
from aigupiao.market.universe import FALLBACK_UNIVERSE

from ..conftest import eventually, free_port
from ..fixtures.quotes import recorded

TENCENT = recorded("tencent")
SINA = recorded("sina")
CLOCK = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=BEIJING))
Fault = str  # "hang", "drop", "garbage", or an HTTP status such as "503"


def key_of(record: str) -> str:
    """``v_sh600000="..."`` / ``var hq_str_sh600000="..."`` -> ``sh600000``."""
    return record.split("=", 1)[0].rsplit("_", 1)[-1]


@dataclass
class Seen:
    at: float  # loop time of arrival
    codes: list[str]
    headers: dict[str, str]


@dataclass
class QuotePage:
    """A real HTTP server that answers ``GET {prefix}code,code,...`` like a free quote page."""

    prefix: str  # "/q=" (Tencent) or "/list=" (Sina)
    records: dict[str, str]  # code -> the record line sent for it
    max_codes: int
    referer: str | None = None  # required Referer, else 403 (Sina)
    encoding: str = "gbk"  # of the bodies
    requests: list[Seen] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)  # consumed one per request
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # cleared: requests wait
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> QuotePage:
        self.gate.set()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        self._closing.set()
        self.gate.set()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while not self._closing.is_set():
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *lines = head.decode("latin-1").split("\r\n")
                target = request_line.split(" ")[1]
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines if line)
                }
                answer = await self._answer(target, headers)
                if answer is None:  # drop the connection without a word
                    writer.transport.abort()
                    return
                status, body = answer
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: text/html; charset=GBK\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
                    + body
                )
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _answer(self, target: str, headers: dict[str, str]) -> tuple[int, bytes] | None:
        if not target.startswith(self.prefix):
            return 404, b"not found"
        codes = target[len(self.prefix) :].split(",")
        self.requests.append(Seen(asyncio.get_running_loop().time(), codes, headers))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.gate.wait()
            fault = self.faults.popleft() if self.faults else None
            if self.referer is not None and headers.get("referer") != self.referer:
                return 403, b"Kinsoku jikou desu!"  # what hq.sinajs.cn says without the Referer
            if len(codes) > self.max_codes:
                return 414, b"too many codes"
            if fault == "hang":
                await self._closing.wait()
                return None
            if fault == "drop":
                return None
            if fault == "garbage":
                return 200, "<html><body>系统繁忙，请稍后再试</body></html>".encode("gbk")
            if fault is not None:
                return int(fault), b"server error"
            if self.prefix == "/list=":  # Sina: an empty record for an unknown code
                lines = [self.records.get(code, f'var hq_str_{code}="";') for code in codes]
            else:  # Tencent: unknown codes left out; this line when none is known
                lines = [self.records[code] for code in codes if code in self.records]
                lines = lines or ['v_pv_none_match="1";']
            return 200, ("\n".join(lines) + "\n").encode(self.encoding)
        finally:
            self.in_flight -= 1


@dataclass
class Run:
    feed: HttpPollingFeed
    batches: list[list[Quote]]
    stop: asyncio.Event
    task: asyncio.Task[None]

    @property
    def quotes(self) -> list[Quote]:
        return [quote for batch in self.batches for quote in batch]


@contextlib.asynccontextmanager
async def running(feed: HttpPollingFeed) -> AsyncIterator[Run]:
    batches: list[list[Quote]] = []
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(batches.append, stop), name=f"test/{feed.name}")
    run = Run(feed, batches, stop, task)
    try:
        yield run
    finally:
        stop.set()
        await asyncio.wait_for(task, 2.0)
    assert all(batch for batch in batches), "a feed never publishes an empty batch"


@contextlib.asynccontextmanager
async def serving(server: QuotePage) -> AsyncIterator[QuotePage]:
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def tencent_page() -> contextlib.AbstractAsyncContextManager[QuotePage]:
    records = {key_of(line): line for line in TENCENT.values() if "pv_none_match" not in line}
    return serving(QuotePage(prefix="/q=", records=records, max_codes=60))


def sina_page() -> contextlib.AbstractAsyncContextManager[QuotePage]:
    records = {key_of(line): line for line in SINA.values()}
    return serving(QuotePage(prefix="/list=", records=records, max_codes=800, referer=REFERER))


def fast(
    feed_type: type[HttpPollingFeed],
    codes: list[str],
    base_url: str,
    *,
    interval: float = 0.05,
    timeout: float = 1.0,
    concurrency: int = 4,
    backoff: Backoff | None = None,
) -> HttpPollingFeed:
    """A feed on ``base_url`` that polls every 50 ms and backs off 50 ms, doubling to 200 ms."""
    return feed_type(
        codes,
        clock=CLOCK,
        interval=interval,
        timeout=timeout,
        base_url=base_url,
        concurrency=concurrency,
        backoff=backoff or Backoff(initial=0.05, maximum=0.2, jitter=0),
    )


def filler(count: int) -> list[str]:
    """Up to 2,000 Shanghai main-board codes (601xxx, 603xxx) the page has no record for."""
    codes = [f"sh{601000 + i}" for i in range(1000)] + [f"sh{603000 + i}" for i in range(1000)]
    assert count <= len(codes)
    return codes[:count]


# -- Tencent --------------------------------------------------------------------------------


async def test_tencent_publishes_every_recorded_quote_in_batches_of_60() -> None:
    async with tencent_page() as server:
        recorded_codes = sorted(server.records)
        codes = recorded_codes + filler(130 - len(recorded_codes))
        feed = fast(TencentFeed, codes, server.base_url, interval=10.0)  # one round
        async with running(feed) as run:
            await eventually(lambda: run.quotes)
        first_round = server.requests[:3]
        assert sorted(len(seen.codes) for seen in first_round) == [10, 60, 60]  # any order
        assert sorted(c for seen in first_round for c in seen.codes) == sorted(codes)
        assert all(len(seen.codes) <= 60 for seen in server.requests)
        published = {quote.symbol.full: quote for quote in run.batches[0]}
        # sh518801 never traded (no_trade); sh600002 has a shifted layout (malformed).
        expected = set(recorded_codes) - {"sh518801", "sh600002"}
        assert set(published) == expected
        assert published["sz000002"].name == "万  科Ａ"  # GBK decoded
        assert published["sh688256"].volume == 16559805  # STAR: shares
        assert published["sh600000"].volume == 92030800  # lots -> shares
        assert feed.stats.published == len(expected)
        # Two requests named no code the page knows: one v_pv_none_match record each.
        assert feed.stats.refused == {"no_trade": 1, "malformed": 1, "empty": 2}
        assert feed.stats.reconnects == 0
        assert feed.last_success_at == CLOCK.now()


async def test_requests_of_one_round_run_concurrently_up_to_the_cap() -> None:
    async with tencent_page() as server:
        feed = fast(TencentFeed, ["sh600000", *filler(299)], server.base_url, concurrency=2)
        server.gate.clear()  # hold every request until released
        async with running(feed) as run:
            await eventually(lambda: server.in_flight == 2)
            server.gate.set()
            await eventually(lambda: run.quotes)
        assert len(server.requests) >= 5  # 300 codes: five requests a round
        assert server.max_in_flight == 2


async def test_an_unchanged_quote_is_not_published_again() -> None:
    async with tencent_page() as server:
        feed = fast(TencentFeed, ["sh600000", "sz000001"], server.base_url)
        async with running(feed) as run:
            await eventually(lambda: len(run.batches) == 1)
            await eventually(lambda: len(server.requests) >= 4)  # three more rounds
            assert len(run.batches) == 1

            # A new last price with the same time and volume is the same quote: not resent.
            line = server.records["sh600000"]
            server.records["sh600000"] = line.replace("~12.45~11.96~", "~12.44~11.96~", 1)
            seen = len(server.requests)
            await eventually(lambda: len(server.requests) >= seen + 3)
            assert len(run.batches) == 1

            # A later snapshot (new time and volume) is.
            server.records["sh600000"] = line.replace("20191011155858", "20191011155901").replace(
                "~920308~515001~", "~920408~515101~", 1
            )
            await eventually(lambda: len(run.batches) == 2)
            (quote,) = run.batches[1]
            assert quote.symbol.full == "sh600000" and quote.volume == 92040800
            assert quote.ts.second == 1
        assert feed.stats.published == 3


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("503", "http_503"),
        ("500", "http_500"),
        ("garbage", "bad_body"),
        ("drop", "transport_error"),
    ],
)
async def test_a_failed_request_is_counted_backed_off_and_recovered_from(
    fault: Fault, reason: str
) -> None:
    async with tencent_page() as server:
        server.faults.extend([fault] * 3)
        backoff = Backoff(initial=0.05, factor=2, maximum=10, jitter=0)
        feed = fast(TencentFeed, ["sh600000"], server.base_url, interval=0.02, backoff=backoff)
        async with running(feed) as run:
            await eventually(lambda: run.quotes)
        assert feed.stats.refused[reason] == 3
        assert feed.stats.reconnects == 3
        assert backoff.attempts == 0  # reset by the successful round
        arrivals = [seen.at for seen in server.requests[:4]]
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        for gap, delay in zip(gaps, [0.05, 0.1, 0.2], strict=True):
            assert gap >= delay * 0.95, (gaps, "the back-off doubles after each failed round")
        assert [quote.symbol.full for quote in run.quotes] == ["sh600000"]


async def test_a_request_without_an_answer_times_out_and_the_feed_goes_on() -> None:
    async with tencent_page() as server:
        server.faults.append("hang")
        feed = fast(TencentFeed, ["sz000001"], server.base_url, timeout=0.2)
        async with running(feed) as run:
            await eventually(lambda: run.quotes)
        assert feed.stats.refused["timeout"] == 1
        assert feed.stats.reconnects == 1


async def test_a_refused_connection_is_retried_until_stopped() -> None:
    feed = fast(TencentFeed, ["sh600000"], f"http://127.0.0.1:{free_port()}")
    async with running(feed) as run:
        await eventually(lambda: feed.stats.refused["connect_error"] >= 3)
        assert not run.task.done()
    assert feed.stats.reconnects >= 3
    assert run.batches == []


async def test_stop_ends_a_hanging_round_at_once() -> None:
    async with tencent_page() as server:
        server.faults.append("hang")
        feed = fast(TencentFeed, ["sh600000"], server.base_url, timeout=30.0)
        async with running(feed) as run:
            await eventually(lambda: server.in_flight == 1)
            run.stop.set()
            await asyncio.wait_for(asyncio.shield(run.task), 1.0)  # not after the 30 s timeout


async def test_stop_ends_a_back_off_wait_at_once() -> None:
    async with tencent_page() as server:
        server.faults.append("503")
        backoff = Backoff(initial=30.0, maximum=30.0, jitter=0)
        feed = fast(TencentFeed, ["sh600000"], server.base_url, backoff=backoff)
        async with running(feed) as run:
            await eventually(lambda: feed.stats.reconnects == 1)
            run.stop.set()
            await asyncio.wait_for(asyncio.shield(run.task), 1.0)
        assert len(server.requests) == 1


async def test_a_stop_set_before_run_returns_without_a_request() -> None:
    async with tencent_page() as server:
        feed = fast(TencentFeed, ["sh600000"], server.base_url)
        stop = asyncio.Event()
        stop.set()
        await asyncio.wait_for(feed.run(lambda quotes: None, stop), 1.0)
        assert server.requests == []


# -- Sina ------------------------------------------------------------------------------------


async def test_sina_sends_the_referer_and_batches_of_800() -> None:
    async with sina_page() as server:
        recorded_codes = sorted(server.records)
        codes = recorded_codes + filler(1700 - len(recorded_codes))
        feed = fast(SinaFeed, codes, server.base_url, interval=10.0)  # one round
        async with running(feed) as run:
            await eventually(lambda: run.quotes)
        first_round = server.requests[:3]
        assert sorted(len(seen.codes) for seen in first_round) == [100, 800, 800]
        assert all(seen.headers["referer"] == REFERER for seen in server.requests)
        published = {quote.symbol.full: quote for quote in run.batches[0]}
        suspended = {"sh500038", "sh600001"}
        assert set(published) == set(recorded_codes) - suspended - {"sz160923"}
        assert published["sz000002"].name == "万 科Ａ"
        assert published["sz160922"].last == published["sz160922"].previous_close  # indicative
        assert feed.stats.refused["suspended"] == 2
        assert feed.stats.refused["empty"] == 1 + 1700 - len(recorded_codes)  # sz160923, filler


async def test_sina_answers_403_without_the_referer() -> None:
    class NoReferer(SinaFeed):
        extra_headers: ClassVar[dict[str, str]] = {}

    async with sina_page() as server:
        feed = fast(NoReferer, ["sh600000"], server.base_url)
        async with running(feed) as run:
            await eventually(lambda: feed.stats.refused["http_403"] >= 2)
        assert run.batches == []
        assert feed.stats.reconnects >= 2
        assert all("referer" not in seen.headers for seen in server.requests)


async def test_sina_recovers_after_errors() -> None:
    async with sina_page() as server:
        server.faults.extend(["502", "garbage"])
        feed = fast(SinaFeed, ["sh600000", "sh688047"], server.base_url)
        async with running(feed) as run:
            await eventually(lambda: len(run.quotes) == 2)
        assert feed.stats.refused["http_502"] == 1 and feed.stats.refused["bad_body"] == 1
        assert feed.stats.reconnects == 2


# -- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize("feed_type", [TencentFeed, SinaFeed])
def test_bad_or_missing_codes_are_a_feed_error(feed_type: type[HttpPollingFeed]) -> None:
    with pytest.raises(FeedError) as bad:
        feed_type(["sh600000", "hk00700"], clock=CLOCK)
    assert "hk00700" in bad.value.message_zh and "hk00700" in bad.value.message_en
    with pytest.raises(FeedError):
        feed_type([], clock=CLOCK)


def test_codes_are_deduplicated_and_batched_in_order() -> None:
    feed = TencentFeed(["600000", "sh600000", "600000.SH", *filler(60)], clock=CLOCK)
    assert [len(batch) for batch in feed.batches] == [60, 1]
    assert feed.batches[0][0].full == "sh600000"
    assert feed.url_for(feed.batches[1]) == f"https://qt.gtimg.cn/q={filler(60)[-1]}"
    sina = SinaFeed(filler(801), clock=CLOCK)
    assert [len(batch) for batch in sina.batches] == [800, 1]
    assert sina.url_for(sina.batches[1]).startswith("https://hq.sinajs.cn/list=sh")


@pytest.mark.parametrize(("name", "feed_type"), [("tencent", TencentFeed), ("sina", SinaFeed)])
def test_build_feed_polls_the_configured_codes_else_the_universe(
    name: str, feed_type: type[HttpPollingFeed]
) -> None:
    universe = list(FALLBACK_UNIVERSE)
    by_default = build_feed(MarketSection(feed=name), clock=CLOCK, universe=universe)
    assert type(by_default) is feed_type and by_default.name == name
    assert isinstance(by_default, HttpPollingFeed)
    assert by_default.symbols == [info.symbol for info in universe]
    assert (by_default.interval, by_default.timeout) == (3.0, 5.0)

    section = HttpPollSection(codes=["600519", "sz000001"], interval=6, timeout=2)
    configured = build_feed(MarketSection(feed=name, **{name: section}), clock=CLOCK, universe=[])
    assert isinstance(configured, HttpPollingFeed)
    assert [symbol.full for symbol in configured.symbols] == ["sh600519", "sz000001"]
    assert (configured.interval, configured.timeout) == (6.0, 2.0)


async def test_a_utf8_answer_is_read_as_utf8() -> None:
    """One public client reports hq.sinajs.cn answering in UTF-8 since 2026-09."""
    async with sina_page() as server:
        server.encoding = "utf-8"
        feed = fast(SinaFeed, ["sz000002", "sh688047"], server.base_url)
        async with running(feed) as run:
            await eventually(lambda: len(run.quotes) == 2)
        names = {quote.symbol.full: quote.name for quote in run.quotes}
        assert names == {"sz000002": "万 科Ａ", "sh688047": "龙芯中科"}
