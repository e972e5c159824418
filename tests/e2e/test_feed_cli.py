"""``aigupiao feed NAME``: run as a user runs it, a real subprocess, against the fake vendor."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from decimal import Decimal

import pytest

from tests.fakes.chagubang_server import FakeChagubang, Script

from ..conftest import ROOT, free_port

pytestmark = pytest.mark.e2e


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIGUPIAO_")}
    env.pop("FORCE_COLOR", None)
    return {**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


async def start_feed(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aigupiao.cli", "feed", *args,
        cwd=ROOT, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def feed_cli(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    process = await start_feed(*args)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def chagubang(server: FakeChagubang, token: str = "good-token") -> list[str]:
    return ["chagubang", "--host", "127.0.0.1", "--port", str(server.port), "--token", token]


def refused(code: int, out: str, err: str, *needles: str) -> None:
    """Exit code 2, a readable message naming ``needles``, no traceback."""
    assert code == 2, out + err
    assert "Traceback" not in err and "错误 (error)" in err, err
    for needle in needles:
        assert needle in err, err


async def test_print_shows_quotes_and_indexes_as_json_lines() -> None:
    script = Script(symbols=30, indexes=3, bse=2, rounds=200, round_interval=0.05)
    async with FakeChagubang(script) as server:
        code, out, err = await feed_cli(*chagubang(server), "--print", "--count", "120")
    assert code == 0, out + err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 120
    assert {line["type"] for line in lines} == {"quote", "index"}
    sent = {(quote.symbol.full, quote.ts.isoformat()): quote for quote in server.sent}
    for line in lines:
        quote = sent[(line["code"], line["ts"])]
        assert (line["type"] == "index") == (quote.symbol.board.value == "index")
        assert isinstance(line["last"], str) and Decimal(line["last"]) == quote.last
        assert Decimal(line["amount"]) == quote.amount and line["volume"] == quote.volume
        assert [[Decimal(price), volume] for price, volume in line["bids"]] == [
            [level.price, level.volume] for level in quote.bids
        ]
    assert any(line["code"].startswith("bj") for line in lines)


async def test_a_bad_token_exits_2_saying_so() -> None:
    async with FakeChagubang(Script()) as server:
        code, out, err = await feed_cli(*chagubang(server, token="expired"), "--print")
    refused(code, out, err, "令牌无效或已过期", "Token鉴权失败", f"127.0.0.1:{server.port}")
    assert "expired" not in err.replace("or expired", "")  # the token itself is never shown
    assert server.connections == 1


async def test_a_refused_connection_exits_2_naming_the_address() -> None:
    port = free_port()
    code, out, err = await feed_cli(
        "chagubang", "--host", "127.0.0.1", "--port", str(port), "--token", "t", "--print"
    )
    refused(code, out, err, f"127.0.0.1:{port}", "连接被拒绝", "connection refused", "防火墙")


async def test_an_empty_stream_exits_2_after_idle_seconds() -> None:
    async with FakeChagubang(Script(silent=True)) as server:
        code, out, err = await feed_cli(*chagubang(server), "--print", "--idle", "1")
    refused(code, out, err, "1 秒内没有收到任何行情")
    assert "当前非交易时段 (9:15-11:30, 13:00-15:00 北京时间)" in err or "当前是交易时段" in err
    assert out == ""


async def test_a_missing_token_names_the_config_key() -> None:
    code, out, err = await feed_cli("chagubang", "--host", "127.0.0.1", "--print")
    refused(code, out, err, "market.chagubang.token")


async def test_ctrl_c_exits_0_cleanly() -> None:
    script = Script(symbols=20, rounds=100_000, round_interval=0.05)
    async with FakeChagubang(script) as server:
        process = await start_feed(*chagubang(server), "--print")
        assert process.stdout is not None
        for _ in range(5):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert json.loads(line)["type"] in ("quote", "index")
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()


async def test_seconds_without_print_ends_with_a_summary() -> None:
    script = Script(symbols=10, rounds=100_000, round_interval=0.05, bad_per_round=1)
    async with FakeChagubang(script) as server:
        code, out, err = await feed_cli(*chagubang(server), "--seconds", "1.5")
    assert code == 0, out + err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["feed"] == "chagubang" and summary["outcome"] == "seconds"
    assert summary["quotes"] > 0 and summary["reconnects"] == 0
    assert sum(summary["refused"].values()) > 0


async def test_the_simulator_through_the_same_command() -> None:
    code, out, err = await feed_cli(
        "sim", "--symbols", "5", "--seed", "3", "--print", "--count", "12"
    )
    assert code == 0, out + err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 12 and {line["type"] for line in lines} == {"quote"}
    assert len({line["code"] for line in lines}) == 5


async def test_an_unknown_feed_exits_2() -> None:
    code, out, err = await feed_cli("bloomberg", "--print")
    refused(code, out, err, "bloomberg")
