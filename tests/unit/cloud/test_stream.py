"""QuoteStream: subscriptions, coalescing, and a slow client that never holds up the feed."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import datetime
from decimal import Decimal

from aigupiao.cloud.services.stream import QuoteStream, StreamClient
from aigupiao.core.clock import BEIJING
from aigupiao.domain.market import Quote
from aigupiao.domain.symbols import parse_symbol

BASE = Quote(
    symbol=parse_symbol("sh600519"),
    name="贵州茅台",
    ts=datetime(2026, 3, 2, 10, 0, tzinfo=BEIJING),
    last=Decimal("1488.00"),
    previous_close=Decimal("1480.00"),
    open=Decimal("1481.00"),
    high=Decimal("1490.00"),
    low=Decimal("1470.00"),
    volume=100,
    amount=Decimal("148800"),
)


def quote(code: str, volume: int) -> Quote:
    return dataclasses.replace(BASE, symbol=parse_symbol(code), volume=volume)


async def test_only_subscribed_codes_coalesced_to_the_newest() -> None:
    sent: list[dict[str, object]] = []

    async def send(text: str) -> None:
        sent.append(json.loads(text))

    latest = {"sh600519": quote("sh600519", 1)}
    hub = QuoteStream(latest, interval=0.2)
    client = StreamClient(send)
    hub.add(client)
    pump = asyncio.create_task(client.pump(hub.interval, 5))
    try:
        hub.subscribe(client, {"sh600519"}, everything=False)  # offers the latest at once
        await asyncio.sleep(0.05)
        assert len(sent) == 1
        for volume in range(2, 500):
            hub.on_quotes([quote("sh600519", volume), quote("sz000001", volume)])
        await asyncio.sleep(0.3)
        assert len(sent) == 2  # one push for the 498 updates within the interval
        pushed = sent[1]["quotes"]
        assert isinstance(pushed, list) and len(pushed) == 1
        assert pushed[0]["code"] == "sh600519" and pushed[0]["volume"] == 499
        assert pushed[0]["last"] == "1488.00"  # decimals as strings
        hub.unsubscribe(client, {"sh600519"}, everything=False)
        hub.on_quotes([quote("sh600519", 600)])
        await asyncio.sleep(0.3)
        assert len(sent) == 2
        hub.subscribe(client, set(), everything=True)
        hub.on_quotes([quote("sz000001", 700)])
        await asyncio.sleep(0.3)
        later = [q for message in sent[2:] for q in message["quotes"]]  # type: ignore[attr-defined]
        assert {q["code"] for q in later} == {"sh600519", "sz000001"}
    finally:
        pump.cancel()
        hub.remove(client)
    assert hub.clients == set()


async def test_a_client_that_never_reads_costs_the_feed_nothing() -> None:
    stuck = asyncio.Event()

    async def never(text: str) -> None:
        await stuck.wait()

    hub = QuoteStream({}, interval=0.01)
    client = StreamClient(never)
    hub.add(client)
    hub.subscribe(client, set(), everything=True)
    pump = asyncio.create_task(client.pump(hub.interval, send_timeout=0.5))
    codes = [f"sh6000{i:02d}" for i in range(50)]
    started = time.perf_counter()
    for volume in range(1, 2001):
        hub.on_quotes([quote(code, volume) for code in codes])
        if volume % 100 == 0:
            await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    assert len(client.pending) <= len(codes)  # at most one waiting quote per code
    assert elapsed < 2.0  # 100,000 quotes; nothing waited for the client
    await asyncio.wait_for(pump, 2)  # the pump gives up on the stuck send
    hub.remove(client)
