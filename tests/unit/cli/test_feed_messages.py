"""``aigupiao feed``: the messages for what cannot be run in a subprocess test here."""

from __future__ import annotations

import asyncio

import pytest
import typer

from aigupiao.cli import feed as feed_cli
from aigupiao.market.feeds.chagubang import ChagubangFeed, _unless_stopped


def message(capsys: pytest.CaptureFixture[str], outcome: str, feed: ChagubangFeed) -> str:
    with pytest.raises(typer.Exit) as info:
        feed_cli._exit_for(outcome, None, feed, 30.0)
    assert info.value.exit_code == 2
    return capsys.readouterr().err


async def test_a_connect_that_never_answers_times_out() -> None:
    with pytest.raises(TimeoutError, match="no answer within"):
        await _unless_stopped(asyncio.Event(), asyncio.sleep(10), 0.05, "test/connect")


async def test_a_connect_is_abandoned_when_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    assert await _unless_stopped(stop, asyncio.sleep(10), 5.0, "test/connect") is None


def test_a_timed_out_connection_names_the_address(capsys: pytest.CaptureFixture[str]) -> None:
    feed = ChagubangFeed("203.0.113.9", 6380, "token")
    feed.last_error = "cannot connect to 203.0.113.9:6380: no answer within 10s"
    text = message(capsys, "unreachable", feed)
    assert "203.0.113.9:6380" in text and "连接超时" in text and "防火墙" in text


def test_an_unresolvable_host_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    feed = ChagubangFeed("no-such-host.invalid", 6380, "token")
    feed.last_error = "cannot connect to no-such-host.invalid:6380: Name or service not known"
    text = message(capsys, "unreachable", feed)
    assert "no-such-host.invalid:6380" in text and "Name or service not known" in text
