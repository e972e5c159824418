"""The chagubang feed against the fake vendor server on 127.0.0.1 (tests/fakes/)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import pytest
import pytest_asyncio

from aigupiao.cli.feeds import build_feed
from aigupiao.cloud.settings import MarketSection
from aigupiao.core.clock import LiveClock, ManualClock
from aigupiao.core.retry import Backoff
from aigupiao.domain.market import Quote
from aigupiao.domain.sessions import BEIJING, is_trading_day, next_trading_day
from aigupiao.market.feeds.base import FeedError
from aigupiao.market.feeds.chagubang import ChagubangFeed
from tests.fakes.chagubang_server import BAD_KINDS, FakeChagubang, Script

from ..conftest import eventually, free_port


class Collector:
    """A ``publish`` that remembers every batch and the newest quote per code."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.batches: list[list[Quote]] = []
        self.latest: dict[str, Quote] = {}

    def __call__(self, quotes: list[Quote]) -> None:
        assert quotes, "a feed never publishes an empty batch"
        self.batches.append(quotes)
        for quote in quotes:
            self.latest[quote.symbol.full] = quote
        if self.delay:
            time.sleep(self.delay)  # a slow consumer holds the event loop, as a busy one would

    @property
    def published(self) -> list[Quote]:
        return [quote for batch in self.batches for quote in batch]


class Running:
    """A feed's ``run`` as a task, stopped (and its outcome checked) at the end."""

    def __init__(self, feed: ChagubangFeed, publish: Collector) -> None:
        self.feed, self.publish = feed, publish
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(feed.run(publish, self.stop), name="test-feed")

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 2.0)


Start = Callable[..., Running]


@pytest_asyncio.fixture
async def start() -> AsyncIterator[Start]:
    """``start(port, token=..., publish=Collector(), **feed_options)``: a running feed."""
    running: list[Running] = []

    def _start(
        server_port: int,
        token: str = "good-token",
        publish: Collector | None = None,
        **options: Any,
    ) -> Running:
        options.setdefault("backoff", Backoff(initial=0.02, maximum=0.1))
        feed = ChagubangFeed("127.0.0.1", server_port, token, **options)
        run = Running(feed, publish or Collector())
        running.append(run)
        return run

    yield _start
    for run in running:
        if not run.task.done():
            await run.close()


def settled(run: Running, server: FakeChagubang) -> bool:
    """Everything the server finished sending has been parsed, and nothing else."""
    return (
        server.finished.is_set()
        and run.publish.latest == server.expected
        and run.feed.indexes == server.expected_indexes
    )


def accounted(run: Running) -> bool:
    """Every frame received was published, kept as an index, refused or superseded."""
    feed = run.feed
    outcomes = (
        feed.stats.published + feed.wire.indexes + sum(feed.stats.refused.values())
        + feed.wire.superseded
    )  # fmt: skip
    return outcomes == feed.wire.frames


# -- the token ----------------------------------------------------------------------------


@pytest.mark.parametrize("reply", ["raw", "framed"])
async def test_a_bad_token_ends_run_with_auth_failed(start: Start, reply: str) -> None:
    script = Script(auth_reply="framed" if reply == "framed" else "raw")
    async with FakeChagubang(script) as server:
        run = start(server.port, token="wrong-token")
        with pytest.raises(FeedError) as info:
            await asyncio.wait_for(run.task, 5.0)
        assert info.value.code == "auth_failed"
        assert "Token鉴权失败" in info.value.message_zh
        assert "wrong-token" not in str(info.value)  # never echo the secret
        assert server.tokens == [b"wrong-token"]  # sent raw, once: no reconnect loop
        assert server.connections == 1 and not run.publish.batches


async def test_the_token_is_sent_raw_and_then_data_just_starts(start: Start) -> None:
    async with FakeChagubang(Script(rounds=2)) as server:
        run = start(server.port)
        await eventually(lambda: settled(run, server))
        assert server.tokens == [b"good-token"]
        assert run.feed.connected and run.feed.wire.connects == 1


# -- the stream ---------------------------------------------------------------------------


async def test_quotes_survive_random_splits_and_merges(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "aigupiao.market.feeds.chagubang")
    script = Script(symbols=150, bse=4, indexes=5, rounds=8, bad_per_round=6, max_chunk=1500)
    async with FakeChagubang(script) as server:
        run = start(server.port)
        await eventually(lambda: settled(run, server) and accounted(run), timeout=20)
        feed = run.feed
        # None lost: every record is accounted for; none corrupted: each published quote is
        # one the server sent, field for field.
        assert feed.wire.frames == server.records_sent
        assert all(quote in server.sent for quote in run.publish.published)
        assert all(quote in server.sent for quote in feed.indexes.values())
        assert feed.stats.refused == server.bad_sent
        assert set(server.bad_sent) == set(BAD_KINDS)
        assert feed.stats.published == len(run.publish.published)
        assert all(quote.symbol.board.value != "index" for quote in run.publish.published)
        assert feed.stats.reconnects == 0
        # Each kind of bad record is logged once, however many arrive.
        refusals = [r.getMessage() for r in caplog.records if "refused a record" in r.message]
        assert len(refusals) == len(BAD_KINDS)
        assert all(f"127.0.0.1:{server.port}" in message for message in refusals)


async def test_index_quotes_go_to_the_index_callback(start: Start) -> None:
    seen: list[Quote] = []
    async with FakeChagubang(Script(indexes=6, rounds=2)) as server:
        run = start(server.port, on_index=seen.extend)
        await eventually(lambda: settled(run, server))
        assert {quote.symbol.full for quote in seen} == set(server.expected_indexes)
        assert sorted(run.feed.indexes) == sorted(server.expected_indexes)
        assert run.feed.wire.indexes == len(seen)
        assert "sh000001" in run.feed.indexes and "sh000001" not in run.publish.latest


# -- connections --------------------------------------------------------------------------


async def test_reconnects_after_disconnects_mid_frame(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "aigupiao.market.feeds.chagubang")
    script = Script(symbols=100, rounds=10, disconnect_after={1: 3_001, 2: 25_003, 3: 40_000})
    async with FakeChagubang(script) as server:
        run = start(server.port)
        await eventually(lambda: settled(run, server), timeout=20)
        assert server.connections == 4
        assert run.feed.stats.reconnects == 3 and run.feed.wire.connects == 4
        assert all(quote in server.sent for quote in run.publish.published)
        assert "closed the connection" in (run.feed.last_error or "")
        # Three quick outages: each is logged once, not once per retry.
        assert len([r for r in caplog.records if "reconnecting" in r.message]) == 3


async def test_reconnects_after_random_disconnects(start: Start) -> None:
    script = Script(symbols=80, rounds=12, disconnect_chance=0.01, seed=9)
    async with FakeChagubang(script) as server:
        run = start(server.port)
        await eventually(lambda: settled(run, server), timeout=30)
        assert run.feed.stats.reconnects == server.connections - 1 >= 1


async def test_a_server_side_cut_while_streaming(start: Start) -> None:
    async with FakeChagubang(Script(symbols=20, rounds=400, round_interval=0.01)) as server:
        run = start(server.port)
        await eventually(lambda: len(run.publish.batches) >= 3)
        server.cut()
        await eventually(lambda: server.connections == 2 and run.feed.connected)
        before = run.feed.stats.published
        await eventually(lambda: run.feed.stats.published > before)
        assert run.feed.stats.reconnects == 1


@pytest.mark.parametrize("connections", [{1}, {1, 2}])
async def test_a_zero_or_absurd_frame_length_drops_the_connection(
    start: Start, connections: set[int]
) -> None:
    async with FakeChagubang(Script(symbols=60, rounds=4, bad_length_on=connections)) as server:
        run = start(server.port)
        await eventually(lambda: settled(run, server), timeout=20)
        assert server.connections == len(connections) + 1
        assert run.feed.stats.reconnects == len(connections)
        assert all(quote in server.sent for quote in run.publish.published)


async def test_a_refused_connection_is_retried_with_backoff(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "aigupiao.market.feeds.chagubang")
    run = start(free_port())
    await eventually(lambda: run.feed.wire.connect_failures >= 3)
    assert run.feed.stats.reconnects >= 2 and not run.task.done()
    assert "connection refused" in (run.feed.last_error or "")
    assert len([r for r in caplog.records if "reconnecting" in r.message]) == 1


async def test_a_silent_connection_in_trading_hours_is_replaced(start: Start) -> None:
    day = datetime.now(BEIJING).date()
    day = day if is_trading_day(day) else next_trading_day(day)
    clock = ManualClock(datetime(day.year, day.month, day.day, 10, 0, tzinfo=BEIJING))
    async with FakeChagubang(Script(silent=True)) as server:
        run = start(server.port, clock=clock, stall_timeout=0.3)
        await eventually(lambda: server.connections >= 2, timeout=10)
        assert "no data" in (run.feed.last_error or "")


# -- backpressure -------------------------------------------------------------------------


async def test_a_slow_consumer_gets_the_newest_snapshot_per_code(start: Start) -> None:
    script = Script(symbols=150, rounds=40, split=False)
    async with FakeChagubang(script) as server:
        run = start(server.port, publish=Collector(delay=0.01), batch_size=50)
        # The reader keeps draining the socket: the server gets everything out.
        await asyncio.wait_for(server.finished.wait(), 30)
        await eventually(lambda: settled(run, server) and accounted(run), timeout=30)
        feed = run.feed
        assert feed.wire.superseded > 0  # older snapshots were dropped, not queued
        assert feed.stats.published < 40 * 150
        assert feed.wire.frames == server.records_sent
        assert all(quote in server.sent for quote in run.publish.published)


async def test_a_publish_that_raises_ends_run_with_its_error(start: Start) -> None:
    class Broken(Collector):
        def __call__(self, quotes: list[Quote]) -> None:
            raise RuntimeError("listener bug")

    async with FakeChagubang(Script(rounds=2)) as server:
        run = start(server.port, publish=Broken())
        with pytest.raises(RuntimeError, match="listener bug"):
            await asyncio.wait_for(run.task, 5.0)


# -- stopping -----------------------------------------------------------------------------


async def test_stop_is_prompt_while_streaming(start: Start) -> None:
    async with FakeChagubang(Script(symbols=50, rounds=10_000, round_interval=0.005)) as server:
        run = start(server.port)
        await eventually(lambda: len(run.publish.batches) >= 2)
        began = time.monotonic()
        await run.close()
        assert time.monotonic() - began < 1.0
        assert not run.feed.connected
        await eventually(lambda: not server._connections)


async def test_stop_is_prompt_during_a_long_backoff(start: Start) -> None:
    run = start(free_port(), backoff=Backoff(initial=30.0, maximum=60.0, jitter=0.0))
    await eventually(lambda: run.feed.wire.connect_failures == 1)
    began = time.monotonic()
    await run.close()
    assert time.monotonic() - began < 1.0


# -- wiring -------------------------------------------------------------------------------


def test_build_feed_wires_chagubang_from_the_market_section() -> None:
    market = MarketSection.model_validate(
        {"feed": "chagubang", "chagubang": {"host": "10.0.0.5", "token": "t0k"}}
    )
    feed = build_feed(market, clock=LiveClock(), universe=[])
    assert isinstance(feed, ChagubangFeed)
    assert feed.name == "chagubang" and feed.address == "10.0.0.5:6380"
    assert "t0k" not in repr(feed)


@pytest.mark.parametrize(
    ("section", "key"),
    [({"host": "10.0.0.5"}, "market.chagubang.token"), ({"token": "t0k"}, "market.chagubang.host")],
)
def test_build_feed_names_the_missing_key(section: dict[str, str], key: str) -> None:
    market = MarketSection.model_validate({"feed": "chagubang", "chagubang": section})
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        build_feed(market, clock=LiveClock(), universe=[])
